//! The serial barcode scanner (docs/domain.md 9.3): ASCII codes, one per line, ended by a
//! configurable terminator; and the photo-studio receipt code check.
//!
//! Scanners have no request/response exchange, so there is no state machine: the driver feeds
//! bytes to a [`LineDecoder`] and validates what comes out.

/// What ends a code on the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Terminator {
    /// `0D`, the factory setting.
    #[default]
    Cr,
    /// `0A`.
    Lf,
    /// `0D 0A`.
    CrLf,
    /// `09`.
    Tab,
}

impl Terminator {
    /// The bytes on the line.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Cr => b"\r",
            Terminator::Lf => b"\n",
            Terminator::CrLf => b"\r\n",
            Terminator::Tab => b"\t",
        }
    }
}

/// How the scanner is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineConfig {
    /// What ends each code.
    pub terminator: Terminator,
    /// Longest code accepted, in bytes; longer lines are dropped with an error.
    pub max_len: usize,
}

impl Default for LineConfig {
    fn default() -> Self {
        LineConfig {
            terminator: Terminator::Cr,
            max_len: 128,
        }
    }
}

/// Why a line from the scanner is not a code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line was longer than [`LineConfig::max_len`] (it was dropped).
    #[error("scanned line of {len} bytes exceeds the maximum of {max}")]
    TooLong {
        /// Bytes before the terminator.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A byte outside printable ASCII (e.g. a terminator of another setting, or line noise).
    #[error("byte {byte:02X} at position {position} is not printable ASCII")]
    NotPrintable {
        /// The byte.
        byte: u8,
        /// Its index in the line.
        position: usize,
    },
}

/// Splits the scanner's byte stream into codes.
///
/// Empty lines are skipped: some scanners send a bare terminator after a failed scan.
#[derive(Clone, Debug, Default)]
pub struct LineDecoder {
    config: LineConfig,
    buf: Vec<u8>,
    /// Bytes already dropped from an overlong line.
    overflow: Option<usize>,
}

impl LineDecoder {
    /// A decoder for the given setting.
    pub fn new(config: LineConfig) -> Self {
        LineDecoder {
            config,
            buf: Vec::new(),
            overflow: None,
        }
    }

    /// Appends bytes received from the scanner.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next code or error; `None` when more bytes are needed.
    pub fn next_line(&mut self) -> Option<Result<String, LineError>> {
        let term = self.config.terminator.bytes();
        let max = self.config.max_len;
        loop {
            let Some(end) = crate::card_reader::frame::find(&self.buf, term) else {
                // Bound memory on a line that never ends; keep a possible half terminator.
                let keep = term.len() - 1;
                if self.buf.len() > max + keep {
                    let dropped = self.buf.len() - keep;
                    self.buf.drain(..dropped);
                    *self.overflow.get_or_insert(0) += dropped;
                }
                return None;
            };
            let line: Vec<u8> = self.buf.drain(..end + term.len()).take(end).collect();
            if let Some(dropped) = self.overflow.take() {
                return Some(Err(LineError::TooLong {
                    len: dropped + line.len(),
                    max,
                }));
            }
            if line.is_empty() {
                continue;
            }
            if line.len() > max {
                return Some(Err(LineError::TooLong {
                    len: line.len(),
                    max,
                }));
            }
            if let Some(position) = line.iter().position(|b| !(0x20..=0x7E).contains(b)) {
                let byte = line[position];
                return Some(Err(LineError::NotPrintable { byte, position }));
            }
            // Printable ASCII is valid UTF-8.
            return Some(Ok(line.into_iter().map(char::from).collect()));
        }
    }
}

/// The bytes a scanner sends for `code` (what the simulator writes).
pub fn encode_line(code: &str, terminator: Terminator) -> Result<Vec<u8>, LineError> {
    if let Some(position) = code.bytes().position(|b| !(0x20..=0x7E).contains(&b)) {
        let byte = code.as_bytes()[position];
        return Err(LineError::NotPrintable { byte, position });
    }
    Ok([code.as_bytes(), terminator.bytes()].concat())
}

/// A photo-studio receipt code (照相回执码); one definition for the whole system, in `domain`.
pub use domain::receipt::{ReceiptCode, ReceiptCodeError};

//! MIS-POS link framing: `02 | LEN(4 ASCII digits) | payload | 03 | LRC`, LRC the XOR of every
//! byte from LEN through `03`; and the one-byte answers ACK `06` and NAK `15` between frames.

/// Acknowledges a good frame.
pub const ACK: u8 = 0x06;
/// Asks for a frame to be resent.
pub const NAK: u8 = 0x15;
const STX: u8 = 0x02;
const ETX: u8 = 0x03;
/// Largest payload accepted; both messages are well below it.
pub const MAX_PAYLOAD: usize = 2048;

/// Frames `payload` (at most 9999 bytes; longer payloads are the caller's bug and are cut).
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    let payload = &payload[..payload.len().min(9999)];
    let start = out.len();
    out.push(STX);
    out.extend_from_slice(format!("{:04}", payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out.push(ETX);
    let lrc = out[start + 1..].iter().fold(0, |a, b| a ^ b);
    out.push(lrc);
}

/// One thing received on the link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `06`.
    Ack,
    /// `15`.
    Nak,
    /// A frame's payload, LRC checked.
    Frame(Vec<u8>),
}

/// What can be wrong on the link.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Bytes that are neither STX, ACK nor NAK were skipped.
    #[error("skipped {skipped} bytes of garbage")]
    Garbage {
        /// How many.
        skipped: usize,
    },
    /// LEN is not four ASCII digits.
    #[error("length field is not four digits")]
    Length,
    /// LEN is above [`MAX_PAYLOAD`].
    #[error("oversized frame: {len} bytes, at most {max}")]
    Oversized {
        /// Announced payload length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// No `03` where LEN says the payload ends.
    #[error("missing ETX after the payload")]
    MissingEtx,
    /// LRC mismatch.
    #[error("bad LRC: computed {computed:02X}, frame says {received:02X}")]
    Lrc {
        /// XOR of the received bytes.
        computed: u8,
        /// The LRC byte.
        received: u8,
    },
}

impl FrameError {
    /// Whether the peer should be sent a NAK (a frame started but arrived damaged).
    pub fn wants_nak(&self) -> bool {
        !matches!(self, FrameError::Garbage { .. })
    }
}

/// Incremental decoder for both directions.
#[derive(Clone, Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    pos: usize,
}

impl FrameDecoder {
    /// Appends bytes received from the line.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held back waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Drops everything buffered.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// The next item or error; `None` when more bytes are needed.
    pub fn next_item(&mut self) -> Option<Result<Item, FrameError>> {
        let avail = &self.buf[self.pos..];
        match *avail.first()? {
            ACK => {
                self.pos += 1;
                return Some(Ok(Item::Ack));
            }
            NAK => {
                self.pos += 1;
                return Some(Ok(Item::Nak));
            }
            STX => {}
            _ => {
                let skipped = avail
                    .iter()
                    .position(|b| [STX, ACK, NAK].contains(b))
                    .unwrap_or(avail.len());
                self.pos += skipped;
                return Some(Err(FrameError::Garbage { skipped }));
            }
        }
        if avail.len() < 5 {
            return None;
        }
        let len_field = &avail[1..5];
        if !len_field.iter().all(u8::is_ascii_digit) {
            self.pos += 1;
            return Some(Err(FrameError::Length));
        }
        let len = len_field
            .iter()
            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
        if len > MAX_PAYLOAD {
            self.pos += 1;
            return Some(Err(FrameError::Oversized {
                len,
                max: MAX_PAYLOAD,
            }));
        }
        let total = 1 + 4 + len + 2;
        if avail.len() < total {
            return None;
        }
        let frame = &avail[..total];
        let result = if frame[5 + len] != ETX {
            Err(FrameError::MissingEtx)
        } else {
            let computed = frame[1..total - 1].iter().fold(0, |a, b| a ^ b);
            let received = frame[total - 1];
            if computed == received {
                Ok(Item::Frame(frame[5..5 + len].to_vec()))
            } else {
                Err(FrameError::Lrc { computed, received })
            }
        };
        self.pos += total;
        Some(result)
    }
}

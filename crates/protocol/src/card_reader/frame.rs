//! SAM_V framing: `AA AA AA 96 69 | LEN(2, BE) | body | CHK`, where LEN counts every byte after
//! itself (CHK included) and CHK is the XOR of every byte from the first LEN byte up to CHK.
//!
//! The decoder is incremental: feed it whatever the port returned, then pull frames (or error
//! values) until it says it needs more bytes. After garbage it resynchronises on the next
//! preamble; it never panics and never grows without bound.

/// The five bytes every frame starts with.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// Bytes before the body: preamble and LEN.
pub const HEADER_LEN: usize = 7;
/// Largest LEN a reader sends: status, three block lengths, text, photo, 1024 fingerprint bytes, CHK.
pub const MAX_ANSWER_LEN: u16 = 3 + 6 + 256 + 1024 + 1024 + 1;
/// Largest LEN a host sends; our commands carry no data, but the field allows some.
pub const MAX_COMMAND_LEN: u16 = 255;

/// Encodes one frame around `body` (CMD PARA DATA, or SW1 SW2 SW3 DATA) into `out`.
///
/// Bodies longer than `u16::MAX - 1` bytes cannot be framed; callers only build bounded ones.
pub fn encode_frame(body: &[u8], out: &mut Vec<u8>) {
    let len = u16::try_from(body.len() + 1).unwrap_or(u16::MAX);
    out.reserve(HEADER_LEN + body.len() + 1);
    out.extend_from_slice(&PREAMBLE);
    let len_bytes = len.to_be_bytes();
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(body);
    let chk = body
        .iter()
        .fold(len_bytes[0] ^ len_bytes[1], |acc, b| acc ^ b);
    out.push(chk);
}

/// What can be wrong with the bytes on the line, before their meaning is looked at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Bytes that are not a preamble were skipped to resynchronise.
    #[error("bad preamble: skipped {skipped} bytes of garbage")]
    Garbage {
        /// How many bytes were dropped.
        skipped: usize,
    },
    /// LEN is too small to hold the fields every frame has.
    #[error("wrong length {len}, at least {min} expected")]
    Length {
        /// The LEN field.
        len: u16,
        /// The smallest valid LEN in this direction.
        min: u16,
    },
    /// LEN is larger than any frame of the protocol.
    #[error("oversized frame: length {len}, at most {max} allowed")]
    Oversized {
        /// The LEN field.
        len: u16,
        /// The largest valid LEN in this direction.
        max: u16,
    },
    /// The frame's CHK does not match its bytes.
    #[error("bad checksum: computed {computed:02X}, frame says {received:02X}")]
    Checksum {
        /// XOR of the received bytes.
        computed: u8,
        /// The CHK byte on the line.
        received: u8,
    },
}

/// Incremental SAM_V frame decoder yielding frame bodies (the bytes between LEN and CHK).
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    pos: usize,
    min_len: u16,
    max_len: u16,
}

impl FrameDecoder {
    /// A decoder accepting LEN in `min_len..=max_len`.
    pub fn new(min_len: u16, max_len: u16) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            pos: 0,
            min_len: min_len.max(1),
            max_len,
        }
    }

    /// Appends bytes received from the line.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet consumed: non-zero means a frame is incomplete (truncated so far).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Forgets everything buffered, e.g. before resending after a timeout.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// The next frame body or error; `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        let avail = &self.buf[self.pos..];
        if avail.is_empty() {
            return None;
        }
        match find(avail, &PREAMBLE) {
            Some(0) => {}
            Some(skipped) => {
                self.pos += skipped;
                return Some(Err(FrameError::Garbage { skipped }));
            }
            None => {
                // Keep a tail that may be the start of a preamble split across reads.
                let keep = partial_suffix(avail, &PREAMBLE);
                let skipped = avail.len() - keep;
                if skipped == 0 {
                    return None;
                }
                self.pos += skipped;
                return Some(Err(FrameError::Garbage { skipped }));
            }
        }
        if avail.len() < HEADER_LEN {
            return None;
        }
        let len = u16::from_be_bytes([avail[5], avail[6]]);
        if len < self.min_len {
            // Skip one byte only: the next preamble may sit inside what LEN claimed.
            self.pos += 1;
            return Some(Err(FrameError::Length {
                len,
                min: self.min_len,
            }));
        }
        if len > self.max_len {
            self.pos += 1;
            return Some(Err(FrameError::Oversized {
                len,
                max: self.max_len,
            }));
        }
        let total = HEADER_LEN + usize::from(len);
        if avail.len() < total {
            return None;
        }
        let frame = &avail[..total];
        let computed = frame[5..total - 1].iter().fold(0u8, |acc, b| acc ^ b);
        let received = frame[total - 1];
        let result = if computed == received {
            Ok(frame[HEADER_LEN..total - 1].to_vec())
        } else {
            Err(FrameError::Checksum { computed, received })
        };
        self.pos += total;
        Some(result)
    }
}

/// First index of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest proper suffix of `hay` that is a prefix of `needle`.
pub(crate) fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    let max = (needle.len() - 1).min(hay.len());
    (1..=max)
        .rev()
        .find(|&k| hay[hay.len() - k..] == needle[..k])
        .unwrap_or(0)
}

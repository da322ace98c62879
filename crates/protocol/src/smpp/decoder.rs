//! Cuts a TCP byte stream into PDUs by their `command_length`, whatever the reads look like
//! (half a header, three PDUs at once).

use super::pdu::{DecodeError, Pdu, HEADER_LEN, MAX_PDU_LEN};

/// Splits received bytes into PDUs.
///
/// A `command_length` below 16 or above [`MAX_PDU_LEN`] loses the stream (there is no way to
/// find the next PDU): [`next_pdu`](Self::next_pdu) reports [`DecodeError::Length`] once, then
/// nothing more, and the caller closes the connection. Any other bad PDU is skipped whole and
/// reported, and decoding goes on.
#[derive(Clone, Debug, Default)]
pub struct PduDecoder {
    buf: Vec<u8>,
    broken: bool,
}

impl PduDecoder {
    /// An empty decoder.
    pub fn new() -> PduDecoder {
        PduDecoder::default()
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        if !self.broken {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Whether the stream was lost to a bad `command_length`.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// The next PDU or error; `None` when more bytes are needed (or the stream is lost).
    pub fn next_pdu(&mut self) -> Option<Result<Pdu, DecodeError>> {
        if self.broken {
            return None;
        }
        let length: [u8; 4] = self.buf.get(..4)?.try_into().ok()?;
        let length = u32::from_be_bytes(length);
        if (length as usize) < HEADER_LEN || length > MAX_PDU_LEN {
            self.broken = true;
            self.buf = Vec::new();
            return Some(Err(DecodeError::Length(length)));
        }
        let length = length as usize;
        if self.buf.len() < length {
            return None;
        }
        let decoded = Pdu::decode(&self.buf[..length]);
        self.buf.drain(..length);
        Some(decoded)
    }
}

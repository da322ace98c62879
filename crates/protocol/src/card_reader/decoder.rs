//! The two ends' decoders: frames (from [`super::frame`]) turned into messages (from
//! [`super::message`]), so that framing knows nothing of what the bodies mean.

use super::frame::{FrameDecoder, MAX_ANSWER_LEN, MAX_COMMAND_LEN};
use super::message::{Answer, Command, DecodeError};

/// Host side: decodes the reader's answer frames.
#[derive(Clone, Debug)]
pub struct AnswerDecoder(FrameDecoder);

impl Default for AnswerDecoder {
    fn default() -> Self {
        AnswerDecoder(FrameDecoder::new(4, MAX_ANSWER_LEN))
    }
}

impl AnswerDecoder {
    /// Appends bytes received from the reader.
    pub fn push(&mut self, bytes: &[u8]) {
        self.0.push(bytes);
    }
    /// Bytes held back waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.0.buffered()
    }
    /// Drops everything buffered.
    pub fn clear(&mut self) {
        self.0.clear();
    }
    /// The next answer or error; `None` when more bytes are needed.
    pub fn next_answer(&mut self) -> Option<Result<Answer, DecodeError>> {
        Some(
            self.0
                .next_frame()?
                .map_err(DecodeError::from)
                .and_then(|body| Answer::from_body(&body)),
        )
    }
}

/// Reader side: decodes the host's command frames.
#[derive(Clone, Debug)]
pub struct CommandDecoder(FrameDecoder);

impl Default for CommandDecoder {
    fn default() -> Self {
        CommandDecoder(FrameDecoder::new(3, MAX_COMMAND_LEN))
    }
}

impl CommandDecoder {
    /// Appends bytes received from the host.
    pub fn push(&mut self, bytes: &[u8]) {
        self.0.push(bytes);
    }
    /// Bytes held back waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.0.buffered()
    }
    /// The next command or error; `None` when more bytes are needed.
    pub fn next_command(&mut self) -> Option<Result<Command, DecodeError>> {
        Some(
            self.0
                .next_frame()?
                .map_err(DecodeError::from)
                .and_then(|body| Command::from_body(&body)),
        )
    }
}

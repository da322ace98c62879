//! SMPP 3.4 (Short Message Peer-to-Peer) for the SMS notices: what an ESME needs to bind as a
//! transmitter, submit messages, keep the link alive and unbind, and the SMSC's side of the same
//! for the simulator.
//!
//! [`pdu`] encodes and decodes PDUs, [`PduDecoder`] cuts a TCP stream into them, [`text`] turns a
//! Chinese text into UCS-2 parts (concatenated with a user data header past 70 characters) and
//! back, [`EsmeSession`] and [`SmscSession`] are the two ends of a session. No sockets, no clock.

mod decoder;
pub mod pdu;
mod session;
pub mod text;

pub use decoder::PduDecoder;
pub use pdu::{
    command_id, Bind, Body, BodyError, CommandStatus, DecodeError, EncodeError, Pdu, SubmitSm,
};
pub use session::{
    CloseReason, EsmeConfig, EsmeEvent, EsmeSession, SmscEvent, SmscSession, SubmitError,
    SubmitFailure,
};
pub use text::{decode_text, encode_text, Part, Reassembled, Reassembler, TextError};

#[cfg(test)]
mod tests;

//! The second-generation ID card reader (SAM_V over a serial line, docs/domain.md 9.1).
//!
//! [`frame`] is the byte-level framing shared by both directions, [`message`] gives the frames
//! meaning (commands, SW3 status codes, read answers), [`text`] and [`photo`] are the card's
//! blocks, [`CardReaderClient`] is the host side (what the kiosk runs) and [`CardReaderDevice`]
//! the reader side (what the simulator runs).

mod client;
mod decoder;
mod device;
pub mod frame;
pub mod message;
pub mod photo;
pub mod text;

pub use client::{CardData, CardDataError, CardReaderClient, ClientConfig, Event};
pub use decoder::{AnswerDecoder, CommandDecoder};
pub use device::{Card, CardError, CardReaderDevice, DeviceConfig, DeviceEvent};
pub use frame::{FrameDecoder, FrameError};
pub use message::{Answer, Command, DecodeError, ReadData, ReadDataError, Sw3};
pub use photo::{encode_photo, photo_jpeg, PhotoError, PHOTO_LEN};
pub use text::{
    decode_extra_address, encode_extra_address, CardDate, CardText, Nation, Sex, TextError,
    ValidUntil, TEXT_LEN,
};

//! The UnionPay MIS-POS terminal on a serial line (docs/domain.md 9.5).
//!
//! [`message`] is the fixed-width request and response, [`frame`] the STX/LEN/ETX/LRC framing
//! with ACK/NAK, [`PosClient`] the kiosk's side of the link and [`PosDevice`] the terminal's
//! (what the simulator runs). The message and memo fields are GBK, as real terminals send them.

pub mod frame;
mod link;
pub mod message;

pub use frame::{encode_frame, FrameDecoder, FrameError, Item, ACK, NAK};
pub use link::{ClientEvent, DeviceEvent, LinkConfig, PosClient, PosDevice};
pub use message::{FieldError, Problem, Request, Response, TransactionType};

//! Sans-IO codecs and state machines for the kiosk's device wire protocols (docs/domain.md 9).
//!
//! Bytes in, events out, time passed in: nothing here opens a port, reads the clock, spawns a
//! task or sleeps. A driver (the `devices` crate) is a small loop around each state machine:
//!
//! ```text
//! loop {
//!     while let Some(ev) = sm.poll_event() { handle(ev) }
//!     out.clear(); sm.poll_transmit(&mut out); port.write_all(&out)?;
//!     select! {
//!         n = port.read(&mut buf) => sm.handle_bytes(now(), &buf[..n]),
//!         _ = sleep_until(sm.poll_timeout()) => sm.handle_timeout(now()),
//!     }
//! }
//! ```
//!
//! Every malformed input is an error value; no decoder panics on any byte sequence (proptest
//! checks this for each one).
#![warn(missing_docs)]

pub mod barcode;
pub mod card_reader;
pub mod fingerprint;
pub mod pos;
pub mod smpp;
mod time;

pub use time::Millis;

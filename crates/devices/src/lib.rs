//! Device drivers and byte-exact simulators for the kiosk's peripherals (docs/domain.md section 9).
//!
//! Each kind of device has an async trait ([`CardReader`], …) so a vendor SDK adapter can stand
//! in for our drivers. Our drivers are thin tokio loops around the sans-IO state machines of the
//! `protocol` crate, over a real serial line ([`serial::SerialPort`]): they add what I/O needs
//! (opening and reopening the port, reading, writing, arming timers) and nothing else. The
//! protocol's state machines own timeouts, retries and resynchronisation.
//!
//! The simulators (feature `sim`, off by default so a kiosk build links none) run the device side
//! of the same state machines behind a pseudo terminal (`pty::Pty`), pace their output to the
//! line's baud rate, and expose a loopback HTTP control API to drive them like a person would and
//! to inject faults (`sim`).
#![warn(missing_docs)]

pub mod barcode;
pub mod camera;
pub mod card_reader;
mod clock;
mod engine;
pub mod fingerprint;
pub mod grey_png;
pub mod health;
#[cfg(feature = "sim")]
pub mod images;
pub mod pos;
pub mod printer;
#[cfg(feature = "sim")]
pub mod pty;
pub mod recorder;
pub mod serial;
#[cfg(feature = "sim")]
pub mod sim;

/// The sans-IO protocols the drivers and simulators run, for callers that need their types.
pub use protocol;

pub use barcode::{BarcodeError, BarcodeScanner, SerialBarcodeScanner};
pub use camera::{Camera, CameraError, MjpegCamera};
pub use card_reader::{CardReader, CardReaderError, SerialCardReader};
pub use fingerprint::{
    FingerprintError, FingerprintScanner, ModuleMatch, SerialFingerprintScanner,
};
pub use health::DeviceHealth;
pub use pos::{PosError, PosTerminal, SerialPosTerminal};
pub use printer::{IppPrinter, IppPrinterConfig, Printer, PrinterError};
pub use recorder::{FfmpegRecorder, RecorderError, VideoRecorder};
pub use serial::{LineConfig, ReconnectPolicy};

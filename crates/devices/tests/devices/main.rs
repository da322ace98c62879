//! Drivers against simulators over real pseudo terminals: one test binary, modules by device.

mod barcode;
mod camera;
mod card_reader;
mod cups;
mod fingerprint;
mod pos;
mod printer;
mod recorder;
mod support;

//! The devices crate's tests, one test binary: drivers against simulators over real pseudo
//! terminals, modules by device; the camera simulator's control API (`camera_control`) and the
//! fingerprint simulator's synthetic fingers through the driver (`fingerprint_sim`).

mod barcode;
mod camera;
mod camera_control;
mod card_reader;
mod cups;
mod fingerprint;
mod fingerprint_sim;
mod pos;
mod printer;
mod recorder;
mod support;

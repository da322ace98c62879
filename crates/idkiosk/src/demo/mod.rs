//! The pieces of `idkiosk demo` (wired together in `cmd_demo.rs`): the device simulators, the
//! supervised kiosk agent, the printer queue, and the simulator control panel at `/sim`.

pub mod camera;
pub mod citizens;
pub mod devices;
pub mod http;
pub mod panel;
pub mod printer;
pub mod supervisor;

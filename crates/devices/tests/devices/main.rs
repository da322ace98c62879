//! Drivers against simulators over real pseudo terminals: one test binary, modules by device.

mod card_reader;
mod support;

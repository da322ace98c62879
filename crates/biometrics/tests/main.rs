//! Integration tests of the fingerprint library, one binary with modules by theme.

mod enrolment;
mod evaluation;
mod presses;

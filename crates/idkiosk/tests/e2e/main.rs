//! Browser end-to-end tests of the kiosk (issue 8, docs/testing.md): Debian's headless Chromium
//! driven over WebDriver (chromedriver) through the real `idkiosk demo`: kiosk agent, center,
//! popsys, paysim, device simulators and a private CUPS with cups-pdf. The staff console's walk
//! (`staff_console`) and the demo's files and recorder (`hardening`) run against a demo of their
//! own in the same binary.
//!
//! `cargo test -p idkiosk --test e2e -- --nocapture` (needs scripts/setup/50-browser.sh).

mod bench;
mod hardening;
mod harness;
mod scenarios;
mod self_check;
mod stack;
mod staff_console;
mod touches;

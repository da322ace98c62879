//! Browser end-to-end tests of the kiosk (issue 8, docs/testing.md): Debian's headless Chromium
//! driven over WebDriver (chromedriver) through the real `idkiosk demo`: kiosk agent, center,
//! popsys, paysim, device simulators and a private CUPS with cups-pdf.
//!
//! `cargo test -p idkiosk --test e2e -- --nocapture` (needs scripts/setup/50-browser.sh).

mod bench;
mod harness;
mod scenarios;
mod self_check;
mod stack;
mod touches;

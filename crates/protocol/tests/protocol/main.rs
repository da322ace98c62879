//! Protocol tests, one binary with a module per device.

mod barcode;
mod card_reader;
mod fingerprint;
mod pos;

/// Hex dump helper so frames can be written the way they appear in a serial sniffer.
pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("test hex"))
        .collect()
}

//! Bounded memory on huge pictures, measured as this process's peak resident size (its own test
//! binary, with one test, so nothing else runs in it).

mod common;

use face::{DecodeLimits, Picture};

fn peak_resident_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024
}

#[test]
fn a_12000_by_12000_jpeg_decodes_in_bounded_memory() {
    let bytes = common::flat_grey_jpeg(12_000, 12_000);
    let before = peak_resident_mib();
    let picture =
        Picture::from_bytes("huge.jpg", &bytes, &DecodeLimits::default()).expect("decoded smaller");
    assert_eq!(picture.dimensions(), (3_000, 3_000));
    let peak = peak_resident_mib();
    // Full size would be 432 MB of RGB; a quarter on each side is 27 MB.
    assert!(
        peak < before + 100,
        "peak {peak} MiB, {before} MiB before decoding"
    );
}

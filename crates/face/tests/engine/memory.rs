//! Bounded memory on huge pictures, measured as a process's peak resident size. The test runs
//! again in a child process of this test binary with only itself selected, so nothing else runs
//! beside it and the peak is its own.

use std::process::Command;

use face::{DecodeLimits, Picture};

use crate::common;

/// Set in the child process: measure here instead of starting a child.
const CHILD: &str = "IDKIOSK_FACE_MEMORY_CHILD";

fn peak_resident_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024
}

/// Runs the test named `name` (in this module) alone in a child process and fails if it fails.
fn alone_in_a_child(name: &str) {
    // module_path!() is `engine::memory`; the harness names tests without the crate.
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, path)| path);
    let exact = format!("{module}::{name}");
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([exact.as_str(), "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{exact} failed in its own process:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran exactly {exact}:\n{stdout}"
    );
}

#[test]
fn a_12000_by_12000_jpeg_decodes_in_bounded_memory() {
    if std::env::var_os(CHILD).is_none() {
        alone_in_a_child("a_12000_by_12000_jpeg_decodes_in_bounded_memory");
        return;
    }
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

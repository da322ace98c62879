//! `idkiosk finger`: synthesise presses, score them, match them, and the answers for bad images.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idkiosk-finger-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `idkiosk finger ARGS`: exit code and the JSON line it printed.
fn finger(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .arg("finger")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout:?} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), json)
}

fn synth(dir: &Path, finger_id: u64, impression: u32, kind: &str) -> String {
    let out = dir.join(format!("f{finger_id}-{impression}-{kind}.png"));
    let path = out.to_str().unwrap().to_owned();
    let (code, json) = finger(&[
        "synth",
        "--finger",
        &finger_id.to_string(),
        "--impression",
        &impression.to_string(),
        "--kind",
        kind,
        "--out",
        &path,
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        (json["width"].as_u64(), json["height"].as_u64()),
        (Some(256), Some(288))
    );
    assert_eq!(json["kind"], kind);
    path
}

#[test]
fn impressions_of_one_finger_match_and_of_two_fingers_do_not() {
    let dir = scratch("match");
    let a0 = synth(&dir, 1, 0, "good");
    let a1 = synth(&dir, 1, 1, "good");
    let b0 = synth(&dir, 2, 0, "good");

    let (code, same) = finger(&["match", &a0, &a1]);
    assert_eq!(code, 0, "{same}");
    assert_eq!(same["matched"], true);
    assert!(
        same["score"].as_u64().unwrap() >= same["threshold"].as_u64().unwrap(),
        "{same}"
    );
    assert!(same["minutiae_a"].as_u64().unwrap() >= 12, "{same}");

    let (code, different) = finger(&["match", &a0, &b0]);
    assert_eq!(code, 1, "{different}");
    assert_eq!(different["matched"], false);
    assert!(different["score"].as_u64().unwrap() < different["threshold"].as_u64().unwrap());
}

#[test]
fn quality_passes_a_good_press_and_names_what_is_wrong_with_bad_ones() {
    let dir = scratch("quality");
    let (code, good) = finger(&["quality", &synth(&dir, 3, 0, "good")]);
    assert_eq!(code, 0, "{good}");
    assert_eq!(good["passed"], true);
    assert_eq!(good["reasons"], serde_json::json!([]));
    for kind in ["smudged", "partial", "blank"] {
        let (code, bad) = finger(&["quality", &synth(&dir, 3, 0, kind)]);
        assert_eq!(code, 1, "{bad}");
        assert_eq!(bad["passed"], false);
        assert_eq!(bad["reasons"], serde_json::json!([kind]), "{kind}: {bad}");
        assert!(bad["score"].as_u64().unwrap() < bad["threshold"].as_u64().unwrap());
    }
}

#[test]
fn same_numbers_give_the_same_file() {
    let dir = scratch("same");
    let a = std::fs::read(synth(&dir, 9, 2, "good")).unwrap();
    let b = std::fs::read(synth(&scratch("same2"), 9, 2, "good")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_images_are_clear_errors() {
    let dir = scratch("bad");
    let good = synth(&dir, 4, 0, "good");
    let empty = dir.join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.join("text.png");
    std::fs::write(&text, b"this is not a picture").unwrap();
    // A 100 × 100 PNG, made by cutting the header of a real one would be fragile: write one.
    let small = dir.join("small.png");
    let image = biometrics::GreyImage::new(100, 100, vec![200; 100 * 100]).unwrap();
    std::fs::write(&small, image.to_png()).unwrap();
    let missing = dir.join("missing.png");

    for (file, code) in [
        (&empty, "empty"),
        (&text, "not_an_image"),
        (&small, "wrong_size"),
        (&missing, "unreadable"),
    ] {
        let file = file.to_str().unwrap();
        let (exit, json) = finger(&["quality", file]);
        assert_eq!((exit, json["error"].as_str()), (1, Some(code)), "{json}");
        assert_eq!(json["file"], file);
        let (exit, json) = finger(&["match", &good, file]);
        assert_eq!((exit, json["error"].as_str()), (1, Some(code)), "{json}");
    }
    let (_, json) = finger(&["quality", small.to_str().unwrap()]);
    assert_eq!(
        json["message"],
        "wrong size: 100 × 100 pixels, the sensor gives 256 × 288"
    );
}

#[test]
fn templates_are_iso_records() {
    let dir = scratch("template");
    let press = synth(&dir, 5, 0, "good");
    let out = dir.join("t.fmr");
    let (code, json) = finger(&["template", &press, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{json}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..8], b"FMR\0 20\0");
    assert_eq!(json["bytes"].as_u64(), Some(bytes.len() as u64));
    let parsed = biometrics::Template::parse(&bytes).unwrap();
    assert_eq!(
        json["minutiae"].as_u64(),
        Some(parsed.minutiae.len() as u64)
    );
}

//! `idkiosk config check` on the shipped files and on a wrong one, and a process that stops at
//! start on a wrong file (docs/configuration.md).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root (the shipped files are in `config/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `idkiosk ARGS` with `env` added: exit code, standard output, standard error.
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("IDKIOSK_CONFIG")
        .env("IDKIOSK_LOG", "warn")
        .current_dir(root())
        .output()
        .expect("the idkiosk binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).expect("utf-8 output"),
        String::from_utf8(output.stderr).expect("utf-8 errors"),
    )
}

#[test]
fn the_shipped_files_check() {
    for (file, kind) in [
        ("config/demo/center.toml", "center"),
        ("config/demo/kiosk.toml", "kiosk"),
        ("config/demo/popsys.toml", "popsys"),
        ("config/examples/suzhou-center.toml", "center"),
    ] {
        let (code, stdout, stderr) = run(&["config", "check", file], &[]);
        assert_eq!(code, 0, "{file}: {stdout}{stderr}");
        assert_eq!(stdout, format!("ok: {file} ({kind})\n"));
    }
}

/// A copy of the demo's center file with `edit` applied, in a fresh folder.
fn wrong_center(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let text = std::fs::read_to_string(root().join("config/demo/center.toml")).expect("the demo");
    let path = dir.path().join("center.toml");
    std::fs::write(&path, edit(text)).expect("write the file");
    (dir, path)
}

#[test]
fn a_wrong_file_names_each_wrong_field() {
    let (_dir, path) = wrong_center(|text| {
        text.replace("lost = 40", "lost = -5")
            .replace("certified_threshold = 95", "certified_threshold = 101")
            .replace("address = \"南京市玄武区北京东路1号\"", "address = \"\"")
    });
    let file = path.to_str().expect("a UTF-8 path");
    let (code, stdout, _) = run(&["config", "check", file], &[]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stdout,
        format!(
            "{file}: center.collection_offices[0].address: must not be empty\n\
             {file}: center.fees.lost: must not be negative\n\
             {file}: center.face.certified_threshold: must be between 0 and 100\n"
        )
    );
}

/// Issue 17: the production poll interval and the SMS sender number are the bureau's keys, checked.
#[test]
fn a_wrong_poll_interval_and_sender_number_are_named() {
    let (_dir, path) = wrong_center(|text| {
        text.replace("production_poll_s = 10", "production_poll_s = 0")
            .replace("source_addr = \"10690001\"", "source_addr = \"GOV-ID\"")
    });
    let file = path.to_str().expect("a UTF-8 path");
    let (code, stdout, _) = run(&["config", "check", file], &[]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stdout,
        format!(
            "{file}: center.sms.source_addr: must be 1 to 20 digits (the bureau's service \
             number, SMPP 3.4)\n\
             {file}: center.journey.production_poll_s: must be between 1 and 3600 seconds\n"
        )
    );
    let (code, stdout, _) = run(
        &["config", "check", "config/demo/center.toml"],
        &[("IDKIOSK_CENTER__JOURNEY__PRODUCTION_POLL_S", "3601")],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "config/demo/center.toml: center.journey.production_poll_s: must be between 1 and 3600 \
         seconds\n"
    );
}

#[test]
fn an_unknown_key_is_named() {
    let (_dir, path) =
        wrong_center(|text| text.replace("[center.fees]\n", "[center.fees]\nlots = 1\n"));
    let file = path.to_str().expect("a UTF-8 path");
    let (code, stdout, _) = run(&["config", "check", file], &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!("{file}: center.fees.lots: unknown key (known: ")),
        "{stdout}"
    );
}

#[test]
fn the_environment_overrides_what_is_checked() {
    let (code, stdout, _) = run(
        &["config", "check", "config/demo/center.toml"],
        &[("IDKIOSK_CENTER__FACE__LIVE_THRESHOLD", "-1")],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "config/demo/center.toml: center.face.live_threshold: must be between 0 and 100\n"
    );
}

#[test]
fn a_center_stops_at_start_on_a_wrong_file_and_without_one() {
    let (_dir, path) = wrong_center(|text| text.replace("lost = 40", "lost = -5"));
    let file = path.to_str().expect("a UTF-8 path");
    let (code, _, stderr) = run(
        &["center", "--config", file, "--listen", "127.0.0.1:0"],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {file}: center.fees.lost: must not be negative"
        )),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["center", "--listen", "127.0.0.1:0"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--config FILE or IDKIOSK_CONFIG is required")
            && stderr.contains("config/demo/center.toml"),
        "{stderr}"
    );
}

//! Integration tests of the `idkiosk` binary's tools, one test binary: each test runs the built
//! binary as a user would and checks its standard output and exit code.
//!
//! - `id`, `rules`, `audit`, `demo`: the `id` and `rules` tools, the audit trail, the demo;
//! - `center_blobs_cli`: `idkiosk center blobs migrate` to a real SeaweedFS;
//! - `center_faces_cli`: `idkiosk center faces warm` against a popsys and the real face engine;
//! - `config_cli`: `idkiosk config check` on the shipped files and wrong ones;
//! - `devices_cli`: `idkiosk sim card-reader` and `idkiosk device read-card` over a real pty;
//! - `doctor`: `idkiosk doctor kiosk` against the simulators, a center and a private CUPS;
//! - `docs_cli`: `idkiosk docs render` on the committed examples and on bad data;
//! - `face_cli`: `idkiosk face` on the real test faces;
//! - `finger_cli`: `idkiosk finger` on synthetic presses;
//! - `demo_faces`: the popsys demo citizens' faces through the real face engine (step 7);
//! - `manual`: the man pages and completions of `idkiosk manual`;
//! - `session`: the kiosk session's unit (cage and Chromium) on wlroots' headless backend;
//! - `units`: the systemd units of `packaging/systemd/` (`systemd-analyze verify`);
//! - `support`: a child process ended with its test, a free port, a private CUPS, the face engine.

mod audit;
mod center_blobs_cli;
mod center_faces_cli;
mod config_cli;
mod demo;
mod demo_faces;
mod devices_cli;
mod docs_cli;
mod doctor;
mod face_cli;
mod finger_cli;
mod id;
mod manual;
mod paysim_interop;
mod rules;
mod session;
mod support;
mod units;

use std::io::Write;
use std::process::{Command, Stdio};

/// What one run of the binary gave back.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub json: serde_json::Value,
}

/// Runs `idkiosk ARGS` with `stdin`, today fixed to 2026-11-25.
pub fn idkiosk(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(args)
        .env("IDKIOSK_TODAY", "2026-11-25")
        .env("IDKIOSK_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the idkiosk binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    let output = child.wait_with_output().expect("idkiosk finishes");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one line of output: {stdout:?}"
    );
    let json =
        serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("not json ({err}): {stdout:?}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: stdout.trim_end().to_owned(),
        json,
    }
}

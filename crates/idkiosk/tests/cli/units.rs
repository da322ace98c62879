//! The systemd units of `packaging/systemd/` (docs/packaging.md): `systemd-analyze verify`
//! passes on each without a word, a typo'd directive does not, every flag a unit's
//! `ExecStart=` passes is one the command takes, and docs/packaging.md quotes each as it is.
//! The kiosk session's unit runs cage, not idkiosk: `tests/cli/session.rs` runs its commands.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The units that run `idkiosk`, with the subcommand.
const UNITS: [(&str, &[&str]); 3] = [
    ("idkiosk-center.service", &["center"]),
    ("idkiosk-kiosk.service", &["kiosk"]),
    ("idkiosk-popsys.service", &["popsys", "serve"]),
];

/// The kiosk session (cage and Chromium).
const SESSION: &str = "idkiosk-session.service";

/// Every unit of the package.
fn all_units() -> impl Iterator<Item = &'static str> {
    UNITS.iter().map(|(name, _)| *name).chain([SESSION])
}

fn unit_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging/systemd")
        .join(name)
}

/// `systemd-analyze`, or `None` outside CI when it is missing (`store::testing::require`).
fn systemd_analyze(test: &str) -> Option<()> {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .map_err(|err| format!("systemd-analyze does not run ({err}): install Debian's systemd (scripts/setup/70-packaging.sh)"))
        .and_then(|out| {
            if out.status.success() {
                Ok(())
            } else {
                Err("systemd-analyze --version failed: install Debian's systemd (scripts/setup/70-packaging.sh)".to_owned())
            }
        });
    store::testing::require(test, "systemd-analyze", found)
}

/// `systemd-analyze verify` on `text` saved as `name` in a fresh folder: its exit code and
/// everything it printed.
///
/// verify refuses a unit whose `ExecStart=` binary is missing, and the package's `/usr/bin/idkiosk`
/// is not installed where tests run, so the unit is checked with the binary cargo built in its
/// place. `--man=no`: the `Documentation=man:` pages exist only once the package is installed
/// (`scripts/package-deb.sh --test` verifies the installed units with them).
fn verify(name: &str, text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let text = text.replace("/usr/bin/idkiosk", env!("CARGO_BIN_EXE_idkiosk"));
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("writing the unit");
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), printed)
}

#[test]
fn each_unit_verifies_without_a_warning() {
    if systemd_analyze("each_unit_verifies_without_a_warning").is_none() {
        return;
    }
    // verify refuses an ExecStart= binary that is not there.
    let cage = store::testing::file("/usr/bin/cage", "scripts/setup/75-session.sh");
    let cage = store::testing::require("each_unit_verifies_without_a_warning", "cage", cage);
    for name in all_units().filter(|name| *name != SESSION || cage.is_some()) {
        let text = std::fs::read_to_string(unit_path(name)).expect("the unit is there");
        let (code, printed) = verify(name, &text);
        assert_eq!((code, printed.as_str()), (0, ""), "{name}");
    }
}

#[test]
fn a_typo_in_a_directive_is_reported() {
    if systemd_analyze("a_typo_in_a_directive_is_reported").is_none() {
        return;
    }
    let text = std::fs::read_to_string(unit_path("idkiosk-center.service")).expect("the unit");
    let typo = text.replace("ProtectHome=yes", "ProtectHomee=yes");
    assert_ne!(typo, text, "the unit has ProtectHome=yes to misspell");
    let (_, printed) = verify("idkiosk-typo.service", &typo);
    assert!(
        printed.contains("Unknown key 'ProtectHomee'"),
        "verify names the typo: {printed:?}"
    );
}

/// The `--flags` of a unit's `ExecStart=` (continuation lines joined).
fn exec_start_flags(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|line| line.starts_with("ExecStart="))
        .expect("the unit has ExecStart=");
    line.split_whitespace()
        .filter(|word| word.starts_with("--"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_flag_of_a_unit_is_one_its_command_takes() {
    for (name, command) in UNITS {
        let text = std::fs::read_to_string(unit_path(name)).expect("the unit is there");
        let help = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
            .args(command)
            .arg("--help")
            .output()
            .expect("idkiosk runs");
        let help = String::from_utf8(help.stdout).expect("utf-8 help");
        let flags = exec_start_flags(&text);
        assert!(flags.contains(&"--config".to_owned()), "{name}: {flags:?}");
        for flag in flags {
            assert!(
                help.contains(&format!("{flag} ")),
                "{name}: `idkiosk {}` has no {flag}",
                command.join(" ")
            );
        }
    }
}

#[test]
fn the_packaging_page_quotes_each_unit_as_it_is() {
    let page = std::fs::read_to_string(unit_path("../../docs/packaging.md")).expect("the page");
    for name in all_units() {
        let text = std::fs::read_to_string(unit_path(name)).expect("the unit is there");
        let quoted = format!("# /lib/systemd/system/{name}\n{text}```");
        assert!(
            page.contains(&quoted),
            "docs/packaging.md quotes {name} as it is"
        );
    }
}

//! `idkiosk manual --out DIR`: the man pages and shell completions the package ships
//! (docs/packaging.md), with a page for `idkiosk` and for each subcommand.

use std::path::Path;
use std::process::Command;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_manual_has_a_page_per_command_and_completions_for_three_shells() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(["manual", "--out"])
        .arg(dir.path())
        .env("IDKIOSK_LOG", "warn")
        .output()
        .expect("idkiosk runs");
    assert!(output.status.success(), "{output:?}");
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(answer["completions"], 3);

    let man = dir.path().join("man");
    // roff escapes a hyphen as `\-`.
    let top = read(&man.join("idkiosk.1"));
    for subcommand in ["center", "kiosk", "popsys", "config", "fleet"] {
        assert!(
            top.contains(&format!("idkiosk\\-{subcommand}(1)")),
            "idkiosk.1 names {subcommand}"
        );
    }
    assert!(
        !top.contains("manual"),
        "the hidden manual command has no entry"
    );
    let popsys = read(&man.join("idkiosk-popsys.1"));
    assert!(popsys.contains("idkiosk\\-popsys\\-serve(1)"), "{popsys}");
    let serve = read(&man.join("idkiosk-popsys-serve.1"));
    assert!(serve.contains("\\-\\-config"), "{serve}");
    assert_eq!(
        answer["man"],
        std::fs::read_dir(&man).expect("man/").count()
    );

    let completions = dir.path().join("completions");
    for (file, word) in [
        ("idkiosk.bash", "center"),
        ("_idkiosk", "center"),
        ("idkiosk.fish", "center"),
    ] {
        assert!(read(&completions.join(file)).contains(word), "{file}");
    }
}

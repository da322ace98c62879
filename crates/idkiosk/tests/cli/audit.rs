//! `idkiosk audit` and `idkiosk staff` against a real SQLite file (issue 14): with its signed
//! checkpoints, `audit verify` fails on a chain that was rewound (rows deleted and the head moved
//! back) or emptied, naming the checkpoint and what is missing; a forged checkpoint fails; an
//! intact chain passes. `staff disable` ends the account's sessions.

use std::path::Path;
use std::process::Command;

use store::audit::NewAuditEntry;
use store::Store;

/// What one run gave back (these commands print text, not JSON).
struct Text {
    code: i32,
    stdout: String,
}

fn run(args: &[&str], stdin: &str) -> Text {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(args)
        .env("IDKIOSK_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the idkiosk binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let output = child.wait_with_output().expect("idkiosk finishes");
    Text {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    }
}

async fn chain(url: &str, n: i64) {
    let store = Store::connect(url).await.unwrap();
    for i in 1..=n {
        store
            .append_audit(&NewAuditEntry {
                at: 1_795_000_000 + i,
                actor: "clerk1".into(),
                role: "window_clerk".into(),
                action: "view_record".into(),
                subject: format!("32010020261125{i:04}"),
                detail: String::new(),
            })
            .await
            .unwrap();
    }
    store.close().await;
}

async fn sql(url: &str, statements: &[&str]) {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    for statement in statements {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[tokio::test]
async fn audit_verify_with_checkpoints_fails_on_a_rewound_or_emptied_chain() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", path(dir.path(), "center.db"));
    let (key, public, checkpoints) = (
        path(dir.path(), "audit.key"),
        path(dir.path(), "audit.key.pub"),
        path(dir.path(), "audit.checkpoints"),
    );
    let created = run(
        &[
            "staff",
            "add",
            "--database",
            &url,
            "--user",
            "clerk1",
            "--role",
            "window_clerk",
        ],
        "clerk-password-1\n",
    );
    assert_eq!(created.code, 0, "{}", created.stdout);
    chain(&url, 12).await;
    let keygen = run(&["audit", "keygen", "--key", &key], "");
    assert_eq!(keygen.code, 0, "{}", keygen.stdout);
    let written = run(
        &[
            "audit",
            "checkpoint",
            "--database",
            &url,
            "--key",
            &key,
            "--checkpoints",
            &checkpoints,
        ],
        "",
    );
    assert_eq!(written.code, 0, "{}", written.stdout);
    assert!(
        written.stdout.contains("covers 12 entries"),
        "{}",
        written.stdout
    );
    let head = written.stdout.split("head hash ").nth(1).unwrap()[..64].to_owned();
    let verify = || {
        run(
            &[
                "audit",
                "verify",
                "--database",
                &url,
                "--checkpoints",
                &checkpoints,
                "--public-key",
                &public,
            ],
            "",
        )
    };
    let intact = verify();
    assert_eq!(intact.code, 0, "{}", intact.stdout);
    assert!(
        intact
            .stdout
            .starts_with("audit chain ok: 12 entries; 1 checkpoints hold"),
        "{}",
        intact.stdout
    );
    // The database and its write-ahead log together: a CLI that exits without checkpointing
    // leaves entries in the WAL, and a copy of the main file alone would miss them.
    let backup = std::fs::read(dir.path().join("center.db")).unwrap();
    let backup_wal = std::fs::read(dir.path().join("center.db-wal")).ok();

    // Rewound: the newest 5 rows deleted and the head moved back to entry 7.
    sql(
        &url,
        &[
            "DELETE FROM audit_log WHERE seq > 7",
            "UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_log WHERE seq = 7)",
        ],
    )
    .await;
    let alone = run(&["audit", "verify", "--database", &url], "");
    assert_eq!(
        alone.code, 0,
        "without checkpoints the rewind is invisible: {}",
        alone.stdout
    );
    let rewound = verify();
    assert_eq!(rewound.code, 1, "{}", rewound.stdout);
    assert!(
        rewound.stdout.starts_with(
            "audit chain broken at entry #8: the chain ends at entry 7 but checkpoint "
        ) && rewound
            .stdout
            .contains(&format!("covers 12 entries with head hash {head}"))
            && rewound
                .stdout
                .contains("entries #8–#12 are missing (the chain was rewound)"),
        "{}",
        rewound.stdout
    );
    // The rewound head is not anchored.
    let refused = run(
        &[
            "audit",
            "checkpoint",
            "--database",
            &url,
            "--key",
            &key,
            "--checkpoints",
            &checkpoints,
        ],
        "",
    );
    assert_eq!(refused.code, 1, "{}", refused.stdout);

    // Emptied.
    sql(&url, &["DELETE FROM audit_log", "DELETE FROM audit_head"]).await;
    let wiped = verify();
    assert_eq!(wiped.code, 1, "{}", wiped.stdout);
    assert!(
        wiped.stdout.starts_with(
            "audit chain broken at entry #1: the chain ends at entry 0 but checkpoint "
        ) && wiped
            .stdout
            .contains("entries #1–#12 are missing (the chain was emptied)"),
        "{}",
        wiped.stdout
    );

    // Restored, but a checkpoint signed by another key is appended: forged.
    std::fs::write(dir.path().join("center.db"), backup).unwrap();
    match &backup_wal {
        Some(wal) => std::fs::write(dir.path().join("center.db-wal"), wal).unwrap(),
        None => {
            let _ = std::fs::remove_file(dir.path().join("center.db-wal"));
        }
    }
    let _ = std::fs::remove_file(dir.path().join("center.db-shm"));
    assert_eq!(verify().code, 0);
    let intruder = path(dir.path(), "intruder.key");
    assert_eq!(run(&["audit", "keygen", "--key", &intruder], "").code, 0);
    assert_eq!(
        run(
            &[
                "audit",
                "checkpoint",
                "--database",
                &url,
                "--key",
                &intruder,
                "--checkpoints",
                &path(dir.path(), "forged.checkpoints")
            ],
            "",
        )
        .code,
        0
    );
    // Someone who can write the checkpoint file but has not the key appends a line of their own.
    let line = std::fs::read_to_string(dir.path().join("forged.checkpoints")).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("audit.checkpoints"))
        .unwrap();
    std::io::Write::write_all(&mut file, line.as_bytes()).unwrap();
    let forged = verify();
    assert_eq!(forged.code, 1, "{}", forged.stdout);
    assert!(
        forged.stdout.contains("checkpoint line 2 of ")
            && forged.stdout.contains("bad signature")
            && forged.stdout.contains("forged or damaged"),
        "{}",
        forged.stdout
    );
}

#[tokio::test]
async fn staff_disable_ends_sessions_and_names_are_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", path(dir.path(), "center.db"));
    let add = |user: &str| {
        run(
            &[
                "staff",
                "add",
                "--database",
                &url,
                "--user",
                user,
                "--role",
                "window_clerk",
            ],
            "clerk-password-1\n",
        )
    };
    assert_eq!(add("clerk1").code, 0);
    let twin = add("CLERK1");
    assert_eq!(twin.code, 1, "{}", twin.stdout);
    assert!(
        twin.stdout.contains("names are case-insensitive"),
        "{}",
        twin.stdout
    );
    let store = Store::connect(&url).await.unwrap();
    store
        .create_staff_session(&store::staff::token_hash("t"), "clerk1", "c", 1, i64::MAX)
        .await
        .unwrap();
    store.close().await;
    let disabled = run(
        &["staff", "disable", "--database", &url, "--user", "Clerk1"],
        "",
    );
    assert_eq!(disabled.code, 0, "{}", disabled.stdout);
    assert!(
        disabled.stdout.contains("disabled (1 sessions ended)"),
        "{}",
        disabled.stdout
    );
    let list = run(&["staff", "list", "--database", &url], "");
    assert!(
        list.stdout.contains("clerk1\twindow_clerk\tdisabled"),
        "{}",
        list.stdout
    );
    assert_eq!(
        run(
            &["staff", "enable", "--database", &url, "--user", "clerk1"],
            ""
        )
        .code,
        0
    );
    let list = run(&["staff", "list", "--database", &url], "");
    assert!(!list.stdout.contains("disabled"), "{}", list.stdout);
    assert_eq!(
        run(
            &["staff", "disable", "--database", &url, "--user", "nobody"],
            ""
        )
        .code,
        1
    );
}

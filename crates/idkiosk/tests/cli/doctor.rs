//! `idkiosk doctor kiosk` against the simulators (card reader, barcode, fingerprint, POS,
//! camera, each `idkiosk sim …` on its own pty or port), a real center (`idkiosk center`,
//! SQLite, no face engine) and a private CUPS with a cups-pdf queue: every check passes, then
//! each device taken down in turn (a POS also plugged in but silent) fails its line alone, naming
//! the device and the fix, and `--json` is one object for the heartbeat. `idkiosk doctor center` against a
//! center, popsys and the SMSC simulator, then with popsys and the SMSC stopped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{PrivateCups, Running};

const BIN: &str = env!("CARGO_BIN_EXE_idkiosk");

/// Starts `idkiosk ARGS` and returns it with the JSON line it announced itself with.
fn start(args: &[&str]) -> (Running, Value) {
    let (running, line) = spawn(args, Some("2026-11-25"));
    let announced: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{args:?} announced no JSON line ({e}): {line:?}"));
    (running, announced)
}

/// Starts `idkiosk ARGS` (on `today` when given) and returns it with the first line it printed.
fn spawn(args: &[&str], today: Option<&str>) -> (Running, String) {
    let mut command = Command::new(BIN);
    command.args(args).env("IDKIOSK_LOG", "warn");
    if let Some(today) = today {
        command.env("IDKIOSK_TODAY", today);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("idkiosk starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the process prints a first line");
    (running, line.trim().to_owned())
}

fn doctor(args: &[String]) -> Output {
    Command::new(BIN)
        .args(["doctor", "kiosk"])
        .args(args)
        .env("IDKIOSK_LOG", "warn")
        .env_remove("IDKIOSK_CONFIG")
        .env_remove("IDKIOSK_PRINTER")
        .output()
        .expect("idkiosk doctor runs")
}

/// The line of check `name` (`ok    name …` or `FAIL  name …`).
fn line_of<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no line for {name}: {stdout}"))
}

/// Every line of the kiosk doctor against the simulators, a center and CUPS, in order.
const KIOSK_CHECKS: [&str; 11] = [
    "config",
    "card_reader",
    "barcode",
    "fingerprint",
    "pos",
    "camera",
    "printer",
    "center",
    "clock",
    "disk",
    "outbox",
];

/// Runs the kiosk doctor and checks that it exits 1 with exactly `down`'s line failing, that
/// line naming the device (`what`) and its `fix`, and every other line passing.
fn only_fails(args: &[String], down: &str, what: &str, fix: &str) -> String {
    let out = doctor(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{down} down:\n{stdout}");
    assert_eq!(out.status.code(), Some(1), "{down} down: {stdout}");
    for name in KIOSK_CHECKS {
        let line = line_of(&stdout, name);
        if name == down {
            assert!(line.starts_with("FAIL "), "{line}");
            assert!(line.contains(what), "names the device ({what}): {line}");
            assert!(line.contains(fix), "says what to do ({fix}): {line}");
        } else {
            assert!(line.starts_with("ok "), "only {down} fails: {stdout}");
        }
    }
    stdout
}

/// `args` with the value after `flag` replaced.
fn with(args: &[String], flag: &str, value: &str) -> Vec<String> {
    let mut args = args.to_vec();
    let at = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    args[at + 1] = value.to_owned();
    args
}

/// A serial port with nothing behind it: a pty whose other end nobody reads or writes, linked
/// at `link` while it lives (a POS plugged in but not speaking).
struct SilentPort {
    _pty: nix::pty::OpenptyResult,
    link: PathBuf,
}

impl SilentPort {
    fn open(link: &Path) -> SilentPort {
        use std::os::fd::AsRawFd;
        let pty = nix::pty::openpty(None, None).expect("a pty");
        let slave = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd()))
            .expect("the pty's name");
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(slave, link).expect("the port's link");
        SilentPort {
            _pty: pty,
            link: link.to_owned(),
        }
    }
}

impl Drop for SilentPort {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.link);
    }
}

/// Issue 19 item 3: every device asked over its own protocol. Each device taken down in turn
/// fails its line alone, naming the device and the fix; a POS that is plugged in but silent fails
/// too (the probe needs its NAK, an open port is not enough), as does a barcode "port" that is
/// not a tty.
#[test]
fn doctor_passes_with_every_device_up_and_names_each_device_taken_down() {
    let test = "doctor_passes_with_every_device_up_and_names_each_device_taken_down";
    let Some(cups) = PrivateCups::start(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let d = dir.path();
    let link = |name: &str| d.join(name).display().to_string();
    let sim = |device: &str| start(&["sim", device, "--link", &link(device)]).0;
    let camera_sim = || {
        let (camera, announced) = start(&["sim", "camera", "--no-face"]);
        let stream = announced["stream"]
            .as_str()
            .expect("the camera's stream")
            .to_owned();
        (camera, stream)
    };
    let mut card_reader = sim("card-reader");
    let mut barcode = sim("barcode");
    let mut fingerprint = sim("fingerprint");
    let mut pos = sim("pos");
    let (mut camera, stream) = camera_sim();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo");
    let c = |f: &str| d.join("center").join(f).display().to_string();
    let (_center, center) = start(&[
        "center",
        "--config",
        &format!("{config}/center.toml"),
        "--listen",
        "127.0.0.1:0",
        "--no-face",
        "--popsys-token",
        "t",
        "--database",
        &format!("sqlite://{}", c("center.db")),
        "--key-file",
        &c("master.keys"),
        "--blob-dir",
        &c("blobs"),
        "--audit-key",
        &c("audit.key"),
        "--audit-checkpoints",
        &c("audit.checkpoints"),
        "--kiosk-secrets",
        "K0001=doctor",
    ]);
    let args: Vec<String> = [
        "--config",
        &format!("{config}/kiosk.toml"),
        "--center",
        center["center"].as_str().expect("the center's URL"),
        "--card-reader",
        &link("card-reader"),
        "--barcode",
        &link("barcode"),
        "--fingerprint",
        &link("fingerprint"),
        "--pos",
        &link("pos"),
        "--camera",
        &stream,
        "--printer",
        &cups.uri(),
        "--data-dir",
        &link("kiosk"),
    ]
    .map(str::to_owned)
    .to_vec();

    let all_up = doctor(&args);
    let stdout = String::from_utf8_lossy(&all_up.stdout).into_owned();
    println!("{stdout}");
    assert_eq!(
        all_up.status.code(),
        Some(0),
        "every check passes: {stdout}"
    );
    for name in KIOSK_CHECKS {
        assert!(line_of(&stdout, name).starts_with("ok "), "{stdout}");
    }
    assert!(
        line_of(&stdout, "pos").contains("answered NAK to a frame with a bad check byte"),
        "{stdout}"
    );
    assert!(
        line_of(&stdout, "barcode").contains("opens at 9600 8N1; a scanner only sends"),
        "{stdout}"
    );

    // Each device down in turn, then back.
    card_reader.stop();
    only_fails(
        &args,
        "card_reader",
        "ID card reader",
        "plug in the ID card reader",
    );
    card_reader = sim("card-reader");

    barcode.stop();
    only_fails(
        &args,
        "barcode",
        "barcode scanner",
        "plug in the barcode scanner",
    );
    barcode = sim("barcode");
    let not_a_tty = d.join("not-a-tty");
    std::fs::write(&not_a_tty, b"").expect("a plain file");
    only_fails(
        &with(&args, "--barcode", &not_a_tty.display().to_string()),
        "barcode",
        "is not a serial port (not a tty)",
        "plug in the barcode scanner",
    );

    fingerprint.stop();
    only_fails(
        &args,
        "fingerprint",
        "fingerprint module",
        "plug in the fingerprint module",
    );
    fingerprint = sim("fingerprint");

    pos.stop();
    only_fails(
        &args,
        "pos",
        "MIS-POS terminal",
        "check the POS terminal's power",
    );
    // Plugged in (the port opens) but nobody answers: the check wants the protocol's NAK.
    {
        let _silent = SilentPort::open(&d.join("pos"));
        only_fails(
            &args,
            "pos",
            "no NAK to a frame with a bad check byte",
            "9600 baud",
        );
    }
    pos = sim("pos");

    camera.stop();
    only_fails(&args, "camera", "camera at", "check the camera's power");
    let (_camera, stream) = camera_sim();
    let args = with(&args, "--camera", &stream);

    cups.out_of_paper();
    only_fails(&args, "printer", "stopped", "load paper");

    // Out of paper with the card reader unplugged (docs/doctor.md shows this run).
    card_reader.stop();
    let down = doctor(&args);
    let stdout = String::from_utf8_lossy(&down.stdout).into_owned();
    println!("{stdout}");
    assert_eq!(down.status.code(), Some(1), "{stdout}");
    let printer = line_of(&stdout, "printer");
    assert!(printer.starts_with("FAIL "), "{printer}");
    assert!(printer.contains("stopped"), "{printer}");
    assert!(printer.contains("load paper"), "the fix: {printer}");
    let reader = line_of(&stdout, "card_reader");
    assert!(reader.starts_with("FAIL "), "{reader}");
    assert!(reader.contains("ID card reader"), "{reader}");
    assert!(
        reader.contains("plug in the ID card reader"),
        "the fix: {reader}"
    );
    for name in ["barcode", "fingerprint", "pos", "camera", "center", "clock"] {
        assert!(line_of(&stdout, name).starts_with("ok "), "{stdout}");
    }
    let mut json_args = args.clone();
    json_args.push("--json".to_owned());
    let json = doctor(&json_args);
    assert_eq!(json.status.code(), Some(1));
    let text = String::from_utf8_lossy(&json.stdout);
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    let report: Value = serde_json::from_str(&text).expect("the report is JSON");
    assert_eq!(report["ok"], Value::Bool(false));
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == Value::Bool(false))
        .map(|c| c["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(failed, ["card_reader", "printer"]);
    for check in report["checks"].as_array().expect("checks") {
        assert!(
            check["found"].is_string() && check["fix"].is_string(),
            "{check}"
        );
    }
    // Up until here: the JSON run above needs them.
    drop((barcode, fingerprint, pos));
}

/// Starts `idkiosk ARGS` and returns it with the first line it printed (popsys prints its URL).
fn start_plain(args: &[&str]) -> (Running, String) {
    spawn(args, None)
}

#[test]
fn center_doctor_passes_then_names_popsys_and_the_sms_gateway_when_they_are_down() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let d = dir.path();
    let p = |f: &str| d.join(f).display().to_string();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo");
    let (mut popsys, popsys_url) = start_plain(&[
        "popsys",
        "serve",
        "--config",
        &format!("{config}/popsys.toml"),
        "--listen",
        "127.0.0.1:0",
        "--db",
        &format!("sqlite://{}", p("popsys.db")),
        "--key-file",
        &p("popsys.keys"),
        "--client-tokens",
        "center=doctor-token-0123456789",
    ]);
    let (mut smsc, announced) = start(&["sim", "smsc", "--listen", "127.0.0.1:0"]);
    let smpp = announced["smpp"]
        .as_str()
        .expect("the SMPP address")
        .to_owned();
    std::fs::create_dir_all(d.join("blobs")).expect("the blob folder");
    let (_center, _) = start(&[
        "center",
        "--config",
        &format!("{config}/center.toml"),
        "--listen",
        "127.0.0.1:0",
        "--no-face",
        "--popsys",
        &popsys_url,
        "--popsys-token",
        "doctor-token-0123456789",
        "--database",
        &format!("sqlite://{}", p("center.db")),
        "--key-file",
        &p("master.keys"),
        "--blob-dir",
        &p("blobs"),
        "--audit-key",
        &p("audit.key"),
        "--audit-checkpoints",
        &p("audit.checkpoints"),
        "--kiosk-secrets",
        "K0001=doctor",
    ]);
    let run = || {
        Command::new(BIN)
            .args([
                "doctor",
                "center",
                "--config",
                &format!("{config}/center.toml"),
            ])
            .args(["--database", &format!("sqlite://{}", p("center.db"))])
            .args(["--blob-dir", &p("blobs"), "--popsys", &popsys_url])
            .env("IDKIOSK_LOG", "warn")
            .env("IDKIOSK_CENTER__SMS__GATEWAY__KIND", "smpp")
            .env("IDKIOSK_CENTER__SMS__GATEWAY__ADDRESS", &smpp)
            .env("IDKIOSK_CENTER__SMS__GATEWAY__SYSTEM_ID", "idkiosk")
            .env("IDKIOSK_CENTER__SMS__GATEWAY__PASSWORD", "secret")
            .output()
            .expect("idkiosk doctor runs")
    };

    let up = run();
    let stdout = String::from_utf8_lossy(&up.stdout).into_owned();
    println!("{stdout}");
    assert_eq!(up.status.code(), Some(0), "every check passes: {stdout}");
    for name in ["config", "database", "blobs", "popsys", "sms", "disk"] {
        assert!(line_of(&stdout, name).starts_with("ok "), "{stdout}");
    }

    popsys.stop();
    smsc.stop();
    let down = run();
    let stdout = String::from_utf8_lossy(&down.stdout).into_owned();
    println!("{stdout}");
    assert_eq!(down.status.code(), Some(1), "{stdout}");
    let popsys_line = line_of(&stdout, "popsys");
    assert!(popsys_line.starts_with("FAIL "), "{popsys_line}");
    assert!(
        popsys_line.contains("start the population system"),
        "{popsys_line}"
    );
    let sms_line = line_of(&stdout, "sms");
    assert!(sms_line.starts_with("FAIL "), "{sms_line}");
    assert!(sms_line.contains(&smpp), "{sms_line}");
    for name in ["config", "database", "blobs", "disk"] {
        assert!(line_of(&stdout, name).starts_with("ok "), "{stdout}");
    }
    assert!(
        line_of(&stdout, "database").contains("schema current"),
        "{stdout}"
    );

    // A database a newer idkiosk migrated: the line fails and says what to do.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let url = format!("sqlite://{}", p("center.db"));
        let raw = sqlx::SqlitePool::connect(&url).await.expect("the database");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from a newer idkiosk', TRUE, X'00', 0)",
        )
        .execute(&raw)
        .await
        .expect("a future migration row");
        raw.close().await;
    });
    let newer = run();
    let stdout = String::from_utf8_lossy(&newer.stdout).into_owned();
    let database = line_of(&stdout, "database");
    assert!(database.starts_with("FAIL "), "{database}");
    assert!(
        database.contains("at migration 9999, newer than this idkiosk")
            && database.contains("run the newer idkiosk"),
        "{database}"
    );
}

#[test]
fn kiosk_doctor_reaches_the_center_over_mutual_tls_and_reads_the_certificate() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let d = dir.path();
    let p = |f: &str| d.join(f).display().to_string();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo");
    let enrol = |ca: &str, database: &str| {
        let init = Command::new(BIN)
            .args(["fleet", "ca", "init", "--dir", ca])
            .output()
            .expect("fleet ca init runs");
        assert!(init.status.success(), "{init:?}");
        let enrol = Command::new(BIN)
            .args([
                "fleet", "enrol", "--dir", ca, "--kiosk", "K0001", "--days", "20",
            ])
            .args(["--database", &format!("sqlite://{database}")])
            .output()
            .expect("fleet enrol runs");
        assert!(enrol.status.success(), "{enrol:?}");
    };
    enrol(&p("ca"), &p("center.db"));
    // A kiosk enrolled by another CA: the center does not know its certificate.
    enrol(&p("other-ca"), &p("other.db"));
    let (_center, center) = start(&[
        "fleet",
        "center",
        "--ca-dir",
        &p("ca"),
        "--tls-listen",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
        "--require-client-certificate",
        "--config",
        &format!("{config}/center.toml"),
        "--no-face",
        "--popsys-token",
        "t",
        "--database",
        &format!("sqlite://{}", p("center.db")),
        "--key-file",
        &p("master.keys"),
        "--blob-dir",
        &p("blobs"),
    ]);
    let url = center["center_tls"]
        .as_str()
        .expect("the TLS URL")
        .to_owned();
    let run = |tls_dir: &str| {
        let out = Command::new(BIN)
            .args(["doctor", "kiosk", "--center", &url, "--tls-dir", tls_dir])
            .args(["--data-dir", &p("kiosk")])
            .env("IDKIOSK_LOG", "warn")
            .output()
            .expect("idkiosk doctor runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let enrolled = run(&p("ca/kiosks/K0001"));
    println!("{enrolled}");
    assert!(
        line_of(&enrolled, "center").contains("over mutual TLS"),
        "{enrolled}"
    );
    assert!(
        line_of(&enrolled, "center").starts_with("ok "),
        "{enrolled}"
    );
    assert!(line_of(&enrolled, "clock").starts_with("ok "), "{enrolled}");
    // 20 days left is under the default 30: renew.
    let certificate = line_of(&enrolled, "certificate");
    assert!(certificate.starts_with("FAIL "), "{certificate}");
    assert!(certificate.contains("expires in 19 days"), "{certificate}");
    assert!(certificate.contains("renew"), "{certificate}");

    let stranger = run(&p("other-ca/kiosks/K0001"));
    println!("{stranger}");
    let center_line = line_of(&stranger, "center");
    assert!(center_line.starts_with("FAIL "), "{center_line}");
    assert!(center_line.contains("enrolled"), "the fix: {center_line}");
}

/// The backlog is read from the kiosk's own outbox (its key file beside it), not guessed.
#[tokio::test]
async fn kiosk_doctor_counts_the_outbox_backlog() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data_dir = dir.path().join("kiosk");
    std::fs::create_dir_all(&data_dir).expect("the data folder");
    let keys = store::FileKeyProvider::create(data_dir.join("outbox.keys")).expect("a key file");
    let cipher = std::sync::Arc::new(store::EnvelopeCipher::new(std::sync::Arc::new(keys)));
    let outbox = kiosk::outbox::Outbox::open(&data_dir.join("outbox.db"), cipher)
        .await
        .expect("the outbox opens");
    let blob = |kind: &str| kiosk::outbox::Message::Blob {
        kind: kind.to_owned(),
    };
    outbox
        .enqueue(
            "S1",
            &[blob("live_photo"), blob("signature"), blob("video")],
        )
        .await
        .expect("queued");
    let run = |max: &str| {
        let out = Command::new(BIN)
            .args(["doctor", "kiosk", "--max-backlog", max, "--data-dir"])
            .arg(&data_dir)
            .env("IDKIOSK_LOG", "warn")
            .output()
            .expect("idkiosk doctor runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let within = run("3");
    assert!(
        line_of(&within, "outbox").starts_with("ok    outbox         3 message(s) waiting"),
        "{within}"
    );
    let over = run("2");
    let line = line_of(&over, "outbox");
    assert!(line.starts_with("FAIL  outbox"), "{line}");
    assert!(line.contains("3 messages waiting (more than 2)"), "{line}");
    assert!(line.contains("the center is not taking"), "the fix: {line}");
}

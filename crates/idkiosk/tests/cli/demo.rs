//! `idkiosk demo`: starts on a fresh folder on free ports, seeds it, prints its URLs, answers a
//! scope lookup for a seeded demo citizen through the center (which reaches the population system
//! over HTTP), reports everything at `/sim/api/status`, places a card through the control panel
//! so that the card reader simulator holds it, brings a killed kiosk agent back, and stops
//! cleanly on SIGTERM.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "demo-test-secret";

/// Kills the demo (and the kiosk agent it started) when the test ends, passed or not.
struct Demo {
    child: Child,
    data_dir: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.data_dir.join("kiosk.pid")) {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A minimal HTTP/1.1 request: the test needs no client library to prove the servers answer.
fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, serde_json::Value) {
    let rest = url.trim_start_matches("http://");
    let (address, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method != "GET" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    write!(stream, "{head}\r\n{body}").expect("send");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the answer");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let json_start = response.find("\r\n\r\n").expect("headers end") + 4;
    let body = &response[json_start..];
    // Chunked or not, a JSON object is the part between the outer braces (HTML gives null).
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) => {
            serde_json::from_str(&body[start..=end]).unwrap_or(serde_json::Value::Null)
        }
        _ => serde_json::Value::Null,
    };
    (status, json)
}

fn scope(center: &str, body: &str) -> (u16, serde_json::Value) {
    request(
        "POST",
        &format!("{center}/v1/scope"),
        &[
            ("X-Kiosk-Id", "K0001"),
            ("Authorization", &format!("Bearer {SECRET}")),
        ],
        body,
    )
}

fn alive(pid: u64) -> bool {
    // A zombie still has /proc/PID; its state letter is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_demo(data_dir: &Path) -> (Demo, HashMap<String, String>) {
    let _ = std::fs::remove_dir_all(data_dir);
    let mut command = Command::new(env!("CARGO_BIN_EXE_idkiosk"));
    command.args(["demo", "--citizens", "500", "--kiosk-secret", SECRET]);
    for flag in [
        "--center-listen",
        "--popsys-listen",
        "--panel-listen",
        "--kiosk-listen",
        "--camera-listen",
        "--paysim-listen",
    ] {
        command.args([flag, "127.0.0.1:0"]);
    }
    let child = command
        .arg("--data-dir")
        .arg(data_dir)
        .env("IDKIOSK_TODAY", "2026-11-25")
        .env("IDKIOSK_LOG", "warn")
        .env_remove("IDKIOSK_PRINTER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    let mut demo = Demo {
        child,
        data_dir: data_dir.to_owned(),
    };
    let stdout = demo.child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut urls = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while !urls.contains_key("database") {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines_rx
            .recv_timeout(left)
            .expect("the demo printed its URLs in time");
        if let Some((name, rest)) = line.trim().split_once(':') {
            if line.starts_with("  ") && !line.starts_with("    ") {
                if let Some(value) = rest.split_whitespace().next() {
                    urls.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }
    // Keep draining stdout so the demo never blocks on a full pipe (restart lines).
    std::thread::spawn(move || while lines_rx.recv().is_ok() {});
    (demo, urls)
}

#[test]
fn the_demo_starts_everything_and_the_panel_drives_the_devices() {
    let data_dir = std::env::temp_dir().join(format!("idkiosk-demo-test-{}", std::process::id()));
    let (mut demo, urls) = start_demo(&data_dir);
    let center = &urls["center (kiosk API)"];
    let panel = urls["control panel"].trim_end_matches("/sim").to_owned();
    assert!(
        urls["kiosk screen"].starts_with("http://127.0.0.1:"),
        "{urls:?}"
    );

    // The center answers for seeded demo citizens, with the kiosk's secret only.
    let (status, body) = scope(
        center,
        r#"{"business":"lost","household":"province","id":"320322199203150034"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "accept", "{body}");
    assert_eq!(body["identity"]["name_masked"], "*海波");
    assert_eq!(body["issue_by"], "2027-02-23");
    let (status, body) = scope(
        center,
        r#"{"business":"lost","household":"local","id":"32011120110601003X"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(body["reason"], "under_16", "{body}");
    let (status, _) = request(
        "POST",
        &format!("{center}/v1/scope"),
        &[],
        r#"{"business":"lost","household":"local","id":"32011120110601003X"}"#,
    );
    assert_eq!(status, 401, "no kiosk secret, no answer");

    // The panel's status names everything, and the kiosk agent's pid.
    let (status, body) = request("GET", &format!("{panel}/sim/api/status"), &[], "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["urls"]["center"], center.as_str());
    assert_eq!(body["urls"]["kiosk"], urls["kiosk screen"].as_str());
    let card_reader = body["devices"]["card_reader"].clone();
    assert_eq!(
        card_reader["port"],
        data_dir
            .canonicalize()
            .unwrap()
            .join("dev/card-reader")
            .display()
            .to_string()
    );
    assert!(Path::new(card_reader["port"].as_str().unwrap()).exists());
    for device in ["barcode", "fingerprint", "pos"] {
        assert!(body["devices"][device]["control"].is_string(), "{body}");
    }
    assert!(body["devices"]["camera"]["stream"].is_string(), "{body}");
    assert!(body["printer"].is_null(), "no printer given: {body}");
    let pid = body["kiosk"]["pid"]
        .as_u64()
        .expect("the kiosk agent's pid");
    assert!(alive(pid), "the kiosk agent {pid} runs");
    let pid_file = std::fs::read_to_string(data_dir.join("kiosk.pid")).unwrap();
    assert_eq!(pid_file.trim(), pid.to_string());

    // A card placed through the panel is in the card reader simulator's field.
    let (status, body) = request(
        "POST",
        &format!("{panel}/sim/api/card"),
        &[],
        r#"{"citizen":"320104200012100044"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let control = card_reader["control"].as_str().unwrap();
    let (status, body) = request("GET", &format!("{control}/card"), &[], "");
    assert_eq!(status, 200);
    assert_eq!(body["present"], true, "{body}");
    assert_eq!(body["card"]["id"], "320104200012100044");
    assert_eq!(
        body["card"]["name"], "王晓燕",
        "the card popsys records: {body}"
    );
    let (status, body) = request("DELETE", &format!("{panel}/sim/api/card"), &[], "");
    assert_eq!((status, &body["present"]), (200, &false.into()), "{body}");
    let (status, body) = request(
        "POST",
        &format!("{panel}/sim/api/card"),
        &[],
        r#"{"citizen":"123"}"#,
    );
    assert_eq!(status, 400, "a bad number is the simulator's 400: {body}");
    assert!(body["error"].is_string());

    // The photo studio makes a new receipt at every visit (any number of sessions), the
    // population system knows it, and the barcode button scans the newest one.
    assert_eq!(urls["photo studio"], "S001", "{urls:?}");
    let popsys = &urls["population system"];
    let mut codes = Vec::new();
    for _ in 0..2 {
        let (status, body) = request(
            "POST",
            &format!("{panel}/sim/api/studio"),
            &[],
            r#"{"citizen":"320104200012100044"}"#,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id_number"], "320104200012100044", "{body}");
        assert_eq!(body["studio"], "S001", "{body}");
        assert_eq!(body["created_on"], "2026-11-25", "{body}");
        codes.push(body["code"].as_str().expect("a receipt code").to_owned());
    }
    assert_ne!(codes[0], codes[1], "a new code per visit");
    // The population system answers its clients only: the demo's token is in DATA_DIR.
    let token = std::fs::read_to_string(data_dir.join("popsys.token")).expect("popsys.token");
    let bearer = format!("Bearer {}", token.trim());
    let as_center = [("Authorization", bearer.as_str())];
    let (status, body) = request(
        "POST",
        &format!("{popsys}/v1/receipts/{}/resolve", codes[0]),
        &[],
        r#"{"id_number":"320104200012100044"}"#,
    );
    assert_eq!(status, 401, "no token: {body}");
    for code in &codes {
        let (status, body) = request(
            "POST",
            &format!("{popsys}/v1/receipts/{code}/resolve"),
            &as_center,
            r#"{"id_number":"320104200012100044"}"#,
        );
        assert_eq!(status, 200, "{code}: {body}");
        assert!(body["photo_jpeg_base64"].is_string(), "{body}");
    }
    let (status, body) = request(
        "POST",
        &format!("{panel}/sim/api/barcode"),
        &[],
        r#"{"citizen":"320104200012100044"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scanned"], codes[1].as_str(), "{body}");
    let (status, body) = request("GET", &format!("{panel}/sim/api/studio"), &[], "");
    assert_eq!(status, 200);
    assert_eq!(body["receipts"].as_array().map(Vec::len), Some(2), "{body}");
    let (status, body) = request(
        "POST",
        &format!("{panel}/sim/api/studio"),
        &[],
        r#"{"citizen":"110101199003070011"}"#,
    );
    assert_eq!(status, 404, "not in the register: {body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("id_number"),
        "{body}"
    );

    // `idkiosk popsys receipt add` uploads as the demo's studio, with the secret it keeps.
    let photo = data_dir.join("photo.jpg");
    std::fs::write(&photo, popsys::seed::demo::blank_photo()).unwrap();
    let secret_file = data_dir.join("studio.secret");
    let add = |secret_file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_idkiosk"))
            .args(["popsys", "receipt", "add", "--url", popsys])
            .args(["--citizen", "320322199203150034", "--photo"])
            .arg(&photo)
            .arg("--secret-file")
            .arg(secret_file)
            .env("IDKIOSK_LOG", "warn")
            .env_remove("IDKIOSK_STUDIO_SECRET")
            .output()
            .expect("idkiosk popsys receipt add runs")
    };
    let output = add(&secret_file);
    assert!(output.status.success(), "{output:?}");
    let receipt: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(receipt["id_number"], "320322199203150034", "{receipt}");
    assert_eq!(receipt["studio"], "S001", "{receipt}");
    let code = receipt["code"].as_str().unwrap();
    let (status, body) = request(
        "POST",
        &format!("{popsys}/v1/receipts/{code}/resolve"),
        &as_center,
        r#"{"id_number":"320322199203150034"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let wrong = data_dir.join("wrong.secret");
    std::fs::write(&wrong, "not-the-secret\n").unwrap();
    let output = add(&wrong);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("authorization"),
        "{stderr}"
    );

    // Nothing to pay yet; the page renders.
    let (status, body) = request("POST", &format!("{panel}/sim/api/wechat/pay"), &[], "{}");
    assert_eq!(status, 409, "{body}");
    let (status, page) = request("GET", &format!("{panel}/sim"), &[], "");
    assert_eq!(
        (status, page),
        (200, serde_json::Value::Null),
        "an HTML page"
    );

    // A kill -9 of the agent: the demo starts it again.
    let (status, body) = request("POST", &format!("{panel}/sim/api/kiosk/kill"), &[], "");
    assert_eq!(status, 200, "{body}");
    let mut new_pid = 0;
    wait_for("the kiosk agent restarted", Duration::from_secs(20), || {
        let (_, body) = request("GET", &format!("{panel}/sim/api/status"), &[], "");
        new_pid = body["kiosk"]["pid"].as_u64().unwrap_or(0);
        new_pid != 0 && new_pid != pid && body["kiosk"]["starts"] == 2
    });
    assert!(alive(new_pid));

    // SIGTERM stops everything: the agent, the ptys' links, the pid file.
    let status = Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    wait_for("the demo stopped", Duration::from_secs(30), || {
        exit = demo.child.try_wait().unwrap();
        exit.is_some()
    });
    assert!(exit.unwrap().success(), "{exit:?}");
    assert!(!alive(new_pid), "the kiosk agent stopped with the demo");
    assert!(!data_dir.join("kiosk.pid").exists());
    assert!(!data_dir.join("dev/card-reader").exists());
}

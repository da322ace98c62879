//! `idkiosk sim card-reader` and `idkiosk device read-card` as an operator runs them: the
//! simulator in one process, the CLI in another, a real pty between them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const CITIZEN: &str = "320104200012100044";
const BIN: &str = env!("CARGO_BIN_EXE_idkiosk");

use crate::support::Running;

/// Starts `idkiosk sim …` and returns it with the JSON line it announced itself with.
fn start_sim(args: &[&str]) -> (Running, Value) {
    let mut child = Command::new(BIN)
        .arg("sim")
        .args(args)
        .env("IDKIOSK_TODAY", "2026-11-25")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("idkiosk sim starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the simulator announces itself");
    let announced: Value = serde_json::from_str(&line).expect("one JSON line");
    (running, announced)
}

fn idkiosk(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("idkiosk runs")
}

fn stdout_json(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A bare HTTP/1.1 request to the control API: status and body.
fn control(url: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("the control API listens");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn read_card_from_the_simulator_through_corruption_and_removal() {
    let dir = std::env::temp_dir().join(format!("idkiosk-cli-test-{}", std::process::id()));
    let link = dir.join("card-reader");
    let link_arg = link.to_string_lossy().into_owned();
    let (_sim, announced) = start_sim(&["card-reader", "--citizen", CITIZEN, "--link", &link_arg]);
    assert_eq!(announced["device"], "card-reader");
    assert_eq!(announced["baud"], 115_200);
    let port = announced["port"].as_str().expect("a port path").to_owned();
    assert_eq!(port, link_arg);
    assert!(announced["pty"]
        .as_str()
        .unwrap_or("")
        .starts_with("/dev/pts/"));
    let url = announced["control"]
        .as_str()
        .expect("a control URL")
        .to_owned();

    // The citizen's card, as the simulator built it from the ID number.
    let read = idkiosk(&["device", "read-card", "--port", &port]);
    assert_eq!(read.status.code(), Some(0), "{read:?}");
    let card = stdout_json(&read);
    // Fields in the documented order, one line.
    let text = String::from_utf8_lossy(&read.stdout);
    assert!(
        text.starts_with(r#"{"id":"320104200012100044","name":"#),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with(r#""fingerprint_bytes":1024}"#),
        "{text}"
    );
    assert_eq!(card["id"], CITIZEN);
    assert_eq!(card["sex"], "female");
    assert_eq!(card["nation"], "汉");
    assert_eq!(card["birth_date"], "2000-12-10");
    assert_eq!(card["authority"], "南京市公安局秦淮分局");
    assert_eq!(card["valid_from"], "2016-12-20");
    assert_eq!(card["valid_until"], "2026-12-20");
    assert_eq!(card["fingerprint_bytes"], 1024);
    assert!(card["address"]
        .as_str()
        .unwrap_or("")
        .starts_with("江苏省南京市秦淮区"));
    let photo = card["photo_jpeg_base64"].as_str().expect("a JPEG photo");
    assert!(photo.starts_with("/9j/"), "base64 of FF D8 FF: {photo:.16}");
    let (_, status) = control(&url, "GET", "/card", "");
    assert_eq!(status["card"]["name"], card["name"]);

    // The card is lifted and placed again, and the next two answers are corrupted.
    let (code, _) = control(&url, "POST", "/card/reseat", "");
    assert_eq!(code, 200);
    let (code, _) = control(&url, "POST", "/faults/corrupt", r#"{"frames":2}"#);
    assert_eq!(code, 200);
    let again = idkiosk(&["device", "read-card", "--port", &port]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert_eq!(stdout_json(&again), card);

    // The card is taken away: exit 1, naming status 80.
    let (code, removed) = control(&url, "DELETE", "/card", "");
    assert_eq!((code, &removed["present"]), (200, &Value::Bool(false)));
    let none = idkiosk(&["device", "read-card", "--port", &port, "--wait", "0.5"]);
    assert_eq!(none.status.code(), Some(1), "{none:?}");
    assert_eq!(
        stdout_json(&none),
        serde_json::json!({"error": "no card found", "status": "80"})
    );

    // A bad request to the control API names the field.
    let (code, body) = control(&url, "POST", "/faults/corrupt", r#"{"frame":2}"#);
    assert_eq!(code, 400);
    assert!(
        body["error"].as_str().unwrap_or("").contains("frame"),
        "{body}"
    );
}

#[test]
fn bad_usage_exits_2() {
    let missing_port = idkiosk(&["device", "read-card"]);
    assert_eq!(missing_port.status.code(), Some(2));
    let bad_citizen = Command::new(BIN)
        .args([
            "sim",
            "card-reader",
            "--no-link",
            "--citizen",
            "110105194912310021",
        ])
        .output()
        .expect("idkiosk runs");
    assert_eq!(bad_citizen.status.code(), Some(2), "{bad_citizen:?}");
}

#[test]
fn a_missing_port_is_a_device_failure() {
    let out = idkiosk(&[
        "device",
        "read-card",
        "--port",
        "/nonexistent/tty",
        "--reconnect",
        "0.1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let body = stdout_json(&out);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("/nonexistent/tty"),
        "{body}"
    );
}

//! `idkiosk demo`: starts on a fresh folder, seeds it, and answers a scope lookup for a seeded
//! demo citizen through the center, which reaches the population system over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the demo when the test ends, passed or not.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal HTTP/1.1 POST: the test needs no client library to prove the server answers.
fn post_json(base: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect to the center");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
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
    // Chunked or not, the JSON object is the part between the outer braces.
    let start = body.find('{').expect("a JSON body");
    let end = body.rfind('}').expect("a JSON body");
    (
        status,
        serde_json::from_str(&body[start..=end]).expect("JSON"),
    )
}

#[test]
fn the_demo_starts_and_answers_a_scope_lookup_for_a_seeded_citizen() {
    let data_dir = std::env::temp_dir().join(format!("idkiosk-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let child = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args([
            "demo",
            "--citizens",
            "500",
            "--center-listen",
            "127.0.0.1:0",
            "--popsys-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .env("IDKIOSK_TODAY", "2026-11-25")
        .env("IDKIOSK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    let mut demo = Demo(child);
    let stdout = demo.0.stdout.take().expect("stdout");
    let started = Instant::now();
    let mut center = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some(rest) = line.trim().strip_prefix("center (kiosk API):") {
            center = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the demo did not print its URLs"
        );
    }
    let center = center.expect("the demo printed the center's URL");

    let (status, body) = post_json(
        &center,
        "/v1/scope",
        r#"{"business":"lost","household":"province","id":"320322199203150034"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "accept", "{body}");
    assert_eq!(body["identity"]["name_masked"], "*海波");
    assert_eq!(body["issue_by"], "2027-02-23");

    let (status, body) = post_json(
        &center,
        "/v1/scope",
        r#"{"business":"lost","household":"local","id":"32011120110601003X"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(body["reason"], "under_16", "{body}");

    drop(demo);
    let _ = std::fs::remove_dir_all(&data_dir);
}

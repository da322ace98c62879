//! paysim against an independent client: `idkiosk paysim --keys TMPDIR` as a process, driven by
//! PyPI's `wechatpayv3` (crates/payment/tests/interop/wechatpayv3_client.py), which creates,
//! queries and closes orders and decrypts paysim's callback. Needs scripts/setup/31-payment.sh.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Stops paysim however the test ends.
struct Paysim(Child);

impl Drop for Paysim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn wechatpayv3_creates_queries_closes_and_decrypts_callbacks() {
    let check = Command::new("python3")
        .args(["-c", "import wechatpayv3"])
        .output();
    assert!(
        check.as_ref().is_ok_and(|o| o.status.success()),
        "python3 with wechatpayv3 is missing: run scripts/setup/31-payment.sh ({check:?})"
    );
    let keys = std::env::temp_dir().join(format!("idkiosk-paysim-interop-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(["paysim", "--listen", "127.0.0.1:0", "--keys"])
        .arg(&keys)
        .args(["--retry-first-ms", "200"])
        .env("IDKIOSK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("idkiosk paysim starts");
    let stdout = child.stdout.take().expect("stdout");
    let paysim = Paysim(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("paysim's first line");
    let started: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let listen = started["listen"].as_str().expect("listen address");
    for file in [
        "merchant.json",
        "apiclient_key.pem",
        "pub_key.pem",
        "apiclient_pub.pem",
        "platform_key.pem",
    ] {
        assert!(keys.join(file).exists(), "{file} written by --keys");
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../payment/tests/interop/wechatpayv3_client.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&keys)
        .arg(format!("http://{listen}"))
        .output()
        .expect("python3 runs");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "script failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let expected_prefixes = [
        "create 200 weixin://wxpay/bizpayurl?pr=",
        "query NOTPAY",
        "callback verified and decrypted TRANSACTION.SUCCESS 4200",
        "query SUCCESS",
        "close 204",
        "query CLOSED",
        "interop ok",
    ];
    assert_eq!(lines.len(), expected_prefixes.len(), "{out}");
    for (line, prefix) in lines.iter().zip(expected_prefixes) {
        assert!(
            line.starts_with(prefix),
            "{line:?} should start with {prefix:?}\n{out}"
        );
    }
    drop(paysim);
    std::fs::remove_dir_all(&keys).ok();
}

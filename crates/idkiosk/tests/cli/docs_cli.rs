//! `idkiosk docs render`: each committed example renders to a one-page PDF; bad data exits 1
//! naming the field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn idkiosk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(args)
        .output()
        .expect("idkiosk runs")
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("idkiosk-docs-cli-{}-{name}", std::process::id()))
}

#[test]
fn every_example_renders_to_one_pdf_page() {
    for kind in [
        "certificate",
        "form",
        "notice-wechat",
        "notice-unionpay",
        "portrait",
    ] {
        let data = root().join("docs/examples").join(format!("{kind}.json"));
        let out = temp(&format!("{kind}.pdf"));
        let output = idkiosk(&[
            "docs",
            "render",
            kind,
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            output.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pdf = std::fs::read(&out).expect("pdf written");
        assert!(pdf.starts_with(b"%PDF-"), "{kind}");
        let info = Command::new("pdfinfo")
            .arg(&out)
            .output()
            .unwrap_or_else(|e| {
                panic!("pdfinfo ({e}): run scripts/setup/30-documents.sh to install poppler-utils")
            });
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.lines()
                .any(|l| l.starts_with("Pages:") && l.ends_with(" 1")),
            "{kind}: {info}"
        );
        std::fs::remove_file(out).ok();
    }
}

#[track_caller]
fn check_bad(kind: &str, json: &str, field: &str) {
    let data = temp(&format!("bad-{field}.json"));
    std::fs::write(&data, json).expect("write");
    let out = temp("bad.pdf");
    let output = idkiosk(&[
        "docs",
        "render",
        kind,
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(answer["field"], field, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{answer}"
    );
    assert!(!out.exists(), "no PDF for bad data");
    std::fs::remove_file(data).ok();
}

#[test]
fn bad_data_exits_1_naming_the_field() {
    let example =
        std::fs::read_to_string(root().join("docs/examples/notice-wechat.json")).expect("example");
    check_bad(
        "notice-wechat",
        &example.replace("\"amount_fen\": 2000", "\"amount_fen\": 1"),
        "amount_fen",
    );
    check_bad(
        "notice-wechat",
        &example.replace("4200002851202611250012345678", "4200 0028"),
        "transaction_id",
    );
    check_bad(
        "notice-wechat",
        &example.replace("2026-11-25T10:31:07+08:00", "tomorrow"),
        "paid_at",
    );
    // A paid notice has no QR code any more: the unpaid order's fields are refused.
    check_bad(
        "notice-wechat",
        &example.replace(
            "\"out_trade_no\"",
            "\"code_url\": \"weixin://wxpay/bizpayurl?pr=8cXbDtlzz\",\n  \"out_trade_no\"",
        ),
        "code_url",
    );
    let certificate =
        std::fs::read_to_string(root().join("docs/examples/certificate.json")).expect("example");
    check_bad(
        "certificate",
        &certificate.replace("\"in_person\"", "\"drone\""),
        "collection.method",
    );
    check_bad(
        "certificate",
        &certificate.replace("320104200012100044", "320104200012100045"),
        "id_number",
    );
    check_bad(
        "certificate",
        &certificate.replace("\"signature_png\": \"", "\"signature_png\": \"AAAA"),
        "signature_png",
    );
    check_bad("portrait", "{\"name\": \"王小明\"}", "id_number");
    let portrait =
        std::fs::read_to_string(root().join("docs/examples/portrait.json")).expect("example");
    check_bad(
        "portrait",
        &portrait.replace("\"first_time\"", "\"temporary\""),
        "business",
    );
}

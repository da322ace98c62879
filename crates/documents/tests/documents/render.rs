//! Each document rendered from its example; checked with poppler's tools.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use documents::{json, Kind, Renderer};

use crate::fixtures::{example, example_path, updating_examples};

/// The renderer on the system's Noto CJK fonts, once poppler's tools are there too: `None` when
/// either is missing outside CI (`test` is reported as skipped), a failure under CI
/// (`store::testing::require`).
fn renderer(test: &str) -> Option<&'static Renderer> {
    static RENDERER: OnceLock<Result<Renderer, String>> = OnceLock::new();
    let renderer = RENDERER.get_or_init(|| {
        documents::Fonts::system()
            .map(Renderer::new)
            .map_err(|e| format!("{e} (run scripts/setup/30-documents.sh)"))
    });
    let poppler = ["pdftotext", "pdfinfo", "pdffonts"]
        .into_iter()
        .find(|tool| Command::new(tool).arg("-v").output().is_err())
        .map_or(Ok(()), |tool| {
            Err(format!(
                "`{tool}` is not installed (run scripts/setup/30-documents.sh for poppler-utils)"
            ))
        });
    let found = poppler.and(renderer.as_ref().map_err(String::clone));
    store::testing::require(test, "the Noto CJK fonts and poppler-utils", found)
}

/// Runs a poppler tool on `pdf`, failing with the setup hint when it is not installed.
fn poppler(tool: &str, args: &[&str], pdf: &std::path::Path) -> String {
    let output = Command::new(tool).args(args).arg(pdf).arg("-").output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}): run scripts/setup/30-documents.sh to install poppler-utils")
    });
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn poppler_no_dash(tool: &str, pdf: &std::path::Path) -> String {
    let output = Command::new(tool).arg(pdf).output().unwrap_or_else(|e| {
        panic!(
            "cannot run {tool} ({e}): run scripts/setup/30-documents.sh to install poppler-utils"
        )
    });
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Renders the committed example of `kind` to a temporary file.
fn render_example(renderer: &Renderer, kind: Kind) -> PathBuf {
    let path = example_path(kind);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document = json::parse(kind, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let pdf = renderer.render(&document).expect("render");
    let out = std::env::temp_dir().join(format!(
        "idkiosk-doc-{}-{}.pdf",
        kind.as_str(),
        std::process::id()
    ));
    std::fs::write(&out, pdf).expect("write pdf");
    out
}

#[track_caller]
fn check_snapshot(kind: Kind) {
    let Some(renderer) = renderer(&format!("documents::render {}", kind.as_str())) else {
        return;
    };
    let pdf = render_example(renderer, kind);
    let text = poppler("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf);
    // snapshots/documents__render__<kind>.snap; `cargo insta review` (or INSTA_UPDATE=always)
    // updates it.
    insta::assert_snapshot!(kind.as_str(), text);

    let info = poppler_no_dash("pdfinfo", &pdf);
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Pages:", "1"]),
        "{info}"
    );

    // Every font embedded and subset (pdffonts: emb = yes, sub = yes, name prefixed ABCDEF+).
    let fonts = poppler_no_dash("pdffonts", &pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts in {fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert!(n >= 7, "{row}");
        assert_eq!(
            &cols[n - 5..n - 2],
            ["yes", "yes", "yes"],
            "emb sub uni in {row}"
        );
        assert!(cols[0].contains('+') && cols[0].contains("CJK"), "{row}");
    }
    std::fs::remove_file(pdf).ok();
}

#[test]
fn certificate_text_pages_fonts() {
    check_snapshot(Kind::Certificate);
}

#[test]
fn form_text_pages_fonts() {
    check_snapshot(Kind::Form);
}

#[test]
fn wechat_notice_text_pages_fonts() {
    check_snapshot(Kind::NoticeWechat);
}

#[test]
fn unionpay_notice_text_pages_fonts() {
    check_snapshot(Kind::NoticeUnionPay);
}

#[test]
fn portrait_form_text_pages_fonts() {
    check_snapshot(Kind::Portrait);
}

/// The committed examples are the fixtures: regenerated with INSTA_UPDATE=always.
#[test]
fn examples_are_the_fixtures() {
    for kind in Kind::ALL {
        let path = example_path(kind);
        let expected = serde_json::to_string_pretty(&example(kind)).expect("json") + "\n";
        if updating_examples() {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, &expected).expect("write example");
        }
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            committed,
            expected,
            "{} is stale (INSTA_UPDATE=always rewrites it)",
            path.display()
        );
    }
}

/// The same data renders to the same bytes (no clock, no random id): reprints are identical.
#[test]
fn rendering_is_deterministic() {
    let Some(renderer) = renderer("documents::render rendering_is_deterministic") else {
        return;
    };
    let text = std::fs::read(example_path(Kind::Certificate)).expect("example");
    let document = json::parse(Kind::Certificate, &text).expect("parse");
    assert_eq!(
        renderer.render(&document).expect("render"),
        renderer.render(&document).expect("render")
    );
}

/// The issue-by date is the domain's: 60 days, or 90 in a remote area (docs/domain.md section 3).
#[test]
fn certificate_issue_by_follows_the_rule() {
    let mut value = example(Kind::Certificate);
    let parse =
        |v: &serde_json::Value| match json::parse(Kind::Certificate, v.to_string().as_bytes()) {
            Ok(documents::Document::Certificate(c)) => c,
            other => panic!("{other:?}"),
        };
    assert_eq!(parse(&value).issue_by().to_string(), "2027-01-24");
    value["remote_area"] = true.into();
    assert_eq!(parse(&value).issue_by().to_string(), "2027-02-23");
}

/// The text pdftotext reads from `data` rendered as `kind`.
fn text_of(renderer: &Renderer, kind: Kind, data: &serde_json::Value) -> String {
    let document = json::parse(kind, data.to_string().as_bytes()).expect("parse");
    let pdf = renderer.render(&document).expect("render");
    let out = std::env::temp_dir().join(format!(
        "idkiosk-doc-{}-text-{}.pdf",
        kind.as_str(),
        std::process::id()
    ));
    std::fs::write(&out, pdf).expect("write pdf");
    let text = poppler("pdftotext", &["-layout", "-enc", "UTF-8"], &out);
    std::fs::remove_file(out).ok();
    text
}

/// The portrait form says what the citizen applies for: a first-time applicant's form said
/// 丢失补领 (the kiosk sent no type and the center defaulted to lost).
#[test]
fn portrait_form_says_first_application_or_the_business() {
    let Some(renderer) = renderer("documents::render portrait_form_says_first_application") else {
        return;
    };
    let mut data = example(Kind::Portrait);
    let text = text_of(renderer, Kind::Portrait, &data);
    assert!(text.contains("首次申领 First application"), "{text}");
    assert!(!text.contains("丢失补领"), "{text}");
    data["business"] = "lost".into();
    let text = text_of(renderer, Kind::Portrait, &data);
    assert!(text.contains("丢失补领 Lost replacement"), "{text}");
    assert!(!text.contains("首次申领"), "{text}");
}

/// The WeChat notice is printed for a paid order: it says paid, with the amount, transaction id
/// and time, and neither a QR code nor a deadline to pay (it used to print the unpaid order's
/// "scan to pay before").
#[test]
fn wechat_notice_says_paid_without_a_qr_code() {
    let Some(renderer) = renderer("documents::render wechat_notice_says_paid") else {
        return;
    };
    let data = example(Kind::NoticeWechat);
    let text = text_of(renderer, Kind::NoticeWechat, &data);
    for want in [
        "已支付 Paid",
        "¥20.00",
        "4200002851202611250012345678",
        "2026年11月25日 10:31 (UTC+8)",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    for unwanted in ["支付截止", "Pay before", "扫一扫", "Scan with WeChat"] {
        assert!(!text.contains(unwanted), "{unwanted} printed:\n{text}");
    }
}

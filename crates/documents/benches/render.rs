//! Render time per document (and so pages per second: one page each), against a named baseline
//! measured in the same run: Chromium's headless print-to-PDF of the same certificate laid out as
//! HTML (`chromium --headless --print-to-pdf`), when `/usr/bin/chromium` is installed (Debian's
//! `chromium`, as for the UI tests). Goal: each document under 20 ms.

use std::path::Path;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use documents::{json, Fonts, Kind, Renderer};

fn example(kind: Kind) -> documents::Document {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples")
        .join(format!("{}.json", kind.as_str()));
    let text = std::fs::read(&path).expect("example (docs/examples)");
    json::parse(kind, &text).expect("example parses")
}

fn render(c: &mut Criterion) {
    let renderer = Renderer::new(Fonts::system().expect("fonts (scripts/setup/30-documents.sh)"));
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    for kind in Kind::ALL {
        let document = example(kind);
        group.bench_function(kind.as_str(), |b| {
            b.iter(|| renderer.render(&document).expect("render"))
        });
    }
    group.finish();
}

/// The certificate's layout in HTML, with the same text, for Chromium.
const CERTIFICATE_HTML: &str = r#"<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<style>@page{size:A5;margin:12mm} body{font-family:"Noto Sans CJK SC";font-size:10.5pt}
h1{font-family:"Noto Serif CJK SC";text-align:center;font-size:20pt;margin:0} p.en{text-align:center;margin:0 0 4mm}
table{border-collapse:collapse;width:100%} td{border:0.6pt solid #000;padding:2mm} td.l{background:#ebebeb;width:36mm;text-align:center;font-size:9pt}
.seal{width:26mm;height:26mm;border:0.8pt dashed #000;border-radius:50%;margin:8mm 0 0 auto;text-align:center;line-height:26mm}</style>
<h1>居民身份证领取凭证</h1><p class="en">Resident Identity Card Collection Certificate</p>
<p style="text-align:center">受理编号 Application No. 320100-20261125-000123</p><table>
<tr><td class="l">姓名<br>Name</td><td>*小明</td></tr>
<tr><td class="l">公民身份号码<br>ID number</td><td>320104********0044</td></tr>
<tr><td class="l">申领类型<br>Application</td><td>到期换领 Expiry renewal</td></tr>
<tr><td class="l">受理日期<br>Accepted on</td><td>2026年11月25日</td></tr>
<tr><td class="l">制证期限<br>Card ready by</td><td>2027年01月24日前 by 2027-01-24</td></tr>
<tr><td class="l">领证地点<br>Where to collect</td><td>南京市公安局玄武分局户政办证大厅（南京市玄武区北京东路1号）</td></tr>
<tr><td class="l">领证方式<br>How to collect</td><td>本人凭本凭证领取 In person with this certificate；办公时间 Hours: 周一至周六 9:00–17:00</td></tr>
<tr><td class="l">申请人签名<br>Signature</td><td style="height:15mm"></td></tr></table>
<p>注意事项 Notes<br>1. 请妥善保管本凭证，领取居民身份证时交回。Keep this certificate and hand it in when you collect your card.</p>
<div class="seal">（盖章）Seal</div><p style="text-align:right">南京市公安局玄武分局 2026年11月25日</p></html>"#;

fn chromium_baseline(c: &mut Criterion) {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!(
            "baseline skipped: /usr/bin/chromium is not installed (apt-get install chromium)"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("idkiosk-bench-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let html = dir.join("certificate.html");
    std::fs::write(&html, CERTIFICATE_HTML).expect("html");
    let pdf = dir.join("certificate.pdf");
    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("chromium_print_to_pdf_certificate", |b| {
        b.iter(|| {
            let status = Command::new(chromium)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--no-pdf-header-footer",
                ])
                .arg(format!("--user-data-dir={}", dir.join("profile").display()))
                .arg(format!("--print-to-pdf={}", pdf.display()))
                .arg(format!("file://{}", html.display()))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("chromium runs");
            assert!(status.success());
        })
    });
    group.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, render, chromium_baseline);
criterion_main!(benches);

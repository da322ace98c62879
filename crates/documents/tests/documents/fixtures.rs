//! Fixed data: the example JSON of each document (kept in docs/examples/), with a signature PNG
//! and an ID photo JPEG drawn here so no binary file is committed.

use std::path::{Path, PathBuf};

use base64::Engine;
use documents::Kind;
use serde_json::json;

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `docs/examples/<kind>.json`.
pub fn example_path(kind: Kind) -> PathBuf {
    root()
        .join("docs/examples")
        .join(format!("{}.json", kind.as_str()))
}

/// `INSTA_UPDATE=always`, insta's switch that rewrites the text snapshots, rewrites the examples
/// too. They are not insta snapshots because they must stay plain JSON where the docs, the CLI
/// and the benchmark read them (an insta `.snap` file carries a header and lives under
/// `snapshots/`), so the test compares them itself.
pub fn updating_examples() -> bool {
    std::env::var_os("INSTA_UPDATE").is_some_and(|value| value == "always")
}

/// A handwritten-looking signature: a few strokes on a transparent 240 × 80 grey+alpha PNG.
pub fn signature_png() -> Vec<u8> {
    let (w, h) = (240usize, 80usize);
    let mut pixels = vec![0u8; w * h * 2];
    let mut dot = |x: f32, y: f32| {
        for dy in -1i32..=1 {
            for dx in -1i32..=1 {
                let (px, py) = (x as i32 + dx, y as i32 + dy);
                if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                    let i = (py as usize * w + px as usize) * 2;
                    pixels[i] = 20;
                    pixels[i + 1] = 255;
                }
            }
        }
    };
    // Three loops and an underline, parametric so the picture is the same on every machine.
    for step in 0..2000 {
        let t = step as f32 / 2000.0;
        let x = 20.0 + 190.0 * t;
        let y = 40.0 + 18.0 * (t * 19.0).sin() * (1.0 - t * 0.5) - 6.0 * (t * 5.0).cos();
        dot(x, y);
    }
    for step in 0..400 {
        let t = step as f32 / 400.0;
        dot(30.0 + 180.0 * t, 66.0 - 4.0 * t);
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
    encoder.set_color(png::ColorType::GrayscaleAlpha);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(&pixels).expect("png data");
    writer.finish().expect("png end");
    out
}

/// A GA 461-shaped photo (358 × 441, white background, a grey head and shoulders), JPEG.
pub fn photo_jpeg() -> Vec<u8> {
    let (w, h) = (358u16, 441u16);
    let mut rgb = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (f32::from(x) - 179.0, f32::from(y));
            let head = (fx / 100.0).powi(2) + ((fy - 190.0) / 130.0).powi(2) <= 1.0;
            let shoulders = fy > 330.0 && fx.abs() < 60.0 + (fy - 330.0) * 1.6;
            let hair = head && fy < 120.0;
            let value = if hair {
                40
            } else if head {
                205
            } else if shoulders {
                70
            } else {
                255
            };
            let tint = if head && !hair {
                [value, value - 25, value - 45]
            } else {
                [value; 3]
            };
            rgb.extend_from_slice(&tint);
        }
    }
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, 60);
    encoder
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .expect("jpeg");
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The example data of `kind`: the decision table's first accepted citizen (docs/domain.md 3.6).
pub fn example(kind: Kind) -> serde_json::Value {
    let bureau = "南京市公安局玄武分局";
    match kind {
        Kind::Certificate => json!({
            "application_number": "320100-20261125-000123",
            "name": "王小明",
            "id_number": "320104200012100044",
            "business": "expiry_renewal",
            "accepted_on": "2026-11-25",
            "remote_area": false,
            "collection": {
                "method": "in_person",
                "office": "南京市公安局玄武分局户政办证大厅",
                "address": "南京市玄武区北京东路1号",
                "hours": "周一至周六 9:00–17:00"
            },
            "signature_png": b64(&signature_png()),
            "bureau": bureau
        }),
        Kind::Form => json!({
            "application_number": "320100-20261125-000123",
            "name": "王小明",
            "id_number": "320104200012100044",
            "nation": 1,
            "address": "江苏省南京市秦淮区中山南路100号",
            "photo_jpeg": b64(&photo_jpeg()),
            "business": "expiry_renewal",
            "mobile": "13912345678",
            "fingers": [
                { "finger": "right_index", "quality": 86 },
                { "finger": "left_index", "quality": 79 }
            ],
            "signature_png": b64(&signature_png()),
            "accepted_on": "2026-11-25",
            "bureau": bureau
        }),
        Kind::NoticeWechat => json!({
            "application_number": "320100-20261125-000123",
            "business": "expiry_renewal",
            "amount_fen": 2000,
            "out_trade_no": "IDK32010020261125000123A1",
            "transaction_id": "4200002851202611250012345678",
            "paid_at": "2026-11-25T10:31:07+08:00",
            "bureau": bureau
        }),
        Kind::NoticeUnionPay => json!({
            "application_number": "320100-20261125-000123",
            "business": "expiry_renewal",
            "amount_fen": 2000,
            "card": "622848******0018",
            "reference": "112510300017",
            "auth_code": "A1B2C3",
            "paid_at": "2026-11-25T10:31:07+08:00",
            "bureau": bureau
        }),
        Kind::Portrait => json!({
            "name": "王小明",
            "id_number": "320104200012100044",
            "business": "first_time",
            "printed_on": "2026-11-25",
            "bureau": bureau
        }),
    }
}

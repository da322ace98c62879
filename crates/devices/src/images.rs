//! Synthetic images and data for the simulators: a card's chip photo (a 102 × 126 grey face as a
//! JPEG under 1024 bytes, docs/domain.md section 4), fingerprint ridge patterns (a stand-in until
//! the real synthetic generator arrives), fingerprint templates, and PNG encoding for the CLI.

use std::f64::consts::PI;

/// Width of a card's chip photo.
pub const CHIP_PHOTO_WIDTH: u16 = 102;
/// Height of a card's chip photo.
pub const CHIP_PHOTO_HEIGHT: u16 = 126;

/// A stable 64-bit seed from text (FNV-1a), so the same citizen always gets the same face.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A small pseudo-random generator (xorshift64*), enough for synthetic data.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn ellipse(x: f64, y: f64, cx: f64, cy: f64, rx: f64, ry: f64) -> f64 {
    ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2)
}

/// Grey pixels of a schematic face (head, hair, eyes, mouth, shoulders on a light background).
pub fn face_pixels(seed: u64) -> Vec<u8> {
    let (w, h) = (
        usize::from(CHIP_PHOTO_WIDTH),
        usize::from(CHIP_PHOTO_HEIGHT),
    );
    let mut rng = Rng::new(seed);
    let skin = 150.0 + rng.unit() * 50.0;
    let hair = 20.0 + rng.unit() * 50.0;
    let head_rx = 27.0 + rng.unit() * 5.0;
    let head_ry = 35.0 + rng.unit() * 5.0;
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f64, y as f64);
            let mut v = 235.0;
            if fy > 98.0 && ellipse(fx, fy, 51.0, 135.0, 50.0, 38.0) < 1.0 {
                v = 60.0; // shoulders
            }
            if ellipse(fx, fy, 51.0, 96.0, 11.0, 14.0) < 1.0 {
                v = skin - 15.0; // neck
            }
            if ellipse(fx, fy, 51.0, 58.0, head_rx, head_ry) < 1.0 {
                v = skin;
                if fy < 40.0 {
                    v = hair;
                }
                if ellipse(fx, fy, 40.0, 52.0, 4.5, 2.5) < 1.0
                    || ellipse(fx, fy, 62.0, 52.0, 4.5, 2.5) < 1.0
                {
                    v = 30.0;
                }
                if ellipse(fx, fy, 51.0, 77.0, 8.0, 2.0) < 1.0 {
                    v = skin - 60.0;
                }
            } else if ellipse(fx, fy, 51.0, 40.0, head_rx + 3.0, head_ry - 8.0) < 1.0 && fy < 48.0 {
                v = hair;
            }
            pixels.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    pixels
}

/// A baseline grey JPEG of the schematic face, at the best quality that fits 1024 bytes.
pub fn face_jpeg(seed: u64) -> Vec<u8> {
    let pixels = face_pixels(seed);
    for quality in (5..=40).rev().step_by(5) {
        let mut out = Vec::new();
        let encoder = jpeg_encoder::Encoder::new(&mut out, quality);
        if encoder
            .encode(
                &pixels,
                CHIP_PHOTO_WIDTH,
                CHIP_PHOTO_HEIGHT,
                jpeg_encoder::ColorType::Luma,
            )
            .is_ok()
            && out.len() <= 1024
        {
            return out;
        }
    }
    // Quality 5 of this simple picture always fits; keep a minimal valid JPEG marker pair anyway.
    vec![0xFF, 0xD8, 0xFF, 0xD9]
}

/// `len` bytes of synthetic fingerprint templates (the chip's block; its format is not public).
pub fn fingerprint_templates(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ 0x00F1_A6E5);
    (0..len).map(|_| (rng.next_u64() >> 56) as u8).collect()
}

/// How a finger lies on the sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerQuality {
    /// Clean, centred, firm.
    Good,
    /// Wet or smeared: large areas without ridges.
    Smudged,
}

/// An 8-bit grey ridge pattern of `width` × `height` (a whorl with some warp), white background.
pub fn ridge_pattern(width: usize, height: usize, quality: FingerQuality, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let (cx, cy) = (
        width as f64 * (0.45 + rng.unit() * 0.1),
        height as f64 * (0.45 + rng.unit() * 0.1),
    );
    let period = 7.0 + rng.unit() * 2.0;
    let warp = rng.unit() * 2.0 * PI;
    let blots: Vec<(f64, f64, f64)> = (0..6)
        .map(|_| {
            (
                rng.unit() * width as f64,
                rng.unit() * height as f64,
                20.0 + rng.unit() * 35.0,
            )
        })
        .collect();
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            let inside = ellipse(
                x as f64,
                y as f64,
                width as f64 / 2.0,
                height as f64 / 2.0,
                width as f64 * 0.42,
                height as f64 * 0.46,
            );
            if inside >= 1.0 {
                pixels.push(255);
                continue;
            }
            let r = (dx * dx + dy * dy).sqrt();
            let angle = dy.atan2(dx);
            let phase = r / period * 2.0 * PI + 1.5 * (angle * 2.0 + warp).sin();
            let mut v = 128.0 + 110.0 * phase.sin();
            if quality == FingerQuality::Smudged
                && blots
                    .iter()
                    .any(|&(bx, by, br)| (x as f64 - bx).hypot(y as f64 - by) < br)
            {
                v = 60.0 + 20.0 * phase.sin();
            }
            // Pressure fades towards the edge of the finger.
            v = v + (255.0 - v) * inside.powi(3);
            pixels.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    pixels
}

pub use crate::grey_png::{grey_png, PngError};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_photos_fit_the_photo_block() {
        for id in ["320104200012100044", "11010519491231002X", "x"] {
            let jpeg = face_jpeg(seed_of(id));
            assert!(jpeg.len() <= 1024, "{} bytes", jpeg.len());
            assert!(jpeg.len() > 200, "a real picture, {} bytes", jpeg.len());
            assert!(protocol::card_reader::encode_photo(&jpeg).is_ok());
        }
    }

    #[test]
    fn ridge_patterns_have_ridges() {
        let good = ridge_pattern(256, 288, FingerQuality::Good, 1);
        assert_eq!(good.len(), 256 * 288);
        let dark = good.iter().filter(|&&p| p < 80).count();
        assert!(dark > 5000, "{dark} dark pixels");
        assert!(grey_png(256, 288, &good).is_ok());
    }
}

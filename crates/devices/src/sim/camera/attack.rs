//! Presentation attacks for the camera simulator: what the camera sees when someone holds up a
//! printed photo, or a phone or tablet screen, of a citizen's face instead of their own face
//! (issue 20). Both are made from the citizen's own camera picture, so the face comparison still
//! finds the right face and only the liveness check can tell.
//!
//! A print: the photo on a sheet of paper with a white margin, held in front of a dim, blurred
//! room; the print has lifted blacks and less contrast, washed-out colours with a warm paper
//! tint, a fine halftone screen (which beats with the camera's pixel grid as moiré), paper grain,
//! a bend in the light across the sheet and a glare spot, and the whole frame is a little out of
//! focus. A screen replay: the photo on a bright, bluish display in a black bezel, with the
//! display's pixel grid, scan lines and a reflection across the glass.
//!
//! Deterministic (no random numbers): the same picture gives the same bytes.

use serde::{Deserialize, Serialize};

/// Which attack the camera presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// A printed photo held up to the lens.
    Print,
    /// A phone or tablet screen showing the photo.
    Screen,
}

impl AttackKind {
    /// `print` or `screen`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttackKind::Print => "print",
            AttackKind::Screen => "screen",
        }
    }
}

/// An RGB picture, 8 bits per channel, row after row.
struct Rgb {
    width: usize,
    height: usize,
    pixels: Vec<[f32; 3]>,
}

impl Rgb {
    fn get(&self, x: usize, y: usize) -> [f32; 3] {
        self.pixels[y.min(self.height - 1) * self.width + x.min(self.width - 1)]
    }

    /// Bilinear sample at (x, y) in pixel units.
    fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let x = x.clamp(0.0, (self.width - 1) as f32);
        let y = y.clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let (a, b) = (self.get(x0, y0), self.get(x0 + 1, y0));
        let (c, d) = (self.get(x0, y0 + 1), self.get(x0 + 1, y0 + 1));
        let mut out = [0f32; 3];
        for i in 0..3 {
            let top = a[i] * (1.0 - fx) + b[i] * fx;
            let bottom = c[i] * (1.0 - fx) + d[i] * fx;
            out[i] = top * (1.0 - fy) + bottom * fy;
        }
        out
    }

    /// A box blur of radius `r` (separable, edges clamped).
    fn blurred(&self, r: usize) -> Rgb {
        let pass = |src: &Rgb, horizontal: bool| -> Rgb {
            let mut out = vec![[0f32; 3]; src.pixels.len()];
            for y in 0..src.height {
                for x in 0..src.width {
                    let mut acc = [0f32; 3];
                    for k in 0..=2 * r {
                        let p = if horizontal {
                            src.get((x + k).saturating_sub(r), y)
                        } else {
                            src.get(x, (y + k).saturating_sub(r))
                        };
                        for i in 0..3 {
                            acc[i] += p[i];
                        }
                    }
                    out[y * src.width + x] = acc.map(|v| v / (2 * r + 1) as f32);
                }
            }
            Rgb {
                width: src.width,
                height: src.height,
                pixels: out,
            }
        };
        pass(&pass(self, true), false)
    }
}

fn decode(jpeg: &[u8]) -> Result<Rgb, String> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let data = decoder.decode().map_err(|e| format!("not a JPEG: {e}"))?;
    let info = decoder.info().ok_or("not a JPEG: no frame header")?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data
            .chunks_exact(3)
            .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32])
            .collect(),
        jpeg_decoder::PixelFormat::L8 => data.iter().map(|&v| [v as f32; 3]).collect(),
        other => return Err(format!("unsupported JPEG pixel format {other:?}")),
    };
    Ok(Rgb {
        width,
        height,
        pixels,
    })
}

fn encode(picture: &Rgb) -> Result<Vec<u8>, String> {
    let rgb: Vec<u8> = picture
        .pixels
        .iter()
        .flat_map(|p| p.map(|v| v.round().clamp(0.0, 255.0) as u8))
        .collect();
    let (w, h) = (
        u16::try_from(picture.width).map_err(|_| "too wide")?,
        u16::try_from(picture.height).map_err(|_| "too tall")?,
    );
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    Ok(jpeg)
}

/// A deterministic hash of a pixel position to [-1, 1] (paper grain, sensor noise).
fn grain(x: usize, y: usize) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h & 0xFFFF) as f32 / 32_767.5 - 1.0
}

fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// The camera's view of `jpeg` presented as `kind`: a JPEG of the same size.
pub fn present(jpeg: &[u8], kind: AttackKind) -> Result<Vec<u8>, String> {
    let picture = decode(jpeg)?;
    if picture.width < 16 || picture.height < 16 {
        return Err("the picture is too small to present".into());
    }
    let out = match kind {
        AttackKind::Print => print(&picture),
        AttackKind::Screen => screen(&picture),
    };
    encode(&out)
}

/// Where the held-up sheet or screen lies in the frame: `share` of the frame, centred a little
/// low, as a hand holds it.
fn held(picture: &Rgb, share: f32) -> (f32, f32, f32, f32) {
    let (w, h) = (picture.width as f32, picture.height as f32);
    let (sw, sh) = (w * share, h * share);
    let left = (w - sw) / 2.0;
    let top = (h - sh) / 2.0 + h * 0.03;
    (left, top, sw, sh)
}

fn print(picture: &Rgb) -> Rgb {
    let (w, h) = (picture.width, picture.height);
    // The room behind: the scene itself, blurred, darker and greyer.
    let room = Rgb {
        width: w,
        height: h,
        pixels: picture
            .pixels
            .iter()
            .map(|&p| {
                let l = luma(p);
                p.map(|v| 0.45 * (0.5 * v + 0.5 * l) + 10.0)
            })
            .collect(),
    }
    .blurred((w / 60).max(2));
    let (left, top, sw, sh) = held(picture, 0.84);
    let margin = sw * 0.04;
    let (glare_x, glare_y) = (left + sw * 0.72, top + sh * 0.22);
    let (glare_rx, glare_ry) = (sw * 0.22, sh * 0.16);
    // The halftone screen: 15° rotated dots, a period of 2.6 camera pixels in a 640-pixel-wide
    // frame, as coarse relative to the frame in a larger one (so the models see it at any size).
    let (cos, sin) = (15f32.to_radians().cos(), 15f32.to_radians().sin());
    let period = (w as f32 / 246.0).max(2.6);
    let tau = std::f32::consts::TAU;
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let inside = fx >= left && fx < left + sw && fy >= top && fy < top + sh;
            if !inside {
                pixels.push(room.get(x, y));
                continue;
            }
            // The light across the sheet: brighter top left, a bend down the middle.
            let (u, v) = ((fx - left) / sw, (fy - top) / sh);
            let light = 0.93 + 0.08 * (1.0 - u) - 0.05 * v - 0.04 * (1.0 - (2.0 * u - 1.0).abs());
            let paper = [238.0, 234.0, 222.0];
            let inner = fx >= left + margin
                && fx < left + sw - margin
                && fy >= top + margin
                && fy < top + sh - margin;
            let mut p = if inner {
                // The photo, scaled into the printed area.
                let sx = (fx - left - margin) / (sw - 2.0 * margin) * w as f32;
                let sy = (fy - top - margin) / (sh - 2.0 * margin) * h as f32;
                let p = picture.sample(sx, sy);
                let l = luma(p);
                let rx = fx * cos + fy * sin;
                let ry = -fx * sin + fy * cos;
                let dots = 0.5 + 0.5 * (tau * rx / period).cos() * (tau * ry / period).cos();
                let ink = 1.0 - 0.24 * dots;
                let tint = [6.0, 2.0, -8.0];
                let mut q = [0f32; 3];
                for i in 0..3 {
                    // Washed out (half the saturation), lifted blacks, a little less contrast.
                    let c = 0.5 * p[i] + 0.5 * l;
                    q[i] = (30.0 + 0.8 * c + tint[i]) * ink;
                }
                q
            } else {
                paper
            };
            let g = ((fx - glare_x) / glare_rx).powi(2) + ((fy - glare_y) / glare_ry).powi(2);
            let glare = 70.0 * (-g).exp();
            let noise = 5.0 * grain(x, y);
            for c in p.iter_mut() {
                *c = *c * light + glare + noise;
            }
            pixels.push(p);
        }
    }
    // In focus: a sheet held up is as sharp as a face, so the ID-photo quality checks pass it and
    // only the liveness models can tell.
    Rgb {
        width: w,
        height: h,
        pixels,
    }
}

fn screen(picture: &Rgb) -> Rgb {
    let (w, h) = (picture.width, picture.height);
    let room = Rgb {
        width: w,
        height: h,
        pixels: picture
            .pixels
            .iter()
            .map(|&p| p.map(|v| 0.35 * v + 8.0))
            .collect(),
    }
    .blurred((w / 50).max(2));
    let (left, top, sw, sh) = held(picture, 0.8);
    let bezel = sw * 0.05;
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let inside = fx >= left && fx < left + sw && fy >= top && fy < top + sh;
            if !inside {
                pixels.push(room.get(x, y));
                continue;
            }
            let inner = fx >= left + bezel
                && fx < left + sw - bezel
                && fy >= top + bezel
                && fy < top + sh - bezel;
            let mut p = if inner {
                let sx = (fx - left - bezel) / (sw - 2.0 * bezel) * w as f32;
                let sy = (fy - top - bezel) / (sh - 2.0 * bezel) * h as f32;
                let p = picture.sample(sx, sy);
                // The display's sub-pixels (R, G, B columns) and scan lines, bluish and bright.
                let column = x % 3;
                let line = if y % 3 == 2 { 0.78 } else { 1.0 };
                let mut q = [0f32; 3];
                for i in 0..3 {
                    let sub = if i == column { 1.12 } else { 0.9 };
                    q[i] = (24.0 + 0.85 * p[i]) * sub * line;
                }
                q[2] += 14.0;
                q
            } else {
                [18.0, 18.0, 20.0]
            };
            // A reflection across the glass, a diagonal band.
            let band = ((fx - left) / sw + (fy - top) / sh - 0.7) / 0.12;
            let reflection = 45.0 * (-band * band).exp();
            for c in p.iter_mut() {
                *c += reflection + 3.0 * grain(x, y);
            }
            pixels.push(p);
        }
    }
    Rgb {
        width: w,
        height: h,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face_like(w: usize, h: usize) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f32 - w as f32 / 2.0).powi(2) + (y as f32 - h as f32 / 2.0).powi(2))
                    .sqrt();
                let v = if d < w as f32 / 4.0 { 200 } else { 60 };
                rgb.extend_from_slice(&[v, (v as f32 * 0.8) as u8, (v as f32 * 0.7) as u8]);
            }
        }
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 90)
            .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        jpeg
    }

    #[test]
    fn an_attack_keeps_the_size_and_is_deterministic() {
        let jpeg = face_like(120, 160);
        for kind in [AttackKind::Print, AttackKind::Screen] {
            let a = present(&jpeg, kind).unwrap();
            assert_eq!(a, present(&jpeg, kind).unwrap(), "{kind:?}");
            assert_ne!(a, jpeg);
            let back = decode(&a).unwrap();
            assert_eq!((back.width, back.height), (120, 160), "{kind:?}");
        }
    }

    #[test]
    fn a_print_lifts_the_blacks_and_has_a_paper_margin() {
        let picture = decode(&face_like(120, 160)).unwrap();
        let printed = print(&picture);
        let (left, top, _, _) = held(&picture, 0.84);
        // Inside the margin, near the sheet's edge: paper, bright.
        let margin = printed.get(left as usize + 3, top as usize + 40);
        assert!(luma(margin) > 180.0, "{margin:?}");
        // The darkest printed pixel is far from black.
        let darkest = printed
            .pixels
            .iter()
            .skip(printed.width * (top as usize + 10))
            .take(printed.width * 10)
            .map(|&p| luma(p))
            .fold(f32::MAX, f32::min);
        assert!(darkest > 20.0, "{darkest}");
    }

    #[test]
    fn not_a_jpeg_is_an_error() {
        assert!(present(b"hello", AttackKind::Print).is_err());
    }
}

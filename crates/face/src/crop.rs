//! The ID photo of docs/domain.md section 5 (GA 461), cropped from a camera frame: 358 × 441
//! pixels, 350 dpi, baseline JPEG at quality 70, placed from the landmarks.
//!
//! Placement: the eyes are levelled (the frame is rotated by the roll of the eye line), the frame
//! is scaled so the face width — estimated as 1.52 × the distance between the outer eye corners —
//! is 207 px, the eye midpoint is centred horizontally, and the eye line goes where the top of
//! the hair lands 14 px below the top edge, the hair top being estimated at 0.9 face widths above
//! the eye line; if that would put the eye line less than 207 px above the bottom edge, the eye
//! rule wins. Where the crop reaches past the frame it is filled with white. There is no
//! segmentation: the background behind the person is whatever the camera saw, so the kiosk's
//! backdrop must be white.

use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::{Rgb, RgbImage};

use crate::engine::single_face;
use crate::photo_format::round2;
pub use crate::photo_format::{CropConfig, Placement};
use crate::quality::{self, QualityConfig, QualityReport};
use crate::{AlignedFace, FaceEngine, FaceError, Landmarks, Picture, Point};

/// A cropped ID photo with its quality report.
#[derive(Debug, Clone)]
pub struct IdPhoto {
    /// The JPEG file, ready to store or send.
    pub jpeg: Vec<u8>,
    /// The pixels.
    pub image: RgbImage,
    /// The quality report (which includes the placement).
    pub report: QualityReport,
}

/// A similarity transform from output pixels to source pixels:
/// `x = a·u − b·v + tx`, `y = b·u + a·v + ty`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Similarity {
    a: f64,
    b: f64,
    tx: f64,
    ty: f64,
}

impl Similarity {
    fn apply(&self, u: f64, v: f64) -> Point {
        Point::new(
            self.a * u - self.b * v + self.tx,
            self.b * u + self.a * v + self.ty,
        )
    }

    /// The output point that maps to source point `p`.
    fn invert(&self, p: Point) -> Point {
        let (x, y) = (p.x - self.tx, p.y - self.ty);
        let n = self.a * self.a + self.b * self.b;
        Point::new(
            (self.a * x + self.b * y) / n,
            (-self.b * x + self.a * y) / n,
        )
    }

    /// Source pixels per output pixel.
    fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    /// The least-squares similarity taking each `from` point onto its `to` point.
    fn fit(from: &[Point], to: &[Point]) -> Similarity {
        let n = from.len().min(to.len()).max(1) as f64;
        let mean = |ps: &[Point]| {
            let (sx, sy) = ps.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
            Point::new(sx / n, sy / n)
        };
        let (fm, tm) = (mean(from), mean(to));
        let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
        for (f, t) in from.iter().zip(to) {
            let (fx, fy, tx, ty) = (f.x - fm.x, f.y - fm.y, t.x - tm.x, t.y - tm.y);
            num_a += fx * tx + fy * ty;
            num_b += fx * ty - fy * tx;
            den += fx * fx + fy * fy;
        }
        let den = if den > 0.0 { den } else { 1.0 };
        let (a, b) = (num_a / den, num_b / den);
        Similarity {
            a,
            b,
            tx: tm.x - (a * fm.x - b * fm.y),
            ty: tm.y - (b * fm.x + a * fm.y),
        }
    }
}

/// Renders `width × height` output pixels from `source` through `map`, averaging several
/// bilinear samples per pixel when shrinking so the result does not alias.
pub(crate) fn warp(
    source: &RgbImage,
    map: &Similarity,
    width: u32,
    height: u32,
    fill: [u8; 3],
) -> (RgbImage, f64) {
    let per_side = map.scale().ceil().clamp(1.0, 8.0) as u32;
    let samples = f64::from(per_side * per_side);
    let (sw, sh) = (f64::from(source.width()), f64::from(source.height()));
    let mut outside = 0u64;
    let out = RgbImage::from_fn(width, height, |u, v| {
        let mut acc = [0.0f64; 3];
        for i in 0..per_side {
            for j in 0..per_side {
                let du = (f64::from(i) + 0.5) / f64::from(per_side) - 0.5;
                let dv = (f64::from(j) + 0.5) / f64::from(per_side) - 0.5;
                let p = map.apply(f64::from(u) + du, f64::from(v) + dv);
                let px = if p.x < -0.5 || p.y < -0.5 || p.x > sw - 0.5 || p.y > sh - 0.5 {
                    outside += 1;
                    fill.map(f64::from)
                } else {
                    bilinear(source, p.x, p.y)
                };
                for c in 0..3 {
                    acc[c] += px[c];
                }
            }
        }
        Rgb(acc.map(|s| (s / samples).round().clamp(0.0, 255.0) as u8))
    });
    let total = f64::from(width) * f64::from(height) * samples;
    (out, outside as f64 / total)
}

fn bilinear(image: &RgbImage, x: f64, y: f64) -> [f64; 3] {
    let max_x = f64::from(image.width() - 1);
    let max_y = f64::from(image.height() - 1);
    let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = (
        (x0 + 1).min(image.width() - 1),
        (y0 + 1).min(image.height() - 1),
    );
    let p = |x, y| image.get_pixel(x, y).0.map(f64::from);
    let (p00, p10, p01, p11) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    let mut out = [0.0; 3];
    for c in 0..3 {
        let top = p00[c] * (1.0 - fx) + p10[c] * fx;
        let bottom = p01[c] * (1.0 - fx) + p11[c] * fx;
        out[c] = top * (1.0 - fy) + bottom * fy;
    }
    out
}

/// dlib's 5-point face template on the unit square (`get_face_chip_details`): the outer and inner
/// corner of the picture's right eye, of the picture's left eye, and the bottom of the nose.
const TEMPLATE: [(f64, f64); 5] = [
    (0.8595674595992, 0.2134981538014),
    (0.6460604764104, 0.2289674387677),
    (0.1205750620789, 0.2137274526848),
    (0.3340850613712, 0.2290642403242),
    (0.4901123135679, 0.6277975316475),
];

/// The face as dlib's network sees it: a 150 × 150 chip with 25 % padding around the template.
pub(crate) fn face_chip(image: &RgbImage, landmarks: &Landmarks) -> AlignedFace {
    let (size, padding) = (150.0, 0.25);
    let chip_points: Vec<Point> = TEMPLATE
        .iter()
        .map(|&(x, y)| {
            Point::new(
                (padding + x) / (2.0 * padding + 1.0) * size,
                (padding + y) / (2.0 * padding + 1.0) * size,
            )
        })
        .collect();
    let source = [
        landmarks.right_eye_outer,
        landmarks.right_eye_inner,
        landmarks.left_eye_outer,
        landmarks.left_eye_inner,
        landmarks.nose,
    ];
    let map = Similarity::fit(&chip_points, &source);
    let (chip, _) = warp(image, &map, 150, 150, [0, 0, 0]);
    AlignedFace {
        chip,
        landmarks: source.iter().map(|p| map.invert(*p)).collect(),
    }
}

/// Maps frame landmarks into the photo through the inverse of `map`.
fn landmarks_in_photo(landmarks: &Landmarks, map: &Similarity) -> Landmarks {
    let to = |p: Point| map.invert(p);
    Landmarks {
        face: landmarks.face,
        left_eye_outer: to(landmarks.left_eye_outer),
        left_eye_inner: to(landmarks.left_eye_inner),
        right_eye_inner: to(landmarks.right_eye_inner),
        right_eye_outer: to(landmarks.right_eye_outer),
        nose: to(landmarks.nose),
        points: landmarks.points.iter().map(|p| to(*p)).collect(),
    }
}

/// Crops the ID photo from a camera frame and checks its quality. No face or several faces is an
/// error (with its reason code); the other quality problems are in the report, and the photo is
/// still returned so the kiosk can show it.
pub fn crop_id_photo(
    engine: &dyn FaceEngine,
    frame: &Picture,
    crop: &CropConfig,
    quality_config: &QualityConfig,
) -> Result<IdPhoto, FaceError> {
    let face = single_face(frame, engine.detect(frame)?)?;
    let landmarks = engine.landmarks(frame, &face)?;

    let source_face_width = landmarks.face_width().max(1.0);
    let scale = crop.face_width / source_face_width;
    let roll = landmarks.roll_degrees().to_radians();
    let eye_line = (crop.hair_top + crop.hair_above_eyes * crop.face_width)
        .min(f64::from(crop.height) - crop.min_eye_line_from_bottom);
    let centre = f64::from(crop.width) / 2.0;
    let mid = landmarks.eye_midpoint();
    let (a, b) = (roll.cos() / scale, roll.sin() / scale);
    let map = Similarity {
        a,
        b,
        tx: mid.x - (a * centre - b * eye_line),
        ty: mid.y - (b * centre + a * eye_line),
    };
    let (image, outside) = warp(
        frame.image(),
        &map,
        crop.width,
        crop.height,
        crop.background,
    );
    let placed = landmarks_in_photo(&landmarks, &map);
    let placed_mid = placed.eye_midpoint();
    let placement = Placement {
        face_width_px: round2(placed.face_width()),
        hair_top_px: round2(placed_mid.y - crop.hair_above_eyes * placed.face_width()),
        eye_line_from_bottom_px: round2(f64::from(crop.height) - placed_mid.y),
        centre_offset_px: round2(placed_mid.x - centre),
        scale: (scale * 1e4).round() / 1e4,
        rotation_degrees: round2(-roll.to_degrees()),
        outside_frame: (outside * 1e4).round() / 1e4,
    };
    let jpeg = encode_jpeg(&image, crop)?;
    let report = quality::assess(quality::Inputs {
        frame_landmarks: &landmarks,
        photo: &image,
        photo_landmarks: &placed,
        placement,
        crop,
        jpeg_bytes: jpeg.len(),
        config: quality_config,
    });
    Ok(IdPhoto {
        jpeg,
        image,
        report,
    })
}

/// Baseline JPEG with the JFIF density set to the configured dpi.
pub fn encode_jpeg(image: &RgbImage, crop: &CropConfig) -> Result<Vec<u8>, FaceError> {
    let mut jpeg = Vec::with_capacity(32 * 1024);
    let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, crop.jpeg_quality.clamp(1, 100));
    encoder.set_pixel_density(PixelDensity::dpi(crop.dpi));
    encoder
        .encode(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ColorType::Rgb8,
        )
        .map_err(|e| FaceError::Encode(e.to_string()))?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_fit_recovers_a_rotation_and_scale() {
        let truth = Similarity {
            a: 2.0 * 0.3f64.cos(),
            b: 2.0 * 0.3f64.sin(),
            tx: 10.0,
            ty: -5.0,
        };
        let from = [
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(3.0, 7.0),
        ];
        let to: Vec<Point> = from.iter().map(|p| truth.apply(p.x, p.y)).collect();
        let fitted = Similarity::fit(&from, &to);
        for (f, t) in from.iter().zip(&to) {
            let p = fitted.apply(f.x, f.y);
            assert!(p.distance(*t) < 1e-9);
            assert!(fitted.invert(*t).distance(*f) < 1e-9);
        }
    }

    #[test]
    fn warp_fills_outside_the_frame() {
        let source = RgbImage::from_pixel(10, 10, Rgb([0, 0, 0]));
        let shift = Similarity {
            a: 1.0,
            b: 0.0,
            tx: 5.0,
            ty: 0.0,
        };
        let (out, outside) = warp(&source, &shift, 10, 10, [255, 255, 255]);
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(out.get_pixel(9, 0).0, [255, 255, 255]);
        assert!((outside - 0.5).abs() < 0.1, "{outside}");
    }
}

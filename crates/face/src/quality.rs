//! Quality checks on a cropped ID photo, each with a stable reason code and the prompt the kiosk
//! shows for it (Chinese first, English second). The measures are taken on the 358 × 441 photo,
//! where the face always has the same size, so one threshold fits every camera.
//!
//! - head turned: the left/right turn estimated from the nose's position between the eyes, and
//!   the tilt of the eye line, each against ±15°;
//! - blurred: the variance of the Laplacian of the grey face region;
//! - too dark / too bright: the mean grey level of the face region;
//! - eyes not visible: the grey-level spread (10th to 90th percentile) inside each eye's patch:
//!   an open eye shows white and iris, a closed or covered eye is flat;
//! - face too small: the face in the camera frame must be wide enough not to be enlarged much.

use domain::prompts;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::photo_format::{round2, CropConfig, Placement};
use crate::{FaceError, Landmarks, Point};

/// Thresholds of the quality checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityConfig {
    /// Least face width in the camera frame, in frame pixels.
    pub min_face_width: f64,
    /// Greatest left/right head turn, in degrees.
    pub max_yaw_degrees: f64,
    /// Greatest tilt of the eye line, in degrees.
    pub max_roll_degrees: f64,
    /// Least variance of the Laplacian of the face region.
    pub min_sharpness: f64,
    /// Least mean grey level (0–255) of the face region.
    pub min_brightness: f64,
    /// Greatest mean grey level of the face region.
    pub max_brightness: f64,
    /// Least grey-level spread inside each eye's patch.
    pub min_eye_contrast: f64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            min_face_width: 120.0,
            max_yaw_degrees: 15.0,
            max_roll_degrees: 15.0,
            min_sharpness: 30.0,
            min_brightness: 60.0,
            max_brightness: 215.0,
            min_eye_contrast: 40.0,
        }
    }
}

/// Why a photo cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityReason {
    /// No face in the frame.
    NoFace,
    /// More than one face in the frame.
    SeveralFaces,
    /// The face is too small in the frame.
    FaceTooSmall,
    /// The head is turned or tilted more than allowed.
    HeadTurned,
    /// The photo is not sharp.
    Blurred,
    /// The face is too dark.
    TooDark,
    /// The face is too bright.
    TooBright,
    /// An eye is closed or covered.
    EyesNotVisible,
    /// The picture could not be read.
    NotAnImage,
}

impl QualityReason {
    /// The stable code (`no_face`, `head_turned`, …).
    pub fn code(self) -> &'static str {
        match self {
            QualityReason::NoFace => "no_face",
            QualityReason::SeveralFaces => "several_faces",
            QualityReason::FaceTooSmall => "face_too_small",
            QualityReason::HeadTurned => "head_turned",
            QualityReason::Blurred => "blurred",
            QualityReason::TooDark => "too_dark",
            QualityReason::TooBright => "too_bright",
            QualityReason::EyesNotVisible => "eyes_not_visible",
            QualityReason::NotAnImage => "not_an_image",
        }
    }

    /// The kiosk's prompt: (Chinese, English), from `domain::prompts`.
    pub fn prompt(self) -> (&'static str, &'static str) {
        let prompt = match self {
            QualityReason::NoFace => prompts::PHOTO_NO_FACE,
            QualityReason::SeveralFaces => prompts::PHOTO_SEVERAL_FACES,
            QualityReason::FaceTooSmall => prompts::PHOTO_FACE_TOO_SMALL,
            QualityReason::HeadTurned => prompts::PHOTO_HEAD_TURNED,
            QualityReason::Blurred => prompts::PHOTO_BLURRED,
            QualityReason::TooDark => prompts::PHOTO_TOO_DARK,
            QualityReason::TooBright => prompts::PHOTO_TOO_BRIGHT,
            QualityReason::EyesNotVisible => prompts::PHOTO_EYES_NOT_VISIBLE,
            QualityReason::NotAnImage => prompts::PHOTO_NOT_AN_IMAGE,
        };
        (prompt.zh, prompt.en)
    }

    /// The quality reason for an error met while reading or searching a frame, when there is one.
    pub fn from_error(error: &FaceError) -> Option<QualityReason> {
        match error {
            FaceError::NoFace { .. } | FaceError::TooSmall { .. } => Some(QualityReason::NoFace),
            FaceError::SeveralFaces { .. } => Some(QualityReason::SeveralFaces),
            FaceError::NotAnImage { .. }
            | FaceError::UnsupportedFormat { .. }
            | FaceError::Corrupt { .. }
            | FaceError::TooLarge { .. }
            | FaceError::Io { .. } => Some(QualityReason::NotAnImage),
            FaceError::ModelsMissing { .. }
            | FaceError::ModelLoad { .. }
            | FaceError::Encode(_) => None,
        }
    }
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityProblem {
    /// The reason.
    pub reason: QualityReason,
    /// What was measured, in words.
    pub detail: String,
    /// The kiosk's prompt in Chinese.
    pub prompt_zh: String,
    /// The kiosk's prompt in English.
    pub prompt_en: String,
}

impl QualityProblem {
    fn new(reason: QualityReason, detail: String) -> QualityProblem {
        let (zh, en) = reason.prompt();
        QualityProblem {
            reason,
            detail,
            prompt_zh: zh.to_owned(),
            prompt_en: en.to_owned(),
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    /// Face width in the camera frame, in frame pixels.
    pub frame_face_width: f64,
    /// Left/right head turn, degrees.
    pub yaw_degrees: f64,
    /// Tilt of the eye line in the frame, degrees.
    pub roll_degrees: f64,
    /// Variance of the Laplacian of the face region.
    pub sharpness: f64,
    /// Mean grey level of the face region.
    pub brightness: f64,
    /// Grey-level spread in the eye patches (the lower of the two).
    pub eye_contrast: f64,
}

/// The quality report of an ID photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// True when no check failed.
    pub passed: bool,
    /// The checks that failed.
    pub problems: Vec<QualityProblem>,
    /// Width of the photo.
    pub width: u32,
    /// Height of the photo.
    pub height: u32,
    /// Resolution written in the file.
    pub dpi: u16,
    /// Size of the JPEG file.
    pub jpeg_bytes: usize,
    /// Where the head landed.
    pub placement: Placement,
    /// The measures behind the checks.
    pub measures: Measures,
}

/// What [`assess`] looks at.
pub(crate) struct Inputs<'a> {
    pub frame_landmarks: &'a Landmarks,
    pub photo: &'a RgbImage,
    pub photo_landmarks: &'a Landmarks,
    pub placement: Placement,
    pub crop: &'a CropConfig,
    pub jpeg_bytes: usize,
    pub config: &'a QualityConfig,
}

pub(crate) fn assess(inputs: Inputs<'_>) -> QualityReport {
    let Inputs {
        frame_landmarks,
        photo,
        photo_landmarks: placed,
        placement,
        crop,
        jpeg_bytes,
        config,
    } = inputs;
    let grey = Grey::of(photo);
    let face_width = placed.face_width();
    let mid = placed.eye_midpoint();
    // From a quarter face width above the eyes to a tenth below the nose, the middle 70 %.
    let region = Region::around(
        mid.x - 0.35 * face_width,
        mid.y - 0.25 * face_width,
        mid.x + 0.35 * face_width,
        placed.nose.y + 0.1 * face_width,
        &grey,
    );
    let eye_patch = |outer: Point, inner: Point| {
        let centre = outer.midpoint(inner);
        let eye = outer.distance(inner).max(4.0);
        Region::around(
            centre.x - 0.55 * eye,
            centre.y - 0.3 * eye,
            centre.x + 0.55 * eye,
            centre.y + 0.3 * eye,
            &grey,
        )
    };
    let eyes = [
        eye_patch(placed.left_eye_outer, placed.left_eye_inner),
        eye_patch(placed.right_eye_outer, placed.right_eye_inner),
    ];
    let measures = Measures {
        frame_face_width: round2(frame_landmarks.face_width()),
        yaw_degrees: round2(frame_landmarks.yaw_degrees()),
        roll_degrees: round2(frame_landmarks.roll_degrees()),
        sharpness: round2(grey.laplacian_variance(region)),
        brightness: round2(grey.mean(region)),
        eye_contrast: round2(
            eyes.iter()
                .map(|r| grey.spread(*r))
                .fold(f64::INFINITY, f64::min),
        ),
    };

    let mut problems = Vec::new();
    let mut fail = |reason, detail: String| problems.push(QualityProblem::new(reason, detail));
    if measures.frame_face_width < config.min_face_width {
        fail(
            QualityReason::FaceTooSmall,
            format!(
                "face {:.0} px wide in the frame, at least {:.0} needed",
                measures.frame_face_width, config.min_face_width
            ),
        );
    }
    if measures.yaw_degrees.abs() > config.max_yaw_degrees {
        fail(
            QualityReason::HeadTurned,
            format!(
                "head turned {:.1}°, at most ±{:.0}°",
                measures.yaw_degrees, config.max_yaw_degrees
            ),
        );
    } else if measures.roll_degrees.abs() > config.max_roll_degrees {
        fail(
            QualityReason::HeadTurned,
            format!(
                "head tilted {:.1}°, at most ±{:.0}°",
                measures.roll_degrees, config.max_roll_degrees
            ),
        );
    }
    if measures.brightness < config.min_brightness {
        fail(
            QualityReason::TooDark,
            format!(
                "face brightness {:.0}, at least {:.0}",
                measures.brightness, config.min_brightness
            ),
        );
    } else if measures.brightness > config.max_brightness {
        fail(
            QualityReason::TooBright,
            format!(
                "face brightness {:.0}, at most {:.0}",
                measures.brightness, config.max_brightness
            ),
        );
    }
    if measures.sharpness < config.min_sharpness {
        fail(
            QualityReason::Blurred,
            format!(
                "sharpness {:.1}, at least {:.0}",
                measures.sharpness, config.min_sharpness
            ),
        );
    }
    if measures.eye_contrast < config.min_eye_contrast {
        fail(
            QualityReason::EyesNotVisible,
            format!(
                "eye contrast {:.0}, at least {:.0}",
                measures.eye_contrast, config.min_eye_contrast
            ),
        );
    }
    QualityReport {
        passed: problems.is_empty(),
        problems,
        width: photo.width(),
        height: photo.height(),
        dpi: crop.dpi,
        jpeg_bytes,
        placement,
        measures,
    }
}

/// A rectangle of pixels, clamped to the picture: `x0..x1`, `y0..y1`.
#[derive(Debug, Clone, Copy)]
struct Region {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
}

impl Region {
    fn around(left: f64, top: f64, right: f64, bottom: f64, grey: &Grey) -> Region {
        let clamp_x = |v: f64| v.round().clamp(0.0, f64::from(grey.width)) as u32;
        let clamp_y = |v: f64| v.round().clamp(0.0, f64::from(grey.height)) as u32;
        Region {
            x0: clamp_x(left),
            y0: clamp_y(top),
            x1: clamp_x(right),
            y1: clamp_y(bottom),
        }
    }
}

/// The photo in grey levels (BT.601 luma).
struct Grey {
    width: u32,
    height: u32,
    pixels: Vec<f64>,
}

impl Grey {
    fn of(image: &RgbImage) -> Grey {
        Grey {
            width: image.width(),
            height: image.height(),
            pixels: image
                .pixels()
                .map(|p| {
                    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
                })
                .collect(),
        }
    }

    fn at(&self, x: u32, y: u32) -> f64 {
        self.pixels[(y * self.width + x) as usize]
    }

    fn values(&self, r: Region) -> impl Iterator<Item = f64> + '_ {
        (r.y0..r.y1).flat_map(move |y| (r.x0..r.x1).map(move |x| self.at(x, y)))
    }

    fn mean(&self, r: Region) -> f64 {
        let (sum, n) = self.values(r).fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
        if n == 0 {
            0.0
        } else {
            sum / n as f64
        }
    }

    /// 90th minus 10th percentile.
    fn spread(&self, r: Region) -> f64 {
        let mut v: Vec<f64> = self.values(r).collect();
        if v.len() < 10 {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        at(0.9) - at(0.1)
    }

    /// Variance of the 4-neighbour Laplacian inside the region (its border excluded).
    fn laplacian_variance(&self, r: Region) -> f64 {
        let (x0, y0) = (r.x0.max(1), r.y0.max(1));
        let (x1, y1) = (r.x1.min(self.width - 1), r.y1.min(self.height - 1));
        let (mut sum, mut sum_sq, mut n) = (0.0, 0.0, 0u64);
        for y in y0..y1 {
            for x in x0..x1 {
                let l =
                    self.at(x - 1, y) + self.at(x + 1, y) + self.at(x, y - 1) + self.at(x, y + 1)
                        - 4.0 * self.at(x, y);
                sum += l;
                sum_sq += l * l;
                n += 1;
            }
        }
        if n == 0 {
            return 0.0;
        }
        let mean = sum / n as f64;
        sum_sq / n as f64 - mean * mean
    }
}

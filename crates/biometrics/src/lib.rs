//! Fingerprints for the kiosk's step 9 (docs/domain.md section 1): synthetic fingers for the
//! simulator and the tests, image quality, minutiae templates in ISO/IEC 19794-2:2005 format, 1:1
//! matching and the enrolment rules of two fingers.
//!
//! Everything here is pure computation on 8-bit grey images of the R30x sensor (256 × 288, dark
//! ridges on a light background, about 500 dpi): no I/O apart from PNG bytes in and out, no clock,
//! no threads. The same inputs always give the same outputs.

#![warn(missing_docs)]

pub mod enrol;
pub mod eval;
mod field;
mod gabor;
pub mod grey;
pub mod matcher;
pub mod minutiae;
pub mod quality;
pub mod synth;
pub mod template;

pub use enrol::{
    EnrolConfig, EnrolFailure, EnrolOutcome, EnrolledFinger, Enrolment, Finger, PressMode,
    SecondPress, Step,
};
pub use grey::{GreyImage, ImageError, HEIGHT, WIDTH};
pub use matcher::{compare, MatchConfig, MatchResult};
pub use minutiae::{extract, Minutia, MinutiaKind};
pub use quality::{assess, QualityConfig, QualityMetrics, QualityReason, QualityReport};
pub use synth::{FingerClass, MasterFinger, PressKind};
pub use template::{Template, TemplateError};

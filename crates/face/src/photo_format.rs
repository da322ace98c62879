//! The ID photo's format and where the head landed in it: used by [`crate::crop`], which places
//! the head, and by [`crate::quality`], which judges the placement, so neither imports the other
//! both ways.

use serde::{Deserialize, Serialize};

/// The ID photo format and the placement rules. Defaults are GA 461's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CropConfig {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution written in the JFIF header.
    pub dpi: u16,
    /// JPEG quality, 1–100.
    pub jpeg_quality: u8,
    /// Target face width in pixels.
    pub face_width: f64,
    /// Allowed deviation of the face width.
    pub face_width_tolerance: f64,
    /// Target distance from the top edge to the top of the hair.
    pub hair_top: f64,
    /// Least allowed distance from the top edge to the top of the hair.
    pub hair_top_min: f64,
    /// Greatest allowed distance from the top edge to the top of the hair.
    pub hair_top_max: f64,
    /// Least distance from the eye line to the bottom edge (wins over the hair rule).
    pub min_eye_line_from_bottom: f64,
    /// Estimated height of the top of the hair above the eye line, in face widths. **choice**
    pub hair_above_eyes: f64,
    /// Fill where the crop reaches past the camera frame.
    pub background: [u8; 3],
}

impl Default for CropConfig {
    fn default() -> Self {
        CropConfig {
            width: 358,
            height: 441,
            dpi: 350,
            jpeg_quality: 70,
            face_width: 207.0,
            face_width_tolerance: 14.0,
            hair_top: 14.0,
            hair_top_min: 7.0,
            hair_top_max: 21.0,
            min_eye_line_from_bottom: 207.0,
            hair_above_eyes: 0.9,
            background: [255, 255, 255],
        }
    }
}

/// Where the head landed in the ID photo, in photo pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Face width (estimated from the landmarks, as placed).
    pub face_width_px: f64,
    /// Estimated distance from the top edge to the top of the hair.
    pub hair_top_px: f64,
    /// Distance from the eye line to the bottom edge.
    pub eye_line_from_bottom_px: f64,
    /// Horizontal offset of the eye midpoint from the centre (positive: right).
    pub centre_offset_px: f64,
    /// Photo pixels per frame pixel.
    pub scale: f64,
    /// Rotation applied to level the eyes, in degrees.
    pub rotation_degrees: f64,
    /// Share of the photo that lay outside the camera frame and was filled with white.
    pub outside_frame: f64,
}

/// Rounds to two decimals, so reports read cleanly.
pub(crate) fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0 + 0.0
}

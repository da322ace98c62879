//! Face geometry in picture coordinates (pixels, origin top left, y down): the detector's box, the
//! landmarks every engine must provide, and what is derived from them (eye line, roll, an estimate
//! of yaw, the face width). "Left" and "right" are as seen in the picture, not the person's.

use serde::{Deserialize, Serialize};

/// A point in picture coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Column.
    pub x: f64,
    /// Row.
    pub y: f64,
}

impl Point {
    /// A point.
    pub fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    /// The point halfway to `other`.
    pub fn midpoint(self, other: Point) -> Point {
        Point::new((self.x + other.x) / 2.0, (self.y + other.y) / 2.0)
    }

    /// Euclidean distance to `other`.
    pub fn distance(self, other: Point) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

/// A detected face's bounding box, as the detector gives it (may reach outside the picture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge.
    pub left: i64,
    /// Top edge.
    pub top: i64,
    /// Right edge.
    pub right: i64,
    /// Bottom edge.
    pub bottom: i64,
}

impl FaceBox {
    /// Width in pixels.
    pub fn width(&self) -> i64 {
        self.right - self.left
    }

    /// Height in pixels.
    pub fn height(&self) -> i64 {
        self.bottom - self.top
    }
}

/// The landmarks every engine provides: both corners of each eye and the tip of the nose (the
/// five points of dlib's small model; a 68-point engine picks the same five). `points` keeps the
/// engine's full set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Landmarks {
    /// The face box the landmarks were predicted from.
    pub face: FaceBox,
    /// Outer corner of the eye on the picture's left.
    pub left_eye_outer: Point,
    /// Inner corner of the eye on the picture's left.
    pub left_eye_inner: Point,
    /// Inner corner of the eye on the picture's right.
    pub right_eye_inner: Point,
    /// Outer corner of the eye on the picture's right.
    pub right_eye_outer: Point,
    /// Bottom of the nose (between the nostrils).
    pub nose: Point,
    /// All the engine's points, in its own order.
    pub points: Vec<Point>,
}

/// How many face widths the distance between the outer eye corners is: bizygomatic breadth over
/// biocular breadth, about 137 mm / 90 mm in adult anthropometric surveys (Farkas). **choice**
pub const FACE_WIDTH_PER_EYE_SPAN: f64 = 1.52;

impl Landmarks {
    /// Centre of the eye on the picture's left.
    pub fn left_eye(&self) -> Point {
        self.left_eye_outer.midpoint(self.left_eye_inner)
    }

    /// Centre of the eye on the picture's right.
    pub fn right_eye(&self) -> Point {
        self.right_eye_outer.midpoint(self.right_eye_inner)
    }

    /// The middle of the eye line.
    pub fn eye_midpoint(&self) -> Point {
        self.left_eye().midpoint(self.right_eye())
    }

    /// Distance between the two outer eye corners.
    pub fn eye_span(&self) -> f64 {
        self.left_eye_outer.distance(self.right_eye_outer)
    }

    /// The face width (cheek to cheek) estimated from the eye span.
    pub fn face_width(&self) -> f64 {
        self.eye_span() * FACE_WIDTH_PER_EYE_SPAN
    }

    /// In-plane rotation of the eye line, in degrees (positive: the picture's right eye is lower).
    pub fn roll_degrees(&self) -> f64 {
        let (l, r) = (self.left_eye(), self.right_eye());
        (r.y - l.y).atan2(r.x - l.x).to_degrees()
    }

    /// Left/right head turn estimated from symmetry, in degrees (positive: the nose points to the
    /// picture's right). The nose tip sits in front of the eye plane by about half the distance
    /// between the eye centres, so its sideways shift along the eye line, as a fraction of that
    /// distance, is about `tan(yaw) / 2`.
    pub fn yaw_degrees(&self) -> f64 {
        let (l, r) = (self.left_eye(), self.right_eye());
        let (dx, dy) = (r.x - l.x, r.y - l.y);
        let interocular = dx.hypot(dy);
        if interocular <= f64::EPSILON {
            return 90.0;
        }
        // Position of the nose along the eye line: 0 at the left eye, 1 at the right eye.
        let along =
            ((self.nose.x - l.x) * dx + (self.nose.y - l.y) * dy) / (interocular * interocular);
        (2.0 * (along - 0.5)).atan().to_degrees()
    }
}

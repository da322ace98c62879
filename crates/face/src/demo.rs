//! Real face images for the demo: the test images of the PyPI `face_recognition` 1.3.0 sdist,
//! fetched by `scripts/setup/20-face.sh`. popsys seeds the demo citizens' historical photos and
//! studio receipts from them, and names each citizen's camera picture, so step 7 passes and fails
//! for real: `popsys::seed::demo::{camera_image, camera_jpeg, historical_photo, certified_photo,
//! plan}` (popsys finds the same folder without linking this crate; docs/face.md, "Demo faces").

use std::path::PathBuf;

/// The folder of the demo faces (see [`crate::paths::faces_dir`]).
pub fn faces_dir() -> PathBuf {
    crate::paths::faces_dir()
}

/// One demo face image and whose face it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFace {
    /// Who is on it, from the file name without digits (`obama2.jpg` → `obama`).
    pub person: String,
    /// The file.
    pub path: PathBuf,
}

/// The JPEG images in [`faces_dir`], sorted by file name; empty when the setup has not run.
pub fn faces() -> Vec<DemoFace> {
    let Ok(entries) = std::fs::read_dir(faces_dir()) else {
        return Vec::new();
    };
    let mut faces: Vec<DemoFace> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .filter_map(|path| {
            let stem = path.file_stem()?.to_str()?;
            let person: String = stem
                .split('_')
                .next()
                .unwrap_or(stem)
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_owned();
            Some(DemoFace { person, path })
        })
        .collect();
    faces.sort_by(|a, b| a.path.cmp(&b.path));
    faces
}

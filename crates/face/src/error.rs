//! The one error type of the face crate. Every variant that concerns a picture names it, and
//! [`FaceError::reason`] gives the stable reason code the CLI and the center report.

use std::path::PathBuf;

/// What went wrong reading a picture, finding a face in it or loading the model.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// The file could not be read.
    #[error("{picture}: cannot read the file: {source}")]
    Io {
        /// The picture's name (its path as given).
        picture: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a picture at all (empty file, text, unknown signature).
    #[error("{picture}: not an image ({detail})")]
    NotAnImage {
        /// The picture's name.
        picture: String,
        /// Why it was not recognised.
        detail: String,
    },
    /// A picture in a format the engine does not read (only JPEG and PNG are read).
    #[error("{picture}: unsupported image format {format} (JPEG or PNG expected)")]
    UnsupportedFormat {
        /// The picture's name.
        picture: String,
        /// The format that was recognised.
        format: String,
    },
    /// The picture is recognised but its data is damaged or cut short.
    #[error("{picture}: the image is damaged or truncated ({detail})")]
    Corrupt {
        /// The picture's name.
        picture: String,
        /// The decoder's complaint.
        detail: String,
    },
    /// The picture is larger than the configured limits and cannot be decoded smaller.
    #[error("{picture}: the image is too large ({width}x{height}; the limit is {limit} pixels)")]
    TooLarge {
        /// The picture's name.
        picture: String,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The configured pixel limit.
        limit: u64,
    },
    /// The picture is too small to hold a face.
    #[error("{picture}: the image is too small to hold a face ({width}x{height})")]
    TooSmall {
        /// The picture's name.
        picture: String,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// No face was found.
    #[error("{picture}: no face found")]
    NoFace {
        /// The picture's name.
        picture: String,
    },
    /// More than one face was found where exactly one is required.
    #[error("{picture}: {count} faces found, exactly one is required")]
    SeveralFaces {
        /// The picture's name.
        picture: String,
        /// How many faces the detector found.
        count: usize,
    },
    /// A model file is missing: the setup script has not been run.
    #[error(
        "face model file missing: {path}; run scripts/setup/20-face.sh (or set IDKIOSK_MODELS_DIR)"
    )]
    ModelsMissing {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A model file exists but could not be loaded.
    #[error("cannot load the face model {path}: {detail}; run scripts/setup/20-face.sh again")]
    ModelLoad {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The ID photo could not be encoded or written.
    #[error("cannot write the ID photo: {0}")]
    Encode(String),
}

impl FaceError {
    /// The stable, machine-readable reason code (`no_face`, `several_faces`, `not_an_image`, …).
    pub fn reason(&self) -> &'static str {
        match self {
            FaceError::Io { .. } => "unreadable",
            FaceError::NotAnImage { .. } => "not_an_image",
            FaceError::UnsupportedFormat { .. } => "unsupported_format",
            FaceError::Corrupt { .. } => "corrupt_image",
            FaceError::TooLarge { .. } => "too_large",
            FaceError::TooSmall { .. } => "too_small",
            FaceError::NoFace { .. } => "no_face",
            FaceError::SeveralFaces { .. } => "several_faces",
            FaceError::ModelsMissing { .. } => "models_missing",
            FaceError::ModelLoad { .. } => "model_load",
            FaceError::Encode(_) => "encode",
        }
    }

    /// The picture the error is about, when it is about one.
    pub fn picture(&self) -> Option<&str> {
        match self {
            FaceError::Io { picture, .. }
            | FaceError::NotAnImage { picture, .. }
            | FaceError::UnsupportedFormat { picture, .. }
            | FaceError::Corrupt { picture, .. }
            | FaceError::TooLarge { picture, .. }
            | FaceError::TooSmall { picture, .. }
            | FaceError::NoFace { picture }
            | FaceError::SeveralFaces { picture, .. } => Some(picture),
            FaceError::ModelsMissing { .. }
            | FaceError::ModelLoad { .. }
            | FaceError::Encode(_) => None,
        }
    }

    /// True when the error is about the picture given (so a citizen can retake it), false when
    /// the engine itself is broken (missing weights, cannot write).
    pub fn is_about_picture(&self) -> bool {
        self.picture().is_some()
    }
}

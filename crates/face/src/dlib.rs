//! [`DlibEngine`]: dlib's ResNet face recognition model (`dlib_face_recognition_resnet_model_v1`,
//! 128-d embeddings, Euclidean distance, published operating threshold 0.6), its HOG frontal face
//! detector without upsampling, and its 5-point landmark model, through the
//! `dlib-face-recognition` crate linked against Debian's `libdlib` and OpenBLAS.
//!
//! Load it once per process ([`DlibEngine::shared`]): reading the weights takes about half a
//! second. dlib's detector and network keep scratch state, so each is used by one thread at a
//! time; the engine keeps one of each per core behind mutexes, so two comparisons run side by side.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use dlib_face_recognition::{
    FaceDetector, FaceDetectorTrait, FaceEncoderNetwork, FaceEncoderTrait, FaceLandmarks,
    ImageMatrix, LandmarkPredictor, LandmarkPredictorTrait, Rectangle,
};

use crate::engine::single_face;
use crate::{
    AlignedFace, Calibration, DescribedFace, Embedding, FaceBox, FaceEngine, FaceError, Landmarks,
    Picture, Point,
};

/// The weights file of the embedding network.
pub const RECOGNITION_MODEL: &str = "dlib_face_recognition_resnet_model_v1.dat";
/// The weights file of the 5-point landmark model.
pub const LANDMARK_MODEL: &str = "shape_predictor_5_face_landmarks.dat";
/// The weights of dlib's CNN (MMOD) face detector, fetched with the others; not used by default
/// because on a CPU it is 10–30 times slower than HOG and needs gigabytes on large images.
pub const CNN_DETECTOR_MODEL: &str = "mmod_human_face_detector.dat";

/// Where the weights are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// The folder holding the `.dat` files.
    pub dir: PathBuf,
}

impl ModelPaths {
    /// The default folder (see [`crate::paths::models_dir`]).
    pub fn from_env() -> ModelPaths {
        ModelPaths {
            dir: crate::paths::models_dir(),
        }
    }

    /// The paths of the two files the engine loads, checked to exist and to have the sizes of
    /// the `face_recognition_models` 0.3.0 release, so a truncated download is caught here
    /// rather than inside dlib's deserialiser.
    fn checked(&self) -> Result<(PathBuf, PathBuf), FaceError> {
        let check = |name: &str, size: u64| -> Result<PathBuf, FaceError> {
            let path = self.dir.join(name);
            let meta = std::fs::metadata(&path)
                .map_err(|_| FaceError::ModelsMissing { path: path.clone() })?;
            if meta.len() != size {
                return Err(FaceError::ModelLoad {
                    path,
                    detail: format!("{} bytes, expected {size}", meta.len()),
                });
            }
            if !matches!(path.to_str(), Some(p) if !p.contains('\0')) {
                return Err(FaceError::ModelLoad {
                    path,
                    detail: "the path is not valid UTF-8".into(),
                });
            }
            Ok(path)
        };
        Ok((
            check(RECOGNITION_MODEL, 22_466_066)?,
            check(LANDMARK_MODEL, 9_150_489)?,
        ))
    }
}

/// A small set of objects that must not be used by two threads at once: a caller takes a free
/// one, or waits for one.
struct Pool<T> {
    slots: Vec<Mutex<T>>,
}

impl<T> Pool<T> {
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        for slot in &self.slots {
            if let Ok(mut guard) = slot.try_lock() {
                return f(&mut guard);
            }
        }
        // All busy: wait for the first. A panic while holding one leaves dlib's object usable.
        let mut guard = self.slots[0].lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

/// dlib's face recognition, loaded once.
pub struct DlibEngine {
    detectors: Pool<FaceDetector>,
    predictor: LandmarkPredictor,
    encoders: Pool<FaceEncoderNetwork>,
    calibration: Calibration,
    version: String,
}

impl std::fmt::Debug for DlibEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DlibEngine")
            .field("version", &self.version)
            .field("calibration", &self.calibration)
            .finish_non_exhaustive()
    }
}

/// The engine's name as stored with each verification.
pub const ENGINE_NAME: &str = "dlib-resnet-v1";

impl DlibEngine {
    /// Loads the weights from `paths`, with one detector and network per core (at most four).
    pub fn load(paths: &ModelPaths, calibration: Calibration) -> Result<DlibEngine, FaceError> {
        let (recognition, landmarks) = paths.checked()?;
        let load_error = |path: &Path| {
            let path = path.to_path_buf();
            move |detail: String| FaceError::ModelLoad { path, detail }
        };
        let predictor = LandmarkPredictor::open(&landmarks).map_err(load_error(&landmarks))?;
        let encoder = FaceEncoderNetwork::open(&recognition).map_err(load_error(&recognition))?;
        let copies = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        let encoders = std::iter::repeat_with(|| Mutex::new(encoder.clone()))
            .take(copies)
            .collect();
        let detectors = std::iter::repeat_with(|| Mutex::new(FaceDetector::new()))
            .take(copies)
            .collect();
        Ok(DlibEngine {
            detectors: Pool { slots: detectors },
            predictor,
            encoders: Pool { slots: encoders },
            calibration,
            version: version_string(&paths.dir),
        })
    }

    /// The process-wide engine, loaded from [`ModelPaths::from_env`] with the reference
    /// calibration on first use. A failed load is not cached, so running the setup and trying
    /// again works.
    pub fn shared() -> Result<Arc<DlibEngine>, FaceError> {
        static ENGINE: OnceLock<Arc<DlibEngine>> = OnceLock::new();
        static LOADING: Mutex<()> = Mutex::new(());
        if let Some(engine) = ENGINE.get() {
            return Ok(engine.clone());
        }
        let _loading = LOADING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = ENGINE.get() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(DlibEngine::load(
            &ModelPaths::from_env(),
            Calibration::default(),
        )?);
        Ok(ENGINE.get_or_init(|| engine).clone())
    }

    fn matrix(picture: &Picture) -> ImageMatrix {
        ImageMatrix::from_image(picture.image())
    }

    // dlib's coordinates are C `long`s: i64 here, i32 on Windows.
    #[allow(clippy::unnecessary_cast)]
    fn detect_in(&self, matrix: &ImageMatrix) -> Vec<FaceBox> {
        self.detectors
            .with(|detector| detector.face_locations(matrix))
            .iter()
            .map(|r| FaceBox {
                left: r.left as i64,
                top: r.top as i64,
                right: r.right as i64,
                bottom: r.bottom as i64,
            })
            .collect()
    }

    fn dlib_landmarks(&self, matrix: &ImageMatrix, face: &FaceBox) -> FaceLandmarks {
        let rect = Rectangle {
            left: face.left as _,
            top: face.top as _,
            right: face.right as _,
            bottom: face.bottom as _,
        };
        self.predictor.face_landmarks(matrix, &rect)
    }

    fn embed_in(
        &self,
        matrix: &ImageMatrix,
        landmarks: FaceLandmarks,
        picture: &Picture,
    ) -> Result<Embedding, FaceError> {
        let encodings = self
            .encoders
            .with(|encoder| encoder.get_face_encodings(matrix, &[landmarks], 1));
        match encodings.first() {
            Some(encoding) => Ok(Embedding(encoding.as_ref().to_vec())),
            None => Err(FaceError::NoFace {
                picture: picture.name().to_owned(),
            }),
        }
    }
}

fn to_landmarks(
    face: FaceBox,
    raw: &FaceLandmarks,
    picture: &Picture,
) -> Result<Landmarks, FaceError> {
    let points: Vec<Point> = raw
        .iter()
        .map(|p| Point::new(p.x() as f64, p.y() as f64))
        .collect();
    // The 5-point model: 0, 1 outer and inner corner of the eye on the picture's right; 2, 3 the
    // same on the left; 4 the bottom of the nose.
    let [right_outer, right_inner, left_outer, left_inner, nose] = points[..] else {
        return Err(FaceError::NoFace {
            picture: picture.name().to_owned(),
        });
    };
    Ok(Landmarks {
        face,
        left_eye_outer: left_outer,
        left_eye_inner: left_inner,
        right_eye_inner: right_inner,
        right_eye_outer: right_outer,
        nose,
        points,
    })
}

impl FaceEngine for DlibEngine {
    fn name(&self) -> &str {
        ENGINE_NAME
    }

    fn version(&self) -> &str {
        &self.version
    }

    fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    fn detect(&self, picture: &Picture) -> Result<Vec<FaceBox>, FaceError> {
        Ok(self.detect_in(&DlibEngine::matrix(picture)))
    }

    fn landmarks(&self, picture: &Picture, face: &FaceBox) -> Result<Landmarks, FaceError> {
        let raw = self.dlib_landmarks(&DlibEngine::matrix(picture), face);
        to_landmarks(*face, &raw, picture)
    }

    fn align(&self, picture: &Picture, landmarks: &Landmarks) -> Result<AlignedFace, FaceError> {
        Ok(crate::crop::face_chip(picture.image(), landmarks))
    }

    fn embed(&self, picture: &Picture, landmarks: &Landmarks) -> Result<Embedding, FaceError> {
        // dlib aligns inside the network call from its own landmark object, so predict it again
        // from the box (deterministic, under a millisecond).
        let matrix = DlibEngine::matrix(picture);
        let raw = self.dlib_landmarks(&matrix, &landmarks.face);
        self.embed_in(&matrix, raw, picture)
    }

    fn describe(&self, picture: &Picture) -> Result<DescribedFace, FaceError> {
        // One copy of the pixels into dlib's matrix for all three steps.
        let matrix = DlibEngine::matrix(picture);
        let face = single_face(picture, self.detect_in(&matrix))?;
        let raw = self.dlib_landmarks(&matrix, &face);
        let landmarks = to_landmarks(face, &raw, picture)?;
        let embedding = self.embed_in(&matrix, raw, picture)?;
        Ok(DescribedFace {
            landmarks,
            embedding,
        })
    }
}

/// `dlib 19.24.0 (Debian libdlib), face_recognition_models 0.3.0, HOG no upsampling, 5 points`:
/// the dlib version is read by the build script from pkg-config, the models' release from the
/// PKG-INFO the setup copies beside the weights.
fn version_string(models_dir: &Path) -> String {
    let models = std::fs::read_to_string(models_dir.join("face_recognition_models-PKG-INFO"))
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("Version: ").map(|v| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown".into());
    format!(
        "dlib {}; face_recognition_models {models}; hog-0-upsample; 5-point landmarks",
        env!("FACE_DLIB_VERSION")
    )
}

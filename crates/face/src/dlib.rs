//! [`DlibEngine`]: dlib's ResNet face recognition model (`dlib_face_recognition_resnet_model_v1`,
//! 128-d embeddings, Euclidean distance, published operating threshold 0.6), its HOG frontal face
//! detector without upsampling, and its 5-point landmark model, through the
//! `dlib-face-recognition` crate linked against Debian's `libdlib` and OpenBLAS.
//!
//! [`FaceEngine::describe`] finds the face with [`Detection::Fast`] (issue 18): HOG on the frame
//! shrunk so that the smallest face kept is still above HOG's 80-pixel window, then HOG again at
//! full resolution on a crop around the face found, so the box (and the landmarks and embedding
//! that follow from it) are those of the full-frame path at a fraction of its cost.
//! [`DlibEngine::describe_with`] takes [`Detection::FullFrame`], the path before issue 18.
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

/// How [`DlibEngine::describe_with`] finds the face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Detection {
    /// HOG on the whole frame at full resolution (the engine's path before issue 18).
    FullFrame,
    /// HOG on a shrunk frame, refined at full resolution on a crop around the face found.
    Fast(FastDetection),
}

impl Default for Detection {
    fn default() -> Detection {
        Detection::Fast(FastDetection::default())
    }
}

/// The fast path's settings.
///
/// A frame larger than `whole_frame_up_to` pixels is shrunk by the whole factor `k` that keeps
/// a face of `smallest_face` pixels at least [`HOG_WINDOW`] wide (box-filtered, so nothing
/// aliases), and HOG runs on that. One face found: HOG runs again at full resolution on the box
/// grown by `margin` on each side, and the box found there that overlaps the coarse one most is
/// the face. When the shrunk frame shows no face, or the crop does not show it again, the full
/// frame is searched as before, so a face the fast path misses costs time, never a decision.
/// Several faces on the shrunk frame are several faces. What it gives up: a second face smaller
/// than `smallest_face` beside a larger one is not seen (the full frame would answer
/// `several_faces`); step 7's photos are ID photos of one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FastDetection {
    /// Width in pixels, in the frame as decoded, of the smallest face the shrunk frame must show.
    pub smallest_face: u32,
    /// How much of the coarse box's size is added on each side of the refining crop.
    pub margin: f64,
    /// Frames of at most this many pixels are searched whole, as before: on a small frame (the
    /// center's 358 × 441 ID photos, the 102 × 126 chip photo) the refining crop would be most
    /// of the frame, so the shrunk pass would only add work.
    pub whole_frame_up_to: u64,
}

impl Default for FastDetection {
    fn default() -> FastDetection {
        FastDetection {
            // The ID photo's face is 207 px wide and the kiosk refuses frames under 120 px
            // (`QualityConfig`), where HOG's box is about 150; 160 keeps both.
            smallest_face: 160,
            margin: 0.5,
            // 640 × 480.
            whole_frame_up_to: 307_200,
        }
    }
}

/// The side of dlib's frontal HOG detector's window: the smallest face it finds without
/// upsampling.
pub const HOG_WINDOW: u32 = 80;

/// dlib's face recognition, loaded once.
pub struct DlibEngine {
    detection: Detection,
    detectors: Pool<FaceDetector>,
    predictor: LandmarkPredictor,
    encoders: Pool<FaceEncoderNetwork>,
    calibration: Calibration,
    /// Library and models, without the detection.
    models_version: String,
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
            detection: Detection::default(),
            detectors: Pool { slots: detectors },
            predictor,
            encoders: Pool { slots: encoders },
            calibration,
            models_version: version_string(&paths.dir),
            version: with_detection_label(&version_string(&paths.dir), Detection::default()),
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

    /// The same engine, describing faces with `detection` (default [`Detection::Fast`]).
    /// The version names the detection, so embeddings kept by the center under one are not
    /// taken for the other's.
    pub fn with_detection(self, detection: Detection) -> DlibEngine {
        DlibEngine {
            detection,
            version: with_detection_label(&self.models_version, detection),
            ..self
        }
    }

    /// The detection [`FaceEngine::describe`] uses.
    pub fn detection(&self) -> Detection {
        self.detection
    }

    /// [`FaceEngine::describe`] with the face found by `detection`.
    pub fn describe_with(
        &self,
        picture: &Picture,
        detection: Detection,
    ) -> Result<DescribedFace, FaceError> {
        // One copy of the pixels into dlib's matrix for landmarks and embedding.
        let matrix = DlibEngine::matrix(picture);
        let face = match detection {
            Detection::FullFrame => None,
            Detection::Fast(fast) => self.detect_fast(picture, &fast)?,
        };
        let face = match face {
            Some(face) => face,
            None => single_face(picture, self.detect_in(&matrix))?,
        };
        let raw = self.dlib_landmarks(&matrix, &face);
        let landmarks = to_landmarks(face, &raw, picture)?;
        let embedding = self.embed_in(&matrix, raw, picture)?;
        Ok(DescribedFace {
            landmarks,
            embedding,
        })
    }

    /// The face found the fast way: `Ok(None)` when the full frame must be searched instead,
    /// an error when the shrunk frame shows several faces.
    fn detect_fast(
        &self,
        picture: &Picture,
        fast: &FastDetection,
    ) -> Result<Option<FaceBox>, FaceError> {
        let image = picture.image();
        let factor = (fast.smallest_face / HOG_WINDOW).max(1);
        let pixels = u64::from(image.width()) * u64::from(image.height());
        if factor < 2 || pixels <= fast.whole_frame_up_to {
            return Ok(None); // the full frame as before
        }
        let small = shrink(image, factor);
        if small.width() < HOG_WINDOW || small.height() < HOG_WINDOW {
            return Ok(None);
        }
        let coarse = self.detect_in(&ImageMatrix::from_image(&small));
        let coarse = match coarse.as_slice() {
            [] => return Ok(None),
            [one] => scale_box(one, i64::from(factor)),
            _ => {
                return Err(FaceError::SeveralFaces {
                    picture: picture.name().to_owned(),
                    count: coarse.len(),
                })
            }
        };
        let grow_x = (coarse.width() as f64 * fast.margin).ceil() as i64;
        let grow_y = (coarse.height() as f64 * fast.margin).ceil() as i64;
        let (width, height) = (i64::from(image.width()), i64::from(image.height()));
        let left = (coarse.left - grow_x).clamp(0, width);
        let top = (coarse.top - grow_y).clamp(0, height);
        let right = (coarse.right + grow_x).clamp(0, width);
        let bottom = (coarse.bottom + grow_y).clamp(0, height);
        if right - left < i64::from(HOG_WINDOW) || bottom - top < i64::from(HOG_WINDOW) {
            return Ok(None);
        }
        // In bounds and non-negative after the clamps.
        let crop = image::imageops::crop_imm(
            image,
            left as u32,
            top as u32,
            (right - left) as u32,
            (bottom - top) as u32,
        )
        .to_image();
        let refined = self
            .detect_in(&ImageMatrix::from_image(&crop))
            .into_iter()
            .map(|b| FaceBox {
                left: b.left + left,
                top: b.top + top,
                right: b.right + left,
                bottom: b.bottom + top,
            })
            .map(|b| (overlap(&b, &coarse), b))
            .filter(|(area, _)| *area > 0)
            .max_by_key(|(area, _)| *area)
            .map(|(_, b)| b);
        Ok(refined)
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
        self.describe_with(picture, self.detection)
    }
}

/// `image` shrunk by the whole factor `k`, each pixel the mean of a `k` × `k` block (the last
/// partial row and column of blocks are dropped).
fn shrink(image: &image::RgbImage, k: u32) -> image::RgbImage {
    let (width, height) = (image.width() / k, image.height() / k);
    let mut out = image::RgbImage::new(width, height);
    let stride = image.width() as usize * 3;
    let raw = image.as_raw();
    let block = k * k;
    let mut sums = vec![0u32; width as usize * 3];
    for y in 0..height {
        sums.iter_mut().for_each(|s| *s = 0);
        for row in 0..k {
            let start = (y * k + row) as usize * stride;
            let line = &raw[start..start + width as usize * k as usize * 3];
            for (x, pixel) in line.chunks_exact(3).enumerate() {
                let at = x / k as usize * 3;
                sums[at] += u32::from(pixel[0]);
                sums[at + 1] += u32::from(pixel[1]);
                sums[at + 2] += u32::from(pixel[2]);
            }
        }
        for x in 0..width {
            let at = x as usize * 3;
            out.put_pixel(
                x,
                y,
                image::Rgb([
                    ((sums[at] + block / 2) / block) as u8,
                    ((sums[at + 1] + block / 2) / block) as u8,
                    ((sums[at + 2] + block / 2) / block) as u8,
                ]),
            );
        }
    }
    out
}

/// A box of the shrunk frame in the frame's coordinates.
fn scale_box(face: &FaceBox, k: i64) -> FaceBox {
    FaceBox {
        left: face.left * k,
        top: face.top * k,
        right: face.right * k + k - 1,
        bottom: face.bottom * k + k - 1,
    }
}

/// The area two boxes share, 0 when they do not meet.
fn overlap(a: &FaceBox, b: &FaceBox) -> i64 {
    let width = a.right.min(b.right) - a.left.max(b.left);
    let height = a.bottom.min(b.bottom) - a.top.max(b.top);
    width.max(0) * height.max(0)
}

/// `base` followed by the detection [`FaceEngine::describe`] uses.
fn with_detection_label(base: &str, detection: Detection) -> String {
    match detection {
        Detection::FullFrame => format!("{base}; full-frame detection"),
        Detection::Fast(fast) => format!(
            "{base}; fast detection (faces from {} px, frames over {} px, margin {})",
            fast.smallest_face, fast.whole_frame_up_to, fast.margin
        ),
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

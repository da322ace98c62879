//! [`DlibEngine`]: dlib's ResNet face recognition model (`dlib_face_recognition_resnet_model_v1`,
//! 128-d embeddings, Euclidean distance, published operating threshold 0.6), its HOG frontal face
//! detector without upsampling, and its 5-point landmark model, through the
//! `dlib-face-recognition` crate linked against Debian's `libdlib` and OpenBLAS.
//!
//! [`FaceEngine::describe`] finds the face with [`Detection::Fast`] (issue 18): HOG on the frame
//! shrunk by 3, then if need be by 2, so that the faces kept are still above HOG's 80-pixel
//! window; the landmarks and the embedding are computed at full resolution from the box found,
//! at a fraction of the full-frame path's cost and with the same decisions.
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
    /// HOG on the frame shrunk by 3, then by 2 if that shows no face (large frames only).
    Fast(FastDetection),
}

impl Default for Detection {
    fn default() -> Detection {
        Detection::Fast(FastDetection::default())
    }
}

/// The fast path's settings.
///
/// A frame larger than `whole_frame_up_to` pixels is searched on shrunk copies (box-filtered, so
/// nothing aliases), coarsest first: shrunk by the whole factor that keeps a face of
/// `first_pass_face` pixels at least [`HOG_WINDOW`] wide, then, if that shows no face, by the
/// factor that keeps `smallest_face`. HOG's cost follows the pixels it scans, so the first pass
/// (a ninth of the frame by default) costs under half of the second (a quarter). The first
/// pass that shows one face gives its box, scaled back to the frame; the landmarks and the
/// embedding are then computed at full resolution. When no pass shows a face, the full frame is
/// searched as before, so a face the fast path misses costs time, never a decision. Several faces
/// on a shrunk frame are several faces. What it gives up: beside a face found by the first pass, a
/// second face smaller than `first_pass_face` is not seen (the full frame would answer
/// `several_faces`); step 7's photos are ID photos of one face. The box is that of a coarser HOG
/// grid than the full frame's (a few pixels off), so embeddings differ from the full-frame path's
/// by up to about 0.1, and distances between two faces by less than 0.03.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FastDetection {
    /// Width in pixels, in the frame as decoded, of the smallest face a shrunk pass must show.
    pub smallest_face: u32,
    /// Width in pixels of the smallest face the first, coarsest pass must show: the faces of a
    /// frame made for an ID photo are mostly larger than `smallest_face`, and the first pass
    /// finds them on fewer pixels.
    pub first_pass_face: u32,
    /// Frames of at most this many pixels are searched whole, as before: on a small frame (the
    /// center's 358 × 441 ID photos, the 102 × 126 chip photo) a shrunk pass would miss faces the
    /// full frame finds or only add work.
    pub whole_frame_up_to: u64,
}

impl Default for FastDetection {
    fn default() -> FastDetection {
        FastDetection {
            // The ID photo's face is 207 px wide and the kiosk refuses frames under 120 px
            // (`QualityConfig`), where HOG's box is about 150; 160 keeps both.
            smallest_face: 160,
            // Shrunk by 3: a ninth of the pixels. HOG's box of a 207-px face (the ID photo's) is
            // about 215 px, found there at the first level.
            first_pass_face: 240,
            // 640 × 480.
            whole_frame_up_to: 307_200,
        }
    }
}

impl FastDetection {
    /// The shrink factors of the passes, coarsest first (none below 2: shrinking by 1 is the
    /// full frame).
    fn factors(&self) -> Vec<u32> {
        let finest = self.smallest_face / HOG_WINDOW;
        let coarsest = (self.first_pass_face / HOG_WINDOW).max(finest);
        [coarsest, finest]
            .into_iter()
            .filter(|k| *k >= 2)
            .fold(Vec::new(), |mut factors, k| {
                if !factors.contains(&k) {
                    factors.push(k);
                }
                factors
            })
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
    /// an error when a shrunk frame shows several faces.
    fn detect_fast(
        &self,
        picture: &Picture,
        fast: &FastDetection,
    ) -> Result<Option<FaceBox>, FaceError> {
        let image = picture.image();
        let pixels = u64::from(image.width()) * u64::from(image.height());
        if pixels <= fast.whole_frame_up_to {
            return Ok(None); // the full frame as before
        }
        for factor in fast.factors() {
            let small = shrink(image, factor);
            if small.width() < HOG_WINDOW || small.height() < HOG_WINDOW {
                continue;
            }
            // No second HOG pass at full resolution around the box: it cost as much as this
            // one, and its box, a pyramid level off the full frame's on some faces, was no
            // closer to the full frame's embedding than this one.
            let found = self.detect_in(&ImageMatrix::from_image(&small));
            match found.as_slice() {
                [] => continue,
                [one] => return Ok(Some(scale_box(one, i64::from(factor)))),
                _ => {
                    return Err(FaceError::SeveralFaces {
                        picture: picture.name().to_owned(),
                        count: found.len(),
                    })
                }
            }
        }
        Ok(None)
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
    let k = k as usize;
    let (out_row, in_row) = (width as usize * 3, image.width() as usize * 3);
    let block = (k * k) as u32;
    let mut out = vec![0u8; out_row * height as usize];
    let mut sums = vec![0u32; out_row];
    // Row by row on slices, without per-pixel bounds checks or divisions: it runs on every
    // pixel of a large frame, and was a tenth of a description when written with `put_pixel`.
    for (y, out_line) in out.chunks_exact_mut(out_row).enumerate() {
        sums.fill(0);
        for line in image.as_raw()[y * k * in_row..]
            .chunks_exact(in_row)
            .take(k)
        {
            for (sum, block_line) in sums.chunks_exact_mut(3).zip(line.chunks_exact(3 * k)) {
                for pixel in block_line.chunks_exact(3) {
                    sum[0] += u32::from(pixel[0]);
                    sum[1] += u32::from(pixel[1]);
                    sum[2] += u32::from(pixel[2]);
                }
            }
        }
        for (value, sum) in out_line.iter_mut().zip(&sums) {
            *value = ((sum + block / 2) / block) as u8;
        }
    }
    image::RgbImage::from_raw(width, height, out).expect("the buffer has the image's size")
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

/// `base` followed by the detection [`FaceEngine::describe`] uses.
fn with_detection_label(base: &str, detection: Detection) -> String {
    match detection {
        Detection::FullFrame => format!("{base}; full-frame detection"),
        Detection::Fast(fast) => format!(
            "{base}; fast detection (first pass faces from {} px, then from {} px, frames over {} px, no refinement)",
            fast.first_pass_face, fast.smallest_face, fast.whole_frame_up_to
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The passes' factors: coarsest first, none repeated, none under 2.
    #[test]
    fn the_passes_go_from_the_first_pass_face_to_the_smallest() {
        let check = |smallest_face, first_pass_face, expected: &[u32]| {
            let fast = FastDetection {
                smallest_face,
                first_pass_face,
                ..FastDetection::default()
            };
            assert_eq!(
                fast.factors(),
                expected,
                "{smallest_face} {first_pass_face}"
            );
        };
        check(160, 240, &[3, 2]);
        check(160, 160, &[2]);
        check(160, 100, &[2]);
        check(100, 240, &[3]);
        check(100, 100, &[]);
        check(320, 480, &[6, 4]);
    }

    /// The shrink is the mean of each block, rounded, the partial blocks at the right and the
    /// bottom dropped.
    #[test]
    fn a_shrunk_pixel_is_the_rounded_mean_of_its_block() {
        let image = image::RgbImage::from_fn(47, 31, |x, y| {
            let v = (x * 37 + y * 91 + x * y * 13) % 256;
            image::Rgb([v as u8, (255 - v) as u8, ((v * 7) % 256) as u8])
        });
        for k in [2u32, 3, 5] {
            let small = shrink(&image, k);
            assert_eq!(small.dimensions(), (47 / k, 31 / k));
            for (x, y, pixel) in small.enumerate_pixels() {
                for c in 0..3 {
                    let sum: u32 = (0..k)
                        .flat_map(|dy| (0..k).map(move |dx| (dx, dy)))
                        .map(|(dx, dy)| u32::from(image.get_pixel(x * k + dx, y * k + dy)[c]))
                        .sum();
                    let mean = (sum + k * k / 2) / (k * k);
                    assert_eq!(u32::from(pixel[c]), mean, "k {k} at {x},{y} channel {c}");
                }
            }
        }
    }
}

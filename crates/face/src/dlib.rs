//! [`DlibEngine`]: dlib's ResNet face recognition model (`dlib_face_recognition_resnet_model_v1`,
//! 128-d embeddings, Euclidean distance, published operating threshold 0.6), its HOG frontal face
//! detector without upsampling, and its 5-point landmark model, through the
//! `dlib-face-recognition` crate linked against Debian's `libdlib` and OpenBLAS.
//!
//! [`FaceEngine::describe`] finds the face with [`Detection::Fast`] (issue 18): HOG on the frame
//! shrunk to a level of HOG's own pyramid (a third, then if need be about half; on an ID photo
//! two fifths, then about half), skipping the levels where only faces too small for an ID photo
//! fit; the landmarks and the embedding are computed at full resolution from the box found, at
//! a fraction of the full-frame path's cost and with the same decisions.
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
    /// HOG on the frame shrunk to a level of its pyramid, then to a finer one if need be.
    Fast(FastDetection),
}

impl Default for Detection {
    fn default() -> Detection {
        Detection::Fast(FastDetection::default())
    }
}

/// The fast path's settings.
///
/// dlib's HOG detector searches a pyramid of the frame, each level 5/6 the size of the one
/// before, with an 80-pixel window: most of its work is on the first levels, where only faces
/// too small for an ID photo fit. A frame is therefore searched from a coarser level down (the
/// frame shrunk to (5/6)^level of its size: box-filtered by a whole factor, so nothing aliases,
/// then resized by bilinear interpolation for what the whole factor leaves), then, if that shows
/// no face or only a box it does not take, from a finer one: `levels` on a frame larger than
/// `small_frame_up_to` pixels (a camera's or a scan's), `small_frame_levels` on a smaller one (the
/// center's 358 × 441 ID photos, whose face is 207 px wide by GA 461). Shrunk to a level of the
/// full frame's own pyramid, a pass's boxes are those of the full frame give or take a few pixels
/// (or HOG's box of a neighbouring level); the landmarks and the embedding are then computed at
/// full resolution.
///
/// A box found on a pass's first level (narrower than [`HOG_WINDOW`] there) is not taken: HOG
/// also answers there for faces a level smaller, with a box a level too large; the next pass
/// (or the full frame) finds the face at its size. When no pass gives a box, the full frame is
/// searched as before, so a face the fast path does not take costs time, never a decision (the
/// 102 × 126 chip photo, smaller than HOG's window at both small-frame levels, goes there
/// directly). Several faces on a pass are several faces. What it gives up: beside a face found
/// by the first pass, a second face too small for it is not seen (the full frame would answer
/// `several_faces`); step 7's photos are ID photos of one face. Embeddings differ from the
/// full-frame path's by 0.02 to 0.08 on the test faces, and distances between two faces by less
/// than 0.03; the decisions at both of step 7's bars are the same on every pair of the test
/// faces, as frames and as ID photos cut from them (tests `real_faces`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FastDetection {
    /// The levels of dlib's pyramid of the full frame the passes start at, coarsest first, on a
    /// frame of more than `small_frame_up_to` pixels.
    pub levels: [u32; 2],
    /// The same on a frame of at most `small_frame_up_to` pixels.
    pub small_frame_levels: [u32; 2],
    /// The largest frame (in pixels) searched from `small_frame_levels`.
    pub small_frame_up_to: u64,
}

impl Default for FastDetection {
    fn default() -> FastDetection {
        FastDetection {
            // Level 6 is the frame at a third (0.335): a ninth of the pixels, boxes from about
            // 260 px taken. Level 4 (0.482, a box filter by 2 then a small resize) takes boxes
            // from about 180 px: the ID photo's 207-px face, whose box is about 215, is taken
            // there.
            levels: [6, 4],
            // On a 358 × 441 ID photo, level 5 (0.402, 144 × 177) takes the face's box of 215
            // or 258 px and costs about a sixth of the full frame's HOG; level 4 if it does not.
            // Level 6 was one level too coarse there (a decision at the certified bar turned)
            // and level 3 a box a pixel off (likewise).
            small_frame_levels: [5, 4],
            // 640 × 480.
            small_frame_up_to: 307_200,
        }
    }
}

/// The scale of a level of dlib's `pyramid_down<6>`.
fn level_scale(level: u32) -> f64 {
    (5.0f64 / 6.0).powi(level as i32)
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
    /// an error when a pass shows several faces.
    fn detect_fast(
        &self,
        picture: &Picture,
        fast: &FastDetection,
    ) -> Result<Option<FaceBox>, FaceError> {
        let image = picture.image();
        let pixels = u64::from(image.width()) * u64::from(image.height());
        let levels = if pixels <= fast.small_frame_up_to {
            fast.small_frame_levels
        } else {
            fast.levels
        };
        for level in levels {
            let Some(pass) = Pass::of(image, level) else {
                continue;
            };
            // No second HOG pass at full resolution around the box (the path before): on a
            // level of the full frame's pyramid the box is already the full frame's, give or
            // take a few pixels, and that pass cost as much as this one.
            let found = self.detect_in(&ImageMatrix::from_image(&pass.image));
            match found.as_slice() {
                [] => continue,
                // The next pass finds the face at its size. (HOG on the next level around the
                // box only was cheaper, but its box, its pyramid resampled from the crop, was
                // further off and turned a decision near a bar.)
                [one] if on_first_level(one) => continue,
                [one] => return Ok(Some(pass.to_frame(one))),
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
    // It reads every pixel of a large frame: the passes' factors get a loop the compiler
    // unrolls (about half the time of the general one: 2 instead of 4 ms by 3 on a 3-Mpx frame).
    match k {
        2 => shrink_by::<2>(image),
        3 => shrink_by::<3>(image),
        _ => shrink_by_any(image, k as usize),
    }
}

fn shrink_by<const K: usize>(image: &image::RgbImage) -> image::RgbImage {
    let (width, height) = (image.width() as usize / K, image.height() as usize / K);
    let (out_row, in_row) = (width * 3, image.width() as usize * 3);
    let block = (K * K) as u32;
    let mut out = vec![0u8; out_row * height];
    let mut sums = vec![0u32; out_row];
    for (y, out_line) in out.chunks_exact_mut(out_row).enumerate() {
        sums.fill(0);
        for line in image.as_raw()[y * K * in_row..]
            .chunks_exact(in_row)
            .take(K)
        {
            for (sum, pixels) in sums.chunks_exact_mut(3).zip(line.chunks_exact(3 * K)) {
                for pixel in 0..K {
                    for channel in 0..3 {
                        sum[channel] += u32::from(pixels[pixel * 3 + channel]);
                    }
                }
            }
        }
        for (value, sum) in out_line.iter_mut().zip(&sums) {
            *value = ((sum + block / 2) / block) as u8;
        }
    }
    image::RgbImage::from_raw(width as u32, height as u32, out)
        .expect("the buffer has the image's size")
}

fn shrink_by_any(image: &image::RgbImage, k: usize) -> image::RgbImage {
    let (width, height) = (image.width() as usize / k, image.height() as usize / k);
    let (out_row, in_row) = (width * 3, image.width() as usize * 3);
    let block = (k * k) as u32;
    let mut out = vec![0u8; out_row * height];
    let mut sums = vec![0u32; out_row];
    for (y, out_line) in out.chunks_exact_mut(out_row).enumerate() {
        sums.fill(0);
        for line in image.as_raw()[y * k * in_row..]
            .chunks_exact(in_row)
            .take(k)
        {
            for (sum, pixels) in sums.chunks_exact_mut(3).zip(line.chunks_exact(3 * k)) {
                for pixel in pixels.chunks_exact(3) {
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
    image::RgbImage::from_raw(width as u32, height as u32, out)
        .expect("the buffer has the image's size")
}

/// Whether a box of a pass was found on the pass's first pyramid level (narrower than
/// [`HOG_WINDOW`]), where HOG also answers for faces a level smaller, with a box a level too
/// large. The smaller side: a box over the frame's edge comes out wider.
fn on_first_level(face: &FaceBox) -> bool {
    (face.right - face.left).min(face.bottom - face.top) + 1 < i64::from(HOG_WINDOW)
}

/// A frame shrunk to a level of dlib's pyramid.
struct Pass {
    image: image::RgbImage,
    /// Frame pixels per pass pixel, across and down.
    ratio: (f64, f64),
}

impl Pass {
    /// `image` at `level`; `None` when that is smaller than HOG's window.
    fn of(image: &image::RgbImage, level: u32) -> Option<Pass> {
        let scale = level_scale(level);
        let (width, height) = (f64::from(image.width()), f64::from(image.height()));
        let target = ((width * scale).round(), (height * scale).round());
        if target.0 < f64::from(HOG_WINDOW) || target.1 < f64::from(HOG_WINDOW) {
            return None;
        }
        // The box filter does most of the shrinking: a bilinear resize by much more than 2
        // would skip pixels and alias.
        let factor = (1.01 / scale).floor().max(1.0) as u32;
        if factor >= 2 && ((width / f64::from(factor)) / target.0 - 1.0).abs() <= 0.01 {
            // Within 1 % of the level (a third for level 6): taken as the level, its boxes
            // mapped up as the full frame's of that level are.
            return Some(Pass {
                image: shrink(image, factor),
                ratio: (1.0 / scale, 1.0 / scale),
            });
        }
        let boxed = (factor >= 2).then(|| shrink(image, factor));
        Some(Pass {
            image: resize_bilinear(
                boxed.as_ref().unwrap_or(image),
                target.0 as u32,
                target.1 as u32,
            ),
            ratio: (width / target.0, height / target.1),
        })
    }

    /// A box of the pass in the frame's coordinates, mapped as dlib maps a box of a pyramid
    /// level up to the full frame (`p * r + 1.5 * (r - 1)` for a ratio `r`, the closed form of
    /// its `pyramid_down<6>::point_up` repeated), so that it lands where the full frame's
    /// would.
    fn to_frame(&self, face: &FaceBox) -> FaceBox {
        let up = |p: i64, r: f64| (p as f64 * r + 1.5 * (r - 1.0)).round() as i64;
        let (rx, ry) = self.ratio;
        FaceBox {
            left: up(face.left, rx),
            top: up(face.top, ry),
            right: up(face.right, rx),
            bottom: up(face.bottom, ry),
        }
    }
}

/// `image` resized by bilinear interpolation, pixel centres onto pixel centres: for the last
/// step of a shrink, by less than 2.
fn resize_bilinear(image: &image::RgbImage, width: u32, height: u32) -> image::RgbImage {
    // For each output column (row): the first input column (row) and the second's weight in
    // 1/256.
    let taps = |out: u32, from: u32| -> Vec<(usize, u32)> {
        let ratio = f64::from(from) / f64::from(out);
        let last = f64::from(from - 1);
        (0..out)
            .map(|i| {
                let at = ((f64::from(i) + 0.5) * ratio - 0.5).clamp(0.0, last);
                let first = at.floor();
                (first as usize, ((at - first) * 256.0).round() as u32)
            })
            .collect()
    };
    let (columns, rows) = (taps(width, image.width()), taps(height, image.height()));
    let last_column = image.width() as usize - 1;
    let last_row = image.height() as usize - 1;
    let stride = image.width() as usize * 3;
    let raw = image.as_raw();
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for &(y, wy) in &rows {
        let upper = &raw[y * stride..(y + 1) * stride];
        let lower_row = (y + 1).min(last_row);
        let lower = &raw[lower_row * stride..(lower_row + 1) * stride];
        for &(x, wx) in &columns {
            let (a, b) = (x * 3, (x + 1).min(last_column) * 3);
            for c in 0..3 {
                let top = u32::from(upper[a + c]) * (256 - wx) + u32::from(upper[b + c]) * wx;
                let bottom = u32::from(lower[a + c]) * (256 - wx) + u32::from(lower[b + c]) * wx;
                out.push(((top * (256 - wy) + bottom * wy + (1 << 15)) >> 16) as u8);
            }
        }
    }
    image::RgbImage::from_raw(width, height, out).expect("the buffer has the image's size")
}

/// `base` followed by the detection [`FaceEngine::describe`] uses.
fn with_detection_label(base: &str, detection: Detection) -> String {
    match detection {
        Detection::FullFrame => format!("{base}; full-frame detection"),
        Detection::Fast(fast) => format!(
            "{base}; fast detection (pyramid levels {} then {}, {} then {} on frames up to {} px, boxes above a pass's first level)",
            fast.levels[0], fast.levels[1], fast.small_frame_levels[0], fast.small_frame_levels[1], fast.small_frame_up_to
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

    /// A pass is the frame at a level of dlib's pyramid: box-filtered by 3 alone for level 6
    /// (within 1 %, its boxes mapped up by the level's 1.2^6), by 2 then resized for level 4,
    /// refused under HOG's window.
    #[test]
    fn a_pass_is_the_frame_at_a_level_of_the_pyramid() {
        let image = image::RgbImage::from_pixel(1200, 900, image::Rgb([90, 120, 150]));
        let check = |level: u32, expected: Option<(f64, f64)>| {
            let ratio = Pass::of(&image, level).map(|pass| pass.ratio);
            assert_eq!(ratio, expected, "level {level}");
        };
        let level_6 = 1.0 / (5.0f64 / 6.0).powi(6);
        check(6, Some((level_6, level_6)));
        check(4, Some((1200.0 / 579.0, 900.0 / 434.0)));
        check(1, Some((1.2, 900.0 / 750.0)));
        check(13, Some((1200.0 / 112.0, 900.0 / 84.0)));
        check(14, None);
    }

    /// A box of a pass lands where dlib's own pyramid puts it: `point_up` repeated `level`
    /// times is `p * 1.2^level + 1.5 * (1.2^level - 1)`.
    #[test]
    fn a_box_is_mapped_up_as_dlib_maps_it() {
        let image = image::RgbImage::from_pixel(1200, 900, image::Rgb([90, 120, 150]));
        let pass = Pass::of(&image, 6).expect("a pass");
        let face = FaceBox {
            left: 100,
            top: 40,
            right: 172,
            bottom: 112,
        };
        assert_eq!(
            pass.to_frame(&face),
            FaceBox {
                left: 302,
                top: 122,
                right: 517,
                bottom: 337,
            }
        );
        let mut p = 100.0f64;
        for _ in 0..6 {
            p = p * (6.0 / 5.0) + 0.3;
        }
        let closed = 100.0 * 1.2f64.powi(6) + 1.5 * (1.2f64.powi(6) - 1.0);
        assert!((p - closed).abs() < 1e-9, "{p} {closed}");
    }

    /// The bilinear resize keeps a picture of its own size and a flat colour as they are, and
    /// puts an output pixel between the input pixels its centre falls between.
    #[test]
    fn the_bilinear_resize_maps_centres_onto_centres() {
        let ramp = image::RgbImage::from_fn(10, 4, |x, _| image::Rgb([(x * 20) as u8, 7, 200]));
        assert_eq!(resize_bilinear(&ramp, 10, 4), ramp);
        let flat = image::RgbImage::from_pixel(31, 17, image::Rgb([90, 120, 150]));
        let small = resize_bilinear(&flat, 29, 16);
        assert!(small.pixels().all(|p| p.0 == [90, 120, 150]));
        // 10 columns onto 8: output column 0 is at input 0.125 (2.5), column 1 at 1.375 (27.5).
        let row: Vec<u8> = resize_bilinear(&ramp, 8, 4)
            .enumerate_pixels()
            .filter(|(_, y, _)| *y == 0)
            .map(|(_, _, p)| p[0])
            .collect();
        assert_eq!(row, [3, 28, 53, 78, 103, 128, 153, 178]);
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

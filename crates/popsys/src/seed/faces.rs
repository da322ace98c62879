//! Real faces for the fixed demo citizens: historical ID photos, studio receipts' certified photos
//! and the frames the simulated camera shows, from the test images of the PyPI
//! `face_recognition` 1.3.0 sdist that `scripts/setup/20-face.sh` unpacks into `.idkiosk/faces`
//! (the same folder as `face::demo::faces_dir`). Nothing here is committed or downloaded.
//!
//! The ID photos are cut from those pictures without a face detector (popsys does not link the
//! face engine): each picture's four eye-corner points, measured once with dlib's 5-point model,
//! are in [`SOURCES`], and the crop follows the GA 461 geometry of `face::crop_id_photo` (358 ×
//! 441, face width 207 px, eyes levelled and centred, eye line 200 px from the top, baseline JPEG
//! quality 70, 350 dpi). A certified studio photo is a second cut of the *same* picture (a little
//! wider, quality 90), so it scores far above 95 against the historical photo; the camera shows
//! *another* picture of the same person (a match above 60) or of someone else (a mismatch).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use store::CitizenBundle;

use super::fixed::demo;

/// A source picture and where its eyes are (outer and inner corner of each eye, in pixels of the
/// picture as `face_recognition` 1.3.0 ships it).
#[derive(Debug, Clone, Copy)]
struct Source {
    file: &'static str,
    width: u32,
    height: u32,
    /// The eye on the left of the picture: outer corner, inner corner.
    left_eye: [(f64, f64); 2],
    /// The eye on the right of the picture: outer corner, inner corner.
    right_eye: [(f64, f64); 2],
}

/// Measured with `face_recognition.face_landmarks(model="small")` (dlib's 5-point model, HOG
/// without upsampling) on the files of the sdist.
const SOURCES: [Source; 4] = [
    Source {
        file: "obama.jpg",
        width: 910,
        height: 1137,
        left_eye: [(424.0, 217.0), (464.0, 216.0)],
        right_eye: [(571.0, 217.0), (529.0, 215.0)],
    },
    Source {
        file: "obama2.jpg",
        width: 626,
        height: 1200,
        left_eye: [(232.0, 373.0), (276.0, 377.0)],
        right_eye: [(398.0, 387.0), (347.0, 383.0)],
    },
    Source {
        file: "obama3.jpg",
        width: 1434,
        height: 2333,
        left_eye: [(710.0, 389.0), (761.0, 389.0)],
        right_eye: [(881.0, 409.0), (834.0, 398.0)],
    },
    Source {
        file: "biden.jpg",
        width: 970,
        height: 2204,
        left_eye: [(510.0, 320.0), (556.0, 331.0)],
        right_eye: [(672.0, 355.0), (627.0, 347.0)],
    },
];

/// What a demo citizen's step 7 is meant to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The camera shows another picture of the person on record: live vs historical above 60.
    Match,
    /// The camera shows someone else: live vs historical below 60.
    Mismatch,
}

/// Which pictures a fixed demo citizen's photos come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoFacePlan {
    /// The citizen.
    pub id: &'static str,
    /// The picture the historical ID photo is cut from (`None`: no photo on record).
    pub historical: Option<&'static str>,
    /// The picture the certified photo of the citizen's receipt is cut from.
    pub certified: Option<&'static str>,
    /// The picture the simulated camera shows.
    pub camera: &'static str,
    /// What live vs historical should give.
    pub expect: Expect,
}

/// The demo citizens' faces. 王晓燕 and 赵桂兰 match (their receipts' certified photos are cuts of
/// the picture their historical photo comes from; the camera shows another picture of the same
/// man); 刘海波's camera shows another man. `obama2.jpg` is never a camera picture: its head is
/// turned 15.3°, so the kiosk's crop refuses it (`head_turned`).
pub const PLANS: [DemoFacePlan; 9] = [
    DemoFacePlan {
        id: demo::RENEWAL_IN_WINDOW,
        historical: Some("obama.jpg"),
        certified: Some("obama.jpg"),
        camera: "obama3.jpg",
        expect: Expect::Match,
    },
    DemoFacePlan {
        id: demo::LONG_TERM,
        historical: Some("obama3.jpg"),
        certified: Some("obama3.jpg"),
        camera: "obama.jpg",
        expect: Expect::Match,
    },
    DemoFacePlan {
        id: demo::PROVINCE_REGISTERED_REMOTE,
        historical: Some("biden.jpg"),
        certified: None,
        camera: "obama.jpg",
        expect: Expect::Mismatch,
    },
    DemoFacePlan {
        id: demo::PROVINCE_NOT_REGISTERED,
        historical: Some("biden.jpg"),
        certified: None,
        camera: "biden.jpg",
        expect: Expect::Match,
    },
    DemoFacePlan {
        id: demo::OUTSIDE_PROVINCE,
        historical: Some("obama2.jpg"),
        certified: None,
        camera: "obama3.jpg",
        expect: Expect::Match,
    },
    DemoFacePlan {
        id: demo::NO_HISTORY_PHOTO,
        historical: None,
        certified: Some("obama2.jpg"),
        camera: "obama.jpg",
        expect: Expect::Match,
    },
    DemoFacePlan {
        id: demo::EXPIRED_LONG_AGO,
        historical: Some("obama3.jpg"),
        certified: None,
        camera: "obama.jpg",
        expect: Expect::Match,
    },
    DemoFacePlan {
        id: demo::APPLICATION_IN_PROGRESS,
        historical: Some("obama.jpg"),
        certified: None,
        camera: "obama3.jpg",
        expect: Expect::Match,
    },
    DemoFacePlan {
        id: demo::DECEASED,
        historical: Some("biden.jpg"),
        certified: None,
        camera: "biden.jpg",
        expect: Expect::Match,
    },
];

/// The plan of a fixed demo citizen, if it has faces.
pub fn plan(id: &str) -> Option<&'static DemoFacePlan> {
    let id = id.trim().to_uppercase();
    PLANS.iter().find(|p| p.id == id)
}

/// The folder of the demo faces: `$IDKIOSK_FACES_DIR`, else `.idkiosk/faces` under
/// `$IDKIOSK_ROOT`, under the current directory if it has one, else under the source checkout
/// (the same lookup as `face::paths::faces_dir`, which popsys does not link).
pub fn faces_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IDKIOSK_FACES_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(root) = std::env::var_os("IDKIOSK_ROOT").filter(|v| !v.is_empty()) {
        return PathBuf::from(root).join(".idkiosk").join("faces");
    }
    let here = Path::new(".idkiosk").join("faces");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.idkiosk/faces")
}

/// The picture the simulated camera shows for a fixed demo citizen, in [`faces_dir`]; `None` for
/// other numbers or when the file is not there (run `scripts/setup/20-face.sh`).
pub fn camera_image(id: &str) -> Option<PathBuf> {
    camera_image_in(&faces_dir(), id)
}

/// [`camera_image`] in another faces folder.
pub fn camera_image_in(dir: &Path, id: &str) -> Option<PathBuf> {
    let path = dir.join(plan(id)?.camera);
    path.is_file().then_some(path)
}

/// The bytes of [`camera_image`] (a JPEG, unchanged).
pub fn camera_jpeg(id: &str) -> Option<Vec<u8>> {
    std::fs::read(camera_image(id)?).ok()
}

/// Where the kiosk camera's view of a picture is kept (made once, see [`camera_frame`]); the
/// version changes with the framing.
const FRAME_DIR: &str = "kiosk-camera-v1";
/// The kiosk camera's frame: 3 : 4 portrait, as the touchscreen's preview box.
const FRAME_ASPECT: f64 = 3.0 / 4.0;
/// The face's width (1.52 × the outer-eye-corner distance, as the ID photo counts it) as a
/// share of the frame's width: well inside the preview's oval (63 % of its width).
const FRAME_FACE_SHARE: f64 = 0.40;
/// Where the eyes' midpoint falls, as shares of the frame: centred, a little above the middle,
/// so the face sits in the oval (centre at 46 % of the height).
const FRAME_EYES_AT: (f64, f64) = (0.5, 0.40);

/// What the kiosk's camera sees of a fixed demo citizen: the demo pictures are full-length press
/// photos with the head in the top fifth, but a kiosk camera is mounted at face height and framed
/// on head and shoulders, so its preview puts the face in the touchscreen's oval. The frame is a
/// 3 : 4 window of [`camera_image`] around the face, pixel for pixel (no resampling, so the
/// kiosk's own crop and face comparison see the same pixels), rows or columns beyond the picture
/// repeating its edge. Made once into `kiosk-camera-v1/` of [`faces_dir`]; falls back to the
/// picture itself when that folder cannot be written.
pub fn camera_frame(id: &str) -> Option<PathBuf> {
    camera_frame_in(&faces_dir(), id)
}

/// [`camera_frame`] in another faces folder.
pub fn camera_frame_in(dir: &Path, id: &str) -> Option<PathBuf> {
    let picture_path = camera_image_in(dir, id)?;
    let file = plan(id)?.camera;
    let framed = dir.join(FRAME_DIR).join(file);
    if framed.is_file() {
        return Some(framed);
    }
    let made = SOURCES
        .iter()
        .find(|s| s.file == file)
        .and_then(|source| Some(kiosk_view(&decode(dir, source).ok()?, source)))
        .and_then(|jpeg| {
            let folder = framed.parent()?;
            std::fs::create_dir_all(folder).ok()?;
            let tmp = folder.join(format!(".{file}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, jpeg).ok()?;
            std::fs::rename(&tmp, &framed).ok()
        });
    Some(if made.is_some() { framed } else { picture_path })
}

/// The 3 : 4 window of `picture` that puts the face at [`FRAME_EYES_AT`] with
/// [`FRAME_FACE_SHARE`] of the width, as a JPEG (quality 92).
fn kiosk_view(picture: &Rgb, source: &Source) -> Vec<u8> {
    let outer = (source.right_eye[0].0 - source.left_eye[0].0)
        .hypot(source.right_eye[0].1 - source.left_eye[0].1);
    let width = (1.52 * outer / FRAME_FACE_SHARE).round() as usize;
    let height = (width as f64 / FRAME_ASPECT).round() as usize;
    let eyes = (
        (source.left_eye[0].0 + source.right_eye[0].0) / 2.0,
        (source.left_eye[0].1 + source.right_eye[0].1) / 2.0,
    );
    let left = (eyes.0 - FRAME_EYES_AT.0 * width as f64).round() as i64;
    let top = (eyes.1 - FRAME_EYES_AT.1 * height as f64).round() as i64;
    let clamp = |v: i64, max: usize| v.clamp(0, max as i64 - 1) as usize;
    let mut out = Vec::with_capacity(width * height * 3);
    for v in 0..height {
        let y = clamp(top + v as i64, picture.height);
        for u in 0..width {
            let x = clamp(left + u as i64, picture.width);
            let at = (y * picture.width + x) * 3;
            out.extend_from_slice(&picture.pixels[at..at + 3]);
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 92)
        .encode(
            &out,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap_or_else(|e| panic!("encoding a {width}x{height} RGB JPEG into memory failed: {e}"));
    jpeg
}

/// Why the demo photos could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FacesError {
    /// The faces folder or a picture is missing or unreadable.
    #[error("{path}: {error} (run scripts/setup/20-face.sh)")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        error: std::io::Error,
    },
    /// A picture is not the file of `face_recognition` 1.3.0 (other size, or not a JPEG).
    #[error("{path}: {why}")]
    Picture {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// An RGB picture.
struct Rgb {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

fn decode(dir: &Path, source: &Source) -> Result<Rgb, FacesError> {
    let path = dir.join(source.file);
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|error| FacesError::Io {
        path: shown.clone(),
        error,
    })?;
    let bad = |why: String| FacesError::Picture {
        path: shown.clone(),
        why,
    };
    let mut decoder = jpeg_decoder::Decoder::new(&bytes[..]);
    let pixels = decoder.decode().map_err(|e| bad(e.to_string()))?;
    let info = decoder
        .info()
        .ok_or_else(|| bad("no image header".into()))?;
    if (u32::from(info.width), u32::from(info.height)) != (source.width, source.height) {
        return Err(bad(format!(
            "{}x{}, expected {}x{} (not face_recognition 1.3.0's file)",
            info.width, info.height, source.width, source.height
        )));
    }
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&g| [g, g, g]).collect(),
        other => return Err(bad(format!("unsupported pixel format {other:?}"))),
    };
    Ok(Rgb {
        width: usize::from(info.width),
        height: usize::from(info.height),
        pixels,
    })
}

/// ID photo size (GA 461).
const OUT_W: usize = 358;
const OUT_H: usize = 441;

/// Cuts a 358 × 441 ID photo: face width (1.52 × the outer-eye-corner distance) scaled to
/// `face_width` px, eyes levelled, their midpoint at (179, `eye_line`); outside the picture is
/// white. Bilinear sampling (the demo pictures shrink by 0.8–0.95).
fn id_photo(
    picture: &Rgb,
    source: &Source,
    face_width: f64,
    eye_line: f64,
    quality: u8,
) -> Vec<u8> {
    let centre = |eye: [(f64, f64); 2]| ((eye[0].0 + eye[1].0) / 2.0, (eye[0].1 + eye[1].1) / 2.0);
    let (l, r) = (centre(source.left_eye), centre(source.right_eye));
    let (dx, dy) = (
        source.right_eye[0].0 - source.left_eye[0].0,
        source.right_eye[0].1 - source.left_eye[0].1,
    );
    let outer = dx.hypot(dy);
    let scale = face_width / (1.52 * outer); // output px per source px
    let angle = dy.atan2(dx);
    let (sin, cos) = angle.sin_cos();
    let mid = ((l.0 + r.0) / 2.0, (l.1 + r.1) / 2.0);
    let mut out = Vec::with_capacity(OUT_W * OUT_H * 3);
    for v in 0..OUT_H {
        for u in 0..OUT_W {
            let x = (u as f64 + 0.5 - OUT_W as f64 / 2.0) / scale;
            let y = (v as f64 + 0.5 - eye_line) / scale;
            let sx = mid.0 + x * cos - y * sin - 0.5;
            let sy = mid.1 + x * sin + y * cos - 0.5;
            out.extend_from_slice(&sample(picture, sx, sy));
        }
    }
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, quality);
    encoder.set_density(jpeg_encoder::Density::Inch { x: 350, y: 350 });
    encoder
        .encode(
            &out,
            OUT_W as u16,
            OUT_H as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap_or_else(|e| panic!("encoding a 358x441 RGB JPEG into memory failed: {e}"));
    jpeg
}

fn sample(picture: &Rgb, x: f64, y: f64) -> [u8; 3] {
    let (w, h) = (picture.width as f64, picture.height as f64);
    if x < -0.5 || y < -0.5 || x > w - 0.5 || y > h - 0.5 {
        return [255, 255, 255];
    }
    let (x, y) = (x.clamp(0.0, w - 1.0), y.clamp(0.0, h - 1.0));
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = (
        (x0 + 1).min(picture.width - 1),
        (y0 + 1).min(picture.height - 1),
    );
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let px =
        |x: usize, y: usize, c: usize| f64::from(picture.pixels[(y * picture.width + x) * 3 + c]);
    let mut rgb = [0u8; 3];
    for (c, value) in rgb.iter_mut().enumerate() {
        let top = px(x0, y0, c) * (1.0 - fx) + px(x1, y0, c) * fx;
        let bottom = px(x0, y1, c) * (1.0 - fx) + px(x1, y1, c) * fx;
        *value = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    rgb
}

/// The photos made from one picture.
struct Cuts {
    historical: Vec<u8>,
    certified: Vec<u8>,
}

fn cuts(dir: &Path, file: &str) -> Result<Cuts, FacesError> {
    let source = SOURCES
        .iter()
        .find(|s| s.file == file)
        .unwrap_or_else(|| panic!("demo face plan names {file}, which has no measured eyes"));
    let picture = decode(dir, source)?;
    Ok(Cuts {
        // The bureau's photo: GA 461 geometry, quality 70.
        historical: id_photo(&picture, source, 207.0, 200.0, 70),
        // The studio's: the same picture cut a little smaller and lower, quality 90.
        certified: id_photo(&picture, source, 200.0, 206.0, 90),
    })
}

/// The historical ID photo of a fixed demo citizen (358 × 441 JPEG) cut from [`faces_dir`].
pub fn historical_photo(id: &str) -> Result<Option<Vec<u8>>, FacesError> {
    let Some(file) = plan(id).and_then(|p| p.historical) else {
        return Ok(None);
    };
    cuts(&faces_dir(), file).map(|c| Some(c.historical))
}

/// The certified photo on a fixed demo citizen's studio receipt (358 × 441 JPEG).
pub fn certified_photo(id: &str) -> Result<Option<Vec<u8>>, FacesError> {
    let Some(file) = plan(id).and_then(|p| p.certified) else {
        return Ok(None);
    };
    cuts(&faces_dir(), file).map(|c| Some(c.certified))
}

/// The photo the demo's photo studio takes of a fixed demo citizen (a new receipt's certified
/// photo, 358 × 441 JPEG): cut from the picture of their receipt's certified photo, else from the
/// picture of their historical photo (the same person, so it matches it as a certified photo
/// must). `None` for other numbers and citizens without a picture.
pub fn studio_photo(id: &str) -> Result<Option<Vec<u8>>, FacesError> {
    let Some(file) = plan(id).and_then(|p| p.certified.or(p.historical)) else {
        return Ok(None);
    };
    cuts(&faces_dir(), file).map(|c| Some(c.certified))
}

/// A blank 358 × 441 ID photo (light grey JPEG): what the demo's photo studio uploads when it
/// has no picture of the citizen (the demo faces are not installed, or not a fixed citizen). A
/// receipt with it passes step 6; step 7's comparison cannot.
pub fn blank_photo() -> Vec<u8> {
    let pixels = vec![235u8; OUT_W * OUT_H * 3];
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(
            &pixels,
            OUT_W as u16,
            OUT_H as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap_or_else(|e| panic!("encoding a 358x441 RGB JPEG into memory failed: {e}"));
    jpeg
}

/// Puts the photos of [`PLANS`] into the fixed demo citizens' bundles (their historical photo
/// records and their receipts), from the pictures in `dir`. Returns how many photos were set.
/// On an error nothing is changed.
pub fn attach_faces(bundles: &mut [CitizenBundle], dir: &Path) -> Result<u64, FacesError> {
    let mut made: HashMap<&'static str, Cuts> = HashMap::new();
    for plan in &PLANS {
        for file in [plan.historical, plan.certified].into_iter().flatten() {
            if !made.contains_key(file) {
                made.insert(file, cuts(dir, file)?);
            }
        }
    }
    let mut count = 0;
    for bundle in bundles.iter_mut() {
        let Some(plan) = plan(bundle.citizen.id.as_str()) else {
            continue;
        };
        if let Some(cut) = plan.historical.and_then(|f| made.get(f)) {
            for photo in &mut bundle.history_photos {
                photo.jpeg = Some(cut.historical.clone());
                count += 1;
            }
        }
        if let Some(cut) = plan.certified.and_then(|f| made.get(f)) {
            for receipt in &mut bundle.receipts {
                receipt.jpeg = Some(cut.certified.clone());
                count += 1;
            }
        }
    }
    Ok(count)
}

//! Helpers shared by the face tests: the engine, the real test faces, and hand-made files.

use std::path::PathBuf;
use std::sync::Arc;

use face::{DecodeLimits, DlibEngine, Picture};

/// Whether what the engine tests need is installed (scripts/setup/20-face.sh): the dlib weights,
/// the liveness models with their sample frames, and the test faces. Outside CI a missing one
/// reports `test` as skipped and the test returns; under CI it fails
/// (`store::testing::require`, the policy of every resource a test needs from the machine).
pub fn models_and_faces(test: &str) -> bool {
    let found = DlibEngine::shared()
        .and_then(|_| face::liveness::MiniFasNetEngine::shared())
        .map_err(|e| e.to_string())
        .and_then(|_| {
            store::testing::file(
                face::paths::faces_dir().join("obama.jpg"),
                "scripts/setup/20-face.sh",
            )
        });
    store::testing::require(
        test,
        "the face models and test faces (scripts/setup/20-face.sh)",
        found,
    )
    .is_some()
}

/// The process-wide engine (after [`models_and_faces`]).
pub fn engine() -> Arc<DlibEngine> {
    DlibEngine::shared().unwrap_or_else(|e| {
        panic!("{e}\nthe face tests need the dlib weights: run scripts/setup/20-face.sh (scripts/test.sh does)")
    })
}

/// A real test face from `face_recognition` 1.3.0's test images.
pub fn face_path(name: &str) -> PathBuf {
    let path = face::paths::faces_dir().join(name);
    assert!(
        path.is_file(),
        "test face {} missing: run scripts/setup/20-face.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A test face, decoded.
pub fn picture(name: &str) -> Picture {
    Picture::open(face_path(name), &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

/// A fresh scratch folder under the system temp dir, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "idkiosk-face-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A valid baseline greyscale JPEG of any size whose every 8 × 8 block is mid-grey, written
/// directly (two bits per block), so a 12,000 × 12,000 picture costs 2 MB to make, not 144 MB.
pub fn flat_grey_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    // Quantisation table 0: all ones.
    out.extend([0xFF, 0xDB, 0x00, 0x43, 0x00]);
    out.extend([1u8; 64]);
    // Baseline frame, one component, 1x1 sampling, table 0.
    out.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    out.extend(height.to_be_bytes());
    out.extend(width.to_be_bytes());
    out.extend([0x01, 0x01, 0x11, 0x00]);
    // Huffman tables with one symbol each, code "0": DC category 0 and AC end-of-block.
    for class_and_id in [0x00u8, 0x10] {
        out.extend([0xFF, 0xC4, 0x00, 0x14, class_and_id]);
        let mut counts = [0u8; 16];
        counts[0] = 1;
        out.extend(counts);
        out.push(0x00);
    }
    // Scan: component 1 with tables 0/0, full spectral range.
    out.extend([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    let blocks = u64::from(width.div_ceil(8)) * u64::from(height.div_ceil(8));
    // Two zero bits per block; pad the last byte with ones as the standard asks.
    let bits = blocks * 2;
    out.resize(out.len() + (bits / 8) as usize, 0);
    if bits % 8 != 0 {
        out.push(0xFF >> (bits % 8));
    }
    out.extend([0xFF, 0xD9]);
    out
}

/// Encodes an RGB image as a JPEG (quality 90).
pub fn jpeg_of(image: &image::RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ColorType::Rgb8,
        )
        .expect("encode jpeg");
    bytes
}

/// Encodes any image as a PNG, keeping its colour type (alpha, grey, 16 bits).
pub fn png_of(image: &image::DynamicImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageOutputFormat::Png)
        .expect("encode png");
    bytes.into_inner()
}

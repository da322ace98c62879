//! Where the model weights and the test faces live. `scripts/setup/20-face.sh` puts them under
//! `.idkiosk/` at the workspace root; `IDKIOSK_MODELS_DIR` and `IDKIOSK_FACES_DIR` override that.

use std::path::{Path, PathBuf};

/// The folder of the dlib weights: `$IDKIOSK_MODELS_DIR`, else `.idkiosk/models` under
/// `$IDKIOSK_ROOT`, under the current directory if it has one, else under the source checkout
/// this binary was built from.
pub fn models_dir() -> PathBuf {
    resolve("IDKIOSK_MODELS_DIR", "models")
}

/// The folder of the test faces (`face_recognition` 1.3.0's `tests/test_images`):
/// `$IDKIOSK_FACES_DIR`, else `.idkiosk/faces`, looked up like [`models_dir`].
pub fn faces_dir() -> PathBuf {
    resolve("IDKIOSK_FACES_DIR", "faces")
}

/// The source checkout this crate was built from (two levels above `crates/face`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn resolve(var: &str, leaf: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(root) = std::env::var_os("IDKIOSK_ROOT").filter(|v| !v.is_empty()) {
        return PathBuf::from(root).join(".idkiosk").join(leaf);
    }
    let here = Path::new(".idkiosk").join(leaf);
    if here.is_dir() {
        return here;
    }
    workspace_root().join(".idkiosk").join(leaf)
}

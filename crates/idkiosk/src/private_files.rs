//! Files and folders only their owner may read (issue 14): secrets, keys, databases and the
//! folders that hold them. `main` also sets the umask to 0o077, so everything the binary and its
//! children (the kiosk agent, ffmpeg, SQLite's `-wal` and `-shm`) create is private; these
//! helpers say so explicitly where a secret is written, whatever the umask.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use anyhow::Context;

/// Creates `dir` and its missing parents with mode 0700 (an existing folder is left as it is).
pub fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Writes `bytes` to `path`, created or replaced with mode 0600 (the demo's files).
#[cfg(feature = "sim")]
pub fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // An existing file keeps its mode through open: tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(bytes))
        .with_context(|| format!("writing {}", path.display()))
}

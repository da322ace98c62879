//! Checkpoints: the audit chain's head anchored outside the database (docs/staff.md, "Anchoring
//! the chain").
//!
//! A checkpoint says "at time T the chain had N entries and entry N's hash was H", signed with an
//! Ed25519 key that is not in the database. Checkpoints are appended, one JSON line each, to a file
//! opened `O_APPEND` (make it append-only with `chattr +a`, or ship its lines to the fleet
//! operator). Someone who can rewrite the database but holds neither the key nor the file cannot
//! make [`crate::Store::verify_audit_anchored`] pass a chain that is shorter than a checkpoint,
//! emptied, or rewritten up to a checkpointed entry.
//!
//! Invariants:
//! - The signed bytes are [`Checkpoint::message`], a compact JSON array with a version tag.
//! - [`AuditAnchor`] never writes a checkpoint with fewer entries than the last one it wrote or
//!   read back from its file: a rewound database is reported (logged), never anchored.
//! - Verification trusts only a public key given by the caller, never a key named in the file.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

use super::hex;

/// The head of the chain at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unix seconds when it was taken.
    pub at: i64,
    /// How many entries the chain had (the head's `seq`).
    pub entries: i64,
    /// The hash of entry `entries` (64 zeros for an empty chain).
    pub head: String,
}

impl Checkpoint {
    /// The signed bytes: `["idkiosk-audit-checkpoint-v1",at,entries,head]` as compact JSON.
    pub fn message(&self) -> String {
        serde_json::json!([
            "idkiosk-audit-checkpoint-v1",
            self.at,
            self.entries,
            self.head
        ])
        .to_string()
    }

    /// `checkpoint 2026-11-25T08:00:00Z covers 57 entries with head hash 1f2e…`.
    pub fn describe(&self) -> String {
        let at = time::OffsetDateTime::from_unix_timestamp(self.at)
            .ok()
            .and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.at.to_string());
        format!(
            "checkpoint {at} covers {} entries with head hash {}",
            self.entries, self.head
        )
    }
}

/// A checkpoint with its signature, as one line of the checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What is signed.
    pub checkpoint: Checkpoint,
    /// The signer's public key (hex), for the reader's information only.
    pub key: String,
    /// The Ed25519 signature of [`Checkpoint::message`].
    pub signature: Vec<u8>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    v: u32,
    at: i64,
    entries: i64,
    head: String,
    key: String,
    sig: String,
}

impl SignedCheckpoint {
    /// The file line (JSON, no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(&Line {
            v: 1,
            at: self.checkpoint.at,
            entries: self.checkpoint.entries,
            head: self.checkpoint.head.clone(),
            key: self.key.clone(),
            sig: BASE64.encode(&self.signature),
        })
        .unwrap_or_default()
    }

    /// Parses a file line.
    pub fn from_line(line: &str) -> Result<SignedCheckpoint, String> {
        let line: Line =
            serde_json::from_str(line).map_err(|err| format!("not a checkpoint: {err}"))?;
        if line.v != 1 {
            return Err(format!("unknown checkpoint version {}", line.v));
        }
        let signature = BASE64
            .decode(&line.sig)
            .map_err(|_| "sig is not base64".to_owned())?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                at: line.at,
                entries: line.entries,
                head: line.head,
            },
            key: line.key,
            signature,
        })
    }
}

/// What reading keys and checkpoint files can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A key file does not hold a usable key.
    #[error("{path}: {why}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A line of the checkpoint file does not parse or its signature does not verify.
    #[error("checkpoint line {line} of {path}: {why}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why (`bad signature: forged or damaged`, …).
        why: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The private signing key (Ed25519, PKCS#8), kept in a 0600 file apart from the database.
pub struct CheckpointSigner {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("public_key", &self.public_key().to_hex())
            .finish()
    }
}

impl CheckpointSigner {
    /// Creates a new key file (mode 0600, never overwritten) and `<file>.pub` with the public key.
    pub fn create(path: &Path) -> Result<CheckpointSigner, CheckpointError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| CheckpointError::BadKey {
            path: path.to_owned(),
            why: "no randomness for a new key".into(),
        })?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io_error(path))?;
        writeln!(
            file,
            "# idkiosk audit checkpoint key (Ed25519, PKCS#8, base64); keep apart from the database\n{}",
            BASE64.encode(pkcs8.as_ref())
        )
        .and_then(|()| file.sync_all())
        .map_err(io_error(path))?;
        let signer = CheckpointSigner::open(path)?;
        let public = public_key_path(path);
        std::fs::write(&public, format!("{}\n", signer.public_key().to_hex()))
            .map_err(io_error(&public))?;
        Ok(signer)
    }

    /// Reads a key file written by [`CheckpointSigner::create`].
    pub fn open(path: &Path) -> Result<CheckpointSigner, CheckpointError> {
        let text = std::fs::read_to_string(path).map_err(io_error(path))?;
        let bad = |why: &str| CheckpointError::BadKey {
            path: path.to_owned(),
            why: why.to_owned(),
        };
        let line = first_value_line(&text).ok_or_else(|| bad("no key in the file"))?;
        let pkcs8 = BASE64
            .decode(line)
            .map_err(|_| bad("the key is not base64"))?;
        let pair =
            Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| bad("not an Ed25519 PKCS#8 key"))?;
        Ok(CheckpointSigner { pair })
    }

    /// Opens the key file, creating it (and `<file>.pub`) when it does not exist yet.
    pub fn open_or_create(path: &Path) -> Result<CheckpointSigner, CheckpointError> {
        if path.exists() {
            CheckpointSigner::open(path)
        } else {
            CheckpointSigner::create(path)
        }
    }

    /// The public key verifiers need.
    pub fn public_key(&self) -> CheckpointPublicKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        CheckpointPublicKey(key)
    }

    /// Signs a checkpoint.
    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let signature = self.pair.sign(checkpoint.message().as_bytes());
        SignedCheckpoint {
            checkpoint,
            key: self.public_key().to_hex(),
            signature: signature.as_ref().to_vec(),
        }
    }
}

/// `<key file>.pub`.
pub fn public_key_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn first_value_line(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
}

/// An Ed25519 public key that checkpoints must verify under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPublicKey([u8; 32]);

impl CheckpointPublicKey {
    /// 64 hex digits.
    pub fn parse_hex(text: &str) -> Option<CheckpointPublicKey> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(CheckpointPublicKey(key))
    }

    /// Reads a `.pub` file (the first line that is not a comment), or a private key file.
    pub fn from_file(path: &Path) -> Result<CheckpointPublicKey, CheckpointError> {
        let text = std::fs::read_to_string(path).map_err(io_error(path))?;
        if let Some(key) = first_value_line(&text).and_then(CheckpointPublicKey::parse_hex) {
            return Ok(key);
        }
        CheckpointSigner::open(path)
            .map(|signer| signer.public_key())
            .map_err(|_| CheckpointError::BadKey {
                path: path.to_owned(),
                why: "neither a public key (64 hex digits) nor a checkpoint key".into(),
            })
    }

    /// 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Whether the signature is this key's over the checkpoint.
    pub fn verifies(&self, signed: &SignedCheckpoint) -> bool {
        UnparsedPublicKey::new(&ED25519, self.0)
            .verify(signed.checkpoint.message().as_bytes(), &signed.signature)
            .is_ok()
    }
}

/// Reads every checkpoint of a file, oldest first, each verified under `key`. A line that does
/// not parse or verify fails the whole read (naming the line): a forged checkpoint is an attack,
/// not noise. A missing file is an I/O error.
pub fn read_checkpoints(
    path: &Path,
    key: &CheckpointPublicKey,
) -> Result<Vec<Checkpoint>, CheckpointError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| CheckpointError::BadLine {
            path: path.to_owned(),
            line: index + 1,
            why,
        };
        let signed = SignedCheckpoint::from_line(line).map_err(bad)?;
        if !key.verifies(&signed) {
            return Err(bad(format!(
                "bad signature on {}: forged or damaged",
                signed.checkpoint.describe()
            )));
        }
        out.push(signed.checkpoint);
    }
    Ok(out)
}

/// Appends one line to the checkpoint file (created 0600), flushed to disk.
pub fn append_checkpoint(path: &Path, signed: &SignedCheckpoint) -> Result<(), CheckpointError> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    // One write of one line: appends from several processes do not interleave.
    file.write_all(format!("{}\n", signed.to_line()).as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(io_error(path))
}

/// How often the center writes a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchorPolicy {
    /// After at most this many new entries (default 100).
    pub every_entries: i64,
    /// And at least this often, in seconds, even without new entries (default 3600).
    pub every_secs: i64,
}

impl Default for AnchorPolicy {
    fn default() -> AnchorPolicy {
        AnchorPolicy {
            every_entries: 100,
            every_secs: 3600,
        }
    }
}

/// What [`AuditAnchor::offer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchored {
    /// A checkpoint was written.
    Written(Checkpoint),
    /// Not due yet.
    NotDue,
    /// Refused: the head offered is behind the last checkpoint (the database was rewound).
    Behind {
        /// The last checkpoint written or read back.
        last: Checkpoint,
    },
}

/// The center's writer of checkpoints: a signing key, a checkpoint file and a policy.
#[derive(Debug)]
pub struct AuditAnchor {
    signer: CheckpointSigner,
    file: PathBuf,
    policy: AnchorPolicy,
    last: Mutex<Option<Checkpoint>>,
}

impl AuditAnchor {
    /// Opens (or creates) the key and reads the file's last checkpoint back, if any, so the next
    /// checkpoint is never behind it.
    pub fn open(
        key_file: &Path,
        checkpoint_file: &Path,
        policy: AnchorPolicy,
    ) -> Result<AuditAnchor, CheckpointError> {
        let signer = CheckpointSigner::open_or_create(key_file)?;
        let last = if checkpoint_file.exists() {
            read_checkpoints(checkpoint_file, &signer.public_key())?
                .into_iter()
                .max_by_key(|c| (c.entries, c.at))
        } else {
            None
        };
        Ok(AuditAnchor {
            signer,
            file: checkpoint_file.to_owned(),
            policy,
            last: Mutex::new(last),
        })
    }

    /// The checkpoint file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The key verifiers use.
    pub fn public_key(&self) -> CheckpointPublicKey {
        self.signer.public_key()
    }

    /// The chain's head is now (`entries`, `head`): writes a checkpoint if `every_entries` new
    /// entries or `every_secs` passed since the last one (or `force`).
    pub fn offer(
        &self,
        entries: i64,
        head: &str,
        now: i64,
        force: bool,
    ) -> Result<Anchored, CheckpointError> {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(previous) = last.as_ref() {
            if entries < previous.entries {
                return Ok(Anchored::Behind {
                    last: previous.clone(),
                });
            }
            let due = force
                || entries - previous.entries >= self.policy.every_entries
                || now - previous.at >= self.policy.every_secs;
            if !due {
                return Ok(Anchored::NotDue);
            }
        }
        let checkpoint = Checkpoint {
            at: now,
            entries,
            head: head.to_owned(),
        };
        append_checkpoint(&self.file, &self.signer.sign(checkpoint.clone()))?;
        *last = Some(checkpoint.clone());
        Ok(Anchored::Written(checkpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_under_its_key_only() {
        let dir = std::env::temp_dir().join(format!("idk-cp-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let signer = CheckpointSigner::create(&dir.join("audit.key")).unwrap();
        let other = CheckpointSigner::create(&dir.join("other.key")).unwrap();
        let public = CheckpointPublicKey::from_file(&dir.join("audit.key.pub")).unwrap();
        assert_eq!(public, signer.public_key());
        let signed = signer.sign(Checkpoint {
            at: 1_795_000_000,
            entries: 57,
            head: "ab".repeat(32),
        });
        let line = signed.to_line();
        let back = SignedCheckpoint::from_line(&line).unwrap();
        assert!(public.verifies(&back));
        assert!(!other.public_key().verifies(&back));
        let mut forged = back.clone();
        forged.checkpoint.entries = 58;
        assert!(!public.verifies(&forged));
        // Never overwritten.
        assert!(CheckpointSigner::create(&dir.join("audit.key")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

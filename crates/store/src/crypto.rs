//! Envelope encryption at rest (DESIGN.md "Data and security"): every blob is encrypted with
//! AES-256-GCM under its own random 256-bit data key (DEK); the data key is wrapped (encrypted) by
//! a master key held by a [`KeyProvider`]. Rotating the master key rewraps data keys only; the
//! ciphertext of a blob never changes.
//!
//! - [`KeyProvider`] is the seam for a KMS or an HSM; [`FileKeyProvider`] is the default: a key
//!   file of versioned master keys, the newest current.
//! - [`EnvelopeCipher`] seals and opens self-describing byte strings without any database (the
//!   kiosk outbox, the photo columns of [`crate::Store`] through [`BlobCipher`]).
//! - [`crate::BlobStore`] keeps the wrapped key and nonce in a table and the ciphertext in an
//!   object store.
//!
//! The sealed format is documented in `docs/security.md`.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::blob::{BlobCipher, BlobError};

/// Length of a data key and of a master key (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM authentication tag.
pub const TAG_LEN: usize = 16;
/// The first bytes of a sealed value.
pub const SEALED_MAGIC: [u8; 4] = *b"IDKE";
/// The sealed format version this code writes and reads.
pub const SEALED_VERSION: u8 = 1;

/// What went wrong sealing or opening, wrapping or unwrapping.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key provider does not hold the master key a data key was wrapped with.
    #[error(
        "master key {0:?} is not available: the blob was sealed under a master key this key \
             provider does not hold (a different key file, or a key removed before every data key \
             was rewrapped)"
    )]
    UnknownKey(String),
    /// The wrapped data key did not authenticate under the master key it names.
    #[error("the data key wrapped under master key {0:?} cannot be unwrapped: wrong master key or tampered key metadata")]
    Unwrap(String),
    /// The ciphertext failed authentication.
    #[error("ciphertext authentication failed: the ciphertext was altered or truncated, or it belongs to another owner/kind")]
    Authentication,
    /// The bytes are not a sealed value of a format this code reads.
    #[error("not a sealed value: {0}")]
    Format(String),
    /// The key file cannot be read, written or trusted.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other failure of a key provider (a KMS that cannot be reached, …).
    #[error("key provider: {0}")]
    Provider(String),
}

/// A 256-bit data key; zeroed when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl DataKey {
    /// A new random data key (operating system randomness).
    pub fn generate() -> DataKey {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        DataKey(key)
    }

    /// A data key from its bytes (a key provider's unwrap).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    /// The key bytes (for a key provider to wrap).
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A data key wrapped by a master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The master key that wrapped it (at most 255 bytes of UTF-8).
    pub key_id: String,
    /// The wrapped key, opaque outside the provider (at most 65535 bytes).
    pub bytes: Vec<u8>,
}

/// Holds master keys and wraps data keys with them: the seam where a KMS or an HSM plugs in.
///
/// Calls are synchronous: an HSM (PKCS#11) is; a KMS implementation makes a blocking call (or
/// caches). A provider must be able to unwrap under every key id it ever returned from
/// [`KeyProvider::wrap`] until all data keys have been rewrapped away from it.
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// The master key new data keys are wrapped with.
    fn current_key_id(&self) -> Result<String, CryptoError>;
    /// `dek` wrapped with the current master key.
    fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError>;
    /// The data key that `wrapped` holds under master key `key_id`.
    fn unwrap(&self, key_id: &str, wrapped: &[u8]) -> Result<DataKey, CryptoError>;
    /// Makes a new master key current and returns its id, keeping the older ones for unwrapping.
    /// Providers whose keys are rotated elsewhere (in the KMS's console) keep this default,
    /// which refuses.
    fn rotate(&self) -> Result<String, CryptoError> {
        Err(CryptoError::Provider(
            "this key provider's master keys are rotated outside idkiosk".into(),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// AES-256-GCM primitives

/// A random 96-bit nonce.
pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    nonce
}

/// AES-256-GCM encryption: ciphertext followed by the 16-byte tag.
pub(crate) fn aead_seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    plain: &[u8],
    aad: &[u8],
) -> Vec<u8> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher
        .encrypt(Nonce::from_slice(nonce), Payload { msg: plain, aad })
        // Only fails for plaintexts beyond 64 GiB, which nothing here holds in memory.
        .expect("AES-GCM encryption of an in-memory buffer")
}

/// AES-256-GCM decryption; `None` when authentication fails.
pub(crate) fn aead_open(
    key: &[u8; KEY_LEN],
    nonce: &[u8],
    sealed: &[u8],
    aad: &[u8],
) -> Option<Vec<u8>> {
    if nonce.len() != NONCE_LEN || sealed.len() < TAG_LEN {
        return None;
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The key file

/// One master key of a key file.
struct MasterKey {
    version: u32,
    id: String,
    created: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

const KEY_FILE_HEADER: &str =
    "# idkiosk master keys (DESIGN.md \"Data and security\"; docs/security.md)\n\
# One key per line: VERSION CREATED BASE64(256-bit key). The highest version is current.\n\
# Keep this file 0600, back it up apart from the data, never commit it.\n";

/// The key id of a master key: its version and a fingerprint, so a blob sealed under another key
/// file's version 1 is reported as an unknown key rather than as a tampered one.
fn key_id(version: u32, key: &[u8; KEY_LEN]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"idkiosk master key id\0");
    hash.update(key);
    let digest = hash.finalize();
    let fingerprint: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("v{version}-{fingerprint}")
}

/// Associated data of a wrapped data key: binds it to the master key id.
fn wrap_aad(key_id: &str) -> Vec<u8> {
    let mut aad = b"idkiosk/dek/v1\0".to_vec();
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

/// What [`FileKeyProvider::status`] reports about one master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterKeyInfo {
    /// The key id stored next to every data key it wrapped.
    pub id: String,
    /// Its version in the key file.
    pub version: u32,
    /// When it was made (RFC 3339, as written in the file).
    pub created: String,
    /// Whether new data keys are wrapped with it.
    pub current: bool,
}

struct KeyRing {
    keys: Vec<MasterKey>,
    modified: Option<SystemTime>,
}

/// Master keys in a key file: versioned 256-bit keys, one per line, the newest current. The file
/// is created with mode 0600 and refused when group or others can read it.
///
/// Other processes may rotate the file (`idkiosk keys rotate`) while this one runs: the file is
/// re-read when it changed before wrapping, and when an unknown key id is asked for.
pub struct FileKeyProvider {
    path: PathBuf,
    ring: RwLock<KeyRing>,
}

impl fmt::Debug for FileKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKeyProvider")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileKeyProvider {
    /// Creates a new key file at `path` (mode 0600, failing if it exists) holding one master key.
    pub fn create(path: impl AsRef<Path>) -> Result<FileKeyProvider, CryptoError> {
        let path = path.as_ref().to_path_buf();
        let key = new_master_key(1);
        let text = render(std::slice::from_ref(&key));
        let mut file = open_private(&path, true)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|err| key_file_error(&path, format!("cannot write: {err}")))?;
        drop(file);
        FileKeyProvider::open(path)
    }

    /// Opens an existing key file.
    pub fn open(path: impl AsRef<Path>) -> Result<FileKeyProvider, CryptoError> {
        let path = path.as_ref().to_path_buf();
        let ring = read_ring(&path)?;
        Ok(FileKeyProvider {
            path,
            ring: RwLock::new(ring),
        })
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a new master key (the next version), which becomes current; returns its id. The file
    /// is rewritten atomically (a private temporary file renamed over it). Data keys wrapped with
    /// older keys stay readable; `BlobStore::rewrap_all` moves them to the new key.
    pub fn rotate(&self) -> Result<String, CryptoError> {
        let _lock = FileLock::take(&self.path)?;
        self.reload()?;
        let mut ring = self.ring.write().expect("key ring lock");
        let next = ring.keys.iter().map(|k| k.version).max().unwrap_or(0) + 1;
        let key = new_master_key(next);
        let id = key.id.clone();
        ring.keys.push(key);
        write_atomically(&self.path, &render(&ring.keys))?;
        ring.modified = modified(&self.path);
        Ok(id)
    }

    /// Removes the master key `key_id` from the file (never the current one). Only do this once no
    /// data key is wrapped with it any more (`idkiosk keys status`): what it wrapped is lost.
    pub fn remove(&self, key_id: &str) -> Result<(), CryptoError> {
        let _lock = FileLock::take(&self.path)?;
        self.reload()?;
        let mut ring = self.ring.write().expect("key ring lock");
        let current = current(&ring.keys).map(|k| k.id.clone());
        if current.as_deref() == Some(key_id) {
            return Err(key_file_error(
                &self.path,
                format!("{key_id} is the current master key and cannot be removed"),
            ));
        }
        let before = ring.keys.len();
        ring.keys.retain(|k| k.id != key_id);
        if ring.keys.len() == before {
            return Err(CryptoError::UnknownKey(key_id.to_owned()));
        }
        write_atomically(&self.path, &render(&ring.keys))?;
        ring.modified = modified(&self.path);
        Ok(())
    }

    /// Re-reads the key file.
    pub fn reload(&self) -> Result<(), CryptoError> {
        let ring = read_ring(&self.path)?;
        *self.ring.write().expect("key ring lock") = ring;
        Ok(())
    }

    /// The master keys, oldest first.
    pub fn status(&self) -> Vec<MasterKeyInfo> {
        let ring = self.ring.read().expect("key ring lock");
        let current = current(&ring.keys).map(|k| k.version);
        ring.keys
            .iter()
            .map(|k| MasterKeyInfo {
                id: k.id.clone(),
                version: k.version,
                created: k.created.clone(),
                current: Some(k.version) == current,
            })
            .collect()
    }

    /// The ids of every master key in the file, oldest first.
    pub fn key_ids(&self) -> Vec<String> {
        self.status().into_iter().map(|k| k.id).collect()
    }

    fn reload_if_changed(&self) -> Result<(), CryptoError> {
        let on_disk = modified(&self.path);
        let known = self.ring.read().expect("key ring lock").modified;
        if on_disk != known {
            self.reload()?;
        }
        Ok(())
    }

    fn with_key<T>(
        &self,
        key_id: &str,
        f: impl FnOnce(&MasterKey) -> T,
    ) -> Result<Option<T>, CryptoError> {
        let ring = self.ring.read().expect("key ring lock");
        Ok(ring.keys.iter().find(|k| k.id == key_id).map(f))
    }
}

impl KeyProvider for FileKeyProvider {
    fn current_key_id(&self) -> Result<String, CryptoError> {
        self.reload_if_changed()?;
        let ring = self.ring.read().expect("key ring lock");
        current(&ring.keys)
            .map(|k| k.id.clone())
            .ok_or_else(|| key_file_error(&self.path, "holds no master key".into()))
    }

    fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError> {
        self.reload_if_changed()?;
        let ring = self.ring.read().expect("key ring lock");
        let master = current(&ring.keys)
            .ok_or_else(|| key_file_error(&self.path, "holds no master key".into()))?;
        let nonce = random_nonce();
        let mut bytes = nonce.to_vec();
        bytes.extend(aead_seal(
            &master.key,
            &nonce,
            dek.as_bytes(),
            &wrap_aad(&master.id),
        ));
        Ok(WrappedKey {
            key_id: master.id.clone(),
            bytes,
        })
    }

    fn unwrap(&self, key_id: &str, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        let unwrap_with = |master: &MasterKey| {
            if wrapped.len() != NONCE_LEN + KEY_LEN + TAG_LEN {
                return None;
            }
            let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
            let plain = Zeroizing::new(aead_open(&master.key, nonce, sealed, &wrap_aad(key_id))?);
            let mut bytes = [0u8; KEY_LEN];
            bytes.copy_from_slice(&plain);
            Some(DataKey::from_bytes(bytes))
        };
        let mut found = self.with_key(key_id, unwrap_with)?;
        if found.is_none() {
            // Perhaps another process rotated the file since it was read.
            self.reload()?;
            found = self.with_key(key_id, unwrap_with)?;
        }
        match found {
            None => Err(CryptoError::UnknownKey(key_id.to_owned())),
            Some(None) => Err(CryptoError::Unwrap(key_id.to_owned())),
            Some(Some(dek)) => Ok(dek),
        }
    }

    fn rotate(&self) -> Result<String, CryptoError> {
        FileKeyProvider::rotate(self)
    }
}

fn current(keys: &[MasterKey]) -> Option<&MasterKey> {
    keys.iter().max_by_key(|k| k.version)
}

fn key_file_error(path: &Path, reason: String) -> CryptoError {
    CryptoError::KeyFile {
        path: path.to_path_buf(),
        reason,
    }
}

fn new_master_key(version: u32) -> MasterKey {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    let created = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into());
    MasterKey {
        version,
        id: key_id(version, &key),
        created,
        key,
    }
}

fn render(keys: &[MasterKey]) -> String {
    let mut text = String::from(KEY_FILE_HEADER);
    for k in keys {
        let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(*k.key));
        text.push_str(&format!("{} {} {}\n", k.version, k.created, *encoded));
    }
    text
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn read_ring(path: &Path) -> Result<KeyRing, CryptoError> {
    let metadata = std::fs::metadata(path)
        .map_err(|err| key_file_error(path, format!("cannot read: {err}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(key_file_error(
                path,
                format!("mode {mode:o} lets others read the master keys: chmod 600 it"),
            ));
        }
    }
    let modified = metadata.modified().ok();
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|err| key_file_error(path, format!("cannot read: {err}")))?,
    );
    let mut keys: Vec<MasterKey> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: &str| key_file_error(path, format!("line {}: {reason}", number + 1));
        let mut fields = line.split_whitespace();
        let (Some(version), Some(created), Some(encoded), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected VERSION CREATED KEY"));
        };
        let version: u32 = version
            .parse()
            .map_err(|_| bad("the version is not a number"))?;
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| bad("the key is not base64"))?,
        );
        let bytes: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| bad("the key is not 256 bits"))?;
        if keys.iter().any(|k| k.version == version) {
            return Err(bad("the version appears twice"));
        }
        let key = Zeroizing::new(bytes);
        keys.push(MasterKey {
            version,
            id: key_id(version, &key),
            created: created.to_owned(),
            key,
        });
    }
    if keys.is_empty() {
        return Err(key_file_error(path, "holds no master key".into()));
    }
    keys.sort_by_key(|k| k.version);
    Ok(KeyRing { keys, modified })
}

fn open_private(path: &Path, create_new: bool) -> Result<std::fs::File, CryptoError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|err| key_file_error(path, format!("cannot create: {err}")))
}

/// `KEYFILE.lock`, held while the key file is rewritten, so two rotations at once cannot lose a key.
struct FileLock(PathBuf);

impl FileLock {
    fn take(path: &Path) -> Result<FileLock, CryptoError> {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        match open_private(&lock, true) {
            Ok(_) => Ok(FileLock(lock)),
            Err(_) if lock.exists() => Err(key_file_error(
                path,
                format!(
                    "{} exists: another rotation is running (remove it if it is stale)",
                    lock.display()
                ),
            )),
            Err(err) => Err(err),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_atomically(path: &Path, text: &str) -> Result<(), CryptoError> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let _ = std::fs::remove_file(&temp);
    let mut file = open_private(&temp, true)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| key_file_error(&temp, format!("cannot write: {err}")))?;
    drop(file);
    std::fs::rename(&temp, path)
        .map_err(|err| key_file_error(path, format!("cannot replace: {err}")))
}

// ---------------------------------------------------------------------------------------------
// Self-describing sealed values

/// Seals and opens self-describing byte strings (no database needed):
///
/// ```text
/// "IDKE" | version 1 | key id length (1 byte) | key id | wrapped DEK length (u16 BE) |
/// wrapped DEK | nonce (12) | AES-256-GCM ciphertext and tag (16)
/// ```
///
/// The associated data of the ciphertext is the magic and version followed by the caller's
/// associated data (empty through [`BlobCipher`]), so a value sealed for one purpose does not
/// open for another. The key id and wrapped key are outside it: [`EnvelopeCipher::rewrap`] moves a
/// sealed value to the current master key without touching its ciphertext.
#[derive(Debug, Clone)]
pub struct EnvelopeCipher {
    keys: Arc<dyn KeyProvider>,
}

/// The header fields of a sealed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHeader {
    /// The master key the data key is wrapped with.
    pub key_id: String,
    /// The wrapped data key.
    pub wrapped_key: Vec<u8>,
    /// The nonce of the ciphertext.
    pub nonce: [u8; NONCE_LEN],
}

fn content_aad(associated: &[u8]) -> Vec<u8> {
    let mut aad = SEALED_MAGIC.to_vec();
    aad.push(SEALED_VERSION);
    aad.extend_from_slice(associated);
    aad
}

impl EnvelopeCipher {
    /// A cipher over the master keys of `keys`.
    pub fn new(keys: Arc<dyn KeyProvider>) -> EnvelopeCipher {
        EnvelopeCipher { keys }
    }

    /// The key provider.
    pub fn keys(&self) -> &Arc<dyn KeyProvider> {
        &self.keys
    }

    /// `plain` sealed under a new data key wrapped with the current master key.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal_with(plain, &[])
    }

    /// [`EnvelopeCipher::seal`] with associated data that must be given again to open.
    pub fn seal_with(&self, plain: &[u8], associated: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let dek = DataKey::generate();
        let wrapped = self.keys.wrap(&dek)?;
        let nonce = random_nonce();
        let mut out = encode_header(&wrapped, &nonce)?;
        out.extend(aead_seal(
            dek.as_bytes(),
            &nonce,
            plain,
            &content_aad(associated),
        ));
        Ok(out)
    }

    /// The plain bytes of a sealed value.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.open_with(sealed, &[])
    }

    /// [`EnvelopeCipher::open`] of a value sealed with associated data.
    pub fn open_with(&self, sealed: &[u8], associated: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (header, body) = decode_header(sealed)?;
        let dek = self.keys.unwrap(&header.key_id, &header.wrapped_key)?;
        aead_open(
            dek.as_bytes(),
            &header.nonce,
            body,
            &content_aad(associated),
        )
        .ok_or(CryptoError::Authentication)
    }

    /// The same sealed value with its data key rewrapped under the current master key; `None`
    /// when it already is. The ciphertext is copied unchanged.
    pub fn rewrap(&self, sealed: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
        let (header, body) = decode_header(sealed)?;
        if header.key_id == self.keys.current_key_id()? {
            return Ok(None);
        }
        let dek = self.keys.unwrap(&header.key_id, &header.wrapped_key)?;
        let wrapped = self.keys.wrap(&dek)?;
        let mut out = encode_header(&wrapped, &header.nonce)?;
        out.extend_from_slice(body);
        Ok(Some(out))
    }

    /// The header of a sealed value (which master key it needs).
    pub fn header(sealed: &[u8]) -> Result<SealedHeader, CryptoError> {
        decode_header(sealed).map(|(header, _)| header)
    }

    /// Whether `bytes` start like a sealed value.
    pub fn is_sealed(bytes: &[u8]) -> bool {
        bytes.len() > 5 && bytes[..4] == SEALED_MAGIC && bytes[4] == SEALED_VERSION
    }
}

fn encode_header(wrapped: &WrappedKey, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, CryptoError> {
    let id = wrapped.key_id.as_bytes();
    let id_len = u8::try_from(id.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| CryptoError::Provider("a key id must be 1 to 255 bytes".into()))?;
    let key_len = u16::try_from(wrapped.bytes.len())
        .map_err(|_| CryptoError::Provider("a wrapped key must be at most 65535 bytes".into()))?;
    let mut out = Vec::with_capacity(8 + id.len() + wrapped.bytes.len() + NONCE_LEN);
    out.extend_from_slice(&SEALED_MAGIC);
    out.push(SEALED_VERSION);
    out.push(id_len);
    out.extend_from_slice(id);
    out.extend_from_slice(&key_len.to_be_bytes());
    out.extend_from_slice(&wrapped.bytes);
    out.extend_from_slice(nonce);
    Ok(out)
}

fn decode_header(sealed: &[u8]) -> Result<(SealedHeader, &[u8]), CryptoError> {
    let bad = |what: &str| CryptoError::Format(what.to_owned());
    let rest = sealed
        .strip_prefix(&SEALED_MAGIC)
        .ok_or_else(|| bad("missing the IDKE magic"))?;
    let (&version, rest) = rest.split_first().ok_or_else(|| bad("truncated header"))?;
    if version != SEALED_VERSION {
        return Err(CryptoError::Format(format!(
            "format version {version} (this build reads {SEALED_VERSION})"
        )));
    }
    let (&id_len, rest) = rest.split_first().ok_or_else(|| bad("truncated header"))?;
    let id_len = usize::from(id_len);
    if rest.len() < id_len + 2 {
        return Err(bad("truncated key id"));
    }
    let (id, rest) = rest.split_at(id_len);
    let key_id = std::str::from_utf8(id)
        .map_err(|_| bad("the key id is not UTF-8"))?
        .to_owned();
    let (len, rest) = rest.split_at(2);
    let key_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if rest.len() < key_len + NONCE_LEN + TAG_LEN {
        return Err(bad("truncated wrapped key, nonce or ciphertext"));
    }
    let (wrapped_key, rest) = rest.split_at(key_len);
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    Ok((
        SealedHeader {
            key_id,
            wrapped_key: wrapped_key.to_vec(),
            nonce: nonce_bytes,
        },
        body,
    ))
}

impl BlobCipher for EnvelopeCipher {
    /// # Panics
    ///
    /// When the key provider cannot wrap a data key ([`BlobCipher::seal`] cannot return an
    /// error; a file key provider only fails if its key file vanished).
    fn seal(&self, plain: &[u8]) -> Vec<u8> {
        EnvelopeCipher::seal(self, plain)
            .unwrap_or_else(|err| panic!("cannot seal a photo for the database: {err}"))
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, BlobError> {
        EnvelopeCipher::open(self, sealed).map_err(|err| BlobError(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_key_file(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "idkiosk-keys-{name}-{}-{:?}",
            std::process::id(),
            SystemTime::now()
        ));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn sealed_values_round_trip_and_reject_tampering() {
        let path = temp_key_file("unit");
        let keys = Arc::new(FileKeyProvider::create(&path).unwrap());
        let cipher = EnvelopeCipher::new(keys.clone());
        let sealed = cipher.seal(b"hello photo").unwrap();
        assert!(EnvelopeCipher::is_sealed(&sealed));
        assert_eq!(cipher.open(&sealed).unwrap(), b"hello photo");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(
            cipher.open(&tampered),
            Err(CryptoError::Authentication)
        ));
        let bound = cipher.seal_with(b"x", b"owner-a").unwrap();
        assert!(matches!(
            cipher.open_with(&bound, b"owner-b"),
            Err(CryptoError::Authentication)
        ));
        assert!(matches!(
            cipher.open(b"JFIF not sealed"),
            Err(CryptoError::Format(_))
        ));

        let old = keys.current_key_id().unwrap();
        let new = keys.rotate().unwrap();
        assert_ne!(old, new);
        let moved = cipher.rewrap(&sealed).unwrap().unwrap();
        assert_eq!(EnvelopeCipher::header(&moved).unwrap().key_id, new);
        assert_eq!(moved[moved.len() - 27..], sealed[sealed.len() - 27..]);
        keys.remove(&old).unwrap();
        assert_eq!(cipher.open(&moved).unwrap(), b"hello photo");
        assert!(matches!(
            cipher.open(&sealed),
            Err(CryptoError::UnknownKey(id)) if id == old
        ));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_rotation_in_progress_blocks_another() {
        let path = temp_key_file("lock");
        let keys = FileKeyProvider::create(&path).unwrap();
        let lock = FileLock::take(&path).unwrap();
        let err = keys.rotate().unwrap_err();
        assert!(err.to_string().contains("another rotation"), "{err}");
        drop(lock);
        keys.rotate().unwrap();
        assert_eq!(keys.key_ids().len(), 2);
        let _ = std::fs::remove_file(&path);
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_and_refused_when_not() {
        use std::os::unix::fs::PermissionsExt;
        let path = temp_key_file("mode");
        FileKeyProvider::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(FileKeyProvider::create(&path).is_err(), "never overwrites");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = FileKeyProvider::open(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        let _ = std::fs::remove_file(&path);
    }
}

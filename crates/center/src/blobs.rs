//! Where the session's captured data (live photo, signature, fingerprints, video) is kept:
//! the [`BlobSink`] seam. [`StoreBlobSink`] keeps them in the database table
//! `center_session_blobs`, sealed by the store's `BlobCipher` (the default);
//! [`EncryptedBlobSink`] puts them in `store::BlobStore` (AES-256-GCM, a data key per blob
//! wrapped by the master key, ciphertext in an object store), owner = the session id.

use async_trait::async_trait;
use store::Store;

/// The kinds of blob a kiosk uploads, and the magic bytes each must start with.
pub const BLOB_KINDS: [(&str, &[u8]); 8] = [
    ("live_photo", b"\xFF\xD8\xFF"),
    ("signature", b"\x89PNG\r\n\x1a\n"),
    ("fingerprint_1", b"FMR\0"),
    ("fingerprint_2", b"FMR\0"),
    ("fingerprint_image_1", b"\x89PNG\r\n\x1a\n"),
    ("fingerprint_image_2", b"\x89PNG\r\n\x1a\n"),
    ("video", b""),
    ("certified_photo", b"\xFF\xD8\xFF"),
];

/// Checks `kind` and that `bytes` look like it; an error names what is wrong.
pub fn check_blob(kind: &str, bytes: &[u8]) -> Result<(), String> {
    let Some((_, magic)) = BLOB_KINDS
        .iter()
        .find(|(k, _)| *k == kind && *k != "certified_photo")
    else {
        return Err(format!(
            "unknown kind {kind:?}: live_photo, signature, fingerprint_1, fingerprint_2, \
             fingerprint_image_1, fingerprint_image_2 or video"
        ));
    };
    if bytes.is_empty() {
        return Err("the body is empty".into());
    }
    if kind == "video" {
        // ISO BMFF: the first box is `ftyp`.
        if bytes.len() < 8 || &bytes[4..8] != b"ftyp" {
            return Err("a video must be MP4 (ftyp box first)".into());
        }
    } else if !bytes.starts_with(magic) {
        let what = match kind {
            "live_photo" => "JPEG",
            "fingerprint_1" | "fingerprint_2" => "an ISO/IEC 19794-2 template (FMR)",
            _ => "PNG",
        };
        return Err(format!("a {kind} must be {what}"));
    }
    Ok(())
}

/// Keeps a session's blobs. The first upload of a kind wins (a repeat changes nothing).
#[async_trait]
pub trait BlobSink: Send + Sync {
    /// Stores `bytes` as the session's `kind`; `Ok(false)` when one was already stored.
    async fn put(&self, session_id: &str, kind: &str, bytes: &[u8]) -> anyhow::Result<bool>;
    /// The session's `kind`, if stored.
    async fn get(&self, session_id: &str, kind: &str) -> anyhow::Result<Option<Vec<u8>>>;
    /// Deletes the session's blobs except the `keep` kind; returns how many.
    async fn discard_except(&self, session_id: &str, keep: &str) -> anyhow::Result<u64>;
}

/// Blobs in the database, sealed by the store's cipher.
#[derive(Debug, Clone)]
pub struct StoreBlobSink {
    store: Store,
}

impl StoreBlobSink {
    /// Blobs in `store`.
    pub fn new(store: Store) -> StoreBlobSink {
        StoreBlobSink { store }
    }
}

#[async_trait]
impl BlobSink for StoreBlobSink {
    async fn put(&self, session_id: &str, kind: &str, bytes: &[u8]) -> anyhow::Result<bool> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok(self
            .store
            .put_session_blob(session_id, kind, bytes, now)
            .await?)
    }

    async fn get(&self, session_id: &str, kind: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.store.session_blob(session_id, kind).await?)
    }

    async fn discard_except(&self, session_id: &str, keep: &str) -> anyhow::Result<u64> {
        Ok(self
            .store
            .delete_session_blobs_except(session_id, keep)
            .await?)
    }
}

/// Blobs in the encrypted object store, owned by the session id.
#[derive(Debug, Clone)]
pub struct EncryptedBlobSink {
    blobs: store::BlobStore,
}

impl EncryptedBlobSink {
    /// Blobs in `blobs`.
    pub fn new(blobs: store::BlobStore) -> EncryptedBlobSink {
        EncryptedBlobSink { blobs }
    }
}

#[async_trait]
impl BlobSink for EncryptedBlobSink {
    async fn put(&self, session_id: &str, kind: &str, bytes: &[u8]) -> anyhow::Result<bool> {
        // BlobStore::put replaces (a retake); the kiosk API keeps the first upload.
        if self
            .blobs
            .list(session_id)
            .await?
            .iter()
            .any(|meta| meta.kind == kind)
        {
            return Ok(false);
        }
        self.blobs.put(session_id, kind, bytes).await?;
        Ok(true)
    }

    async fn get(&self, session_id: &str, kind: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.blobs.get(session_id, kind).await?)
    }

    async fn discard_except(&self, session_id: &str, keep: &str) -> anyhow::Result<u64> {
        Ok(self.blobs.delete_owner_except(session_id, keep).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::check_blob;

    #[test]
    fn blobs_must_look_like_their_kind() {
        assert!(check_blob("signature", b"\x89PNG\r\n\x1a\nrest").is_ok());
        assert!(check_blob("signature", b"\xFF\xD8\xFF").is_err());
        assert!(check_blob("live_photo", b"\xFF\xD8\xFFrest").is_ok());
        assert!(check_blob("fingerprint_1", b"FMR\0 020").is_ok());
        assert!(check_blob("video", b"\0\0\0\x18ftypmp42").is_ok());
        assert!(check_blob("video", b"RIFF....").is_err());
        assert!(check_blob("passport", b"x").is_err());
        assert!(check_blob("certified_photo", b"\xFF\xD8\xFF").is_err());
        assert!(check_blob("signature", b"").is_err());
    }
}

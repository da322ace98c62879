//! The seam where photo bytes are sealed before they reach the database and opened after they
//! leave it.
//!
//! Every photo the store writes goes through [`BlobCipher::seal`] and every photo it reads through
//! [`BlobCipher::open`] (see `Store::seal` and `Store::open`), so encryption at rest (AES-256-GCM
//! under a per-blob data key wrapped by a master key, DESIGN.md "Data and security") plugs in here
//! without touching any query. Until the security work lands the store uses [`PlainBlobs`].

/// Why a sealed blob could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("blob cannot be opened: {0}")]
pub struct BlobError(pub String);

/// Turns plain bytes into the bytes stored, and back.
pub trait BlobCipher: Send + Sync + std::fmt::Debug {
    /// The bytes to store for `plain`.
    fn seal(&self, plain: &[u8]) -> Vec<u8>;
    /// The plain bytes for stored `sealed` bytes.
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, BlobError>;
}

/// Stores bytes as they are: no encryption yet (the placeholder until the key provider exists).
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainBlobs;

impl BlobCipher for PlainBlobs {
    fn seal(&self, plain: &[u8]) -> Vec<u8> {
        plain.to_vec()
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, BlobError> {
        Ok(sealed.to_vec())
    }
}

//! The face embeddings of historical photos (issue 18): computed once by the center's face engine
//! and kept under the SHA-256 of the photo's bytes ([`PhotoHash`]) and the engine and version that
//! computed them, so step 7 computes only the live and certified photos' embeddings. An embedding
//! is sealed like the photos (the store's [`crate::BlobCipher`]); the sealed plaintext starts with
//! the photo's hash, checked when opened, so a row copied under another photo's key is refused
//! rather than used. The vector comes back bit for bit (little-endian `f64`s), so a session that
//! finds it decides as one that computed it.

use sha2::{Digest, Sha256};

use crate::{Store, StoreError};

/// The SHA-256 of a photo's bytes: the key its embedding is kept under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhotoHash([u8; 32]);

impl PhotoHash {
    /// The hash of `photo`'s bytes.
    pub fn of(photo: &[u8]) -> PhotoHash {
        PhotoHash(Sha256::digest(photo).into())
    }

    /// Lower-case hex, as stored.
    pub fn hex(&self) -> String {
        crate::audit::hex(&self.0)
    }
}

/// Who computed an embedding: the engine's name and version, as stored with the face scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddingEngine<'a> {
    /// The engine's name (`dlib-resnet-v1`).
    pub name: &'a str,
    /// Its version (library and model).
    pub version: &'a str,
}

const COLUMN: &str = "center_face_embeddings.embedding";

impl Store {
    /// The embedding kept for the photo hashing to `photo` by `engine`; `None` when none is.
    pub async fn face_embedding(
        &self,
        photo: &PhotoHash,
        engine: EmbeddingEngine<'_>,
    ) -> Result<Option<Vec<f64>>, StoreError> {
        let sealed: Option<Vec<u8>> = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT embedding FROM center_face_embeddings \
             WHERE photo_sha256 = $1 AND engine = $2 AND engine_version = $3"
        )
        .bind(photo.hex())
        .bind(engine.name)
        .bind(engine.version)
        .fetch_optional(pool)
        .await)?;
        let Some(plain) = self.open(sealed)? else {
            return Ok(None);
        };
        let corrupt = |reason: &str| StoreError::Corrupt {
            column: COLUMN,
            value: format!("{} bytes for photo {}", plain.len(), photo.hex()),
            reason: reason.to_owned(),
        };
        let Some(vector) = plain.strip_prefix(&photo.0[..]) else {
            return Err(corrupt("sealed for another photo"));
        };
        if vector.is_empty() || vector.len() % 8 != 0 {
            return Err(corrupt("not a vector of 64-bit floats"));
        }
        Ok(Some(
            vector
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
                .collect(),
        ))
    }

    /// Keeps the embedding of the photo hashing to `photo` by `engine`. The first one kept stays:
    /// two sessions computing the same photo at once computed the same vector.
    pub async fn put_face_embedding(
        &self,
        photo: &PhotoHash,
        engine: EmbeddingEngine<'_>,
        embedding: &[f64],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut plain = Vec::with_capacity(32 + embedding.len() * 8);
        plain.extend_from_slice(&photo.0);
        for value in embedding {
            plain.extend_from_slice(&value.to_le_bytes());
        }
        let sealed = self.seal(Some(&plain));
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_face_embeddings \
             (photo_sha256, engine, engine_version, embedding, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (photo_sha256, engine, engine_version) DO NOTHING"
        )
        .bind(photo.hex())
        .bind(engine.name)
        .bind(engine.version)
        .bind(sealed)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

//! Encrypted blobs: photos, fingerprints, signatures and session videos, each sealed with
//! AES-256-GCM under its own data key wrapped by a master key (DESIGN.md "Data and security").
//!
//! The ciphertext (with its tag) goes to an [`ObjectStore`] (local files by default, any
//! S3-compatible store for a fleet) under a random path that says nothing about the owner; the
//! metadata (owner, kind, object path, master key id, wrapped data key, nonce, size, creation time)
//! goes to the `blobs` table of the [`Store`].
//!
//! Invariants:
//! - One blob per (owner, kind): [`BlobStore::put`] replaces the previous one (a retake), as one
//!   metadata statement; the previous ciphertext is then deleted.
//! - The ciphertext's associated data is `idkiosk/blob/v1 \0 owner \0 kind`: a ciphertext moved
//!   under another owner or kind fails authentication.
//! - Deleting a metadata row destroys the only copy of the wrapped data key, so a ciphertext left
//!   behind by a crash between the two deletions is unreadable (crypto-shredding); rows are
//!   deleted first.
//! - Rotation ([`BlobStore::rewrap_all`]) rewrites `key_id` and `wrapped_key` only, one row per
//!   statement, conditional on the row still holding what was read: safe while the center runs.

use std::sync::Arc;

/// The object store crate, re-exported so callers can build the store a [`BlobStore`] writes to.
pub use object_store;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::RngCore;
use time::OffsetDateTime;

use crate::crypto::{
    aead_open, aead_seal, random_nonce, CryptoError, DataKey, EnvelopeCipher, KeyProvider,
};
use crate::{Pool, Store, StoreError};

/// The kind of a face photo.
pub const KIND_PHOTO: &str = "photo";
/// The kind of a fingerprint image or template.
pub const KIND_FINGERPRINT: &str = "fingerprint";
/// The kind of a handwritten signature.
pub const KIND_SIGNATURE: &str = "signature";
/// The kind of a session video.
pub const KIND_VIDEO: &str = "video";
/// How long session videos are kept by default.
pub const VIDEO_RETENTION: time::Duration = time::Duration::days(180);

/// Rows handled per statement batch by purges and rotation.
const BATCH: i64 = 500;

/// Runs `$body` with `$pool` bound to the concrete pool of `$store`, once per backend.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// What can go wrong storing or reading a blob.
#[derive(Debug, thiserror::Error)]
pub enum BlobStoreError {
    /// An owner or kind that is not 1–128 characters of `A-Z a-z 0-9 . _ -` starting with a
    /// letter or digit.
    #[error("invalid blob {field} {value:?}: use 1-128 characters A-Z a-z 0-9 . _ - starting with a letter or digit")]
    InvalidName {
        /// `owner` or `kind`.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// The blob exists but cannot be decrypted (tampered, swapped, wrong or missing master key).
    #[error("blob {kind} of {owner} cannot be opened: {reason}")]
    Open {
        /// Its owner.
        owner: String,
        /// Its kind.
        kind: String,
        /// Why.
        reason: CryptoError,
    },
    /// The key provider failed (wrapping a new data key).
    #[error(transparent)]
    Keys(#[from] CryptoError),
    /// The metadata names an object the object store does not hold.
    #[error("blob object {path} is missing from the object store")]
    MissingObject {
        /// The object path.
        path: String,
    },
    /// The object store failed.
    #[error("object store: {0}")]
    Objects(#[from] object_store::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BlobStoreError {
    fn from(err: sqlx::Error) -> BlobStoreError {
        BlobStoreError::Store(StoreError::from(err))
    }
}

/// The metadata of a stored blob (no key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// A session id or an application number.
    pub owner: String,
    /// `photo`, `fingerprint`, `signature`, `video`, or another kind.
    pub kind: String,
    /// Where the ciphertext is in the object store.
    pub object_path: String,
    /// The master key its data key is wrapped with.
    pub key_id: String,
    /// The plaintext size in bytes.
    pub size: u64,
    /// When it was stored (UTC, whole seconds).
    pub created_at: OffsetDateTime,
}

/// What [`BlobStore::put`] returns: the metadata of the blob written.
pub type BlobRef = BlobMeta;

/// What a [`BlobStore::rewrap_all`] run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// The master key data keys were moved to.
    pub target_key_id: String,
    /// Rows whose data key is now wrapped with the target key.
    pub rewrapped: u64,
    /// Rows replaced or deleted while the run read them (nothing to do).
    pub skipped: u64,
    /// Rows whose data key could not be unwrapped: `(owner, kind, error)` for blobs, `(table,
    /// row key, error)` for sealed columns. Their master key must not be removed.
    pub failed: Vec<(String, String, String)>,
}

#[derive(sqlx::FromRow)]
struct BlobRow {
    id: i64,
    owner: String,
    kind: String,
    object_path: String,
    key_id: String,
    wrapped_key: Vec<u8>,
    nonce: Vec<u8>,
    size: i64,
    created_at: OffsetDateTime,
}

impl BlobRow {
    fn meta(&self) -> BlobMeta {
        BlobMeta {
            owner: self.owner.clone(),
            kind: self.kind.clone(),
            object_path: self.object_path.clone(),
            key_id: self.key_id.clone(),
            size: u64::try_from(self.size).unwrap_or(0),
            created_at: self.created_at,
        }
    }
}

const COLUMNS: &str = "id, owner, kind, object_path, key_id, wrapped_key, nonce, size, created_at";

/// Encrypted blobs: ciphertext in an object store, metadata in the database.
#[derive(Debug, Clone)]
pub struct BlobStore {
    store: Store,
    objects: Arc<dyn ObjectStore>,
    keys: Arc<dyn KeyProvider>,
}

fn check_name(field: &'static str, value: &str) -> Result<(), BlobStoreError> {
    let ok = (1..=128).contains(&value.len())
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(BlobStoreError::InvalidName {
            field,
            value: value.to_owned(),
        })
    }
}

/// The associated data binding a ciphertext to its owner and kind.
fn blob_aad(owner: &str, kind: &str) -> Vec<u8> {
    let mut aad = b"idkiosk/blob/v1\0".to_vec();
    aad.extend_from_slice(owner.as_bytes());
    aad.push(0);
    aad.extend_from_slice(kind.as_bytes());
    aad
}

/// Now, in UTC, to the second (so SQLite's RFC 3339 text compares in time order).
fn now_seconds() -> OffsetDateTime {
    to_seconds(OffsetDateTime::now_utc())
}

fn to_seconds(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

fn is_not_found(err: &object_store::Error) -> bool {
    matches!(err, object_store::Error::NotFound { .. })
}

impl BlobStore {
    /// Blobs with metadata in `store`, ciphertext in `objects`, data keys wrapped by `keys`.
    pub fn new(
        store: Store,
        objects: Arc<dyn ObjectStore>,
        keys: Arc<dyn KeyProvider>,
    ) -> BlobStore {
        BlobStore {
            store,
            objects,
            keys,
        }
    }

    /// Blobs whose ciphertext lives in files under `dir` (created if missing).
    pub fn local(
        store: Store,
        dir: impl AsRef<std::path::Path>,
        keys: Arc<dyn KeyProvider>,
    ) -> Result<BlobStore, BlobStoreError> {
        std::fs::create_dir_all(dir.as_ref()).map_err(|err| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(err),
        })?;
        let objects = object_store::local::LocalFileSystem::new_with_prefix(dir)?
            .with_automatic_cleanup(true);
        Ok(BlobStore::new(store, Arc::new(objects), keys))
    }

    /// The key provider.
    pub fn keys(&self) -> &Arc<dyn KeyProvider> {
        &self.keys
    }

    /// Encrypts and stores `bytes` as the `kind` blob of `owner`, **replacing** any previous one
    /// (storing the same bytes twice leaves one blob; a retake replaces the first capture). The
    /// ciphertext is written first, then the metadata row in one transaction, then the replaced
    /// ciphertext is deleted.
    pub async fn put(
        &self,
        owner: &str,
        kind: &str,
        bytes: &[u8],
    ) -> Result<BlobRef, BlobStoreError> {
        check_name("owner", owner)?;
        check_name("kind", kind)?;
        let dek = DataKey::generate();
        let wrapped = self.keys.wrap(&dek)?;
        let nonce = random_nonce();
        let ciphertext = aead_seal(dek.as_bytes(), &nonce, bytes, &blob_aad(owner, kind));
        drop(dek);
        let created_at = now_seconds();
        let mut random = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let object_path = format!("{kind}/{}/{name}", created_at.date());
        let location = ObjectPath::from(object_path.as_str());
        self.objects
            .put(&location, PutPayload::from(ciphertext))
            .await?;

        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let mut attempt = 0;
        let replaced = loop {
            attempt += 1;
            let result: Result<Vec<String>, sqlx::Error> = with_pool!(self.store, |pool| {
                async {
                    let mut tx = pool.begin().await?;
                    let old: Vec<String> = sqlx::query_scalar(
                        "DELETE FROM blobs WHERE owner = $1 AND kind = $2 RETURNING object_path",
                    )
                    .bind(owner)
                    .bind(kind)
                    .fetch_all(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO blobs (owner, kind, object_path, key_id, wrapped_key, \
                         nonce, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(owner)
                    .bind(kind)
                    .bind(&object_path)
                    .bind(&wrapped.key_id)
                    .bind(&wrapped.bytes)
                    .bind(nonce.as_slice())
                    .bind(size)
                    .bind(created_at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(old)
                }
                .await
            });
            match result {
                Ok(old) => break old,
                // A concurrent put of the same owner and kind won the unique index: try again.
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() && attempt < 5 => {}
                Err(err) => {
                    let _ = self.objects.delete(&location).await;
                    return Err(err.into());
                }
            }
        };
        for old in replaced {
            self.delete_object(&old).await;
        }
        Ok(BlobMeta {
            owner: owner.to_owned(),
            kind: kind.to_owned(),
            object_path,
            key_id: wrapped.key_id,
            size: u64::try_from(size).unwrap_or(0),
            created_at,
        })
    }

    /// The decrypted `kind` blob of `owner`, or `None` when there is none. Fails with
    /// [`BlobStoreError::Open`] when the ciphertext or its key metadata was altered, the
    /// ciphertext belongs to another owner or kind, or the master key is not available.
    pub async fn get(&self, owner: &str, kind: &str) -> Result<Option<Vec<u8>>, BlobStoreError> {
        check_name("owner", owner)?;
        check_name("kind", kind)?;
        let sql = format!("SELECT {COLUMNS} FROM blobs WHERE owner = $1 AND kind = $2");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row: Option<BlobRow> = with_pool!(self.store, |pool| sqlx::query_as(&sql)
                .bind(owner)
                .bind(kind)
                .fetch_optional(pool)
                .await)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let location = ObjectPath::from(row.object_path.as_str());
            let ciphertext = match self.objects.get(&location).await {
                Ok(result) => result.bytes().await?,
                // Replaced between the two reads: read the new row.
                Err(err) if is_not_found(&err) && attempt < 3 => continue,
                Err(err) if is_not_found(&err) => {
                    return Err(BlobStoreError::MissingObject {
                        path: row.object_path,
                    })
                }
                Err(err) => return Err(err.into()),
            };
            let open_error = |reason| BlobStoreError::Open {
                owner: owner.to_owned(),
                kind: kind.to_owned(),
                reason,
            };
            let dek = self
                .keys
                .unwrap(&row.key_id, &row.wrapped_key)
                .map_err(open_error)?;
            return aead_open(
                dek.as_bytes(),
                &row.nonce,
                &ciphertext,
                &blob_aad(owner, kind),
            )
            .map(Some)
            .ok_or_else(|| open_error(CryptoError::Authentication));
        }
    }

    /// The blobs of `owner`, by kind.
    pub async fn list(&self, owner: &str) -> Result<Vec<BlobMeta>, BlobStoreError> {
        let sql = format!("SELECT {COLUMNS} FROM blobs WHERE owner = $1 ORDER BY kind");
        let rows: Vec<BlobRow> = with_pool!(self.store, |pool| sqlx::query_as(&sql)
            .bind(owner)
            .fetch_all(pool)
            .await)?;
        Ok(rows.iter().map(BlobRow::meta).collect())
    }

    /// Deletes every blob of `owner` (retention: a session's captures once it ends); returns how
    /// many. The rows go first, then the ciphertexts.
    pub async fn delete_owner(&self, owner: &str) -> Result<u64, BlobStoreError> {
        let paths: Vec<String> = with_pool!(self.store, |pool| sqlx::query_scalar(
            "DELETE FROM blobs WHERE owner = $1 RETURNING object_path"
        )
        .bind(owner)
        .fetch_all(pool)
        .await)?;
        for path in &paths {
            self.delete_object(path).await;
        }
        Ok(paths.len() as u64)
    }

    /// Deletes the owner's blobs except those of the `keep` kinds (retention: the captures of a
    /// session that did not become an application go, its video stays); returns how many.
    pub async fn delete_owner_except(
        &self,
        owner: &str,
        keep: &str,
    ) -> Result<u64, BlobStoreError> {
        let paths: Vec<String> = with_pool!(self.store, |pool| sqlx::query_scalar(
            "DELETE FROM blobs WHERE owner = $1 AND kind <> $2 RETURNING object_path"
        )
        .bind(owner)
        .bind(keep)
        .fetch_all(pool)
        .await)?;
        for path in &paths {
            self.delete_object(path).await;
        }
        Ok(paths.len() as u64)
    }

    /// Deletes every `kind` blob stored before `before` (whole seconds), in batches; returns how
    /// many. Videos: `purge_kind_older_than(KIND_VIDEO, now - VIDEO_RETENTION)`.
    pub async fn purge_kind_older_than(
        &self,
        kind: &str,
        before: OffsetDateTime,
    ) -> Result<u64, BlobStoreError> {
        let before = to_seconds(before);
        let mut total = 0u64;
        loop {
            let paths: Vec<String> = with_pool!(self.store, |pool| sqlx::query_scalar(
                "DELETE FROM blobs WHERE id IN (SELECT id FROM blobs \
                   WHERE kind = $1 AND created_at < $2 ORDER BY id LIMIT $3) \
                 RETURNING object_path"
            )
            .bind(kind)
            .bind(before)
            .bind(BATCH)
            .fetch_all(pool)
            .await)?;
            for path in &paths {
                self.delete_object(path).await;
            }
            total += paths.len() as u64;
            if (paths.len() as i64) < BATCH {
                return Ok(total);
            }
        }
    }

    /// Deletes the session videos older than [`VIDEO_RETENTION`] at `now`.
    pub async fn purge_expired_videos(&self, now: OffsetDateTime) -> Result<u64, BlobStoreError> {
        self.purge_kind_older_than(KIND_VIDEO, now - VIDEO_RETENTION)
            .await
    }

    /// How many blobs each master key wraps, by key id.
    pub async fn key_usage(&self) -> Result<Vec<(String, u64)>, BlobStoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self.store, |pool| sqlx::query_as(
            "SELECT key_id, COUNT(*) FROM blobs GROUP BY key_id ORDER BY key_id"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// Makes a new master key current ([`KeyProvider::rotate`]) and rewraps every data key under
    /// it ([`BlobStore::rewrap_all`]); returns the new key id and what the rewrap did. The sealed
    /// columns of the store are rewrapped by [`rewrap_sealed_columns`].
    pub async fn rotate(&self, batch: u32) -> Result<(String, RewrapReport), BlobStoreError> {
        let new = self.keys.rotate()?;
        let report = self.rewrap_all(batch).await?;
        Ok((new, report))
    }

    /// Rewraps every data key not wrapped with the key provider's current master key (after
    /// `FileKeyProvider::rotate`), `batch` rows at a time. Metadata rows only; no ciphertext is
    /// read or written. Each row is updated by its own statement, conditional on its key id and
    /// wrapped key being unchanged, so puts, deletes and other rewrap runs may go on meanwhile.
    pub async fn rewrap_all(&self, batch: u32) -> Result<RewrapReport, BlobStoreError> {
        self.rewrap_all_with(self.keys.as_ref(), self.keys.as_ref(), batch)
            .await
    }

    /// [`BlobStore::rewrap_all`] from one key provider to another (moving to a KMS): data keys
    /// are unwrapped by `from` and wrapped by `to`. Afterwards open the store with `to`.
    pub async fn rewrap_all_with(
        &self,
        from: &dyn KeyProvider,
        to: &dyn KeyProvider,
        batch: u32,
    ) -> Result<RewrapReport, BlobStoreError> {
        let target = to.current_key_id()?;
        let batch = i64::from(batch.max(1));
        let mut report = RewrapReport {
            target_key_id: target.clone(),
            ..RewrapReport::default()
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM blobs WHERE key_id <> $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let mut after = 0i64;
        loop {
            let rows: Vec<BlobRow> = with_pool!(self.store, |pool| sqlx::query_as(&sql)
                .bind(&target)
                .bind(after)
                .bind(batch)
                .fetch_all(pool)
                .await)?;
            let Some(last) = rows.last() else {
                return Ok(report);
            };
            after = last.id;
            for row in &rows {
                let dek = match from.unwrap(&row.key_id, &row.wrapped_key) {
                    Ok(dek) => dek,
                    Err(err) => {
                        report
                            .failed
                            .push((row.owner.clone(), row.kind.clone(), err.to_string()));
                        continue;
                    }
                };
                let wrapped = to.wrap(&dek)?;
                let updated = with_pool!(self.store, |pool| sqlx::query(
                    "UPDATE blobs SET key_id = $1, wrapped_key = $2 \
                     WHERE id = $3 AND key_id = $4 AND wrapped_key = $5"
                )
                .bind(&wrapped.key_id)
                .bind(&wrapped.bytes)
                .bind(row.id)
                .bind(&row.key_id)
                .bind(&row.wrapped_key)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
                if updated == 1 {
                    report.rewrapped += 1;
                } else {
                    report.skipped += 1;
                }
            }
        }
    }

    /// Deletes the objects of the object store that no metadata row names and that were last
    /// modified before `modified_before`; returns how many. Such objects are left by a crash
    /// between writing an object and its row (put) or between deleting a row and its object
    /// (delete, purge, replace); they cannot be decrypted, since the wrapped data key was only ever
    /// in the row. `modified_before` must leave time for puts in flight (an hour ago is ample):
    /// a put writes its object before its row.
    pub async fn sweep_orphans(
        &self,
        modified_before: OffsetDateTime,
    ) -> Result<u64, BlobStoreError> {
        let cutoff = modified_before.unix_timestamp();
        let mut deleted = 0u64;
        // Layout: <kind>/<date>/<name>; list one directory at a time.
        let mut directories = vec![None::<ObjectPath>];
        while let Some(directory) = directories.pop() {
            let listing = self.objects.list_with_delimiter(directory.as_ref()).await?;
            directories.extend(listing.common_prefixes.into_iter().map(Some));
            if listing.objects.is_empty() {
                continue;
            }
            let prefix = directory
                .as_ref()
                .map_or(String::new(), |d| format!("{d}/"));
            let known: Vec<String> = with_pool!(self.store, |pool| sqlx::query_scalar(
                "SELECT object_path FROM blobs WHERE substr(object_path, 1, $1) = $2"
            )
            .bind(prefix.len() as i32)
            .bind(&prefix)
            .fetch_all(pool)
            .await)?;
            let known: std::collections::HashSet<String> = known.into_iter().collect();
            for object in listing.objects {
                let path = object.location.to_string();
                if object.last_modified.timestamp() >= cutoff || known.contains(&path) {
                    continue;
                }
                // Checked once more alone, in case a put committed since the listing.
                let still_unknown: Option<i64> =
                    with_pool!(self.store, |pool| sqlx::query_scalar(
                        "SELECT id FROM blobs WHERE object_path = $1"
                    )
                    .bind(&path)
                    .fetch_optional(pool)
                    .await)?;
                if still_unknown.is_none() {
                    self.delete_object(&path).await;
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }

    async fn delete_object(&self, path: &str) {
        match self.objects.delete(&ObjectPath::from(path)).await {
            Ok(()) => {}
            Err(err) if is_not_found(&err) => {}
            // The row is gone, so the ciphertext can no longer be decrypted: log and go on.
            Err(err) => tracing::warn!(path, error = %err, "cannot delete a blob object"),
        }
    }
}

/// The columns of the [`Store`] that hold values sealed by its [`crate::BlobCipher`] (an
/// [`EnvelopeCipher`] when encryption at rest is on): table, its key (a text column and an optional
/// second column, compared as text), and the sealed column.
pub const SEALED_COLUMNS: &[(&str, &str, Option<&str>, &str)] = &[
    ("history_photos", "id_number", Some("taken_on"), "photo"),
    ("photo_receipts", "code", None, "photo"),
    ("center_receipts", "session_id", None, "photo"),
    ("center_session_blobs", "session_id", Some("kind"), "bytes"),
    (
        "center_collections",
        "application_no",
        None,
        "proxy_id_number",
    ),
    ("center_collections", "application_no", None, "proxy_name"),
];

/// The header prefix of a sealed value under `key_id` (magic, version, key id length, key id).
fn sealed_prefix(key_id: &str) -> Vec<u8> {
    let mut prefix = crate::crypto::SEALED_MAGIC.to_vec();
    prefix.push(crate::crypto::SEALED_VERSION);
    prefix.push(u8::try_from(key_id.len()).unwrap_or(u8::MAX));
    prefix.extend_from_slice(key_id.as_bytes());
    prefix
}

/// The magic and version every sealed value starts with.
fn sealed_magic() -> Vec<u8> {
    let mut magic = crate::crypto::SEALED_MAGIC.to_vec();
    magic.push(crate::crypto::SEALED_VERSION);
    magic
}

/// How many sealed values in the [`SEALED_COLUMNS`] of `store` are not under `current_key_id`
/// (values stored in plain are not counted). Zero before removing an old master key.
pub async fn count_sealed_not_under(
    store: &Store,
    current_key_id: &str,
) -> Result<u64, BlobStoreError> {
    let prefix = sealed_prefix(current_key_id);
    let mut total = 0u64;
    for (table, _, _, column) in SEALED_COLUMNS {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE substr({column}, 1, 5) = $1 \
               AND substr({column}, 1, $2) <> $3"
        );
        let n: i64 = with_pool!(store, |pool| sqlx::query_scalar(&sql)
            .bind(sealed_magic())
            .bind(prefix.len() as i32)
            .bind(&prefix)
            .fetch_one(pool)
            .await)?;
        total += u64::try_from(n).unwrap_or(0);
    }
    Ok(total)
}

/// Rewraps the data keys of the sealed values in the [`SEALED_COLUMNS`] of `store` that are not
/// under the current master key of `cipher` ([`EnvelopeCipher::rewrap`]: the header changes, the
/// ciphertext does not), `batch` rows at a time in key order, each row by its own statement
/// conditional on the value being unchanged. Values stored in plain are left alone. In the
/// report's `failed`, the first two fields are the table and the row key.
pub async fn rewrap_sealed_columns(
    store: &Store,
    cipher: &EnvelopeCipher,
    batch: u32,
) -> Result<RewrapReport, BlobStoreError> {
    convert_sealed_columns(store, cipher, batch, Convert::Rewrap).await
}

/// Seals the values of the [`SEALED_COLUMNS`] of `store` that are stored in plain (written before
/// encryption at rest was turned on, e.g. by `popsys seed`), so a [`Store`] with an
/// [`EnvelopeCipher`] can read them; `batch` rows at a time, each row by its own statement
/// conditional on the value being unchanged. `rewrapped` in the report counts the values sealed.
pub async fn seal_plain_columns(
    store: &Store,
    cipher: &EnvelopeCipher,
    batch: u32,
) -> Result<RewrapReport, BlobStoreError> {
    convert_sealed_columns(store, cipher, batch, Convert::SealPlain).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Convert {
    Rewrap,
    SealPlain,
}

async fn convert_sealed_columns(
    store: &Store,
    cipher: &EnvelopeCipher,
    batch: u32,
    convert: Convert,
) -> Result<RewrapReport, BlobStoreError> {
    let target = cipher.keys().current_key_id()?;
    // Rewrap: sealed (magic matches) and not under the current key. Seal: magic does not match
    // (the second condition then repeats the first).
    let (prefix, magic_op) = match convert {
        Convert::Rewrap => (sealed_prefix(&target), "="),
        Convert::SealPlain => (sealed_magic(), "<>"),
    };
    let batch = i64::from(batch.max(1));
    let mut report = RewrapReport {
        target_key_id: target,
        ..RewrapReport::default()
    };
    for (table, key, second, column) in SEALED_COLUMNS {
        // The second key column as text ('' when there is none), for keyset paging.
        let (second, order) = match second {
            Some(c) => (
                format!("CAST({c} AS TEXT)"),
                format!("{key}, CAST({c} AS TEXT)"),
            ),
            None => ("''".to_owned(), key.to_string()),
        };
        let select = format!(
            "SELECT {key}, {second}, {column} FROM {table} \
             WHERE substr({column}, 1, 5) {magic_op} $1 AND substr({column}, 1, $2) <> $3 \
               AND ({key} > $4 OR ({key} = $4 AND {second} > $5)) \
             ORDER BY {order} LIMIT $6"
        );
        let update = format!(
            "UPDATE {table} SET {column} = $1 WHERE {key} = $2 AND {second} = $3 AND {column} = $4"
        );
        let (mut after_key, mut after_second) = (String::new(), String::new());
        loop {
            let rows: Vec<(String, String, Vec<u8>)> =
                with_pool!(store, |pool| sqlx::query_as(&select)
                    .bind(sealed_magic())
                    .bind(prefix.len() as i32)
                    .bind(&prefix)
                    .bind(&after_key)
                    .bind(&after_second)
                    .bind(batch)
                    .fetch_all(pool)
                    .await)?;
            let Some((last_key, last_second, _)) = rows.last() else {
                break;
            };
            (after_key, after_second) = (last_key.clone(), last_second.clone());
            for (row_key, row_second, old) in &rows {
                let converted = match convert {
                    Convert::Rewrap => cipher.rewrap(old),
                    Convert::SealPlain => cipher.seal(old).map(Some),
                };
                let new = match converted {
                    Ok(Some(new)) => new,
                    Ok(None) => continue,
                    Err(err) => {
                        let at = format!("{row_key} {row_second}").trim_end().to_owned();
                        report.failed.push((table.to_string(), at, err.to_string()));
                        continue;
                    }
                };
                let updated = with_pool!(store, |pool| sqlx::query(&update)
                    .bind(&new)
                    .bind(row_key)
                    .bind(row_second)
                    .bind(old)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected()))?;
                if updated == 1 {
                    report.rewrapped += 1;
                } else {
                    report.skipped += 1;
                }
            }
        }
    }
    Ok(report)
}

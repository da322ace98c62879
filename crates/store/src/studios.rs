//! Photo studios (照相馆) and the receipts they upload (migration `0010_photo_studios`): the
//! reference population system's side of "the studio takes the certified photo and gives the
//! citizen a receipt code".
//!
//! Invariants:
//! - A studio's secret is never stored, only its SHA-256 ([`secret_sha256`]); the constant-time
//!   comparison is the caller's (`popsys::studio`): nothing here decides who is authenticated.
//! - An uploaded receipt is written with its studio in one transaction: a `photo_receipts` row
//!   (the photo sealed by the store's [`crate::BlobCipher`], like every receipt photo) and a
//!   `photo_studio_receipts` row, or nothing. A code already taken writes nothing and says so,
//!   so the caller can draw another.

use domain::id::CitizenId;
use sha2::{Digest, Sha256};
use time::Date;

use crate::{ReceiptCode, Store, StoreError};

/// The SHA-256 of a studio's secret, as [`PhotoStudio::secret_sha256`] keeps it. A plain hash
/// is enough because the secrets are random (32 bytes from `popsys::studio::new_secret`), not
/// chosen by people.
pub fn secret_sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A registered photo studio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoStudio {
    /// The studio's id (`S001`), 1–32 characters, as in the upload route.
    pub id: String,
    /// Its name, for people (南京新街口照相馆); may be empty.
    pub name: String,
    /// SHA-256 of its secret (32 bytes).
    pub secret_sha256: Vec<u8>,
    /// When it was registered, unix seconds.
    pub created_at: i64,
}

/// A receipt a studio uploads: the certified photo of one citizen under a new code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudioReceipt {
    /// The new code.
    pub code: ReceiptCode,
    /// The citizen photographed.
    pub id: CitizenId,
    /// The studio that took the photo.
    pub studio_id: String,
    /// The certified photo (JPEG).
    pub jpeg: Vec<u8>,
    /// The day the receipt is made (day 0 of its validity).
    pub created_on: Date,
    /// When it was uploaded, unix seconds.
    pub uploaded_at: i64,
}

#[derive(sqlx::FromRow)]
struct StudioRow {
    studio_id: String,
    name: String,
    secret_sha256: Vec<u8>,
    created_at: i64,
}

impl Store {
    /// Registers a studio. `false` (and nothing changed) when the id is taken.
    pub async fn add_photo_studio(&self, studio: &PhotoStudio) -> Result<bool, StoreError> {
        let rows = on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO photo_studios (studio_id, name, secret_sha256, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (studio_id) DO NOTHING"
        )
        .bind(&studio.id)
        .bind(&studio.name)
        .bind(&studio.secret_sha256)
        .bind(studio.created_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Gives a registered studio a new secret (the old one stops working at once). `false` when
    /// no studio has this id.
    pub async fn replace_photo_studio_secret(
        &self,
        studio_id: &str,
        secret_sha256: &[u8],
    ) -> Result<bool, StoreError> {
        let rows = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE photo_studios SET secret_sha256 = $2 WHERE studio_id = $1"
        )
        .bind(studio_id)
        .bind(secret_sha256)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(rows == 1)
    }

    /// A registered studio by its id.
    pub async fn photo_studio(&self, studio_id: &str) -> Result<Option<PhotoStudio>, StoreError> {
        let row: Option<StudioRow> = on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT studio_id, name, secret_sha256, created_at FROM photo_studios \
             WHERE studio_id = $1"
        )
        .bind(studio_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|row| PhotoStudio {
            id: row.studio_id,
            name: row.name,
            secret_sha256: row.secret_sha256,
            created_at: row.created_at,
        }))
    }

    /// Writes an uploaded receipt, unused, with its studio. `false` (nothing written) when the
    /// code is taken; a citizen or studio unknown to the database is
    /// [`StoreError::Rejected`].
    pub async fn add_studio_receipt(&self, receipt: &StudioReceipt) -> Result<bool, StoreError> {
        let sealed = self.seal(Some(&receipt.jpeg));
        let added = on_pool!(&self.pool, |pool| async {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO photo_receipts (code, id_number, photo, created_on, used_on) \
                 VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (code) DO NOTHING",
            )
            .bind(receipt.code.as_str())
            .bind(receipt.id.as_str())
            .bind(&sealed)
            .bind(receipt.created_on)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            sqlx::query(
                "INSERT INTO photo_studio_receipts (code, studio_id, uploaded_at) \
                 VALUES ($1, $2, $3)",
            )
            .bind(receipt.code.as_str())
            .bind(&receipt.studio_id)
            .bind(receipt.uploaded_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(added)
    }

    /// How many photo-studio receipts the database holds, seeded and uploaded.
    pub async fn count_photo_receipts(&self) -> Result<u64, StoreError> {
        let count: i64 = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM photo_receipts"
        )
        .fetch_one(pool)
        .await)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The studio that uploaded the receipt `code`; `None` for an unknown code or a receipt that
    /// came with the seed.
    pub async fn receipt_studio(&self, code: &ReceiptCode) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT studio_id FROM photo_studio_receipts WHERE code = $1"
        )
        .bind(code.as_str())
        .fetch_optional(pool)
        .await)?)
    }
}

//! Kiosks' lookups of citizens (migration `0012_kiosk_lookups`): each one recorded with the number
//! masked, counted per kiosk for the rate limit, the refused ones kept for the fleet view.
//!
//! Invariant: the count a decision is based on includes the lookup being decided (it is written
//! first, then counted), so concurrent lookups of one kiosk cannot all slip under the limit.

use crate::{Store, StoreError};

/// What a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupPurpose {
    /// Step 5's scope decision.
    Scope,
    /// The masked identity shown before a portrait form is printed.
    Identity,
    /// The portrait form itself (name, sex, birth date printed).
    PortraitForm,
}

impl LookupPurpose {
    /// `scope`, `identity`, `portrait_form`.
    pub fn as_str(self) -> &'static str {
        match self {
            LookupPurpose::Scope => "scope",
            LookupPurpose::Identity => "identity",
            LookupPurpose::PortraitForm => "portrait_form",
        }
    }
}

/// One lookup to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLookup<'a> {
    /// The kiosk asking.
    pub kiosk_id: &'a str,
    /// Its session, when the call names one.
    pub session_id: Option<&'a str>,
    /// What for.
    pub purpose: LookupPurpose,
    /// The citizen's number, masked.
    pub id_masked: &'a str,
    /// Unix seconds.
    pub at: i64,
}

/// A kiosk's lookups over a period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LookupCount {
    /// The kiosk.
    pub kiosk_id: String,
    /// Lookups answered.
    pub allowed: i64,
    /// Lookups refused by the rate limit.
    pub refused: i64,
}

impl Store {
    /// Records a lookup and decides it: allowed while the kiosk's lookups answered since
    /// `window_start` (this one included) are at most `limit`; otherwise it is recorded as
    /// refused. Returns whether it is allowed.
    pub async fn record_lookup(
        &self,
        lookup: &NewLookup<'_>,
        window_start: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let allowed: bool = on_pool!(&self.pool, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO center_lookups (kiosk_id, session_id, purpose, id_masked, at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING lookup_id",
                )
                .bind(lookup.kiosk_id)
                .bind(lookup.session_id)
                .bind(lookup.purpose.as_str())
                .bind(lookup.id_masked)
                .bind(lookup.at)
                .fetch_one(&mut *tx)
                .await?;
                let answered: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM center_lookups \
                     WHERE kiosk_id = $1 AND at >= $2 AND refused = FALSE",
                )
                .bind(lookup.kiosk_id)
                .bind(window_start)
                .fetch_one(&mut *tx)
                .await?;
                let allowed = answered <= i64::from(limit);
                if !allowed {
                    sqlx::query("UPDATE center_lookups SET refused = TRUE WHERE lookup_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<bool, StoreError>(allowed)
            }
            .await
        })?;
        Ok(allowed)
    }

    /// Lookups per kiosk since `since` (unix seconds), answered and refused.
    pub async fn lookup_counts(&self, since: i64) -> Result<Vec<LookupCount>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT kiosk_id, \
               SUM(CASE WHEN refused THEN 0 ELSE 1 END) AS allowed, \
               SUM(CASE WHEN refused THEN 1 ELSE 0 END) AS refused \
             FROM center_lookups WHERE at >= $1 GROUP BY kiosk_id ORDER BY kiosk_id"
        )
        .bind(since)
        .fetch_all(pool)
        .await)?)
    }

    /// The masked numbers a session looked up for `purpose`, oldest first.
    pub async fn lookups_of_session(
        &self,
        session_id: &str,
        purpose: LookupPurpose,
    ) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT id_masked FROM center_lookups \
             WHERE session_id = $1 AND purpose = $2 AND refused = FALSE ORDER BY lookup_id"
        )
        .bind(session_id)
        .bind(purpose.as_str())
        .fetch_all(pool)
        .await)?)
    }

    /// The masked numbers a kiosk looked up since `since`, newest first (staff and tests).
    pub async fn lookups_of(
        &self,
        kiosk_id: &str,
        since: i64,
    ) -> Result<Vec<(String, String, bool)>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT purpose, id_masked, refused FROM center_lookups \
             WHERE kiosk_id = $1 AND at >= $2 ORDER BY lookup_id DESC"
        )
        .bind(kiosk_id)
        .bind(since)
        .fetch_all(pool)
        .await)?)
    }
}

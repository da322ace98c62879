//! The center's session records (migration `0003_center_sessions`): what each step of a kiosk
//! session decided, the applications with their numbers, the payments and the documents.
//!
//! Invariants:
//! - Idempotency by session id everywhere: every `record_*`/`create_*` writes with
//!   `ON CONFLICT DO NOTHING` (or a conditional `UPDATE`) and reads back, so a repeated call gets
//!   the first answer and changes nothing, whichever replica serves it.
//! - Application numbers are allocated in the database, in the transaction that inserts the
//!   application (`center_application_sequences`), never from a counter in memory.
//! - Photos and other session blobs pass through the store's [`crate::BlobCipher`].
//! - A payment's state only moves forward: `NOTPAY`/`USERPAYING` → a final state; a success is
//!   recorded once, by whichever of callback and query sees it first.

use domain::money::Fen;
use domain::rules::{Business, Household, NewCardValidity};
use domain::session::PaymentMethod;
use domain::trade_state::TradeState;
use domain::CitizenId;
use time::Date;

use crate::{Store, StoreError};

/// Step 6 of a session: the receipt and, when found, the certified photo.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionReceipt {
    /// The kiosk's session id.
    pub session_id: String,
    /// The citizen.
    pub id_number: String,
    /// The code scanned.
    pub receipt_code: String,
    /// The photo system found a usable receipt for this citizen.
    pub found: bool,
    /// The certified photo (JPEG, opened), when found and present.
    pub photo: Option<Vec<u8>>,
}

/// Step 7: the comparison as stored with the session.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FaceScoreRecord {
    /// The kiosk's session id.
    pub session_id: String,
    /// Certified studio photo against the historical photo, 0–100.
    pub certified_vs_history: f64,
    /// Live photo against the historical photo, 0–100.
    pub live_vs_history: f64,
    /// The engine's distance behind `certified_vs_history`.
    pub certified_distance: f64,
    /// The engine's distance behind `live_vs_history`.
    pub live_distance: f64,
    /// The bar the certified score had to pass.
    pub certified_threshold: f64,
    /// The bar the live score had to pass.
    pub live_threshold: f64,
    /// Both passed.
    pub passed: bool,
    /// The engine's name.
    pub engine: String,
    /// The engine's version.
    pub engine_version: String,
    /// The live photo's passive liveness score, 0–1 (issue 20); `None` when no liveness engine
    /// ran.
    pub liveness_score: Option<f64>,
    /// The bar the liveness score was judged against.
    pub liveness_threshold: Option<f64>,
    /// The liveness engine's name and version.
    pub liveness_engine: Option<String>,
}

/// An application to create (step 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    /// The kiosk's session id (one application per session).
    pub session_id: String,
    /// The kiosk that took it.
    pub kiosk_id: String,
    /// The kiosk's city, the first six digits of the number.
    pub city_code: String,
    /// The citizen.
    pub id_number: CitizenId,
    /// Full name, from the population system.
    pub name: String,
    /// Nation code `01`–`56`.
    pub nation_code: String,
    /// Household address.
    pub address: String,
    /// Step 1's choice.
    pub business: Business,
    /// Step 2's choice.
    pub household: Household,
    /// The photo receipt (used by this application only).
    pub receipt_code: String,
    /// Mobile number.
    pub mobile: String,
    /// 工本费 in yuan.
    pub fee_cny: u32,
    /// The new card's validity.
    pub validity: NewCardValidity,
    /// The day of acceptance (Asia/Shanghai), also the number's date part.
    pub accepted_on: Date,
    /// The issue deadline.
    pub issue_by: Date,
    /// The household is in a remote area.
    pub remote_area: bool,
    /// The fingers captured, JSON.
    pub fingers: String,
    /// The code of the office where the card is collected (the kiosk's office); `None` only at
    /// a center configured without offices.
    pub collection_office: Option<String>,
    /// Unix seconds.
    pub now: i64,
}

/// A stored application.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRecord {
    /// 18 digits: city code, `YYYYMMDD`, 4-digit sequence.
    pub application_no: String,
    /// The kiosk's session id.
    pub session_id: String,
    /// The kiosk that took it.
    pub kiosk_id: String,
    /// The kiosk's city.
    pub city_code: String,
    /// The citizen.
    #[sqlx(try_from = "String")]
    pub id_number: CitizenId,
    /// Full name.
    pub name: String,
    /// Nation code.
    pub nation_code: String,
    /// Household address.
    pub address: String,
    /// Step 1's choice.
    #[sqlx(try_from = "String")]
    pub business: Business,
    /// Step 2's choice.
    #[sqlx(try_from = "String")]
    pub household: Household,
    /// The photo receipt.
    pub receipt_code: String,
    /// Mobile number.
    pub mobile: String,
    /// 工本费 in yuan.
    #[sqlx(try_from = "i64")]
    pub fee_cny: u32,
    /// New card validity.
    #[sqlx(try_from = "String")]
    pub validity: NewCardValidity,
    /// Day of acceptance.
    pub accepted_on: Date,
    /// Issue deadline.
    pub issue_by: Date,
    /// Remote area.
    pub remote_area: bool,
    /// Fingers, JSON.
    pub fingers: String,
    /// Accepted, then completed or referred when the session ends.
    #[sqlx(try_from = "String")]
    pub status: KioskStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// The code of the office where the card is collected; `None` for an application stored
    /// before offices were recorded (migration 0016): the configuration's default office.
    pub collection_office: Option<String>,
}

/// Where an application stands at the kiosk: accepted at step 10, then completed (the papers
/// printed) or referred to the window when the session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KioskStatus {
    /// Step 10 stored it; the session goes on.
    Accepted,
    /// The session finished at the kiosk.
    Completed,
    /// The session ended at the window.
    Referred,
}

impl KioskStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            KioskStatus::Accepted => "accepted",
            KioskStatus::Completed => "completed",
            KioskStatus::Referred => "referred",
        }
    }

    /// The inverse of [`KioskStatus::as_str`].
    pub fn parse(text: &str) -> Option<KioskStatus> {
        [
            KioskStatus::Accepted,
            KioskStatus::Completed,
            KioskStatus::Referred,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

impl TryFrom<String> for KioskStatus {
    type Error = domain::codes::UnknownCode;
    fn try_from(text: String) -> Result<KioskStatus, Self::Error> {
        KioskStatus::parse(&text).ok_or(domain::codes::UnknownCode {
            kind: "kiosk status",
            text,
        })
    }
}

/// A payment to register (step 11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// Derived from the application number and the attempt.
    pub out_trade_no: String,
    /// The application paid for.
    pub application_no: String,
    /// The kiosk's session id.
    pub session_id: String,
    /// 1–99.
    pub attempt: i64,
    /// WeChat or UnionPay.
    pub method: PaymentMethod,
    /// The fee.
    pub amount_fen: Fen,
    /// Unix seconds after which an unpaid order is closed.
    pub expires_at: i64,
    /// Unix seconds.
    pub now: i64,
}

/// A stored payment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentRecord {
    /// 商户订单号.
    pub out_trade_no: String,
    /// The application paid for.
    pub application_no: String,
    /// The kiosk's session id.
    pub session_id: String,
    /// 1–99.
    pub attempt: i64,
    /// `wechat` or `unionpay`.
    #[sqlx(try_from = "String")]
    pub method: PaymentMethod,
    /// Ordered.
    #[sqlx(try_from = "i64")]
    pub amount_fen: Fen,
    /// `NOTPAY`, `SUCCESS`, `CLOSED`, `PAYERROR`, `REVOKED`, … (a row with any other text is a
    /// decoding error, not a state nobody checks).
    #[sqlx(try_from = "String")]
    pub state: TradeState,
    /// WeChat Native's QR code content, once created.
    pub code_url: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// The provider's transaction id (WeChat) or the POS reference number, once paid.
    pub transaction_id: Option<String>,
    /// Paid, in fen.
    pub paid_fen: Option<i64>,
    /// Unix seconds.
    pub paid_at: Option<i64>,
    /// The kiosk's POS report, JSON.
    pub pos_result: Option<String>,
    /// Paid, but the application cannot go on: the money must be returned.
    pub void_required: bool,
    /// Unix seconds the kiosk reported the void.
    pub voided_at: Option<i64>,
    /// The kiosk's void report, JSON.
    pub void_result: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// A rendered document's record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentRecord {
    /// The kiosk's session id.
    pub session_id: String,
    /// `certificate`, `form`, `notice`.
    pub kind: String,
    /// The application.
    pub application_no: String,
    /// PDF bytes.
    pub size: i64,
    /// Hex SHA-256 of the PDF.
    pub sha256: String,
}

#[derive(sqlx::FromRow)]
struct ReceiptRow {
    session_id: String,
    id_number: String,
    receipt_code: String,
    found: bool,
    photo: Option<Vec<u8>>,
}

pub(crate) const APPLICATION_COLUMNS: &str =
    "application_no, session_id, kiosk_id, city_code, id_number, \
     name, nation_code, address, business, household, receipt_code, mobile, fee_cny, validity, \
     accepted_on, issue_by, remote_area, fingers, status, created_at, collection_office";

const PAYMENT_COLUMNS: &str = "out_trade_no, application_no, session_id, attempt, method, \
     amount_fen, state, code_url, expires_at, transaction_id, paid_fen, paid_at, pos_result, \
     void_required, voided_at, void_result, created_at, updated_at";

/// Set in the statement that records a payment as paid, so the flag cannot be lost to a crash:
/// the payment's application is missing or referred, or another attempt of it was paid already.
const VOID_REQUIRED_WHEN_PAID: &str = "(NOT EXISTS (SELECT 1 FROM center_applications a \
       WHERE a.application_no = center_payments.application_no AND a.status <> 'referred') \
     OR EXISTS (SELECT 1 FROM center_payments o \
       WHERE o.application_no = center_payments.application_no \
         AND o.out_trade_no <> center_payments.out_trade_no \
         AND o.state IN ('SUCCESS', 'REVOKED')))";

/// Holds a payment reported paid with another amount than ordered ([`Store::hold_payment`]).
const HOLD_PAYMENT: &str = "UPDATE center_payments SET state = 'PAYERROR', transaction_id = $2, \
       paid_fen = $3, paid_at = $4, updated_at = $4, void_required = TRUE \
     WHERE out_trade_no = $1 AND state NOT IN ('SUCCESS', 'REVOKED', 'REFUND') \
       AND transaction_id IS NULL";

/// The largest sequence number of a city and day (four digits).
pub const MAX_DAILY_APPLICATIONS: i64 = 9999;

impl Store {
    /// Registers session `session_id` for `kiosk_id` if new; returns the kiosk that owns it (the
    /// first to use the id).
    pub async fn start_session(
        &self,
        session_id: &str,
        kiosk_id: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_sessions (session_id, kiosk_id, started_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO NOTHING"
        )
        .bind(session_id)
        .bind(kiosk_id)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        let owner: String = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT kiosk_id FROM center_sessions WHERE session_id = $1"
        )
        .bind(session_id)
        .fetch_one(pool)
        .await)?;
        Ok(owner)
    }

    /// The kiosk owning a session, if the session exists.
    pub async fn session_kiosk(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT kiosk_id FROM center_sessions WHERE session_id = $1"
        )
        .bind(session_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Records how the session ended; the first outcome wins and is returned.
    pub async fn end_session(
        &self,
        session_id: &str,
        outcome_json: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_sessions SET outcome = $2, ended_at = $3 \
             WHERE session_id = $1 AND outcome IS NULL"
        )
        .bind(session_id)
        .bind(outcome_json)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        let stored: Option<String> = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT outcome FROM center_sessions WHERE session_id = $1"
        )
        .bind(session_id)
        .fetch_one(pool)
        .await)?;
        stored.ok_or_else(|| StoreError::Rejected(format!("session {session_id} does not exist")))
    }

    /// The recorded outcome of a session, if it ended.
    pub async fn session_outcome(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let stored: Option<Option<String>> = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT outcome FROM center_sessions WHERE session_id = $1"
        )
        .bind(session_id)
        .fetch_optional(pool)
        .await)?;
        Ok(stored.flatten())
    }

    /// Records step 6 and returns what is stored: the first receipt found wins; until one is
    /// found, each scan (step 6 allows scanning again) replaces the previous answer.
    pub async fn record_receipt(
        &self,
        receipt: &SessionReceipt,
        now: i64,
    ) -> Result<SessionReceipt, StoreError> {
        let sealed = self.seal(receipt.photo.as_deref());
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_receipts \
               (session_id, id_number, receipt_code, found, photo, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO UPDATE SET \
               id_number = excluded.id_number, receipt_code = excluded.receipt_code, \
               found = excluded.found, photo = excluded.photo, created_at = excluded.created_at \
             WHERE NOT center_receipts.found"
        )
        .bind(&receipt.session_id)
        .bind(&receipt.id_number)
        .bind(&receipt.receipt_code)
        .bind(receipt.found)
        .bind(sealed)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        self.session_receipt(&receipt.session_id)
            .await?
            .ok_or_else(|| StoreError::Rejected("the receipt was not recorded".into()))
    }

    /// Step 6 of a session, if recorded.
    pub async fn session_receipt(
        &self,
        session_id: &str,
    ) -> Result<Option<SessionReceipt>, StoreError> {
        let row: Option<ReceiptRow> = on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT session_id, id_number, receipt_code, found, photo FROM center_receipts \
             WHERE session_id = $1"
        )
        .bind(session_id)
        .fetch_optional(pool)
        .await)?;
        row.map(|row| {
            Ok(SessionReceipt {
                session_id: row.session_id,
                id_number: row.id_number,
                receipt_code: row.receipt_code,
                found: row.found,
                photo: self.open(row.photo)?,
            })
        })
        .transpose()
    }

    /// Records step 7 (first answer wins) and returns what is stored.
    pub async fn record_face_scores(
        &self,
        scores: &FaceScoreRecord,
        now: i64,
    ) -> Result<FaceScoreRecord, StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_face_scores (session_id, certified_vs_history, live_vs_history, \
               certified_distance, live_distance, certified_threshold, live_threshold, passed, \
               engine, engine_version, created_at, liveness_score, liveness_threshold, \
               liveness_engine) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (session_id) DO NOTHING"
        )
        .bind(&scores.session_id)
        .bind(scores.certified_vs_history)
        .bind(scores.live_vs_history)
        .bind(scores.certified_distance)
        .bind(scores.live_distance)
        .bind(scores.certified_threshold)
        .bind(scores.live_threshold)
        .bind(scores.passed)
        .bind(&scores.engine)
        .bind(&scores.engine_version)
        .bind(now)
        .bind(scores.liveness_score)
        .bind(scores.liveness_threshold)
        .bind(&scores.liveness_engine)
        .execute(pool)
        .await
        .map(drop))?;
        self.face_scores(&scores.session_id)
            .await?
            .ok_or_else(|| StoreError::Rejected("the face scores were not recorded".into()))
    }

    /// Step 7 of a session, if recorded.
    pub async fn face_scores(
        &self,
        session_id: &str,
    ) -> Result<Option<FaceScoreRecord>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT session_id, certified_vs_history, live_vs_history, certified_distance, \
               live_distance, certified_threshold, live_threshold, passed, engine, engine_version, \
               liveness_score, liveness_threshold, liveness_engine \
             FROM center_face_scores WHERE session_id = $1"
        )
        .bind(session_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Stores a session blob, sealed; the first upload of a kind wins. Returns whether this call
    /// stored it.
    pub async fn put_session_blob(
        &self,
        session_id: &str,
        kind: &str,
        bytes: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let sealed = self.seal(Some(bytes));
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let done = on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_session_blobs (session_id, kind, bytes, size, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id, kind) DO NOTHING"
        )
        .bind(session_id)
        .bind(kind)
        .bind(sealed)
        .bind(size)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// A session blob, opened.
    pub async fn session_blob(
        &self,
        session_id: &str,
        kind: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let sealed: Option<Vec<u8>> = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT bytes FROM center_session_blobs WHERE session_id = $1 AND kind = $2"
        )
        .bind(session_id)
        .bind(kind)
        .fetch_optional(pool)
        .await)?;
        self.open(sealed)
    }

    /// Deletes the session's blobs except those of kind `keep` (retention at the end of a session
    /// that did not become an application); returns how many.
    pub async fn delete_session_blobs_except(
        &self,
        session_id: &str,
        keep: &str,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query(
            "DELETE FROM center_session_blobs WHERE session_id = $1 AND kind <> $2"
        )
        .bind(session_id)
        .bind(keep)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// Renames the session's blob `from` to `to` (a video kept for audit); `false` when there is
    /// none or `to` exists already.
    pub async fn rename_session_blob(
        &self,
        session_id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_session_blobs SET kind = $3 WHERE session_id = $1 AND kind = $2 \
             AND NOT EXISTS (SELECT 1 FROM center_session_blobs \
                             WHERE session_id = $1 AND kind = $3)"
        )
        .bind(session_id)
        .bind(from)
        .bind(to)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Charges `bytes` to the upload quota `scope` (`session:<sid>`, `kiosk:<id>:<day>`) if the
    /// total stays within `limit`; returns the new total, or `None` (nothing charged) when it
    /// would pass the limit. One conditional upsert, so concurrent uploads cannot both pass.
    pub async fn charge_blob_quota(
        &self,
        scope: &str,
        bytes: u64,
        limit: u64,
        now: i64,
    ) -> Result<Option<u64>, StoreError> {
        if bytes > limit {
            return Ok(None);
        }
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let total: Option<i64> = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "INSERT INTO center_blob_usage (scope, bytes, updated_at) VALUES ($1, $2, $4) \
             ON CONFLICT (scope) DO UPDATE \
               SET bytes = center_blob_usage.bytes + excluded.bytes, \
                   updated_at = excluded.updated_at \
               WHERE center_blob_usage.bytes + excluded.bytes <= $3 \
             RETURNING bytes"
        )
        .bind(scope)
        .bind(bytes)
        .bind(limit)
        .bind(now)
        .fetch_optional(pool)
        .await)?;
        Ok(total.map(|total| u64::try_from(total).unwrap_or(0)))
    }

    /// Gives back `bytes` charged to `scope` (an upload that was not stored after all).
    pub async fn refund_blob_quota(&self, scope: &str, bytes: u64) -> Result<(), StoreError> {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_blob_usage SET bytes = CASE WHEN bytes > $2 THEN bytes - $2 ELSE 0 END \
             WHERE scope = $1"
        )
        .bind(scope)
        .bind(bytes)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Creates the application of a session with a newly allocated number, or returns the one the
    /// session already has (the second element is `true` when this call created it).
    ///
    /// The number is `city_code` + `YYYYMMDD` of `accepted_on` + a 4-digit sequence, allocated by
    /// an upsert on `center_application_sequences` in the insert's transaction.
    pub async fn create_application(
        &self,
        new: &NewApplication,
    ) -> Result<(ApplicationRecord, bool), StoreError> {
        if let Some(existing) = self.application_by_session(&new.session_id).await? {
            return Ok((existing, false));
        }
        let day = format!(
            "{:04}{:02}{:02}",
            new.accepted_on.year(),
            u8::from(new.accepted_on.month()),
            new.accepted_on.day()
        );
        let insert = format!(
            "INSERT INTO center_applications ({APPLICATION_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
              'accepted', $19, $20)"
        );
        let result: Result<String, StoreError> = on_pool!(&self.pool, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let seq: i64 = sqlx::query_scalar(
                    "INSERT INTO center_application_sequences (city_code, day, last_seq) \
                     VALUES ($1, $2, 1) ON CONFLICT (city_code, day) \
                     DO UPDATE SET last_seq = center_application_sequences.last_seq + 1 \
                     RETURNING last_seq",
                )
                .bind(&new.city_code)
                .bind(&day)
                .fetch_one(&mut *tx)
                .await?;
                if seq > MAX_DAILY_APPLICATIONS {
                    return Err(StoreError::Rejected(format!(
                        "more than {MAX_DAILY_APPLICATIONS} applications in {} on {day}",
                        new.city_code
                    )));
                }
                let number = format!("{}{day}{seq:04}", new.city_code);
                sqlx::query(&insert)
                    .bind(&number)
                    .bind(&new.session_id)
                    .bind(&new.kiosk_id)
                    .bind(&new.city_code)
                    .bind(new.id_number.as_str())
                    .bind(&new.name)
                    .bind(&new.nation_code)
                    .bind(&new.address)
                    .bind(new.business.as_str())
                    .bind(new.household.as_str())
                    .bind(&new.receipt_code)
                    .bind(&new.mobile)
                    .bind(i64::from(new.fee_cny))
                    .bind(new.validity.as_str())
                    .bind(new.accepted_on)
                    .bind(new.issue_by)
                    .bind(new.remote_area)
                    .bind(&new.fingers)
                    .bind(new.now)
                    .bind(&new.collection_office)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(number)
            }
            .await
        });
        match result {
            Ok(number) => {
                let created = self.application(&number).await?.ok_or_else(|| {
                    StoreError::Rejected(format!("application {number} vanished"))
                })?;
                Ok((created, true))
            }
            // A concurrent call for the same session won: answer with its application.
            Err(StoreError::Rejected(reason)) => {
                match self.application_by_session(&new.session_id).await? {
                    Some(existing) => Ok((existing, false)),
                    None => Err(StoreError::Rejected(reason)),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// The application of a session.
    pub async fn application_by_session(
        &self,
        session_id: &str,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        let sql =
            format!("SELECT {APPLICATION_COLUMNS} FROM center_applications WHERE session_id = $1");
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(session_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// An application by its number.
    pub async fn application(
        &self,
        application_no: &str,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM center_applications WHERE application_no = $1"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(application_no)
            .fetch_optional(pool)
            .await)?)
    }

    /// The applications accepted on `day`.
    pub async fn applications_accepted_on(
        &self,
        day: Date,
    ) -> Result<Vec<ApplicationRecord>, StoreError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM center_applications WHERE accepted_on = $1 \
             ORDER BY application_no"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(day)
            .fetch_all(pool)
            .await)?)
    }

    /// Moves an accepted application to `end` (completed or referred); the first end wins.
    /// Returns whether this call changed it.
    pub async fn finish_application(
        &self,
        application_no: &str,
        end: KioskStatus,
    ) -> Result<bool, StoreError> {
        if end == KioskStatus::Accepted {
            return Err(StoreError::Rejected(
                "an application ends completed or referred, not accepted".into(),
            ));
        }
        let done = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_applications SET status = $2 \
             WHERE application_no = $1 AND status = 'accepted'"
        )
        .bind(application_no)
        .bind(end.as_str())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Registers a payment, or returns the one already registered under its trade number (the
    /// second element is `true` when this call created it).
    pub async fn create_payment(
        &self,
        new: &NewPayment,
    ) -> Result<(PaymentRecord, bool), StoreError> {
        let done = on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_payments (out_trade_no, application_no, session_id, attempt, \
               method, amount_fen, state, expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'NOTPAY', $7, $8, $8) \
             ON CONFLICT DO NOTHING"
        )
        .bind(&new.out_trade_no)
        .bind(&new.application_no)
        .bind(&new.session_id)
        .bind(new.attempt)
        .bind(new.method.as_str())
        .bind(new.amount_fen.as_i64())
        .bind(new.expires_at)
        .bind(new.now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        let stored = self
            .payment(&new.session_id, new.attempt)
            .await?
            .ok_or_else(|| StoreError::Rejected("the payment was not recorded".into()))?;
        Ok((stored, done == 1))
    }

    /// A payment by session and attempt.
    pub async fn payment(
        &self,
        session_id: &str,
        attempt: i64,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM center_payments WHERE session_id = $1 AND attempt = $2"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(session_id)
            .bind(attempt)
            .fetch_optional(pool)
            .await)?)
    }

    /// A payment by its trade number.
    pub async fn payment_by_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM center_payments WHERE out_trade_no = $1");
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(out_trade_no)
            .fetch_optional(pool)
            .await)?)
    }

    /// Every payment of an application, by attempt.
    pub async fn payments_of_application(
        &self,
        application_no: &str,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM center_payments WHERE application_no = $1 \
             ORDER BY attempt"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(application_no)
            .fetch_all(pool)
            .await)?)
    }

    /// Every payment created or paid in `[from, to)` (unix seconds), by trade number.
    pub async fn payments_between(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM center_payments \
             WHERE (created_at >= $1 AND created_at < $2) OR (paid_at >= $1 AND paid_at < $2) \
             ORDER BY out_trade_no"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?)
    }

    /// Stores WeChat's `code_url` of a created order.
    pub async fn set_payment_code_url(
        &self,
        out_trade_no: &str,
        code_url: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_payments SET code_url = $2, updated_at = $3 WHERE out_trade_no = $1"
        )
        .bind(out_trade_no)
        .bind(code_url)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Moves a payment that is not final (`NOTPAY`, `USERPAYING`) to `state`. Returns whether this
    /// call changed it.
    pub async fn set_payment_state(
        &self,
        out_trade_no: &str,
        state: TradeState,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_payments SET state = $2, updated_at = $3 \
             WHERE out_trade_no = $1 AND state IN ('NOTPAY', 'USERPAYING')"
        )
        .bind(out_trade_no)
        .bind(state.as_str())
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records a payment as paid, once: the first of callback, query or POS report to call this
    /// gets `true`. In the same statement it is flagged `void_required` when its application is
    /// missing or referred, or another attempt was paid already. A payment closed here but paid at the provider meanwhile is recorded too (the
    /// money was taken); a voided or refunded one is left alone.
    pub async fn record_payment_paid(
        &self,
        out_trade_no: &str,
        transaction_id: &str,
        paid_fen: i64,
        paid_at: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| {
            sqlx::query(&format!(
            "UPDATE center_payments SET state = 'SUCCESS', transaction_id = $2, paid_fen = $3, \
               paid_at = $4, updated_at = $4, void_required = {VOID_REQUIRED_WHEN_PAID} \
             WHERE out_trade_no = $1 AND state NOT IN ('SUCCESS', 'REVOKED', 'REFUND')"
        ))
            .bind(out_trade_no)
            .bind(transaction_id)
            .bind(paid_fen)
            .bind(paid_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Holds a payment the provider reports paid with an amount other than the order's: it is
    /// not recorded as paid (`PAYERROR`), keeps the transaction and the amount for staff, and
    /// is flagged `void_required` (the money must go back). Returns whether this call held it.
    pub async fn hold_payment(
        &self,
        out_trade_no: &str,
        transaction_id: &str,
        paid_fen: i64,
        paid_at: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| sqlx::query(HOLD_PAYMENT)
            .bind(out_trade_no)
            .bind(transaction_id)
            .bind(paid_fen)
            .bind(paid_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Stores the kiosk's POS report and moves a payment that is not final to `state`
    /// (`SUCCESS` with `paid_fen` and the reference, or `PAYERROR`). An approved purchase is
    /// recorded on a payment closed meanwhile too (the card was charged). Returns whether this
    /// call changed it.
    pub async fn record_pos_result(
        &self,
        out_trade_no: &str,
        state: &str,
        report_json: &str,
        reference: Option<&str>,
        paid_fen: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let paid_at = paid_fen.map(|_| now);
        let done = on_pool!(&self.pool, |pool| sqlx::query(&format!(
            "UPDATE center_payments SET state = $2, pos_result = $3, transaction_id = $4, \
               paid_fen = $5, paid_at = $6, updated_at = $7, \
               void_required = CASE WHEN $2 = 'SUCCESS' THEN {VOID_REQUIRED_WHEN_PAID} \
                 ELSE void_required END \
             WHERE out_trade_no = $1 AND (state IN ('NOTPAY', 'USERPAYING') \
               OR ($2 = 'SUCCESS' AND state = 'CLOSED'))"
        ))
        .bind(out_trade_no)
        .bind(state)
        .bind(report_json)
        .bind(reference)
        .bind(paid_fen)
        .bind(paid_at)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Flags a paid payment whose application cannot go on (the money must be returned).
    pub async fn require_void(&self, out_trade_no: &str, now: i64) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_payments SET void_required = TRUE, updated_at = $2 \
             WHERE out_trade_no = $1 AND state = 'SUCCESS' AND NOT void_required"
        )
        .bind(out_trade_no)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records the kiosk's void of a paid payment: `REVOKED`, no longer `void_required`. Returns
    /// whether this call changed it.
    pub async fn record_void(
        &self,
        out_trade_no: &str,
        report_json: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| {
            sqlx::query(
            "UPDATE center_payments SET state = 'REVOKED', void_required = FALSE, voided_at = $3, \
               void_result = $2, updated_at = $3 \
             WHERE out_trade_no = $1 AND state = 'SUCCESS'"
        )
        .bind(out_trade_no)
        .bind(report_json)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Records that a document was rendered for a session (the first record of a kind stays).
    pub async fn record_document(
        &self,
        document: &DocumentRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_documents \
               (session_id, kind, application_no, size, sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, kind) DO NOTHING"
        )
        .bind(&document.session_id)
        .bind(&document.kind)
        .bind(&document.application_no)
        .bind(document.size)
        .bind(&document.sha256)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// The documents rendered for a session, by kind.
    pub async fn session_documents(
        &self,
        session_id: &str,
    ) -> Result<Vec<DocumentRecord>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT session_id, kind, application_no, size, sha256 FROM center_documents \
             WHERE session_id = $1 ORDER BY kind"
        )
        .bind(session_id)
        .fetch_all(pool)
        .await)?)
    }
}

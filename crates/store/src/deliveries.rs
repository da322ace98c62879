//! One citizen, one application, delivered once (migration `0008_center_integrity`): the scope
//! decision bound to its session, the citizen's live application, and the outbox through which
//! each completed application reaches the population system.
//!
//! Invariants:
//! - At most one live (`accepted` or `completed`) application per citizen: a unique index in
//!   both databases, so two kiosks racing for one citizen get one application between them.
//! - An application is completed and its delivery row written in one transaction: a completed
//!   application is never without its delivery, and a crash loses neither.
//! - A delivery row is claimed with a lease before it is sent, so replicas do not send one
//!   application at the same time; the population system is idempotent by session id, so a send
//!   repeated after a crash never creates a second application there.

use crate::sessions::ApplicationRecord;
use crate::{Store, StoreError};

/// Step 5's decision as bound to its session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScopeDecisionRecord {
    /// The kiosk's session id.
    pub session_id: String,
    /// The citizen decided for.
    pub id_number: String,
    /// `expiry_renewal`, `lost`, `damaged`.
    pub business: String,
    /// `local`, `province`.
    pub household: String,
    /// The card read at step 3 (renewals), JSON.
    pub card: Option<String>,
    /// `accept` or the refusal's reason code.
    pub reason: String,
}

/// Where an application's delivery to the population system stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Not yet acknowledged: sent (again) when due.
    Pending,
    /// Acknowledged by the population system.
    Delivered,
    /// Refused by the population system; staff must act.
    Rejected,
}

impl DeliveryState {
    /// `pending`, `delivered`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Result<DeliveryState, StoreError> {
        match text {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "rejected" => Ok(DeliveryState::Rejected),
            other => Err(StoreError::Corrupt {
                column: "center_deliveries.state",
                value: other.to_owned(),
                reason: "unknown delivery state".into(),
            }),
        }
    }
}

/// An application's delivery row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The application.
    pub application_no: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Sends tried so far.
    pub attempts: i64,
    /// Unix seconds of the next try (pending only).
    pub next_attempt_at: i64,
    /// The last failure, for staff.
    pub last_error: Option<String>,
    /// The population system's reference, once delivered.
    pub reference: Option<String>,
    /// The old card was reported lost (lost replacements).
    pub lost_reported: bool,
    /// Unix seconds the row was written (the application completed).
    pub created_at: i64,
    /// Unix seconds of the acknowledgement.
    pub delivered_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    application_no: String,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    reference: Option<String>,
    lost_reported: bool,
    created_at: i64,
    delivered_at: Option<i64>,
}

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<DeliveryRecord, StoreError> {
        Ok(DeliveryRecord {
            state: DeliveryState::parse(&row.state)?,
            application_no: row.application_no,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            reference: row.reference,
            lost_reported: row.lost_reported,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        })
    }
}

const DELIVERY_COLUMNS: &str = "application_no, state, attempts, next_attempt_at, last_error, \
     reference, lost_reported, created_at, delivered_at";

/// A live application: accepted or completed at the kiosk, its journey not ended (the unique
/// index `center_applications_one_live`'s condition, migration 0019).
const LIVE_WHERE: &str = "status IN ('accepted', 'completed') \
     AND journey_state NOT IN ('rejected', 'collected', 'returned', 'cancelled')";

impl Store {
    /// Binds step 5's decision to its session; a later decision of the same session (the citizen
    /// went back to step 2) replaces it.
    pub async fn record_scope_decision(
        &self,
        decision: &ScopeDecisionRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO center_scope_decisions \
             (session_id, id_number, business, household, card, reason, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (session_id) DO UPDATE SET \
             id_number = excluded.id_number, business = excluded.business, \
             household = excluded.household, card = excluded.card, reason = excluded.reason, \
             decided_at = excluded.decided_at"
        )
        .bind(&decision.session_id)
        .bind(&decision.id_number)
        .bind(&decision.business)
        .bind(&decision.household)
        .bind(&decision.card)
        .bind(&decision.reason)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The scope decision bound to a session.
    pub async fn scope_decision(
        &self,
        session_id: &str,
    ) -> Result<Option<ScopeDecisionRecord>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT session_id, id_number, business, household, card, reason \
             FROM center_scope_decisions WHERE session_id = $1"
        )
        .bind(session_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// The citizen's live application (accepted or completed), if any.
    pub async fn live_application_of(
        &self,
        id_number: &str,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM center_applications WHERE id_number = $1 AND {LIVE_WHERE}",
            crate::sessions::APPLICATION_COLUMNS
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(id_number)
            .fetch_optional(pool)
            .await)?)
    }

    /// Completes an `accepted` application and writes its delivery row, in one transaction.
    /// Returns whether this call completed it (the first end wins).
    pub async fn complete_application(
        &self,
        application_no: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        on_pool!(&self.pool, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE center_applications SET status = 'completed' \
                     WHERE application_no = $1 AND status = 'accepted'",
                )
                .bind(application_no)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 1 {
                    sqlx::query(
                        "INSERT INTO center_deliveries \
                         (application_no, state, attempts, next_attempt_at, created_at, \
                          updated_at) VALUES ($1, 'pending', 0, $2, $2, $2) \
                         ON CONFLICT (application_no) DO NOTHING",
                    )
                    .bind(application_no)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<bool, StoreError>(done == 1)
            }
            .await
        })
    }

    /// Claims up to `limit` pending deliveries that are due at `now` for `lease_secs`: no other
    /// worker claims them until the lease runs out.
    pub async fn claim_due_deliveries(
        &self,
        now: i64,
        lease_secs: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        // The outer conditions are repeated so that PostgreSQL re-checks them on a row another
        // replica claimed while this statement waited for it.
        let sql = format!(
            "UPDATE center_deliveries SET leased_until = $2 \
             WHERE application_no IN (SELECT application_no FROM center_deliveries \
                 WHERE state = 'pending' AND next_attempt_at <= $1 AND leased_until <= $1 \
                 ORDER BY next_attempt_at LIMIT $3) \
               AND state = 'pending' AND leased_until <= $1 \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let rows: Vec<DeliveryRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(now)
            .bind(now + lease_secs)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
    }

    /// Records the population system's acknowledgement.
    pub async fn delivery_done(
        &self,
        application_no: &str,
        reference: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_deliveries SET state = 'delivered', reference = $2, delivered_at = $3, \
             attempts = attempts + 1, last_error = NULL, leased_until = 0, updated_at = $3 \
             WHERE application_no = $1"
        )
        .bind(application_no)
        .bind(reference)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records that the old card was reported lost (before the application itself is sent, so a
    /// retry does not repeat it).
    pub async fn delivery_lost_reported(
        &self,
        application_no: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_deliveries SET lost_reported = TRUE, updated_at = $2 \
             WHERE application_no = $1"
        )
        .bind(application_no)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records a failed send to be retried at `next_attempt_at`.
    pub async fn delivery_retry(
        &self,
        application_no: &str,
        error: &str,
        next_attempt_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_deliveries SET attempts = attempts + 1, last_error = $2, \
             next_attempt_at = $3, leased_until = 0, updated_at = $4 \
             WHERE application_no = $1 AND state = 'pending'"
        )
        .bind(application_no)
        .bind(error)
        .bind(next_attempt_at)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records that the population system refused the application: no more retries; staff act.
    pub async fn delivery_rejected(
        &self,
        application_no: &str,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_deliveries SET state = 'rejected', attempts = attempts + 1, \
             last_error = $2, leased_until = 0, updated_at = $3 WHERE application_no = $1"
        )
        .bind(application_no)
        .bind(error)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// An application's delivery row.
    pub async fn delivery(
        &self,
        application_no: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let sql =
            format!("SELECT {DELIVERY_COLUMNS} FROM center_deliveries WHERE application_no = $1");
        let row: Option<DeliveryRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(application_no)
            .fetch_optional(pool)
            .await)?;
        row.map(DeliveryRecord::try_from).transpose()
    }

    /// Deliveries not acknowledged although written before `written_before` (pending or
    /// rejected), oldest first: the fleet view's alert.
    pub async fn undelivered_since(
        &self,
        written_before: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM center_deliveries \
             WHERE state <> 'delivered' AND created_at < $1 ORDER BY created_at, application_no"
        );
        let rows: Vec<DeliveryRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(written_before)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
    }
}

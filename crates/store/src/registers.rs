//! The reference population system's write interfaces and its per-register reads (migration
//! `0009_population_submissions`): applications submitted by a kiosk center, a card reported
//! lost, and the floating-population (residence) registry on its own.
//!
//! Invariants:
//! - A submission is stored once per idempotency key (the center's session id): a repeat returns
//!   the first one and changes nothing, whichever of concurrent callers wins.
//! - A citizen has at most one application in progress: a submission for a citizen with another
//!   application in progress is refused, and nothing of it is kept.
//! - The photo, the fingerprint templates and the signature are sealed by the store's
//!   [`crate::BlobCipher`] before they reach the database.

use domain::id::CitizenId;
use domain::money::Fen;
use domain::rules::{Business, Household};
use domain::session::{Finger, PaymentMethod};
use time::Date;

use crate::model::IN_PROGRESS_SQL;
use crate::{rows, CardStatus, Store, StoreError};

/// One fingerprint of a submission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubmittedFinger {
    /// Which finger (`right_index`, … in the stored JSON).
    pub position: Finger,
    /// Quality 0–100.
    pub quality: u8,
    /// The ISO/IEC 19794-2 template.
    #[serde(skip)]
    pub template: Vec<u8>,
}

/// An application as a kiosk center submits it (受理信息上报).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubmission {
    /// The center's session id: a retry with the same key never creates a second application.
    pub idempotency_key: String,
    /// The center's application number (受理编号).
    pub application_number: String,
    /// The citizen.
    pub id: CitizenId,
    /// Step 1's choice.
    pub business: Business,
    /// Step 2's choice.
    pub household: Household,
    /// 受理单位.
    pub acceptance_unit: String,
    /// The cropped GA 461 ID photo (JPEG).
    pub photo: Vec<u8>,
    /// The two fingers, in capture order.
    pub fingers: [SubmittedFinger; 2],
    /// The signature image (PNG).
    pub signature: Vec<u8>,
    /// The mobile number (11 digits).
    pub mobile: String,
    /// 工本费 paid.
    pub fee_fen: Fen,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// The payment's transaction id (WeChat) or reference number (UnionPay).
    pub payment_reference: String,
    /// The card is due by this day.
    pub issue_by: Date,
    /// The day the population system received it.
    pub received_on: Date,
    /// Unix seconds.
    pub received_at: i64,
}

/// What became of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Stored now.
    Created(NewSubmission),
    /// Stored before under the same key: the first one, unchanged.
    Existing(NewSubmission),
    /// Refused; nothing was stored.
    Refused {
        /// A stable code: `unknown_citizen`, `application_in_progress`, `number_in_use`.
        reason: &'static str,
        /// Why, for a person.
        message: String,
    },
}

#[derive(sqlx::FromRow)]
struct SubmissionRow {
    idempotency_key: String,
    application_number: String,
    id_number: String,
    #[sqlx(try_from = "String")]
    business: Business,
    #[sqlx(try_from = "String")]
    household: Household,
    acceptance_unit: String,
    photo: Vec<u8>,
    fingers: String,
    template_1: Vec<u8>,
    template_2: Vec<u8>,
    signature: Vec<u8>,
    mobile: String,
    #[sqlx(try_from = "i64")]
    fee_fen: Fen,
    #[sqlx(try_from = "String")]
    payment_method: PaymentMethod,
    payment_reference: String,
    issue_by: Date,
    received_on: Date,
    received_at: i64,
}

const SUBMISSION_COLUMNS: &str = "idempotency_key, application_number, id_number, business, \
     household, acceptance_unit, photo, fingers, template_1, template_2, signature, mobile, \
     fee_fen, payment_method, payment_reference, issue_by, received_on, received_at";

/// A card loss report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossReport {
    /// The card's status after the report (`reported_lost`), `None` when the citizen has no card
    /// on record.
    pub card_status: Option<CardStatus>,
    /// The day of the (first) report.
    pub reported_on: Date,
}

/// Takes the write lock on the citizen's row (a no-op update); no row when the citizen is unknown.
const LOCK_CITIZEN: &str = "UPDATE citizens SET remote_area = remote_area WHERE id_number = $1";

impl Store {
    /// Stores a submitted application and its `population_applications` row in one transaction,
    /// or returns the one stored under the same key.
    pub async fn submit_application(
        &self,
        new: &NewSubmission,
    ) -> Result<SubmitOutcome, StoreError> {
        if let Some(existing) = self.submission_by_key(&new.idempotency_key).await? {
            return Ok(SubmitOutcome::Existing(existing));
        }
        let fingers = serde_json::to_string(&new.fingers)
            .map_err(|err| StoreError::Rejected(format!("fingers: {err}")))?;
        let seal = |bytes: &[u8]| self.cipher.seal(bytes);
        let insert = format!(
            "INSERT INTO population_submissions ({SUBMISSION_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        );
        let in_progress = format!(
            "SELECT application_number FROM population_applications \
             WHERE id_number = $1 AND status IN {IN_PROGRESS_SQL} AND application_number <> $2"
        );
        let result: Result<Option<SubmitOutcome>, StoreError> = on_pool!(&self.pool, |pool| {
            async {
                let mut tx = pool.begin().await?;
                // A write first: it takes SQLite's write lock at once (a read first would fail
                // with "database is locked" when two writers race) and, on PostgreSQL, locks the
                // citizen's row, so submissions of one citizen are decided one after the other.
                let locked = sqlx::query(LOCK_CITIZEN)
                    .bind(new.id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if locked == 0 {
                    return Ok(Some(SubmitOutcome::Refused {
                        reason: "unknown_citizen",
                        message: "no citizen with this id number".into(),
                    }));
                }
                let stored: Option<String> = sqlx::query_scalar(
                    "SELECT idempotency_key FROM population_submissions WHERE idempotency_key = $1",
                )
                .bind(&new.idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
                if stored.is_some() {
                    // A concurrent call with the same key committed while this one waited.
                    return Ok(Some(SubmitOutcome::Existing(new.clone())));
                }
                let other: Option<String> = sqlx::query_scalar(&in_progress)
                    .bind(new.id.as_str())
                    .bind(&new.application_number)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(other) = other {
                    return Ok(Some(SubmitOutcome::Refused {
                        reason: "application_in_progress",
                        message: format!("application {other} of this citizen is in progress"),
                    }));
                }
                let inserted = sqlx::query(
                    "INSERT INTO population_applications \
                     (application_number, id_number, status, applied_on) \
                     VALUES ($1, $2, 'accepted', $3) ON CONFLICT (application_number) DO NOTHING",
                )
                .bind(&new.application_number)
                .bind(new.id.as_str())
                .bind(new.received_on)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(Some(SubmitOutcome::Refused {
                        reason: "number_in_use",
                        message: format!(
                            "application number {} is already in use",
                            new.application_number
                        ),
                    }));
                }
                sqlx::query(&insert)
                    .bind(&new.idempotency_key)
                    .bind(&new.application_number)
                    .bind(new.id.as_str())
                    .bind(new.business.as_str())
                    .bind(new.household.as_str())
                    .bind(&new.acceptance_unit)
                    .bind(seal(&new.photo))
                    .bind(&fingers)
                    .bind(seal(&new.fingers[0].template))
                    .bind(seal(&new.fingers[1].template))
                    .bind(seal(&new.signature))
                    .bind(&new.mobile)
                    .bind(new.fee_fen.as_i64())
                    .bind(new.payment_method.as_str())
                    .bind(&new.payment_reference)
                    .bind(new.issue_by)
                    .bind(new.received_on)
                    .bind(new.received_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(None)
            }
            .await
        });
        match result {
            Ok(Some(SubmitOutcome::Existing(_))) => self
                .submission_by_key(&new.idempotency_key)
                .await?
                .map(SubmitOutcome::Existing)
                .ok_or_else(|| StoreError::Rejected("a submission vanished".into())),
            Ok(Some(refused)) => Ok(refused),
            Ok(None) => Ok(SubmitOutcome::Created(new.clone())),
            // A concurrent call with the same key won: answer with its submission.
            Err(StoreError::Rejected(reason)) => {
                match self.submission_by_key(&new.idempotency_key).await? {
                    Some(existing) => Ok(SubmitOutcome::Existing(existing)),
                    None => Err(StoreError::Rejected(reason)),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// The submission stored under an idempotency key, blobs opened.
    pub async fn submission_by_key(&self, key: &str) -> Result<Option<NewSubmission>, StoreError> {
        self.submission_where("idempotency_key", key).await
    }

    /// The submission of an application number, blobs opened.
    pub async fn submission_by_number(
        &self,
        application_number: &str,
    ) -> Result<Option<NewSubmission>, StoreError> {
        self.submission_where("application_number", application_number)
            .await
    }

    async fn submission_where(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<NewSubmission>, StoreError> {
        let sql =
            format!("SELECT {SUBMISSION_COLUMNS} FROM population_submissions WHERE {column} = $1");
        let row: Option<SubmissionRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(value)
            .fetch_optional(pool)
            .await)?;
        row.map(|row| self.submission_from_row(row)).transpose()
    }

    fn submission_from_row(&self, row: SubmissionRow) -> Result<NewSubmission, StoreError> {
        let open =
            |bytes: Vec<u8>| -> Result<Vec<u8>, StoreError> { Ok(self.cipher.open(&bytes)?) };
        let fingers: Vec<SubmittedFinger> =
            serde_json::from_str(&row.fingers).map_err(|err| StoreError::Corrupt {
                column: "population_submissions.fingers",
                value: row.fingers.clone(),
                reason: err.to_string(),
            })?;
        let [mut first, mut second]: [SubmittedFinger; 2] =
            fingers.try_into().map_err(|_| StoreError::Corrupt {
                column: "population_submissions.fingers",
                value: row.fingers.clone(),
                reason: "not two fingers".into(),
            })?;
        first.template = open(row.template_1)?;
        second.template = open(row.template_2)?;
        Ok(NewSubmission {
            id: rows::citizen_id("population_submissions.id_number", &row.id_number)?,
            idempotency_key: row.idempotency_key,
            application_number: row.application_number,
            business: row.business,
            household: row.household,
            acceptance_unit: row.acceptance_unit,
            photo: open(row.photo)?,
            fingers: [first, second],
            signature: open(row.signature)?,
            mobile: row.mobile,
            fee_fen: row.fee_fen,
            payment_method: row.payment_method,
            payment_reference: row.payment_reference,
            issue_by: row.issue_by,
            received_on: row.received_on,
            received_at: row.received_at,
        })
    }

    /// The submissions of one citizen, newest first (staff and tests).
    pub async fn submissions_of(&self, id: &CitizenId) -> Result<Vec<NewSubmission>, StoreError> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM population_submissions WHERE id_number = $1 \
             ORDER BY received_at DESC, application_number DESC"
        );
        let rows: Vec<SubmissionRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|row| self.submission_from_row(row))
            .collect()
    }

    /// Reports the citizen's card lost (挂失) on behalf of `application_number`: its status
    /// becomes `reported_lost`. Repeating it changes nothing. `None` when the number is unknown.
    pub async fn report_card_lost(
        &self,
        id: &CitizenId,
        application_number: &str,
        today: Date,
    ) -> Result<Option<LossReport>, StoreError> {
        let result: Result<Option<LossReport>, StoreError> = on_pool!(&self.pool, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let locked = sqlx::query(LOCK_CITIZEN)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if locked == 0 {
                    return Ok(None);
                }
                sqlx::query(
                    "INSERT INTO card_loss_reports (id_number, reported_on, application_number) \
                     VALUES ($1, $2, $3) ON CONFLICT (id_number) DO NOTHING",
                )
                .bind(id.as_str())
                .bind(today)
                .bind(application_number)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE id_cards SET status = 'reported_lost' \
                     WHERE id_number = $1 AND status <> 'reported_lost'",
                )
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
                let reported_on: Date = sqlx::query_scalar(
                    "SELECT reported_on FROM card_loss_reports WHERE id_number = $1",
                )
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await?;
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM id_cards WHERE id_number = $1")
                        .bind(id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.commit().await?;
                let card_status = status
                    .map(|text| {
                        CardStatus::parse(&text).ok_or_else(|| StoreError::Corrupt {
                            column: "id_cards.status",
                            value: text.clone(),
                            reason: "unknown card status".into(),
                        })
                    })
                    .transpose()?;
                Ok(Some(LossReport {
                    card_status,
                    reported_on,
                }))
            }
            .await
        });
        result
    }

    /// The last day of the citizen's residence registration (居住登记) in `city_code`, whether or
    /// not it is still in force; `None` when there is none.
    pub async fn residence_registration_until(
        &self,
        id: &CitizenId,
        city_code: &str,
    ) -> Result<Option<Date>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT valid_until FROM residence_registrations \
             WHERE id_number = $1 AND city_code = $2"
        )
        .bind(id.as_str())
        .bind(city_code)
        .fetch_optional(pool)
        .await)?)
    }
}

/// The status each production move of the reference population system comes from.
fn production_predecessor(to: crate::ApplicationStatus) -> Option<crate::ApplicationStatus> {
    use crate::ApplicationStatus as S;
    match to {
        S::InProduction => Some(S::Accepted),
        S::Ready => Some(S::InProduction),
        S::Collected => Some(S::Ready),
        S::Accepted | S::Withdrawn | S::Rejected => None,
    }
}

impl Store {
    /// Where an application of the population system stands; `None` for an unknown number.
    pub async fn population_application_status(
        &self,
        application_number: &str,
    ) -> Result<Option<crate::ApplicationStatus>, StoreError> {
        let text: Option<String> = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT status FROM population_applications WHERE application_number = $1"
        )
        .bind(application_number)
        .fetch_optional(pool)
        .await)?;
        text.map(|text| {
            crate::ApplicationStatus::parse(&text).ok_or(StoreError::Corrupt {
                column: "population_applications.status",
                value: text,
                reason: "unknown application status".into(),
            })
        })
        .transpose()
    }

    /// The reference population system's production (`idkiosk popsys produce`): moves an
    /// application one step, `accepted` → `in_production` → `ready` → `collected`, with a
    /// compare-and-set on the step before. `Ok(None)` for an unknown number; a move from any
    /// other status is [`StoreError::Rejected`] naming the status.
    pub async fn advance_population_application(
        &self,
        application_number: &str,
        to: crate::ApplicationStatus,
    ) -> Result<Option<crate::ApplicationStatus>, StoreError> {
        if let Some(from) = production_predecessor(to) {
            let moved = on_pool!(&self.pool, |pool| sqlx::query(
                "UPDATE population_applications SET status = $2 \
                 WHERE application_number = $1 AND status = $3"
            )
            .bind(application_number)
            .bind(to.as_str())
            .bind(from.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
            if moved == 1 {
                return Ok(Some(from));
            }
        }
        match self
            .population_application_status(application_number)
            .await?
        {
            None => Ok(None),
            Some(current) => Err(StoreError::Rejected(format!(
                "cannot mark {}: the application is {}",
                to.as_str(),
                current.as_str()
            ))),
        }
    }

    /// The reference population system refuses an application it had accepted (`idkiosk popsys
    /// produce --to rejected --reason …`): from `accepted` or `in_production` to `rejected`, with
    /// its reason (1 to 200 characters), compare-and-set. `Ok(None)` for an unknown number; from
    /// any other status [`StoreError::Rejected`] naming the status.
    pub async fn reject_population_application(
        &self,
        application_number: &str,
        reason: &str,
    ) -> Result<Option<crate::ApplicationStatus>, StoreError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(StoreError::Rejected(
                "reason: a rejection needs its reason, 1 to 200 characters".into(),
            ));
        }
        for from in [
            crate::ApplicationStatus::Accepted,
            crate::ApplicationStatus::InProduction,
        ] {
            let moved = on_pool!(&self.pool, |pool| {
                sqlx::query(
                "UPDATE population_applications SET status = 'rejected', rejection_reason = $2 \
                 WHERE application_number = $1 AND status = $3"
            )
            .bind(application_number)
            .bind(reason)
            .bind(from.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
            })?;
            if moved == 1 {
                return Ok(Some(from));
            }
        }
        match self
            .population_application_status(application_number)
            .await?
        {
            None => Ok(None),
            Some(current) => Err(StoreError::Rejected(format!(
                "cannot mark rejected: the application is {}",
                current.as_str()
            ))),
        }
    }

    /// Why the population system refused an application; `None` unless it is `rejected`.
    pub async fn population_rejection_reason(
        &self,
        application_number: &str,
    ) -> Result<Option<String>, StoreError> {
        let reason: Option<Option<String>> = on_pool!(&self.pool, |pool| {
            sqlx::query_scalar(
            "SELECT rejection_reason FROM population_applications WHERE application_number = $1"
        )
        .bind(application_number)
        .fetch_optional(pool)
        .await
        })?;
        Ok(reason.flatten())
    }

    /// The numbers of the population system's applications in `status`, in order.
    pub async fn population_applications_in(
        &self,
        status: crate::ApplicationStatus,
    ) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT application_number FROM population_applications WHERE status = $1 \
             ORDER BY application_number"
        )
        .bind(status.as_str())
        .fetch_all(pool)
        .await)?)
    }
}

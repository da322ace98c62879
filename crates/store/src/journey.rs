//! An application's journey after the kiosk and its SMS notices (migration
//! `0015_application_journey`, docs/domain.md section 10): the state of each application, every
//! move with its time and actor, and the outbox of notices to the citizen's mobile.
//!
//! Invariants:
//! - A move is decided by [`domain::journey::transition`] on the state read under the
//!   application's write lock (the transaction starts with a write), and stored with a
//!   compare-and-set on that state: two racing callers never both move an application from one
//!   state (and `UNIQUE (application_no, from_state)` holds it in the schema too).
//! - A move, its audit entry and the notice it causes are written in one transaction.
//! - At most one notice of a kind per application (`UNIQUE (application_no, kind)`); a notice is
//!   claimed with a lease before it is sent, so replicas do not send one at the same time.

use domain::journey::{transition, ApplicationState, Collector, IdentityCheck, JourneyEvent};
use domain::notice::NoticeKind;

use crate::audit::{append_in_tx, NewAuditEntry, PG_AUDIT_LOCK};
use crate::{Pool, Store, StoreError};

/// A move asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    /// The application.
    pub application_no: String,
    /// The state to reach.
    pub to: ApplicationState,
    /// Who moves it: `popsys`, `system`, or a staff user name.
    pub actor: String,
    /// The actor's role for the audit log: `system` or the staff role.
    pub role: String,
    /// Why (a rejection's or a cancellation's reason).
    pub reason: Option<String>,
    /// Unix seconds.
    pub at: i64,
    /// The notice the move causes, queued with it.
    pub notice: Option<NewNotice>,
}

/// The hand-over of a card at the window, stored with the move to collected
/// ([`Store::collect_card`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Handover {
    /// How the person was confirmed.
    pub check: IdentityCheck,
    /// Who took the card.
    pub collector: Collector,
}

/// A stored hand-over, the proxy's ID number and name opened.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRecord {
    /// The application.
    pub application_no: String,
    /// How the person was confirmed, and who took the card.
    pub handover: Handover,
    /// The clerk.
    pub clerk: String,
    /// Unix seconds.
    pub at: i64,
}

/// A hand-over as written: the proxy's fields sealed.
struct SealedHandover {
    method: &'static str,
    face_score: Option<f64>,
    collector: &'static str,
    proxy_id_number: Option<Vec<u8>>,
    proxy_name: Option<Vec<u8>>,
}

/// A notice to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// Which notice.
    pub kind: NoticeKind,
    /// The citizen's mobile number (11 digits).
    pub mobile: String,
    /// The text as it will be sent.
    pub text: String,
}

/// A stored move.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Transition {
    /// The application.
    pub application_no: String,
    /// The state it left.
    #[sqlx(rename = "from_state", try_from = "String")]
    pub from: ApplicationState,
    /// The state it reached.
    #[sqlx(rename = "to_state", try_from = "String")]
    pub to: ApplicationState,
    /// Who moved it.
    pub actor: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeState {
    /// Not yet sent: sent (again) when due.
    Pending,
    /// Taken by the SMS center.
    Sent,
    /// Refused for good; staff see it.
    Failed,
}

impl NoticeState {
    /// `pending`, `sent`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Pending => "pending",
            NoticeState::Sent => "sent",
            NoticeState::Failed => "failed",
        }
    }
}

impl TryFrom<String> for NoticeState {
    type Error = domain::codes::UnknownCode;
    fn try_from(text: String) -> Result<NoticeState, Self::Error> {
        match text.as_str() {
            "pending" => Ok(NoticeState::Pending),
            "sent" => Ok(NoticeState::Sent),
            "failed" => Ok(NoticeState::Failed),
            _ => Err(domain::codes::UnknownCode {
                kind: "notice state",
                text,
            }),
        }
    }
}

/// A notice in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoticeRecord {
    /// Its row id.
    pub id: i64,
    /// The application.
    pub application_no: String,
    /// Which notice.
    #[sqlx(try_from = "String")]
    pub kind: NoticeKind,
    /// The mobile number (never logged unmasked).
    pub mobile: String,
    /// The text.
    pub text: String,
    /// Where it stands.
    #[sqlx(try_from = "String")]
    pub state: NoticeState,
    /// Sends tried so far.
    pub attempts: i64,
    /// Unix seconds of the next try (pending only).
    pub next_attempt_at: i64,
    /// The last failure, for staff.
    pub last_error: Option<String>,
    /// The SMS center's message id, once sent.
    pub message_id: Option<String>,
    /// Unix seconds it was queued.
    pub created_at: i64,
    /// Unix seconds it was sent.
    pub sent_at: Option<i64>,
}

const NOTICE_COLUMNS: &str = "id, application_no, kind, mobile, text, state, attempts, \
     next_attempt_at, last_error, message_id, created_at, sent_at";

const TRANSITION_COLUMNS: &str = "application_no, from_state, to_state, actor, reason, at";

/// An application the population system still has work on, as the poll needs it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenApplication {
    /// The application.
    pub application_no: String,
    /// Its state (`accepted` or `in_production`).
    #[sqlx(rename = "journey_state", try_from = "String")]
    pub state: ApplicationState,
    /// The legal date to be ready by.
    pub issue_by: time::Date,
}

/// Why a move's transaction stopped.
enum Refusal {
    Unknown,
    Move(domain::journey::TransitionError),
    Store(StoreError),
}

impl From<sqlx::Error> for Refusal {
    fn from(err: sqlx::Error) -> Refusal {
        Refusal::Store(err.into())
    }
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Refusal {
        Refusal::Store(err)
    }
}

impl Store {
    /// Moves an application to `advance.to`, writes the move, its audit entry and its notice, in
    /// one transaction. A move the journey does not allow from the current state is
    /// [`StoreError::Transition`] naming that state; an unknown application
    /// [`StoreError::UnknownApplication`]. A notice of a kind already queued is not queued again.
    pub async fn advance_application(&self, advance: &Advance) -> Result<Transition, StoreError> {
        self.advance_with(advance, None).await
    }

    /// Moves a ready application to collected and stores its hand-over, in the move's
    /// transaction: the proxy's ID number and name sealed by the store's cipher (encrypted at
    /// rest), the clerk and time from `advance`. Refused like [`Store::advance_application`].
    pub async fn collect_card(
        &self,
        advance: &Advance,
        handover: &Handover,
    ) -> Result<Transition, StoreError> {
        if advance.to != ApplicationState::Collected {
            return Err(StoreError::Rejected(format!(
                "a hand-over moves to collected, not {}",
                advance.to
            )));
        }
        let (proxy_id_number, proxy_name) = match &handover.collector {
            Collector::Applicant => (None, None),
            Collector::Proxy { id, name } => (
                self.seal(Some(id.as_str().as_bytes())),
                self.seal(Some(name.as_bytes())),
            ),
        };
        let sealed = SealedHandover {
            method: handover.check.as_str(),
            face_score: match handover.check {
                IdentityCheck::Face { score } => Some(score),
                IdentityCheck::ByEye => None,
            },
            collector: handover.collector.as_str(),
            proxy_id_number,
            proxy_name,
        };
        self.advance_with(advance, Some(&sealed)).await
    }

    /// The hand-over of a collected application, `None` when none was stored.
    pub async fn collection_of(
        &self,
        application_no: &str,
    ) -> Result<Option<CollectionRecord>, StoreError> {
        type Row = (
            String,
            Option<f64>,
            String,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            String,
            i64,
        );
        let row: Option<Row> = on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT method, face_score, collector, proxy_id_number, proxy_name, clerk, at \
             FROM center_collections WHERE application_no = $1"
        )
        .bind(application_no)
        .fetch_optional(pool)
        .await)?;
        let Some((method, score, collector, proxy_id, proxy_name, clerk, at)) = row else {
            return Ok(None);
        };
        let corrupt = |column: &'static str, value: String, reason: &str| StoreError::Corrupt {
            column,
            value,
            reason: reason.into(),
        };
        let check = match (method.as_str(), score) {
            ("face", Some(score)) => IdentityCheck::Face { score },
            ("by_eye", None) => IdentityCheck::ByEye,
            _ => {
                return Err(corrupt(
                    "center_collections.method",
                    method,
                    "a face check needs its score, by eye none",
                ))
            }
        };
        let collector = match collector.as_str() {
            "applicant" => Collector::Applicant,
            "proxy" => {
                let opened = |sealed: Option<Vec<u8>>, column: &'static str| {
                    let plain = self
                        .open(sealed)?
                        .ok_or_else(|| corrupt(column, String::new(), "missing for a proxy"))?;
                    String::from_utf8(plain)
                        .map_err(|_| corrupt(column, String::new(), "not UTF-8"))
                };
                let id = opened(proxy_id, "center_collections.proxy_id_number")?;
                let id = domain::CitizenId::try_from(id).map_err(|err| {
                    corrupt(
                        "center_collections.proxy_id_number",
                        String::new(),
                        &err.to_string(),
                    )
                })?;
                Collector::Proxy {
                    id,
                    name: opened(proxy_name, "center_collections.proxy_name")?,
                }
            }
            _ => {
                return Err(corrupt(
                    "center_collections.collector",
                    collector,
                    "not applicant or proxy",
                ))
            }
        };
        Ok(Some(CollectionRecord {
            application_no: application_no.to_owned(),
            handover: Handover { check, collector },
            clerk,
            at,
        }))
    }

    async fn advance_with(
        &self,
        advance: &Advance,
        handover: Option<&SealedHandover>,
    ) -> Result<Transition, StoreError> {
        let Some(event) = JourneyEvent::reaching(advance.to) else {
            return Err(StoreError::Rejected(
                "no move leads back to submitted".into(),
            ));
        };
        let audit = NewAuditEntry {
            at: advance.at,
            actor: advance.actor.clone(),
            role: advance.role.clone(),
            action: "advance_application".into(),
            subject: advance.application_no.clone(),
            detail: String::new(),
        };
        macro_rules! advance {
            ($pool:expr, $lock:expr) => {{
                let mut tx = $pool.begin().await?;
                // A write first: the row's lock (SQLite's write lock) before the read.
                let locked = sqlx::query(
                    "UPDATE center_applications SET journey_state = journey_state \
                     WHERE application_no = $1",
                )
                .bind(&advance.application_no)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if locked == 0 {
                    return Err(Refusal::Unknown);
                }
                let current: String = sqlx::query_scalar(
                    "SELECT journey_state FROM center_applications WHERE application_no = $1",
                )
                .bind(&advance.application_no)
                .fetch_one(&mut *tx)
                .await?;
                let from =
                    ApplicationState::parse(&current).ok_or_else(|| StoreError::Corrupt {
                        column: "center_applications.journey_state",
                        value: current.clone(),
                        reason: "unknown application state".into(),
                    })?;
                let to = transition(from, event).map_err(Refusal::Move)?;
                let moved = sqlx::query(
                    "UPDATE center_applications SET journey_state = $2 \
                     WHERE application_no = $1 AND journey_state = $3",
                )
                .bind(&advance.application_no)
                .bind(to.as_str())
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if moved != 1 {
                    return Err(StoreError::Rejected(format!(
                        "application {} changed state during the move",
                        advance.application_no
                    ))
                    .into());
                }
                sqlx::query(
                    "INSERT INTO center_application_transitions \
                     (application_no, from_state, to_state, actor, reason, at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&advance.application_no)
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(&advance.actor)
                .bind(&advance.reason)
                .bind(advance.at)
                .execute(&mut *tx)
                .await?;
                if let Some(handover) = handover {
                    sqlx::query(
                        "INSERT INTO center_collections (application_no, method, face_score, \
                         collector, proxy_id_number, proxy_name, clerk, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&advance.application_no)
                    .bind(handover.method)
                    .bind(handover.face_score)
                    .bind(handover.collector)
                    .bind(&handover.proxy_id_number)
                    .bind(&handover.proxy_name)
                    .bind(&advance.actor)
                    .bind(advance.at)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(notice) = &advance.notice {
                    sqlx::query(INSERT_NOTICE)
                        .bind(&advance.application_no)
                        .bind(notice.kind.as_str())
                        .bind(&notice.mobile)
                        .bind(&notice.text)
                        .bind(advance.at)
                        .execute(&mut *tx)
                        .await?;
                }
                let mut audit = audit.clone();
                audit.detail = match &advance.reason {
                    Some(reason) => format!("{from} -> {to}: {reason}"),
                    None => format!("{from} -> {to}"),
                };
                let _entry = append_in_tx!(&mut tx, $lock, &audit);
                tx.commit().await?;
                Transition {
                    application_no: advance.application_no.clone(),
                    from,
                    to,
                    actor: advance.actor.clone(),
                    reason: advance.reason.clone(),
                    at: advance.at,
                }
            }};
        }
        let result: Result<Transition, Refusal> = match &self.pool {
            Pool::Sqlite(pool) => async { Ok::<_, Refusal>(advance!(pool, None::<&str>)) }.await,
            Pool::Postgres(pool) => {
                async { Ok::<_, Refusal>(advance!(pool, Some(PG_AUDIT_LOCK))) }.await
            }
        };
        match result {
            Ok(done) => Ok(done),
            Err(Refusal::Unknown) => Err(StoreError::UnknownApplication(
                advance.application_no.clone(),
            )),
            Err(Refusal::Move(refused)) => Err(StoreError::Transition(refused)),
            Err(Refusal::Store(err)) => Err(err),
        }
    }

    /// An application's journey state; `None` for an unknown application.
    pub async fn application_state(
        &self,
        application_no: &str,
    ) -> Result<Option<ApplicationState>, StoreError> {
        let text: Option<String> = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT journey_state FROM center_applications WHERE application_no = $1"
        )
        .bind(application_no)
        .fetch_optional(pool)
        .await)?;
        text.map(|text| {
            ApplicationState::parse(&text).ok_or(StoreError::Corrupt {
                column: "center_applications.journey_state",
                value: text,
                reason: "unknown application state".into(),
            })
        })
        .transpose()
    }

    /// An application's moves, oldest first.
    pub async fn application_transitions(
        &self,
        application_no: &str,
    ) -> Result<Vec<Transition>, StoreError> {
        let sql = format!(
            "SELECT {TRANSITION_COLUMNS} FROM center_application_transitions \
             WHERE application_no = $1 ORDER BY id"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(application_no)
            .fetch_all(pool)
            .await)?)
    }

    /// The applications the population system still has work on (`accepted`, `in_production`),
    /// and those still `submitted` although their delivery was answered (the move after the
    /// answer was not recorded: a crash or a database error between the two), by number, at
    /// most `limit`.
    pub async fn applications_in_production(
        &self,
        limit: i64,
    ) -> Result<Vec<OpenApplication>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT application_no, journey_state, issue_by FROM center_applications \
             WHERE journey_state IN ('accepted', 'in_production') \
                OR (journey_state = 'submitted' AND application_no IN \
                    (SELECT application_no FROM center_deliveries \
                     WHERE state IN ('delivered', 'rejected'))) \
             ORDER BY application_no LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// Queues a notice not caused by a move (the overdue notice); `false` when one of its kind
    /// is already queued for the application.
    pub async fn queue_notice(
        &self,
        application_no: &str,
        notice: &NewNotice,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| sqlx::query(INSERT_NOTICE)
            .bind(application_no)
            .bind(notice.kind.as_str())
            .bind(&notice.mobile)
            .bind(&notice.text)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Claims up to `limit` pending notices due at `now` for `lease_secs`.
    pub async fn claim_due_notices(
        &self,
        now: i64,
        lease_secs: i64,
        limit: i64,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        // The outer conditions are repeated so that PostgreSQL re-checks them on a row another
        // replica claimed while this statement waited for it.
        let sql = format!(
            "UPDATE center_sms_outbox SET leased_until = $2 \
             WHERE id IN (SELECT id FROM center_sms_outbox \
                 WHERE state = 'pending' AND next_attempt_at <= $1 AND leased_until <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $3) \
               AND state = 'pending' AND leased_until <= $1 \
             RETURNING {NOTICE_COLUMNS}"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(now)
            .bind(now + lease_secs)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Records that the SMS center took a notice.
    pub async fn notice_sent(&self, id: i64, message_id: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_sms_outbox SET state = 'sent', message_id = $2, sent_at = $3, \
             attempts = attempts + 1, last_error = NULL, leased_until = 0 \
             WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(message_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records a failed send of a notice, to be retried at `next_attempt_at`.
    pub async fn notice_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_sms_outbox SET attempts = attempts + 1, last_error = $2, \
             next_attempt_at = $3, leased_until = 0 WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(error)
        .bind(next_attempt_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records that a notice was refused for good.
    pub async fn notice_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE center_sms_outbox SET state = 'failed', attempts = attempts + 1, \
             last_error = $2, leased_until = 0 WHERE id = $1 AND state = 'pending'"
        )
        .bind(id)
        .bind(error)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// An application's notices, in the order they were queued.
    pub async fn notices_of_application(
        &self,
        application_no: &str,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM center_sms_outbox WHERE application_no = $1 ORDER BY id"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(application_no)
            .fetch_all(pool)
            .await)?)
    }
}

const INSERT_NOTICE: &str = "INSERT INTO center_sms_outbox \
     (application_no, kind, mobile, text, state, attempts, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (application_no, kind) DO NOTHING";

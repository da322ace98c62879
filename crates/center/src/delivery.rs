//! Delivery of completed applications to the population system, exactly once.
//!
//! The session's end writes the application's completion and its `center_deliveries` row in one
//! transaction (`Store::complete_application`); the loop here claims due rows with a lease, builds
//! the submission (the cropped ID photo, the two fingerprint templates, the signature, the
//! payment's reference), reports the old card lost first on a lost replacement, and records the
//! answer. A population system that is down, slow or answers garbage leaves the row pending, to
//! be retried with a growing pause; it never blocks a kiosk (the kiosk's `/end` only writes the
//! row). The session id is the population system's idempotency key, so a send repeated after a
//! crash or a lost answer never creates a second application there.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use domain::mobile::MobileNumber;
use popsys::{ApplicationSubmission, SubmissionOutcome, SubmittedFinger};
use store::deliveries::DeliveryRecord;
use store::sessions::ApplicationRecord;
use tokio::sync::Notify;

use crate::AppState;
use domain::trade_state::TradeState;

/// How the delivery loop paces itself.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// How often the loop looks for due rows when nothing wakes it.
    pub poll: Duration,
    /// How long a claimed row is this worker's before another may take it.
    pub lease: Duration,
    /// The first pause after a failure; it doubles with each attempt.
    pub first_backoff: Duration,
    /// The longest pause between attempts.
    pub max_backoff: Duration,
    /// Rows claimed per pass.
    pub batch: i64,
}

impl Default for DeliverySettings {
    fn default() -> DeliverySettings {
        DeliverySettings {
            poll: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            first_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(600),
            batch: 20,
        }
    }
}

/// An application not acknowledged for longer than this raises the fleet view's alert.
pub const UNDELIVERED_ALERT: Duration = Duration::from_secs(3600);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// Acknowledged by the population system.
    pub delivered: Vec<String>,
    /// Failed, to be retried.
    pub retried: Vec<String>,
    /// Refused by the population system.
    pub rejected: Vec<String>,
}

impl Pass {
    /// Rows this pass handled.
    pub fn claimed(&self) -> i64 {
        i64::try_from(self.delivered.len() + self.retried.len() + self.rejected.len())
            .unwrap_or(i64::MAX)
    }
}

/// The wake-up bell of the delivery loop: rung when an application completes, so it goes out
/// at once rather than at the next poll.
#[derive(Debug, Clone, Default)]
pub struct DeliveryBell(Arc<Notify>);

/// Rings the state's delivery bell.
pub fn wake(state: &AppState) {
    state.delivery_bell.0.notify_one();
}

/// Runs the delivery loop until the task is dropped.
pub async fn run(state: AppState, settings: DeliverySettings) {
    loop {
        match deliver_due(&state, &settings).await {
            // A full batch: more may be due (a backlog after an outage), go again at once.
            Ok(pass) if pass.claimed() >= settings.batch => continue,
            Ok(_) => {}
            Err(err) => tracing::error!(error = %format!("{err:#}"), "delivery pass failed"),
        }
        let bell = state.delivery_bell.0.clone();
        tokio::select! {
            _ = bell.notified() => {}
            _ = tokio::time::sleep(settings.poll) => {}
        }
    }
}

/// One pass: claims the rows due now and sends each.
pub async fn deliver_due(state: &AppState, settings: &DeliverySettings) -> anyhow::Result<Pass> {
    let now = state.now();
    let lease = i64::try_from(settings.lease.as_secs()).unwrap_or(60);
    let due = state
        .store
        .claim_due_deliveries(now, lease, settings.batch)
        .await
        .context("claiming due deliveries")?;
    let mut pass = Pass::default();
    for row in due {
        let number = row.application_no.clone();
        match deliver_one(state, &row).await {
            Ok(Sent::Accepted(reference)) => {
                state
                    .store
                    .delivery_done(&number, &reference, state.now())
                    .await?;
                tracing::info!(application = number, "application delivered");
                if let Err(err) = crate::journey::delivered(state, &number).await {
                    tracing::error!(
                        application = number,
                        error = %format!("{err:#}"),
                        "recording the acceptance"
                    );
                }
                pass.delivered.push(number);
            }
            Ok(Sent::Refused(reason)) => {
                state
                    .store
                    .delivery_rejected(&number, &reason, state.now())
                    .await?;
                tracing::warn!(application = number, reason, "application refused");
                if let Err(err) = crate::journey::refused(state, &number, &reason).await {
                    tracing::error!(
                        application = number,
                        error = %format!("{err:#}"),
                        "recording the refusal"
                    );
                }
                pass.rejected.push(number);
            }
            Err(err) => {
                let error = format!("{err:#}");
                let next = state.now() + backoff(settings, row.attempts);
                state
                    .store
                    .delivery_retry(&number, &error, next, state.now())
                    .await?;
                tracing::warn!(
                    application = number,
                    attempt = row.attempts + 1,
                    error,
                    "delivery failed; will retry"
                );
                pass.retried.push(number);
            }
        }
    }
    Ok(pass)
}

/// Seconds to wait after the `attempts`-th failure: doubling from the first pause, capped.
fn backoff(settings: &DeliverySettings, attempts: i64) -> i64 {
    let first = settings.first_backoff.as_secs().max(1);
    let factor = 1u64 << attempts.clamp(0, 20);
    let pause = first
        .saturating_mul(factor)
        .min(settings.max_backoff.as_secs());
    i64::try_from(pause).unwrap_or(i64::MAX)
}

enum Sent {
    /// The population system's reference (its application number).
    Accepted(String),
    /// Refused: reason code and message.
    Refused(String),
}

async fn deliver_one(state: &AppState, row: &DeliveryRecord) -> anyhow::Result<Sent> {
    let application = state
        .store
        .application(&row.application_no)
        .await?
        .context("the application of a delivery row is missing")?;
    let submission = submission(state, &application).await?;
    let today = state.today.today();
    if submission.business == domain::rules::Business::Lost && !row.lost_reported {
        let report = state
            .population
            .report_card_lost(&submission.id, &application.application_no, today)
            .await
            .context("reporting the old card lost")?;
        if report.is_none() {
            return Ok(Sent::Refused(
                "unknown_citizen: the population system has no such citizen".into(),
            ));
        }
        state
            .store
            .delivery_lost_reported(&application.application_no, state.now())
            .await?;
    }
    match state
        .population
        .submit_application(&submission, today)
        .await
        .context("submitting the application")?
    {
        SubmissionOutcome::Accepted {
            application_number, ..
        } => Ok(Sent::Accepted(application_number)),
        SubmissionOutcome::Refused { reason, message } => {
            Ok(Sent::Refused(format!("{reason}: {message}")))
        }
    }
}

/// The submission of a stored application, from its record, blobs and payment.
pub async fn submission(
    state: &AppState,
    application: &ApplicationRecord,
) -> anyhow::Result<ApplicationSubmission> {
    let sid = application.session_id.as_str();
    let blob = |kind: &'static str| async move {
        state
            .blobs
            .get(sid, kind)
            .await?
            .with_context(|| format!("the session's {kind} is missing"))
    };
    let photo_jpeg = blob("live_photo").await?;
    let signature_png = blob("signature").await?;
    let templates = [blob("fingerprint_1").await?, blob("fingerprint_2").await?];
    let positions: Vec<kiosk_wire::FingerJson> =
        serde_json::from_str(&application.fingers).context("the application's fingers")?;
    let [first, second]: [kiosk_wire::FingerJson; 2] = positions
        .try_into()
        .map_err(|_| anyhow::anyhow!("the application does not hold two fingers"))?;
    let [template_1, template_2] = templates;
    let payment = state
        .store
        .payments_of_application(&application.application_no)
        .await?
        .into_iter()
        .find(|payment| payment.state == TradeState::Success)
        .context("no successful payment is recorded for the application")?;
    let payment_method = payment.method;
    let fee_fen = crate::payments::paid_fen(&payment)?
        .unwrap_or(payment.amount_fen)
        .get();
    Ok(ApplicationSubmission {
        idempotency_key: application.session_id.clone(),
        application_number: application.application_no.clone(),
        id: application.id_number.clone(),
        business: application.business,
        household: application.household,
        acceptance_unit: state.config.bureau.clone(),
        photo_jpeg,
        fingers: [
            SubmittedFinger {
                position: first.position,
                quality: first.quality,
                template: template_1,
            },
            SubmittedFinger {
                position: second.position,
                quality: second.quality,
                template: template_2,
            },
        ],
        signature_png,
        mobile: MobileNumber::parse(&application.mobile)
            .map_err(|err| anyhow::anyhow!("stored mobile number: {err}"))?,
        fee_fen: domain::money::Fen::new(fee_fen).context("the payment's amount")?,
        payment_method,
        payment_reference: payment
            .transaction_id
            .context("the successful payment has no transaction id")?,
        issue_by: application.issue_by,
    })
}

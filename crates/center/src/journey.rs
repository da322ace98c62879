//! An application's journey after the kiosk (issue 17, docs/domain.md section 10) and the SMS
//! notices it causes.
//!
//! - The delivery loop reports the population system's answer: taken → `accepted` (with the
//!   "accepted" notice), refused → `rejected` with its reason (and the "rejected" notice).
//! - [`poll_production`] asks the population system how each application it has not finished
//!   stands and records each step (`in_production`, `ready` with the "ready" notice) with actor
//!   `popsys`; an application past its issue-by date without being ready gets the "overdue"
//!   notice, once.
//! - [`send_due_notices`] sends the queued notices through the [`SmsGateway`]: sent with the
//!   SMSC's message id, retried with a doubling pause after a transient failure, failed (for staff
//!   to see) after a permanent one. It runs in its own task, so a slow or absent SMSC holds up
//!   nothing else.
//!
//! Every move goes through [`store::Store::advance_application`]: checked against
//! `domain::journey`, stored with its actor, audited and its notice queued in one transaction.
//! The mobile number is masked in every log line and a notice's text is never logged.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use domain::journey::{self, ApplicationState};
use domain::mask::mask_mobile;
use domain::notice::{Notice, NoticeKind, Office};
use popsys::ApplicationStatus;
use sms::SmsGateway;
use store::deliveries::DeliveryState;
use store::journey::{Advance, NewNotice, NoticeRecord};
use store::sessions::ApplicationRecord;
use store::StoreError;

use crate::AppState;

/// The actor of the moves the population system reports.
pub const POPSYS_ACTOR: &str = "popsys";
/// The audit role of automatic moves.
pub const SYSTEM_ROLE: &str = "system";
/// The sender shown on the handset when the configuration names none (`[center.sms]
/// source_addr`'s default).
pub const DEFAULT_SOURCE_ADDR: &str = "10690001";

/// How the journey's tasks pace themselves.
#[derive(Debug, Clone)]
pub struct JourneySettings {
    /// How often the population system is asked for progress.
    pub poll: Duration,
    /// How often the SMS sender looks for due notices.
    pub send_every: Duration,
    /// The first pause after a transient SMS failure; it doubles with each attempt.
    pub first_backoff: Duration,
    /// The longest pause between SMS attempts.
    pub max_backoff: Duration,
    /// How long a claimed notice is this sender's.
    pub lease: Duration,
    /// Applications asked about, or notices sent, per pass.
    pub batch: i64,
}

impl Default for JourneySettings {
    fn default() -> JourneySettings {
        JourneySettings {
            poll: crate::config::DEFAULT_PRODUCTION_POLL,
            send_every: Duration::from_secs(5),
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            lease: Duration::from_secs(120),
            batch: 100,
        }
    }
}

/// Moves `number` to `to` as `actor`; `Ok(None)` when the journey refuses the move (the state
/// is named in the log), e.g. a report repeated after a crash.
pub async fn advance(
    state: &AppState,
    number: &str,
    to: ApplicationState,
    actor: &str,
    role: &str,
    reason: Option<String>,
    notice: Option<NewNotice>,
) -> anyhow::Result<Option<store::journey::Transition>> {
    let advance = Advance {
        application_no: number.to_owned(),
        to,
        actor: actor.to_owned(),
        role: role.to_owned(),
        reason,
        at: state.now(),
        notice,
    };
    match state.store.advance_application(&advance).await {
        Ok(done) => {
            tracing::info!(
                application = number,
                from = %done.from,
                to = %done.to,
                actor,
                "application moved"
            );
            Ok(Some(done))
        }
        Err(StoreError::Transition(refused)) => {
            tracing::info!(application = number, "move not taken: {refused}");
            Ok(None)
        }
        Err(err) => Err(err).with_context(|| format!("moving application {number} to {to}")),
    }
}

fn new_notice(record: &ApplicationRecord, notice: &Notice, template: &str) -> NewNotice {
    NewNotice {
        kind: notice.kind(),
        mobile: record.mobile.clone(),
        text: notice.render_with(template),
    }
}

async fn record(state: &AppState, number: &str) -> anyhow::Result<ApplicationRecord> {
    state
        .store
        .application(number)
        .await?
        .with_context(|| format!("application {number} is missing"))
}

/// The population system took the application: `accepted`, with the "accepted" notice. Whether
/// this call moved it.
pub async fn delivered(state: &AppState, number: &str) -> anyhow::Result<bool> {
    let record = record(state, number).await?;
    let notice = Notice::Accepted {
        name: record.name.clone(),
        application_no: record.application_no.clone(),
        ready_by: record.issue_by,
    };
    let queued = new_notice(&record, &notice, &state.config.sms.templates.accepted);
    advance(
        state,
        number,
        ApplicationState::Accepted,
        POPSYS_ACTOR,
        SYSTEM_ROLE,
        None,
        Some(queued),
    )
    .await
    .map(|moved| moved.is_some())
}

/// The population system refused the application (`reason` as the delivery recorded it,
/// `code: message`): `rejected`, with the "rejected" notice giving the reason in Chinese.
/// Whether this call moved it.
pub async fn refused(state: &AppState, number: &str, reason: &str) -> anyhow::Result<bool> {
    let record = record(state, number).await?;
    let notice = Notice::Rejected {
        name: record.name.clone(),
        application_no: record.application_no.clone(),
        reason: citizen_reason(reason),
    };
    let queued = new_notice(&record, &notice, &state.config.sms.templates.rejected);
    advance(
        state,
        number,
        ApplicationState::Rejected,
        POPSYS_ACTOR,
        SYSTEM_ROLE,
        Some(reason.to_owned()),
        Some(queued),
    )
    .await
    .map(|moved| moved.is_some())
}

/// A refusal's reason as the citizen reads it: the population system's known codes in Chinese,
/// anything else as it came.
pub fn citizen_reason(reason: &str) -> String {
    let code = reason.split(':').next().unwrap_or(reason).trim();
    match code {
        "unknown_citizen" => "人口信息系统中未找到您的户籍信息".into(),
        "application_in_progress" => "您已有正在办理中的居民身份证申请".into(),
        "number_in_use" => "受理编号重复".into(),
        _ => reason.trim().to_owned(),
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollPass {
    /// Moves recorded: application, state reached.
    pub moved: Vec<(String, ApplicationState)>,
    /// Overdue notices queued.
    pub overdue: Vec<String>,
    /// Applications the population system could not be asked about (retried next poll).
    pub failed: Vec<String>,
}

/// The center's steps a production status reaches, in order.
fn steps_for(status: ApplicationStatus) -> &'static [ApplicationState] {
    match status {
        // A rejection is recorded with its reason (`refused`), not as a step.
        ApplicationStatus::Accepted
        | ApplicationStatus::Withdrawn
        | ApplicationStatus::Rejected => &[],
        ApplicationStatus::InProduction => &[ApplicationState::InProduction],
        // Collection is recorded at the center's window, not taken from the population system.
        ApplicationStatus::Ready | ApplicationStatus::Collected => {
            &[ApplicationState::InProduction, ApplicationState::Ready]
        }
    }
}

/// One poll: asks the population system about each application it has not finished and records
/// what moved; queues the overdue notice of an application past its issue-by date.
pub async fn poll_production(
    state: &AppState,
    settings: &JourneySettings,
) -> anyhow::Result<PollPass> {
    let open = state
        .store
        .applications_in_production(settings.batch)
        .await
        .context("listing the applications in production")?;
    let mut pass = PollPass::default();
    let today = state.today.today();
    for application in open {
        let number = application.application_no.clone();
        if application.state == ApplicationState::Submitted {
            // The delivery's answer is recorded but the move after it is not: catch up.
            let Some(delivery) = state.store.delivery(&number).await? else {
                continue;
            };
            match delivery.state {
                DeliveryState::Delivered => {
                    if delivered(state, &number).await? {
                        pass.moved
                            .push((number.clone(), ApplicationState::Accepted));
                    }
                }
                DeliveryState::Rejected => {
                    let reason = delivery.last_error.unwrap_or_default();
                    if refused(state, &number, &reason).await? {
                        pass.moved
                            .push((number.clone(), ApplicationState::Rejected));
                    }
                    continue;
                }
                DeliveryState::Pending => continue,
            }
        }
        let filed = match state.population.filed_application(&number).await {
            Ok(Some(filed)) => filed,
            Ok(None) => {
                tracing::warn!(
                    application = number,
                    "the population system has no such application"
                );
                pass.failed.push(number);
                continue;
            }
            Err(err) => {
                tracing::warn!(
                    application = number,
                    error = %err,
                    "asking the population system"
                );
                pass.failed.push(number);
                continue;
            }
        };
        if filed.status == ApplicationStatus::Rejected {
            // Refused after it was accepted: rejected with the system's reason and its notice.
            let reason = filed.rejection_reason.unwrap_or_default();
            if refused(state, &number, &reason).await? {
                pass.moved
                    .push((number.clone(), ApplicationState::Rejected));
            }
            continue;
        }
        let mut current = match application.state {
            ApplicationState::Submitted => state
                .store
                .application_state(&number)
                .await?
                .unwrap_or(application.state),
            other => other,
        };
        for &step in steps_for(filed.status) {
            if journey::transition(current, event_to(step)).is_err() {
                continue;
            }
            let notice = if step == ApplicationState::Ready {
                ready_notice(state, &number).await?
            } else {
                None
            };
            if let Some(done) = advance(
                state,
                &number,
                step,
                POPSYS_ACTOR,
                SYSTEM_ROLE,
                None,
                notice,
            )
            .await?
            {
                current = done.to;
                pass.moved.push((number.clone(), done.to));
            }
        }
        if journey::is_overdue(current, application.issue_by, today, None) {
            let record = record(state, &number).await?;
            let notice = Notice::Overdue {
                name: record.name.clone(),
                application_no: number.clone(),
                new_date: journey::overdue_new_date(today),
            };
            let queued = new_notice(&record, &notice, &state.config.sms.templates.overdue);
            if state
                .store
                .queue_notice(&number, &queued, state.now())
                .await?
            {
                tracing::warn!(
                    application = number,
                    issue_by = %application.issue_by,
                    "application overdue; notice queued"
                );
                pass.overdue.push(number);
            }
        }
    }
    Ok(pass)
}

fn event_to(state: ApplicationState) -> journey::JourneyEvent {
    journey::JourneyEvent::reaching(state).unwrap_or(journey::JourneyEvent::Accept)
}

async fn ready_notice(state: &AppState, number: &str) -> anyhow::Result<Option<NewNotice>> {
    let record = record(state, number).await?;
    let stored = record.collection_office.as_deref();
    let Some(office) = state.config.office_of_application(stored) else {
        tracing::warn!(
            application = number,
            office = stored.unwrap_or(&state.config.default_office),
            "the application's collection office is not configured: the ready notice is not queued"
        );
        return Ok(None);
    };
    let notice = Notice::Ready {
        name: record.name.clone(),
        office: Office {
            name: office.name.clone(),
            address: office.address.clone(),
            hours: office.hours.clone(),
        },
    };
    Ok(Some(new_notice(
        &record,
        &notice,
        &state.config.sms.templates.ready,
    )))
}

/// What one sending pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendPass {
    /// Sent: application and kind.
    pub sent: Vec<(String, NoticeKind)>,
    /// Failed for now, to be retried.
    pub retried: Vec<(String, NoticeKind)>,
    /// Refused for good.
    pub failed: Vec<(String, NoticeKind)>,
}

/// One pass: claims the notices due now and sends each through `gateway`.
pub async fn send_due_notices(
    state: &AppState,
    gateway: &dyn SmsGateway,
    settings: &JourneySettings,
) -> anyhow::Result<SendPass> {
    let lease = i64::try_from(settings.lease.as_secs()).unwrap_or(120);
    let due = state
        .store
        .claim_due_notices(state.now(), lease, settings.batch)
        .await
        .context("claiming due notices")?;
    let mut pass = SendPass::default();
    for notice in due {
        send_one(state, gateway, settings, &notice, &mut pass).await?;
    }
    Ok(pass)
}

async fn send_one(
    state: &AppState,
    gateway: &dyn SmsGateway,
    settings: &JourneySettings,
    notice: &NoticeRecord,
    pass: &mut SendPass,
) -> anyhow::Result<()> {
    let application = notice.application_no.clone();
    let kind = notice.kind;
    let mobile = mask_mobile(&notice.mobile);
    match gateway.send(&notice.mobile, &notice.text).await {
        Ok(sent) => {
            state
                .store
                .notice_sent(notice.id, &sent.message_ids.join(","), state.now())
                .await?;
            tracing::info!(application, kind = kind.as_str(), mobile, "notice sent");
            pass.sent.push((application, kind));
        }
        Err(err) if err.is_transient() => {
            let next = state.now() + backoff(settings, notice.attempts);
            state
                .store
                .notice_retry(notice.id, &err.to_string(), next)
                .await?;
            tracing::warn!(
                application,
                kind = kind.as_str(),
                mobile,
                attempt = notice.attempts + 1,
                error = %err,
                "notice not sent; will retry"
            );
            pass.retried.push((application, kind));
        }
        Err(err) => {
            state
                .store
                .notice_failed(notice.id, &err.to_string())
                .await?;
            tracing::error!(
                application,
                kind = kind.as_str(),
                mobile,
                error = %err,
                "notice refused for good; staff must act"
            );
            pass.failed.push((application, kind));
        }
    }
    Ok(())
}

/// Seconds to wait after the `attempts`-th failure: doubling from the first pause, capped.
fn backoff(settings: &JourneySettings, attempts: i64) -> i64 {
    let first = settings.first_backoff.as_secs().max(1);
    let factor = 1u64 << attempts.clamp(0, 20);
    let pause = first
        .saturating_mul(factor)
        .min(settings.max_backoff.as_secs());
    i64::try_from(pause).unwrap_or(i64::MAX)
}

/// The SMPP gateway of the configuration, `None` without one.
pub fn gateway_from_config(
    config: &crate::config::SmsConfig,
) -> anyhow::Result<Option<Arc<dyn SmsGateway>>> {
    let Some(gateway) = &config.gateway else {
        return Ok(None);
    };
    let mut smpp = sms::SmppConfig::new(
        &gateway.address,
        &gateway.system_id,
        &gateway.password,
        &config.source_addr,
    );
    smpp.system_type = gateway.system_type.clone();
    let gateway = sms::SmppGateway::new(smpp).context("the SMS gateway's configuration")?;
    Ok(Some(Arc::new(gateway)))
}

/// Runs the production poll until the task is dropped.
pub async fn run_poll(state: AppState, settings: JourneySettings) {
    loop {
        if let Err(err) = poll_production(&state, &settings).await {
            tracing::error!(error = %format!("{err:#}"), "production poll failed");
        }
        tokio::time::sleep(settings.poll).await;
    }
}

/// Runs the SMS sender until the task is dropped; without a gateway it says so once and the
/// notices stay pending.
pub async fn run_sender(
    state: AppState,
    gateway: Option<Arc<dyn SmsGateway>>,
    settings: JourneySettings,
) {
    let Some(gateway) = gateway else {
        tracing::warn!("no SMS gateway configured ([center.sms.gateway]): notices stay pending");
        return;
    };
    loop {
        match send_due_notices(&state, gateway.as_ref(), &settings).await {
            Ok(pass) if i64::try_from(pass.sent.len()).unwrap_or(0) >= settings.batch => continue,
            Ok(_) => {}
            Err(err) => tracing::error!(error = %format!("{err:#}"), "sending notices failed"),
        }
        tokio::time::sleep(settings.send_every).await;
    }
}

/// Starts the poll and the sender, each in its own task.
pub fn spawn(state: &AppState, gateway: Option<Arc<dyn SmsGateway>>, settings: JourneySettings) {
    tokio::spawn(run_poll(state.clone(), settings.clone()));
    tokio::spawn(run_sender(state.clone(), gateway, settings));
}

/// An application's journey as the staff console shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JourneyView {
    /// The state, in words (Chinese and code).
    pub state: String,
    /// Every move, oldest first.
    pub transitions: Vec<TransitionRow>,
    /// Every notice, in the order queued.
    pub notices: Vec<NoticeRow>,
}

/// A move on the staff console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRow {
    /// When (Asia/Shanghai).
    pub at: String,
    /// From state.
    pub from: String,
    /// To state.
    pub to: String,
    /// Who.
    pub actor: String,
    /// Why, or empty.
    pub reason: String,
}

/// A notice on the staff console: the mobile masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// `accepted`, `ready`, `rejected`, `overdue`.
    pub kind: &'static str,
    /// The mobile, masked (138****8000).
    pub mobile: String,
    /// `pending`, `sent`, `failed`.
    pub state: &'static str,
    /// Sends tried.
    pub attempts: i64,
    /// The last failure, or empty.
    pub last_error: String,
    /// When it was sent, or empty.
    pub sent_at: String,
}

fn state_words(state: ApplicationState) -> String {
    format!("{} {}", state.label_zh(), state.as_str())
}

/// The journey of `number` for the staff console; `time` formats a unix time.
pub async fn staff_view(
    state: &AppState,
    number: &str,
    time: fn(i64) -> String,
) -> Result<JourneyView, StoreError> {
    let current = state.store.application_state(number).await?;
    let transitions = state.store.application_transitions(number).await?;
    let notices = state.store.notices_of_application(number).await?;
    Ok(JourneyView {
        state: current.map(state_words).unwrap_or_default(),
        transitions: transitions
            .into_iter()
            .map(|t| TransitionRow {
                at: time(t.at),
                from: state_words(t.from),
                to: state_words(t.to),
                actor: t.actor,
                reason: t.reason.unwrap_or_default(),
            })
            .collect(),
        notices: notices
            .into_iter()
            .map(|n| NoticeRow {
                kind: n.kind.as_str(),
                mobile: mask_mobile(&n.mobile),
                state: n.state.as_str(),
                attempts: n.attempts,
                last_error: n.last_error.unwrap_or_default(),
                sent_at: n.sent_at.map(time).unwrap_or_default(),
            })
            .collect(),
    })
}

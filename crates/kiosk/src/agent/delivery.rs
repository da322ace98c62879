//! Delivery of the outbox to the center: in order, each message until the center acknowledges
//! it.

use std::sync::Arc;
use std::time::Duration;

use domain::session::SessionId;
use tokio::sync::Notify;

use crate::center_api::{CenterApi, CenterError};
use crate::outbox::{Message, Outbox};

/// Sends the queued messages to the center, in order, until each is acknowledged; a pause that
/// grows to 10 × `retry_pause` while the center is down. `wake` shortens the wait for new
/// messages; `reachable` hears whether the center answered, so the screen can say it is offline.
/// Runs until the task is dropped.
pub async fn delivery_loop(
    outbox: Outbox,
    center: Arc<dyn CenterApi>,
    wake: Arc<Notify>,
    retry_pause: Duration,
    reachable: Arc<dyn Fn(bool) + Send + Sync>,
) {
    let mut pause = retry_pause;
    loop {
        let next = match outbox.next_pending().await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox");
                tokio::time::sleep(retry_pause * 10).await;
                continue;
            }
        };
        let Some(queued) = next else {
            let _ = tokio::time::timeout(Duration::from_secs(5), wake.notified()).await;
            continue;
        };
        let Ok(sid) = SessionId::parse(&queued.session_id) else {
            let _ = outbox.ack(&queued, None).await;
            continue;
        };
        let delivered = deliver(&outbox, center.as_ref(), &sid, &queued.message).await;
        match delivered {
            Ok(answer) => {
                pause = retry_pause;
                reachable(true);
                if let Err(e) = outbox.ack(&queued, answer.as_deref()).await {
                    tracing::error!(error = %e, "acknowledging an outbox message");
                }
            }
            Err(e) => {
                let _ = outbox.note_failure(queued.seq, &e.to_string()).await;
                if e.is_retryable() {
                    reachable(false);
                    tracing::warn!(error = %e, seq = queued.seq, "center unavailable; will retry");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(retry_pause * 10);
                } else {
                    // A refusal will not change by repeating: set it aside for the staff.
                    tracing::error!(error = %e, seq = queued.seq, "center refused an outbox message");
                    let _ = outbox.ack(&queued, None).await;
                }
            }
        }
    }
}

/// Sends one message; the center's answer to an application is its number.
async fn deliver(
    outbox: &Outbox,
    center: &dyn CenterApi,
    sid: &SessionId,
    message: &Message,
) -> Result<Option<String>, CenterError> {
    match message {
        Message::Blob { kind } => match outbox.capture(sid.as_str(), kind).await {
            Ok(Some(bytes)) => {
                let wire_kind = if kind.starts_with("video") {
                    "video"
                } else {
                    kind
                };
                center.put_blob(sid, wire_kind, &bytes).await.map(|()| None)
            }
            // Nothing to send (already sent before a crash): done.
            Ok(None) => Ok(None),
            Err(e) => Err(CenterError::Refused(e.to_string())),
        },
        Message::Application(record) => center.submit_application(sid, record).await.map(Some),
        Message::End(outcome) => center.end_session(sid, outcome).await.map(|()| None),
    }
}

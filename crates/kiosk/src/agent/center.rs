//! The center calls the machine waits for: scope (steps 4–5), the identity before a portrait
//! form, the certified photo of a receipt (step 6). Each gets the policy's tries; a center that
//! still fails is `CenterUnavailable` (the machine refers the citizen).

use std::future::Future;

use domain::id::CitizenId;
use domain::session::{Event, ReceiptCode, ScopeRequest, SessionId};

use super::{Agent, CenterRetry, Hint, Task};
use crate::center_api::CenterError;

impl Agent {
    pub(super) fn call_scope(&mut self, sid: SessionId, request: ScopeRequest) {
        let center = self.ports.center.clone();
        let tries = self.config.policy.center_retry;
        let hint = self.hint_sender();
        self.spawn_task(Task::Center, async move {
            Some(match retry(tries, || center.scope(&sid, &request)).await {
                Ok(answer) => {
                    // Before the decision, so step 11 never shows a method the bureau refuses.
                    hint(Hint::PaymentMethods(answer.payment_methods));
                    Event::ScopeDecided {
                        decision: answer.decision,
                        name: answer.name,
                    }
                }
                Err(_) => Event::CenterUnavailable,
            })
        });
    }

    pub(super) fn call_identity(&mut self, sid: SessionId, id: CitizenId) {
        let center = self.ports.center.clone();
        let tries = self.config.policy.center_retry;
        self.spawn_task(Task::Center, async move {
            Some(match retry(tries, || center.identity(&sid, &id)).await {
                Ok(name_masked) => Event::IdentityFound { name_masked },
                Err(_) => Event::CenterUnavailable,
            })
        });
    }

    pub(super) fn fetch_certified_photo(&mut self, sid: SessionId, receipt: ReceiptCode) {
        let Some(id) = self.applicant() else {
            // The number typed at step 3 is what the photo system is asked with.
            tracing::error!("no applicant's number for the certified photo: center unavailable");
            return self.internal_event(Event::CenterUnavailable);
        };
        let center = self.ports.center.clone();
        let tries = self.config.policy.center_retry;
        self.spawn_task(Task::Center, async move {
            Some(
                match retry(tries, || center.receipt(&sid, &id, &receipt)).await {
                    Ok(answer) => Event::ReceiptAnswer(answer),
                    Err(_) => Event::CenterUnavailable,
                },
            )
        });
    }
}

/// `call` up to `policy.tries` times with a growing pause, for a call the center may briefly
/// fail; a refusal is final.
pub(super) async fn retry<T, F, Fut>(policy: CenterRetry, mut call: F) -> Result<T, CenterError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CenterError>>,
{
    let mut pause = policy.first_pause;
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Err(e) if e.is_retryable() && tries < policy.tries => {
                tracing::warn!(error = %e, "center call failed, retrying");
                tokio::time::sleep(pause).await;
                pause *= policy.factor;
            }
            other => return other,
        }
    }
}

//! The center calls the machine waits for: scope (steps 4–5), the identity before a portrait
//! form, the certified photo of a receipt (step 6). Each gets the policy's tries; a center that
//! still fails is `CenterUnavailable` (the machine refers the citizen).

use std::future::Future;
use std::time::Duration;

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
/// fail; a refusal is final. A busy center's `Retry-After` is honoured without using up a try,
/// for up to `policy.busy_wait` in all.
pub(super) async fn retry<T, F, Fut>(policy: CenterRetry, mut call: F) -> Result<T, CenterError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CenterError>>,
{
    // A center asking for longer than this is treated as if it had asked for this: the wait is
    // re-asked often enough for the citizen's screen to move on soon after it answers.
    const LONGEST_BUSY_PAUSE: Duration = Duration::from_secs(5);
    let mut pause = policy.first_pause;
    let mut tries = 0;
    let mut busy_waited = Duration::ZERO;
    loop {
        tries += 1;
        match call().await {
            Err(CenterError::Busy {
                retry_after,
                message,
            }) if busy_waited < policy.busy_wait => {
                let wait = retry_after
                    .min(LONGEST_BUSY_PAUSE)
                    .min(policy.busy_wait - busy_waited)
                    .max(Duration::from_millis(100));
                tracing::warn!(%message, wait_ms = wait.as_millis() as u64, "center busy, waiting as it asks");
                tokio::time::sleep(wait).await;
                busy_waited += wait;
                tries -= 1;
            }
            Err(e) if e.is_retryable() && tries < policy.tries => {
                tracing::warn!(error = %e, "center call failed, retrying");
                tokio::time::sleep(pause).await;
                pause *= policy.factor;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn busy() -> CenterError {
        CenterError::Busy {
            retry_after: Duration::from_secs(2),
            message: "503 database".into(),
        }
    }

    /// A center failing over answers 503 with `Retry-After: 2` for about ten seconds: the call
    /// waits it out as asked and succeeds, where three quick tries (1.2 s) gave up.
    #[tokio::test(start_paused = true)]
    async fn a_busy_center_is_waited_for_as_it_asks() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let answer = retry(CenterRetry::default(), || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 5 {
                    Err(busy())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(answer.unwrap(), 5);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    /// A center that stays busy is given `busy_wait`, then the usual tries, then it fails.
    #[tokio::test(start_paused = true)]
    async fn a_center_busy_for_good_fails_after_the_busy_wait() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let answer: Result<(), _> = retry(CenterRetry::default(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(busy()) }
        })
        .await;
        assert!(
            matches!(answer, Err(CenterError::Busy { .. })),
            "{answer:?}"
        );
        // 20 s of busy waits (ten of 2 s), then two quick retries (300 ms, 900 ms).
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(20) + Duration::from_millis(1200)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 13);
    }

    /// An error without `Retry-After` keeps the quick tries.
    #[tokio::test(start_paused = true)]
    async fn an_unreachable_center_is_tried_three_times() {
        let calls = AtomicU32::new(0);
        let answer: Result<(), _> = retry(CenterRetry::default(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(CenterError::Unavailable("connection refused".into())) }
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}

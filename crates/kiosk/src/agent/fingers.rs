//! Step 9: two fingers enrolled with `biometrics`, each press reported to the machine as it
//! happens; the templates and images sealed in the outbox.

use biometrics::EnrolConfig;
use domain::session::{Event, FingerprintFailure, SessionId};
use tokio::sync::mpsc;

use super::{Agent, Hint, Internal, Task};
use crate::capture::{enrol_fingers, Fingers, FingersFailed};
use crate::outbox::{Outbox, OutboxError};

impl Agent {
    pub(super) fn capture_fingerprints(&mut self, sid: SessionId) {
        let scanner = self.ports.fingerprint.clone();
        // The session decides the referral; the enrolment gives up no earlier.
        let config = EnrolConfig {
            poor_presses_per_finger: self.config.session.fingerprint_tries,
            ..self.config.enrol.clone()
        };
        let lift_pause = self.config.policy.lift_pause;
        let outbox = self.outbox.clone();
        let internal = self.internal.clone();
        let generation = self.generation;
        self.spawn_task(Task::Fingers, async move {
            let fingers = enrol_fingers(
                scanner.as_ref(),
                &config,
                lift_pause,
                |number, finger, press| {
                    // Each report is the citizen at work: the inactivity timer restarts.
                    let event = Event::FingerprintPress {
                        number,
                        finger,
                        press,
                    };
                    let _ = internal.send(Internal::Event(generation, event));
                },
            )
            .await;
            enrolled(fingers, outbox, sid, internal, generation).await
        });
    }
}

/// Keeps the enrolled fingers, or reports why there are none.
async fn enrolled(
    result: Result<Fingers, FingersFailed>,
    outbox: Outbox,
    sid: SessionId,
    internal: mpsc::UnboundedSender<Internal>,
    generation: u64,
) -> Option<Event> {
    match result {
        Ok(fingers) => {
            if let Err(e) = keep(&outbox, &sid, &fingers).await {
                tracing::error!(error = %e, "keeping the fingerprints");
                return Some(Event::FingerprintsFailed {
                    reason: FingerprintFailure::DeviceFault,
                    attempts: 0,
                });
            }
            // The qualities reach the agent before the event (one channel).
            let _ = internal.send(Internal::Hint(generation, Hint::Fingers(fingers.qualities)));
            Some(Event::FingerprintsCaptured)
        }
        Err(failed) => {
            tracing::info!(detail = %failed.detail, "fingerprint enrolment failed");
            Some(Event::FingerprintsFailed {
                reason: failed.failure,
                attempts: failed.attempts,
            })
        }
    }
}

/// Seals each finger's template and image (`fingerprint_<n>`, `fingerprint_image_<n>`).
async fn keep(outbox: &Outbox, sid: &SessionId, fingers: &Fingers) -> Result<(), OutboxError> {
    let mut kept = Ok(());
    for (i, (template, image)) in fingers.templates.iter().zip(&fingers.images).enumerate() {
        let n = i + 1;
        kept = kept.and(
            outbox
                .put_capture(sid.as_str(), &format!("fingerprint_{n}"), template)
                .await,
        );
        kept = kept.and(
            outbox
                .put_capture(sid.as_str(), &format!("fingerprint_image_{n}"), image)
                .await,
        );
    }
    kept
}

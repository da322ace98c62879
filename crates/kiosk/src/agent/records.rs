//! The session's records in the outbox: the application queued with its captures, the captures
//! wiped and the end queued when the session ends.

use domain::session::{Application, SessionId, SessionOutcome};

use super::photo::LIVENESS_CAPTURE;
use super::Agent;
use crate::center_api::ApplicationRecord;
use crate::outbox::{AgentState, Message};
use crate::view::ViewExtras;

impl Agent {
    /// Queues the captures (live photo, signature, templates, images) and the application, in
    /// one transaction.
    pub(super) async fn submit_application(&mut self, sid: SessionId, application: &Application) {
        let record = ApplicationRecord::new(application, self.state.fingers.clone());
        let mut messages = Vec::new();
        let kinds = self
            .outbox
            .capture_kinds(sid.as_str())
            .await
            .unwrap_or_default();
        for kind in kinds {
            // The liveness score went with the faces request, not as a blob.
            if !kind.starts_with("video") && kind != LIVENESS_CAPTURE {
                messages.push(Message::Blob { kind });
            }
        }
        messages.push(Message::Application(record));
        if let Err(e) = self.outbox.enqueue(sid.as_str(), &messages).await {
            tracing::error!(error = %e, "queueing the application");
        }
        self.deliver.notify_one();
    }

    /// Deletes every capture no queued message still has to send, and clears the screen's data
    /// of the session (the result screen keeps the number and the office).
    pub(super) async fn wipe_captured_data(&mut self, sid: Option<SessionId>) {
        match &sid {
            Some(sid) => match self.outbox.wipe_unsent_captures(sid.as_str()).await {
                Ok(n) => tracing::info!(deleted = n, "captures of the session wiped"),
                Err(e) => tracing::error!(error = %e, "wiping the captures"),
            },
            None => tracing::error!("no session id: the session's captures cannot be wiped"),
        }
        self.extras = ViewExtras {
            camera_preview_url: self.config.camera_preview_url.clone(),
            voice: self.extras.voice,
            // The result screen still gives the number and the office; the next session's
            // start clears them.
            application_no: self.extras.application_no.take(),
            collection: self.extras.collection.take(),
            printer_down: self.extras.printer_down,
            large_type: self.extras.large_type,
            ..ViewExtras::default()
        };
        self.publish();
    }

    /// Stops the session's workers, queues its outcome for the center and saves the ended
    /// state; results of its workers that still arrive are dropped.
    pub(super) async fn end_session(&mut self, sid: Option<SessionId>, outcome: SessionOutcome) {
        for (_, task) in self.tasks.drain() {
            task.abort();
        }
        match &sid {
            Some(sid) => {
                if let Err(e) = self
                    .outbox
                    .enqueue(sid.as_str(), &[Message::End(outcome)])
                    .await
                {
                    tracing::error!(error = %e, "queueing the end of the session");
                }
                self.deliver.notify_one();
            }
            None => tracing::error!(
                outcome = ?outcome,
                "no session id: the end of the session is not sent to the center"
            ),
        }
        self.generation += 1;
        self.state = AgentState {
            session_id: self.state.session_id.clone(),
            ..AgentState::default()
        };
        self.keep_session();
        if let Err(e) = self.outbox.save_state(&self.state).await {
            tracing::error!(error = %e, "saving the ended session");
        }
    }
}

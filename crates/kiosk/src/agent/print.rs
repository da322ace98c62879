//! Printing (step 12 and the portrait form) over IPP, cancelling what is left of a failed print,
//! and watching the printer so the start screen can say the kiosk is out of service.

use std::sync::Arc;
use std::time::Duration;

use devices::Printer;
use domain::id::CitizenId;
use domain::session::{Document, Event, PortraitApplication, PrintResult, SessionId};

use super::center::retry;
use super::{Agent, AgentPolicy, Internal, Task};
use crate::center_api::{CenterApi, DocumentKind};

impl Agent {
    pub(super) fn print_documents(&mut self, sid: SessionId, documents: Vec<Document>) {
        let center = self.ports.center.clone();
        let printer = self.ports.printer.clone();
        let policy = self.config.policy.clone();
        self.spawn_task(Task::Print, async move {
            let printed = print_documents(center, printer, &policy, sid, documents).await;
            Some(Event::PrintResult(printed))
        });
    }

    pub(super) fn print_portrait_form(
        &mut self,
        sid: SessionId,
        id: CitizenId,
        application: PortraitApplication,
    ) {
        let center = self.ports.center.clone();
        let printer = self.ports.printer.clone();
        let policy = self.config.policy.clone();
        self.spawn_task(Task::Print, async move {
            let tries = policy.center_retry;
            let pdf = match retry(tries, || center.portrait_form(&sid, &id, application)).await {
                Ok(pdf) => pdf,
                Err(e) => {
                    tracing::error!(error = %e, "fetching the portrait form");
                    return Some(Event::PrintResult(PrintResult::PrinterFault));
                }
            };
            Some(Event::PrintResult(
                if print(printer.as_ref(), &policy, pdf, "portrait").await {
                    PrintResult::Printed
                } else {
                    PrintResult::PrinterFault
                },
            ))
        });
    }

    /// After a failed, timed-out or interrupted print: the print task stops and every job of
    /// the kiosk not completed is cancelled, so nothing comes out later for nobody.
    pub(super) fn cancel_print_jobs(&mut self) {
        self.abort(Task::Print);
        let printer = self.ports.printer.clone();
        let (passes, pause) = (
            self.config.policy.cancel_print_passes,
            self.config.policy.cancel_print_pause,
        );
        tokio::spawn(async move {
            // More than once: a job the aborted print task was just submitting is caught too.
            for pass in 0..passes {
                if pass > 0 {
                    tokio::time::sleep(pause).await;
                }
                match printer.cancel_jobs().await {
                    Ok(n) => {
                        tracing::info!(cancelled = n, "print jobs of the failed print cancelled")
                    }
                    Err(e) => tracing::error!(error = %e, "cancelling the print jobs"),
                }
            }
        });
    }

    /// While no session runs, the printer is asked for its state every few seconds.
    pub(super) fn spawn_printer_watch(&self) {
        let printer = self.ports.printer.clone();
        let tx = self.internal.clone();
        let (every, timeout) = (
            self.config.policy.printer_check,
            self.config.policy.printer_timeout,
        );
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let usable = printer_usable(printer.as_ref(), timeout).await;
                if tx.send(Internal::PrinterUsable(usable)).is_err() {
                    return;
                }
            }
        });
    }
}

/// Fetches each document from the center and prints it; the first that fails is a fault.
async fn print_documents(
    center: Arc<dyn CenterApi>,
    printer: Arc<dyn Printer>,
    policy: &AgentPolicy,
    sid: SessionId,
    documents: Vec<Document>,
) -> PrintResult {
    for document in documents {
        let kind = match document {
            Document::CollectionCertificate => DocumentKind::Certificate,
            Document::RegistrationForm => DocumentKind::Form,
            Document::PaymentNotice(_) => DocumentKind::Notice,
        };
        let pdf = match retry(policy.center_retry, || center.document(&sid, kind)).await {
            Ok(pdf) => pdf,
            Err(e) => {
                tracing::error!(error = %e, kind = kind.as_str(), "fetching a document");
                return PrintResult::PrinterFault;
            }
        };
        if !print(printer.as_ref(), policy, pdf, kind.as_str()).await {
            return PrintResult::PrinterFault;
        }
    }
    PrintResult::Printed
}

/// Prints a PDF; a failed job is tried again up to the policy's tries (a transient error, a
/// reloaded tray).
async fn print(printer: &dyn Printer, policy: &AgentPolicy, pdf: Vec<u8>, title: &str) -> bool {
    for attempt in 1..=policy.print_tries {
        match printer.print_pdf(pdf.clone(), title).await {
            Ok(job) if job.state == devices::printer::JobOutcome::Completed => return true,
            Ok(job) => {
                tracing::warn!(attempt, ?job, "print job did not complete");
            }
            Err(e) => tracing::warn!(attempt, error = %e, "print failed"),
        }
    }
    false
}

/// Whether the printer can print now: not paused, out of paper, jammed or unreachable (a
/// warning such as `toner-low` still prints).
pub(super) async fn printer_usable(printer: &dyn Printer, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, printer.status()).await {
        Ok(Ok(status)) => !matches!(
            status.health,
            devices::DeviceHealth::Error { .. } | devices::DeviceHealth::Disconnected { .. }
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "printer state");
            false
        }
        Err(_) => false,
    }
}

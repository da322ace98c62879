//! The receipt and form printer: IPP (RFC 8011) to a CUPS queue (docs/domain.md section 9.7).
//!
//! [`IppPrinter`] sends Print-Job with `application/pdf`, then polls Get-Job-Attributes until the
//! job is completed, aborted or canceled, and reads the printer's `printer-state` and
//! `printer-state-reasons` (`media-empty`, `toner-low`, `offline-report`, …) into a
//! [`DeviceHealth`] for the kiosk and the fleet view. The `ipp` crate's client is blocking; every
//! request runs on tokio's blocking pool.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ipp::prelude::*;
use serde::Serialize;
use tokio::sync::watch;

use crate::health::{DeviceHealth, HealthCell};

/// A printer, whoever made it.
#[async_trait]
pub trait Printer: Send + Sync {
    /// Prints one PDF document and follows the job until it is completed, aborted or canceled
    /// (or the driver's wait runs out).
    async fn print_pdf(&self, pdf: Vec<u8>, title: &str) -> Result<PrintJob, PrinterError>;

    /// Asks the printer for its state and state reasons, and updates [`health`](Self::health).
    async fn status(&self) -> Result<PrinterStatus, PrinterError>;

    /// The state the driver last saw.
    fn health(&self) -> DeviceHealth;

    /// Cancels every job of ours that has not come out yet (after a failed print, so its pages
    /// do not come out later for nobody) and returns how many. A printer without a queue has
    /// nothing to cancel.
    async fn cancel_jobs(&self) -> Result<usize, PrinterError> {
        Ok(0)
    }
}

/// How a print job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Printed.
    Completed,
    /// The printer gave up on it (an error on the device or the filter chain).
    Aborted,
    /// Someone (an operator, or the kiosk) canceled it.
    Canceled,
}

/// A finished print job, as reported by the printer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PrintJob {
    /// The job's id on the printer.
    pub job_id: i32,
    /// How it ended.
    pub state: JobOutcome,
    /// The job's `job-state-reasons` (e.g. `job-completed-successfully`).
    pub job_state_reasons: Vec<String>,
    /// The printer's `printer-state-reasons` when the job ended (`none` left out).
    pub printer_state_reasons: Vec<String>,
}

/// The printer's own state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    /// `idle`, `processing` or `stopped`.
    pub state: &'static str,
    /// `printer-state-reasons`, `none` left out.
    pub reasons: Vec<String>,
    /// Whether the queue accepts jobs.
    pub accepting_jobs: bool,
    /// What the kiosk should make of it.
    pub health: DeviceHealth,
}

/// Why a document was not printed.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    /// The printer URI does not parse.
    #[error("bad printer URI {uri:?}: {reason}")]
    BadUri {
        /// The URI given.
        uri: String,
        /// Why.
        reason: String,
    },
    /// The printer cannot be reached (connection refused, HTTP error, timeout).
    #[error("printer unreachable: {0}")]
    Unreachable(String),
    /// The printer answered with an IPP error status.
    #[error("printer refused the request: {0}")]
    Refused(String),
    /// The answer lacks what IPP requires (e.g. no job-id).
    #[error("malformed printer answer: {0}")]
    Malformed(String),
    /// The job did not finish within the wait; it is left on the printer.
    #[error("job {job_id} still {state} after {waited:?}")]
    JobTimeout {
        /// The job.
        job_id: i32,
        /// Its last state (`pending`, `processing`, …).
        state: &'static str,
        /// How long we waited.
        waited: Duration,
    },
}

/// Settings of an [`IppPrinter`].
#[derive(Clone, Debug)]
pub struct IppPrinterConfig {
    /// `ipp://host:port/printers/NAME` (or `http://…`, `ipps://…` is not built in).
    pub uri: String,
    /// The `requesting-user-name` of our jobs.
    pub user_name: String,
    /// How often Get-Job-Attributes is sent while a job runs.
    pub poll_interval: Duration,
    /// How long a job may take before [`PrinterError::JobTimeout`].
    pub job_timeout: Duration,
    /// Timeout of one IPP request.
    pub request_timeout: Duration,
}

impl IppPrinterConfig {
    /// Defaults for a queue at `uri`: user `idkiosk`, polling every 200 ms, 2 minutes per job.
    pub fn new(uri: impl Into<String>) -> Self {
        IppPrinterConfig {
            uri: uri.into(),
            user_name: "idkiosk".to_owned(),
            poll_interval: Duration::from_millis(200),
            job_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// A printer reached over IPP, typically a CUPS queue.
#[derive(Clone)]
pub struct IppPrinter {
    config: IppPrinterConfig,
    uri: Uri,
    client: Arc<IppClient>,
    health: Arc<HealthCell>,
}

impl std::fmt::Debug for IppPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IppPrinter")
            .field("uri", &self.config.uri)
            .finish()
    }
}

impl IppPrinter {
    /// A client for the queue; nothing is sent until the first call.
    pub fn new(config: IppPrinterConfig) -> Result<Self, PrinterError> {
        let uri: Uri =
            config
                .uri
                .parse()
                .map_err(|e: http::uri::InvalidUri| PrinterError::BadUri {
                    uri: config.uri.clone(),
                    reason: e.to_string(),
                })?;
        match uri.scheme_str() {
            Some("ipp" | "http") if uri.host().is_some() => {}
            _ => {
                return Err(PrinterError::BadUri {
                    uri: config.uri.clone(),
                    reason: "expected ipp://host[:port]/printers/NAME".to_owned(),
                })
            }
        }
        let client = IppClient::builder(uri.clone())
            .request_timeout(config.request_timeout)
            .build();
        Ok(IppPrinter {
            config,
            uri,
            client: Arc::new(client),
            health: Arc::new(HealthCell::new()),
        })
    }

    /// Health changes as they happen.
    pub fn subscribe_health(&self) -> watch::Receiver<DeviceHealth> {
        self.health.subscribe()
    }

    /// Runs one IPP request on the blocking pool; a transport failure marks the printer
    /// disconnected.
    async fn send<F>(&self, build: F) -> Result<IppRequestResponse, PrinterError>
    where
        F: FnOnce(Uri) -> Result<IppRequestResponse, PrinterError> + Send + 'static,
    {
        let client = self.client.clone();
        let uri = self.uri.clone();
        let result = tokio::task::spawn_blocking(move || {
            let request = build(uri)?;
            let response = client.send(request).map_err(|e| match e {
                IppError::StatusError(code) => PrinterError::Refused(code.to_string()),
                other => PrinterError::Unreachable(other.to_string()),
            })?;
            let status = response.header().status_code();
            if status.is_success() {
                Ok(response)
            } else {
                Err(PrinterError::Refused(status.to_string()))
            }
        })
        .await
        .unwrap_or_else(|e| Err(PrinterError::Unreachable(format!("IPP task failed: {e}"))));
        if let Err(PrinterError::Unreachable(reason)) = &result {
            self.health.set(DeviceHealth::Disconnected {
                reason: reason.clone(),
            });
        }
        result
    }

    async fn job_attributes(&self, job_id: i32) -> Result<(JobState, Vec<String>), PrinterError> {
        let user = self.config.user_name.clone();
        let response = self
            .send(move |uri| {
                IppOperationBuilder::get_job_attributes(uri, job_id)
                    .user_name(user)
                    .build()
                    .map(Into::into)
                    .map_err(|e| PrinterError::Malformed(e.to_string()))
            })
            .await?;
        let attrs = response.attributes();
        let state = find(attrs, DelimiterTag::JobAttributes, "job-state")
            .and_then(|v| match v {
                IppValue::Enum(n) | IppValue::Integer(n) => JobState::from_i32(*n),
                _ => None,
            })
            .ok_or_else(|| PrinterError::Malformed(format!("job {job_id} has no job-state")))?;
        let reasons = find(attrs, DelimiterTag::JobAttributes, "job-state-reasons")
            .map(keywords)
            .unwrap_or_default();
        Ok((state, reasons))
    }
}

#[async_trait]
impl Printer for IppPrinter {
    async fn print_pdf(&self, pdf: Vec<u8>, title: &str) -> Result<PrintJob, PrinterError> {
        self.health.set(DeviceHealth::Busy);
        let user = self.config.user_name.clone();
        let title = title.to_owned();
        let response = self
            .send(move |uri| {
                IppOperationBuilder::print_job(uri, IppPayload::new(std::io::Cursor::new(pdf)))
                    .user_name(user)
                    .job_title(title)
                    .document_format("application/pdf")
                    .build()
                    .map(Into::into)
                    .map_err(|e| PrinterError::Malformed(e.to_string()))
            })
            .await?;
        let job_id = find(response.attributes(), DelimiterTag::JobAttributes, "job-id")
            .and_then(|v| match v {
                IppValue::Integer(n) => Some(*n),
                _ => None,
            })
            .ok_or_else(|| PrinterError::Malformed("Print-Job answer has no job-id".into()))?;
        let started = tokio::time::Instant::now();
        let (state, job_state_reasons) = loop {
            let (state, reasons) = self.job_attributes(job_id).await?;
            if matches!(
                state,
                JobState::Completed | JobState::Aborted | JobState::Canceled
            ) {
                break (state, reasons);
            }
            if started.elapsed() >= self.config.job_timeout {
                // The printer's reasons say why it is stuck (media-empty, offline, …).
                let _ = self.status().await;
                return Err(PrinterError::JobTimeout {
                    job_id,
                    state: job_state_name(state),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(self.config.poll_interval).await;
        };
        let status = self.status().await?;
        Ok(PrintJob {
            job_id,
            state: match state {
                JobState::Completed => JobOutcome::Completed,
                JobState::Aborted => JobOutcome::Aborted,
                _ => JobOutcome::Canceled,
            },
            job_state_reasons,
            printer_state_reasons: status.reasons,
        })
    }

    async fn status(&self) -> Result<PrinterStatus, PrinterError> {
        let response = self
            .send(move |uri| {
                IppOperationBuilder::get_printer_attributes(uri)
                    .attributes([
                        "printer-state",
                        "printer-state-reasons",
                        "printer-is-accepting-jobs",
                    ])
                    .build()
                    .map(Into::into)
                    .map_err(|e| PrinterError::Malformed(e.to_string()))
            })
            .await?;
        let attrs = response.attributes();
        let state = find(attrs, DelimiterTag::PrinterAttributes, "printer-state")
            .and_then(|v| match v {
                IppValue::Enum(n) | IppValue::Integer(n) => PrinterState::from_i32(*n),
                _ => None,
            })
            .unwrap_or(PrinterState::Idle);
        let reasons = find(
            attrs,
            DelimiterTag::PrinterAttributes,
            "printer-state-reasons",
        )
        .map(keywords)
        .unwrap_or_default();
        let accepting_jobs = !matches!(
            find(
                attrs,
                DelimiterTag::PrinterAttributes,
                "printer-is-accepting-jobs"
            ),
            Some(IppValue::Boolean(false))
        );
        let health = health_of(state, &reasons, accepting_jobs);
        self.health.set(health.clone());
        Ok(PrinterStatus {
            state: match state {
                PrinterState::Idle => "idle",
                PrinterState::Processing => "processing",
                PrinterState::Stopped => "stopped",
            },
            reasons,
            accepting_jobs,
            health,
        })
    }

    fn health(&self) -> DeviceHealth {
        self.health.get()
    }

    /// Get-Jobs (not completed, `my-jobs`), then Cancel-Job for each, as the user that printed
    /// them: CUPS lets a job's owner cancel it without the admin rights Purge-Jobs needs.
    async fn cancel_jobs(&self) -> Result<usize, PrinterError> {
        let user = self.config.user_name.clone();
        let response = self
            .send(move |uri| {
                let mut request: IppRequestResponse = IppOperationBuilder::get_jobs(uri)
                    .user_name(user)
                    .build()
                    .map(Into::into)
                    .map_err(|e| PrinterError::Malformed(e.to_string()))?;
                request.attributes_mut().add(
                    DelimiterTag::OperationAttributes,
                    IppAttribute::with_name("my-jobs", IppValue::Boolean(true))
                        .map_err(|e| PrinterError::Malformed(e.to_string()))?,
                );
                Ok(request)
            })
            .await?;
        let jobs: Vec<i32> = response
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .filter_map(|group| match group.get("job-id").map(IppAttribute::value) {
                Some(IppValue::Integer(id)) => Some(*id),
                _ => None,
            })
            .collect();
        for &job_id in &jobs {
            let user = self.config.user_name.clone();
            self.send(move |uri| {
                IppOperationBuilder::cancel_job(uri, job_id)
                    .user_name(user)
                    .build()
                    .map(Into::into)
                    .map_err(|e| PrinterError::Malformed(e.to_string()))
            })
            .await?;
        }
        Ok(jobs.len())
    }
}

fn find<'a>(attrs: &'a IppAttributes, tag: DelimiterTag, name: &str) -> Option<&'a IppValue> {
    attrs
        .groups_of(tag)
        .find_map(|group| group.get(name))
        .map(IppAttribute::value)
}

/// The keywords of a 1setOf keyword attribute, `none` left out.
fn keywords(value: &IppValue) -> Vec<String> {
    value
        .clone()
        .into_iter()
        .map(|v| v.to_string())
        .filter(|k| k != "none" && !k.is_empty())
        .collect()
}

fn job_state_name(state: JobState) -> &'static str {
    match state {
        JobState::Pending => "pending",
        JobState::PendingHeld => "pending-held",
        JobState::Processing => "processing",
        JobState::ProcessingStopped => "processing-stopped",
        JobState::Canceled => "canceled",
        JobState::Aborted => "aborted",
        JobState::Completed => "completed",
    }
}

/// Reasons that mean the printer cannot be reached by its server (RFC 8011 5.4.12, PWG 5100.9).
const OFFLINE: &[&str] = &[
    "offline",
    "shutdown",
    "connecting-to-device",
    "timed-out",
    "moving-to-paused",
];
/// Reasons that stop printing when they carry no severity suffix.
const ERRORS: &[&str] = &[
    "media-empty",
    "media-jam",
    "media-needed",
    "door-open",
    "cover-open",
    "interlock-open",
    "toner-empty",
    "marker-supply-empty",
    "marker-waste-full",
    "output-area-full",
    "input-tray-missing",
    "output-tray-missing",
    "paused",
    "fuser-over-temp",
    "fuser-under-temp",
];
/// Reasons that need attention soon when they carry no severity suffix.
const WARNINGS: &[&str] = &[
    "toner-low",
    "media-low",
    "marker-supply-low",
    "marker-waste-almost-full",
    "output-area-almost-full",
    "opc-near-eol",
    "developer-low",
];

/// What `printer-state` and `printer-state-reasons` mean for the kiosk.
///
/// A reason's severity is its suffix (`-error`, `-warning`, `-report`) or, without one, its kind:
/// offline-like reasons (`offline`, `shutdown`, `connecting-to-device`, `timed-out`) at any
/// severity mean [`DeviceHealth::Disconnected`]; errors (`media-empty`, `media-jam`, `door-open`,
/// `toner-empty`, …, any `-error`, a stopped printer or a queue refusing jobs) mean
/// [`DeviceHealth::Error`]; warnings (`toner-low`, `media-low`, …, any `-warning`) mean
/// [`DeviceHealth::Warning`]; `-report` reasons are informational. Otherwise the printer is
/// [`Busy`](DeviceHealth::Busy) while processing and [`Ready`](DeviceHealth::Ready) when idle.
pub fn health_of(state: PrinterState, reasons: &[String], accepting_jobs: bool) -> DeviceHealth {
    let mut offline = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for reason in reasons {
        let (base, suffix) = ["-error", "-warning", "-report"]
            .iter()
            .find_map(|s| reason.strip_suffix(s).map(|b| (b, Some(*s))))
            .unwrap_or((reason.as_str(), None));
        if OFFLINE.contains(&base) {
            offline.push(reason.clone());
        } else if suffix == Some("-error") || (suffix.is_none() && ERRORS.contains(&base)) {
            errors.push(reason.clone());
        } else if suffix == Some("-warning") || (suffix.is_none() && WARNINGS.contains(&base)) {
            warnings.push(reason.clone());
        }
    }
    if !offline.is_empty() {
        return DeviceHealth::Disconnected {
            reason: offline.join(", "),
        };
    }
    if state == PrinterState::Stopped && errors.is_empty() {
        errors.push("printer stopped".to_owned());
    }
    if !accepting_jobs {
        errors.push("not accepting jobs".to_owned());
    }
    if !errors.is_empty() {
        return DeviceHealth::Error {
            reason: errors.join(", "),
        };
    }
    if !warnings.is_empty() {
        return DeviceHealth::Warning {
            reason: warnings.join(", "),
        };
    }
    match state {
        PrinterState::Processing => DeviceHealth::Busy,
        _ => DeviceHealth::Ready,
    }
}

/// The printer states, re-exported for [`health_of`]'s callers.
pub use ipp::model::PrinterState as IppPrinterState;

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn printer_state_reasons_map_to_health() {
        let idle = PrinterState::Idle;
        assert_eq!(health_of(idle, &[], true), DeviceHealth::Ready);
        assert_eq!(
            health_of(PrinterState::Processing, &[], true),
            DeviceHealth::Busy
        );
        assert_eq!(
            health_of(idle, &reasons(&["media-empty"]), true),
            DeviceHealth::Error {
                reason: "media-empty".into()
            }
        );
        assert_eq!(
            health_of(idle, &reasons(&["media-empty-error", "toner-low"]), true),
            DeviceHealth::Error {
                reason: "media-empty-error".into()
            }
        );
        assert_eq!(
            health_of(idle, &reasons(&["toner-low"]), true),
            DeviceHealth::Warning {
                reason: "toner-low".into()
            }
        );
        assert_eq!(
            health_of(idle, &reasons(&["toner-low-report"]), true),
            DeviceHealth::Ready
        );
        assert_eq!(
            health_of(idle, &reasons(&["offline-report", "media-empty"]), true),
            DeviceHealth::Disconnected {
                reason: "offline-report".into()
            }
        );
        assert_eq!(
            health_of(PrinterState::Stopped, &[], true),
            DeviceHealth::Error {
                reason: "printer stopped".into()
            }
        );
        assert_eq!(
            health_of(idle, &[], false),
            DeviceHealth::Error {
                reason: "not accepting jobs".into()
            }
        );
    }

    #[test]
    fn bad_uris_are_refused() {
        assert!(IppPrinter::new(IppPrinterConfig::new("not a uri")).is_err());
        assert!(IppPrinter::new(IppPrinterConfig::new("lpd://host/queue")).is_err());
        assert!(IppPrinter::new(IppPrinterConfig::new("ipp://127.0.0.1:631/printers/PDF")).is_ok());
    }
}

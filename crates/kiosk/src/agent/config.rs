//! The agent's configuration: the session's (timeouts, tries, thresholds: the domain decides
//! with them) and the agent's own policy for carrying out commands ([`AgentPolicy`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use biometrics::EnrolConfig;
use domain::session::SessionConfig;
use time::Date;

/// The agent's configuration.
#[derive(Clone)]
pub struct AgentConfig {
    /// Timeouts, attempts and face thresholds of the state machine.
    pub session: SessionConfig,
    /// Fingerprint enrolment (fingers, presses, quality and match thresholds).
    pub enrol: EnrolConfig,
    /// Where the browser reads the camera preview.
    pub camera_preview_url: Option<String>,
    /// Where video segments are written while recording.
    pub video_dir: PathBuf,
    /// Today's date in Asia/Shanghai (a closure, so tests can fix it).
    pub today: Arc<dyn Fn() -> Date + Send + Sync>,
    /// Pause between two delivery attempts while the center is down (grows to 10×).
    pub retry_pause: Duration,
    /// How the agent carries out commands: retries, waits and polling.
    pub policy: AgentPolicy,
}

/// The agent's own policy: how long it waits, how often it asks and how many times it tries
/// while carrying out a command. The session's timeouts and tries are `SessionConfig`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPolicy {
    /// A center call the center may briefly fail (a refusal is final).
    pub center_retry: CenterRetry,
    /// Before a payment, how long the agent waits for the center to file the application (its
    /// number makes the trade number); after that the center counts as unavailable.
    pub application_wait: Duration,
    /// How often the outbox is asked for the application number meanwhile.
    pub application_poll: Duration,
    /// How often an open WeChat order's state is asked.
    pub wechat_poll: Duration,
    /// Print jobs tried per document before it is a printer fault (2: retried once).
    pub print_tries: u32,
    /// After a failed print, how many times the kiosk's unfinished jobs are cancelled (a job the
    /// aborted print was just submitting is caught by the second pass) and the pause between.
    pub cancel_print_passes: u32,
    /// The pause between two passes of cancelling.
    pub cancel_print_pause: Duration,
    /// How often the printer's state is checked while no session runs.
    pub printer_check: Duration,
    /// How long the printer's state query may take.
    pub printer_timeout: Duration,
    /// The pause after a card reader fault before reading again.
    pub card_reader_pause: Duration,
    /// The pause after a barcode scanner fault before scanning again.
    pub scanner_pause: Duration,
    /// At start, how long a recorder an earlier agent left running gets to end.
    pub stale_recorder_wait: Duration,
    /// After a poor fingerprint press, the time to read why and lift the finger.
    pub lift_pause: Duration,
}

impl Default for AgentPolicy {
    fn default() -> Self {
        AgentPolicy {
            center_retry: CenterRetry::default(),
            application_wait: Duration::from_secs(25),
            application_poll: Duration::from_millis(200),
            wechat_poll: Duration::from_millis(700),
            print_tries: 2,
            cancel_print_passes: 2,
            cancel_print_pause: Duration::from_secs(2),
            printer_check: Duration::from_secs(3),
            printer_timeout: Duration::from_secs(5),
            card_reader_pause: Duration::from_millis(500),
            scanner_pause: Duration::from_secs(1),
            stale_recorder_wait: Duration::from_secs(5),
            lift_pause: crate::capture::LIFT_PAUSE,
        }
    }
}

/// Tries of a center call: `tries` in all, the pause growing `factor` times after each. A 503
/// with `Retry-After` (the center's database failing over, its face queue full) is waited out
/// as the center asks, without counting as a try, for up to `busy_wait` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CenterRetry {
    /// Calls in all (3).
    pub tries: u32,
    /// The pause after the first failure (300 ms).
    pub first_pause: Duration,
    /// How much the pause grows each time (3: 300 ms, then 900 ms).
    pub factor: u32,
    /// How long a busy center is waited for (20 s: a PostgreSQL failover takes about 10 s,
    /// docs/center.md; under the screen's own 30 s bound for a center call).
    pub busy_wait: Duration,
}

impl Default for CenterRetry {
    fn default() -> Self {
        CenterRetry {
            tries: 3,
            first_pause: Duration::from_millis(300),
            factor: 3,
            busy_wait: Duration::from_secs(20),
        }
    }
}

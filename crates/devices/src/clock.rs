//! The monotonic clock the drivers and simulators hand to the sans-IO state machines.

use protocol::Millis;
use tokio::time::Instant;

/// Milliseconds since the clock was made; never goes backwards.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            origin: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Millis {
        let ms = self.origin.elapsed().as_millis();
        Millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The instant a state machine's deadline stands for.
    pub(crate) fn instant(&self, at: Millis) -> Instant {
        self.origin + std::time::Duration::from_millis(at.0)
    }
}

/// Sleeps until `at`, or forever when there is no deadline (for `select!` branches).
pub(crate) async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

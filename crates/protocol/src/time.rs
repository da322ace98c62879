//! The one notion of time the state machines use: a caller-supplied monotonic millisecond count.

use std::time::Duration;

/// A point in time, in milliseconds since an origin the caller chooses.
///
/// Calling contract: the driver takes it from a monotonic clock (`Instant::now() - start`,
/// tokio's `Instant`, or a virtual clock in tests), and never passes a value smaller than one it
/// passed before to the same state machine. The state machines never read a clock themselves,
/// which is what makes them deterministic and testable on a virtual clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// The origin.
    pub const ZERO: Millis = Millis(0);

    /// Time since `earlier`, zero if `earlier` is in the future.
    pub fn saturating_since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Millis {
    type Output = Millis;
    fn add(self, rhs: Duration) -> Millis {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Millis(self.0.saturating_add(ms))
    }
}

impl std::ops::AddAssign<Duration> for Millis {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

/// The earlier of two optional deadlines.
#[allow(dead_code)]
pub(crate) fn earliest(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

//! Time for the state machines: [`Millis`], the session's own clock type (one definition, in
//! `domain::session`), a caller-supplied monotonic millisecond count.

pub use domain::session::Millis;

/// The earlier of two optional deadlines.
#[allow(dead_code)]
pub(crate) fn earliest(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

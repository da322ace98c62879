//! An application's journey after the kiosk (docs/domain.md section 10): a closed state machine
//! from `submitted` to `collected` (or `rejected`, `returned`, `cancelled`), one closed
//! [`JourneyEvent`] enum of the moves, and the legal clock (overdue when not ready by the
//! issue-by date).
//!
//! Pure: the store keeps the state and the transitions, the center decides when to move.

use time::{Date, Duration};

/// Where an application stands after the kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationState {
    /// 已提交: the center holds it; not yet taken by the population system.
    Submitted,
    /// 已受理: the population system took it.
    Accepted,
    /// 未通过审核: the population system refused it (final; the reason is kept with the move).
    Rejected,
    /// 制证中: the card is being made.
    InProduction,
    /// 待领取: the card waits at the collection office.
    Ready,
    /// 已领取: the citizen collected it (final).
    Collected,
    /// 已退回: not collected within the office's keeping period (final).
    Returned,
    /// 已撤销: cancelled by staff, with a reason (final).
    Cancelled,
}

impl ApplicationState {
    /// Every state, in journey order.
    pub const ALL: [ApplicationState; 8] = [
        ApplicationState::Submitted,
        ApplicationState::Accepted,
        ApplicationState::Rejected,
        ApplicationState::InProduction,
        ApplicationState::Ready,
        ApplicationState::Collected,
        ApplicationState::Returned,
        ApplicationState::Cancelled,
    ];

    /// `submitted`, `accepted`, `rejected`, `in_production`, `ready`, `collected`, `returned`,
    /// `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Submitted => "submitted",
            ApplicationState::Accepted => "accepted",
            ApplicationState::Rejected => "rejected",
            ApplicationState::InProduction => "in_production",
            ApplicationState::Ready => "ready",
            ApplicationState::Collected => "collected",
            ApplicationState::Returned => "returned",
            ApplicationState::Cancelled => "cancelled",
        }
    }

    /// The inverse of [`ApplicationState::as_str`].
    pub fn parse(text: &str) -> Option<ApplicationState> {
        ApplicationState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// No move leaves it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ApplicationState::Rejected
                | ApplicationState::Collected
                | ApplicationState::Returned
                | ApplicationState::Cancelled
        )
    }

    /// The population system still has work to report on it (the center polls these).
    pub fn awaits_production(self) -> bool {
        matches!(
            self,
            ApplicationState::Accepted | ApplicationState::InProduction
        )
    }

    /// The staff console's label (Chinese).
    pub fn label_zh(self) -> &'static str {
        match self {
            ApplicationState::Submitted => "已提交",
            ApplicationState::Accepted => "已受理",
            ApplicationState::Rejected => "未通过审核",
            ApplicationState::InProduction => "制证中",
            ApplicationState::Ready => "待领取",
            ApplicationState::Collected => "已领取",
            ApplicationState::Returned => "已退回",
            ApplicationState::Cancelled => "已撤销",
        }
    }
}

impl std::fmt::Display for ApplicationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move of the journey: each has exactly one target state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JourneyEvent {
    /// The population system took the application.
    Accept,
    /// The population system refused it (on delivery or on review).
    Reject,
    /// Production started.
    StartProduction,
    /// The card arrived at the collection office.
    MarkReady,
    /// The citizen collected the card.
    Collect,
    /// The keeping period ran out; the card goes back.
    Return,
    /// Staff cancelled the application (before production only).
    Cancel,
}

impl JourneyEvent {
    /// Every event.
    pub const ALL: [JourneyEvent; 7] = [
        JourneyEvent::Accept,
        JourneyEvent::Reject,
        JourneyEvent::StartProduction,
        JourneyEvent::MarkReady,
        JourneyEvent::Collect,
        JourneyEvent::Return,
        JourneyEvent::Cancel,
    ];

    /// The state the move reaches.
    pub fn target(self) -> ApplicationState {
        match self {
            JourneyEvent::Accept => ApplicationState::Accepted,
            JourneyEvent::Reject => ApplicationState::Rejected,
            JourneyEvent::StartProduction => ApplicationState::InProduction,
            JourneyEvent::MarkReady => ApplicationState::Ready,
            JourneyEvent::Collect => ApplicationState::Collected,
            JourneyEvent::Return => ApplicationState::Returned,
            JourneyEvent::Cancel => ApplicationState::Cancelled,
        }
    }

    /// The move that reaches `state`; `None` for `submitted`, which nothing reaches.
    pub fn reaching(state: ApplicationState) -> Option<JourneyEvent> {
        JourneyEvent::ALL
            .into_iter()
            .find(|event| event.target() == state)
    }

    /// The move in words, for an error: "mark collected".
    pub fn describe(self) -> &'static str {
        match self {
            JourneyEvent::Accept => "mark accepted",
            JourneyEvent::Reject => "mark rejected",
            JourneyEvent::StartProduction => "mark in_production",
            JourneyEvent::MarkReady => "mark ready",
            JourneyEvent::Collect => "mark collected",
            JourneyEvent::Return => "mark returned",
            JourneyEvent::Cancel => "cancel",
        }
    }
}

/// A move refused from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {}: the application is {from}", event.describe())]
pub struct TransitionError {
    /// The state the application is in.
    pub from: ApplicationState,
    /// The move refused.
    pub event: JourneyEvent,
}

/// The state `event` leads to from `from`, or the refusal naming both.
///
/// Allowed: `submitted` → `accepted` | `rejected` | `cancelled`; `accepted` → `in_production` |
/// `rejected` (refused on review after it was taken) | `cancelled`; `in_production` → `ready`;
/// `ready` → `collected` | `returned`. Nothing leaves a final state, and nothing repeats a move
/// (ready twice is refused).
pub fn transition(
    from: ApplicationState,
    event: JourneyEvent,
) -> Result<ApplicationState, TransitionError> {
    use ApplicationState as S;
    use JourneyEvent as E;
    let allowed = matches!(
        (from, event),
        (S::Submitted, E::Accept | E::Reject | E::Cancel)
            | (S::Accepted, E::StartProduction | E::Reject | E::Cancel)
            | (S::InProduction, E::MarkReady)
            | (S::Ready, E::Collect | E::Return)
    );
    if allowed {
        Ok(event.target())
    } else {
        Err(TransitionError { from, event })
    }
}

/// Days after an overdue notice that its new date names.
pub const OVERDUE_NEW_DATE_DAYS: i64 = 30;

/// Whether an application is past its legal date (`issue_by`, [`crate::rules::issue_by`]): not
/// ready by then (still `submitted`, `accepted` or `in_production` after it), or made ready only
/// after it (`ready_on` later than `issue_by`). Rejected and cancelled applications never are.
pub fn is_overdue(
    state: ApplicationState,
    issue_by: Date,
    today: Date,
    ready_on: Option<Date>,
) -> bool {
    match state {
        ApplicationState::Submitted
        | ApplicationState::Accepted
        | ApplicationState::InProduction => today > issue_by,
        ApplicationState::Ready | ApplicationState::Collected | ApplicationState::Returned => {
            ready_on.is_some_and(|ready_on| ready_on > issue_by)
        }
        ApplicationState::Rejected | ApplicationState::Cancelled => false,
    }
}

/// The new date an overdue notice promises: [`OVERDUE_NEW_DATE_DAYS`] after `today`.
pub fn overdue_new_date(today: Date) -> Date {
    today
        .checked_add(Duration::days(OVERDUE_NEW_DATE_DAYS))
        .unwrap_or(Date::MAX)
}

/// How the window confirmed the person collecting a card.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IdentityCheck {
    /// The face engine compared a photo taken at the window with the live photo: its score.
    Face {
        /// The similarity, 0–100.
        score: f64,
    },
    /// The clerk compared the person with the photos.
    ByEye,
}

impl IdentityCheck {
    /// `face` or `by_eye`, as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            IdentityCheck::Face { .. } => "face",
            IdentityCheck::ByEye => "by_eye",
        }
    }
}

/// Who took the card at the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collector {
    /// The applicant.
    Applicant,
    /// A proxy, as the collection certificate's note allows: their ID number and name.
    Proxy {
        /// The proxy's ID number (check digit verified).
        id: crate::CitizenId,
        /// The proxy's name.
        name: String,
    },
}

impl Collector {
    /// `applicant` or `proxy`, as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Collector::Applicant => "applicant",
            Collector::Proxy { .. } => "proxy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;
    use ApplicationState as S;
    use JourneyEvent as E;

    fn allowed(from: S, event: E, to: S) {
        assert_eq!(transition(from, event), Ok(to), "{from} --{event:?}-->");
    }

    fn refused(from: S, event: E, message: &str) {
        let err = transition(from, event).expect_err("refused");
        assert_eq!(err, TransitionError { from, event });
        assert_eq!(err.to_string(), message);
    }

    #[test]
    fn every_allowed_move() {
        allowed(S::Submitted, E::Accept, S::Accepted);
        allowed(S::Submitted, E::Reject, S::Rejected);
        allowed(S::Submitted, E::Cancel, S::Cancelled);
        allowed(S::Accepted, E::StartProduction, S::InProduction);
        allowed(S::Accepted, E::Reject, S::Rejected);
        allowed(S::Accepted, E::Cancel, S::Cancelled);
        allowed(S::InProduction, E::MarkReady, S::Ready);
        allowed(S::Ready, E::Collect, S::Collected);
        allowed(S::Ready, E::Return, S::Returned);
        let count = S::ALL
            .iter()
            .flat_map(|from| E::ALL.iter().map(move |event| (*from, *event)))
            .filter(|(from, event)| transition(*from, *event).is_ok())
            .count();
        assert_eq!(count, 9, "a move was added without a test");
    }

    #[test]
    fn refused_moves_name_the_state() {
        refused(
            S::InProduction,
            E::Collect,
            "cannot mark collected: the application is in_production",
        );
        refused(
            S::Ready,
            E::MarkReady,
            "cannot mark ready: the application is ready",
        );
        refused(
            S::InProduction,
            E::Cancel,
            "cannot cancel: the application is in_production",
        );
        refused(
            S::Submitted,
            E::MarkReady,
            "cannot mark ready: the application is submitted",
        );
        refused(
            S::Accepted,
            E::Accept,
            "cannot mark accepted: the application is accepted",
        );
        refused(
            S::Submitted,
            E::Return,
            "cannot mark returned: the application is submitted",
        );
        for last in [S::Rejected, S::Collected, S::Returned, S::Cancelled] {
            for event in E::ALL {
                assert!(transition(last, event).is_err(), "{last} is final");
            }
        }
    }

    #[test]
    fn codes_read_back() {
        for state in S::ALL {
            assert_eq!(S::parse(state.as_str()), Some(state));
        }
        assert_eq!(S::parse("Ready"), None);
        assert_eq!(E::reaching(S::Submitted), None);
        for event in E::ALL {
            assert_eq!(E::reaching(event.target()), Some(event));
        }
    }

    #[test]
    fn overdue() {
        let issue_by = date!(2026 - 03 - 01);
        assert!(!is_overdue(S::InProduction, issue_by, issue_by, None));
        assert!(is_overdue(
            S::InProduction,
            issue_by,
            date!(2026 - 03 - 02),
            None
        ));
        assert!(is_overdue(
            S::Submitted,
            issue_by,
            date!(2026 - 03 - 02),
            None
        ));
        assert!(!is_overdue(
            S::Ready,
            issue_by,
            date!(2026 - 04 - 02),
            Some(issue_by)
        ));
        assert!(is_overdue(
            S::Collected,
            issue_by,
            date!(2026 - 04 - 02),
            Some(date!(2026 - 03 - 02))
        ));
        assert!(!is_overdue(
            S::Cancelled,
            issue_by,
            date!(2027 - 01 - 01),
            None
        ));
        assert!(!is_overdue(
            S::Rejected,
            issue_by,
            date!(2027 - 01 - 01),
            None
        ));
        assert_eq!(
            overdue_new_date(date!(2026 - 03 - 02)),
            date!(2026 - 04 - 01)
        );
    }

    proptest! {
        /// Any sequence of events, applied where allowed, only ever walks the allowed graph, and
        /// nothing moves once a final state is reached.
        #[test]
        fn random_sequences_stay_on_the_graph(events in prop::collection::vec(0usize..7, 0..20)) {
            let mut state = S::Submitted;
            let mut path = vec![state];
            for index in events {
                let event = E::ALL[index];
                match transition(state, event) {
                    Ok(next) => {
                        prop_assert!(!state.is_final());
                        prop_assert_eq!(next, event.target());
                        state = next;
                        path.push(state);
                    }
                    Err(err) => prop_assert_eq!(err.from, state),
                }
            }
            // Never back, never twice.
            let mut seen = std::collections::HashSet::new();
            for state in &path {
                prop_assert!(seen.insert(*state), "{:?} visits a state twice", path);
            }
        }
    }
}

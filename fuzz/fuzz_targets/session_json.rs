//! The session JSON that crosses a boundary in the `domain` crate: the outcome a kiosk reports
//! with `POST /v1/sessions/{sid}/end` (`SessionOutcome`, `PaymentMethod`, `ReferralReason`) and
//! the snapshot the agent reads back from its outbox after a crash (`Snapshot`, then
//! `Session::resume` and a timer tick). Checks: nothing panics, and what deserializes serializes
//! back to the same value. The center's own wire types are exercised by a proptest in the
//! center's test suite instead (docs/testing.md: the center is too heavy to instrument in CI).
#![no_main]

use domain::session::{
    Event, Millis, PaymentMethod, ReferralReason, Session, SessionConfig, SessionOutcome, Snapshot,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    data: &[u8],
) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let json = serde_json::to_vec(&value).expect("a deserialized value serializes");
    let again: T = serde_json::from_slice(&json).expect("serialized JSON deserializes");
    assert_eq!(again, value);
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    let _ = round_trip::<SessionOutcome>(data);
    let _ = round_trip::<PaymentMethod>(data);
    let _ = round_trip::<ReferralReason>(data);
    if let Some(snapshot) = round_trip::<Snapshot>(data) {
        let now = Millis(1_000_000);
        let (mut session, _) = Session::resume(SessionConfig::default(), snapshot, now);
        let _ = session.screen();
        if let Some(at) = session.poll_timeout() {
            let _ = session.handle(Event::Tick, at.max(now));
        }
        let _ = session.snapshot();
    }
});

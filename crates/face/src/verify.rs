//! Step 7 at the center: the certified studio photo against the historical photo must score
//! above the certified threshold (95), the live photo against the historical photo above the live
//! threshold (60). Both scores, the engine and its version are kept with the application.

use serde::{Deserialize, Serialize};

use crate::{Comparison, FaceEngine, FaceError, Picture, Thresholds};

/// The outcome of step 7, as stored with the application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationReport {
    /// Certified studio photo against the historical photo.
    pub certified_vs_history: Comparison,
    /// Live photo against the historical photo.
    pub live_vs_history: Comparison,
    /// True when the certified score is above its threshold.
    pub certified_passed: bool,
    /// True when the live score is above its threshold.
    pub live_passed: bool,
    /// True when both passed.
    pub passed: bool,
    /// The thresholds applied.
    pub thresholds: Thresholds,
    /// The engine's name.
    pub engine: String,
    /// The engine's version.
    pub version: String,
}

/// Runs step 7. The three pictures are described side by side (one thread each) and the
/// historical photo once. A picture without exactly one readable face is an error naming it.
pub fn verify(
    engine: &dyn FaceEngine,
    thresholds: &Thresholds,
    certified: &Picture,
    historical: &Picture,
    live: &Picture,
) -> Result<VerificationReport, FaceError> {
    let (certified, historical, live) = std::thread::scope(|scope| {
        let certified = scope.spawn(|| engine.describe(certified));
        let live = scope.spawn(|| engine.describe(live));
        let historical = engine.describe(historical);
        let join = |handle: std::thread::ScopedJoinHandle<'_, _>| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        (join(certified), historical, join(live))
    });
    let historical = historical?;
    let certified_vs_history = engine.compare(&certified?.embedding, &historical.embedding);
    let live_vs_history = engine.compare(&live?.embedding, &historical.embedding);
    let certified_passed = certified_vs_history.similarity > thresholds.certified;
    let live_passed = live_vs_history.similarity > thresholds.live;
    Ok(VerificationReport {
        certified_vs_history,
        live_vs_history,
        certified_passed,
        live_passed,
        passed: certified_passed && live_passed,
        thresholds: *thresholds,
        engine: engine.name().to_owned(),
        version: engine.version().to_owned(),
    })
}

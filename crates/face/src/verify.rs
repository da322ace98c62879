//! Step 7 at the center: the certified studio photo against the historical photo must score
//! above the certified threshold (95), the live photo against the historical photo above the live
//! threshold (60). Both scores, the engine and its version are kept with the application.

use serde::{Deserialize, Serialize};

use crate::{Comparison, Embedding, FaceEngine, FaceError, Picture, Thresholds};

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
    Ok(report(
        engine,
        thresholds,
        &certified?.embedding,
        &historical.embedding,
        &live?.embedding,
    ))
}

/// Step 7 with the historical photo's embedding already known (kept from an earlier session,
/// issue 18): only the certified and live photos are described, one after the other on the
/// calling thread (the center runs it on one worker of its face pool). Given the embedding
/// [`verify`] computes for the historical photo, the report is the same.
pub fn verify_against(
    engine: &dyn FaceEngine,
    thresholds: &Thresholds,
    certified: &Picture,
    historical: &Embedding,
    live: &Picture,
) -> Result<VerificationReport, FaceError> {
    let certified = engine.describe(certified)?;
    let live = engine.describe(live)?;
    Ok(report(
        engine,
        thresholds,
        &certified.embedding,
        historical,
        &live.embedding,
    ))
}

fn report(
    engine: &dyn FaceEngine,
    thresholds: &Thresholds,
    certified: &Embedding,
    historical: &Embedding,
    live: &Embedding,
) -> VerificationReport {
    let certified_vs_history = engine.compare(certified, historical);
    let live_vs_history = engine.compare(live, historical);
    let certified_passed = certified_vs_history.similarity > thresholds.certified;
    let live_passed = live_vs_history.similarity > thresholds.live;
    VerificationReport {
        certified_vs_history,
        live_vs_history,
        certified_passed,
        live_passed,
        passed: certified_passed && live_passed,
        thresholds: *thresholds,
        engine: engine.name().to_owned(),
        version: engine.version().to_owned(),
    }
}

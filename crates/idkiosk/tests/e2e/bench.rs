//! Screen-to-screen time after a touch (issue 8's goal: p95 < 150 ms), over many touches on one
//! running demo: repeated sessions of start, lost replacement, local household, a typed number,
//! confirm, the terms, back and forth, and "end the session", which consume nothing (no card, no
//! receipt, no payment), so they can be repeated as often as wanted.
//!
//! `cargo test -p idkiosk --test e2e -- --ignored bench_screen_to_screen --nocapture`
//! (`IDKIOSK_BENCH_SESSIONS`, default 10).

use std::time::Duration;

use popsys::seed::demo;

use crate::harness::{median_p95, report_timings, Res};
use crate::stack::{Options, Stack};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored (about 5 s per session)"]
async fn bench_screen_to_screen() -> Res<()> {
    let Some(mut stack) = Stack::start("bench", Options::default()).await? else {
        return Ok(());
    };
    let sessions: usize = std::env::var("IDKIOSK_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let k = &mut stack.kiosk;
    k.wait_screen("welcome", WAIT).await?;
    // One session to warm up (first page loads, the center's first queries), not counted.
    for session in 0..=sessions {
        if session == 1 {
            k.timings.clear();
        }
        k.touch("business-lost").await?;
        k.wait_screen("household", WAIT).await?;
        k.touch("back").await?;
        k.wait_screen("business", WAIT).await?;
        k.touch("business-lost").await?;
        k.wait_screen("household", WAIT).await?;
        k.touch("household-local").await?;
        k.wait_screen("id_number", WAIT).await?;
        k.keypad(demo::RENEWAL_IN_WINDOW).await?;
        k.touch("id-number-confirm").await?;
        k.wait_screen("confirm", WAIT).await?;
        k.touch("confirm").await?;
        k.wait_screen("in_scope", WAIT).await?;
        k.touch("confirm").await?;
        k.wait_screen("scan_receipt", WAIT).await?;
        k.touch("cancel").await?;
        k.wait_screen("confirm_end", WAIT).await?;
        k.touch("end-yes").await?;
        k.wait_screen("welcome", WAIT).await?;
    }
    report_timings("bench_screen_to_screen", &k.timings);
    // Per transition.
    let mut kinds: Vec<(String, Vec<f64>)> = Vec::new();
    for t in &k.timings {
        let key = format!("{} -> {}", t.from, t.to);
        match kinds.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(t.ms),
            None => kinds.push((key, vec![t.ms])),
        }
    }
    for (key, ms) in &kinds {
        if let Some((median, p95)) = median_p95(ms) {
            println!(
                "  {key:<36} n={:<3} median {median:6.1} ms  p95 {p95:6.1} ms",
                ms.len()
            );
        }
    }
    Ok(())
}

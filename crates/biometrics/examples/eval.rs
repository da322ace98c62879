//! The error-rate table of docs/fingerprints.md: 100 fingers × 4 impressions (FVC protocol:
//! every genuine pair, first impressions against each other for impostors), at several
//! thresholds, with the equal error rate. `cargo run --release -p biometrics --example eval`.

use biometrics::eval::{equal_error_rate, rates_at};
use biometrics::{compare, extract, MasterFinger, MatchConfig, Minutia, PressKind};

fn main() {
    let fingers: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let impressions = 4;
    let start = std::time::Instant::now();
    let all: Vec<Vec<Vec<Minutia>>> = (0..fingers)
        .map(|f| {
            let master = MasterFinger::generate(f);
            (0..impressions)
                .map(|k| extract(&master.impression(k, PressKind::Good)))
                .collect()
        })
        .collect();
    let made = start.elapsed();
    let config = MatchConfig::default();
    let score = |a: &[Minutia], b: &[Minutia]| f64::from(compare(a, b, &config).score);
    let mut genuine = Vec::new();
    for f in &all {
        for i in 0..f.len() {
            for j in i + 1..f.len() {
                genuine.push(score(&f[i], &f[j]));
            }
        }
    }
    let mut impostor = Vec::new();
    for f in 0..all.len() {
        for g in f + 1..all.len() {
            impostor.push(score(&all[f][0], &all[g][0]));
        }
    }
    let minutiae: usize = all.iter().flatten().map(Vec::len).sum();
    println!(
        "{fingers} fingers × {impressions} impressions: {} genuine, {} impostor comparisons; {:.1} minutiae per image; {:.1} s",
        genuine.len(),
        impostor.len(),
        minutiae as f64 / (fingers as f64 * impressions as f64),
        start.elapsed().as_secs_f64()
    );
    println!("(generation and extraction {:.1} s)", made.as_secs_f64());
    println!();
    println!("| threshold | FMR | FNMR |");
    println!("|---|---|---|");
    for t in [12.0, 16.0, 20.0, f64::from(config.threshold), 28.0, 32.0] {
        let r = rates_at(&genuine, &impostor, t);
        let mark = if t == f64::from(config.threshold) {
            " (default)"
        } else {
            ""
        };
        println!(
            "| {t}{mark} | {:.2} % ({}/{}) | {:.2} % ({}/{}) |",
            100.0 * r.false_match_rate,
            (r.false_match_rate * impostor.len() as f64).round(),
            impostor.len(),
            100.0 * r.false_non_match_rate,
            (r.false_non_match_rate * genuine.len() as f64).round(),
            genuine.len()
        );
    }
    let eer = equal_error_rate(&genuine, &impostor);
    println!();
    println!(
        "EER {:.2} % at threshold {}",
        100.0 * eer.false_match_rate,
        eer.threshold
    );
    let max_impostor = impostor.iter().copied().fold(0.0, f64::max);
    let mut g = genuine.clone();
    g.sort_by(f64::total_cmp);
    println!(
        "highest impostor score {max_impostor}; genuine scores: min {}, 1st percentile {}, median {}",
        g[0],
        g[g.len() / 100],
        g[g.len() / 2]
    );
}

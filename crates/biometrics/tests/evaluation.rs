//! The error rates over the synthetic test set: 100 fingers × 4 impressions. Genuine comparisons
//! are every pair of impressions of a finger (600); impostor comparisons are the first impression
//! of every finger against the first of every other (4950), as in the FVC protocol.

use biometrics::eval::{equal_error_rate, rates_at};
use biometrics::{compare, extract, MasterFinger, MatchConfig, Minutia, PressKind};

const FINGERS: u64 = 100;
const IMPRESSIONS: u32 = 4;

fn templates(fingers: std::ops::Range<u64>) -> Vec<Vec<Vec<Minutia>>> {
    fingers
        .map(|f| {
            let master = MasterFinger::generate(f);
            (0..IMPRESSIONS)
                .map(|k| extract(&master.impression(k, PressKind::Good)))
                .collect()
        })
        .collect()
}

#[test]
fn same_fingers_match_and_different_fingers_do_not() {
    // Two threads: the machine the suite runs on has two cores.
    let half = FINGERS / 2;
    let (first, second) = std::thread::scope(|s| {
        let a = s.spawn(|| templates(0..half));
        let b = s.spawn(|| templates(half..FINGERS));
        (a.join().unwrap(), b.join().unwrap())
    });
    let all: Vec<Vec<Vec<Minutia>>> = first.into_iter().chain(second).collect();
    let config = MatchConfig::default();
    let score = |a: &[Minutia], b: &[Minutia]| f64::from(compare(a, b, &config).score);

    let mut genuine = Vec::new();
    for finger in &all {
        for i in 0..finger.len() {
            for j in i + 1..finger.len() {
                genuine.push(score(&finger[i], &finger[j]));
            }
        }
    }
    let impostor: Vec<f64> = std::thread::scope(|s| {
        let all = &all;
        let score = &score;
        let work = |parity: usize| {
            let mut out = Vec::new();
            for f in (0..all.len()).filter(|f| f % 2 == parity) {
                for g in f + 1..all.len() {
                    out.push(score(&all[f][0], &all[g][0]));
                }
            }
            out
        };
        let a = s.spawn(move || work(0));
        let b = s.spawn(move || work(1));
        a.join()
            .unwrap()
            .into_iter()
            .chain(b.join().unwrap())
            .collect()
    });
    assert_eq!(genuine.len(), 600);
    assert_eq!(impostor.len(), 4950);

    let at = rates_at(&genuine, &impostor, f64::from(config.threshold));
    let eer = equal_error_rate(&genuine, &impostor);
    println!(
        "| comparisons | genuine {} | impostor {} |",
        genuine.len(),
        impostor.len()
    );
    println!(
        "| threshold {} | FMR {:.4} | FNMR {:.4} | EER {:.4} at {} |",
        config.threshold,
        at.false_match_rate,
        at.false_non_match_rate,
        eer.false_match_rate,
        eer.threshold
    );
    assert!(at.false_match_rate <= 0.001, "{at:?}");
    assert!(at.false_non_match_rate <= 0.02, "{at:?}");
    assert!(eer.false_match_rate <= 0.01, "{eer:?}");
}

//! Error rates of a matcher from two lists of scores: genuine (two presses of one finger) and
//! impostor (presses of different fingers). A comparison matches when its score reaches the
//! threshold.

use serde::Serialize;

/// False match and false non-match rates at one threshold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rates {
    /// The threshold.
    pub threshold: f64,
    /// Share of impostor comparisons at or above the threshold.
    pub false_match_rate: f64,
    /// Share of genuine comparisons below the threshold.
    pub false_non_match_rate: f64,
}

/// The rates at `threshold`.
pub fn rates_at(genuine: &[f64], impostor: &[f64], threshold: f64) -> Rates {
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    Rates {
        threshold,
        false_match_rate: share(
            impostor.iter().filter(|&&s| s >= threshold).count(),
            impostor.len(),
        ),
        false_non_match_rate: share(
            genuine.iter().filter(|&&s| s < threshold).count(),
            genuine.len(),
        ),
    }
}

/// The equal error rate: the rates at the threshold (among the observed scores and one above the
/// highest) where they are closest, averaged; with the threshold found.
pub fn equal_error_rate(genuine: &[f64], impostor: &[f64]) -> Rates {
    let mut thresholds: Vec<f64> = genuine.iter().chain(impostor).copied().collect();
    thresholds.push(thresholds.iter().copied().fold(0.0, f64::max) + 1.0);
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    let mut best = rates_at(genuine, impostor, thresholds[0]);
    for &t in &thresholds {
        let r = rates_at(genuine, impostor, t);
        let gap = |r: &Rates| (r.false_match_rate - r.false_non_match_rate).abs();
        if gap(&r) < gap(&best) {
            best = r;
        }
    }
    let eer = (best.false_match_rate + best.false_non_match_rate) / 2.0;
    Rates {
        threshold: best.threshold,
        false_match_rate: eer,
        false_non_match_rate: eer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_scores_have_no_errors() {
        let genuine = [40.0, 50.0, 60.0];
        let impostor = [1.0, 5.0, 9.0];
        let r = rates_at(&genuine, &impostor, 24.0);
        assert_eq!((r.false_match_rate, r.false_non_match_rate), (0.0, 0.0));
        assert_eq!(equal_error_rate(&genuine, &impostor).false_match_rate, 0.0);
    }

    #[test]
    fn overlapping_scores_give_the_crossing() {
        let genuine = [10.0, 20.0, 30.0, 40.0];
        let impostor = [0.0, 5.0, 15.0, 25.0];
        let r = rates_at(&genuine, &impostor, 20.0);
        assert_eq!((r.false_match_rate, r.false_non_match_rate), (0.25, 0.25));
        assert_eq!(equal_error_rate(&genuine, &impostor).false_match_rate, 0.25);
    }
}

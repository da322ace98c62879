//! The similarity score of docs/domain.md section 6: `100 / (1 + exp((d − c) / w))` for an
//! embedding distance `d`, and the thresholds of step 7. Both are configuration; [`fit`] refits `c`
//! and `w` on a bureau's labelled pairs by logistic regression.

use serde::{Deserialize, Serialize};

/// The logistic map from an embedding distance to a score from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The distance that scores 50.
    pub c: f64,
    /// The width of the logistic: how fast the score falls as the distance grows.
    pub w: f64,
}

impl Default for Calibration {
    /// The reference calibration for dlib's ResNet model: 60 at d = 0.60, 95 at d = 0.35.
    fn default() -> Self {
        Calibration { c: 0.64, w: 0.0985 }
    }
}

impl Calibration {
    /// The score for a distance, from 0 to 100.
    pub fn similarity(&self, distance: f64) -> f64 {
        if !distance.is_finite() {
            return 0.0;
        }
        let score = 100.0 / (1.0 + ((distance - self.c) / self.w).exp());
        score.clamp(0.0, 100.0)
    }

    /// The distance that scores `similarity` (the inverse map), for documentation and tests.
    pub fn distance_for(&self, similarity: f64) -> f64 {
        self.c + self.w * (100.0 / similarity - 1.0).ln()
    }
}

/// The thresholds of step 7: the score must be strictly above each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Live photo against the historical photo.
    pub live: f64,
    /// Certified studio photo against the historical photo.
    pub certified: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            live: 60.0,
            certified: 95.0,
        }
    }
}

/// One labelled pair: the distance the engine gave and whether it is the same person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelledDistance {
    /// The embedding distance.
    pub distance: f64,
    /// True for two pictures of one person.
    pub same: bool,
}

/// Why a calibration could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Pairs of both kinds are needed.
    #[error("need labelled pairs of both kinds: {same} same-person and {different} different-person given")]
    OneClass {
        /// Same-person pairs given.
        same: usize,
        /// Different-person pairs given.
        different: usize,
    },
    /// A distance is not a finite number.
    #[error("distance {0} is not a finite number")]
    NotFinite(f64),
    /// The fit came out with the score rising with distance, which no usable engine does.
    #[error("the fitted score rises with distance: the labels look swapped")]
    Inverted,
}

/// Fits `c` and `w` by maximum-likelihood logistic regression (Newton's method) of
/// `P(same | d) = 1 / (1 + exp((d − c) / w))`. A small ridge on the slope keeps the fit finite
/// when the two classes do not overlap, which is the usual case for a good engine on clean pairs.
pub fn fit(pairs: &[LabelledDistance]) -> Result<Calibration, FitError> {
    let same = pairs.iter().filter(|p| p.same).count();
    let different = pairs.len() - same;
    if same == 0 || different == 0 {
        return Err(FitError::OneClass { same, different });
    }
    if let Some(bad) = pairs.iter().find(|p| !p.distance.is_finite()) {
        return Err(FitError::NotFinite(bad.distance));
    }
    // logit P(same) = a + b·d, so c = −a/b and w = −1/b.
    let ridge = 1e-3;
    let (mut a, mut b) = (0.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut ga, mut gb) = (0.0, -ridge * b);
        let (mut haa, mut hab, mut hbb) = (0.0, 0.0, ridge);
        for p in pairs {
            let prob = 1.0 / (1.0 + (-(a + b * p.distance)).exp());
            let y = if p.same { 1.0 } else { 0.0 };
            let weight = prob * (1.0 - prob);
            ga += y - prob;
            gb += (y - prob) * p.distance;
            haa += weight;
            hab += weight * p.distance;
            hbb += weight * p.distance * p.distance;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a += da;
        b += db;
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            break;
        }
    }
    if b >= 0.0 || !a.is_finite() || !b.is_finite() {
        return Err(FitError::Inverted);
    }
    Ok(Calibration {
        c: -a / b,
        w: -1.0 / b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(distance: f64, expected: f64) {
        let score = Calibration::default().similarity(distance);
        assert!(
            (score - expected).abs() < 0.05,
            "d = {distance}: score {score}, expected {expected}"
        );
    }

    #[test]
    fn reference_calibration_puts_60_at_0_60_and_95_at_0_35() {
        check(0.60, 60.0);
        check(0.35, 95.0);
        check(0.64, 50.0);
    }

    #[test]
    fn score_stays_within_0_and_100() {
        let cal = Calibration::default();
        for d in [-1.0, 0.0, 2.0, 100.0, f64::INFINITY, f64::NAN] {
            let s = cal.similarity(d);
            assert!((0.0..=100.0).contains(&s), "d = {d} gave {s}");
        }
    }

    #[test]
    fn inverse_map_round_trips() {
        let cal = Calibration::default();
        for s in [5.0, 50.0, 60.0, 95.0] {
            assert!((cal.similarity(cal.distance_for(s)) - s).abs() < 1e-9);
        }
    }

    #[test]
    fn fit_recovers_a_known_logistic() {
        // Deterministic sample of the reference logistic: at each distance, the share of same
        // pairs is the model's probability.
        let truth = Calibration::default();
        let mut pairs = Vec::new();
        for i in 0..=100 {
            let d = 0.2 + 0.8 * f64::from(i) / 100.0;
            let same = (truth.similarity(d) / 100.0 * 20.0).round() as usize;
            for k in 0..20 {
                pairs.push(LabelledDistance {
                    distance: d,
                    same: k < same,
                });
            }
        }
        let fitted = fit(&pairs).expect("fit");
        assert!((fitted.c - truth.c).abs() < 0.01, "{fitted:?}");
        assert!((fitted.w - truth.w).abs() < 0.01, "{fitted:?}");
    }

    #[test]
    fn fit_of_separable_pairs_stays_finite_and_between_the_classes() {
        let pairs: Vec<_> = [0.30, 0.35, 0.40, 0.45]
            .iter()
            .map(|&d| LabelledDistance {
                distance: d,
                same: true,
            })
            .chain([0.75, 0.80, 0.85].iter().map(|&d| LabelledDistance {
                distance: d,
                same: false,
            }))
            .collect();
        let fitted = fit(&pairs).expect("fit");
        assert!(fitted.c > 0.45 && fitted.c < 0.75, "{fitted:?}");
        assert!(fitted.w > 0.0 && fitted.w.is_finite(), "{fitted:?}");
    }

    #[test]
    fn fit_refuses_one_class_and_swapped_labels() {
        let same = [LabelledDistance {
            distance: 0.3,
            same: true,
        }];
        assert_eq!(
            fit(&same),
            Err(FitError::OneClass {
                same: 1,
                different: 0
            })
        );
        let swapped = [
            LabelledDistance {
                distance: 0.3,
                same: false,
            },
            LabelledDistance {
                distance: 0.35,
                same: false,
            },
            LabelledDistance {
                distance: 0.8,
                same: true,
            },
            LabelledDistance {
                distance: 0.9,
                same: true,
            },
        ];
        assert_eq!(fit(&swapped), Err(FitError::Inverted));
    }
}

//! Enrolment of two fingers for the new card (docs/domain.md section 1, step 9), as a state machine
//! with no I/O: the caller captures a press, hands the image in, and is told what to ask for next.
//!
//! A finger takes up to [`EnrolConfig::presses_per_finger`] passing presses and
//! [`EnrolConfig::poor_presses_per_finger`] that fail quality. Presses that fail quality are
//! set aside (a smudge costs no passing press).
//!
//! By default ([`SecondPress::Module`]) only the first passing press of a finger is uploaded and
//! assessed here (quality, template); the next presses are compared with it by the fingerprint
//! module itself (R30x Img2Tz into CharBuffer 2, Match), which sends back a score and no image
//! (an image is 3.3 s on the line at 115200). The finger is enrolled with the uploaded press as
//! soon as the module scores a press at [`EnrolConfig::module_threshold`] or more
//! ([`Enrolment::module_match`]). A press the module cannot extract (`06`, `07`) is a poor press
//! ([`Enrolment::poor_press`]); a press it does not match counts as a passing press that did
//! not match, and the next one is compared with the uploaded press again.
//!
//! With [`SecondPress::Upload`] every press is uploaded: as soon as two passing presses match
//! each other the finger is enrolled with the best of the passing presses that match another
//! one. When the citizen's record holds a template of that finger from the last application, the
//! enrolled (uploaded) press must match it too. Two fingers are
//! taken: right and left index by default, or the configured substitutes, in order, for fingers
//! that are missing or injured. A finger that is not enrolled after its presses ends the whole
//! enrolment with the step-9 prompt ([`domain::prompts::FINGERPRINT_FAILED`]) and a referral
//! reason for the window naming the finger and what failed.

use domain::prompts::{Prompt, FINGERPRINT_FAILED};
use domain::session::FingerprintFailure;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::grey::GreyImage;
use crate::matcher::{compare, MatchConfig};
use crate::minutiae::extract;
use crate::quality::{assess, QualityConfig, QualityMetrics, QualityReason, QualityReport};
use crate::template::Template;

/// One of the ten fingers: the session's own type, so an enrolled finger is the finger the
/// application records (`right_index`, …) with no conversion between two enums.
pub use domain::session::Finger;

/// How the presses after a finger's first passing press are checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondPress {
    /// Matched on the fingerprint module; no image upload (the fast path).
    #[default]
    Module,
    /// Uploaded and matched here like the first (four uploads for two fingers).
    Upload,
}

/// What the kiosk does for the next press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PressMode {
    /// Capture and upload the image: [`Enrolment::press`].
    Upload,
    /// Have the module match the press with the uploaded one: [`Enrolment::module_match`].
    Confirm,
}

/// The enrolment rules (configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnrolConfig {
    /// The two fingers taken when both are available.
    pub fingers: [Finger; 2],
    /// Fingers taken instead, in this order, of one that is missing or injured.
    pub substitutes: Vec<Finger>,
    /// Passing presses allowed per finger (presses that fail quality do not count).
    pub presses_per_finger: u8,
    /// Presses that fail quality allowed per finger before it fails; the kiosk takes it from the
    /// session's `fingerprint_tries`, which decides the referral.
    pub poor_presses_per_finger: u8,
    /// The quality check of each press.
    pub quality: QualityConfig,
    /// The matching of presses with each other and with the last application's templates.
    pub matching: MatchConfig,
    /// Whether presses after the first passing one are matched on the module (default) or
    /// uploaded.
    pub second_press: SecondPress,
    /// The least module Match score that confirms a press (R30x scores; 50 is the usual bar of
    /// its security level 3).
    pub module_threshold: u16,
}

impl Default for EnrolConfig {
    fn default() -> EnrolConfig {
        EnrolConfig {
            fingers: [Finger::RightIndex, Finger::LeftIndex],
            substitutes: vec![
                Finger::RightMiddle,
                Finger::LeftMiddle,
                Finger::RightThumb,
                Finger::LeftThumb,
                Finger::RightRing,
                Finger::LeftRing,
            ],
            presses_per_finger: 3,
            poor_presses_per_finger: 3,
            quality: QualityConfig::default(),
            matching: MatchConfig::default(),
            second_press: SecondPress::Module,
            module_threshold: 50,
        }
    }
}

/// Why an enrolment cannot start.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EnrolError {
    /// Fewer than two of the configured fingers and substitutes are available.
    #[error("fewer than two fingers can be taken ({available} available)")]
    NotEnoughFingers {
        /// Fingers left after the unavailable ones.
        available: usize,
    },
    /// The configuration allows no press.
    #[error("presses_per_finger must be at least 1")]
    NoPresses,
}

/// One finger taken to quality.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrolledFinger {
    /// Which finger.
    pub finger: Finger,
    /// Its template (goes into the application record).
    pub template: Template,
    /// The press kept (stored encrypted with the other biometrics, never sent to production).
    pub image: GreyImage,
    /// The kept press's quality.
    pub quality: u8,
    /// The best score between the kept press and another press of the finger (0 when the module
    /// confirmed it: see `module_score`).
    pub consistency: u8,
    /// The module's Match score of the press that confirmed the kept one
    /// ([`SecondPress::Module`]).
    pub module_score: Option<u16>,
    /// The score against the last application's template of this finger, if there was one.
    pub previous_score: Option<u8>,
}

/// What went wrong with a finger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureReason {
    /// Fewer than two presses passed quality; the reasons of the failed presses, most frequent
    /// first.
    Quality {
        /// Why the presses failed.
        reasons: Vec<QualityReason>,
    },
    /// Enough presses passed quality but they do not match each other (perhaps different
    /// fingers).
    Inconsistent {
        /// The best score between two passing presses.
        best_score: u8,
        /// The threshold.
        threshold: u8,
    },
    /// The module matched none of the presses after the uploaded one with it
    /// ([`SecondPress::Module`]).
    ModuleMismatch {
        /// The module's best score.
        best_score: u16,
        /// [`EnrolConfig::module_threshold`].
        threshold: u16,
    },
    /// The presses do not match the template of the last application.
    PreviousMismatch {
        /// The best score against it.
        best_score: u8,
        /// The threshold.
        threshold: u8,
    },
}

/// The end of an enrolment that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolFailure {
    /// The finger that could not be taken.
    pub finger: Finger,
    /// What failed.
    pub reason: FailureReason,
}

impl EnrolFailure {
    /// The citizen-facing prompt of step 9 (to the window).
    pub fn prompt(&self) -> Prompt {
        FINGERPRINT_FAILED
    }

    /// The referral reason for the window clerk: the finger and what failed.
    pub fn referral(&self) -> String {
        let finger = self.finger.prompt().en;
        match &self.reason {
            FailureReason::Quality { reasons } => {
                let why: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
                format!("{finger}: fewer than two presses passed quality ({})", why.join(", "))
            }
            FailureReason::Inconsistent { best_score, threshold } => format!(
                "{finger}: the presses do not match each other (best score {best_score}, threshold {threshold})"
            ),
            FailureReason::ModuleMismatch { best_score, threshold } => format!(
                "{finger}: the fingerprint module matched no press with the first (best score {best_score}, threshold {threshold})"
            ),
            FailureReason::PreviousMismatch { best_score, threshold } => format!(
                "{finger}: does not match the print of the last application (best score {best_score}, threshold {threshold})"
            ),
        }
    }

    /// The failure as the session state machine takes it.
    pub fn session_failure(&self) -> FingerprintFailure {
        match &self.reason {
            FailureReason::Quality { reasons }
                if reasons.iter().all(|r| *r == QualityReason::Blank) =>
            {
                FingerprintFailure::NoFinger
            }
            _ => FingerprintFailure::PoorQuality,
        }
    }
}

/// The end of an enrolment.
#[derive(Clone, Debug, PartialEq)]
pub enum EnrolOutcome {
    /// Both fingers taken.
    Enrolled(Vec<EnrolledFinger>),
    /// A finger could not be taken: refer to the window.
    Failed(EnrolFailure),
}

/// What the kiosk does after a press.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Ask for the same finger again.
    PressAgain {
        /// The finger.
        finger: Finger,
        /// Presses of it so far.
        presses: u8,
        /// The quality of the press just made.
        quality: QualityReport,
    },
    /// The finger is taken; ask for the next one.
    NextFinger(Finger),
    /// The enrolment is over.
    Done(EnrolOutcome),
}

/// A press that passed quality.
#[derive(Clone, Debug)]
struct Good {
    image: GreyImage,
    quality: u8,
    template: Template,
}

/// The enrolment of one citizen's two fingers.
#[derive(Clone, Debug)]
pub struct Enrolment {
    config: EnrolConfig,
    fingers: [Finger; 2],
    previous: Vec<Template>,
    current: usize,
    presses: u8,
    /// Presses of the current finger that failed quality.
    poor: u8,
    good: Vec<Good>,
    /// [`SecondPress::Module`]: the uploaded press the module compares the next ones with, and
    /// its score against the last application's template.
    anchor: Option<(Good, Option<u8>)>,
    /// [`SecondPress::Module`]: the module's best score for the current finger, and the best score
    /// of an uploaded press against the last application's template.
    module_best: u16,
    previous_best: u8,
    failed: Vec<QualityReason>,
    enrolled: Vec<EnrolledFinger>,
    outcome: Option<EnrolOutcome>,
}

impl Enrolment {
    /// Starts an enrolment. `unavailable` lists missing or injured fingers; `previous` holds the
    /// templates of the last application (their `position` says which finger).
    pub fn new(
        config: EnrolConfig,
        unavailable: &[Finger],
        previous: Vec<Template>,
    ) -> Result<Enrolment, EnrolError> {
        if config.presses_per_finger == 0 {
            return Err(EnrolError::NoPresses);
        }
        let mut choice: Vec<Finger> = Vec::new();
        let mut substitutes = config
            .substitutes
            .iter()
            .filter(|f| !unavailable.contains(f));
        for &finger in &config.fingers {
            let pick = if unavailable.contains(&finger) {
                substitutes
                    .find(|f| !choice.contains(f) && !config.fingers.contains(f))
                    .copied()
            } else {
                Some(finger)
            };
            choice.extend(pick);
        }
        if choice.len() < 2 {
            return Err(EnrolError::NotEnoughFingers {
                available: choice.len(),
            });
        }
        Ok(Enrolment {
            fingers: [choice[0], choice[1]],
            config,
            previous,
            current: 0,
            presses: 0,
            poor: 0,
            good: Vec::new(),
            anchor: None,
            module_best: 0,
            previous_best: 0,
            failed: Vec::new(),
            enrolled: Vec::new(),
            outcome: None,
        })
    }

    /// The two fingers being taken.
    pub fn fingers(&self) -> [Finger; 2] {
        self.fingers
    }

    /// The finger to ask for now, or `None` when the enrolment is over.
    pub fn finger(&self) -> Option<Finger> {
        if self.outcome.is_some() {
            None
        } else {
            Some(self.fingers[self.current])
        }
    }

    /// The outcome, once over.
    pub fn outcome(&self) -> Option<&EnrolOutcome> {
        self.outcome.as_ref()
    }

    /// How the next press is to be taken: uploaded ([`press`](Self::press)) or matched on the
    /// module ([`module_match`](Self::module_match)), once the current finger has an uploaded
    /// passing press and [`EnrolConfig::second_press`] is [`SecondPress::Module`].
    pub fn press_mode(&self) -> PressMode {
        if self.anchor.is_some() {
            PressMode::Confirm
        } else {
            PressMode::Upload
        }
    }

    /// The module's Match of a press of the current finger with the uploaded one (its score; the
    /// module's own `00`/`08` verdict is not used: the threshold is ours). At
    /// [`EnrolConfig::module_threshold`] or more the finger is enrolled with the uploaded press;
    /// under it the press counts as a passing press that did not match.
    pub fn module_match(&mut self, score: u16) -> Step {
        if let Some(outcome) = &self.outcome {
            return Step::Done(outcome.clone());
        }
        let finger = self.fingers[self.current];
        self.presses += 1;
        self.module_best = self.module_best.max(score);
        // The module measures no quality: the report only says the press was not a poor one.
        self.after_press(finger, module_report(true, Vec::new()))
    }

    /// Takes one press of the current finger.
    pub fn press(&mut self, image: &GreyImage) -> Step {
        if let Some(outcome) = &self.outcome {
            return Step::Done(outcome.clone());
        }
        let finger = self.fingers[self.current];
        self.presses += 1;
        let quality = assess(image, &self.config.quality);
        if quality.passed {
            let template = Template {
                width: image.width() as u16,
                height: image.height() as u16,
                position: finger.iso_position(),
                quality: quality.score,
                minutiae: extract(image),
            };
            let good = Good {
                image: image.clone(),
                quality: quality.score,
                template,
            };
            if self.config.second_press == SecondPress::Module {
                self.take_anchor(finger, good);
            } else {
                self.good.push(good);
            }
        } else {
            self.poor += 1;
            self.failed.extend(quality.reasons.iter().copied());
        }
        self.after_press(finger, quality)
    }

    /// A press the module itself refused before any image (R30x `06` image too messy, `07` too
    /// few feature points): it counts as a press that failed quality for `reason`.
    pub fn poor_press(&mut self, reason: QualityReason) -> Step {
        if let Some(outcome) = &self.outcome {
            return Step::Done(outcome.clone());
        }
        let finger = self.fingers[self.current];
        self.presses += 1;
        self.poor += 1;
        self.failed.push(reason);
        self.after_press(finger, module_report(false, vec![reason]))
    }

    /// [`SecondPress::Module`]: keeps an uploaded passing press as the one the module compares
    /// the next presses with, unless it does not match the last application's print (then the
    /// next press is uploaded again).
    fn take_anchor(&mut self, finger: Finger, good: Good) {
        let threshold = self.config.matching.threshold;
        let previous_score = self
            .previous
            .iter()
            .find(|t| t.position == finger.iso_position())
            .map(|old| {
                compare(
                    &good.template.minutiae,
                    &old.minutiae,
                    &self.config.matching,
                )
                .score
            });
        match previous_score {
            Some(s) if s < threshold => self.previous_best = self.previous_best.max(s),
            _ => self.anchor = Some((good, previous_score)),
        }
    }

    /// What comes after a press of `finger` of `quality`, once it is counted.
    fn after_press(&mut self, finger: Finger, quality: QualityReport) -> Step {
        match self.settle(finger) {
            Some(Ok(enrolled)) => {
                self.enrolled.push(enrolled);
                self.current += 1;
                self.presses = 0;
                self.poor = 0;
                self.good.clear();
                self.anchor = None;
                self.module_best = 0;
                self.previous_best = 0;
                self.failed.clear();
                if self.current == self.fingers.len() {
                    let outcome = EnrolOutcome::Enrolled(std::mem::take(&mut self.enrolled));
                    self.outcome = Some(outcome.clone());
                    Step::Done(outcome)
                } else {
                    Step::NextFinger(self.fingers[self.current])
                }
            }
            Some(Err(reason)) => {
                let outcome = EnrolOutcome::Failed(EnrolFailure { finger, reason });
                self.outcome = Some(outcome.clone());
                Step::Done(outcome)
            }
            None => Step::PressAgain {
                finger,
                presses: self.presses,
                quality,
            },
        }
    }

    /// Whether the current finger is taken (`Some(Ok)`), failed (`Some(Err)`) or needs another
    /// press (`None`).
    fn settle(&self, finger: Finger) -> Option<Result<EnrolledFinger, FailureReason>> {
        if self.config.second_press == SecondPress::Module {
            return self.settle_on_module(finger);
        }
        let threshold = self.config.matching.threshold;
        let last_press = self.good.len() >= usize::from(self.config.presses_per_finger)
            || self.poor >= self.config.poor_presses_per_finger;
        // Best score of each passing press against the others.
        let mut consistency = vec![0u8; self.good.len()];
        for i in 0..self.good.len() {
            for j in i + 1..self.good.len() {
                let s = compare(
                    &self.good[i].template.minutiae,
                    &self.good[j].template.minutiae,
                    &self.config.matching,
                )
                .score;
                consistency[i] = consistency[i].max(s);
                consistency[j] = consistency[j].max(s);
            }
        }
        let mut consistent: Vec<usize> = (0..self.good.len())
            .filter(|&i| consistency[i] >= threshold)
            .collect();
        if consistent.is_empty() {
            if !last_press {
                return None;
            }
            if self.good.len() < 2 {
                return Some(Err(FailureReason::Quality {
                    reasons: most_frequent(&self.failed),
                }));
            }
            let best_score = consistency.iter().copied().max().unwrap_or(0);
            return Some(Err(FailureReason::Inconsistent {
                best_score,
                threshold,
            }));
        }
        // Best first: quality, then consistency.
        consistent.sort_by(|&a, &b| {
            (self.good[b].quality, consistency[b]).cmp(&(self.good[a].quality, consistency[a]))
        });
        let previous = self
            .previous
            .iter()
            .find(|t| t.position == finger.iso_position());
        let mut previous_best = 0u8;
        for &i in &consistent {
            let press = &self.good[i];
            let previous_score = match previous {
                None => None,
                Some(old) => {
                    let s = compare(
                        &press.template.minutiae,
                        &old.minutiae,
                        &self.config.matching,
                    )
                    .score;
                    previous_best = previous_best.max(s);
                    if s < threshold {
                        continue;
                    }
                    Some(s)
                }
            };
            return Some(Ok(EnrolledFinger {
                finger,
                template: press.template.clone(),
                image: press.image.clone(),
                quality: press.quality,
                consistency: consistency[i],
                module_score: None,
                previous_score,
            }));
        }
        if last_press {
            Some(Err(FailureReason::PreviousMismatch {
                best_score: previous_best,
                threshold,
            }))
        } else {
            None
        }
    }
}

impl Enrolment {
    /// [`settle`](Self::settle) for [`SecondPress::Module`].
    fn settle_on_module(&self, finger: Finger) -> Option<Result<EnrolledFinger, FailureReason>> {
        if let Some((press, previous_score)) = &self.anchor {
            if self.module_best >= self.config.module_threshold {
                return Some(Ok(EnrolledFinger {
                    finger,
                    template: press.template.clone(),
                    image: press.image.clone(),
                    quality: press.quality,
                    consistency: 0,
                    module_score: Some(self.module_best),
                    previous_score: *previous_score,
                }));
            }
        }
        let passing = self.presses - self.poor;
        if self.poor >= self.config.poor_presses_per_finger {
            return Some(Err(FailureReason::Quality {
                reasons: most_frequent(&self.failed),
            }));
        }
        if passing < self.config.presses_per_finger {
            return None;
        }
        Some(Err(if self.anchor.is_some() {
            FailureReason::ModuleMismatch {
                best_score: self.module_best,
                threshold: self.config.module_threshold,
            }
        } else {
            FailureReason::PreviousMismatch {
                best_score: self.previous_best,
                threshold: self.config.matching.threshold,
            }
        }))
    }
}

/// The report of a press the module judged: it measures nothing, it only passes or refuses.
fn module_report(passed: bool, reasons: Vec<QualityReason>) -> QualityReport {
    QualityReport {
        score: 0,
        passed,
        reasons,
        metrics: QualityMetrics {
            contact_area: 0.0,
            ridge_area: 0.0,
            clarity: 0.0,
            contrast: 0.0,
            coherence: 0.0,
            offset: 0.0,
        },
    }
}

/// The distinct reasons, most frequent first (ties in a fixed order).
fn most_frequent(reasons: &[QualityReason]) -> Vec<QualityReason> {
    let mut counted: Vec<(usize, QualityReason)> = Vec::new();
    for &r in reasons {
        match counted.iter_mut().find(|(_, x)| *x == r) {
            Some((n, _)) => *n += 1,
            None => counted.push((1, r)),
        }
    }
    counted.sort_by(|a, b| b.0.cmp(&a.0).then((a.1 as u8).cmp(&(b.1 as u8))));
    counted.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fingers_are_the_index_fingers() {
        let e = Enrolment::new(EnrolConfig::default(), &[], Vec::new()).unwrap();
        assert_eq!(e.fingers(), [Finger::RightIndex, Finger::LeftIndex]);
        assert_eq!(e.finger(), Some(Finger::RightIndex));
    }

    #[test]
    fn substitutes_replace_missing_fingers_in_order() {
        let e = Enrolment::new(EnrolConfig::default(), &[Finger::RightIndex], Vec::new()).unwrap();
        assert_eq!(e.fingers(), [Finger::RightMiddle, Finger::LeftIndex]);
        let e = Enrolment::new(
            EnrolConfig::default(),
            &[Finger::RightIndex, Finger::LeftIndex, Finger::RightMiddle],
            Vec::new(),
        )
        .unwrap();
        assert_eq!(e.fingers(), [Finger::LeftMiddle, Finger::RightThumb]);
    }

    #[test]
    fn too_few_fingers_is_an_error() {
        let config = EnrolConfig {
            substitutes: vec![],
            ..EnrolConfig::default()
        };
        assert_eq!(
            Enrolment::new(config, &[Finger::LeftIndex], Vec::new()).unwrap_err(),
            EnrolError::NotEnoughFingers { available: 1 }
        );
        let config = EnrolConfig {
            presses_per_finger: 0,
            ..EnrolConfig::default()
        };
        assert_eq!(
            Enrolment::new(config, &[], Vec::new()).unwrap_err(),
            EnrolError::NoPresses
        );
    }

    fn sensor_press(finger: u64, k: u32, kind: crate::PressKind) -> GreyImage {
        crate::MasterFinger::generate(finger)
            .impression(k, kind)
            .quantised_4bit()
    }

    // Issue 15: a smudge between two passing presses used up the finger's three presses.
    #[test]
    fn poor_presses_do_not_use_up_the_passing_ones() {
        use crate::PressKind::{Good, Smudged};
        let upload = EnrolConfig {
            second_press: SecondPress::Upload,
            ..EnrolConfig::default()
        };
        let mut e = Enrolment::new(upload, &[], Vec::new()).unwrap();
        let steps: Vec<Step> = [(0, Smudged), (1, Good), (2, Smudged)]
            .into_iter()
            .map(|(k, kind)| e.press(&sensor_press(21, k, kind)))
            .collect();
        assert!(
            steps.iter().all(|s| matches!(s, Step::PressAgain { .. })),
            "{steps:?}"
        );
        assert_eq!(
            e.press(&sensor_press(21, 3, Good)),
            Step::NextFinger(Finger::LeftIndex)
        );
        // A press the module refused counts as a poor one.
        let mut e = Enrolment::new(EnrolConfig::default(), &[], Vec::new()).unwrap();
        assert!(matches!(
            e.poor_press(QualityReason::Smudged),
            Step::PressAgain { presses: 1, .. }
        ));
        e.poor_press(QualityReason::Smudged);
        assert!(matches!(
            e.poor_press(QualityReason::Smudged),
            Step::Done(EnrolOutcome::Failed(_))
        ));
        // The third poor press of a finger ends it.
        let mut e = Enrolment::new(EnrolConfig::default(), &[], Vec::new()).unwrap();
        let last = [0, 1, 2]
            .map(|k| e.press(&sensor_press(22, k, Smudged)))
            .into_iter()
            .last();
        assert!(matches!(last, Some(Step::Done(EnrolOutcome::Failed(_)))));
    }

    // Issue 15 item 9: only the first passing press of a finger is uploaded; the module's Match
    // of the next press with it enrols the finger.
    #[test]
    fn the_module_confirms_the_second_press() {
        use crate::PressKind::Good;
        let mut e = Enrolment::new(EnrolConfig::default(), &[], Vec::new()).unwrap();
        assert_eq!(e.press_mode(), PressMode::Upload);
        assert!(matches!(
            e.press(&sensor_press(21, 0, Good)),
            Step::PressAgain { presses: 1, ref quality, .. } if quality.passed
        ));
        assert_eq!(e.press_mode(), PressMode::Confirm);
        assert_eq!(e.module_match(120), Step::NextFinger(Finger::LeftIndex));
        // The next finger starts with an upload again.
        assert_eq!(e.press_mode(), PressMode::Upload);
        e.press(&sensor_press(22, 0, Good));
        // Exactly at the threshold confirms.
        let Step::Done(EnrolOutcome::Enrolled(fingers)) = e.module_match(50) else {
            panic!("not enrolled");
        };
        assert_eq!(fingers.len(), 2);
        assert_eq!(fingers[0].finger, Finger::RightIndex);
        assert_eq!(fingers[0].module_score, Some(120));
        assert_eq!(fingers[1].module_score, Some(50));
        // The kept press is the uploaded one.
        assert_eq!(fingers[1].image, sensor_press(22, 0, Good));
        assert_eq!(
            fingers[1].template.position,
            Finger::LeftIndex.iso_position()
        );
    }

    #[test]
    fn a_press_the_module_does_not_match_counts_and_three_fail_the_finger() {
        use crate::PressKind::Good;
        let mut e = Enrolment::new(EnrolConfig::default(), &[], Vec::new()).unwrap();
        e.press(&sensor_press(21, 0, Good));
        // Under the threshold: asked again, still compared with the uploaded press.
        assert!(matches!(
            e.module_match(49),
            Step::PressAgain { presses: 2, ref quality, .. } if quality.passed
        ));
        assert_eq!(e.press_mode(), PressMode::Confirm);
        // A wrong finger then the right one: enrolled (as with uploads, a third press may match).
        let mut again = e.clone();
        assert_eq!(again.module_match(80), Step::NextFinger(Finger::LeftIndex));
        // Three passing presses without a match: referred, with the module's best score.
        let Step::Done(EnrolOutcome::Failed(failure)) = e.module_match(10) else {
            panic!("not failed");
        };
        assert_eq!(
            failure.reason,
            FailureReason::ModuleMismatch {
                best_score: 49,
                threshold: 50
            }
        );
        assert_eq!(
            failure.referral(),
            "right index finger: the fingerprint module matched no press with the first (best score 49, threshold 50)"
        );
        assert_eq!(failure.session_failure(), FingerprintFailure::PoorQuality);
    }

    #[test]
    fn a_poor_second_press_is_asked_again_and_the_poor_limit_still_holds() {
        use crate::PressKind::Good;
        let mut e = Enrolment::new(EnrolConfig::default(), &[], Vec::new()).unwrap();
        e.press(&sensor_press(21, 0, Good));
        // Img2Tz `06` on the module: a poor press, with its reason; the uploaded press is kept.
        assert!(matches!(
            e.poor_press(QualityReason::Smudged),
            Step::PressAgain { ref quality, .. }
                if !quality.passed && quality.reasons == [QualityReason::Smudged]
        ));
        assert_eq!(e.press_mode(), PressMode::Confirm);
        let mut then_good = e.clone();
        assert_eq!(
            then_good.module_match(100),
            Step::NextFinger(Finger::LeftIndex)
        );
        e.poor_press(QualityReason::Partial);
        let Step::Done(EnrolOutcome::Failed(failure)) = e.poor_press(QualityReason::Smudged) else {
            panic!("not failed");
        };
        assert_eq!(
            failure.reason,
            FailureReason::Quality {
                reasons: vec![QualityReason::Smudged, QualityReason::Partial]
            }
        );
    }

    #[test]
    fn a_first_press_unlike_the_last_application_is_not_confirmed() {
        use crate::PressKind::Good;
        let old = Template {
            position: Finger::RightIndex.iso_position(),
            ..template_of(&sensor_press(21, 1, Good))
        };
        // Another finger's first press: the next press is uploaded again, not confirmed.
        let mut e = Enrolment::new(EnrolConfig::default(), &[], vec![old]).unwrap();
        e.press(&sensor_press(99, 0, Good));
        assert_eq!(e.press_mode(), PressMode::Upload);
        e.press(&sensor_press(21, 0, Good));
        assert_eq!(e.press_mode(), PressMode::Confirm);
        assert_eq!(e.module_match(100), Step::NextFinger(Finger::LeftIndex));
    }

    fn template_of(image: &GreyImage) -> Template {
        Template {
            width: image.width() as u16,
            height: image.height() as u16,
            position: 0,
            quality: 80,
            minutiae: extract(image),
        }
    }

    #[test]
    fn referral_names_the_finger_and_the_failure() {
        let f = EnrolFailure {
            finger: Finger::LeftIndex,
            reason: FailureReason::Quality {
                reasons: vec![QualityReason::Smudged, QualityReason::Blank],
            },
        };
        assert_eq!(
            f.referral(),
            "left index finger: fewer than two presses passed quality (smudged, blank)"
        );
        assert_eq!(f.prompt(), FINGERPRINT_FAILED);
        assert_eq!(f.session_failure(), FingerprintFailure::PoorQuality);
        let blank = EnrolFailure {
            finger: Finger::RightIndex,
            reason: FailureReason::Quality {
                reasons: vec![QualityReason::Blank],
            },
        };
        assert_eq!(blank.session_failure(), FingerprintFailure::NoFinger);
    }
}

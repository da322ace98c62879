//! Turning what the devices give into what the session needs: a card into the domain's card, a
//! camera frame into the ID photo, presses into two enrolled fingers.

use std::sync::Arc;

use biometrics::quality::QualityReason;
use biometrics::{EnrolConfig, EnrolOutcome, Enrolment, GreyImage, PressMode, Step};
use devices::protocol::card_reader::text::{CardDate, ValidUntil};
use devices::protocol::card_reader::CardData;
use devices::FingerprintScanner;
use domain::id::CitizenId;
use domain::prompts::Prompt;
use domain::rules::{CardExpiry, CardOnReader};
use domain::session::{Finger, FingerPress, FingerprintFailure, PressProblem};
use face::liveness::check_picture;
use face::{
    crop_id_photo, CropConfig, DecodeLimits, FaceEngine, LivenessEngine, Picture, QualityConfig,
};
use time::Date;

use crate::center_api::{FingerQuality, LiveScore};

/// The card on the reader in domain terms, with the name printed on it; `None` when its text
/// block does not hold a valid number or dates (the session treats it as unreadable).
pub fn card_on_reader(card: &CardData, today: Date) -> Option<(CardOnReader, String)> {
    let text = &card.text;
    let id = CitizenId::parse(&text.id_number, today).ok()?;
    let valid_from = date(text.valid_from)?;
    let valid_until = match text.valid_until {
        ValidUntil::Date(d) => CardExpiry::On(date(d)?),
        ValidUntil::LongTerm => CardExpiry::LongTerm,
    };
    Some((
        CardOnReader {
            id,
            valid_from,
            valid_until,
        },
        text.name.clone(),
    ))
}

fn date(d: CardDate) -> Option<Date> {
    let month = time::Month::try_from(d.month()).ok()?;
    Date::from_calendar_date(i32::from(d.year()), month, d.day()).ok()
}

/// Why a camera frame gave no ID photo.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRefused {
    /// The stable reason (`no_face`, `blurred`, …).
    pub reason: String,
    /// What the citizen reads.
    pub prompt: Option<Prompt>,
}

/// The ID photo of a camera frame, with the liveness score of the whole frame.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePhoto {
    /// The ID photo JPEG.
    pub jpeg: Vec<u8>,
    /// The full frame's liveness; `None` without a liveness engine or when it could not score.
    pub liveness: Option<LiveScore>,
}

/// Crops a camera frame to the ID photo and checks its quality.
pub trait PhotoCropper: Send + Sync {
    /// The ID photo JPEG, or why the frame cannot give one.
    fn crop(&self, frame_jpeg: &[u8]) -> Result<Vec<u8>, PhotoRefused>;

    /// The ID photo with the liveness of the full frame (issue 20): scored on the frame, not the
    /// crop, because the models need the paper edge or screen bezel around the face. A cropper
    /// without a liveness engine gives no score.
    fn capture(&self, frame_jpeg: &[u8]) -> Result<LivePhoto, PhotoRefused> {
        self.crop(frame_jpeg).map(|jpeg| LivePhoto {
            jpeg,
            liveness: None,
        })
    }
}

/// The face engine's cropper (docs/domain.md section 5), with the liveness engine beside it.
pub struct FaceCropper {
    engine: Arc<dyn FaceEngine>,
    liveness: Option<Arc<dyn LivenessEngine>>,
    crop: CropConfig,
    quality: QualityConfig,
}

impl FaceCropper {
    /// A cropper over a loaded engine with the default placement and quality rules.
    pub fn new(engine: Arc<dyn FaceEngine>) -> FaceCropper {
        FaceCropper {
            engine,
            liveness: None,
            crop: CropConfig::default(),
            quality: QualityConfig::default(),
        }
    }

    /// Also scores the liveness of each frame that gives an ID photo.
    pub fn with_liveness(mut self, liveness: Arc<dyn LivenessEngine>) -> FaceCropper {
        self.liveness = Some(liveness);
        self
    }

    fn crop_picture(&self, frame: &Picture) -> Result<Vec<u8>, PhotoRefused> {
        let photo =
            crop_id_photo(self.engine.as_ref(), frame, &self.crop, &self.quality).map_err(|e| {
                PhotoRefused {
                    reason: e.to_string(),
                    prompt: None,
                }
            })?;
        match photo.report.problems.first() {
            None => Ok(photo.jpeg),
            Some(problem) => {
                let (zh, en) = problem.reason.prompt();
                Err(PhotoRefused {
                    reason: problem.reason.code().to_owned(),
                    prompt: Some(Prompt { zh, en }),
                })
            }
        }
    }
}

fn decode_frame(frame_jpeg: &[u8]) -> Result<Picture, PhotoRefused> {
    Picture::from_bytes("camera frame", frame_jpeg, &DecodeLimits::default()).map_err(|e| {
        PhotoRefused {
            reason: "not_an_image".into(),
            prompt: None,
        }
        .with_log(&e)
    })
}

impl PhotoCropper for FaceCropper {
    fn crop(&self, frame_jpeg: &[u8]) -> Result<Vec<u8>, PhotoRefused> {
        self.crop_picture(&decode_frame(frame_jpeg)?)
    }

    fn capture(&self, frame_jpeg: &[u8]) -> Result<LivePhoto, PhotoRefused> {
        let frame = decode_frame(frame_jpeg)?;
        let jpeg = self.crop_picture(&frame)?;
        let liveness = self.liveness.as_ref().and_then(|models| {
            match check_picture(self.engine.as_ref(), models.as_ref(), &frame) {
                Ok(verdict) => Some(LiveScore {
                    score: f64::from(verdict.score),
                    engine: format!("{} ({})", models.name(), models.version()),
                }),
                // The center scores the crop instead; the session goes on without a score.
                Err(error) => {
                    tracing::warn!(%error, "liveness not scored");
                    None
                }
            }
        });
        Ok(LivePhoto { jpeg, liveness })
    }
}

impl PhotoRefused {
    fn with_log(self, error: &dyn std::fmt::Display) -> PhotoRefused {
        tracing::warn!(%error, "camera frame refused");
        self
    }
}

/// Two fingers enrolled: templates and images for the application, qualities for the record.
#[derive(Debug, Clone)]
pub struct Fingers {
    /// ISO/IEC 19794-2 templates, in order.
    pub templates: Vec<Vec<u8>>,
    /// PNG images, in order.
    pub images: Vec<Vec<u8>>,
    /// Position and quality of each.
    pub qualities: Vec<FingerQuality>,
}

/// Why enrolment gave up.
#[derive(Debug, Clone, PartialEq)]
pub struct FingersFailed {
    /// For the session.
    pub failure: FingerprintFailure,
    /// Presses tried.
    pub attempts: u8,
    /// Which finger and what failed, for the window.
    pub detail: String,
}

/// After a poor press, the time the citizen has to read why and lift the finger before the
/// scanner looks again (a finger left on the glass would otherwise be captured, poorly, again):
/// the default of the agent's `AgentPolicy::lift_pause`.
pub const LIFT_PAUSE: std::time::Duration = std::time::Duration::from_millis(1500);

/// Why a press was poor, in the session's terms: what the citizen can do better.
pub fn press_problem(reason: QualityReason) -> PressProblem {
    match reason {
        QualityReason::Smudged => PressProblem::Smudged,
        QualityReason::Partial | QualityReason::TooLittleRidgeArea => PressProblem::Partial,
        QualityReason::Blank | QualityReason::LowContrast => PressProblem::TooLight,
    }
}

/// The module's own refusal of a press the citizen can redo: `06` image too messy (a smudged
/// finger) and `07` too few feature points (a partial or light press). Anything else is the
/// device's fault.
pub fn module_poor_press(error: &devices::FingerprintError) -> Option<QualityReason> {
    match error.code()?.code() {
        0x06 => Some(QualityReason::Smudged),
        0x07 => Some(QualityReason::Partial),
        _ => None,
    }
}

/// Enrols two fingers from the scanner; `on_press(number, finger, press)` is told which finger
/// (1 or 2) the scanner waits for before each press, and how each press went, so the session
/// can count poor presses and refer when they are used up. By default only a finger's first
/// passing press is uploaded; the next ones are matched with it on the module
/// ([`biometrics::SecondPress`]). After a poor press it waits `lift_pause` for the finger to lift.
pub async fn enrol_fingers(
    scanner: &dyn FingerprintScanner,
    config: &EnrolConfig,
    lift_pause: std::time::Duration,
    mut on_press: impl FnMut(u8, Finger, FingerPress),
) -> Result<Fingers, FingersFailed> {
    let mut enrolment =
        Enrolment::new(config.clone(), &[], Vec::new()).map_err(|e| FingersFailed {
            failure: FingerprintFailure::DeviceFault,
            attempts: 0,
            detail: e.to_string(),
        })?;
    let mut attempts: u8 = 0;
    let mut no_finger_in_a_row = 0;
    while let Some(finger) = enrolment.finger() {
        let number = if enrolment.fingers()[0] == finger {
            1
        } else {
            2
        };
        on_press(number, finger, FingerPress::Asked);
        let captured = match enrolment.press_mode() {
            PressMode::Upload => scanner.capture().await.map(Captured::Image),
            PressMode::Confirm => scanner.confirm().await.map(Captured::Matched),
        };
        let image = match captured {
            Ok(Captured::Image(image)) => image,
            Ok(Captured::Matched(matched)) => {
                no_finger_in_a_row = 0;
                attempts = attempts.saturating_add(1);
                tracing::info!(
                    finger = finger.prompt().en,
                    score = matched.score,
                    "module match"
                );
                let step = enrolment.module_match(matched.score);
                if !matches!(step, Step::Done(EnrolOutcome::Failed(_))) {
                    on_press(number, finger, FingerPress::Passed);
                }
                if let Step::Done(_) = step {
                    break;
                }
                continue;
            }
            Err(e) if module_poor_press(&e).is_some() => {
                let reason = module_poor_press(&e).unwrap_or(QualityReason::Smudged);
                no_finger_in_a_row = 0;
                attempts = attempts.saturating_add(1);
                on_press(number, finger, FingerPress::Poor(press_problem(reason)));
                if let Step::Done(_) = enrolment.poor_press(reason) {
                    break;
                }
                tokio::time::sleep(lift_pause).await;
                continue;
            }
            Err(devices::FingerprintError::NoFinger) => {
                no_finger_in_a_row += 1;
                if no_finger_in_a_row >= 3 {
                    return Err(FingersFailed {
                        failure: FingerprintFailure::NoFinger,
                        attempts,
                        detail: format!("{}: no finger placed", finger.prompt().en),
                    });
                }
                continue;
            }
            Err(e) => {
                return Err(FingersFailed {
                    failure: FingerprintFailure::DeviceFault,
                    attempts,
                    detail: format!("{}: scanner: {e}", finger.prompt().en),
                })
            }
        };
        no_finger_in_a_row = 0;
        attempts = attempts.saturating_add(1);
        let grey = GreyImage::sensor(image.pixels().to_vec()).map_err(|e| FingersFailed {
            failure: FingerprintFailure::DeviceFault,
            attempts,
            detail: e.to_string(),
        })?;
        let step = enrolment.press(&grey);
        match &step {
            Step::PressAgain { quality, .. } if !quality.passed => {
                let reason = quality
                    .reasons
                    .first()
                    .copied()
                    .unwrap_or(QualityReason::Smudged);
                on_press(number, finger, FingerPress::Poor(press_problem(reason)));
                tokio::time::sleep(lift_pause).await;
            }
            Step::Done(EnrolOutcome::Failed(_)) => {}
            _ => on_press(number, finger, FingerPress::Passed),
        }
        if let Step::Done(_) = step {
            break;
        }
    }
    match enrolment.outcome() {
        Some(EnrolOutcome::Enrolled(fingers)) => Ok(Fingers {
            templates: fingers.iter().map(|f| f.template.to_bytes()).collect(),
            images: fingers.iter().map(|f| f.image.to_png()).collect(),
            qualities: fingers
                .iter()
                .map(|f| FingerQuality {
                    position: f.finger,
                    quality: f.quality,
                })
                .collect(),
        }),
        Some(EnrolOutcome::Failed(failure)) => Err(FingersFailed {
            failure: failure.session_failure(),
            attempts,
            detail: failure.referral(),
        }),
        None => Err(FingersFailed {
            failure: FingerprintFailure::DeviceFault,
            attempts,
            detail: "enrolment ended without an outcome".into(),
        }),
    }
}

/// What a press gave: the uploaded image, or the module's match with the uploaded one.
enum Captured {
    Image(devices::protocol::fingerprint::FingerImage),
    Matched(devices::ModuleMatch),
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use biometrics::{MasterFinger, PressKind, SecondPress};
    use devices::protocol::fingerprint::{Confirmation, FingerImage, Instruction};
    use devices::{DeviceHealth, FingerprintError, ModuleMatch};
    use domain::session::{FingerPress, FingerprintFailure, PressProblem};

    use super::*;

    /// What the scripted scanner answers, in order; asking the wrong way is a test failure.
    enum Answer {
        Capture(Result<FingerImage, FingerprintError>),
        Confirm(Result<ModuleMatch, FingerprintError>),
    }

    /// A test double of the scanner: plays a script and counts uploads.
    struct Scripted {
        script: Mutex<VecDeque<Answer>>,
        uploads: Mutex<u32>,
    }

    impl Scripted {
        fn new(script: Vec<Answer>) -> Scripted {
            Scripted {
                script: Mutex::new(script.into()),
                uploads: Mutex::new(0),
            }
        }
        fn next(&self) -> Answer {
            self.script
                .lock()
                .unwrap()
                .pop_front()
                .expect("a press after the script's end")
        }
    }

    #[async_trait]
    impl FingerprintScanner for Scripted {
        async fn capture(&self) -> Result<FingerImage, FingerprintError> {
            *self.uploads.lock().unwrap() += 1;
            match self.next() {
                Answer::Capture(a) => a,
                Answer::Confirm(_) => panic!("captured (uploaded) where the script confirms"),
            }
        }
        async fn confirm(&self) -> Result<ModuleMatch, FingerprintError> {
            match self.next() {
                Answer::Confirm(a) => a,
                Answer::Capture(_) => panic!("confirmed where the script uploads"),
            }
        }
        async fn check(&self) -> DeviceHealth {
            DeviceHealth::Ready
        }
        fn health(&self) -> DeviceHealth {
            DeviceHealth::Ready
        }
    }

    fn good(finger: u64, k: u32) -> Answer {
        let grey = MasterFinger::generate(finger)
            .impression(k, PressKind::Good)
            .quantised_4bit();
        Answer::Capture(Ok(FingerImage::from_pixels(grey.into_pixels()).unwrap()))
    }

    fn matched(score: u16) -> Answer {
        Answer::Confirm(Ok(ModuleMatch {
            score,
            matched: score >= 50,
        }))
    }

    // Issue 15 item 9: one upload a finger; a smudged second press is asked again with its reason,
    // a press the module does not match is asked again, the next match enrols.
    #[tokio::test]
    async fn one_upload_a_finger_and_the_module_confirms_the_second_press() {
        let scanner = Scripted::new(vec![
            good(21, 0),
            Answer::Confirm(Err(FingerprintError::Failed {
                instruction: Instruction::Img2Tz { buffer: 2 },
                code: Confirmation::TooMessy,
            })),
            matched(100),
            good(22, 0),
            matched(0),
            matched(100),
        ]);
        let mut presses = Vec::new();
        let fingers = enrol_fingers(
            &scanner,
            &EnrolConfig::default(),
            LIFT_PAUSE,
            |n, _, press| presses.push((n, press)),
        )
        .await
        .expect("enrolled");
        assert_eq!(*scanner.uploads.lock().unwrap(), 2);
        assert_eq!(fingers.templates.len(), 2);
        assert!(scanner.script.lock().unwrap().is_empty());
        let told: Vec<_> = presses
            .iter()
            .filter(|(_, p)| *p != FingerPress::Asked)
            .collect();
        assert_eq!(
            told,
            [
                &(1, FingerPress::Passed),
                &(1, FingerPress::Poor(PressProblem::Smudged)),
                &(1, FingerPress::Passed),
                &(2, FingerPress::Passed),
                &(2, FingerPress::Passed),
                &(2, FingerPress::Passed),
            ]
        );
    }

    #[tokio::test]
    async fn presses_the_module_never_matches_are_referred() {
        let scanner = Scripted::new(vec![good(21, 0), matched(10), matched(3)]);
        let failed = enrol_fingers(&scanner, &EnrolConfig::default(), LIFT_PAUSE, |_, _, _| {})
            .await
            .expect_err("referred");
        assert_eq!(failed.failure, FingerprintFailure::PoorQuality);
        assert_eq!(failed.attempts, 3);
        assert!(
            failed.detail.contains("matched no press with the first"),
            "{}",
            failed.detail
        );
    }

    #[tokio::test]
    async fn the_old_rule_uploads_every_press() {
        let scanner = Scripted::new(vec![good(21, 0), good(21, 1), good(22, 0), good(22, 1)]);
        let config = EnrolConfig {
            second_press: SecondPress::Upload,
            ..EnrolConfig::default()
        };
        enrol_fingers(&scanner, &config, LIFT_PAUSE, |_, _, _| {})
            .await
            .expect("enrolled");
        assert_eq!(*scanner.uploads.lock().unwrap(), 4);
    }
}

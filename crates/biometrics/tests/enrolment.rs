//! The enrolment flow on the presses the simulator serves (4-bit images from the generator):
//! success on good presses, the step-9 failure after repeated bad ones.

use biometrics::enrol::FailureReason;
use biometrics::{
    EnrolConfig, EnrolOutcome, Enrolment, Finger, GreyImage, MasterFinger, PressKind,
    QualityReason, Step, Template,
};
use domain::prompts::FINGERPRINT_FAILED;

/// A press as the R30x module delivers it.
/// These tests take the full-upload rule (every press uploaded and matched here); the module's
/// confirmation of the second press is tested in `enrol.rs`.
fn upload() -> EnrolConfig {
    EnrolConfig {
        second_press: biometrics::SecondPress::Upload,
        ..EnrolConfig::default()
    }
}

fn press(finger: u64, impression: u32, kind: PressKind) -> GreyImage {
    MasterFinger::generate(finger)
        .impression(impression, kind)
        .quantised_4bit()
}

fn run(enrolment: &mut Enrolment, presses: &[GreyImage]) -> Vec<Step> {
    presses.iter().map(|p| enrolment.press(p)).collect()
}

fn failure(step: &Step) -> &biometrics::EnrolFailure {
    match step {
        Step::Done(EnrolOutcome::Failed(f)) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn two_good_presses_per_finger_enrol_both_index_fingers() {
    let mut e = Enrolment::new(upload(), &[], Vec::new()).unwrap();
    let steps = run(
        &mut e,
        &[
            press(10, 0, PressKind::Good),
            press(10, 1, PressKind::Good),
            press(11, 0, PressKind::Good),
        ],
    );
    assert!(matches!(
        steps[0],
        Step::PressAgain {
            finger: Finger::RightIndex,
            presses: 1,
            ..
        }
    ));
    assert_eq!(steps[1], Step::NextFinger(Finger::LeftIndex));
    assert!(matches!(
        steps[2],
        Step::PressAgain {
            finger: Finger::LeftIndex,
            ..
        }
    ));
    let last = e.press(&press(11, 1, PressKind::Good));
    let Step::Done(EnrolOutcome::Enrolled(fingers)) = last else {
        panic!("{last:?}")
    };
    assert_eq!(fingers.len(), 2);
    assert_eq!(
        (fingers[0].finger, fingers[1].finger),
        (Finger::RightIndex, Finger::LeftIndex)
    );
    assert_eq!(fingers[0].template.position, 2);
    assert_eq!(fingers[1].template.position, 7);
    for f in &fingers {
        assert!(f.consistency >= EnrolConfig::default().matching.threshold);
        assert_eq!(
            Template::parse(&f.template.to_bytes()).unwrap(),
            f.template.quantised()
        );
    }
    assert_eq!(e.finger(), None);
}

#[test]
fn a_bad_press_among_three_is_set_aside() {
    let mut e = Enrolment::new(upload(), &[], Vec::new()).unwrap();
    let steps = run(
        &mut e,
        &[
            press(12, 0, PressKind::Smudged),
            press(12, 1, PressKind::Good),
            press(12, 2, PressKind::Good),
        ],
    );
    let Step::PressAgain { quality, .. } = &steps[0] else {
        panic!("{:?}", steps[0])
    };
    assert_eq!(quality.reasons, vec![QualityReason::Smudged]);
    assert_eq!(steps[2], Step::NextFinger(Finger::LeftIndex));
}

#[test]
fn three_smudged_presses_fail_with_the_step_9_prompt() {
    let mut e = Enrolment::new(upload(), &[], Vec::new()).unwrap();
    let steps = run(&mut e, &[0, 1, 2].map(|k| press(13, k, PressKind::Smudged)));
    assert!(matches!(steps[1], Step::PressAgain { presses: 2, .. }));
    let f = failure(&steps[2]);
    assert_eq!(f.finger, Finger::RightIndex);
    assert_eq!(f.prompt(), FINGERPRINT_FAILED);
    assert_eq!(f.prompt().zh, "指纹信息采集失败，请到户政窗口办理。");
    assert_eq!(
        f.referral(),
        "right index finger: fewer than two presses passed quality (smudged)"
    );
    assert_eq!(
        f.session_failure(),
        domain::session::FingerprintFailure::PoorQuality
    );
    // Over: further presses change nothing.
    assert_eq!(e.press(&press(13, 3, PressKind::Good)), steps[2]);
}

#[test]
fn blank_and_partial_presses_on_the_second_finger_fail_it() {
    let mut e = Enrolment::new(upload(), &[], Vec::new()).unwrap();
    run(
        &mut e,
        &[press(14, 0, PressKind::Good), press(14, 1, PressKind::Good)],
    );
    let steps = run(
        &mut e,
        &[
            press(15, 0, PressKind::Blank),
            press(15, 1, PressKind::Partial),
            press(15, 2, PressKind::Blank),
        ],
    );
    let f = failure(&steps[2]);
    assert_eq!(f.finger, Finger::LeftIndex);
    assert_eq!(
        f.reason,
        FailureReason::Quality {
            reasons: vec![QualityReason::Blank, QualityReason::Partial]
        }
    );
    assert_eq!(
        f.referral(),
        "left index finger: fewer than two presses passed quality (blank, partial)"
    );
}

#[test]
fn presses_of_different_fingers_fail_as_inconsistent() {
    let mut e = Enrolment::new(upload(), &[], Vec::new()).unwrap();
    let steps = run(
        &mut e,
        &[
            press(16, 0, PressKind::Good),
            press(17, 0, PressKind::Good),
            press(18, 0, PressKind::Good),
        ],
    );
    let f = failure(&steps[2]);
    assert!(
        matches!(f.reason, FailureReason::Inconsistent { .. }),
        "{f:?}"
    );
    assert!(f
        .referral()
        .starts_with("right index finger: the presses do not match each other"));
}

fn previous(finger: u64, position: Finger) -> Template {
    let image = press(finger, 9, PressKind::Good);
    Template {
        width: 256,
        height: 288,
        position: position.iso_position(),
        quality: 80,
        minutiae: biometrics::extract(&image),
    }
    .quantised()
}

#[test]
fn the_last_applications_prints_are_checked() {
    let old = vec![
        previous(20, Finger::RightIndex),
        previous(21, Finger::LeftIndex),
    ];
    let mut e = Enrolment::new(upload(), &[], old.clone()).unwrap();
    run(
        &mut e,
        &[press(20, 0, PressKind::Good), press(20, 1, PressKind::Good)],
    );
    let last = run(
        &mut e,
        &[press(21, 0, PressKind::Good), press(21, 1, PressKind::Good)],
    );
    let Step::Done(EnrolOutcome::Enrolled(fingers)) = &last[1] else {
        panic!("{:?}", last[1])
    };
    assert!(fingers.iter().all(|f| f.previous_score.is_some()));

    // Someone else's finger: consistent with itself, but not the citizen's.
    let mut e = Enrolment::new(upload(), &[], old).unwrap();
    let steps = run(&mut e, &[0, 1, 2].map(|k| press(22, k, PressKind::Good)));
    assert!(matches!(steps[1], Step::PressAgain { .. }));
    let f = failure(&steps[2]);
    assert!(
        matches!(f.reason, FailureReason::PreviousMismatch { .. }),
        "{f:?}"
    );
    assert!(f
        .referral()
        .contains("does not match the print of the last application"));
}

#[test]
fn a_substitute_is_taken_for_an_injured_finger() {
    let mut e = Enrolment::new(upload(), &[Finger::LeftIndex], Vec::new()).unwrap();
    assert_eq!(e.fingers(), [Finger::RightIndex, Finger::RightMiddle]);
    run(
        &mut e,
        &[press(30, 0, PressKind::Good), press(30, 1, PressKind::Good)],
    );
    assert_eq!(e.finger(), Some(Finger::RightMiddle));
}

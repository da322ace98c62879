//! Quality and templates of single presses: good presses pass, blank, partial and smudged ones
//! fail with the right reason, and the sensor's 4-bit transfer changes nothing that matters.

use biometrics::{
    assess, compare, extract, MasterFinger, MatchConfig, PressKind, QualityConfig, QualityReason,
    Template,
};

fn check(kind: PressKind, expected: Option<QualityReason>) {
    let config = QualityConfig::default();
    for finger in 0..8 {
        let master = MasterFinger::generate(1000 + finger);
        for impression in 0..2 {
            let report = assess(&master.impression(impression, kind), &config);
            match expected {
                None => assert!(
                    report.passed && report.reasons.is_empty(),
                    "finger {finger} impression {impression}: {report:?}"
                ),
                Some(reason) => {
                    assert!(
                        !report.passed,
                        "finger {finger} impression {impression}: {report:?}"
                    );
                    assert_eq!(report.reasons, vec![reason], "finger {finger}: {report:?}");
                    assert!(report.score < config.threshold, "{report:?}");
                }
            }
        }
    }
}

#[test]
fn good_presses_pass_quality() {
    check(PressKind::Good, None);
}

#[test]
fn blank_presses_fail_as_blank() {
    check(PressKind::Blank, Some(QualityReason::Blank));
}

#[test]
fn partial_presses_fail_as_partial() {
    check(PressKind::Partial, Some(QualityReason::Partial));
}

#[test]
fn smudged_presses_fail_as_smudged() {
    check(PressKind::Smudged, Some(QualityReason::Smudged));
}

#[test]
fn a_faint_press_fails_for_low_contrast() {
    // A good press washed out to an eighth of its contrast: ridges are there but faint.
    let image = MasterFinger::generate(5).impression(0, PressKind::Good);
    let pixels = image
        .pixels()
        .iter()
        .map(|&p| 230 - (230u8.saturating_sub(p)) / 8)
        .collect();
    let faint = biometrics::GreyImage::sensor(pixels).unwrap();
    let report = assess(&faint, &QualityConfig::default());
    assert!(!report.passed, "{report:?}");
    assert_eq!(
        report.reasons,
        vec![QualityReason::LowContrast],
        "{report:?}"
    );
}

#[test]
fn the_four_bit_transfer_keeps_quality_and_matching() {
    let master = MasterFinger::generate(77);
    let a = master.impression(0, PressKind::Good);
    let b = master.impression(1, PressKind::Good).quantised_4bit();
    assert!(assess(&b, &QualityConfig::default()).passed);
    let result = compare(&extract(&a), &extract(&b), &MatchConfig::default());
    assert!(result.matched, "{result:?}");
}

#[test]
fn templates_of_real_presses_round_trip_and_still_match() {
    let master = MasterFinger::generate(3);
    let a = master.impression(0, PressKind::Good);
    let template = Template {
        width: 256,
        height: 288,
        position: 2,
        quality: 90,
        minutiae: extract(&a),
    };
    assert!(
        template.minutiae.len() >= 12,
        "{} minutiae",
        template.minutiae.len()
    );
    let parsed = Template::parse(&template.to_bytes()).unwrap();
    assert_eq!(parsed, template.quantised());
    let b = extract(&master.impression(1, PressKind::Good));
    let direct = compare(&template.minutiae, &b, &MatchConfig::default());
    let through_iso = compare(&parsed.minutiae, &b, &MatchConfig::default());
    assert!(through_iso.matched, "{through_iso:?}");
    assert!(
        direct.score.abs_diff(through_iso.score) <= 5,
        "{direct:?} vs {through_iso:?}"
    );
}

//! The liveness engine: the models load right (a forward pass on a fixed input gives numbers
//! written here), the two sample frames of Silent-Face-Anti-Spoofing get their labels, and the
//! real test faces are live.

use std::path::PathBuf;
use std::sync::Arc;

use face::liveness::{check_picture, MiniFasNet, MiniFasNetEngine, INPUT_SIDE};
use face::{DecodeLimits, LivenessLabel, Picture};

use crate::common::{engine, picture};

fn liveness() -> Arc<MiniFasNetEngine> {
    MiniFasNetEngine::shared().unwrap_or_else(|e| {
        panic!("{e}\nthe liveness tests need the models: run scripts/setup/20-face.sh")
    })
}

/// A sample frame copied beside the models by scripts/setup/20-face.sh.
fn sample(name: &str) -> Picture {
    let path: PathBuf = face::paths::models_dir()
        .join(face::liveness::SAMPLES_DIR)
        .join(name);
    Picture::open(&path, &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("{e}: run scripts/setup/20-face.sh"))
}

fn score(picture: &Picture) -> face::Liveness {
    check_picture(engine().as_ref(), liveness().as_ref(), picture)
        .unwrap_or_else(|e| panic!("{}: {e}", picture.name()))
}

#[test]
fn a_forward_pass_on_a_fixed_input_gives_the_recorded_logits() {
    if !crate::common::models_and_faces(
        "face::liveness::a_forward_pass_on_a_fixed_input_gives_the_recorded_logits",
    ) {
        return;
    }
    // Computed once with this implementation (and the loader cross-checked by the README's
    // sample scores, below); a wrong tensor, fold or layer order changes them.
    let side = INPUT_SIDE as usize;
    let input = vec![128f32; 3 * side * side];
    for (file, expected) in [
        (
            face::liveness::MODEL_V2_27,
            [-1.892_884_3f32, 0.407_301_5, 1.485_556_1],
        ),
        (
            face::liveness::MODEL_V1SE_40,
            [-1.202_912_3f32, 0.891_976_8, 0.310_655_7],
        ),
    ] {
        let model = MiniFasNet::load(&face::paths::models_dir().join(file)).unwrap();
        let logits = model.logits(&input).unwrap();
        println!("{file}: {logits:?}");
        for (got, want) in logits.iter().zip(expected) {
            assert!(
                (got - want).abs() < 1e-3,
                "{file}: {logits:?}, expected {expected:?}"
            );
        }
    }
}

#[test]
fn the_sample_frames_get_their_labels() {
    if !crate::common::models_and_faces("face::liveness::the_sample_frames_get_their_labels") {
        return;
    }
    let live = score(&sample("live_sample.jpg"));
    println!("live_sample.jpg: {live:?}");
    assert_eq!(live.label, LivenessLabel::Live);
    assert!(live.live);
    // The README: 0.969 with dlib's HOG box.
    assert!((live.score - 0.969).abs() < 0.02, "{live:?}");

    let spoof = score(&sample("spoof_sample.jpg"));
    println!("spoof_sample.jpg: {spoof:?}");
    assert_eq!(spoof.label, LivenessLabel::Attack);
    assert!(!spoof.live);
    assert!((spoof.score - 0.115).abs() < 0.03, "{spoof:?}");
}

#[test]
fn the_real_test_faces_are_live() {
    if !crate::common::models_and_faces("face::liveness::the_real_test_faces_are_live") {
        return;
    }
    for (name, readme) in [
        ("obama.jpg", 0.999),
        ("biden.jpg", 0.997),
        ("obama2.jpg", 0.921),
        ("obama3.jpg", f32::NAN),
    ] {
        let verdict = score(&picture(name));
        println!("{name}: {verdict:?}");
        assert!(verdict.live, "{name}: {verdict:?}");
        if !readme.is_nan() {
            assert!(
                (verdict.score - readme).abs() < 0.03,
                "{name}: {verdict:?}, README {readme}"
            );
        }
    }
}

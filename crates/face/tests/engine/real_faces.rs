//! Same person ≥ 60, different people < 60, step 7's verification, the engine's contract.

use std::sync::Arc;

use face::{verify, DescribedFace, Detection, DlibEngine, FaceEngine, FastDetection, Thresholds};

use crate::common::{engine, picture};

/// The six test faces of `face_recognition` 1.3.0 (15 pairs).
const SIX_FACES: [&str; 6] = [
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "biden.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
];

fn similarity(a: &str, b: &str) -> f64 {
    engine()
        .compare_pictures(&picture(a), &picture(b))
        .unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
        .similarity
}

#[test]
fn same_person_scores_at_least_60() {
    if !crate::common::models_and_faces("face::real_faces::same_person_scores_at_least_60") {
        return;
    }
    for (a, b) in [
        ("obama.jpg", "obama2.jpg"),
        ("obama.jpg", "obama3.jpg"),
        ("obama2.jpg", "obama3.jpg"),
        ("obama.jpg", "obama_partial_face.jpg"),
        ("obama3.jpg", "obama_partial_face2.jpg"),
    ] {
        let score = similarity(a, b);
        assert!(score >= 60.0, "{a} vs {b}: {score:.1}");
    }
}

#[test]
fn different_people_score_below_60() {
    if !crate::common::models_and_faces("face::real_faces::different_people_score_below_60") {
        return;
    }
    for obama in [
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "obama_partial_face.jpg",
    ] {
        let score = similarity(obama, "biden.jpg");
        assert!(score < 60.0, "{obama} vs biden.jpg: {score:.1}");
    }
}

#[test]
fn distances_match_the_published_model_behaviour() {
    if !crate::common::models_and_faces(
        "face::real_faces::distances_match_the_published_model_behaviour",
    ) {
        return;
    }
    // Seen with Python face_recognition on the same images (HOG, no upsampling, 5 points):
    // obama–obama2 0.36, obama–biden 0.85. The decoders differ slightly, so a loose band.
    let engine = engine();
    let d = |a: &str, b: &str| {
        engine
            .compare_pictures(&picture(a), &picture(b))
            .unwrap()
            .distance
    };
    let same = d("obama.jpg", "obama2.jpg");
    let different = d("obama.jpg", "biden.jpg");
    assert!((0.30..0.40).contains(&same), "{same}");
    assert!((0.80..0.90).contains(&different), "{different}");
}

#[test]
fn comparing_a_picture_with_itself_scores_near_100() {
    if !crate::common::models_and_faces(
        "face::real_faces::comparing_a_picture_with_itself_scores_near_100",
    ) {
        return;
    }
    let engine = engine();
    let a = engine.describe(&picture("obama.jpg")).unwrap();
    let c = engine.compare(&a.embedding, &a.embedding);
    assert_eq!(c.distance, 0.0);
    assert!(c.similarity > 99.8, "{c:?}");
    assert_eq!(a.embedding.0.len(), 128);
}

#[test]
fn the_engine_loads_once_per_process() {
    if !crate::common::models_and_faces("face::real_faces::the_engine_loads_once_per_process") {
        return;
    }
    let first = DlibEngine::shared().unwrap();
    let second = DlibEngine::shared().unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(first.name(), "dlib-resnet-v1");
    assert!(first.version().contains("dlib 19."), "{}", first.version());
    assert!(
        first.version().contains("face_recognition_models 0.3.0"),
        "{}",
        first.version()
    );
}

#[test]
fn trait_steps_agree_with_describe() {
    if !crate::common::models_and_faces("face::real_faces::trait_steps_agree_with_describe") {
        return;
    }
    let engine = engine();
    let obama = picture("obama.jpg");
    let faces = engine.detect(&obama).unwrap();
    assert_eq!(faces.len(), 1);
    let landmarks = engine.landmarks(&obama, &faces[0]).unwrap();
    assert!(landmarks.left_eye().x < landmarks.right_eye().x);
    assert!(landmarks.nose.y > landmarks.left_eye().y);
    let embedding = engine.embed(&obama, &landmarks).unwrap();
    // The trait's steps search the full frame; `describe` takes the fast path (issue 18).
    assert_eq!(
        embedding,
        engine
            .describe_with(&obama, Detection::FullFrame)
            .unwrap()
            .embedding
    );

    let aligned = engine.align(&obama, &landmarks).unwrap();
    assert_eq!(aligned.chip.dimensions(), (150, 150));
    // In the chip the eyes are level and where dlib's template puts them.
    let [r_out, r_in, l_out, l_in, nose] = aligned.landmarks[..] else {
        panic!("five points expected")
    };
    assert!((r_out.y - l_out.y).abs() < 3.0, "{r_out:?} {l_out:?}");
    assert!(l_out.x < l_in.x && l_in.x < r_in.x && r_in.x < r_out.x);
    assert!((nose.x - 75.0).abs() < 8.0, "{nose:?}");
}

#[test]
fn step_7_passes_for_the_same_person_and_fails_for_another() {
    if !crate::common::models_and_faces(
        "face::real_faces::step_7_passes_for_the_same_person_and_fails_for_another",
    ) {
        return;
    }
    let engine = engine();
    let thresholds = Thresholds::default();
    let (certified, historical) = (picture("obama.jpg"), picture("obama3.jpg"));

    let report = verify(
        &*engine,
        &thresholds,
        &certified,
        &historical,
        &picture("obama2.jpg"),
    )
    .unwrap();
    assert!(report.certified_vs_history.similarity > 95.0, "{report:?}");
    assert!(report.live_vs_history.similarity > 60.0, "{report:?}");
    assert!(report.passed && report.certified_passed && report.live_passed);
    assert_eq!(report.engine, "dlib-resnet-v1");
    assert_eq!(report.version, engine.version());

    let impostor = verify(
        &*engine,
        &thresholds,
        &certified,
        &historical,
        &picture("biden.jpg"),
    )
    .unwrap();
    assert!(impostor.certified_passed);
    assert!(!impostor.live_passed && !impostor.passed, "{impostor:?}");
}

#[test]
fn step_7_fails_when_the_certified_photo_is_not_close_enough() {
    if !crate::common::models_and_faces(
        "face::real_faces::step_7_fails_when_the_certified_photo_is_not_close_enough",
    ) {
        return;
    }
    // obama2 vs obama3 is the same person at d = 0.43 (score ~89): good enough live, not
    // for a certified studio photo, whose bar is 95.
    let engine = engine();
    let report = verify(
        &*engine,
        &Thresholds::default(),
        &picture("obama2.jpg"),
        &picture("obama3.jpg"),
        &picture("obama.jpg"),
    )
    .unwrap();
    assert!(!report.certified_passed, "{report:?}");
    assert!(report.live_passed);
    assert!(!report.passed);
}

#[test]
fn step_7_names_the_picture_without_a_face() {
    if !crate::common::models_and_faces("face::real_faces::step_7_names_the_picture_without_a_face")
    {
        return;
    }
    let engine = engine();
    let blank = face::Picture::from_rgb(
        "live",
        image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])),
    );
    let err = verify(
        &*engine,
        &Thresholds::default(),
        &picture("obama.jpg"),
        &picture("obama3.jpg"),
        &blank,
    )
    .unwrap_err();
    assert_eq!(err.reason(), "no_face");
    assert_eq!(err.picture(), Some("live"));
}

#[test]
fn several_faces_are_refused_with_the_count() {
    if !crate::common::models_and_faces(
        "face::real_faces::several_faces_are_refused_with_the_count",
    ) {
        return;
    }
    let (obama, biden) = (picture("obama.jpg"), picture("biden.jpg"));
    let height = obama.dimensions().1.max(biden.dimensions().1);
    let mut both = image::RgbImage::from_pixel(
        obama.dimensions().0 + biden.dimensions().0,
        height,
        image::Rgb([255, 255, 255]),
    );
    image::imageops::replace(&mut both, obama.image(), 0, 0);
    image::imageops::replace(&mut both, biden.image(), i64::from(obama.dimensions().0), 0);
    let err = engine()
        .describe(&face::Picture::from_rgb("both.jpg", both))
        .unwrap_err();
    assert_eq!(err.reason(), "several_faces");
    assert!(err.to_string().contains("both.jpg: 2 faces"), "{err}");
}

/// Issue 18: the fast detection (HOG on a shrunk frame, refined at full resolution on a crop
/// around the face) gives the decisions of the full-frame path on every pair of the test faces,
/// at both of step 7's bars, and the same distances give or take a little.
#[test]
fn the_fast_detection_decides_as_the_full_frame_on_every_pair() {
    if !crate::common::models_and_faces(
        "face::real_faces::the_fast_detection_decides_as_the_full_frame_on_every_pair",
    ) {
        return;
    }
    let engine = engine();
    let faces = SIX_FACES;
    let described: Vec<_> = faces
        .iter()
        .map(|name| {
            let picture = picture(name);
            let full = engine
                .describe_with(&picture, Detection::FullFrame)
                .unwrap();
            let fast = engine
                .describe_with(&picture, Detection::Fast(FastDetection::default()))
                .unwrap();
            let moved = full.landmarks.face;
            let shift = fast.landmarks.face;
            println!(
                "{name}: full {moved:?} fast {shift:?}, embeddings {:.4} apart",
                engine.compare(&full.embedding, &fast.embedding).distance
            );
            (full, fast)
        })
        .collect();
    assert_eq!(
        engine.describe(&picture("obama.jpg")).unwrap(),
        described[0].1,
        "describe takes the fast path"
    );
    // HOG's boxes of the four larger faces (259 to 311 px) are taken by the first pass
    // (pyramid level 6); those of the two partial faces (216 px) fall on its first level, and
    // the second (level 4) takes them: not the full frame.
    for (name, (full, fast)) in faces.iter().zip(&described) {
        let first_pass = taken_by(&engine, &picture(name), 6);
        if name.contains("partial") {
            assert_eq!(first_pass, None, "{name}");
            assert_ne!(fast, full, "{name}");
        } else {
            assert_eq!(first_pass.as_ref(), Some(fast), "{name}");
        }
    }
    assert_pairs_decide_alike(&engine, &faces, &described);
}

/// Every pair of `faces`, described `(full frame, fast)`, gives the same decision at both of step
/// 7's bars either way, and distances within 0.03.
fn assert_pairs_decide_alike(
    engine: &DlibEngine,
    faces: &[&str],
    described: &[(DescribedFace, DescribedFace)],
) {
    let thresholds = Thresholds::default();
    let mut pairs = 0;
    for i in 0..faces.len() {
        for j in i + 1..faces.len() {
            let full = engine.compare(&described[i].0.embedding, &described[j].0.embedding);
            let fast = engine.compare(&described[i].1.embedding, &described[j].1.embedding);
            let (a, b) = (faces[i], faces[j]);
            for bar in [thresholds.live, thresholds.certified] {
                assert_eq!(
                    full.similarity > bar,
                    fast.similarity > bar,
                    "{a} vs {b} at {bar}: full {full:?} fast {fast:?}"
                );
            }
            assert!(
                (full.distance - fast.distance).abs() < 0.03,
                "{a} vs {b}: full {full:?} fast {fast:?}"
            );
            pairs += 1;
        }
    }
    assert_eq!(pairs, faces.len() * (faces.len() - 1) / 2);
}

/// What the fast detection gives when it has only the pass at `level`: `None` when that pass
/// did not take the face (the full frame's description).
fn taken_by(engine: &DlibEngine, picture: &face::Picture, level: u32) -> Option<DescribedFace> {
    let only = Detection::Fast(FastDetection {
        levels: [level, level],
        ..FastDetection::default()
    });
    let full = engine.describe_with(picture, Detection::FullFrame).unwrap();
    Some(engine.describe_with(picture, only).unwrap()).filter(|d| *d != full)
}

/// Issue 18: a face too small for the fast detection's first pass (pyramid level 6, boxes from
/// about 260 px), on which HOG answers with a box a level too large, is taken by the second
/// (level 4), not left to the full frame, and decides as the full frame against the other
/// test faces.
#[test]
fn a_face_under_the_first_pass_is_taken_by_the_second() {
    if !crate::common::models_and_faces(
        "face::real_faces::a_face_under_the_first_pass_is_taken_by_the_second",
    ) {
        return;
    }
    let engine = engine();
    let thresholds = Thresholds::default();
    // obama.jpg at 70 %: 637 × 795, above the 640 × 480 searched from the small-frame levels; HOG's box 180 px,
    // under the first pass's first level (where HOG answers with a 215-px box).
    let obama = picture("obama.jpg");
    let smaller = image::imageops::resize(
        obama.image(),
        637,
        795,
        image::imageops::FilterType::Triangle,
    );
    let smaller = face::Picture::from_rgb("smaller.jpg", smaller);
    let full = engine
        .describe_with(&smaller, Detection::FullFrame)
        .unwrap();
    let fast = engine.describe(&smaller).unwrap();
    let full_box = full.landmarks.face;
    assert_eq!(full_box.right - full_box.left + 1, 180, "{full_box:?}");
    assert_eq!(taken_by(&engine, &smaller, 6), None, "the first pass");
    assert_ne!(fast, full, "the second pass, not the full frame");
    for other in ["obama2.jpg", "obama3.jpg", "biden.jpg"] {
        let other = engine.describe(&picture(other)).unwrap().embedding;
        let full = engine.compare(&full.embedding, &other);
        let fast = engine.compare(&fast.embedding, &other);
        for bar in [thresholds.live, thresholds.certified] {
            assert_eq!(
                full.similarity > bar,
                fast.similarity > bar,
                "bar {bar}: full {full:?} fast {fast:?}"
            );
        }
        assert!(
            (full.distance - fast.distance).abs() < 0.03,
            "full {full:?} fast {fast:?}"
        );
    }
}

/// Issue 18: step 7 against the historical photo's kept embedding gives the report of step 7
/// computing it, on the same and on another person.
#[test]
fn step_7_against_a_kept_embedding_reports_as_computing_it() {
    if !crate::common::models_and_faces(
        "face::real_faces::step_7_against_a_kept_embedding_reports_as_computing_it",
    ) {
        return;
    }
    let engine = engine();
    let thresholds = Thresholds::default();
    let (certified, historical) = (picture("obama.jpg"), picture("obama3.jpg"));
    let kept = engine.describe(&historical).unwrap().embedding;
    for live in ["obama2.jpg", "biden.jpg"] {
        let live = picture(live);
        let computed = verify(&*engine, &thresholds, &certified, &historical, &live).unwrap();
        let against =
            face::verify_against(&*engine, &thresholds, &certified, &kept, &live).unwrap();
        assert_eq!(computed, against);
    }
}

/// Issue 18: on the ID photos cut from the test faces (358 × 441, the center's live, certified
/// and historical photos) the fast detection's small-frame passes take the face, not the full
/// frame, and decide as the full frame on every pair at both of step 7's bars.
#[test]
fn id_photos_decide_as_the_full_frame_on_every_pair() {
    if !crate::common::models_and_faces(
        "face::real_faces::id_photos_decide_as_the_full_frame_on_every_pair",
    ) {
        return;
    }
    let engine = engine();
    let faces = SIX_FACES;
    let described: Vec<_> = faces
        .iter()
        .map(|name| {
            let cut = face::crop_id_photo(
                &*engine,
                &picture(name),
                &face::CropConfig::default(),
                &face::QualityConfig::default(),
            )
            .unwrap();
            let photo = face::Picture::from_bytes(*name, &cut.jpeg, &face::DecodeLimits::default())
                .unwrap();
            assert_eq!(photo.dimensions(), (358, 441), "{name}");
            let full = engine.describe_with(&photo, Detection::FullFrame).unwrap();
            let fast = engine.describe(&photo).unwrap();
            // Not the full frame: HOG on the full frame would give its box exactly.
            let only_full = Detection::Fast(FastDetection {
                small_frame_levels: [30, 30],
                ..FastDetection::default()
            });
            assert_eq!(
                engine.describe_with(&photo, only_full).unwrap(),
                full,
                "{name}"
            );
            assert_ne!(fast.embedding, full.embedding, "{name}: taken by a pass");
            (full, fast)
        })
        .collect();
    assert_pairs_decide_alike(&engine, &faces, &described);
}

/// Issue 18: a frame under HOG's window at both small-frame levels (an ID photo at 150 × 185,
/// its face 87 px wide) is searched whole: the fast path gives exactly the full-frame
/// description.
#[test]
fn a_frame_too_small_for_the_passes_is_described_exactly_as_before() {
    if !crate::common::models_and_faces(
        "face::real_faces::a_frame_too_small_for_the_passes_is_described_exactly_as_before",
    ) {
        return;
    }
    let engine = engine();
    let cut = face::crop_id_photo(
        &*engine,
        &picture("obama.jpg"),
        &face::CropConfig::default(),
        &face::QualityConfig::default(),
    )
    .unwrap();
    let small =
        image::imageops::resize(&cut.image, 150, 185, image::imageops::FilterType::Triangle);
    let small = face::Picture::from_rgb("small.jpg", small);
    assert_eq!(
        engine.describe(&small).unwrap(),
        engine.describe_with(&small, Detection::FullFrame).unwrap()
    );
}

/// Issue 18: the engine's version names its detection, so the center keeps the embeddings of
/// the fast and the full-frame path apart.
#[test]
fn the_version_names_the_detection() {
    if !crate::common::models_and_faces("face::real_faces::the_version_names_the_detection") {
        return;
    }
    let fast = engine();
    assert!(
        fast.version()
            .ends_with("; fast detection (pyramid levels 6 then 4, 5 then 4 on frames up to 307200 px, boxes above a pass's first level)"),
        "{}",
        fast.version()
    );
    let full = DlibEngine::load(&face::ModelPaths::from_env(), face::Calibration::default())
        .unwrap()
        .with_detection(Detection::FullFrame);
    assert!(
        full.version().ends_with("; full-frame detection"),
        "{}",
        full.version()
    );
    assert_eq!(full.detection(), Detection::FullFrame);
}

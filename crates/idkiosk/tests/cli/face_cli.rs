//! `idkiosk face` end to end: the binary on the real test faces (fetched by
//! scripts/setup/20-face.sh), its JSON answers and exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn faces_dir() -> PathBuf {
    std::env::var_os("IDKIOSK_FACES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".idkiosk/faces"))
}

fn models_dir() -> PathBuf {
    std::env::var_os("IDKIOSK_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".idkiosk/models"))
}

/// Whether what `idkiosk face` needs is installed (scripts/setup/20-face.sh): the dlib weights,
/// the liveness sample frames beside the models, and the test faces. Outside CI a missing one
/// reports `test` as skipped and the test returns; under CI it fails (`store::testing::require`).
fn installed(test: &str) -> bool {
    let setup = "scripts/setup/20-face.sh";
    let found = store::testing::file(models_dir().join(face::dlib::RECOGNITION_MODEL), setup)
        .and_then(|_| {
            store::testing::file(
                models_dir().join("MiniFASNet-samples/live_sample.jpg"),
                setup,
            )
        })
        .and_then(|_| store::testing::file(faces_dir().join("obama.jpg"), setup));
    store::testing::require(test, "the face models and test faces", found).is_some()
}

/// A test face (after [`installed`]).
fn face(name: &str) -> String {
    let path = faces_dir().join(name);
    assert!(
        path.is_file(),
        "test face {} missing: run scripts/setup/20-face.sh (scripts/test.sh does)",
        path.display()
    );
    path.display().to_string()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idkiosk-face-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `idkiosk face ARGS` from the workspace root; returns the exit code and the JSON line.
fn idkiosk_face(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .arg("face")
        .args(args)
        .current_dir(root())
        .env("IDKIOSK_LOG", "warn")
        .output()
        .expect("run idkiosk");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().expect("exit code");
    if code == 3 {
        panic!("idkiosk face failed: {stderr}\n(the face engine needs scripts/setup/20-face.sh)");
    }
    let json = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}): {stdout:?}\nstderr: {stderr}"));
    (code, json)
}

#[test]
fn compare_same_person_scores_at_least_60() {
    if !installed("idkiosk cli face_cli::compare_same_person_scores_at_least_60") {
        return;
    }
    let (code, json) = idkiosk_face(&["compare", &face("obama.jpg"), &face("obama2.jpg")]);
    assert_eq!(code, 0, "{json}");
    let similarity = json["similarity"].as_f64().unwrap();
    assert!(similarity >= 60.0, "{json}");
    assert!(json["distance"].as_f64().unwrap() < 0.6);
    assert_eq!(json["engine"], "dlib-resnet-v1");
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["distance", "engine", "similarity"]);
}

#[test]
fn compare_different_people_scores_below_60() {
    if !installed("idkiosk cli face_cli::compare_different_people_scores_below_60") {
        return;
    }
    let (code, json) = idkiosk_face(&["compare", &face("obama.jpg"), &face("biden.jpg")]);
    assert_eq!(code, 0, "{json}");
    assert!(json["similarity"].as_f64().unwrap() < 60.0, "{json}");
}

#[test]
fn compare_names_the_picture_that_is_not_an_image() {
    if !installed("idkiosk cli face_cli::compare_names_the_picture_that_is_not_an_image") {
        return;
    }
    let dir = scratch("text");
    let text = dir.join("notes.jpg");
    std::fs::write(&text, "not a photo").unwrap();
    let (code, json) = idkiosk_face(&["compare", &face("obama.jpg"), text.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "not_an_image");
    assert_eq!(json["picture"], text.to_str().unwrap());
    assert!(json["error"].as_str().unwrap().contains("notes.jpg"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn compare_names_the_picture_without_a_face() {
    if !installed("idkiosk cli face_cli::compare_names_the_picture_without_a_face") {
        return;
    }
    let dir = scratch("noface");
    let blank = dir.join("wall.jpg");
    std::fs::write(&blank, flat_grey_jpeg(640, 480)).unwrap();
    let (code, json) = idkiosk_face(&["compare", blank.to_str().unwrap(), &face("obama.jpg")]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "no_face");
    assert_eq!(json["picture"], blank.to_str().unwrap());
    assert_eq!(json["prompt_zh"], "未检测到人脸，请正对摄像头。");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn crop_writes_a_358_by_441_350_dpi_photo_and_its_report() {
    if !installed("idkiosk cli face_cli::crop_writes_a_358_by_441_350_dpi_photo_and_its_report") {
        return;
    }
    let dir = scratch("crop");
    let out = dir.join("id.jpg");
    let (code, json) = idkiosk_face(&["crop", &face("obama.jpg"), out.to_str().unwrap()]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["passed"], true);
    assert_eq!(
        (
            json["width"].as_u64(),
            json["height"].as_u64(),
            json["dpi"].as_u64()
        ),
        (Some(358), Some(441), Some(350))
    );
    let jpeg = std::fs::read(&out).unwrap();
    assert_eq!(&jpeg[6..11], b"JFIF\0");
    assert_eq!(jpeg[13], 1, "density in dots per inch");
    assert_eq!(u16::from_be_bytes([jpeg[14], jpeg[15]]), 350);
    assert_eq!(u16::from_be_bytes([jpeg[16], jpeg[17]]), 350);
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF0");
    let height = u16::from_be_bytes([jpeg[sof + 5], jpeg[sof + 6]]);
    let width = u16::from_be_bytes([jpeg[sof + 7], jpeg[sof + 8]]);
    assert_eq!((width, height), (358, 441));
    assert_eq!(json["jpeg_bytes"].as_u64(), Some(jpeg.len() as u64));
    let placement = &json["placement"];
    assert!((placement["face_width_px"].as_f64().unwrap() - 207.0).abs() <= 14.0);
    assert!(placement["eye_line_from_bottom_px"].as_f64().unwrap() >= 207.0);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn crop_exits_1_with_the_reason_when_quality_fails() {
    if !installed("idkiosk cli face_cli::crop_exits_1_with_the_reason_when_quality_fails") {
        return;
    }
    let dir = scratch("crop-fail");
    let out = dir.join("id.jpg");
    // obama2.jpg: the head is turned about 15°.
    let (code, json) = idkiosk_face(&["crop", &face("obama2.jpg"), out.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["passed"], false);
    assert_eq!(json["reason"], "head_turned");
    assert_eq!(
        json["problems"][0]["prompt_en"],
        "Please look straight at the camera without turning or tilting your head."
    );
    assert!(!out.exists(), "a failed photo is not written");

    let blank = dir.join("wall.jpg");
    std::fs::write(&blank, flat_grey_jpeg(640, 480)).unwrap();
    let (code, json) = idkiosk_face(&["crop", blank.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "no_face");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn verify_runs_step_7() {
    if !installed("idkiosk cli face_cli::verify_runs_step_7") {
        return;
    }
    let args = |live: &str| {
        vec![
            "verify".to_owned(),
            "--certified".to_owned(),
            face("obama.jpg"),
            "--historical".to_owned(),
            face("obama3.jpg"),
            "--live".to_owned(),
            face(live),
        ]
    };
    let pass: Vec<String> = args("obama2.jpg");
    let (code, json) = idkiosk_face(&pass.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["passed"], true);
    assert!(json["certified_vs_history"]["similarity"].as_f64().unwrap() > 95.0);
    assert!(json["version"].as_str().unwrap().contains("dlib"));
    let fail: Vec<String> = args("biden.jpg");
    let (code, json) = idkiosk_face(&fail.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["live_passed"], false);
}

#[test]
fn calibrate_fits_c_and_w_on_labelled_distances() {
    if !installed("idkiosk cli face_cli::calibrate_fits_c_and_w_on_labelled_distances") {
        return;
    }
    let dir = scratch("calibrate");
    let pairs = dir.join("pairs.csv");
    let mut csv = String::from("distance,same\n");
    // Same-person distances around 0.35, different around 0.85, overlapping a little near 0.6.
    for i in 0..40 {
        let t = f64::from(i) / 39.0;
        csv += &format!("{:.3},1\n", 0.25 + 0.40 * t);
        csv += &format!("{:.3},0\n", 0.55 + 0.45 * t);
    }
    std::fs::write(&pairs, csv).unwrap();
    let (code, json) = idkiosk_face(&["calibrate", "--pairs", pairs.to_str().unwrap()]);
    assert_eq!(code, 0, "{json}");
    let (c, w) = (json["c"].as_f64().unwrap(), json["w"].as_f64().unwrap());
    assert!((0.55..0.65).contains(&c) && w > 0.0 && w < 0.1, "{json}");
    assert_eq!(json["pairs"], 80);

    std::fs::write(&pairs, "distance,same\n0.3,1\nnot,a,number,row\n").unwrap();
    let (code, json) = idkiosk_face(&["calibrate", "--pairs", pairs.to_str().unwrap()]);
    assert_eq!(code, 2, "{json}");
    assert!(
        json["error"].as_str().unwrap().starts_with("line 3"),
        "{json}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn calibrate_computes_distances_from_photo_pairs() {
    if !installed("idkiosk cli face_cli::calibrate_computes_distances_from_photo_pairs") {
        return;
    }
    let dir = scratch("calibrate-photos");
    let pairs = dir.join("pairs.csv");
    let csv = format!(
        "{o},{o2},1\n{o},{o3},1\n{o2},{o3},1\n{o},{b},0\n{o2},{b},0\n{o3},{b},0\n",
        o = face("obama.jpg"),
        o2 = face("obama2.jpg"),
        o3 = face("obama3.jpg"),
        b = face("biden.jpg")
    );
    std::fs::write(&pairs, csv).unwrap();
    let (code, json) = idkiosk_face(&["calibrate", "--pairs", pairs.to_str().unwrap()]);
    assert_eq!(code, 0, "{json}");
    let c = json["c"].as_f64().unwrap();
    assert!(c > 0.43 && c < 0.81, "between the classes: {json}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn missing_weights_fail_with_the_setup_command() {
    if !installed("idkiosk cli face_cli::missing_weights_fail_with_the_setup_command") {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(["face", "compare", &face("obama.jpg"), &face("obama2.jpg")])
        .env("IDKIOSK_MODELS_DIR", "/nonexistent/models")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scripts/setup/20-face.sh"), "{stderr}");
}

/// A valid baseline greyscale JPEG, every block mid-grey (a wall: no face).
fn flat_grey_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00];
    out.extend([1u8; 64]);
    out.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    out.extend(height.to_be_bytes());
    out.extend(width.to_be_bytes());
    out.extend([0x01, 0x01, 0x11, 0x00]);
    for class_and_id in [0x00u8, 0x10] {
        out.extend([0xFF, 0xC4, 0x00, 0x14, class_and_id, 1]);
        out.extend([0u8; 15]);
        out.push(0x00);
    }
    out.extend([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    let bits = u64::from(width.div_ceil(8)) * u64::from(height.div_ceil(8)) * 2;
    out.resize(out.len() + (bits / 8) as usize, 0);
    if bits % 8 != 0 {
        out.push(0xFF >> (bits % 8));
    }
    out.extend([0xFF, 0xD9]);
    out
}

/// A liveness sample frame, copied beside the models by scripts/setup/20-face.sh.
fn liveness_sample(name: &str) -> String {
    let path = models_dir().join("MiniFASNet-samples").join(name);
    assert!(
        path.is_file(),
        "liveness sample {} missing: run scripts/setup/20-face.sh",
        path.display()
    );
    path.display().to_string()
}

#[test]
fn liveness_of_a_live_face_exits_0() {
    if !installed("idkiosk cli face_cli::liveness_of_a_live_face_exits_0") {
        return;
    }
    for frame in [
        liveness_sample("live_sample.jpg"),
        face("obama.jpg"),
        face("biden.jpg"),
    ] {
        let (code, json) = idkiosk_face(&["liveness", &frame]);
        assert_eq!(code, 0, "{frame}: {json}");
        assert_eq!(json["live"], true, "{frame}: {json}");
        assert_eq!(json["label"], "live", "{frame}: {json}");
        assert!(json["score"].as_f64().unwrap() > 0.9, "{frame}: {json}");
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["label", "live", "score"]);
    }
}

#[test]
fn liveness_of_a_printed_photo_exits_1() {
    if !installed("idkiosk cli face_cli::liveness_of_a_printed_photo_exits_1") {
        return;
    }
    let (code, json) = idkiosk_face(&["liveness", &liveness_sample("spoof_sample.jpg")]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["live"], false, "{json}");
    assert_eq!(json["label"], "attack", "{json}");
    assert!(json["score"].as_f64().unwrap() < 0.5, "{json}");
}

#[test]
fn liveness_names_the_picture_without_a_face_or_unreadable() {
    if !installed("idkiosk cli face_cli::liveness_names_the_picture_without_a_face_or_unreadable") {
        return;
    }
    let dir = scratch("liveness");
    let blank = dir.join("wall.jpg");
    std::fs::write(&blank, flat_grey_jpeg(640, 480)).unwrap();
    let (code, json) = idkiosk_face(&["liveness", blank.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "no_face");
    assert_eq!(json["picture"], blank.to_str().unwrap());

    let text = dir.join("notes.jpg");
    std::fs::write(&text, "not a photo").unwrap();
    let (code, json) = idkiosk_face(&["liveness", text.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "not_an_image");

    let missing = dir.join("missing.jpg");
    let (code, json) = idkiosk_face(&["liveness", missing.to_str().unwrap()]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "unreadable");
    assert_eq!(json["picture"], missing.to_str().unwrap());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn liveness_without_its_models_fails_with_the_setup_command() {
    if !installed("idkiosk cli face_cli::liveness_without_its_models_fails_with_the_setup_command")
    {
        return;
    }
    // The dlib weights are there, the liveness models are not: a copy of the models folder
    // without the safetensors.
    let dir = scratch("liveness-models");
    let models = root().join(".idkiosk/models");
    for entry in std::fs::read_dir(&models).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "dat") {
            std::os::unix::fs::symlink(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(["face", "liveness", &face("obama.jpg")])
        .env("IDKIOSK_MODELS_DIR", &dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MiniFASNetV2_2.7_80x80.safetensors"),
        "{stderr}"
    );
    assert!(stderr.contains("scripts/setup/20-face.sh"), "{stderr}");
}

#[test]
fn the_camera_simulators_print_and_screen_of_the_right_face_fail_liveness_only() {
    if !installed("idkiosk cli face_cli::the_camera_simulators_print_and_screen_of_the_right_face_fail_liveness_only") {
        return;
    }
    // The attacks the demo panel can put in front of the camera (issue 20), made from the
    // citizen's own picture: the face comparison still matches it, liveness calls it an attack.
    // Checked on these frames; the synthetic print is NOT an attack to the models on every
    // picture (docs/face.md: biden.jpg and obama_partial_face.jpg score live), which is why the
    // panel also offers the models' own spoof sample.
    let dir = scratch("attack");
    for (name, kind) in [
        ("obama.jpg", devices::sim::camera::AttackKind::Print),
        ("obama2.jpg", devices::sim::camera::AttackKind::Print),
        ("obama2.jpg", devices::sim::camera::AttackKind::Screen),
    ] {
        let original = face(name);
        let jpeg = std::fs::read(&original).unwrap();
        let attack = devices::sim::camera::attack::present(&jpeg, kind).unwrap();
        let path = dir.join(format!("{}-{name}", kind.as_str()));
        std::fs::write(&path, attack).unwrap();
        let path = path.to_str().unwrap();
        let (code, json) = idkiosk_face(&["liveness", path]);
        assert_eq!(code, 1, "{kind:?} of {name}: {json}");
        assert_eq!(json["label"], "attack", "{kind:?} of {name}: {json}");
        let (code, json) = idkiosk_face(&["compare", &original, path]);
        assert_eq!(code, 0, "{json}");
        assert!(
            json["similarity"].as_f64().unwrap() >= 60.0,
            "{kind:?} of {name}: {json}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

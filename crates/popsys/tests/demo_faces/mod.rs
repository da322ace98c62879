//! The fixed demo citizens' real faces (`popsys::seed::demo`): photos cut from the demo faces of
//! `scripts/setup/20-face.sh`, stored by the seed, and the camera pictures. When the faces are
//! missing a test is reported as skipped outside CI and fails under CI (`store::testing::require`). The face scores themselves are measured with the engine in
//! `crates/idkiosk/tests` / docs/face.md; here the photos' format and plumbing are checked.

use domain::id::CitizenId;
use domain::region::KioskCity;
use popsys::seed::{demo, fixed_citizens, seed, LoadPath, SeedConfig};
use store::testing::TestDatabase;
use store::ReceiptCode;
use time::macros::date;

fn id(text: &str) -> CitizenId {
    CitizenId::parse(text, date!(2026 - 11 - 25)).expect("valid id")
}

fn config(faces_dir: std::path::PathBuf) -> SeedConfig {
    let city = KioskCity::parse("320100").expect("city");
    let mut config = SeedConfig::new(10, 1, city, date!(2026 - 11 - 25));
    config.faces_dir = Some(faces_dir);
    config
}

/// The demo faces' folder, or `None` when they are missing outside CI (`test` is reported as
/// skipped); a failure when they are missing under CI.
fn faces(test: &str) -> Option<std::path::PathBuf> {
    let dir = demo::faces_dir();
    let found = store::testing::file(dir.join("obama.jpg"), "scripts/setup/20-face.sh");
    store::testing::require(test, "the demo faces", found).map(|_| dir)
}

/// Width and height from a baseline JPEG's SOF0, and its JFIF density.
fn jpeg_size(jpeg: &[u8]) -> ((u16, u16), (u8, u16, u16)) {
    assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]));
    let mut i = 2;
    let mut density = None;
    while i + 4 < jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "marker at {i}");
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        let body = &jpeg[i + 4..i + 2 + len];
        if marker == 0xE0 && body.starts_with(b"JFIF\0") {
            density = Some((
                body[7],
                u16::from_be_bytes([body[8], body[9]]),
                u16::from_be_bytes([body[10], body[11]]),
            ));
        }
        if marker == 0xC0 {
            let h = u16::from_be_bytes([body[1], body[2]]);
            let w = u16::from_be_bytes([body[3], body[4]]);
            return ((w, h), density.expect("JFIF before SOF0"));
        }
        i += 2 + len;
    }
    panic!("no SOF0");
}

#[test]
fn photos_are_id_photos_cut_from_the_demo_faces() {
    let Some(dir) = faces("popsys::demo_faces::photos_are_id_photos_cut_from_the_demo_faces")
    else {
        return;
    };
    let mut bundles = fixed_citizens();
    let n = demo::attach_faces(&mut bundles, &dir).expect("photos");
    // Every historical photo record of a planned citizen plus the three receipts.
    let expected: u64 = bundles
        .iter()
        .filter(|b| demo::plan(b.citizen.id.as_str()).is_some())
        .map(|b| (b.history_photos.len() + b.receipts.len()) as u64)
        .sum();
    assert_eq!(n, expected);
    assert!(n >= 10, "{n}");
    let renewal = bundles
        .iter()
        .find(|b| b.citizen.id.as_str() == demo::RENEWAL_IN_WINDOW)
        .unwrap();
    let historical = renewal.history_photos[0]
        .jpeg
        .as_deref()
        .expect("historical");
    let certified = renewal.receipts[0].jpeg.as_deref().expect("certified");
    assert_ne!(historical, certified, "the studio's is a separate cut");
    for jpeg in [historical, certified] {
        assert_eq!(jpeg_size(jpeg), ((358, 441), (1, 350, 350)));
    }
    // GA 461: about 20 KB at quality 70.
    assert!(
        (8_000..60_000).contains(&historical.len()),
        "{}",
        historical.len()
    );
    // The same cut twice is the same bytes (deterministic).
    assert_eq!(
        demo::historical_photo(demo::RENEWAL_IN_WINDOW)
            .unwrap()
            .unwrap(),
        historical
    );
    // No photo where the record has none; under-16 has no plan.
    assert!(demo::historical_photo(demo::NO_HISTORY_PHOTO)
        .unwrap()
        .is_none());
    assert!(demo::plan(demo::UNDER_16).is_none());
}

#[test]
fn camera_images_name_the_demo_pictures() {
    let Some(dir) = faces("popsys::demo_faces::camera_images_name_the_demo_pictures") else {
        return;
    };
    let matching = demo::camera_image(demo::RENEWAL_IN_WINDOW).expect("camera image");
    assert_eq!(matching, dir.join("obama3.jpg"));
    let bytes = demo::camera_jpeg(demo::RENEWAL_IN_WINDOW).unwrap();
    assert_eq!(bytes, std::fs::read(dir.join("obama3.jpg")).unwrap());
    let plan = demo::plan(demo::PROVINCE_REGISTERED_REMOTE).unwrap();
    assert_eq!(plan.expect, demo::Expect::Mismatch);
    assert_ne!(
        plan.historical
            .unwrap()
            .trim_end_matches(|c: char| !c.is_alphabetic()),
        plan.camera.trim_end_matches(|c: char| !c.is_alphabetic())
    );
    assert!(demo::camera_image(demo::UNDER_16).is_none());
    assert!(demo::camera_image("110105194912310021").is_none());
    let empty = std::env::temp_dir().join("idkiosk-no-faces-here");
    assert!(demo::camera_image_in(&empty, demo::RENEWAL_IN_WINDOW).is_none());
}

// Issue 15 item 5: the demo pictures are full-length, so the preview showed the face far above
// the oval; the camera now shows a head-and-shoulders frame around the face.
#[test]
fn camera_frames_put_the_face_where_the_oval_is() {
    let Some(dir) = faces("popsys::demo_faces::camera_frames_put_the_face_where_the_oval_is")
    else {
        return;
    };
    let source = dir.join("obama3.jpg");
    let framed = demo::camera_frame(demo::RENEWAL_IN_WINDOW).expect("camera frame");
    assert_ne!(framed, source, "a frame of its own, not the picture");
    let jpeg = std::fs::read(&framed).unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(&jpeg[..]);
    let pixels = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    // 3 : 4 like the preview box; the face (1.52 × the outer eye corners' 172 px) is 40 % of it.
    assert_eq!((w, h), (654, 872));
    // Pixel for pixel from the picture: the eyes' midpoint (795.5, 399) lands at (50 %, 40 %).
    let original = std::fs::read(&source).unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(&original[..]);
    let picture = decoder.decode().unwrap();
    let pw = usize::from(decoder.info().unwrap().width);
    let (left, top) = (469, 50);
    let mut diff = 0u64;
    for (v, u) in [(h * 2 / 5, w / 2), (h / 2, w / 2), (h / 4, w / 3)] {
        for c in 0..3 {
            let a = i64::from(pixels[(v * w + u) * 3 + c]);
            let b = i64::from(picture[((top + v) * pw + left + u) * 3 + c]);
            diff += a.abs_diff(b);
        }
    }
    assert!(
        diff < 9 * 12,
        "the frame is the picture's window around the face ({diff})"
    );
    // Made once.
    assert_eq!(demo::camera_frame(demo::RENEWAL_IN_WINDOW), Some(framed));
    assert!(demo::camera_frame(demo::UNDER_16).is_none());
}

#[tokio::test]
async fn seed_stores_the_photos() {
    let Some(dir) = faces("popsys::demo_faces::seed_stores_the_photos") else {
        return;
    };
    let db = TestDatabase::sqlite().await.unwrap();
    let summary = seed(db.store(), &config(dir), LoadPath::MultiRow, |_| ())
        .await
        .unwrap();
    assert!(summary.note.is_none(), "{:?}", summary.note);
    assert!(summary.demo_photos >= 10);
    let photo = db
        .store()
        .history_photo(&id(demo::RENEWAL_IN_WINDOW))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        photo.jpeg.unwrap(),
        demo::historical_photo(demo::RENEWAL_IN_WINDOW)
            .unwrap()
            .unwrap()
    );
    let receipt = db
        .store()
        .photo_receipt(&ReceiptCode::parse(demo::RECEIPT).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        receipt.jpeg.unwrap(),
        demo::certified_photo(demo::RENEWAL_IN_WINDOW)
            .unwrap()
            .unwrap()
    );
}

#[tokio::test]
async fn seed_without_faces_notes_it() {
    let db = TestDatabase::sqlite().await.unwrap();
    let config = config(std::env::temp_dir().join("idkiosk-no-faces-here"));
    let summary = seed(db.store(), &config, LoadPath::MultiRow, |_| ())
        .await
        .unwrap();
    assert_eq!(summary.demo_photos, 0);
    let note = summary.note.expect("a note");
    assert!(note.contains("20-face.sh"), "{note}");
    let photo = db
        .store()
        .history_photo(&id(demo::RENEWAL_IN_WINDOW))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(photo.jpeg, None);
}

/// Every planned citizen's photos, written as `ID-historical.jpg` / `ID-certified.jpg` ID photos:
/// to `$IDKIOSK_DEMO_FACES_OUT` when set (kept, to score them with `idkiosk face`), else to a
/// temporary folder that is removed.
#[test]
fn photos_are_written_for_scoring() {
    if faces("popsys::demo_faces::photos_are_written_for_scoring").is_none() {
        return;
    }
    let (out, keep) = match std::env::var_os("IDKIOSK_DEMO_FACES_OUT") {
        Some(dir) => (std::path::PathBuf::from(dir), true),
        None => (
            std::env::temp_dir().join(format!("idkiosk-demo-faces-{}", std::process::id())),
            false,
        ),
    };
    std::fs::create_dir_all(&out).unwrap();
    let mut written = 0;
    for plan in demo::PLANS {
        let photos = [
            (
                "historical",
                plan.historical,
                demo::historical_photo(plan.id),
            ),
            ("certified", plan.certified, demo::certified_photo(plan.id)),
        ];
        for (kind, planned, photo) in photos {
            let photo = photo.unwrap();
            assert_eq!(photo.is_some(), planned.is_some(), "{} {kind}", plan.id);
            let Some(jpeg) = photo else { continue };
            let path = out.join(format!("{}-{kind}.jpg", plan.id));
            std::fs::write(&path, &jpeg).unwrap();
            let read = std::fs::read(&path).unwrap();
            assert_eq!(
                jpeg_size(&read),
                ((358, 441), (1, 350, 350)),
                "{}",
                path.display()
            );
            written += 1;
        }
    }
    assert!(written >= 10, "{written} photos");
    if !keep {
        std::fs::remove_dir_all(&out).unwrap();
    }
}

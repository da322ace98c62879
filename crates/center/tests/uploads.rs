//! Issue 14, item 6: blob uploads are held to quotas (per kind, per session, per kiosk and day),
//! must parse as what they claim to be, and nothing of a session without an application
//! outlives its end.

use serde_json::Value;

use crate::support::{KIOSK, OTHER_KIOSK, OTHER_SECRET, SECRET};
use crate::world::{jpeg, new_session, world, world_with, World, FACE};

/// One ISO BMFF box.
fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(payload.len() + 8)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// A well-formed MP4 of about `size` bytes: ftyp, moov, mdat.
pub fn mp4(size: usize) -> Vec<u8> {
    let mut out = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    out.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &[0; 100])));
    let payload = size.saturating_sub(out.len() + 8);
    out.extend(mp4_box(b"mdat", &vec![7; payload]));
    out
}

/// `PUT /v1/sessions/{sid}/blobs/{kind}` as `kiosk`: the status and the JSON answer, if any.
async fn put(
    world: &World,
    (kiosk, secret): (&str, &str),
    sid: &str,
    kind: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let response = world
        .http
        .put(format!(
            "http://{}/v1/sessions/{sid}/blobs/{kind}",
            world.center
        ))
        .header("x-kiosk-id", kiosk)
        .header("authorization", format!("Bearer {secret}"))
        .body(bytes)
        .send()
        .await
        .expect("the center answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn png_of(size: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.resize(size, 0);
    out
}

// Regression (issue 14): 100 MB was accepted per upload, with no per-session or per-kiosk quota.
#[tokio::test]
async fn uploads_are_held_to_kind_session_and_kiosk_day_quotas() {
    let world = world_with(
        store::testing::TestDatabase::sqlite().await.unwrap(),
        |state| {
            let quotas = &mut state.config.blob_quotas;
            quotas.video_bytes = 30_000;
            quotas.fingerprint_image_bytes = 30_000;
            quotas.session_bytes = 40_000;
            quotas.kiosk_daily_bytes = 60_000;
        },
    )
    .await;
    let me = (KIOSK, SECRET);
    let first = new_session().as_str().to_owned();

    let (status, body) = put(&world, me, &first, "video", mp4(31_000)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["quota"], "kind_bytes", "{body}");
    assert_eq!(body["limit"], 30_000, "{body}");

    assert_eq!(put(&world, me, &first, "video", mp4(25_000)).await.0, 204);
    // A repeat of a kind stores nothing and charges nothing.
    assert_eq!(put(&world, me, &first, "video", mp4(25_000)).await.0, 204);
    let (status, body) = put(&world, me, &first, "fingerprint_image_1", png_of(20_000)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["quota"], "session_bytes", "{body}");
    assert_eq!(body["field"], "body", "{body}");

    let second = new_session().as_str().to_owned();
    assert_eq!(put(&world, me, &second, "video", mp4(25_000)).await.0, 204);
    let third = new_session().as_str().to_owned();
    let (status, body) = put(&world, me, &third, "video", mp4(25_000)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["quota"], "kiosk_daily_bytes", "{body}");
    assert_eq!(
        world.store().session_blob(&third, "video").await.unwrap(),
        None
    );
    // Another kiosk's day is its own.
    let other = new_session().as_str().to_owned();
    assert_eq!(
        put(
            &world,
            (OTHER_KIOSK, OTHER_SECRET),
            &other,
            "video",
            mp4(25_000)
        )
        .await
        .0,
        204
    );
    world.finish().await;
}

// Regression (issue 14): any bytes after an `ftyp` header passed as a video (and any bytes after
// the JPEG magic as a photo).
#[tokio::test]
async fn a_video_must_parse_as_mp4_and_a_photo_as_jpeg() {
    let world = world().await;
    let me = (KIOSK, SECRET);
    let sid = new_session().as_str().to_owned();
    let mut fake = b"\0\0\0\x18ftypmp42".to_vec();
    fake.extend_from_slice(&[0x41; 4000]);
    let (status, body) = put(&world, me, &sid, "video", fake).await;
    assert_eq!((status, &body["field"]), (422, &"kind".into()), "{body}");
    let mut fake_photo = b"\xFF\xD8\xFF\xE0".to_vec();
    fake_photo.extend_from_slice(b"<script>alert(1)</script>");
    let (status, body) = put(&world, me, &sid, "live_photo", fake_photo).await;
    assert_eq!((status, &body["field"]), (422, &"kind".into()), "{body}");
    assert_eq!(
        world.store().session_blob(&sid, "video").await.unwrap(),
        None
    );

    assert_eq!(put(&world, me, &sid, "video", mp4(5_000)).await.0, 204);
    assert_eq!(put(&world, me, &sid, "live_photo", jpeg(FACE)).await.0, 204);
    world.finish().await;
}

//! The SAM_V driver against the card reader simulator over a real pty, at 115200 baud pacing.

use std::time::Duration;

use devices::card_reader::{citizen_card, CardJson, CardReader, CardReaderError, Command, Sw3};
use devices::DeviceHealth;
use domain::CitizenId;
use time::macros::date;

use crate::support::*;

fn expected(id: &str) -> CardJson {
    let today = date!(2026 - 11 - 25);
    let id = CitizenId::parse(id, today).expect("a valid number");
    citizen_card(&id, today)
}

/// Compares a read card with the simulator's, photo and fingerprint size included.
fn assert_card_of(read: &CardJson, id: &str) {
    let mut want = expected(id);
    // The simulator drew the photo; the reader must hand it back byte for byte.
    let drawn = devices::images::face_jpeg(devices::images::seed_of(id));
    want.photo_jpeg_base64 = Some(base64_of(&drawn));
    assert_eq!(read, &want);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn full_card_read() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(50)).await;
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let card = reader.read_card().await.expect("the card is read");
    assert_card_of(&CardJson::from_card(&card), CITIZEN);
    assert_eq!(card.fingerprint.len(), 1024);
    assert_eq!(card.text.name, expected(CITIZEN).name);
    assert_eq!(reader.health(), DeviceHealth::Ready);
}

#[tokio::test]
async fn a_card_must_leave_the_field_before_it_is_read_again() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    reader.read_card().await.expect("the first read");
    let again = reader.read_card().await;
    assert!(matches!(again, Err(CardReaderError::NoCard)), "{again:?}");
    sim.shared()
        .with(|s, _| s.device.place_citizen(CITIZEN))
        .expect("placed again");
    reader
        .read_card()
        .await
        .expect("read after placing it again");
}

#[tokio::test]
async fn no_card_is_status_80() {
    let (_dir, sim) = card_sim(None, Duration::from_millis(20)).await;
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let err = reader.read_card().await.expect_err("no card in the field");
    assert!(matches!(err, CardReaderError::NoCard), "{err:?}");
    assert_eq!(err.status(), Some(Sw3::NoCard));
    assert_eq!(err.summary(), "no card found");
    // The citizen not placing a card is not the reader's fault.
    assert_eq!(reader.health(), DeviceHealth::Ready);
}

#[tokio::test]
async fn card_removed_mid_read_fails_cleanly_without_stale_data() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(600)).await;
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let shared = sim.shared().clone();
    let read = tokio::spawn(async move { reader.read_card().await.map(|_| reader) });
    // The citizen pulls the card while the reader works on the read command.
    wait_until(Duration::from_secs(3), || {
        shared.with(|s, _| s.device.last_command()) == Some(Command::ReadTextPhotoFingerprint)
    })
    .await;
    shared.with(|s, _| s.device.remove());
    let err = read.await.expect("the task").expect_err("the read fails");
    assert!(
        matches!(
            err,
            CardReaderError::Status {
                command: Command::ReadTextPhotoFingerprint,
                status: Sw3::ReadFailed
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.summary(), "read failed");

    // Another card: the next read returns it, nothing of the first one.
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    shared
        .with(|s, _| s.device.place_citizen(OTHER_CITIZEN))
        .expect("placed");
    let card = reader.read_card().await.expect("the other card");
    assert_card_of(&CardJson::from_card(&card), OTHER_CITIZEN);
}

#[tokio::test]
async fn unreadable_card_is_status_41() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    sim.shared().with(|s, _| s.device.set_unreadable(true));
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let err = reader.read_card().await.expect_err("unreadable");
    assert_eq!(err.status(), Some(Sw3::ReadFailed), "{err:?}");
}

#[tokio::test]
async fn three_corrupted_frames_then_success() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    sim.shared().corrupt_next(3);
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let card = reader
        .read_card()
        .await
        .expect("read despite 3 corrupted answers");
    assert_card_of(&CardJson::from_card(&card), CITIZEN);
    assert_eq!(reader.health(), DeviceHealth::Ready);
}

#[tokio::test]
async fn a_corrupted_read_answer_is_asked_again() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(200)).await;
    let shared = sim.shared().clone();
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let read = tokio::spawn(async move { reader.read_card().await });
    wait_until(Duration::from_secs(3), || {
        shared.with(|s, _| s.device.last_command()) == Some(Command::ReadTextPhotoFingerprint)
    })
    .await;
    // The 2,321-byte answer now being prepared goes out with a bad checksum, twice.
    shared.corrupt_next(2);
    let card = read.await.expect("the task").expect("read after resends");
    assert_card_of(&CardJson::from_card(&card), CITIZEN);
}

#[tokio::test]
async fn answers_that_stay_corrupted_fail_naming_the_command() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    sim.shared().corrupt_next(4);
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let err = reader
        .read_card()
        .await
        .expect_err("4 corrupted answers exceed 3 resends");
    assert!(
        matches!(
            err,
            CardReaderError::Corrupted {
                command: Command::FindCard,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(reader.health().state(), "error");
}

#[tokio::test]
async fn resynchronises_after_line_noise() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    sim.shared().noise_before_next(3);
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let card = reader.read_card().await.expect("read through the noise");
    assert_card_of(&CardJson::from_card(&card), CITIZEN);
}

#[tokio::test]
async fn a_mute_reader_times_out() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    sim.shared().mute_next(100);
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let started = tokio::time::Instant::now();
    let err = reader.read_card().await.expect_err("no answer");
    assert!(
        matches!(
            err,
            CardReaderError::Timeout {
                command: Command::FindCard
            }
        ),
        "{err:?}"
    );
    // One send and three resends, 300 ms each.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1200) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert_eq!(reader.health().state(), "error");
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_is_waited_for() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    // The find answer comes 200 ms late, inside the driver's 300 ms find timeout.
    sim.shared().delay_next(1, Duration::from_millis(200));
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let card = reader.read_card().await.expect("read without a resend");
    assert_card_of(&CardJson::from_card(&card), CITIZEN);
    // One find, one select, one read: nothing was sent twice.
    assert_eq!(sim.shared().with(|s, _| s.device.commands()), 3);
}

#[tokio::test]
async fn reader_unplugged_and_back_during_a_read() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(400)).await;
    let shared = sim.shared().clone();
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(3));
    let mut health = reader.subscribe_health();
    let read = tokio::spawn(async move { reader.read_card().await });
    wait_until(Duration::from_secs(3), || {
        shared.with(|s, _| s.device.last_command()) == Some(Command::ReadTextPhotoFingerprint)
    })
    .await;
    shared.drop_line(Duration::from_millis(700));
    // The driver notices the hang-up and says so.
    let seen = tokio::time::timeout(
        Duration::from_secs(2),
        health.wait_for(|h| h.state() == "disconnected"),
    )
    .await;
    assert!(seen.is_ok(), "the driver never reported the line lost");
    drop(seen);
    // Then reopens the port when the reader is back, and reads the card from the start.
    let card = read
        .await
        .expect("the task")
        .expect("read after reconnecting");
    assert_card_of(&CardJson::from_card(&card), CITIZEN);
    assert_eq!(sim.status().stats.line_drops, 1);
}

#[tokio::test]
async fn reader_gone_longer_than_the_budget_then_back() {
    let (_dir, sim) = card_sim(Some(CITIZEN), Duration::from_millis(20)).await;
    let reader = card_reader(
        sim.port().to_owned(),
        fast_client(),
        Duration::from_millis(300),
    );
    sim.shared().drop_line(Duration::from_millis(1500));
    wait_until(Duration::from_secs(1), || sim.pty_path().is_none()).await;
    let err = reader.read_card().await.expect_err("the port is gone");
    assert!(matches!(err, CardReaderError::Disconnected(_)), "{err:?}");
    assert_eq!(reader.health().state(), "disconnected");
    wait_until(Duration::from_secs(3), || sim.pty_path().is_some()).await;
    let card = reader
        .read_card()
        .await
        .expect("read once the reader is back");
    assert_card_of(&CardJson::from_card(&card), CITIZEN);
    assert_eq!(reader.health(), DeviceHealth::Ready);
}

#[tokio::test]
async fn a_port_that_is_not_there_is_disconnected() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let reader = card_reader(
        dir.path().join("nothing"),
        fast_client(),
        Duration::from_millis(100),
    );
    let err = reader.read_card().await.expect_err("no port");
    assert!(matches!(err, CardReaderError::Disconnected(_)), "{err:?}");
    assert!(err.to_string().contains("nothing"), "{err}");
}

#[tokio::test]
async fn sam_status_check_reports_ready() {
    let (_dir, sim) = card_sim(None, Duration::from_millis(20)).await;
    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    assert_eq!(reader.health().state(), "disconnected", "nothing known yet");
    assert_eq!(reader.check().await, DeviceHealth::Ready);
}

#[tokio::test]
async fn control_api_places_and_removes_cards() {
    let (_dir, sim) = card_sim(None, Duration::from_millis(20)).await;
    let http = reqwest::Client::new();
    let url = sim.control_url();
    let placed: serde_json::Value = http
        .post(format!("{url}/card"))
        .json(&serde_json::json!({ "citizen": CITIZEN }))
        .send()
        .await
        .expect("POST /card")
        .json()
        .await
        .expect("JSON");
    assert_eq!(placed["present"], true);
    assert_eq!(placed["card"]["id"], CITIZEN);

    let reader = card_reader(sim.port().to_owned(), fast_client(), Duration::from_secs(1));
    let card = CardJson::from_card(&reader.read_card().await.expect("read"));

    // The JSON a read prints places the same card again.
    let replaced = http
        .post(format!("{url}/card"))
        .json(&card)
        .send()
        .await
        .expect("POST /card");
    assert_eq!(replaced.status(), 200);
    let again = CardJson::from_card(&reader.read_card().await.expect("read again"));
    assert_eq!(again, card);

    let bad = http
        .post(format!("{url}/card"))
        .json(&serde_json::json!({ "citizen": "110105194912310021" }))
        .send()
        .await
        .expect("POST /card");
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.expect("JSON");
    assert!(
        body["error"].as_str().unwrap_or("").starts_with("citizen:"),
        "{body}"
    );

    let removed: serde_json::Value = http
        .delete(format!("{url}/card"))
        .send()
        .await
        .expect("DELETE /card")
        .json()
        .await
        .expect("JSON");
    assert_eq!(removed["present"], false);
    let status: serde_json::Value = http
        .get(format!("{url}/status"))
        .send()
        .await
        .expect("GET /status")
        .json()
        .await
        .expect("JSON");
    assert_eq!(status["device"], "card-reader");
    assert!(status["stats"]["bytes_out"].as_u64().unwrap_or(0) > 4000);
}

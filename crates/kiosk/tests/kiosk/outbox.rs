//! The kiosk outbox on a real SQLite file: sealed at rest, durable across a reopen (a crash), and
//! delivered to the center exactly once, in order, however long the center is down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{cipher, OfflineCenter};
use domain::session::{PaymentMethod, SessionOutcome};
use kiosk::agent::delivery_loop;
use kiosk::center_api::{ApplicationRecord, CenterError, FingerQuality};
use kiosk::outbox::{AgentState, Message, Outbox};
use store::{EnvelopeCipher, FileKeyProvider};
use tokio::sync::Notify;

const SESSION: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const ID: &str = "320104200012100044";
const MOBILE: &str = "13912345678";

fn record() -> ApplicationRecord {
    ApplicationRecord {
        business: "expiry_renewal".into(),
        household: "local".into(),
        id: ID.into(),
        receipt: "PS2026112500001".into(),
        mobile: MOBILE.into(),
        fee_cny: 20,
        validity: "10_years".into(),
        issue_by: "2027-01-24".into(),
        fingers: vec![FingerQuality {
            position: domain::session::Finger::RightIndex,
            quality: 80,
        }],
    }
}

/// What the center got, and whether it is switched off.
#[derive(Default)]
struct Received {
    down: Mutex<bool>,
    got: Mutex<Vec<String>>,
}

impl Received {
    /// Takes `entry` unless the center is down.
    fn take(&self, entry: String) -> Result<(), CenterError> {
        if *self.down.lock().unwrap() {
            return Err(CenterError::Unavailable("connection refused".into()));
        }
        self.got.lock().unwrap().push(entry);
        Ok(())
    }
    fn got(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

/// A center that records what delivery sends it (blobs, applications, ends) into `received`.
fn recording_center(received: &Arc<Received>) -> OfflineCenter {
    let (blobs, applications, ends) = (received.clone(), received.clone(), received.clone());
    OfflineCenter {
        put_blob: Some(Box::new(move |session, kind, bytes| {
            blobs.take(format!("blob {} {kind} {}", session.as_str(), bytes.len()))
        })),
        submit_application: Some(Box::new(move |session, application| {
            applications.take(format!(
                "application {} {}",
                session.as_str(),
                application.id
            ))?;
            Ok("320100202611250001".into())
        })),
        end_session: Some(Box::new(move |session, outcome| {
            ends.take(format!(
                "end {} {}",
                session.as_str(),
                serde_json::to_string(outcome).unwrap()
            ))
        })),
        ..OfflineCenter::default()
    }
}

#[tokio::test]
async fn personal_data_is_sealed_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let photo = b"\xFF\xD8\xFF\xE0 a live photo".to_vec();
    {
        let outbox = Outbox::open(&path, cipher(dir.path())).await.unwrap();
        let state = AgentState {
            session_id: Some(SESSION.into()),
            applicant_id: Some(ID.into()),
            ..AgentState::default()
        };
        outbox.save_state(&state).await.unwrap();
        outbox
            .put_capture(SESSION, "live_photo", &photo)
            .await
            .unwrap();
        outbox
            .enqueue(
                SESSION,
                &[
                    Message::Blob {
                        kind: "live_photo".into(),
                    },
                    Message::Application(record()),
                ],
            )
            .await
            .unwrap();
        // dropped without closing: what a kill -9 leaves behind
    }
    let mut raw = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("outbox.db-wal")) {
        raw.extend(wal);
    }
    for secret in [ID.as_bytes(), MOBILE.as_bytes(), &photo[..4]] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "{:?} is readable in the outbox file",
            String::from_utf8_lossy(secret)
        );
    }

    let keys = FileKeyProvider::open(dir.path().join("outbox.keys")).unwrap();
    let outbox = Outbox::open(&path, Arc::new(EnvelopeCipher::new(Arc::new(keys))))
        .await
        .unwrap();
    let state = outbox.load_state().await.unwrap();
    assert_eq!(state.applicant_id.as_deref(), Some(ID));
    assert_eq!(
        outbox.capture(SESSION, "live_photo").await.unwrap(),
        Some(photo)
    );
    assert_eq!(outbox.backlog().await.unwrap(), 2);

    // Another kiosk's key cannot open it.
    let other = tempfile::tempdir().unwrap();
    let foreign = Outbox::open(&path, cipher(other.path())).await.unwrap();
    assert!(
        foreign.load_state().await.is_err(),
        "a foreign key opened the state"
    );
}

#[tokio::test]
async fn delivery_waits_for_the_center_and_sends_each_message_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(&dir.path().join("outbox.db"), cipher(dir.path()))
        .await
        .unwrap();
    outbox
        .put_capture(SESSION, "signature", b"\x89PNG sig")
        .await
        .unwrap();
    outbox
        .put_capture(SESSION, "live_photo", b"\xFF\xD8\xFF photo")
        .await
        .unwrap();
    outbox
        .enqueue(
            SESSION,
            &[
                Message::Blob {
                    kind: "signature".into(),
                },
                Message::Application(record()),
                Message::End(SessionOutcome::Completed {
                    payment: PaymentMethod::WeChat,
                }),
            ],
        )
        .await
        .unwrap();

    let center = Arc::new(Received::default());
    *center.down.lock().unwrap() = true;
    let wake = Arc::new(Notify::new());
    let seen: Arc<Mutex<Vec<bool>>> = Arc::default();
    let task = tokio::spawn(delivery_loop(
        outbox.clone(),
        Arc::new(recording_center(&center)),
        wake.clone(),
        Duration::from_millis(20),
        {
            let seen = seen.clone();
            Arc::new(move |reachable| seen.lock().unwrap().push(reachable))
        },
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(center.got().is_empty());
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&false),
        "the screen must learn the center is down"
    );
    assert_eq!(
        outbox.backlog().await.unwrap(),
        3,
        "nothing may be dropped while the center is down"
    );
    assert_eq!(outbox.application_no(SESSION).await.unwrap(), None);

    *center.down.lock().unwrap() = false;
    for _ in 0..100 {
        if outbox.backlog().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(seen.lock().unwrap().last(), Some(&true));
    assert_eq!(
        center.got(),
        vec![
            format!("blob {SESSION} signature 8"),
            format!("application {SESSION} {ID}"),
            format!("end {SESSION} {{\"outcome\":\"completed\",\"payment\":\"wechat\"}}"),
        ]
    );
    assert_eq!(
        outbox.application_no(SESSION).await.unwrap().as_deref(),
        Some("320100202611250001")
    );
    // The delivered signature is gone from the kiosk; the live photo no message sends is wiped at
    // the end of the session.
    assert_eq!(outbox.capture(SESSION, "signature").await.unwrap(), None);
    assert_eq!(
        outbox.capture_kinds(SESSION).await.unwrap(),
        vec!["live_photo"]
    );
    assert_eq!(outbox.wipe_unsent_captures(SESSION).await.unwrap(), 1);
    assert!(outbox.capture_kinds(SESSION).await.unwrap().is_empty());
}

/// Issue 16: the outbox's schema moved from statements run at every open to sqlx migrations. A
/// kiosk updated in the field has an outbox file the old statements created, with messages still
/// waiting for the center and a session to resume: it opens, keeps all of it, and is migrated.
#[tokio::test]
async fn an_outbox_created_before_migrations_opens_with_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.db");
    let cipher = cipher(dir.path());
    // What the agent's hand-written schema runner created, word for word.
    let old = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    for statement in [
        "CREATE TABLE IF NOT EXISTS agent_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            sealed BLOB NOT NULL,
            updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS captures (
            session_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            sealed BLOB NOT NULL,
            PRIMARY KEY (session_id, kind))",
        "CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            sealed BLOB NOT NULL,
            created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            acked_at TEXT,
            answer TEXT)",
        "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (acked_at, seq)",
    ] {
        sqlx::query(statement).execute(&old).await.unwrap();
    }
    let state = AgentState {
        session_id: Some(SESSION.into()),
        applicant_id: Some(ID.into()),
        ..AgentState::default()
    };
    let end = Message::End(SessionOutcome::Referred {
        step: 4,
        reason: domain::session::ReferralReason::Cancelled,
    });
    sqlx::query("INSERT INTO agent_state (id, sealed) VALUES (1, $1)")
        .bind(cipher.seal(&serde_json::to_vec(&state).unwrap()))
        .execute(&old)
        .await
        .unwrap();
    sqlx::query("INSERT INTO outbox (session_id, sealed) VALUES ($1, $2)")
        .bind(SESSION)
        .bind(cipher.seal(&serde_json::to_vec(&end).unwrap()))
        .execute(&old)
        .await
        .unwrap();
    sqlx::query("INSERT INTO captures (session_id, kind, sealed) VALUES ($1, 'signature', $2)")
        .bind(SESSION)
        .bind(cipher.seal(b"\x89PNG signature"))
        .execute(&old)
        .await
        .unwrap();
    old.close().await;

    // Twice: the migrated file reopens as any other.
    for round in 0..2 {
        let outbox = Outbox::open(&db, cipher.clone()).await.unwrap();
        assert_eq!(outbox.load_state().await.unwrap(), state);
        let pending = outbox
            .next_pending()
            .await
            .unwrap()
            .expect("the waiting message");
        assert_eq!(
            (pending.session_id.as_str(), &pending.message),
            (SESSION, &end)
        );
        assert_eq!(
            outbox
                .capture(SESSION, "signature")
                .await
                .unwrap()
                .as_deref(),
            Some(&b"\x89PNG signature"[..])
        );
        // New writes go on from the old rows.
        outbox
            .enqueue(
                SESSION,
                &[Message::Blob {
                    kind: "signature".into(),
                }],
            )
            .await
            .unwrap();
        assert_eq!(outbox.backlog().await.unwrap(), round + 2);
        let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let versions: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&raw)
        .await
        .unwrap();
        assert_eq!(versions, vec![1], "the old file is migrated");
        raw.close().await;
    }
}

/// An outbox a newer idkiosk migrated (the kiosk downgraded) is refused with what to do, and the
/// file is left as it was; an outbox of this version opens again unchanged.
#[tokio::test]
async fn an_outbox_from_a_newer_idkiosk_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let cipher = cipher(dir.path());
    Outbox::open(&path, cipher.clone())
        .await
        .unwrap()
        .save_state(&AgentState {
            session_id: Some(SESSION.into()),
            ..AgentState::default()
        })
        .await
        .unwrap();
    // Opening it again (this version) is fine.
    let again = Outbox::open(&path, cipher.clone()).await.unwrap();
    assert_eq!(
        again.load_state().await.unwrap().session_id.as_deref(),
        Some(SESSION)
    );
    drop(again);
    let url = format!("sqlite://{}", path.display());
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer idkiosk', TRUE, X'00', 0)",
    )
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;
    let refused = Outbox::open(&path, cipher.clone()).await;
    let message = match refused {
        Err(err) => err.to_string(),
        Ok(_) => panic!("an outbox from a newer idkiosk was opened"),
    };
    assert!(
        message.starts_with("outbox: the database's schema is at migration 9999, newer than this"),
        "{message}"
    );
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 9999")
            .fetch_one(&raw)
            .await
            .unwrap();
    assert_eq!(kept, 1);
    raw.close().await;
}

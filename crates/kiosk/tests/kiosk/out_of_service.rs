//! Issue 14 item 10: a transition the agent could not save is not acted on. The outbox file
//! refuses the state write (a trigger put in by the test, standing for a full or failing disk);
//! the agent must not run the transition's commands, must end the session and must show that the
//! kiosk is out of service.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{agent_config, outbox, ports, wait_for, Device, OfflineCenter};
use domain::prompts;
use domain::rules::{Business, Household};
use domain::session::{Screen, SessionConfig};
use kiosk::view::UiAction;

use crate::support;

/// From now on the outbox file refuses every write of the agent's state, as a full disk would.
async fn refuse_state_writes(db: &Path) {
    let other = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for when in ["INSERT", "UPDATE"] {
        sqlx::query(&format!(
            "CREATE TRIGGER refuse_state_{when} BEFORE {when} ON agent_state
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        ))
        .execute(&other)
        .await
        .unwrap();
    }
    other.close().await;
}

/// Regression (issue 14): the agent logged the failed save and ran the commands anyway, so the
/// card reader was asked for a card the outbox would not remember after a crash.
#[tokio::test]
async fn a_transition_that_could_not_be_saved_is_not_acted_on_and_the_kiosk_is_out_of_service() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.db");
    let outbox = outbox(dir.path()).await;
    // Every device; the card reader counts reads and never finds a card, the recorder counts
    // starts and stops. The center is never reached (nothing gets that far).
    let device = Arc::new(Device::ready());
    let ports = ports(Arc::new(OfflineCenter::default()), device.clone());
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox.clone(), config)
        .await
        .unwrap();

    handle.act(UiAction::Start).await.unwrap();
    handle
        .act(UiAction::Business(Business::ExpiryRenewal))
        .await
        .unwrap();
    handle
        .act(UiAction::Household(Household::Local))
        .await
        .unwrap();
    wait_for("the video started", || {
        device.video_starts.load(Ordering::SeqCst) == 1
    })
    .await;
    let saved = outbox.load_state().await.unwrap();

    refuse_state_writes(&db).await;
    // A renewal's number asks the reader for the old card: not this time.
    handle
        .act(UiAction::IdNumber("320104200012100044".into()))
        .await
        .unwrap();
    assert_eq!(
        handle.view().screen,
        Screen::Referred {
            step: 3,
            prompt: prompts::OUT_OF_SERVICE
        },
        "the screen says the kiosk is out of service"
    );
    wait_for("the video stopped", || {
        device.video_stops.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        device.card_reads.load(Ordering::SeqCst),
        0,
        "the unsaved transition's ReadCard was carried out"
    );
    assert_eq!(device.video_starts.load(Ordering::SeqCst), 1);
    assert_eq!(
        outbox.load_state().await.unwrap(),
        saved,
        "the outbox still holds the last state it could save"
    );

    // Still out of service: back on the start screen nothing can be started while the state
    // cannot be saved.
    handle.act(UiAction::Confirm).await.unwrap();
    assert_eq!(
        handle.view().screen,
        Screen::Referred {
            step: 1,
            prompt: prompts::OUT_OF_SERVICE
        }
    );
    assert!(handle.act(UiAction::Start).await.is_err());
    assert_eq!(device.video_starts.load(Ordering::SeqCst), 1);
}

/// A printer that is down (paused, out of paper, unreachable) until the test puts it back.
struct SwitchPrinter(std::sync::atomic::AtomicBool);

#[async_trait::async_trait]
impl devices::Printer for SwitchPrinter {
    async fn print_pdf(
        &self,
        _: Vec<u8>,
        _: &str,
    ) -> Result<devices::printer::PrintJob, devices::PrinterError> {
        std::future::pending().await
    }
    async fn status(&self) -> Result<devices::printer::PrinterStatus, devices::PrinterError> {
        if self.0.load(Ordering::SeqCst) {
            Ok(support::idle_printer_status())
        } else {
            Err(devices::PrinterError::Unreachable(
                "connection refused".into(),
            ))
        }
    }
    fn health(&self) -> devices::DeviceHealth {
        devices::DeviceHealth::Ready
    }
}

/// Issue 15: a kiosk whose printer cannot print says it is out of service on the start screen and
/// starts no session (a citizen would pay and get no papers); when the printer is back, so is
/// the start screen.
#[tokio::test]
async fn a_printer_that_cannot_print_keeps_the_start_screen_out_of_service() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    let device = Arc::new(Device::ready());
    let printer = Arc::new(SwitchPrinter(std::sync::atomic::AtomicBool::new(false)));
    let mut ports = ports(Arc::new(OfflineCenter::default()), device.clone());
    ports.printer = printer.clone();
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox.clone(), config)
        .await
        .unwrap();

    assert!(
        handle.act(UiAction::Start).await.is_err(),
        "a session started with the printer down"
    );
    let view = handle.view();
    assert_eq!(view.screen, Screen::Welcome { notice: None });
    assert!(
        view.extras.printer_down,
        "the start screen is not out of service"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(device.video_starts.load(Ordering::SeqCst), 0);

    // The printer is back: the agent's own check (every 3 s) brings the start screen back.
    printer.0.store(true, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.view().extras.printer_down {
        assert!(
            std::time::Instant::now() < deadline,
            "still out of service with the printer back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    handle.act(UiAction::Start).await.unwrap();
    assert_eq!(handle.view().screen, Screen::Business);
}

/// Writes `sealed` as the agent's saved state, behind the outbox's back (what another version of
/// the agent, or a damaged disk, leaves).
async fn put_saved_state(db: &Path, sealed: &[u8]) {
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO agent_state (id, sealed, updated_at) VALUES (1, $1, CURRENT_TIMESTAMP)",
    )
    .bind(sealed)
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;
}

/// A saved state the agent cannot read (written by another version of the agent before an
/// upgrade, or damaged) once kept the agent from starting, so every restart failed the same way
/// and the kiosk stayed dead. It starts on the start screen instead, and serves the next citizen.
#[tokio::test]
async fn an_unreadable_saved_state_does_not_keep_the_kiosk_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.db");
    let outbox = outbox(dir.path()).await;
    put_saved_state(&db, b"\x00\x01\x02\x03").await;
    assert!(
        outbox.load_state().await.is_err(),
        "the test's state must be unreadable"
    );

    let device = Arc::new(Device::ready());
    let ports = ports(Arc::new(OfflineCenter::default()), device.clone());
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox.clone(), config)
        .await
        .expect("the agent starts without the state it cannot read");
    assert_eq!(handle.view().screen, Screen::Welcome { notice: None });
    handle
        .act(UiAction::Business(Business::Lost))
        .await
        .unwrap();
    assert!(matches!(handle.view().screen, Screen::Household { .. }));
    // The next save replaces the unreadable state, with the running step a later version
    // would salvage it by.
    let saved = outbox
        .load_state()
        .await
        .expect("a readable state once the new session saved");
    assert_eq!(saved.running_step, Some(2));
}

/// Issue 19 item 4: an upgrade restarts the kiosk on a state its new version cannot read (the
/// machine's snapshot changed shape). The session it was running is not dropped in silence (the
/// citizen left on the start screen, the center never told): the new agent names it from the
/// fields it can still read, shows the out-of-service screen at the step it was at, and sends its
/// end to the center as a `service_unavailable` referral, so the window can take it over.
#[tokio::test]
async fn a_session_saved_by_another_version_is_ended_for_the_staff() {
    use domain::session::SessionOutcome;
    use store::{BlobCipher, EnvelopeCipher, FileKeyProvider};

    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    // What an older agent saved, sealed under the kiosk's key: its snapshot has a shape this
    // version does not know.
    let keys = FileKeyProvider::open(dir.path().join("outbox.keys")).unwrap();
    let cipher: Arc<dyn BlobCipher> = Arc::new(EnvelopeCipher::new(Arc::new(keys)));
    let sealed = cipher.seal(
        serde_json::json!({
            "snapshot": {"Running": {"stage": {"FutureStage": {}}, "deadline": 0}},
            "session_id": "0123456789abcdef0123456789abcdef",
            "applicant_id": "320104200012100044",
            "today": "2026-11-25",
            "fingers": [],
            "video_segments": 1,
            "running_step": 8,
        })
        .to_string()
        .as_bytes(),
    );
    put_saved_state(&dir.path().join("outbox.db"), &sealed).await;
    assert!(
        outbox.load_state().await.is_err(),
        "the test's state must not parse as this version's"
    );

    let ended = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = ended.clone();
    let center = OfflineCenter {
        end_session: Some(Box::new(move |session, outcome| {
            seen.lock()
                .unwrap()
                .push((session.as_str().to_owned(), *outcome));
            Ok(())
        })),
        ..OfflineCenter::default()
    };
    let device = Arc::new(Device::ready());
    let ports = ports(Arc::new(center), device.clone());
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox.clone(), config)
        .await
        .expect("the agent starts");
    assert_eq!(
        handle.view().screen,
        Screen::Referred {
            step: 8,
            prompt: prompts::OUT_OF_SERVICE
        }
    );
    wait_for("the end delivered to the center", || {
        !ended.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        *ended.lock().unwrap(),
        vec![(
            "0123456789abcdef0123456789abcdef".to_owned(),
            SessionOutcome::Referred {
                step: 8,
                reason: domain::session::ReferralReason::ServiceUnavailable
            }
        )]
    );
    // The ended state is saved in this version's shape, and the next citizen is served.
    let saved = outbox.load_state().await.expect("a readable state");
    assert_eq!(saved.running_step, None);
    handle.act(UiAction::Confirm).await.unwrap();
    assert_eq!(handle.view().screen, Screen::Welcome { notice: None });
    handle
        .act(UiAction::Business(Business::Lost))
        .await
        .unwrap();
    assert!(matches!(handle.view().screen, Screen::Household { .. }));
}

/// Log lines written while a test runs (a `tracing` subscriber's output).
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Issue 16 item 3: a command the agent cannot carry out because its state names no session
/// (a state saved by another version, or damaged) was dropped without a word
/// (`let Some(sid) = sid else { return }`), and the citizen waited on "printing" until the
/// screen's timeout. It is a logged error that ends the session: out of service, video stopped.
#[tokio::test]
async fn a_command_with_no_session_id_is_logged_and_ends_the_session() {
    use domain::session::{Event, Millis, Session, SessionId};
    use kiosk::outbox::AgentState;

    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // The test's runtime runs the agent's tasks on this thread.
    let _logging = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    // A portrait form session on the confirmation screen, saved without its session id.
    let today = time::macros::date!(2026 - 11 - 25);
    let mut session = Session::new(SessionConfig::default(), Millis(0));
    for event in [
        Event::Start {
            session_id: SessionId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            today,
        },
        Event::PortraitFormChosen,
        Event::PortraitFormRequested("320104200012100044".into()),
        Event::IdentityFound {
            name_masked: Some("*晓燕".into()),
        },
    ] {
        session.handle(event, Millis(0)).unwrap();
    }
    assert_eq!(session.screen().name(), "portrait_form_confirm");
    outbox
        .save_state(&AgentState {
            snapshot: Some(session.snapshot()),
            session_id: None,
            today: Some(today.to_string()),
            ..AgentState::default()
        })
        .await
        .unwrap();

    let device = Arc::new(Device::ready());
    let ports = ports(Arc::new(OfflineCenter::default()), device.clone());
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox.clone(), config)
        .await
        .unwrap();
    assert_eq!(handle.view().screen.name(), "portrait_form_confirm");
    wait_for("the resumed session's video", || {
        device.video_starts.load(Ordering::SeqCst) == 1
    })
    .await;

    // Confirming asks for the form to be printed, for a session the agent cannot name.
    handle.act(UiAction::Confirm).await.unwrap();
    wait_for("the session ended out of service", || {
        matches!(
            handle.view().screen,
            Screen::Referred { prompt, .. } if prompt == prompts::OUT_OF_SERVICE
        )
    })
    .await;
    wait_for("the video stopped", || {
        device.video_stops.load(Ordering::SeqCst) == 1
    })
    .await;
    let logged = logs.text();
    assert!(
        logged.lines().any(|line| line.contains("ERROR")
            && line.contains("no session id")
            && line.contains("print_portrait_form")),
        "the dropped command is not logged as an error: {logged}"
    );
    let saved = outbox.load_state().await.unwrap();
    let (resumed, _) = Session::resume(
        SessionConfig::default(),
        saved.snapshot.expect("a saved state"),
        Millis(0),
    );
    assert!(!resumed.is_running(), "the saved session still runs");
}

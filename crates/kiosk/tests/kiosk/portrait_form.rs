//! Issue 14 item 1, the agent's side: the portrait collection form is printed only after the
//! citizen confirmed the masked identity the center looked up in this session, and the form is
//! fetched through that session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{agent_config, idle_printer_status, outbox, Device, OfflineCenter};
use async_trait::async_trait;
use devices::printer::{JobOutcome, PrintJob, PrinterStatus};
use devices::{DeviceHealth, Printer, PrinterError};
use domain::session::{Screen, SessionConfig};
use kiosk::agent::Ports;
use kiosk::center_api::CenterError;
use kiosk::view::{AgentHandle, UiAction};

use crate::support;

const ID: &str = "320104200012100044";
/// Not in the center's register.
const UNKNOWN: &str = "11010519491231002X";

/// What the center and the printer were asked, in order.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }
    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A printer that prints at once, into the log.
struct LoggingPrinter(Arc<Log>);

#[async_trait]
impl Printer for LoggingPrinter {
    async fn print_pdf(&self, pdf: Vec<u8>, title: &str) -> Result<PrintJob, PrinterError> {
        self.0
            .push(format!("print {title} {}", String::from_utf8_lossy(&pdf)));
        Ok(PrintJob {
            job_id: 1,
            state: JobOutcome::Completed,
            job_state_reasons: vec!["job-completed-successfully".into()],
            printer_state_reasons: Vec::new(),
        })
    }
    async fn status(&self) -> Result<PrinterStatus, PrinterError> {
        Ok(idle_printer_status())
    }
    fn health(&self) -> DeviceHealth {
        DeviceHealth::Ready
    }
}

/// A center that knows one citizen (`*晓燕`) and prints a form only for a number its session
/// looked up, as the real one does; it takes every blob, and is offline for the rest.
fn center(log: &Arc<Log>) -> OfflineCenter {
    let (lookups, forms) = (log.clone(), log.clone());
    OfflineCenter {
        put_blob: Some(Box::new(|_, _, _| Ok(()))),
        identity: Some(Box::new(move |session, id| {
            lookups.push(format!("identity {} {}", session.as_str(), id.as_str()));
            Ok((id.as_str() == ID).then(|| "*晓燕".to_owned()))
        })),
        portrait_form: Some(Box::new(move |session, id, application| {
            let looked_up = format!("identity {} {}", session.as_str(), id.as_str());
            if !forms.entries().contains(&looked_up) {
                return Err(CenterError::Refused("identity: not looked up".into()));
            }
            forms.push(format!(
                "portrait_form {} {} {}",
                session.as_str(),
                id.as_str(),
                application.as_str()
            ));
            Ok(format!("%PDF form of {}", id.as_str()).into_bytes())
        })),
        ..OfflineCenter::default()
    }
}

async fn agent(log: &Arc<Log>) -> (AgentHandle, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    // Every device but the printer does nothing.
    let ports = Ports {
        printer: Arc::new(LoggingPrinter(log.clone())),
        ..support::ports(Arc::new(center(log)), Arc::new(Device::ready()))
    };
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox, config).await.unwrap();
    (handle, dir)
}

async fn wait_screen(handle: &AgentHandle, name: &str) -> Screen {
    for _ in 0..200 {
        let screen = handle.view().screen;
        if screen.name() == name {
            return screen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {name}: {:?}", handle.view().screen);
}

/// Starts a session, asks for the portrait form of `id` and waits for the confirmation screen.
async fn request_form(handle: &AgentHandle, id: &str) -> Screen {
    handle.act(UiAction::Start).await.unwrap();
    handle.act(UiAction::PortraitFormChosen).await.unwrap();
    handle
        .act(UiAction::PortraitFormRequested(id.into()))
        .await
        .unwrap();
    wait_screen(handle, "portrait_form_confirm").await
}

/// Regression (issue 14): a number typed printed its portrait form at once, fetched from the
/// session-less `POST /v1/portrait-form`.
#[tokio::test]
async fn the_portrait_form_is_printed_after_the_confirmed_identity_through_the_session() {
    let log = Arc::new(Log::default());
    let (handle, _dir) = agent(&log).await;
    let screen = request_form(&handle, ID).await;
    assert_eq!(
        screen,
        Screen::PortraitFormConfirm {
            masked_id: "320104********0044".into(),
            masked_name: Some("*晓燕".into()),
        }
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let entries = log.entries();
    let [looked_up] = entries.as_slice() else {
        panic!("nothing but the lookup before the citizen confirms: {entries:?}");
    };
    let sid = looked_up
        .strip_prefix("identity ")
        .and_then(|rest| rest.strip_suffix(&format!(" {ID}")))
        .expect("the lookup names the session")
        .to_owned();

    handle.act(UiAction::Confirm).await.unwrap();
    wait_screen(&handle, "portrait_form_printed").await;
    assert_eq!(
        log.entries(),
        vec![
            format!("identity {sid} {ID}"),
            format!("portrait_form {sid} {ID} first_time"),
            format!("print portrait %PDF form of {ID}"),
        ]
    );
}

#[tokio::test]
async fn a_number_without_a_record_prints_nothing() {
    let log = Arc::new(Log::default());
    let (handle, _dir) = agent(&log).await;
    let screen = request_form(&handle, UNKNOWN).await;
    assert_eq!(
        screen,
        Screen::PortraitFormConfirm {
            masked_id: "110105********002X".into(),
            masked_name: None,
        }
    );
    handle.act(UiAction::Confirm).await.unwrap();
    let screen = wait_screen(&handle, "referred").await;
    assert_eq!(screen.error(), Some(domain::prompts::OUT_OF_SCOPE));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        log.entries().iter().all(|e| e.starts_with("identity ")),
        "{:?}",
        log.entries()
    );
}

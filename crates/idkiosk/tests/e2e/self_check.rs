//! The harness checked on its own: the real touchscreen UI (kiosk::ui) served in-process over a
//! fake agent made of the seam's channels, driven in Chromium. It proves the browser, the
//! WebDriver client, the keypad script and the screen attributes work before the whole demo is
//! started, and names a broken browser install apart from a broken kiosk.

use std::time::Duration;

use domain::rules::Business;
use domain::session::Screen;
use kiosk::view::{ActionRequest, AgentHandle, UiAction, View};
use popsys::seed::demo;
use tokio::sync::{mpsc, watch};

use crate::harness::{require_browser, Driver, Kiosk, Res};

/// Plays the agent: a few screens of a lost replacement, remembering what was typed.
async fn fake_agent(
    mut actions: mpsc::Receiver<ActionRequest>,
    views: watch::Sender<View>,
    typed: mpsc::UnboundedSender<String>,
) {
    let mut business = Business::Lost;
    while let Some((action, reply)) = actions.recv().await {
        let next = match action {
            UiAction::Start => Some(Screen::Business),
            UiAction::Business(b) => {
                business = b;
                Some(Screen::Household { business })
            }
            UiAction::Household(_) => Some(Screen::IdNumber {
                business,
                portrait_form: business == Business::Lost,
                error: None,
                typed: None,
            }),
            UiAction::IdNumber(number) => {
                let masked = format!("{}********{}", &number[..6], &number[14..]);
                let _ = typed.send(number);
                Some(Screen::Confirm {
                    masked_id: masked,
                    masked_name: Some("*晓燕".into()),
                })
            }
            _ => None,
        };
        if let Some(screen) = next {
            views.send_modify(|view| {
                view.version += 1;
                view.screen = screen;
            });
        }
        let _ = reply.send(Ok(()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_self_check() -> Res<()> {
    if !require_browser("harness_self_check") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let (views, view) = watch::channel(View::initial());
    let (sender, actions) = mpsc::channel(8);
    let (typed_tx, mut typed_rx) = mpsc::unbounded_channel();
    tokio::spawn(fake_agent(actions, views, typed_tx));
    let app = kiosk::ui::router(AgentHandle::new(sender, view));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let driver = Driver::start(dir.path()).await?;
    let client = driver.browser(dir.path()).await?;
    let mut kiosk = Kiosk::new(client, &url);
    kiosk.open().await?;
    let wait = Duration::from_secs(10);
    kiosk.wait_screen("welcome", wait).await?;
    kiosk.touch("business-lost").await?;
    kiosk.wait_screen("household", wait).await?;
    kiosk.touch("household-local").await?;
    kiosk.wait_screen("id_number", wait).await?;
    kiosk.keypad(demo::RENEWAL_IN_WINDOW).await?;
    assert_eq!(
        kiosk.value("id-number-input").await.as_deref(),
        Some(demo::RENEWAL_IN_WINDOW)
    );
    kiosk.touch("id-number-confirm").await?;
    kiosk.wait_screen("confirm", wait).await?;
    assert_eq!(
        typed_rx.recv().await.as_deref(),
        Some(demo::RENEWAL_IN_WINDOW)
    );
    assert_eq!(
        kiosk.text("masked-id").await.as_deref(),
        Some("320104********0044")
    );
    // The start screen offers the businesses itself: three touches reach the confirmation.
    assert_eq!(kiosk.timings.len(), 3, "{:?}", kiosk.timings);
    crate::harness::report_timings("harness_self_check", &kiosk.timings);
    kiosk.client.close().await?;
    println!("scenario harness_self_check: PASS");
    Ok(())
}

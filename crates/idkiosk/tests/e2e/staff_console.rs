//! The staff console in headless Chromium (issue 9): a real `idkiosk demo` on free ports in a
//! temporary folder, one application made by driving the kiosk over HTTP and the simulator
//! panel, then over WebDriver a window clerk logs in, finds the application by its number, opens
//! it, reprints its certificate (a PDF), views the session video, signs out, and an auditor sees
//! the clerk's views in the audit trail with the chain intact (docs/staff.md). Every page it
//! passes through, and an administrator's accounts page and fleet view, go through the axe-core
//! accessibility gate (WCAG 2.2 A/AA, docs/testing.md).
//!
//! `cargo test -p idkiosk --test e2e staff_console:: -- --nocapture`. Needs Chromium and chromedriver
//! (skipped with a note when missing, a failure when `CI` is set), the face models and the Noto
//! CJK fonts (for the reprint). The kiosk prints to `IDKIOSK_TEST_PRINTER` (an `ipp://` CUPS
//! queue) when set, otherwise to a private CUPS the test starts (scripts/setup/40-cups.sh): a kiosk
//! without a printer that can print is out of service and starts no session. Every process (demo, kiosk agent, chromedriver, Chromium) is in a
//! process group of its own and killed when the test ends, also on a panic.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{axe_check, free_port, require_browser, Cups, Driver, Proc, Res};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// 王晓燕: local expiry renewal in her window, receipt PS2026112500001, her face matches.
const CITIZEN: &str = "320104200012100044";
const CLERK: (&str, &str) = ("clerk1", "clerk-password-1");
const AUDITOR: (&str, &str) = ("audit1", "audit-password-1");
const ADMIN: (&str, &str) = ("admin1", "admin-password-1");

struct Demo {
    proc: Proc,
    /// The private CUPS the kiosk prints to, when `IDKIOSK_TEST_PRINTER` is not set.
    _cups: Option<Cups>,
    dir: std::path::PathBuf,
    kiosk: String,
    panel: String,
    center: String,
}

fn start_demo(dir: &Path) -> Res<Demo> {
    let data = dir.join("demo");
    let mut command = Command::new(env!("CARGO_BIN_EXE_idkiosk"));
    command
        .args(["demo", "--citizens", "10", "--unpaced-devices"])
        .arg("--data-dir")
        .arg(&data);
    for flag in [
        "--center-listen",
        "--popsys-listen",
        "--panel-listen",
        "--kiosk-listen",
        "--camera-listen",
        "--paysim-listen",
    ] {
        command.arg(flag).arg(format!("127.0.0.1:{}", free_port()));
    }
    let cups = match std::env::var("IDKIOSK_TEST_PRINTER") {
        Ok(printer) => {
            command.args(["--printer", &printer]);
            None
        }
        Err(_) => {
            let cups = Cups::start(dir)?;
            command.args(["--printer", &cups.uri]);
            Some(cups)
        }
    };
    let mut proc = Proc::spawn("idkiosk demo", command, &dir.join("demo.log"))?;
    let url = |lines: &[String], name: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
            .map(str::to_owned)
    };
    let (kiosk, panel, center) = proc.wait_line(Duration::from_secs(120), |lines| {
        Some((
            url(lines, "kiosk screen:")?,
            url(lines, "control panel:")?,
            url(lines, "center (kiosk API):")?,
        ))
    })?;
    Ok(Demo {
        proc,
        _cups: cups,
        dir: data,
        kiosk: kiosk.trim_end_matches('/').to_owned(),
        panel: panel.trim_end_matches("/sim").to_owned(),
        center,
    })
}

/// `idkiosk staff add`, the password on standard input.
fn staff_add(demo: &Demo, (user, password): (&str, &str), role: &str) -> Res<()> {
    let database = format!("sqlite://{}", demo.dir.join("center.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args([
            "staff",
            "add",
            "--database",
            &database,
            "--user",
            user,
            "--role",
            role,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    writeln!(child.stdin.take().ok_or("no stdin")?, "{password}")?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!(
            "staff add {user}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// The kiosk over its HTTP form posts and the simulator panel's JSON API (docs/ui.md,
/// docs/demo.md), as crates/idkiosk/benches/session.rs does.
struct KioskHttp<'a> {
    http: reqwest::Client,
    demo: &'a Demo,
}

impl KioskHttp<'_> {
    async fn screen(&self) -> Res<String> {
        let page = self
            .http
            .get(format!("{}/", self.demo.kiosk))
            .send()
            .await?
            .text()
            .await?;
        let at = page.find("data-screen=\"").ok_or("no data-screen")? + 13;
        Ok(page[at..].split('"').next().unwrap_or_default().to_owned())
    }

    async fn wait_any(&self, screens: &[&str], timeout: Duration) -> Res<String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.screen().await {
                Ok(now) if screens.contains(&now.as_str()) => return Ok(now),
                Ok(now) if Instant::now() > deadline => {
                    return Err(format!("waiting for {screens:?}, at {now}").into())
                }
                Err(err) if Instant::now() > deadline => return Err(err),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    async fn wait(&self, screen: &str) -> Res<()> {
        self.wait_any(&[screen], Duration::from_secs(60))
            .await
            .map(drop)
    }

    async fn act(&self, form: &[(&str, &str)]) -> Res<()> {
        self.http
            .post(format!("{}/action", self.demo.kiosk))
            .form(form)
            .send()
            .await?;
        Ok(())
    }

    async fn panel(&self, path: &str, body: Value) -> Res<()> {
        let answer = self
            .http
            .post(format!("{}/sim/api/{path}", self.demo.panel))
            .json(&body)
            .send()
            .await?;
        if !answer.status().is_success() {
            return Err(format!("panel {path}: {}", answer.text().await?).into());
        }
        Ok(())
    }
}

fn signature_png() -> Vec<u8> {
    let mut pixels = vec![255u8; 300 * 100];
    for x in 20..280 {
        let y = 50 + ((x as f32 / 20.0).sin() * 25.0) as usize;
        pixels[y * 300 + x] = 0;
    }
    biometrics::GreyImage::new(300, 100, pixels)
        .expect("a 300 × 100 image")
        .to_png()
}

/// A whole expiry renewal of [`CITIZEN`] up to the payment; returns the screen it ends on.
async fn kiosk_session(kiosk: &KioskHttp<'_>) -> Res<String> {
    kiosk.wait("welcome").await?;
    kiosk.panel("card", json!({ "citizen": CITIZEN })).await?;
    kiosk
        .panel("camera", json!({ "show": "citizen", "citizen": CITIZEN }))
        .await?;
    kiosk.panel("finger", json!({ "finger": "good" })).await?;
    kiosk.panel("bank-card", json!({})).await?;
    kiosk.act(&[("action", "start")]).await?;
    kiosk.wait("business").await?;
    kiosk
        .act(&[("action", "business"), ("value", "expiry_renewal")])
        .await?;
    kiosk.wait("household").await?;
    kiosk
        .act(&[("action", "household"), ("value", "local")])
        .await?;
    kiosk.wait("id_number").await?;
    kiosk
        .act(&[("action", "id_number"), ("value", CITIZEN)])
        .await?;
    kiosk.wait("place_card").await?;
    kiosk.panel("card/reseat", json!({})).await?;
    kiosk.wait("confirm").await?;
    kiosk.act(&[("action", "confirm")]).await?;
    kiosk.wait("in_scope").await?;
    kiosk.act(&[("action", "confirm")]).await?;
    kiosk.wait("scan_receipt").await?;
    kiosk
        .panel("barcode", json!({ "citizen": CITIZEN }))
        .await?;
    kiosk.wait("live_photo").await?;
    kiosk.act(&[("action", "take_photo")]).await?;
    kiosk.wait("photo_review").await?;
    kiosk.act(&[("action", "use_photo")]).await?;
    kiosk.wait("mobile").await?;
    kiosk
        .act(&[
            ("action", "mobile"),
            ("first", "13912345678"),
            ("second", "13912345678"),
        ])
        .await?;
    kiosk.wait("signature").await?;
    kiosk
        .http
        .post(format!("{}/signature", kiosk.demo.kiosk))
        .header("content-type", "image/png")
        .body(signature_png())
        .send()
        .await?;
    kiosk.wait("payment").await?;
    kiosk
        .act(&[("action", "payment_method"), ("value", "unionpay")])
        .await?;
    // With a printer the session finishes; without one printing fails after the application.
    let end = kiosk
        .wait_any(&["finished", "referred"], Duration::from_secs(120))
        .await?;
    // Back to the start, so the session ends and the agent hands in its video.
    kiosk.act(&[("action", "confirm")]).await?;
    Ok(end)
}

/// The application number, from the center's database (the kiosk may not reach `finished`).
async fn application_no(demo: &Demo) -> Res<String> {
    let url = format!("sqlite://{}?mode=ro", demo.dir.join("center.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await?;
    let no: String =
        sqlx::query_scalar("SELECT application_no FROM center_applications WHERE id_number = ?")
            .bind(CITIZEN)
            .fetch_one(&pool)
            .await?;
    pool.close().await;
    Ok(no)
}

async fn login(browser: &Client, center: &str, (user, password): (&str, &str)) -> Res<()> {
    browser.goto(&format!("{center}/staff/login")).await?;
    axe_check(browser, "/staff/login").await?;
    browser
        .find(Locator::Id("username"))
        .await?
        .send_keys(user)
        .await?;
    browser
        .find(Locator::Id("password"))
        .await?
        .send_keys(password)
        .await?;
    browser.find(Locator::Id("login")).await?.click().await?;
    wait_path(browser, "/staff")
        .await
        .map_err(|err| format!("{user} logged in: {err}"))?;
    axe_check(browser, &format!("/staff ({user})")).await
}

/// Opens `path` of the center and runs the accessibility gate on it.
async fn visit_checked(browser: &Client, center: &str, path: &str) -> Res<()> {
    browser.goto(&format!("{center}{path}")).await?;
    axe_check(browser, path).await
}

/// Waits until the browser is at `path` (a click's navigation may not have started when the
/// click returns).
async fn wait_path(browser: &Client, path: &str) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let at = browser.current_url().await?;
        if at.path() == path {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("at {at}, not at {path}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_out(browser: &Client) -> Res<()> {
    browser
        .find(Locator::Css("form[action='/staff/logout'] button"))
        .await?
        .click()
        .await?;
    wait_path(browser, "/staff/login")
        .await
        .map_err(|err| format!("signed out: {err}").into())
}

/// Posts a form of the page with the browser's own cookies, as its submit button would, and
/// answers `[status, content type, the body's first 5 bytes]`.
const POST_FORM: &str = r#"
const [id, done] = arguments;
const form = document.getElementById(id).form;
fetch(form.action, {method: 'POST', body: new URLSearchParams(new FormData(form))})
  .then(async r => {
    const bytes = new Uint8Array(await r.arrayBuffer());
    done([r.status, r.headers.get('content-type'), String.fromCharCode(...bytes.slice(0, 5))]);
  })
  .catch(e => done([0, String(e), '']));
"#;

/// Fetches a URL with a `Range` header, as the video player does: `[status, content range]`.
const FETCH_RANGE: &str = r#"
const [url, done] = arguments;
fetch(url, {headers: {Range: 'bytes=0-1023'}})
  .then(r => done([r.status, r.headers.get('content-range')]))
  .catch(e => done([0, String(e)]));
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_clerk_finds_reprints_and_views_an_application_and_the_auditor_sees_it() -> Res<()> {
    if !require_browser("staff_console") {
        return Ok(());
    }
    let work = tempfile::tempdir()?;
    let demo = start_demo(work.path())?;
    staff_add(&demo, CLERK, "window_clerk")?;
    staff_add(&demo, AUDITOR, "auditor")?;
    staff_add(&demo, ADMIN, "administrator")?;

    let kiosk = KioskHttp {
        http: reqwest::Client::new(),
        demo: &demo,
    };
    let end = kiosk_session(&kiosk)
        .await
        .map_err(|err| format!("{err}\ndemo log:\n{}", demo.proc.log_tail(40)))?;
    let no = application_no(&demo).await?;
    eprintln!("kiosk session ended on `{end}`, application {no}");
    // Without ffmpeg there is no video to check: skipped with a note, a failure when `CI` is set.
    let video_expected = store::testing::require(
        "staff_console: video",
        "ffmpeg",
        store::testing::file("/usr/bin/ffmpeg", "scripts/setup/40-cups.sh"),
    )
    .is_some();

    let driver = Driver::start(work.path()).await?;
    let browser = driver.browser(work.path()).await?;
    let center = demo.center.clone();
    let outcome = async {
        // The clerk: log in, search by the application number, open it.
        login(&browser, &center, CLERK).await?;
        visit_checked(&browser, &center, "/staff/today").await?;
        visit_checked(&browser, &center, "/staff/referrals").await?;
        visit_checked(&browser, &center, "/staff/referrals?all=1").await?;
        visit_checked(&browser, &center, "/staff/deadlines").await?;
        visit_checked(&browser, &center, "/staff/applications").await?;
        browser.find(Locator::Id("q")).await?.send_keys(&no).await?;
        browser.find(Locator::Id("search")).await?.click().await?;
        wait_path(&browser, &format!("/staff/applications/{no}")).await?;
        axe_check(&browser, &format!("/staff/applications/{no}")).await?;
        let page = browser.source().await?;
        assert!(
            page.contains(CITIZEN),
            "the record shows the full ID number"
        );
        assert!(page.contains("王晓燕"), "the record shows the name");

        // Reprint the certificate: the form's POST (with the session's CSRF token) is a PDF.
        let answer = browser
            .execute_async(POST_FORM, vec![json!("reprint-certificate")])
            .await?;
        eprintln!("reprint certificate: {answer}");
        assert_eq!(answer[0], json!(200), "reprint: {answer}");
        assert_eq!(answer[1], json!("application/pdf"), "reprint: {answer}");
        assert_eq!(answer[2], json!("%PDF-"), "reprint: {answer}");
        // And the button itself opens the PDF in a new tab.
        let main_window = browser.window().await?;
        browser
            .find(Locator::Id("reprint-certificate"))
            .await?
            .click()
            .await?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while browser.windows().await?.len() < 2 {
            assert!(
                Instant::now() < deadline,
                "the reprint button opened no tab"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for window in browser.windows().await? {
            if window != main_window {
                browser.switch_to_window(window).await?;
                // The tab is the form's POST answer: the PDF at the reprint route.
                wait_path(
                    &browser,
                    &format!("/staff/applications/{no}/documents/certificate"),
                )
                .await?;
                browser.close_window().await?;
            }
        }
        browser.switch_to_window(main_window).await?;

        // The video: the agent hands it in after the session ended, so reload until it is there.
        let mut has_video = false;
        let deadline = Instant::now() + Duration::from_secs(if video_expected { 60 } else { 2 });
        loop {
            if browser.find(Locator::Id("video")).await.is_ok() {
                has_video = true;
                break;
            }
            if Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            browser.refresh().await?;
        }
        assert!(
            has_video || !video_expected,
            "ffmpeg is installed, so the application should have a video"
        );
        if has_video {
            let src = browser
                .find(Locator::Id("video"))
                .await?
                .attr("src")
                .await?
                .ok_or("the video has no src")?;
            let answer = browser.execute_async(FETCH_RANGE, vec![json!(src)]).await?;
            eprintln!("video range: {answer}");
            assert_eq!(
                answer[0],
                json!(206),
                "the video answers a byte range: {answer}"
            );
        } else {
            eprintln!("no video (ffmpeg missing): the video check is skipped");
        }
        sign_out(&browser).await?;

        // The auditor: the trail holds the clerk's views, the chain verifies.
        login(&browser, &center, AUDITOR).await?;
        visit_checked(&browser, &center, "/staff/audit?verify=1").await?;
        let chain = browser.find(Locator::Id("chain")).await?.text().await?;
        eprintln!("chain: {chain}");
        assert!(chain.contains("audit chain ok"), "chain: {chain}");
        let rows = browser.find_all(Locator::Css("table tbody tr")).await?;
        let mut entries = Vec::new();
        for row in rows {
            entries.push(row.text().await?);
        }
        let clerk_did = |action: &str, subject: &str| {
            entries
                .iter()
                .any(|e| e.contains(CLERK.0) && e.contains(action) && e.contains(subject))
        };
        for action in [
            "view_record",
            "view_photo",
            "view_signature",
            "reprint_document",
        ] {
            assert!(
                clerk_did(action, &no),
                "no {action} of {no} by the clerk in:\n{}",
                entries.join("\n")
            );
        }
        let reprints = entries
            .iter()
            .filter(|e| e.contains(CLERK.0) && e.contains("reprint_document"))
            .count();
        assert_eq!(reprints, 2, "the fetched and the clicked reprint");
        assert!(clerk_did("login", "-"), "no login of the clerk");
        assert!(clerk_did("logout", "-"), "no logout of the clerk");
        if has_video {
            assert!(clerk_did("view_video", &no), "no view_video of {no}");
        }
        let trail = browser.source().await?;
        assert!(
            !trail.contains(CITIZEN),
            "the trail shows no full ID number"
        );
        eprintln!(
            "audit trail: {} entries, the clerk's views all there",
            entries.len()
        );
        sign_out(&browser).await?;

        // The administrator: the accounts page and the fleet view (administrators only).
        login(&browser, &center, ADMIN).await?;
        visit_checked(&browser, &center, "/staff/accounts").await?;
        visit_checked(&browser, &center, "/fleet").await?;
        let fleet = browser.source().await?;
        assert!(
            !fleet.contains("http-equiv=\"refresh\""),
            "the fleet view reloads only when the operator asks"
        );
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    }
    .await;
    let _ = browser.close().await;
    outcome
}

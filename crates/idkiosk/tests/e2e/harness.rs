//! What every browser scenario stands on: child processes that die with the test (even on a
//! panic), chromedriver on a free port, a headless Chromium session, and the kiosk page seen
//! through its `data-screen` and `data-testid` attributes (docs/ui.md).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource as _, PenActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Debian's Chromium (`scripts/setup/50-browser.sh`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver, same build as [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The touchscreen in portrait, as the kiosk's 1080×1920 screen stands.
pub const WINDOW: (u32, u32) = (1080, 1920);

/// The flags that keep Chromium quiet on a closed network (REAL-PARTS.md, machines/rust.md).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=zh-CN",
    // As the kiosk's Chromium: voice prompts play when a page loads (issue 15 item 6).
    "--autoplay-policy=no-user-gesture-required",
];

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Whether the browser is here. Outside CI a missing browser is reported as skipped and the test
/// returns early; with `CI` set it fails, so CI can never pass without running the suite
/// (`store::testing::require`, the policy of every resource a test needs from the machine).
pub fn require_browser(test: &str) -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    let found = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} not installed (run scripts/setup/50-browser.sh)",
            missing.join(" and ")
        ))
    };
    store::testing::require(test, "the browser", found).is_some()
}

/// A free TCP port on loopback (free when asked; the child binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on loopback")
}

/// A child process in a process group of its own, killed with its whole group when dropped
/// (chromedriver's Chromium, the demo's kiosk agent and simulators go with it).
pub struct Proc {
    name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    log: PathBuf,
}

impl Proc {
    /// Starts `command` with stdout and stderr written to `log` (stdout's lines also kept for
    /// [`Proc::wait_line`]).
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Res<Proc> {
        let file = std::fs::File::create(log)?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(file.try_clone()?))
            .process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let kept = Arc::clone(&lines);
        let mut file = file;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
                kept.lock().expect("lines").push(line);
            }
        });
        Ok(Proc {
            name: name.to_owned(),
            child,
            lines,
            log: log.to_owned(),
        })
    }

    /// Everything it printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// The end of its log (stdout and stderr), for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Waits until a line of stdout satisfies `find`, which returns what it found.
    pub fn wait_line<T>(
        &mut self,
        timeout: Duration,
        mut find: impl FnMut(&[String]) -> Option<T>,
    ) -> Res<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = find(&self.stdout()) {
                return Ok(found);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before printing what was awaited; its log:\n{}",
                    self.name,
                    self.log_tail(40)
                )
                .into());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} printed nothing awaited within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log_tail(40)
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM to the group, up to 5 s for the leader to go, then SIGKILL to the group.
    pub fn stop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = killpg(group, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Stragglers of the group (and the leader if SIGTERM was not enough).
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL to one process (the kiosk agent in the crash scenarios).
pub fn kill_9(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// chromedriver on a free port, with the Chromium it starts in its process group.
pub struct Driver {
    pub url: String,
    _proc: Proc,
}

impl Driver {
    pub async fn start(dir: &Path) -> Res<Driver> {
        let port = free_port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .arg("--log-level=WARNING");
        let proc = Proc::spawn("chromedriver", command, &dir.join("chromedriver.log"))?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .send()
                .await
                .ok()
                .and_then(|r| r.error_for_status().ok());
            if let Some(response) = ready {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err(
                    format!("chromedriver not ready within 20 s:\n{}", proc.log_tail(20)).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Driver { url, _proc: proc })
    }

    /// A new headless Chromium with a fresh profile in `dir`.
    pub async fn browser(&self, dir: &Path) -> Res<Client> {
        let profile = dir.join("chromium-profile");
        std::fs::create_dir_all(&profile)?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await?;
        // --window-size is the window; make the page's viewport the screen's size.
        let frame = client
            .execute(
                "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]",
                vec![],
            )
            .await?;
        let extra = |i: usize| frame[i].as_u64().unwrap_or(0) as u32;
        client
            .set_window_size(WINDOW.0 + extra(0), WINDOW.1 + extra(1))
            .await?;
        Ok(client)
    }
}

/// The axe-core release `scripts/setup/50-browser.sh` installs (npm, pinned).
pub const AXE_VERSION: &str = "4.10.3";

/// The WCAG 2.2 A/AA rules: axe-core's tags for levels A and AA of WCAG 2.0, 2.1 and 2.2.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
  resultTypes: ['violations'],
}).then(
  r => done({violations: r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }))}),
  e => done({error: String(e)}),
);
"#;

/// `axe.min.js`, installed by `scripts/setup/50-browser.sh` under the workspace's `.idkiosk/npm`.
fn axe_source() -> Res<&'static str> {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(source) = SOURCE.get() {
        return Ok(source);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.idkiosk/npm/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path).map_err(|err| {
        format!(
            "axe-core {AXE_VERSION} not found at {} ({err}): run scripts/setup/50-browser.sh",
            path.display()
        )
    })?;
    if !source.starts_with(&format!("/*! axe v{AXE_VERSION}")) {
        return Err(format!(
            "{} is not axe-core {AXE_VERSION}: run scripts/setup/50-browser.sh",
            path.display()
        )
        .into());
    }
    Ok(SOURCE.get_or_init(|| source))
}

/// What one axe run gave.
pub enum AxeRun {
    /// The violations (empty when the page passes).
    Done(Vec<Value>),
    /// The page navigated away while axe ran; nothing was checked.
    PageLeft,
}

/// Injects axe-core into the page (once per page load) and runs the WCAG 2.2 A/AA rules.
pub async fn axe_run(client: &Client, what: &str) -> Res<AxeRun> {
    let started = Instant::now();
    let loaded = client
        .execute("return typeof window.axe === 'object'", vec![])
        .await
        .ok()
        .and_then(|v| v.as_bool());
    if loaded == Some(false) && client.execute(axe_source()?, vec![]).await.is_err() {
        return Ok(AxeRun::PageLeft);
    }
    let answer = match client.execute_async(AXE_RUN, vec![]).await {
        Ok(answer) => answer,
        Err(_) => return Ok(AxeRun::PageLeft),
    };
    if let Some(error) = answer["error"].as_str() {
        // axe's own "Axe is already running" or a page torn down mid-run.
        eprintln!("axe on {what}: {error}; not checked this time");
        return Ok(AxeRun::PageLeft);
    }
    let violations = answer["violations"].as_array().cloned().unwrap_or_default();
    eprintln!(
        "axe {AXE_VERSION} on {what}: {} violation(s) in {} ms",
        violations.len(),
        started.elapsed().as_millis()
    );
    Ok(AxeRun::Done(violations))
}

/// Fails with every violation (rule id, impact, what it asks, the nodes' CSS targets); with
/// `IDKIOSK_AXE_REPORT_ONLY` set it only prints them.
pub fn axe_verdict(what: &str, violations: &[Value]) -> Res<()> {
    if violations.is_empty() {
        return Ok(());
    }
    let mut report = format!(
        "axe-core {AXE_VERSION}: {} WCAG 2.2 A/AA violation(s) on {what}:",
        violations.len()
    );
    for v in violations {
        let targets: Vec<&str> = v["targets"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        report.push_str(&format!(
            "\n  {} ({}): {} -> {}",
            v["id"].as_str().unwrap_or("?"),
            v["impact"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or(""),
            targets.join(" | ")
        ));
    }
    if std::env::var_os("IDKIOSK_AXE_REPORT_ONLY").is_some() {
        eprintln!("{report}\n(IDKIOSK_AXE_REPORT_ONLY is set: not failing)");
        return Ok(());
    }
    Err(report.into())
}

/// Runs the gate on the page the browser shows now (the staff console, the fleet view), retrying
/// once if the page navigated away under it.
pub async fn axe_check(client: &Client, what: &str) -> Res<()> {
    for _ in 0..3 {
        if let AxeRun::Done(violations) = axe_run(client, what).await? {
            return axe_verdict(what, &violations);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("axe could not finish on {what}: the page kept navigating").into())
}

/// One screen-to-screen time after a touch.
#[derive(Debug, Clone)]
pub struct Timing {
    pub touched: String,
    pub from: String,
    pub to: String,
    pub ms: f64,
}

/// The kiosk touchscreen in the browser.
pub struct Kiosk {
    pub client: Client,
    pub url: String,
    pub timings: Vec<Timing>,
    /// The screens axe-core has checked in this scenario (each once).
    axe_checked: Mutex<std::collections::HashSet<String>>,
}

/// Text of an element in both languages (`.zh` over `.en`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

impl Bilingual {
    /// Whether it is `prompt`, word for word.
    pub fn is(&self, prompt: domain::prompts::Prompt) -> bool {
        self.zh == prompt.zh && self.en == prompt.en
    }
}

const SETTLE: Duration = Duration::from_secs(15);

impl Kiosk {
    pub fn new(client: Client, url: &str) -> Kiosk {
        Kiosk {
            client,
            url: url.trim_end_matches('/').to_owned(),
            timings: Vec::new(),
            axe_checked: Mutex::default(),
        }
    }

    /// Opens the touchscreen page.
    pub async fn open(&self) -> Res<()> {
        self.client.goto(&format!("{}/", self.url)).await?;
        Ok(())
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Option<Value> {
        self.client.execute(script, args).await.ok()
    }

    /// `body[data-screen]` now (None while a page is loading).
    pub async fn screen(&self) -> Option<String> {
        self.js(
            "return document.body && document.readyState !== 'loading' \
             ? document.body.dataset.screen || null : null",
            vec![],
        )
        .await
        .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// Waits until the screen is `want`.
    pub async fn wait_screen(&self, want: &str, timeout: Duration) -> Res<()> {
        self.wait_screen_any(&[want], timeout).await.map(|_| ())
    }

    /// Waits until the screen is one of `wants` and returns it.
    pub async fn wait_screen_any(&self, wants: &[&str], timeout: Duration) -> Res<String> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some(screen) = self.screen().await {
                if wants.contains(&screen.as_str()) {
                    self.axe_once(&screen).await?;
                    return Ok(screen);
                }
                last = Some(screen);
            }
            if Instant::now() > deadline {
                let error = self.error().await;
                return Err(format!(
                    "waited {timeout:?} for screen {wants:?}; still on {last:?} with error {error:?}"
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The accessibility gate on `screen`, the first time the scenario reaches it. A page that
    /// reloads under axe (the agent published the next screen) is checked the next time.
    async fn axe_once(&self, screen: &str) -> Res<()> {
        if self.axe_checked.lock().unwrap().contains(screen) {
            return Ok(());
        }
        let what = format!("kiosk screen `{screen}`");
        match axe_run(&self.client, &what).await? {
            AxeRun::Done(violations) => {
                self.axe_checked.lock().unwrap().insert(screen.to_owned());
                axe_verdict(&what, &violations)
            }
            AxeRun::PageLeft => Ok(()),
        }
    }

    /// Whether an element with this `data-testid` is on the page.
    pub async fn has(&self, testid: &str) -> bool {
        self.js(
            "return !!document.querySelector(`[data-testid=\"${arguments[0]}\"]`)",
            vec![json!(testid)],
        )
        .await
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
    }

    /// A touch that stays on the page (a field, a key).
    pub async fn tap(&self, testid: &str) -> Res<()> {
        self.click_raw(testid).await
    }

    /// Clicks the element with this `data-testid` (retrying while the page reloads under it).
    async fn click_raw(&self, testid: &str) -> Res<()> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let attempt = async {
                let element = self
                    .client
                    .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
                    .await?;
                element.click().await?;
                Ok::<_, fantoccini::error::CmdError>(())
            }
            .await;
            match attempt {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    let screen = self.screen().await;
                    return Err(format!("clicking {testid} on {screen:?}: {e}").into());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(30)).await,
            }
        }
    }

    /// A touch that leads to another page: clicks `testid`, waits for the next page and records
    /// the time from the pointer going down to the new page's first paint.
    pub async fn touch(&mut self, testid: &str) -> Res<()> {
        let from = self.screen().await.unwrap_or_default();
        self.js(
            "window.__e2eOld = true; sessionStorage.removeItem('e2eT0'); \
             window.addEventListener('pointerdown', function (e) { \
               sessionStorage.setItem('e2eT0', String(performance.timeOrigin + e.timeStamp)); \
             }, { capture: true, once: true });",
            vec![],
        )
        .await;
        self.click_raw(testid).await?;
        let deadline = Instant::now() + SETTLE;
        let measured = loop {
            let probe = self
                .js(
                    "if (window.__e2eOld || document.readyState === 'loading') return null; \
                     var t0 = parseFloat(sessionStorage.getItem('e2eT0')); \
                     var paint = performance.getEntriesByName('first-contentful-paint')[0]; \
                     var nav = performance.getEntriesByType('navigation')[0]; \
                     var at = paint ? paint.startTime : (nav ? nav.domContentLoadedEventEnd : performance.now()); \
                     return { screen: document.body.dataset.screen, ms: performance.timeOrigin + at - t0 };",
                    vec![],
                )
                .await;
            if let Some(value) = probe.filter(|v| !v.is_null()) {
                break value;
            }
            if Instant::now() > deadline {
                return Err(
                    format!("no new page within {SETTLE:?} after touching {testid}").into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        if let Some(ms) = measured["ms"].as_f64().filter(|ms| ms.is_finite()) {
            self.timings.push(Timing {
                touched: testid.to_owned(),
                from,
                to: measured["screen"].as_str().unwrap_or_default().to_owned(),
                ms,
            });
        }
        Ok(())
    }

    /// Types on the on-screen keypad (`key-0`…`key-9`, `key-X`), one touch per character.
    pub async fn keypad(&self, text: &str) -> Res<()> {
        for c in text.chars() {
            let key = if c == 'x' { 'X' } else { c };
            self.click_raw(&format!("key-{key}")).await?;
        }
        Ok(())
    }

    /// The value of an input (keypad fields).
    pub async fn value(&self, testid: &str) -> Option<String> {
        self.js(
            "var e = document.querySelector(`[data-testid=\"${arguments[0]}\"]`); return e ? e.value : null;",
            vec![json!(testid)],
        )
        .await
        .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// The text of the element with this `data-testid`.
    pub async fn text(&self, testid: &str) -> Option<String> {
        self.js(
            "var e = document.querySelector(`[data-testid=\"${arguments[0]}\"]`); \
             return e ? e.textContent.trim() : null;",
            vec![json!(testid)],
        )
        .await
        .and_then(|v| v.as_str().map(str::to_owned))
    }

    async fn bilingual_all(&self, testid: &str) -> Vec<Bilingual> {
        let found = self
            .js(
                "return Array.prototype.map.call(document.querySelectorAll(`[data-testid=\"${arguments[0]}\"]`), \
                 function (e) { var zh = e.querySelector('.zh'), en = e.querySelector('.en'); \
                 return [zh ? zh.textContent : '', en ? en.textContent : '']; });",
                vec![json!(testid)],
            )
            .await
            .unwrap_or_default();
        found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|pair| Bilingual {
                        zh: pair[0].as_str().unwrap_or_default().to_owned(),
                        en: pair[1].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `.zh` and `.en` texts of the element with this `data-testid`.
    pub async fn bilingual(&self, testid: &str) -> Option<Bilingual> {
        self.bilingual_all(testid).await.into_iter().next()
    }

    /// The screen's error area (`data-testid="error"`).
    pub async fn error(&self) -> Option<Bilingual> {
        self.bilingual_all("error").await.into_iter().next()
    }

    /// The standing notices (`data-testid="notice"`).
    pub async fn notices(&self) -> Vec<Bilingual> {
        self.bilingual_all("notice").await
    }

    /// Draws a signature on the canvas with a pen: real pointer events through WebDriver.
    pub async fn sign(&self, testid: &str) -> Res<()> {
        let pad = self
            .client
            .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
            .await?;
        // Two strokes of a cursive-looking line, as points relative to the pad's centre.
        let strokes: [Vec<(f64, f64)>; 2] = [
            (0..=60)
                .map(|i| {
                    let t = f64::from(i) / 6.0;
                    (
                        -330.0 + 9.0 * f64::from(i),
                        45.0 * (1.3 * t).sin() + 18.0 * (3.7 * t).cos(),
                    )
                })
                .collect(),
            (0..=24)
                .map(|i| {
                    let t = f64::from(i) / 4.0;
                    (150.0 + 8.0 * f64::from(i), 70.0 - 25.0 * (2.0 * t).sin())
                })
                .collect(),
        ];
        let mut pen = PenActions::new("pen".into());
        for points in strokes {
            let (x0, y0) = points[0];
            pen = pen
                .then(PointerAction::MoveToElement {
                    element: pad.clone(),
                    duration: None,
                    x: x0.round(),
                    y: y0.round(),
                })
                .then(PointerAction::Down { button: 0 });
            for &(x, y) in &points[1..] {
                pen = pen.then(PointerAction::MoveToElement {
                    element: pad.clone(),
                    duration: Some(Duration::from_millis(8)),
                    x: x.round(),
                    y: y.round(),
                });
            }
            pen = pen.then(PointerAction::Up { button: 0 });
        }
        self.client.perform_actions(pen).await?;
        self.client.release_actions().await?;
        Ok(())
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) -> Res<()> {
        let png = self.client.screenshot().await?;
        std::fs::write(path, png)?;
        Ok(())
    }
}

/// Median and 95th percentile (nearest rank) of `values`, in their unit.
pub fn median_p95(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some((rank(0.5), rank(0.95)))
}

/// Prints the screen-to-screen times of a run.
pub fn report_timings(label: &str, timings: &[Timing]) {
    for t in timings {
        println!(
            "  touch {:<24} {:>16} -> {:<16} {:7.1} ms",
            t.touched, t.from, t.to, t.ms
        );
    }
    let ms: Vec<f64> = timings.iter().map(|t| t.ms).collect();
    if let Some((median, p95)) = median_p95(&ms) {
        println!(
            "{label}: screen-to-screen after a touch over {} touches: median {median:.1} ms, p95 {p95:.1} ms (goal p95 < 150 ms)",
            ms.len()
        );
    }
}

/// Whether screenshots for docs/img are wanted (`IDKIOSK_SCREENSHOTS=1`).
pub fn screenshots_wanted() -> bool {
    std::env::var("IDKIOSK_SCREENSHOTS").is_ok_and(|v| v == "1")
}

/// docs/img in the repository.
pub fn docs_img() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img")
}

/// A private cupsd with one cups-pdf queue `PDF` whose files land in `out/`.
pub struct Cups {
    pub uri: String,
    pub out: PathBuf,
    conf: PathBuf,
    _proc: Proc,
}

impl Cups {
    pub fn start(dir: &Path) -> Res<Cups> {
        for tool in ["/usr/sbin/cupsd", "/usr/sbin/lpadmin", "/usr/bin/pdftotext"] {
            if !Path::new(tool).exists() {
                return Err(format!("{tool} missing: run scripts/setup/40-cups.sh").into());
            }
        }
        let d = dir.join("cups");
        for sub in ["spool", "tmp", "cache", "state", "ssl", "log", "out", "ppd"] {
            std::fs::create_dir_all(d.join(sub))?;
        }
        use std::os::unix::fs::PermissionsExt as _;
        for (sub, mode) in [("tmp", 0o1777), ("out", 0o1777)] {
            std::fs::set_permissions(d.join(sub), std::fs::Permissions::from_mode(mode))?;
        }
        // cupsd's filters run as lp and cups-pdf writes as nobody: they must reach the folder.
        let mut up = Some(d.as_path());
        while let Some(p) = up {
            if p == Path::new("/tmp") || p == Path::new("/") {
                break;
            }
            let mode = std::fs::metadata(p)?.permissions().mode();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode | 0o755))?;
            up = p.parent();
        }
        let port = free_port();
        let dd = d.display();
        std::fs::write(
            d.join("cups-files.conf"),
            format!(
                "ServerRoot {dd}\nRequestRoot {dd}/spool\nTempDir {dd}/tmp\nCacheDir {dd}/cache\n\
                 StateDir {dd}/state\nServerKeychain {dd}/ssl\nAccessLog {dd}/log/access_log\n\
                 ErrorLog {dd}/log/error_log\nPageLog {dd}/log/page_log\nSystemGroup root\n"
            ),
        )?;
        std::fs::write(
            d.join("cupsd.conf"),
            format!(
                "Listen 127.0.0.1:{port}\nBrowsing No\nWebInterface No\nLogLevel warn\n\
                 PreserveJobFiles Yes\n\
                 <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
                 <Policy default>\n  <Limit All>\n    Order deny,allow\n    Allow all\n  </Limit>\n</Policy>\n"
            ),
        )?;
        let name = format!("idkiosk-e2e-{port}");
        let conf = PathBuf::from(format!("/etc/cups/cups-pdf-{name}.conf"));
        std::fs::write(
            &conf,
            format!("Out {dd}/out\nAnonDirName {dd}/out\nLabel 1\n"),
        )
        .map_err(|e| format!("writing {} (the suite runs as root): {e}", conf.display()))?;
        let mut command = Command::new("/usr/sbin/cupsd");
        command
            .arg("-f")
            .arg("-c")
            .arg(d.join("cupsd.conf"))
            .arg("-s")
            .arg(d.join("cups-files.conf"));
        let proc = Proc::spawn("cupsd", command, &d.join("log/cupsd.out"))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!("cupsd not listening: {}", proc.log_tail(20)).into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = Command::new("/usr/sbin/lpadmin")
            .args(["-h", &format!("127.0.0.1:{port}"), "-p", "PDF", "-v"])
            .arg(format!("cups-pdf:/{name}"))
            .args(["-m", "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd", "-E"])
            .output()?;
        if !out.status.success() {
            return Err(format!("lpadmin: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(Cups {
            uri: format!("ipp://127.0.0.1:{port}/printers/PDF"),
            out: d.join("out"),
            conf,
            _proc: proc,
        })
    }

    /// The PDFs printed so far.
    pub fn pdfs(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    /// The documents as CUPS received them (kept by `PreserveJobFiles`): cups-pdf's output is
    /// re-rendered through PostScript by Ghostscript and loses the text's Unicode mapping of the
    /// embedded CJK fonts, so the text is read from what the kiosk sent.
    pub fn received(&self) -> Vec<PathBuf> {
        let spool = self.out.with_file_name("spool");
        let mut found: Vec<PathBuf> = std::fs::read_dir(spool)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('d'))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    /// Waits until at least `n` PDFs are printed and returns them.
    pub async fn wait_pdfs(&self, n: usize, timeout: Duration) -> Res<Vec<PathBuf>> {
        let deadline = Instant::now() + timeout;
        loop {
            let pdfs = self.pdfs();
            if pdfs.len() >= n {
                // cups-pdf writes the file and then renames; give the last one a moment.
                tokio::time::sleep(Duration::from_millis(300)).await;
                return Ok(self.pdfs());
            }
            if Instant::now() > deadline {
                return Err(
                    format!("{} of {n} PDFs printed within {timeout:?}", pdfs.len()).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Cups {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.conf);
    }
}

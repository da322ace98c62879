//! The system under test as real processes: a private CUPS with a cups-pdf queue, `idkiosk demo`
//! (popsys, center, paysim, simulators, the supervised kiosk agent, the `/sim` panel) on free
//! ports with a fresh data folder, and a headless Chromium on the kiosk screen.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use crate::harness::Cups;
use crate::harness::{require_browser, Driver, Kiosk, Proc, Res};

/// The day of the decision table (docs/domain.md 3.6), which the fixed demo citizens are made for.
pub const TODAY: &str = "2026-11-25";

/// How a scenario wants the demo.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The kiosk's inactivity timeout, when the demo lets it be set.
    pub inactivity_secs: Option<u64>,
}

/// The page count of a PDF (poppler's pdfinfo).
pub fn pdf_pages(path: &Path) -> Res<u32> {
    let out = Command::new("pdfinfo").arg(path).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("pdfinfo {}: no page count", path.display()).into())
}

/// The text of a PDF (poppler's pdftotext).
pub fn pdf_text(path: &Path) -> Res<String> {
    let out = Command::new("pdftotext").arg(path).arg("-").output()?;
    if !out.status.success() {
        return Err(format!(
            "pdftotext {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The control panel's JSON API (`/sim/api/…`, docs/demo.md).
pub struct Panel {
    pub base: String,
    http: reqwest::Client,
}

impl Panel {
    async fn answer(response: reqwest::Response, what: &str) -> Res<Value> {
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("panel {what}: {status}: {text}").into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> Res<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?;
        Self::answer(response, &format!("GET {path}")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Res<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        Self::answer(response, &format!("POST {path} {body}")).await
    }

    pub async fn status(&self) -> Res<Value> {
        self.get("/sim/api/status").await
    }

    /// The name on record of a fixed demo citizen.
    pub async fn citizen_name(&self, id: &str) -> Res<String> {
        let list = self.get("/sim/api/citizens").await?;
        list["citizens"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["id"] == json!(id)))
            .and_then(|c| c["name"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("the panel does not list citizen {id}").into())
    }

    pub async fn place_card(&self, id: &str) -> Res<Value> {
        self.post("/sim/api/card", json!({ "citizen": id })).await
    }

    pub async fn card_unreadable(&self, unreadable: bool) -> Res<Value> {
        self.post(
            "/sim/api/card/unreadable",
            json!({ "unreadable": unreadable }),
        )
        .await
    }

    pub async fn scan_receipt_of(&self, id: &str) -> Res<Value> {
        self.post("/sim/api/barcode", json!({ "citizen": id }))
            .await
    }

    /// `show`: `citizen` (their own face), `other` (someone else), `none` (no face).
    pub async fn camera(&self, show: &str, id: &str) -> Res<Value> {
        self.post("/sim/api/camera", json!({ "show": show, "citizen": id }))
            .await
    }

    /// `good`, `smudged`, `partial`, `blank`, `other` or `none`.
    pub async fn finger(&self, mode: &str) -> Res<Value> {
        self.post("/sim/api/finger", json!({ "finger": mode }))
            .await
    }

    pub async fn insert_bank_card(&self) -> Res<Value> {
        self.post("/sim/api/bank-card", json!({})).await
    }

    /// Pays the open WeChat order as the payer's phone would after scanning the QR code.
    pub async fn wechat_pay(&self) -> Res<Value> {
        self.post("/sim/api/wechat/pay", json!({})).await
    }

    /// paysim's WeChat orders: `out_trade_no`, `trade_state`, …
    pub async fn wechat_orders(&self) -> Res<Vec<Value>> {
        let answer = self.get("/sim/api/wechat/orders").await?;
        Ok(answer["orders"].as_array().cloned().unwrap_or_default())
    }

    pub async fn set_paper(&self, paper: bool) -> Res<Value> {
        self.post("/sim/api/printer", json!({ "paper": paper }))
            .await
    }

    /// The kiosk agent's pid and start count.
    pub async fn kiosk_agent(&self) -> Res<(Option<u32>, u64)> {
        let status = self.status().await?;
        let pid = status["kiosk"]["pid"].as_u64().map(|p| p as u32);
        let starts = status["kiosk"]["starts"].as_u64().unwrap_or(0);
        Ok((pid, starts))
    }
}

/// Everything one scenario runs against; every process goes when it is dropped.
pub struct Stack {
    // Dropped in this order: the browser, the demo (and its agent), CUPS, then the files.
    pub kiosk: Kiosk,
    pub panel: Panel,
    _driver: Driver,
    pub demo: Proc,
    /// The kiosk agent when the test runs it instead of the demo.
    _agent: Option<Proc>,
    pub cups: Cups,
    /// The demo's `--data-dir`.
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

/// The `--…-listen` flags and the others `idkiosk demo --help` offers.
fn demo_flags() -> Res<BTreeSet<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(["demo", "--help"])
        .output()?;
    let help = String::from_utf8_lossy(&out.stdout);
    Ok(help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == ']')
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.trim_end_matches(['.', ':', ')']).to_owned())
        .collect())
}

/// Runs `idkiosk kiosk` as the demo would (`--no-agent`), with `--inactivity-secs`.
async fn start_agent(
    panel: &Panel,
    data_dir: &Path,
    printer: &str,
    inactivity_secs: u64,
) -> Res<Proc> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        match panel.status().await {
            Ok(status) => break status,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let text = |v: &Value| -> Res<String> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the panel's status lacks a value: {status}").into())
    };
    let listen = text(&status["urls"]["kiosk"])?
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let secret = std::fs::read_to_string(data_dir.join("kiosk.secret"))?;
    let devices = &status["devices"];
    let mut command = Command::new(env!("CARGO_BIN_EXE_idkiosk"));
    command
        .arg("kiosk")
        .args(["--center", &text(&status["urls"]["center"])?])
        .args(["--kiosk-id", &text(&status["urls"]["kiosk_id"])?])
        .args(["--card-reader", &text(&devices["card_reader"]["port"])?])
        .args(["--barcode", &text(&devices["barcode"]["port"])?])
        .args(["--fingerprint", &text(&devices["fingerprint"]["port"])?])
        .args(["--pos", &text(&devices["pos"]["port"])?])
        .args(["--camera", &text(&devices["camera"]["stream"])?])
        .args(["--printer", printer])
        .args(["--listen", &listen])
        .arg("--data-dir")
        .arg(data_dir.join("kiosk"))
        .arg("--no-video")
        .args(["--inactivity-secs", &inactivity_secs.to_string()])
        .env("IDKIOSK_KIOSK_SECRET", secret.trim())
        .env("IDKIOSK_TODAY", TODAY);
    Proc::spawn("idkiosk kiosk", command, &data_dir.join("../kiosk.log"))
}

impl Stack {
    /// Starts everything for `scenario`; `None` (after a skip note) when the browser is missing
    /// outside CI.
    pub async fn start(scenario: &str, options: Options) -> Res<Option<Stack>> {
        if !require_browser(scenario) {
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("idkiosk-e2e-{scenario}-"))
            .tempdir()?;
        let cups = Cups::start(dir.path())?;
        let flags = demo_flags()?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_idkiosk"));
        command
            .arg("demo")
            .arg("--data-dir")
            .arg(dir.path().join("demo"))
            .env("IDKIOSK_TODAY", TODAY)
            .env("IDKIOSK_PRINTER", &cups.uri)
            .env("RUST_LOG", "info");
        if flags.contains("--citizens") {
            command.args(["--citizens", "200"]);
        }
        // The serial simulators at full speed (a paced fingerprint image takes 6.4 s at 57600
        // baud); the sessions test the kiosk's behaviour, not the baud rates.
        if flags.contains("--unpaced-devices") {
            command.arg("--unpaced-devices");
        }
        if flags.contains("--printer") {
            command.args(["--printer", &cups.uri]);
        }
        for flag in flags
            .iter()
            .filter(|f| f.ends_with("-listen") || *f == "--listen")
        {
            command.args([flag.as_str(), "127.0.0.1:0"]);
        }
        // A short inactivity timeout: through the demo if it takes one, else the test runs the
        // kiosk agent itself (`--no-agent`) with the demo's arguments and the timeout.
        let mut own_agent = None;
        if let Some(secs) = options.inactivity_secs {
            if flags.contains("--inactivity-secs") {
                command.args(["--inactivity-secs", &secs.to_string()]);
            } else if flags.contains("--no-agent") {
                command.arg("--no-agent");
                own_agent = Some(secs);
            } else {
                return Err("idkiosk demo has neither --inactivity-secs nor --no-agent".into());
            }
        }
        let mut demo = Proc::spawn("idkiosk demo", command, &dir.path().join("demo.log"))?;
        let panel_base = demo.wait_line(Duration::from_secs(180), |lines| {
            lines.iter().find_map(|line| {
                line.split_whitespace()
                    .filter(|w| w.starts_with("http://"))
                    .find_map(|w| w.find("/sim").map(|at| w[..at].to_owned()))
            })
        })?;
        let panel = Panel {
            base: panel_base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
        };
        let data_dir = dir.path().join("demo");
        let agent = match own_agent {
            Some(secs) => Some(start_agent(&panel, &data_dir, &cups.uri, secs).await?),
            None => None,
        };
        // Ready when the agent runs and its touchscreen answers.
        let deadline = Instant::now() + Duration::from_secs(120);
        let kiosk_url = loop {
            if let Ok(status) = panel.status().await {
                let running = agent.is_some() || status["kiosk"]["pid"].as_u64().is_some();
                if let (Some(url), true) = (status["urls"]["kiosk"].as_str(), running) {
                    let up = reqwest::get(url)
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if up {
                        break url.to_owned();
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the kiosk agent did not come up within 120 s:\n{}",
                    demo.log_tail(40)
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let driver = Driver::start(dir.path()).await?;
        let client = driver.browser(dir.path()).await?;
        let kiosk = Kiosk::new(client, &kiosk_url);
        kiosk.open().await?;
        Ok(Some(Stack {
            kiosk,
            panel,
            _driver: driver,
            demo,
            _agent: agent,
            cups,
            data_dir,
            _dir: dir,
        }))
    }

    /// What the center recorded (its SQLite database in the demo's folder, opened read-only
    /// with plain SQL so the test never migrates the demo's database): the applications as
    /// `(application_no, id_number)` and the payments as `(out_trade_no, application_no,
    /// method, state)`.
    pub async fn center_records(&self) -> Res<(Vec<(String, String)>, Vec<[String; 4]>)> {
        use sqlx::sqlite::SqliteConnectOptions;
        use sqlx::Connection as _;
        let options = SqliteConnectOptions::new()
            .filename(self.data_dir.join("center.db"))
            .read_only(true);
        let mut db = sqlx::SqliteConnection::connect_with(&options).await?;
        let applications: Vec<(String, String)> =
            sqlx::query_as("SELECT application_no, id_number FROM center_applications")
                .fetch_all(&mut db)
                .await?;
        let payments: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT out_trade_no, application_no, method, state FROM center_payments",
        )
        .fetch_all(&mut db)
        .await?;
        db.close().await?;
        Ok((
            applications,
            payments
                .into_iter()
                .map(|(a, b, c, d)| [a, b, c, d])
                .collect(),
        ))
    }

    /// Checks the center holds exactly one application for `id` and exactly one paid payment
    /// (none lost, none doubled), waiting up to 30 s for the outbox to deliver.
    pub async fn assert_one_application_one_payment(&self, id: &str) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (applications, payments) = self.center_records().await?;
            let mine: Vec<_> = applications.iter().filter(|a| a.1 == id).collect();
            let paid: Vec<_> = payments.iter().filter(|p| p[3] == "SUCCESS").collect();
            if mine.len() == 1 && paid.len() == 1 {
                assert_eq!(paid[0][1], mine[0].0, "the payment is for the application");
                println!(
                    "  center: one application {} and one paid payment {} ({})",
                    mine[0].0, paid[0][0], paid[0][2]
                );
                return Ok(());
            }
            assert!(mine.len() <= 1, "duplicate applications: {mine:?}");
            assert!(paid.len() <= 1, "payment doubled: {paid:?}");
            if Instant::now() > deadline {
                return Err(format!(
                    "after 30 s the center has {} applications for {id} and {} paid payments: {payments:?}",
                    mine.len(),
                    paid.len()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The demo's log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.demo.log_tail(60)
    }

    /// Waits until the supervisor has started a new kiosk agent after `old_pid` and its
    /// touchscreen answers again, then reloads the page.
    pub async fn wait_agent_restarted(&self, old_pid: u32) -> Res<u32> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((Some(pid), _)) = self.panel.kiosk_agent().await {
                if pid != old_pid {
                    let up = reqwest::get(&self.kiosk.url)
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if up {
                        self.kiosk.open().await?;
                        return Ok(pid);
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no new kiosk agent after killing {old_pid}:\n{}",
                    self.log_tail()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

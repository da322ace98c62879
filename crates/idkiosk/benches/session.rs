//! System time of a whole kiosk session with instant simulated people, against a baseline measured
//! in the same run: the center's calls of a session alone.
//!
//! Each round starts `idkiosk demo` on a fresh data folder (a receipt can be used once, so every
//! round needs fresh demo data) with a private CUPS server and the cups-pdf queue, then
//! - **session**: drives the kiosk through a whole expiry renewal of 王晓燕 (card read, scope,
//!   receipt, live photo crop and face check, mobile, two fingers enrolled, signature, UnionPay at
//!   the POS simulator, certificate and payment notice printed through CUPS) over its HTTP actions
//!   and the simulator panel, answering every screen the moment it appears;
//! - **baseline**: on another fresh demo, the same center calls for her (as a lost replacement,
//!   which needs no card) straight through
//!   `center::client::CenterClient`: scope, receipt, faces, blobs, application, payment, the two
//!   documents, end.
//!
//! The devices run unpaced except the fingerprint module, which sends at its real rate: step 9
//! (two fingers enrolled, two presses each, the finger on the sensor all along) is timed on its
//! own, from the fingerprint screen to the signature screen, at the 115200 baud the kiosk moves
//! the module to with the second press of each finger matched on the module (two uploads),
//! against two more sessions per round whose kiosks upload every press (four uploads,
//! `--upload-every-press`): at 115200, and at the factory 57600 baud (issue 15 item 9, "today
//! ~28 s").
//!
//! Run: `cargo bench -p idkiosk --bench session` (env `IDKIOSK_BENCH_ROUNDS`, default 5). Needs the
//! project's setup (face models, fonts, cups, cups-pdf, ffmpeg). Prints medians and p95s and
//! the ratio.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use center::client::CenterClient;
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The one demo citizen with an unused receipt and a face that passes step 7; a receipt is used
/// once, so the session and the baseline each get a fresh demo.
const SESSION_CITIZEN: &str = popsys::seed::demo::RENEWAL_IN_WINDOW;
const BASELINE_CITIZEN: &str = popsys::seed::demo::RENEWAL_IN_WINDOW;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // The demo stops its children on SIGTERM.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A private cupsd with the cups-pdf queue, from scripts/lib.sh.
fn start_cups(dir: &Path) -> Res<(Killed, String)> {
    let script = format!(
        "source scripts/lib.sh && start_private_cups {dir} >&2 && echo \"$IDKIOSK_TEST_PRINTER\" && wait",
        dir = dir.display()
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let uri = line.trim().to_owned();
    if !uri.starts_with("ipp://") {
        return Err(format!("cups did not start: {uri:?}").into());
    }
    Ok((Killed(child), uri))
}

struct Demo {
    _process: Killed,
    kiosk: String,
    panel: String,
    center: String,
    secret: String,
}

/// The factory rate of the fingerprint module, and the one the kiosk moves it to.
const FACTORY_BAUD: u32 = 57_600;
const FAST_BAUD: u32 = 115_200;

fn start_demo(
    dir: &Path,
    printer: &str,
    fingerprint_baud: u32,
    upload_every_press: bool,
) -> Res<Demo> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args([
            "demo",
            "--citizens",
            "10",
            "--no-video",
            "--unpaced-devices",
            "--paced-fingerprint",
        ])
        .args(["--fingerprint-baud", &fingerprint_baud.to_string()])
        .args(upload_every_press.then_some("--upload-every-press"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--printer", printer])
        .args([
            "--center-listen",
            "127.0.0.1:0",
            "--popsys-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--panel-listen",
            "127.0.0.1:0",
            "--kiosk-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--camera-listen",
            "127.0.0.1:0",
            "--paysim-listen",
            "127.0.0.1:0",
        ])
        .env("IDKIOSK_TODAY", "2026-11-25")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let process = Killed(child);
    let (mut kiosk, mut panel, mut center) = (None, None, None);
    for line in out.by_ref() {
        let line = line?;
        let url = line.split_whitespace().find(|w| w.starts_with("http://"));
        if line.contains("kiosk screen:") && kiosk.is_none() {
            kiosk = url.map(|u| u.trim_end_matches('/').to_owned());
        } else if line.contains("control panel:") {
            panel = url.map(|u| u.trim_end_matches("/sim").to_owned());
        } else if line.contains("center (kiosk API):") {
            center = url.map(str::to_owned);
        }
        if kiosk.is_some() && panel.is_some() && center.is_some() {
            break;
        }
    }
    // Keep reading what the demo and its agent print, or a full pipe stops them.
    std::thread::spawn(move || out.for_each(drop));
    let secret = std::fs::read_to_string(dir.join("kiosk.secret"))?
        .trim()
        .to_owned();
    Ok(Demo {
        _process: process,
        kiosk: kiosk.ok_or("no kiosk URL")?,
        panel: panel.ok_or("no panel URL")?,
        center: center.ok_or("no center URL")?,
        secret,
    })
}

struct Driver {
    http: reqwest::Client,
    demo: Demo,
}

impl Driver {
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

    async fn wait(&self, screen: &str) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // The agent is a child of the demo and may still be starting.
            let now = match self.screen().await {
                Ok(now) => now,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if now == screen {
                return Ok(());
            }
            if Instant::now() > deadline || now == "referred" {
                return Err(format!("waiting for {screen}, at {now}").into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
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

/// One whole session; returns its time and step 9's.
async fn session(driver: &Driver) -> Res<(Duration, Duration)> {
    let id = SESSION_CITIZEN;
    driver.panel("camera", json!({ "citizen": id })).await?;
    driver.panel("finger", json!({ "finger": "good" })).await?;
    driver.panel("bank-card", json!({})).await?;
    let signature = signature_png();
    let started = Instant::now();
    driver.act(&[("action", "start")]).await?;
    driver.wait("business").await?;
    driver
        .act(&[("action", "business"), ("value", "expiry_renewal")])
        .await?;
    driver.wait("household").await?;
    driver
        .act(&[("action", "household"), ("value", "local")])
        .await?;
    driver.wait("id_number").await?;
    driver
        .act(&[("action", "id_number"), ("value", id)])
        .await?;
    driver.wait("place_card").await?;
    driver.panel("card", json!({ "citizen": id })).await?;
    driver.wait("confirm").await?;
    driver.act(&[("action", "confirm")]).await?;
    driver.wait("in_scope").await?;
    driver.act(&[("action", "confirm")]).await?;
    driver.wait("scan_receipt").await?;
    driver.panel("barcode", json!({ "citizen": id })).await?;
    driver.wait("live_photo").await?;
    driver.act(&[("action", "take_photo")]).await?;
    driver.wait("photo_review").await?;
    driver.act(&[("action", "use_photo")]).await?;
    driver.wait("mobile").await?;
    driver
        .act(&[
            ("action", "mobile"),
            ("first", "13912345678"),
            ("second", "13912345678"),
        ])
        .await?;
    driver.wait("fingerprints").await?;
    let fingers = Instant::now();
    driver.wait("signature").await?;
    let fingers = fingers.elapsed();
    driver
        .http
        .post(format!("{}/signature", driver.demo.kiosk))
        .header("content-type", "image/png")
        .body(signature)
        .send()
        .await?;
    driver.wait("payment").await?;
    driver
        .act(&[("action", "payment_method"), ("value", "unionpay")])
        .await?;
    driver.wait("finished").await?;
    Ok((started.elapsed(), fingers))
}

/// The center's calls of a session, alone.
async fn baseline(demo: &Demo) -> Res<Duration> {
    use center::payments::{CreatePaymentRequest, PosReport};
    use center::steps::{ApplicationRequest, FacesRequest, FingerJson, ReceiptRequest};
    use center::wire::ScopeRequest;
    let id = BASELINE_CITIZEN;
    let receipt = popsys::seed::fixed_citizens()
        .into_iter()
        .find(|b| b.citizen.id.as_str() == id)
        .and_then(|b| b.receipts.into_iter().next())
        .ok_or("the baseline citizen has no receipt")?
        .code;
    let live = popsys::seed::demo::certified_photo(id)?.ok_or("no certified photo")?;
    let press = biometrics::synth::impression(1, 0, biometrics::PressKind::Good);
    let template = biometrics::Template {
        width: press.width() as u16,
        height: press.height() as u16,
        position: 2,
        quality: 80,
        minutiae: biometrics::extract(&press),
    }
    .to_bytes();
    let client = CenterClient::new(&demo.center, "K0001", &demo.secret);
    let sid = domain::session::SessionId::parse(&format!("bench{}", std::process::id()))?;
    let started = Instant::now();
    let scope = client
        .session_scope(
            &sid,
            &ScopeRequest {
                business: "lost".into(),
                household: "local".into(),
                id: id.into(),
                card: None,
            },
        )
        .await?;
    if scope.outcome != "accept" {
        return Err(format!("baseline scope: {}", scope.reason).into());
    }
    let fee = scope.fee_cny.ok_or("no fee")?;
    let receipt_request = ReceiptRequest {
        id: id.into(),
        receipt: receipt.as_str().into(),
    };
    if !client.receipt(&sid, &receipt_request).await?.found {
        return Err(format!("baseline: receipt {} not found", receipt.as_str()).into());
    }
    client
        .faces(
            &sid,
            &FacesRequest {
                id: id.into(),
                receipt: receipt.as_str().into(),
                live_photo: base64::engine::general_purpose::STANDARD.encode(&live),
                liveness: None,
            },
        )
        .await?;
    client.put_blob(&sid, "live_photo", live.clone()).await?;
    client.put_blob(&sid, "signature", signature_png()).await?;
    client
        .put_blob(&sid, "fingerprint_1", template.clone())
        .await?;
    client.put_blob(&sid, "fingerprint_2", template).await?;
    client
        .application(
            &sid,
            &ApplicationRequest {
                business: "lost".into(),
                household: "local".into(),
                id: id.into(),
                receipt: receipt.as_str().into(),
                mobile: "13912345678".into(),
                fee_cny: fee,
                validity: scope.new_card_validity.clone().ok_or("no validity")?,
                issue_by: scope.issue_by.clone().ok_or("no issue_by")?,
                fingers: vec![
                    FingerJson {
                        position: domain::session::Finger::RightIndex,
                        quality: 80,
                    },
                    FingerJson {
                        position: domain::session::Finger::LeftIndex,
                        quality: 80,
                    },
                ],
            },
        )
        .await?;
    client
        .create_payment(
            &sid,
            &CreatePaymentRequest {
                method: "unionpay".into(),
                attempt: 1,
                amount_fen: fee * 100,
            },
        )
        .await?;
    client
        .report_pos(
            &sid,
            1,
            &PosReport {
                approved: true,
                response_code: "00".into(),
                card_masked: Some("622202******0123".into()),
                reference: Some("000000000001".into()),
                auth_code: Some("123456".into()),
                time: Some("2026-11-25T12:00:00+08:00".into()),
                amount_fen: Some(u64::from(fee) * 100),
                ..PosReport::default()
            },
        )
        .await?;
    client.document(&sid, "certificate").await?;
    client.document(&sid, "notice").await?;
    client
        .end(
            &sid,
            &domain::session::SessionOutcome::Completed {
                payment: domain::session::PaymentMethod::UnionPay,
            },
        )
        .await?;
    Ok(started.elapsed())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() -> Res<()> {
    let rounds: usize = std::env::var("IDKIOSK_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new()?;
    let work = tempfile::tempdir()?;
    let (_cups, printer) = start_cups(&work.path().join("cups"))?;
    let (mut sessions, mut baselines) = (Vec::new(), Vec::new());
    let (mut fingers_fast, mut fingers_factory) = (Vec::new(), Vec::new());
    let mut fingers_uploads = Vec::new();
    for round in 0..rounds {
        let start = |name: &str, fingerprint_baud: u32, upload_every_press: bool| -> Res<Driver> {
            let demo = start_demo(
                &work.path().join(format!("{name}{round}")),
                &printer,
                fingerprint_baud,
                upload_every_press,
            )?;
            let driver = Driver {
                http: reqwest::Client::new(),
                demo,
            };
            // Everything is up when the kiosk's page answers.
            runtime.block_on(driver.wait("welcome"))?;
            Ok(driver)
        };
        let (s, fast) = {
            let driver = start("session", FAST_BAUD, false)?;
            runtime.block_on(session(&driver))?
        };
        let (_, uploads) = {
            let driver = start("uploads", FAST_BAUD, true)?;
            runtime.block_on(session(&driver))?
        };
        let (_, factory) = {
            let driver = start("factory", FACTORY_BAUD, true)?;
            runtime.block_on(session(&driver))?
        };
        let b = {
            let driver = start("baseline", FAST_BAUD, false)?;
            runtime.block_on(baseline(&driver.demo))?
        };
        println!(
            "round {}: session {:.0} ms, center calls alone {:.0} ms, step 9 {:.0} ms at {FAST_BAUD} \
             baud (second presses matched on the module); every press uploaded: {:.0} ms at \
             {FAST_BAUD}, {:.0} ms at {FACTORY_BAUD}",
            round + 1,
            s.as_secs_f64() * 1000.0,
            b.as_secs_f64() * 1000.0,
            fast.as_secs_f64() * 1000.0,
            uploads.as_secs_f64() * 1000.0,
            factory.as_secs_f64() * 1000.0
        );
        sessions.push(s.as_secs_f64() * 1000.0);
        baselines.push(b.as_secs_f64() * 1000.0);
        fingers_fast.push(fast.as_secs_f64() * 1000.0);
        fingers_factory.push(factory.as_secs_f64() * 1000.0);
        fingers_uploads.push(uploads.as_secs_f64() * 1000.0);
    }
    fingers_uploads.sort_by(f64::total_cmp);
    fingers_fast.sort_by(f64::total_cmp);
    fingers_factory.sort_by(f64::total_cmp);
    sessions.sort_by(f64::total_cmp);
    baselines.sort_by(f64::total_cmp);
    let (sm, sp) = (percentile(&sessions, 50.0), percentile(&sessions, 95.0));
    let (bm, bp) = (percentile(&baselines, 50.0), percentile(&baselines, 95.0));
    println!(
        "whole session (system time): median {sm:.0} ms, p95 {sp:.0} ms over {rounds} sessions"
    );
    println!("baseline, center calls alone: median {bm:.0} ms, p95 {bp:.0} ms");
    println!("ratio session / baseline: {:.2}× (median)", sm / bm);
    println!(
        "step 9, two fingers (system time): median {:.0} ms, p95 {:.0} ms at {FAST_BAUD} baud \
         (second presses matched on the module); every press uploaded: median {:.0} ms, p95 {:.0} \
         ms at {FAST_BAUD}; baseline at the factory {FACTORY_BAUD} baud, every press uploaded: \
         median {:.0} ms, p95 {:.0} ms",
        percentile(&fingers_fast, 50.0),
        percentile(&fingers_fast, 95.0),
        percentile(&fingers_uploads, 50.0),
        percentile(&fingers_uploads, 95.0),
        percentile(&fingers_factory, 50.0),
        percentile(&fingers_factory, 95.0)
    );
    Ok(())
}

//! The simulator control panel at `/sim`: one server-rendered page (no scripts, no external
//! assets) where a person acts on the demo's devices as a citizen would, and the same actions as a
//! JSON API under `/sim/api/…` for tests (docs/demo.md). Every action goes through the
//! simulators' own loopback control APIs (docs/devices.md) and paysim's `/sim` routes
//! (docs/payment.md), so the panel shows exactly what a test could do by hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use payment::sim::SimOrder;
use popsys::studio::{StudioClient, UploadError};
use serde::Serialize;
use serde_json::{json, Value};
use sms::sim::SmscSimHandle;

use super::citizens::{self, DemoCitizen};
use super::devices::DeviceUrls;
use super::http;
use super::printer::DemoPrinter;
use super::supervisor::KioskStatus;

/// The bank card the POS button inserts unless another number is typed.
pub const DEMO_BANK_CARD: &str = "6222021234567890123";

/// Everything's URL, as `GET /sim/api/status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Urls {
    /// The kiosk's touchscreen.
    pub kiosk: String,
    /// This panel.
    pub panel: String,
    /// The center (kiosk API).
    pub center: String,
    /// The population system.
    pub popsys: String,
    /// paysim (WeChat Pay v3).
    pub paysim: String,
    /// paysim's payer page.
    pub paysim_page: String,
    /// The database.
    pub database: String,
    /// The demo's folder.
    pub data_dir: String,
    /// The kiosk's id at the center.
    pub kiosk_id: String,
    /// The SMSC simulator's control API (`GET …/sim/messages`); `None` when the center file
    /// names its own gateway.
    pub smsc: Option<String>,
}

/// What the panel's handlers share.
#[derive(Clone)]
pub struct Panel {
    inner: Arc<Inner>,
}

struct Inner {
    urls: Urls,
    devices: DeviceUrls,
    printer: Option<DemoPrinter>,
    kiosk: Arc<Mutex<KioskStatus>>,
    citizens: Vec<DemoCitizen>,
    /// The citizen last picked on the page, preselected next time.
    picked: Mutex<String>,
    /// The demo's photo studio, as a client of popsys's studio interface.
    studio: StudioClient,
    /// The receipts the photo studio made through this panel, oldest first.
    studio_receipts: Mutex<Vec<StudioVisit>>,
    /// The population system's database, where production is advanced.
    popsys: store::Store,
    /// The SMSC simulator the center sends its notices to, when the demo started one.
    smsc: Option<Arc<SmscSimHandle>>,
}

/// A receipt the panel's photo studio made.
#[derive(Debug, Clone, Serialize)]
pub struct StudioVisit {
    /// The new receipt code.
    pub code: String,
    /// The citizen photographed.
    pub citizen: String,
    /// Day made, `YYYY-MM-DD`.
    pub created_on: String,
    /// Last day it can be used.
    pub last_valid_day: String,
    /// `certified` (cut from the citizen's demo face) or `blank` (no picture of them).
    pub photo: &'static str,
}

impl Panel {
    /// A panel over these devices, printer, kiosk agent and photo studio.
    pub fn new(
        urls: Urls,
        devices: DeviceUrls,
        printer: Option<DemoPrinter>,
        kiosk: Arc<Mutex<KioskStatus>>,
        studio: StudioClient,
        popsys: store::Store,
        smsc: Option<Arc<SmscSimHandle>>,
    ) -> Panel {
        let citizens = citizens::list();
        let picked = citizens.first().map(|c| c.id.clone()).unwrap_or_default();
        Panel {
            inner: Arc::new(Inner {
                urls,
                devices,
                printer,
                kiosk,
                citizens,
                picked: Mutex::new(picked),
                studio,
                studio_receipts: Mutex::new(Vec::new()),
                popsys,
                smsc,
            }),
        }
    }

    fn kiosk(&self) -> KioskStatus {
        self.inner
            .kiosk
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn status(&self) -> Value {
        json!({
            "urls": self.inner.urls,
            "devices": self.inner.devices,
            "printer": self.inner.printer.as_ref().map(|p| json!({"uri": p.uri, "server": p.server, "queue": p.queue})),
            "kiosk": self.kiosk(),
        })
    }
}

/// The panel's routes: `/sim`, `/sim/do` (the page's forms) and `/sim/api/…`.
pub fn router(panel: Panel) -> Router {
    Router::new()
        .route("/", get(|| async { redirect("/sim") }))
        .route("/sim", get(page))
        .route("/sim/do", post(form_action))
        .route("/sim/api/status", get(api_status))
        .route("/sim/api/citizens", get(api_citizens))
        .route(
            "/sim/api/card",
            get(api_card_get)
                .post(api_card_place)
                .delete(api_card_remove),
        )
        .route("/sim/api/card/unreadable", post(api_card_unreadable))
        .route("/sim/api/card/reseat", post(api_card_reseat))
        .route("/sim/api/barcode", post(api_barcode))
        .route(
            "/sim/api/studio",
            get(api_studio_receipts).post(api_studio_visit),
        )
        .route("/sim/api/camera", get(api_camera_get).post(api_camera_show))
        .route(
            "/sim/api/finger",
            get(api_finger_get).post(api_finger).delete(api_finger_lift),
        )
        .route("/sim/api/pos", get(api_pos_get))
        .route(
            "/sim/api/bank-card",
            post(api_bank_card_insert).delete(api_bank_card_remove),
        )
        .route("/sim/api/pos/decision", post(api_pos_decision))
        .route("/sim/api/wechat/orders", get(api_wechat_orders))
        .route("/sim/api/wechat/pay", post(api_wechat_pay))
        .route(
            "/sim/api/printer",
            get(api_printer_get).post(api_printer_set),
        )
        .route("/sim/api/kiosk/kill", post(api_kiosk_kill))
        .route("/sim/api/popsys/produce", post(api_produce))
        .route("/sim/api/sms", get(api_sms))
        .with_state(panel)
}

// ---------------------------------------------------------------------------------------------
// The actions, shared by the JSON API and the page's forms.

/// A failed action: an HTTP status and a message naming the field or the device.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

type Acted = Result<Value, ApiError>;

/// Calls a device's control API; its 4xx comes back as is, an unreachable device as 502.
async fn device(method: &str, url: String, body: Option<Value>) -> Acted {
    match http::request(method, &url, body.as_ref()).await {
        Ok(answer) if answer.ok() => Ok(answer.json()),
        Ok(answer) => {
            let json = answer.json();
            let message = json
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    json.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| answer.text());
            Err(ApiError(
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
                message,
            ))
        }
        Err(err) => Err(ApiError(StatusCode::BAD_GATEWAY, format!("{err:#}"))),
    }
}

impl Panel {
    fn remember(&self, id: &str) {
        *self.inner.picked.lock().unwrap_or_else(|p| p.into_inner()) = id.to_owned();
    }

    fn picked(&self) -> String {
        self.inner
            .picked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Places a demo citizen's card: the card popsys records for a fixed demo citizen, else one
    /// derived from the number by the simulator.
    async fn place_card(&self, citizen: &str) -> Acted {
        let citizen = citizen.trim();
        if citizen.is_empty() {
            return Err(bad("citizen: an ID number"));
        }
        self.remember(citizen);
        let body = match citizens::card(citizen) {
            Some(card) => serde_json::to_value(card).map_err(|e| bad(e.to_string()))?,
            None => json!({ "citizen": citizen }),
        };
        let url = format!("{}/card", self.inner.devices.card_reader.control);
        device("POST", url, Some(body)).await
    }

    async fn card(&self, method: &str, path: &str, body: Option<Value>) -> Acted {
        let url = format!("{}{path}", self.inner.devices.card_reader.control);
        device(method, url, body).await
    }

    async fn scan(&self, code: &str) -> Acted {
        let code = code.trim();
        if code.is_empty() {
            return Err(bad("code: the barcode's text"));
        }
        let url = format!("{}/barcode", self.inner.devices.barcode.control);
        device("POST", url, Some(json!({ "code": code }))).await
    }

    /// The citizen visits the photo studio: it uploads their certified photo (`photo`, else the
    /// demo's cut of their face, else a blank photo) through popsys's studio interface and hands
    /// them the new receipt code, which the barcode scanner can then scan.
    async fn visit_studio(&self, citizen: &str, photo: Option<Vec<u8>>) -> Acted {
        let citizen = citizen.trim();
        if citizen.is_empty() {
            return Err(bad("citizen: an ID number"));
        }
        self.remember(citizen);
        let (jpeg, kind, note) = match photo {
            Some(jpeg) => (jpeg, "given", None),
            None => match popsys::seed::demo::studio_photo(citizen) {
                Ok(Some(jpeg)) => (jpeg, "certified", None),
                Ok(None) => (
                    popsys::seed::demo::blank_photo(),
                    "blank",
                    Some(
                        "no demo face for this citizen: a blank photo (step 7 cannot match it)"
                            .to_owned(),
                    ),
                ),
                Err(err) => (
                    popsys::seed::demo::blank_photo(),
                    "blank",
                    Some(format!("a blank photo (step 7 cannot match it): {err}")),
                ),
            },
        };
        let receipt = self
            .inner
            .studio
            .upload(citizen, &jpeg, None)
            .await
            .map_err(|err| match &err {
                UploadError::Refused { status, .. } => ApiError(
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
                    err.to_string(),
                ),
                _ => ApiError(StatusCode::BAD_GATEWAY, err.to_string()),
            })?;
        let visit = StudioVisit {
            code: receipt.code.clone(),
            citizen: receipt.id_number.clone(),
            created_on: receipt.created_on.clone(),
            last_valid_day: receipt.last_valid_day.clone(),
            photo: kind,
        };
        self.inner
            .studio_receipts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(visit);
        let mut answer = serde_json::to_value(&receipt).map_err(|e| bad(e.to_string()))?;
        answer["photo"] = json!(kind);
        if let Some(note) = note {
            answer["note"] = json!(note);
        }
        Ok(answer)
    }

    fn studio_receipts(&self) -> Vec<StudioVisit> {
        self.inner
            .studio_receipts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The receipt to scan for a citizen: the newest the studio made for them, else their
    /// seeded one.
    fn receipt_of(&self, citizen: &str) -> Option<String> {
        let citizen = citizen.trim().to_uppercase();
        self.studio_receipts()
            .into_iter()
            .rev()
            .find(|visit| visit.citizen == citizen)
            .map(|visit| visit.code)
            .or_else(|| {
                self.inner
                    .citizens
                    .iter()
                    .find(|c| c.id == citizen)
                    .and_then(|c| c.receipt.clone())
            })
    }

    async fn camera(&self, show: &str, citizen: Option<&str>) -> Acted {
        if let Some(id) = citizen {
            self.remember(id);
        }
        let control = &self.inner.devices.camera.control;
        let body = match show {
            "none" | "no_face" => json!({ "no_face": true }),
            "citizen" => {
                json!({ "citizen": citizen.ok_or_else(|| bad("citizen: needed to show a citizen"))? })
            }
            "other" => {
                let id = citizen.ok_or_else(|| bad("citizen: needed to show someone else"))?;
                let picture = popsys::seed::demo::camera_image(id).ok_or_else(|| {
                    bad(format!(
                        "citizen: {id} has no camera picture (not a fixed demo citizen, or the \
                         demo faces are missing: run scripts/setup/20-face.sh)"
                    ))
                })?;
                let other =
                    someone_else(&picture).map_err(|e| ApiError(StatusCode::CONFLICT, e))?;
                json!({ "image": other })
            }
            // Presentation attacks (issue 20): the citizen's own picture held up as a print or
            // on a screen, made by the camera simulator; the face matches, liveness should not.
            "print" | "screen" => json!({
                "citizen": citizen.ok_or_else(|| bad("citizen: needed to show a print or a screen"))?,
                "attack": show,
            }),
            // The liveness models' own sample of a printed photo (another person's face): the
            // attack frame that fails liveness for sure, where a synthetic print may not.
            "spoof_sample" => {
                let sample = face::paths::models_dir()
                    .join(face::liveness::SAMPLES_DIR)
                    .join("spoof_sample.jpg");
                if !sample.is_file() {
                    return Err(bad(format!(
                        "{} missing: run scripts/setup/20-face.sh",
                        sample.display()
                    )));
                }
                json!({ "image": sample })
            }
            other => {
                return Err(bad(format!(
                    "show: {other:?} is not citizen, other, print, screen, spoof_sample or none"
                )))
            }
        };
        device("POST", format!("{control}/show"), Some(body)).await
    }

    async fn finger(&self, finger: &str, seed: Option<u64>) -> Acted {
        let control = &self.inner.devices.fingerprint.control;
        if finger == "none" {
            return device("DELETE", format!("{control}/finger"), None).await;
        }
        let mut body = json!({ "finger": finger });
        if let Some(seed) = seed {
            body["seed"] = json!(seed);
        }
        device("POST", format!("{control}/finger"), Some(body)).await
    }

    async fn pos(&self, method: &str, path: &str, body: Option<Value>) -> Acted {
        let url = format!("{}{path}", self.inner.devices.pos.control);
        device(method, url, body).await
    }

    /// Pays an open order as the payer's WeChat would after scanning its QR code: the one named,
    /// else the open one (the newest trade number when several are open).
    async fn wechat_pay(&self, out_trade_no: Option<&str>, code_url: Option<&str>) -> Acted {
        let paysim = &self.inner.urls.paysim;
        let code_url = match code_url {
            Some(url) => url.to_owned(),
            None => {
                let orders = self.open_orders().await?;
                let chosen = match out_trade_no {
                    Some(no) => orders.iter().find(|o| o.out_trade_no == no),
                    None => orders
                        .iter()
                        .max_by(|a, b| a.out_trade_no.cmp(&b.out_trade_no)),
                };
                match chosen {
                    Some(order) => order.code_url.clone(),
                    None => return Err(ApiError(
                        StatusCode::CONFLICT,
                        match out_trade_no {
                            Some(no) => format!("out_trade_no: no open order {no}"),
                            None => {
                                "no open WeChat Pay order (the kiosk shows the QR code at step 11)"
                                    .to_owned()
                            }
                        },
                    )),
                }
            }
        };
        device(
            "POST",
            format!("{paysim}/sim/pay"),
            Some(json!({ "code_url": code_url })),
        )
        .await
    }

    /// paysim's orders with their code_url (`GET /sim/orders`).
    async fn orders(&self) -> Result<Vec<Order>, ApiError> {
        let url = format!("{}/sim/orders", self.inner.urls.paysim);
        let answer = http::request("GET", &url, None)
            .await
            .map_err(|e| ApiError(StatusCode::BAD_GATEWAY, format!("paysim: {e:#}")))?;
        if !answer.ok() {
            return Err(ApiError(
                StatusCode::BAD_GATEWAY,
                format!("paysim: GET /sim/orders answered {}", answer.status),
            ));
        }
        read_orders(&answer.body)
            .map_err(|e| ApiError(StatusCode::BAD_GATEWAY, format!("paysim: {e}")))
    }

    async fn open_orders(&self) -> Result<Vec<Order>, ApiError> {
        Ok(self
            .orders()
            .await?
            .into_iter()
            .filter(|o| o.trade_state == "NOTPAY")
            .collect())
    }

    fn printer(&self) -> Result<&DemoPrinter, ApiError> {
        self.inner.printer.as_ref().ok_or_else(|| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "no printer: start the demo with --printer ipp://… or IDKIOSK_PRINTER (scripts/demo.sh starts a private CUPS)".to_owned(),
            )
        })
    }

    async fn set_paper(&self, paper: bool) -> Acted {
        let printer = self.printer()?;
        let state = printer
            .set_paper(paper)
            .await
            .map_err(|e| ApiError(StatusCode::BAD_GATEWAY, format!("{e:#}")))?;
        Ok(json!({ "paper": paper, "queue": printer.queue, "state": state }))
    }

    async fn printer_state(&self) -> Acted {
        let printer = self.printer()?;
        let state = printer
            .state()
            .await
            .map_err(|e| ApiError(StatusCode::BAD_GATEWAY, format!("{e:#}")))?;
        Ok(json!({ "uri": printer.uri, "queue": printer.queue, "state": state }))
    }

    /// Advances card production in the demo's popsys as `idkiosk popsys produce` does: the
    /// application typed, else every one accepted or in production, to `to`. The center learns
    /// it at its next poll (every 10 s) and sends the notices.
    async fn produce(&self, to: &str, application: Option<&str>, reason: Option<&str>) -> Acted {
        use crate::cmd_popsys::produce;
        let target = produce::target(to).ok_or_else(|| {
            bad(format!(
                "to: {to:?} is not in_production, ready or rejected"
            ))
        })?;
        let application = application.map(str::trim).filter(|a| !a.is_empty());
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        produce::rejection_args(Some(target), application, reason).map_err(bad)?;
        let done = produce::produce(&self.inner.popsys, application, Some(target), reason)
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let note = if done.moved.is_empty() {
            format!("nothing moved to {to}")
        } else {
            format!(
                "{} application(s) moved to {to}; the center learns it within 10 s",
                done.moved.len()
            )
        };
        Ok(json!({ "moved": done.moved, "refused": done.refused, "note": note }))
    }

    /// The texts the SMSC simulator received, newest first, the numbers masked.
    fn sms(&self) -> Result<Vec<Sms>, ApiError> {
        let smsc = self.inner.smsc.as_ref().ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                "no SMSC simulator: the center file names its own [center.sms.gateway]".to_owned(),
            )
        })?;
        Ok(received(smsc.messages()))
    }

    async fn kill_kiosk(&self) -> Acted {
        let Some(pid) = self.kiosk().pid else {
            return Err(ApiError(
                StatusCode::CONFLICT,
                "the kiosk agent is not running".to_owned(),
            ));
        };
        super::supervisor::kill_9(pid)
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))?;
        Ok(json!({ "killed": pid, "note": "the demo starts the agent again in 1 s" }))
    }
}

/// A text the SMSC simulator received, as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sms {
    /// The mobile number, masked (`138****8000`).
    pub to: String,
    /// The text.
    pub text: String,
    /// When it came (RFC 3339, UTC).
    pub received_at: String,
}

/// The simulator's messages (oldest first) as the panel lists them: newest first, masked.
fn received(messages: Vec<sms::sim::ReceivedMessage>) -> Vec<Sms> {
    messages
        .into_iter()
        .rev()
        .map(|m| Sms {
            to: domain::mask::mask_mobile(&m.to),
            text: m.text,
            received_at: m.received_at,
        })
        .collect()
}

/// A WeChat Pay order as the panel lists it (docs/demo.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The merchant's trade number.
    pub out_trade_no: String,
    /// The amount in fen.
    pub total_fen: u64,
    /// `NOTPAY`, `SUCCESS`, `CLOSED`, …
    pub trade_state: String,
    /// What the QR code holds.
    pub code_url: String,
}

/// paysim's `GET /sim/orders` body as the panel's orders.
fn read_orders(body: &[u8]) -> Result<Vec<Order>, serde_json::Error> {
    let orders: Vec<SimOrder> = serde_json::from_slice(body)?;
    Ok(orders
        .into_iter()
        .map(|o| Order {
            out_trade_no: o.transaction.out_trade_no,
            total_fen: u64::from(o.transaction.amount.total),
            trade_state: o.transaction.trade_state,
            code_url: o.code_url,
        })
        .collect())
}

/// A picture of someone else than the person in `picture` (the demo faces are of two men).
fn someone_else(picture: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let name = picture
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let other = if name.starts_with("biden") {
        "obama.jpg"
    } else {
        "biden.jpg"
    };
    let path = picture.with_file_name(other);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{}: missing", path.display()))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON API.

type Body = Json<Value>;

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

async fn api_status(State(panel): State<Panel>) -> Json<Value> {
    Json(panel.status())
}

async fn api_citizens(State(panel): State<Panel>) -> Json<Value> {
    Json(json!({
        "citizens": panel.inner.citizens,
        "receipts": citizens::receipts().iter().map(|(code, what)| json!({"code": code, "description": what})).collect::<Vec<_>>(),
    }))
}

async fn api_card_get(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.card("GET", "/card", None).await.map(Json)
}

async fn api_card_place(
    State(panel): State<Panel>,
    Json(body): Body,
) -> Result<Json<Value>, ApiError> {
    if let Some(card) = body.get("card") {
        return panel
            .card("POST", "/card", Some(card.clone()))
            .await
            .map(Json);
    }
    let citizen = field(&body, "citizen")
        .ok_or_else(|| bad("citizen: an ID number (or card: a card as JSON)"))?;
    panel.place_card(citizen).await.map(Json)
}

async fn api_card_remove(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.card("DELETE", "/card", None).await.map(Json)
}

async fn api_card_unreadable(
    State(panel): State<Panel>,
    body: Option<Json<Value>>,
) -> Result<Json<Value>, ApiError> {
    let unreadable = body
        .and_then(|Json(b)| b.get("unreadable").and_then(Value::as_bool))
        .unwrap_or(true);
    panel
        .card(
            "POST",
            "/card/unreadable",
            Some(json!({ "unreadable": unreadable })),
        )
        .await
        .map(Json)
}

async fn api_card_reseat(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.card("POST", "/card/reseat", None).await.map(Json)
}

async fn api_barcode(
    State(panel): State<Panel>,
    Json(body): Body,
) -> Result<Json<Value>, ApiError> {
    let code = match (field(&body, "code"), field(&body, "citizen")) {
        (Some(code), _) => code.to_owned(),
        (None, Some(id)) => panel.receipt_of(id).ok_or_else(|| {
            bad(format!(
                "citizen: {id} has no receipt (POST /sim/api/studio makes one)"
            ))
        })?,
        (None, None) => return Err(bad("code: the barcode's text (or citizen: whose receipt)")),
    };
    let answer = panel.scan(&code).await?;
    Ok(Json(json!({ "scanned": code, "device": answer })))
}

async fn api_studio_visit(
    State(panel): State<Panel>,
    Json(body): Body,
) -> Result<Json<Value>, ApiError> {
    let citizen = field(&body, "citizen").ok_or_else(|| bad("citizen: an ID number"))?;
    let photo = match field(&body, "photo_jpeg_base64") {
        Some(text) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| bad(format!("photo_jpeg_base64: not base64: {e}")))?,
        ),
        None => None,
    };
    panel.visit_studio(citizen, photo).await.map(Json)
}

async fn api_studio_receipts(State(panel): State<Panel>) -> Json<Value> {
    Json(json!({ "receipts": panel.studio_receipts() }))
}

async fn api_camera_get(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    let control = &panel.inner.devices.camera.control;
    device("GET", format!("{control}/show"), None)
        .await
        .map(Json)
}

async fn api_camera_show(
    State(panel): State<Panel>,
    Json(body): Body,
) -> Result<Json<Value>, ApiError> {
    let show = field(&body, "show").unwrap_or(if body.get("citizen").is_some() {
        "citizen"
    } else {
        "none"
    });
    panel.camera(show, field(&body, "citizen")).await.map(Json)
}

async fn api_finger_get(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    let control = &panel.inner.devices.fingerprint.control;
    device("GET", format!("{control}/finger"), None)
        .await
        .map(Json)
}

async fn api_finger(State(panel): State<Panel>, Json(body): Body) -> Result<Json<Value>, ApiError> {
    let finger = field(&body, "finger")
        .ok_or_else(|| bad("finger: good, smudged, partial, blank, other or none"))?;
    let seed = body.get("seed").and_then(Value::as_u64);
    panel.finger(finger, seed).await.map(Json)
}

async fn api_finger_lift(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.finger("none", None).await.map(Json)
}

async fn api_pos_get(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.pos("GET", "/pos", None).await.map(Json)
}

async fn api_bank_card_insert(
    State(panel): State<Panel>,
    body: Option<Json<Value>>,
) -> Result<Json<Value>, ApiError> {
    let number = body
        .as_ref()
        .and_then(|Json(b)| field(b, "number").map(str::to_owned))
        .unwrap_or_else(|| DEMO_BANK_CARD.to_owned());
    panel
        .pos("POST", "/bank-card", Some(json!({ "number": number })))
        .await
        .map(Json)
}

async fn api_bank_card_remove(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.pos("DELETE", "/bank-card", None).await.map(Json)
}

async fn api_pos_decision(
    State(panel): State<Panel>,
    Json(body): Body,
) -> Result<Json<Value>, ApiError> {
    panel.pos("POST", "/decision", Some(body)).await.map(Json)
}

async fn api_wechat_orders(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "orders": panel.orders().await? })))
}

async fn api_wechat_pay(
    State(panel): State<Panel>,
    body: Option<Json<Value>>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map(|Json(b)| b).unwrap_or(Value::Null);
    panel
        .wechat_pay(field(&body, "out_trade_no"), field(&body, "code_url"))
        .await
        .map(Json)
}

async fn api_printer_get(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.printer_state().await.map(Json)
}

async fn api_printer_set(
    State(panel): State<Panel>,
    Json(body): Body,
) -> Result<Json<Value>, ApiError> {
    let paper = body
        .get("paper")
        .and_then(Value::as_bool)
        .ok_or_else(|| bad("paper: true (paper in) or false (out of paper)"))?;
    panel.set_paper(paper).await.map(Json)
}

async fn api_kiosk_kill(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    panel.kill_kiosk().await.map(Json)
}

async fn api_produce(
    State(panel): State<Panel>,
    Json(body): Body,
) -> Result<Json<Value>, ApiError> {
    let to = field(&body, "to").ok_or_else(|| bad("to: in_production, ready or rejected"))?;
    panel
        .produce(to, field(&body, "application"), field(&body, "reason"))
        .await
        .map(Json)
}

async fn api_sms(State(panel): State<Panel>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "messages": panel.sms()? })))
}

// ---------------------------------------------------------------------------------------------
// The page.

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// The page's buttons: every form posts `action` and its fields here, then the page is shown
/// again with what happened.
async fn form_action(
    State(panel): State<Panel>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let citizen = get("citizen");
    let action = get("action").unwrap_or("");
    let done = match action {
        "card-place" => panel.place_card(citizen.unwrap_or("")).await,
        "card-remove" => panel.card("DELETE", "/card", None).await,
        "card-unreadable" => {
            panel
                .card(
                    "POST",
                    "/card/unreadable",
                    Some(json!({ "unreadable": true })),
                )
                .await
        }
        "card-reseat" => panel.card("POST", "/card/reseat", None).await,
        "barcode" => panel.scan(get("typed").or(get("code")).unwrap_or("")).await,
        "studio-visit" => panel.visit_studio(citizen.unwrap_or(""), None).await,
        "camera-citizen" => panel.camera("citizen", citizen).await,
        "camera-other" => panel.camera("other", citizen).await,
        "camera-none" => panel.camera("none", None).await,
        "camera-print" => panel.camera("print", citizen).await,
        "camera-screen" => panel.camera("screen", citizen).await,
        "camera-spoof-sample" => panel.camera("spoof_sample", None).await,
        "finger-good" | "finger-smudged" | "finger-other" | "finger-none" => {
            let seed = get("seed").and_then(|s| s.parse().ok());
            panel.finger(&action["finger-".len()..], seed).await
        }
        "bank-card-insert" => {
            let number = get("number").unwrap_or(DEMO_BANK_CARD);
            panel
                .pos("POST", "/bank-card", Some(json!({ "number": number })))
                .await
        }
        "bank-card-remove" => panel.pos("DELETE", "/bank-card", None).await,
        "pos-approve" => {
            panel
                .pos("POST", "/decision", Some(json!({ "approve": true })))
                .await
        }
        "pos-decline" => {
            panel
                .pos(
                    "POST",
                    "/decision",
                    Some(json!({ "approve": false, "code": "51", "message": "余额不足" })),
                )
                .await
        }
        "wechat-pay" => panel.wechat_pay(get("out_trade_no"), None).await,
        "paper-out" => panel.set_paper(false).await,
        "paper-in" => panel.set_paper(true).await,
        "kiosk-kill" => panel.kill_kiosk().await,
        "produce-in-production" => {
            panel
                .produce("in_production", get("application"), None)
                .await
        }
        "produce-ready" => panel.produce("ready", get("application"), None).await,
        "produce-rejected" => {
            panel
                .produce("rejected", get("application"), get("reason"))
                .await
        }
        other => Err(bad(format!("action: {other:?} is not a panel action"))),
    };
    let message = match done {
        Ok(value) => format!("✓ {action}: {}", brief(&value)),
        Err(ApiError(status, why)) => format!("✗ {action}: {why} ({})", status.as_u16()),
    };
    redirect(&format!("/sim?m={}", percent_encode(&message)))
}

fn brief(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(
    State(panel): State<Panel>,
    Query(query): Query<HashMap<String, String>>,
) -> Html<String> {
    let inner = &panel.inner;
    let (card, camera, finger, pos, orders, printer) = tokio::join!(
        panel.card("GET", "/card", None),
        device(
            "GET",
            format!("{}/show", inner.devices.camera.control),
            None
        ),
        device(
            "GET",
            format!("{}/finger", inner.devices.fingerprint.control),
            None
        ),
        panel.pos("GET", "/pos", None),
        panel.orders(),
        async {
            match &inner.printer {
                Some(_) => Some(panel.printer_state().await),
                None => None,
            }
        },
    );
    let kiosk = panel.kiosk();
    let picked = panel.picked();
    let urls = &inner.urls;
    let state = |r: &Acted| match r {
        Ok(v) => esc(&brief(v)),
        Err(ApiError(_, why)) => format!("<span class=err>{}</span>", esc(why)),
    };

    let mut options = String::new();
    for c in &inner.citizens {
        options.push_str(&format!(
            "<option value=\"{id}\"{sel}>{name} {id} — {what}</option>",
            id = esc(&c.id),
            sel = if c.id == picked { " selected" } else { "" },
            name = esc(&c.name),
            what = esc(c.description),
        ));
    }
    let select = format!("<select name=citizen aria-label=\"citizen\">{options}</select>");
    let mut receipts = String::new();
    let visits = panel.studio_receipts();
    for visit in visits.iter().rev() {
        let name = inner
            .citizens
            .iter()
            .find(|c| c.id == visit.citizen)
            .map_or("", |c| c.name.as_str());
        receipts.push_str(&format!(
            "<option value=\"{code}\">{code} — {name} {id}, from the photo studio ({photo} photo), usable through {last}</option>",
            code = esc(&visit.code),
            name = esc(name),
            id = esc(&visit.citizen),
            photo = visit.photo,
            last = esc(&visit.last_valid_day),
        ));
    }
    for (code, what) in citizens::receipts() {
        receipts.push_str(&format!(
            "<option value=\"{code}\">{code} — {}</option>",
            esc(what)
        ));
    }
    let orders_html = match &orders {
        Ok(list) if list.is_empty() => "<li>no orders yet</li>".to_owned(),
        Ok(list) => list
            .iter()
            .map(|o| {
                format!(
                    "<li><code>{}</code> {} fen <b>{}</b></li>",
                    esc(&o.out_trade_no),
                    o.total_fen,
                    esc(&o.trade_state)
                )
            })
            .collect::<Vec<_>>()
            .join(""),
        Err(ApiError(_, why)) => format!("<span class=err>{}</span>", esc(why)),
    };
    let printer_html = match (&inner.printer, &printer) {
        (Some(p), Some(state_now)) => format!(
            "<p>{} — {}</p>{}{}",
            esc(&p.uri),
            state(state_now),
            button("paper-out", "缺纸 Out of paper"),
            button("paper-in", "放入纸张 Paper back"),
        ),
        _ => "<p>No printer: start the demo with <code>--printer ipp://…</code> or \
              <code>IDKIOSK_PRINTER</code> (<code>scripts/demo.sh</code> starts a private CUPS \
              with a cups-pdf queue).</p>"
            .to_owned(),
    };
    let sms_html = match panel.sms() {
        Ok(list) if list.is_empty() => "<li>no text yet</li>".to_owned(),
        Ok(list) => list
            .iter()
            .map(|m| {
                format!(
                    "<li><b>{}</b> <span class=state>{}</span><br>{}</li>",
                    esc(&m.to),
                    esc(&m.received_at),
                    esc(&m.text)
                )
            })
            .collect::<Vec<_>>()
            .join(""),
        Err(ApiError(_, why)) => format!("<li><span class=err>{}</span></li>", esc(&why)),
    };
    let smsc_link = match &urls.smsc {
        Some(url) => format!(
            " · 短信模拟器 SMSC: <a href=\"{url}/sim/messages\">{url}/sim/messages</a>",
            url = esc(url)
        ),
        None => String::new(),
    };
    let message = query
        .get("m")
        .map(|m| format!("<p class=msg>{}</p>", esc(m)))
        .unwrap_or_default();
    let kiosk_line = match kiosk.pid {
        Some(pid) => format!(
            "running, pid {pid} (started {} time(s){})",
            kiosk.starts,
            kiosk
                .last_exit
                .as_ref()
                .map(|e| format!("; last ended with {}", esc(e)))
                .unwrap_or_default()
        ),
        None => format!(
            "not running{}",
            kiosk
                .note
                .as_ref()
                .map(|n| format!(": {}", esc(n)))
                .unwrap_or_default()
        ),
    };

    Html(format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>idkiosk 模拟器控制台 simulator panel</title>
<style>
body{{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#222}}
section{{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;margin:.8em 0}}
h1{{font-size:1.4em}} h2{{font-size:1.1em;margin:.3em 0}}
form{{display:inline-block;margin:.2em .4em .2em 0;max-width:100%}}
button{{font-size:1em;padding:.35em .8em}} select,input{{font-size:1em;max-width:100%}}
.state{{color:#555;font-size:.85em;word-break:break-all}} .err{{color:#b00}}
.msg{{background:#eef6ee;border:1px solid #9c9;padding:.5em;word-break:break-all}}
img.cam{{max-height:200px;border:1px solid #999;float:right;margin-left:1em}}
</style></head><body>
<h1>模拟器控制台 Simulator control panel</h1>
{message}
<section><h2>链接 Links</h2>
<p>自助机屏幕 Kiosk screen: <a href="{kiosk_url}">{kiosk_url}</a> ·
微信支付模拟器 paysim: <a href="{paysim_page}">{paysim_page}</a> ·
camera: <a href="{stream}">{stream}</a>{smsc_link} ·
<a href="/sim/api/status">status JSON</a></p>
<p>Kiosk agent {kiosk_id}: {kiosk_line}</p>
{kill}
</section>

<section><h2>身份证 ID card</h2>
<form method=post action="/sim/do">{select}
<button name=action value=card-place>放置身份证 Place card</button></form>
{remove}{unreadable}{reseat}
<p class=state>card reader: {card}</p></section>

<section><h2>照相馆 Photo studio</h2>
<form method=post action="/sim/do">{select}
<button name=action value=studio-visit>去照相馆拍照 Visit the photo studio</button></form>
<p class=state>The studio uploads the citizen's certified photo to the population system
and gets a new receipt code (valid 180 days), listed first under Receipt barcode.</p></section>

<section><h2>回执条码 Receipt barcode</h2>
<form method=post action="/sim/do"><select name=code aria-label="receipt code">{receipts}</select>
<input name=typed placeholder="or type a code" size=18 aria-label="or type a code">
<button name=action value=barcode>扫描 Scan</button></form></section>

<section><h2>摄像头 Camera</h2>
<img class=cam src="{stream}" alt="camera">
<form method=post action="/sim/do">{select}<br>
<button name=action value=camera-citizen>本人 This citizen's face</button>
<button name=action value=camera-other>他人 Someone else</button><br>
<button name=action value=camera-print>翻拍照片 A print of this citizen</button>
<button name=action value=camera-screen>屏幕翻拍 This citizen on a screen</button>
<button name=action value=camera-spoof-sample>样例攻击 Spoof sample</button></form>
{noface}
<p class=state>showing: {camera}</p><div style="clear:both"></div></section>

<section><h2>指纹 Fingerprint</h2>
<form method=post action="/sim/do"><input name=seed placeholder="finger seed (optional)" size=14>
<button name=action value=finger-good>按压 Good finger</button>
<button name=action value=finger-smudged>污损 Smudged</button>
<button name=action value=finger-other>另一手指 Another finger</button>
<button name=action value=finger-none>抬起 No finger</button></form>
<p class=state>fingerprint module: {finger}</p></section>

<section><h2>银联 POS (bank card)</h2>
<form method=post action="/sim/do"><input name=number value="{bank_card}" size=21 aria-label="bank card number">
<button name=action value=bank-card-insert>插卡 Insert bank card</button></form>
{take_out}{approve}{decline}
<p class=state>POS: {pos}</p></section>

<section><h2>微信支付 WeChat Pay</h2>
{pay}
<ul>{orders_html}</ul></section>

<section><h2>打印机 Printer</h2>{printer_html}</section>

<section><h2>制证 Production</h2>
<form method=post action="/sim/do"><input name=application placeholder="application number (empty: all)" size=24 aria-label="application number (empty: all)">
<button name=action value=produce-in-production>制证中 In production</button>
<button name=action value=produce-ready>制证完成 Ready</button></form>
<form method=post action="/sim/do"><input name=application placeholder="application number" size=24 aria-label="application number to reject">
<input name=reason placeholder="reason, e.g. 照片不符合要求" size=24 aria-label="rejection reason">
<button name=action value=produce-rejected>审核不通过 Rejected</button></form>
<p class=state>Advances card production in the population system, as <code>idkiosk popsys
produce</code> does: the application typed, else every one accepted (In production) or in
production (Ready); Rejected refuses the application typed with its reason. The center learns it
at its next poll and texts the citizen.</p>
</section>

<section><h2>收到的短信 SMS received</h2>
<ul>{sms_html}</ul></section>
</body></html>"#,
        kiosk_url = esc(&urls.kiosk),
        paysim_page = esc(&urls.paysim_page),
        stream = esc(&inner.devices.camera.stream),
        kiosk_id = esc(&urls.kiosk_id),
        kill = button("kiosk-kill", "kill -9 the kiosk agent (it restarts in 1 s)"),
        remove = button("card-remove", "取走 Remove card"),
        unreadable = button("card-unreadable", "无法读取 Make unreadable"),
        reseat = button("card-reseat", "重新放置 Lift and put back"),
        card = state(&card),
        noface = button("camera-none", "无人 No face"),
        camera = state(&camera),
        finger = state(&finger),
        bank_card = DEMO_BANK_CARD,
        take_out = button("bank-card-remove", "取卡 Take card out"),
        approve = button("pos-approve", "批准 Approve"),
        decline = button("pos-decline", "拒绝 Decline (51 余额不足)"),
        pos = state(&pos),
        pay = button("wechat-pay", "扫码支付 Scan and pay the open order"),
    ))
}

fn button(action: &str, label: &str) -> String {
    format!(
        "<form method=post action=\"/sim/do\"><button name=action value=\"{action}\">{}</button></form>",
        esc(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paysim_orders_are_read_with_their_code_url() {
        let body = br#"[{"appid":"wx1","mchid":"19","out_trade_no":"SL1-01","trade_state":"NOTPAY","trade_state_desc":"","amount":{"total":2000,"currency":"CNY"},"code_url":"weixin://wxpay/bizpayurl?pr=ab&c"},{"appid":"wx1","mchid":"19","out_trade_no":"SL0-01","trade_state":"SUCCESS","amount":{"total":4000},"code_url":"weixin://x"}]"#;
        let orders = read_orders(body).unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].code_url, "weixin://wxpay/bizpayurl?pr=ab&c");
        assert_eq!(orders[0].total_fen, 2000);
        assert_eq!(orders[1].trade_state, "SUCCESS");
    }

    #[test]
    fn received_texts_are_listed_newest_first_with_the_number_masked() {
        let message = |id: &str, to: &str, text: &str, at: &str| sms::sim::ReceivedMessage {
            message_id: id.into(),
            message_ids: vec![id.into()],
            to: to.into(),
            from: "10690001".into(),
            text: text.into(),
            parts: 1,
            received_at: at.into(),
        };
        let listed = received(vec![
            message("1", "13912345678", "已受理", "2026-12-07T16:00:00Z"),
            message("2", "13800138000", "已制作完成", "2026-12-07T16:00:20Z"),
        ]);
        assert_eq!(
            listed,
            [
                Sms {
                    to: "138****8000".into(),
                    text: "已制作完成".into(),
                    received_at: "2026-12-07T16:00:20Z".into(),
                },
                Sms {
                    to: "139****5678".into(),
                    text: "已受理".into(),
                    received_at: "2026-12-07T16:00:00Z".into(),
                },
            ]
        );
        let json = serde_json::to_string(&listed).unwrap();
        assert!(!json.contains("13800138000") && !json.contains("13912345678"));
    }

    #[test]
    fn production_goes_to_in_production_or_ready_only() {
        use crate::cmd_popsys::produce::target;
        assert_eq!(
            target("in_production"),
            Some(store::ApplicationStatus::InProduction)
        );
        assert_eq!(target("ready"), Some(store::ApplicationStatus::Ready));
        assert_eq!(target("collected"), None);
        assert_eq!(target("accepted"), None);
    }

    #[test]
    fn messages_survive_the_query_string() {
        assert_eq!(percent_encode("✓ a b"), "%E2%9C%93%20a%20b");
    }
}

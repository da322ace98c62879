//! `idkiosk sim smsc`: an SMSC speaking SMPP 3.4 on TCP (the `protocol::smpp::SmscSession`
//! machine, one per connection), with an HTTP control API on loopback listing what it received
//! and injecting faults. It checks the bind's system_id and password (`ESME_RINVSYSID`,
//! `ESME_RINVPASWD`), answers each submit_sm with a message id, and puts concatenated parts
//! back together; a message is listed once all its parts are in.
//!
//! Control (JSON; errors are `{"error":"…"}` with 400):
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /sim/messages` | | `[{message_id, message_ids, to, from, text, parts, received_at}]`, oldest first |
//! | `DELETE /sim/messages` | | `[]`, the list emptied |
//! | `GET /sim/faults` | | `{refuse_next, status, disconnect_next, delay_ms, down}` |
//! | `POST /sim/faults` | any of `{"refuse_next":N,"status":"0x58"}`, `{"disconnect_next":N}`, `{"delay_ms":M}`, `{"down":true}` | the faults now |
//! | `DELETE /sim/faults` | | the faults cleared |
//! | `GET /sim/status` | | `{smpp, binds, refused_binds, enquire_links, sessions}` |
//!
//! `refuse_next` answers the next N submit_sm with `status` (default `ESME_RTHROTTLED`; a name,
//! `0x58` or a number); `disconnect_next` closes the connection instead of answering the next N;
//! `delay_ms` holds every submit_sm's answer that long (the message still counts as received,
//! as at a real SMSC whose answer comes too late); `down` drops every connection and refuses
//! new ones until `{"down":false}`. Parts refused or cut off are not listed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use protocol::smpp::{CommandStatus, Reassembler, SmscEvent, SmscSession, SubmitSm};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info};

/// How the simulator runs.
#[derive(Clone, Debug)]
pub struct SmscSimConfig {
    /// Where SMPP is spoken (port 0 picks one).
    pub listen: SocketAddr,
    /// Where the control API listens (loopback; port 0 picks one).
    pub control: SocketAddr,
    /// The system_id a bind must give.
    pub system_id: String,
    /// The password a bind must give.
    pub password: String,
}

impl Default for SmscSimConfig {
    fn default() -> Self {
        SmscSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 2775)),
            control: SocketAddr::from(([127, 0, 0, 1], 0)),
            system_id: "idkiosk".into(),
            password: "secret".into(),
        }
    }
}

/// A message the simulator received whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    /// The first part's message id.
    pub message_id: String,
    /// Every part's message id, in part order.
    pub message_ids: Vec<String>,
    /// `destination_addr`.
    pub to: String,
    /// `source_addr`.
    pub from: String,
    /// The text, decoded and joined.
    pub text: String,
    /// How many submit_sm carried it.
    pub parts: usize,
    /// When the last part came (RFC 3339, UTC).
    pub received_at: String,
}

/// The faults in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Faults {
    /// submit_sm still to refuse.
    pub refuse_next: u32,
    /// The status they get, as `0x00000058`.
    pub status: String,
    /// submit_sm still to answer by closing the connection.
    pub disconnect_next: u32,
    /// The delay before each submit_sm's answer.
    pub delay_ms: u64,
    /// Whether every connection is refused.
    pub down: bool,
}

/// Counters of `GET /sim/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimStatus {
    /// The SMPP address.
    pub smpp: String,
    /// Binds accepted.
    pub binds: u32,
    /// Binds refused.
    pub refused_binds: u32,
    /// enquire_link received.
    pub enquire_links: u32,
    /// Connections open now.
    pub sessions: u32,
}

/// A `POST /sim/faults` body: the fields given change, the others stay.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsUpdate {
    /// Refuse the next N submit_sm.
    pub refuse_next: Option<u32>,
    /// With this status (`"0x58"`, `"ESME_RTHROTTLED"`, `88`).
    pub status: Option<StatusValue>,
    /// Close the connection instead of answering the next N submit_sm.
    pub disconnect_next: Option<u32>,
    /// Hold each answer this long.
    pub delay_ms: Option<u64>,
    /// Drop and refuse every connection.
    pub down: Option<bool>,
}

/// A command status in JSON: a text (`"0x58"`, `"ESME_RTHROTTLED"`) or a number.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum StatusValue {
    /// A number.
    Code(u32),
    /// A name or hex text.
    Text(String),
}

#[derive(Debug)]
struct Fault {
    refuse_next: u32,
    status: CommandStatus,
    disconnect_next: u32,
    delay: Duration,
}

#[derive(Debug)]
struct State_ {
    messages: Vec<ReceivedMessage>,
    fault: Fault,
    reassembler: Reassembler<String>,
    next_id: u64,
    binds: u32,
    refused_binds: u32,
    enquire_links: u32,
    sessions: u32,
}

#[derive(Debug)]
struct Shared {
    config: SmscSimConfig,
    smpp: SocketAddr,
    state: Mutex<State_>,
    down: watch::Sender<bool>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State_> {
        // A panic while holding the lock leaves plain data; keep serving it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> Faults {
        let s = self.state();
        Faults {
            refuse_next: s.fault.refuse_next,
            status: format!("0x{:08X}", s.fault.status.0),
            disconnect_next: s.fault.disconnect_next,
            delay_ms: u64::try_from(s.fault.delay.as_millis()).unwrap_or(u64::MAX),
            down: *self.down.borrow(),
        }
    }

    fn status(&self) -> SimStatus {
        let s = self.state();
        SimStatus {
            smpp: self.smpp.to_string(),
            binds: s.binds,
            refused_binds: s.refused_binds,
            enquire_links: s.enquire_links,
            sessions: s.sessions,
        }
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SmscSimHandle {
    shared: Arc<Shared>,
    control: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Why a faults update is refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The body is not the JSON the route takes.
    #[error("bad request body: {0}")]
    Body(String),
    /// A field has a value the simulator cannot use.
    #[error("{field}: {message}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        message: String,
    },
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Starts the simulator: SMPP on `config.listen`, control on `config.control`.
pub async fn start_smsc(config: SmscSimConfig) -> std::io::Result<SmscSimHandle> {
    let smpp_listener = TcpListener::bind(config.listen).await?;
    let control_listener = TcpListener::bind(config.control).await?;
    let smpp = smpp_listener.local_addr()?;
    let control = control_listener.local_addr()?;
    let (down, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        config,
        smpp,
        state: Mutex::new(State_ {
            messages: Vec::new(),
            fault: Fault {
                refuse_next: 0,
                status: CommandStatus::THROTTLED,
                disconnect_next: 0,
                delay: Duration::ZERO,
            },
            reassembler: Reassembler::new(),
            next_id: 1,
            binds: 0,
            refused_binds: 0,
            enquire_links: 0,
            sessions: 0,
        }),
        down,
    });
    let (stop, stopped) = watch::channel(false);
    let accept = tokio::spawn(accept_loop(smpp_listener, shared.clone(), stopped.clone()));
    let app = app(shared.clone());
    let mut stop_control = stopped;
    let control_task = tokio::spawn(async move {
        let serve = axum::serve(control_listener, app).with_graceful_shutdown(async move {
            let _ = stop_control.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "SMSC simulator control API stopped");
        }
    });
    info!(%smpp, %control, "SMSC simulator listening");
    Ok(SmscSimHandle {
        shared,
        control,
        stop,
        tasks: vec![accept, control_task],
    })
}

impl SmscSimHandle {
    /// Where SMPP is spoken.
    pub fn smpp_addr(&self) -> SocketAddr {
        self.shared.smpp
    }

    /// The control API's base URL (`http://127.0.0.1:PORT`).
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control)
    }

    /// The messages received whole, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.shared.state().messages.clone()
    }

    /// Forgets the messages received.
    pub fn clear_messages(&self) {
        self.shared.state().messages.clear();
    }

    /// Changes the faults, as `POST /sim/faults` does.
    pub fn set_faults(&self, update: FaultsUpdate) -> Result<Faults, ControlError> {
        apply(&self.shared, update)
    }

    /// The counters of `GET /sim/status`.
    pub fn status(&self) -> SimStatus {
        self.shared.status()
    }

    /// Stops listening and drops every connection.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.shared.down.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

fn apply(shared: &Shared, update: FaultsUpdate) -> Result<Faults, ControlError> {
    let status = match update.status {
        None => None,
        Some(StatusValue::Code(code)) => Some(CommandStatus(code)),
        Some(StatusValue::Text(text)) => {
            Some(
                text.parse::<CommandStatus>()
                    .map_err(|e| ControlError::Field {
                        field: "status",
                        message: e.to_string(),
                    })?,
            )
        }
    };
    if status == Some(CommandStatus::OK) {
        return Err(ControlError::Field {
            field: "status",
            message: "ESME_ROK does not refuse".into(),
        });
    }
    {
        let mut s = shared.state();
        if let Some(n) = update.refuse_next {
            s.fault.refuse_next = n;
        }
        if let Some(status) = status {
            s.fault.status = status;
        }
        if let Some(n) = update.disconnect_next {
            s.fault.disconnect_next = n;
        }
        if let Some(ms) = update.delay_ms {
            s.fault.delay = Duration::from_millis(ms);
        }
    }
    if let Some(down) = update.down {
        shared.down.send_replace(down);
    }
    Ok(shared.faults())
}

fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/sim/messages", get(messages).delete(clear_messages))
        .route(
            "/sim/faults",
            get(get_faults).post(post_faults).delete(clear_faults),
        )
        .route("/sim/status", get(status))
        .with_state(shared)
}

async fn messages(State(shared): State<Arc<Shared>>) -> Json<Vec<ReceivedMessage>> {
    Json(shared.state().messages.clone())
}

async fn clear_messages(State(shared): State<Arc<Shared>>) -> Json<Vec<ReceivedMessage>> {
    shared.state().messages.clear();
    Json(Vec::new())
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    Json(shared.faults())
}

async fn post_faults(
    State(shared): State<Arc<Shared>>,
    Body(update): Body<FaultsUpdate>,
) -> Result<Json<Faults>, ControlError> {
    apply(&shared, update).map(Json)
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    {
        let mut s = shared.state();
        s.fault = Fault {
            refuse_next: 0,
            status: CommandStatus::THROTTLED,
            disconnect_next: 0,
            delay: Duration::ZERO,
        };
    }
    shared.down.send_replace(false);
    Json(shared.faults())
}

async fn status(State(shared): State<Arc<Shared>>) -> Json<SimStatus> {
    Json(shared.status())
}

/// `Json<T>` whose rejections come back as `{"error":…}`.
struct Body<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ControlError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ControlError::Body(rejection.body_text())),
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        if *shared.down.borrow() {
            // Down: the connection is dropped at once.
            debug!(%peer, "SMSC simulator is down: connection dropped");
            continue;
        }
        tokio::spawn(serve_connection(stream, shared.clone()));
    }
}

enum Answer {
    Accept(Duration),
    Refuse(CommandStatus),
    Disconnect,
}

async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    shared.state().sessions += 1;
    let mut down = shared.down.subscribe();
    let mut session = SmscSession::new();
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::new();
    'connection: loop {
        let read = tokio::select! {
            read = stream.read(&mut buf) => read,
            _ = down.wait_for(|d| *d) => break,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => session.handle_bytes(&buf[..n]),
        }
        let mut close = false;
        while let Some(event) = session.poll_event() {
            match event {
                SmscEvent::Bind {
                    sequence_number,
                    bind,
                } => {
                    let refusal = if bind.system_id != shared.config.system_id {
                        Some(CommandStatus::INVALID_SYSTEM_ID)
                    } else if bind.password != shared.config.password {
                        Some(CommandStatus::INVALID_PASSWORD)
                    } else {
                        None
                    };
                    match refusal {
                        Some(status) => {
                            shared.state().refused_binds += 1;
                            session.refuse_bind(sequence_number, status);
                        }
                        None => {
                            shared.state().binds += 1;
                            let _ = session.accept_bind(sequence_number, "idkiosk-smsc");
                        }
                    }
                }
                SmscEvent::Submit {
                    sequence_number,
                    submit,
                } => {
                    let answer = {
                        let mut s = shared.state();
                        if s.fault.disconnect_next > 0 {
                            s.fault.disconnect_next -= 1;
                            Answer::Disconnect
                        } else if s.fault.refuse_next > 0 {
                            s.fault.refuse_next -= 1;
                            Answer::Refuse(s.fault.status)
                        } else {
                            Answer::Accept(s.fault.delay)
                        }
                    };
                    match answer {
                        Answer::Disconnect => break 'connection,
                        Answer::Refuse(status) => {
                            let _ = session.respond_submit(sequence_number, Err(status));
                        }
                        Answer::Accept(delay) => {
                            if !delay.is_zero() {
                                // What was answered before this submit goes out first.
                                session.poll_transmit(&mut out);
                                if stream.write_all(&out).await.is_err() {
                                    break 'connection;
                                }
                                out.clear();
                                tokio::time::sleep(delay).await;
                            }
                            let result = receive(&shared, &submit);
                            let _ = session
                                .respond_submit(sequence_number, result.as_deref().map_err(|s| *s));
                        }
                    }
                }
                SmscEvent::EnquireLink => shared.state().enquire_links += 1,
                SmscEvent::Unbound | SmscEvent::Lost(_) => close = true,
                SmscEvent::Malformed(e) => debug!(error = %e, "malformed PDU"),
            }
        }
        session.poll_transmit(&mut out);
        if stream.write_all(&out).await.is_err() || close {
            break;
        }
        out.clear();
    }
    let mut s = shared.state();
    s.sessions = s.sessions.saturating_sub(1);
}

/// Takes one accepted part: its message id, or the status refusing unreadable user data.
fn receive(shared: &Shared, submit: &SubmitSm) -> Result<String, CommandStatus> {
    let mut s = shared.state();
    let message_id = format!("SIM{:08}", s.next_id);
    s.next_id += 1;
    match s.reassembler.push(submit, message_id.clone()) {
        Ok(Some(done)) => {
            let received_at = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            s.messages.push(ReceivedMessage {
                message_id: done.tags.first().cloned().unwrap_or_default(),
                parts: done.tags.len(),
                message_ids: done.tags,
                to: done.to,
                from: done.from,
                text: done.text,
                received_at,
            });
            Ok(message_id)
        }
        Ok(None) => Ok(message_id),
        // Unreadable user data: a permanent application error.
        Err(_) => Err(CommandStatus(0x65)),
    }
}

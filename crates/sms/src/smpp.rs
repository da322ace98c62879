//! [`SmppGateway`]: SMPP 3.4 over TCP, bound as a transmitter. One tokio task owns the
//! connection and the `protocol::smpp::EsmeSession` around it: it connects and binds on the
//! first send, keeps the session (enquire_link when idle), submits the parts of each message,
//! and after a disconnect connects again on the next send. Every step has a timeout: the
//! connection, the bind, each submit_sm, each write.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::mask::mask_mobile;
use domain::mobile::MobileNumber;
use protocol::smpp::{
    encode_text, Bind, CloseReason, EsmeConfig, EsmeEvent, EsmeSession, Part, SubmitError,
    SubmitFailure, SubmitSm,
};
use protocol::Millis;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, Instant};
use tracing::{debug, info, warn};

use crate::{SentSms, SmsError, SmsGateway};

/// Where the SMSC is and how to bind (the `[sms.smpp]` part of a center's configuration).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmppConfig {
    /// `host:port` of the SMSC (2775 by convention).
    pub address: String,
    /// Our account at the SMSC, at most 15 characters.
    pub system_id: String,
    /// At most 8 characters.
    pub password: String,
    /// At most 12 characters; usually empty.
    #[serde(default)]
    pub system_type: String,
    /// The sender shown on the handset: the bureau's service number (e.g. `10690001`), at most
    /// 20 characters.
    pub source_addr: String,
    /// How long a TCP connection may take.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long a bind, submit_sm or enquire_link waits for its response.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u64,
    /// Quiet time after which an enquire_link checks the link.
    #[serde(default = "default_enquire_link_interval_ms")]
    pub enquire_link_interval_ms: u64,
}

fn default_connect_timeout_ms() -> u64 {
    5_000
}

fn default_response_timeout_ms() -> u64 {
    10_000
}

fn default_enquire_link_interval_ms() -> u64 {
    30_000
}

impl SmppConfig {
    /// A configuration with the default timeouts and no system_type.
    pub fn new(address: &str, system_id: &str, password: &str, source_addr: &str) -> SmppConfig {
        SmppConfig {
            address: address.to_owned(),
            system_id: system_id.to_owned(),
            password: password.to_owned(),
            system_type: String::new(),
            source_addr: source_addr.to_owned(),
            connect_timeout_ms: default_connect_timeout_ms(),
            response_timeout_ms: default_response_timeout_ms(),
            enquire_link_interval_ms: default_enquire_link_interval_ms(),
        }
    }

    /// Checks every field against what SMPP 3.4 can carry.
    pub fn check(&self) -> Result<(), ConfigError> {
        let fits = |field: &'static str, value: &str, max: usize| {
            if value.len() > max || !value.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
                Err(ConfigError {
                    field,
                    message: format!("at most {max} printable ASCII characters"),
                })
            } else {
                Ok(())
            }
        };
        if self.address.trim().is_empty() {
            return Err(ConfigError {
                field: "address",
                message: "empty (host:port of the SMSC)".into(),
            });
        }
        fits("system_id", &self.system_id, 15)?;
        fits("password", &self.password, 8)?;
        fits("system_type", &self.system_type, 12)?;
        fits("source_addr", &self.source_addr, 20)?;
        for (field, value) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("response_timeout_ms", self.response_timeout_ms),
            ("enquire_link_interval_ms", self.enquire_link_interval_ms),
        ] {
            if value == 0 {
                return Err(ConfigError {
                    field,
                    message: "must be above 0".into(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SmppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmppConfig")
            .field("address", &self.address)
            .field("system_id", &self.system_id)
            .field("password", &"***")
            .field("system_type", &self.system_type)
            .field("source_addr", &self.source_addr)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("response_timeout_ms", &self.response_timeout_ms)
            .field("enquire_link_interval_ms", &self.enquire_link_interval_ms)
            .finish()
    }
}

/// A configuration field SMPP cannot carry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("sms.smpp.{field}: {message}")]
pub struct ConfigError {
    /// The field.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

/// The SMPP 3.4 gateway. Cheap to share behind an `Arc`; dropping it unbinds and closes the
/// connection in the background.
pub struct SmppGateway {
    requests: mpsc::Sender<Request>,
    reference: AtomicU8,
}

impl fmt::Debug for SmppGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmppGateway(..)")
    }
}

struct Request {
    to: String,
    parts: Vec<Part>,
    reply: oneshot::Sender<Result<SentSms, SmsError>>,
}

impl SmppGateway {
    /// Checks the configuration and starts the session task (within a tokio runtime). Nothing
    /// connects before the first send.
    pub fn new(config: SmppConfig) -> Result<SmppGateway, ConfigError> {
        config.check()?;
        let (requests, rx) = mpsc::channel(64);
        tokio::spawn(Actor::new(config).run(rx));
        Ok(SmppGateway {
            requests,
            reference: AtomicU8::new(1),
        })
    }
}

#[async_trait]
impl SmsGateway for SmppGateway {
    async fn send(&self, to: &str, text: &str) -> Result<SentSms, SmsError> {
        let number = MobileNumber::parse(to).map_err(|_| SmsError::InvalidNumber {
            masked: mask_mobile(to),
        })?;
        // A new reference per message, so a retried message is never merged with the parts of
        // an earlier attempt.
        let reference = self.reference.fetch_add(1, Ordering::Relaxed);
        let parts = encode_text(text, reference).map_err(SmsError::InvalidText)?;
        let (reply, answer) = oneshot::channel();
        let request = Request {
            to: number.as_str().to_owned(),
            parts,
            reply,
        };
        self.requests
            .send(request)
            .await
            .map_err(|_| SmsError::Stopped)?;
        answer.await.map_err(|_| SmsError::Stopped)?
    }
}

struct Connection {
    stream: TcpStream,
    session: EsmeSession,
}

struct Job {
    masked_to: String,
    message_ids: Vec<Option<String>>,
    reply: oneshot::Sender<Result<SentSms, SmsError>>,
}

enum Wake {
    Request(Option<Request>),
    Read(std::io::Result<usize>),
    Timer,
}

struct Actor {
    config: SmppConfig,
    start: Instant,
    connection: Option<Connection>,
    jobs: HashMap<u64, Job>,
    parts: HashMap<u32, (u64, usize)>,
    next_job: u64,
    buf: Vec<u8>,
}

impl Actor {
    fn new(config: SmppConfig) -> Actor {
        Actor {
            config,
            start: Instant::now(),
            connection: None,
            jobs: HashMap::new(),
            parts: HashMap::new(),
            next_job: 0,
            buf: vec![0; 4096],
        }
    }

    fn now(&self) -> Millis {
        Millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn instant(&self, at: Millis) -> Instant {
        self.start + Duration::from_millis(at.0)
    }

    fn esme_config(&self) -> EsmeConfig {
        EsmeConfig {
            response_timeout: Duration::from_millis(self.config.response_timeout_ms),
            enquire_link_interval: Duration::from_millis(self.config.enquire_link_interval_ms),
        }
    }

    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        loop {
            let wake = match self.connection.as_mut() {
                None => Wake::Request(requests.recv().await),
                Some(c) => {
                    let deadline = c
                        .session
                        .poll_timeout()
                        .map(|at| self.start + Duration::from_millis(at.0));
                    tokio::select! {
                        request = requests.recv() => Wake::Request(request),
                        read = c.stream.read(&mut self.buf) => Wake::Read(read),
                        () = sleep_until(deadline) => Wake::Timer,
                    }
                }
            };
            match wake {
                Wake::Request(Some(request)) => self.start_job(request).await,
                Wake::Request(None) => return self.unbind().await,
                Wake::Read(Ok(0)) => self.lost("the SMSC closed the connection"),
                Wake::Read(Err(e)) => self.lost(&format!("reading from the SMSC: {e}")),
                Wake::Read(Ok(n)) => {
                    let now = self.now();
                    if let Some(c) = self.connection.as_mut() {
                        c.session.handle_bytes(now, &self.buf[..n]);
                    }
                }
                Wake::Timer => {
                    let now = self.now();
                    if let Some(c) = self.connection.as_mut() {
                        c.session.handle_timeout(now);
                    }
                }
            }
            self.pump().await;
        }
    }

    async fn start_job(&mut self, request: Request) {
        let masked_to = mask_mobile(&request.to);
        if self.connection.is_none() {
            match self.connect().await {
                Ok(c) => self.connection = Some(c),
                Err(e) => {
                    warn!(to = %masked_to, error = %e, "sms not sent: no session with the SMSC");
                    let _ = request.reply.send(Err(e));
                    return;
                }
            }
        }
        let now = self.now();
        let Some(c) = self.connection.as_mut() else {
            return;
        };
        let job = self.next_job;
        self.next_job += 1;
        let count = request.parts.len();
        for (index, part) in request.parts.into_iter().enumerate() {
            let sm = SubmitSm {
                source_addr: self.config.source_addr.clone(),
                // National number, ISDN (E.164) numbering plan.
                dest_addr_ton: 0x02,
                dest_addr_npi: 0x01,
                destination_addr: request.to.clone(),
                esm_class: part.esm_class,
                data_coding: part.data_coding,
                short_message: part.short_message,
                ..SubmitSm::default()
            };
            match c.session.submit(now, sm) {
                Ok(seq) => {
                    self.parts.insert(seq, (job, index));
                }
                Err(e) => {
                    let error = match e {
                        SubmitError::NotBound => {
                            SmsError::Disconnected("the session is not bound".into())
                        }
                        // The configuration and the number were checked, the parts fit.
                        SubmitError::Encode(e) => SmsError::Protocol(e.to_string()),
                    };
                    warn!(to = %masked_to, error = %error, "sms not sent");
                    let _ = request.reply.send(Err(error));
                    return;
                }
            }
        }
        debug!(to = %masked_to, parts = count, "sms submitted");
        self.jobs.insert(
            job,
            Job {
                masked_to,
                message_ids: vec![None; count],
                reply: request.reply,
            },
        );
    }

    async fn connect(&mut self) -> Result<Connection, SmsError> {
        let address = self.config.address.clone();
        let connect_ms = self.config.connect_timeout_ms;
        let stream = match timeout(
            Duration::from_millis(connect_ms),
            TcpStream::connect(&address),
        )
        .await
        {
            Err(_) => {
                return Err(SmsError::Timeout {
                    what: "connect",
                    ms: connect_ms,
                })
            }
            Ok(Err(e)) => {
                return Err(SmsError::Disconnected(format!(
                    "connecting to {address}: {e}"
                )))
            }
            Ok(Ok(stream)) => stream,
        };
        let _ = stream.set_nodelay(true);
        let mut c = Connection {
            stream,
            session: EsmeSession::new(self.esme_config()),
        };
        let bind = Bind::transmitter(
            &self.config.system_id,
            &self.config.password,
            &self.config.system_type,
        );
        c.session
            .bind(self.now(), bind)
            .map_err(|e| SmsError::Protocol(e.to_string()))?;
        loop {
            self.write(&mut c).await?;
            while let Some(event) = c.session.poll_event() {
                match event {
                    EsmeEvent::Bound { system_id } => {
                        info!(smsc = %address, %system_id, "bound to the SMSC as a transmitter");
                        return Ok(c);
                    }
                    EsmeEvent::Closed(CloseReason::BindRefused(status)) => {
                        return Err(SmsError::BindRefused { status })
                    }
                    EsmeEvent::Closed(CloseReason::BindTimedOut) => {
                        return Err(SmsError::Timeout {
                            what: "bind_transmitter",
                            ms: self.config.response_timeout_ms,
                        })
                    }
                    EsmeEvent::Closed(reason) => {
                        return Err(SmsError::Disconnected(format!(
                            "the session ended during the bind: {reason:?}"
                        )))
                    }
                    EsmeEvent::Submitted { .. } => {}
                }
            }
            let deadline = c.session.poll_timeout().map(|at| self.instant(at));
            tokio::select! {
                read = c.stream.read(&mut self.buf) => match read {
                    Ok(0) => return Err(SmsError::Disconnected(
                        "the SMSC closed the connection during the bind".into(),
                    )),
                    Ok(n) => {
                        let now = self.now();
                        c.session.handle_bytes(now, &self.buf[..n]);
                    }
                    Err(e) => return Err(SmsError::Disconnected(format!("reading from the SMSC: {e}"))),
                },
                () = sleep_until(deadline) => {
                    let now = self.now();
                    c.session.handle_timeout(now);
                }
            }
        }
    }

    /// Writes what the session has to send, within the response timeout.
    async fn write(&self, c: &mut Connection) -> Result<(), SmsError> {
        let mut out = Vec::new();
        c.session.poll_transmit(&mut out);
        if out.is_empty() {
            return Ok(());
        }
        let ms = self.config.response_timeout_ms;
        match timeout(Duration::from_millis(ms), c.stream.write_all(&out)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SmsError::Disconnected(format!("writing to the SMSC: {e}"))),
            Err(_) => Err(SmsError::Timeout { what: "write", ms }),
        }
    }

    /// Writes, then handles the session's events.
    async fn pump(&mut self) {
        let Some(mut c) = self.connection.take() else {
            return;
        };
        if let Err(e) = self.write(&mut c).await {
            self.connection = Some(c);
            return self.lost(&e.to_string());
        }
        let mut closed = None;
        while let Some(event) = c.session.poll_event() {
            match event {
                EsmeEvent::Submitted {
                    sequence_number,
                    result,
                } => self.part_done(sequence_number, result),
                EsmeEvent::Closed(reason) => closed = Some(reason),
                EsmeEvent::Bound { .. } => {}
            }
        }
        match closed {
            None => self.connection = Some(c),
            Some(reason) => {
                // Whatever the session still had to say (an unbind_resp) is written above.
                self.lost(&format!("the session ended: {reason:?}"));
            }
        }
    }

    fn part_done(&mut self, sequence_number: u32, result: Result<String, SubmitFailure>) {
        let Some((job_id, index)) = self.parts.remove(&sequence_number) else {
            return;
        };
        let Some(job) = self.jobs.get_mut(&job_id) else {
            // The message already failed on another part.
            return;
        };
        match result {
            Ok(message_id) => {
                if let Some(slot) = job.message_ids.get_mut(index) {
                    *slot = Some(message_id);
                }
                if job.message_ids.iter().all(Option::is_some) {
                    if let Some(job) = self.jobs.remove(&job_id) {
                        let message_ids: Vec<String> =
                            job.message_ids.into_iter().flatten().collect();
                        info!(to = %job.masked_to, parts = message_ids.len(), ?message_ids, "sms accepted by the SMSC");
                        let _ = job.reply.send(Ok(SentSms { message_ids }));
                    }
                }
            }
            Err(failure) => {
                let error = match failure {
                    SubmitFailure::Refused(status) => SmsError::Refused { status },
                    SubmitFailure::TimedOut => SmsError::Timeout {
                        what: "submit_sm",
                        ms: self.config.response_timeout_ms,
                    },
                    SubmitFailure::Malformed(e) => SmsError::Protocol(e.to_string()),
                    SubmitFailure::Closed => {
                        SmsError::Disconnected("the session ended before the answer".into())
                    }
                };
                if let Some(job) = self.jobs.remove(&job_id) {
                    warn!(to = %job.masked_to, error = %error, "sms not sent");
                    let _ = job.reply.send(Err(error));
                }
            }
        }
    }

    /// The connection is gone: every message still waiting fails (its outcome is unknown).
    fn lost(&mut self, why: &str) {
        if self.connection.take().is_some() {
            warn!(smsc = %self.config.address, reason = why, "SMSC connection closed");
        }
        self.parts.clear();
        for (_, job) in self.jobs.drain() {
            warn!(to = %job.masked_to, reason = why, "sms not sent: connection lost");
            let _ = job.reply.send(Err(SmsError::Disconnected(why.to_owned())));
        }
    }

    /// The gateway was dropped: unbind and wait (within the response timeout) for the answer.
    async fn unbind(mut self) {
        let Some(mut c) = self.connection.take() else {
            return;
        };
        let now = self.now();
        c.session.unbind(now);
        let wait = Duration::from_millis(self.config.response_timeout_ms);
        let _ = timeout(wait, async {
            while self.write(&mut c).await.is_ok() && !c.session.is_closed() {
                match c.stream.read(&mut self.buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let now = self.now();
                        c.session.handle_bytes(now, &self.buf[..n]);
                    }
                }
            }
        })
        .await;
        debug!(smsc = %self.config.address, "unbound from the SMSC");
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

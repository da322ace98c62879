//! The two ends of an SMPP session as state machines: [`EsmeSession`] (our side, a transmitter:
//! bind, submit, keep the link alive, unbind) and [`SmscSession`] (the SMSC's, what the
//! simulator runs).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use super::decoder::PduDecoder;
use super::pdu::{Bind, Body, CommandStatus, DecodeError, EncodeError, Pdu, SubmitSm};
use crate::time::Millis;

/// Timing of the ESME's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsmeConfig {
    /// How long a bind, submit_sm, enquire_link or unbind waits for its response.
    pub response_timeout: Duration,
    /// Quiet time (nothing received, nothing sent) after which an enquire_link goes out.
    pub enquire_link_interval: Duration,
}

impl Default for EsmeConfig {
    fn default() -> Self {
        EsmeConfig {
            response_timeout: Duration::from_secs(10),
            enquire_link_interval: Duration::from_secs(30),
        }
    }
}

/// Why a submit_sm got no message id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitFailure {
    /// The SMSC answered with this status (in submit_sm_resp or generic_nack).
    Refused(CommandStatus),
    /// No response within [`EsmeConfig::response_timeout`]. The SMSC may still have taken it.
    TimedOut,
    /// The response was malformed.
    Malformed(DecodeError),
    /// The session ended before the response.
    Closed,
}

/// Why the session is over; the driver closes the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The SMSC refused the bind.
    BindRefused(CommandStatus),
    /// No bind_transmitter_resp in time.
    BindTimedOut,
    /// Our unbind was answered (or not, in time).
    Unbound,
    /// The SMSC unbound (we answered).
    PeerUnbound,
    /// An enquire_link went unanswered.
    LinkLost,
    /// The stream cannot be framed any more.
    Protocol(DecodeError),
}

/// What [`EsmeSession`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EsmeEvent {
    /// The bind was accepted: submits may go.
    Bound {
        /// The SMSC's system_id.
        system_id: String,
    },
    /// A submit_sm's outcome; exactly one per [`EsmeSession::submit`].
    Submitted {
        /// The submit's sequence number, as [`EsmeSession::submit`] returned it.
        sequence_number: u32,
        /// The SMSC's message id, or why there is none.
        result: Result<String, SubmitFailure>,
    },
    /// The session is over (reported once, after the outcomes of the submits still waiting).
    Closed(CloseReason),
}

/// Why a submit cannot go.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The session is not bound (yet, or any more).
    #[error("the session is not bound")]
    NotBound,
    /// A field does not fit.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    Binding,
    Bound,
    Unbinding,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Bind,
    Submit,
    EnquireLink,
    Unbind,
}

/// Our side of the session, bound as a transmitter.
///
/// Calling contract: after connecting, [`bind`](Self::bind); write what
/// [`poll_transmit`](Self::poll_transmit) appends, feed every byte read to
/// [`handle_bytes`](Self::handle_bytes), call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout), drain [`poll_event`](Self::poll_event). `now` is
/// monotonic. Once [`EsmeEvent::Bound`] came, [`submit`](Self::submit) any number of messages
/// (each gets one [`EsmeEvent::Submitted`]); after [`EsmeEvent::Closed`] write what is left and
/// close the connection. When the connection drops, the submits still waiting have unknown
/// outcomes: the driver fails them itself.
#[derive(Debug)]
pub struct EsmeSession {
    config: EsmeConfig,
    phase: Phase,
    decoder: PduDecoder,
    next_sequence: u32,
    waiting: BTreeMap<u32, (Waiting, Millis)>,
    last_activity: Millis,
    transmit: Vec<u8>,
    events: VecDeque<EsmeEvent>,
}

impl EsmeSession {
    /// A session on a fresh connection, not bound yet.
    pub fn new(config: EsmeConfig) -> EsmeSession {
        EsmeSession {
            config,
            phase: Phase::Open,
            decoder: PduDecoder::new(),
            next_sequence: 1,
            waiting: BTreeMap::new(),
            last_activity: Millis::ZERO,
            transmit: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Sends bind_transmitter; fails, sending nothing, if a credential does not fit.
    pub fn bind(&mut self, now: Millis, bind: Bind) -> Result<(), EncodeError> {
        self.request(now, Waiting::Bind, Body::BindTransmitter(bind))?;
        self.phase = Phase::Binding;
        Ok(())
    }

    /// Whether submits may go.
    pub fn is_bound(&self) -> bool {
        self.phase == Phase::Bound
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Sends a submit_sm; returns its sequence number, which its [`EsmeEvent::Submitted`]
    /// carries.
    pub fn submit(&mut self, now: Millis, sm: SubmitSm) -> Result<u32, SubmitError> {
        if self.phase != Phase::Bound {
            return Err(SubmitError::NotBound);
        }
        Ok(self.request(now, Waiting::Submit, Body::SubmitSm(Box::new(sm)))?)
    }

    /// Sends unbind; the session closes when it is answered or times out.
    pub fn unbind(&mut self, now: Millis) {
        if matches!(self.phase, Phase::Bound | Phase::Binding) {
            // Header-only PDUs always encode.
            if self.request(now, Waiting::Unbind, Body::Unbind).is_ok() {
                self.phase = Phase::Unbinding;
            }
        }
    }

    /// Feeds bytes read from the SMSC.
    pub fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        if self.phase == Phase::Closed {
            return;
        }
        self.last_activity = now;
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_pdu() {
            match item {
                Ok(pdu) => self.handle_pdu(pdu),
                Err(e) if e.is_fatal() => {
                    self.close(CloseReason::Protocol(e));
                    return;
                }
                Err(e) => {
                    let sequence_number = match &e {
                        DecodeError::Body {
                            sequence_number, ..
                        }
                        | DecodeError::UnknownCommand {
                            sequence_number, ..
                        } => *sequence_number,
                        DecodeError::Length(_) => 0,
                    };
                    if let Some(reply) = e.reply() {
                        self.send(&reply);
                    } else if let Some((Waiting::Submit, _)) =
                        self.waiting.get(&sequence_number).copied()
                    {
                        self.waiting.remove(&sequence_number);
                        self.events.push_back(EsmeEvent::Submitted {
                            sequence_number,
                            result: Err(SubmitFailure::Malformed(e)),
                        });
                    }
                }
            }
            if self.phase == Phase::Closed {
                return;
            }
        }
    }

    fn handle_pdu(&mut self, pdu: Pdu) {
        let seq = pdu.sequence_number;
        let status = pdu.command_status;
        match pdu.body {
            Body::EnquireLink => self.send(&Pdu {
                command_status: CommandStatus::OK,
                sequence_number: seq,
                body: Body::EnquireLinkResp,
            }),
            Body::Unbind => {
                self.send(&Pdu {
                    command_status: CommandStatus::OK,
                    sequence_number: seq,
                    body: Body::UnbindResp,
                });
                self.close(CloseReason::PeerUnbound);
            }
            Body::BindTransmitterResp { system_id } if self.take(seq, Waiting::Bind) => {
                if status.is_ok() {
                    self.phase = Phase::Bound;
                    self.events.push_back(EsmeEvent::Bound { system_id });
                } else {
                    self.close(CloseReason::BindRefused(status));
                }
            }
            Body::SubmitSmResp { message_id } if self.take(seq, Waiting::Submit) => {
                self.events.push_back(EsmeEvent::Submitted {
                    sequence_number: seq,
                    result: if status.is_ok() {
                        Ok(message_id)
                    } else {
                        Err(SubmitFailure::Refused(status))
                    },
                });
            }
            Body::EnquireLinkResp => {
                self.take(seq, Waiting::EnquireLink);
            }
            Body::UnbindResp if self.take(seq, Waiting::Unbind) => self.close(CloseReason::Unbound),
            Body::GenericNack => match self.waiting.remove(&seq) {
                Some((Waiting::Submit, _)) => self.events.push_back(EsmeEvent::Submitted {
                    sequence_number: seq,
                    result: Err(SubmitFailure::Refused(status)),
                }),
                Some((Waiting::Bind, _)) => self.close(CloseReason::BindRefused(status)),
                Some((Waiting::Unbind, _)) => self.close(CloseReason::Unbound),
                Some((Waiting::EnquireLink, _)) | None => {}
            },
            // A request a transmitter does not take (or a response nobody waits for).
            Body::BindTransmitter(_) | Body::SubmitSm(_) => self.send(&Pdu {
                command_status: CommandStatus::INVALID_BIND_STATUS,
                sequence_number: seq,
                body: Body::GenericNack,
            }),
            Body::BindTransmitterResp { .. } | Body::SubmitSmResp { .. } | Body::UnbindResp => {}
        }
    }

    /// Tells the session that `now` has been reached.
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.phase == Phase::Closed {
            return;
        }
        let expired: Vec<(u32, Waiting)> = self
            .waiting
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(seq, (what, _))| (*seq, *what))
            .collect();
        for (seq, what) in expired {
            self.waiting.remove(&seq);
            match what {
                Waiting::Submit => self.events.push_back(EsmeEvent::Submitted {
                    sequence_number: seq,
                    result: Err(SubmitFailure::TimedOut),
                }),
                Waiting::Bind => return self.close(CloseReason::BindTimedOut),
                Waiting::EnquireLink => return self.close(CloseReason::LinkLost),
                Waiting::Unbind => return self.close(CloseReason::Unbound),
            }
        }
        if self.phase == Phase::Bound
            && !self
                .waiting
                .values()
                .any(|(w, _)| *w == Waiting::EnquireLink)
            && self.last_activity + self.config.enquire_link_interval <= now
        {
            // Header-only PDUs always encode.
            let _ = self.request(now, Waiting::EnquireLink, Body::EnquireLink);
        }
    }

    /// Appends the bytes to write to the SMSC.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        if self.phase == Phase::Closed {
            return None;
        }
        let response = self.waiting.values().map(|(_, deadline)| *deadline).min();
        let keepalive = (self.phase == Phase::Bound
            && !self
                .waiting
                .values()
                .any(|(w, _)| *w == Waiting::EnquireLink))
        .then(|| self.last_activity + self.config.enquire_link_interval);
        crate::time::earliest(response, keepalive)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<EsmeEvent> {
        self.events.pop_front()
    }

    fn request(&mut self, now: Millis, what: Waiting, body: Body) -> Result<u32, EncodeError> {
        let seq = self.next_sequence;
        Pdu::request(seq, body).encode(&mut self.transmit)?;
        self.next_sequence = if seq >= 0x7FFF_FFFF { 1 } else { seq + 1 };
        self.waiting
            .insert(seq, (what, now + self.config.response_timeout));
        self.last_activity = now;
        Ok(seq)
    }

    fn take(&mut self, seq: u32, what: Waiting) -> bool {
        match self.waiting.get(&seq) {
            Some((w, _)) if *w == what => {
                self.waiting.remove(&seq);
                true
            }
            _ => false,
        }
    }

    fn send(&mut self, pdu: &Pdu) {
        // Responses and nacks carry no fields that can overflow.
        let _ = pdu.encode(&mut self.transmit);
    }

    fn close(&mut self, reason: CloseReason) {
        for (seq, (what, _)) in std::mem::take(&mut self.waiting) {
            if what == Waiting::Submit {
                self.events.push_back(EsmeEvent::Submitted {
                    sequence_number: seq,
                    result: Err(SubmitFailure::Closed),
                });
            }
        }
        self.phase = Phase::Closed;
        self.events.push_back(EsmeEvent::Closed(reason));
    }
}

/// What [`SmscSession`] reports to whoever runs it (the simulator decides the answers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmscEvent {
    /// A bind_transmitter; answer with [`SmscSession::accept_bind`] or
    /// [`SmscSession::refuse_bind`].
    Bind {
        /// Its sequence number.
        sequence_number: u32,
        /// The credentials.
        bind: Bind,
    },
    /// A submit_sm on a bound session; answer with [`SmscSession::respond_submit`].
    Submit {
        /// Its sequence number.
        sequence_number: u32,
        /// The message.
        submit: Box<SubmitSm>,
    },
    /// An enquire_link (already answered).
    EnquireLink,
    /// The ESME unbound (unbind_resp is queued): write it and close.
    Unbound,
    /// A malformed PDU (already answered when it deserves an answer).
    Malformed(DecodeError),
    /// The stream cannot be framed any more: close the connection.
    Lost(DecodeError),
}

/// The SMSC's side of a session.
///
/// Calling contract: feed every byte read to [`handle_bytes`](Self::handle_bytes), drain
/// [`poll_event`](Self::poll_event) and answer binds and submits, write what
/// [`poll_transmit`](Self::poll_transmit) appends. enquire_link is answered by the machine; a
/// submit_sm before the bind gets `ESME_RINVBNDSTS`, an unknown command a generic_nack with
/// `ESME_RINVCMDID`. It has no timers: an SMSC that drops idle sessions does it outside.
#[derive(Debug, Default)]
pub struct SmscSession {
    decoder: PduDecoder,
    bound: bool,
    transmit: Vec<u8>,
    events: VecDeque<SmscEvent>,
}

impl SmscSession {
    /// A session on a freshly accepted connection.
    pub fn new() -> SmscSession {
        SmscSession::default()
    }

    /// Whether a bind was accepted.
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// Feeds bytes read from the ESME.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_pdu() {
            let pdu = match item {
                Ok(pdu) => pdu,
                Err(e) if e.is_fatal() => {
                    self.events.push_back(SmscEvent::Lost(e));
                    return;
                }
                Err(e) => {
                    if let Some(reply) = e.reply() {
                        self.send(&reply);
                    }
                    self.events.push_back(SmscEvent::Malformed(e));
                    continue;
                }
            };
            let seq = pdu.sequence_number;
            match pdu.body {
                Body::BindTransmitter(_) if self.bound => self.send(&Pdu {
                    command_status: CommandStatus::ALREADY_BOUND,
                    sequence_number: seq,
                    body: Body::BindTransmitterResp {
                        system_id: String::new(),
                    },
                }),
                Body::BindTransmitter(bind) => self.events.push_back(SmscEvent::Bind {
                    sequence_number: seq,
                    bind,
                }),
                Body::SubmitSm(_) if !self.bound => self.send(&Pdu {
                    command_status: CommandStatus::INVALID_BIND_STATUS,
                    sequence_number: seq,
                    body: Body::SubmitSmResp {
                        message_id: String::new(),
                    },
                }),
                Body::SubmitSm(submit) => self.events.push_back(SmscEvent::Submit {
                    sequence_number: seq,
                    submit,
                }),
                Body::EnquireLink => {
                    self.send(&Pdu {
                        command_status: CommandStatus::OK,
                        sequence_number: seq,
                        body: Body::EnquireLinkResp,
                    });
                    self.events.push_back(SmscEvent::EnquireLink);
                }
                Body::Unbind => {
                    self.bound = false;
                    self.send(&Pdu {
                        command_status: CommandStatus::OK,
                        sequence_number: seq,
                        body: Body::UnbindResp,
                    });
                    self.events.push_back(SmscEvent::Unbound);
                }
                Body::BindTransmitterResp { .. }
                | Body::SubmitSmResp { .. }
                | Body::EnquireLinkResp
                | Body::UnbindResp
                | Body::GenericNack => {}
            }
        }
    }

    /// Accepts the bind of [`SmscEvent::Bind`].
    pub fn accept_bind(
        &mut self,
        sequence_number: u32,
        system_id: &str,
    ) -> Result<(), EncodeError> {
        Pdu {
            command_status: CommandStatus::OK,
            sequence_number,
            body: Body::BindTransmitterResp {
                system_id: system_id.to_owned(),
            },
        }
        .encode(&mut self.transmit)?;
        self.bound = true;
        Ok(())
    }

    /// Refuses the bind of [`SmscEvent::Bind`] (e.g. `ESME_RINVPASWD`).
    pub fn refuse_bind(&mut self, sequence_number: u32, status: CommandStatus) {
        self.send(&Pdu {
            command_status: status,
            sequence_number,
            body: Body::BindTransmitterResp {
                system_id: String::new(),
            },
        });
    }

    /// Answers [`SmscEvent::Submit`]: the message id, or the status refusing it.
    pub fn respond_submit(
        &mut self,
        sequence_number: u32,
        result: Result<&str, CommandStatus>,
    ) -> Result<(), EncodeError> {
        let (command_status, message_id) = match result {
            Ok(id) => (CommandStatus::OK, id.to_owned()),
            Err(status) => (status, String::new()),
        };
        Pdu {
            command_status,
            sequence_number,
            body: Body::SubmitSmResp { message_id },
        }
        .encode(&mut self.transmit)
    }

    /// Appends the bytes to write to the ESME.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SmscEvent> {
        self.events.pop_front()
    }

    fn send(&mut self, pdu: &Pdu) {
        // Responses with empty or short fields always encode.
        let _ = pdu.encode(&mut self.transmit);
    }
}

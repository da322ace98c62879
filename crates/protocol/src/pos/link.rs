//! The MIS-POS link as two state machines: the kiosk sends a request and waits for the
//! terminal's response; each frame is acknowledged, NAKed frames and frames left unacknowledged
//! are resent at most 3 times.

use std::collections::VecDeque;
use std::time::Duration;

use super::frame::{encode_frame, FrameDecoder, FrameError, Item, ACK, NAK};
use super::message::{FieldError, Request, Response};
use crate::time::Millis;

/// Link timing, shared by both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// How long to wait for ACK/NAK after sending a frame.
    pub ack_timeout: Duration,
    /// Resends of a frame after a NAK or an ACK timeout (3 in the MIS-POS convention).
    pub max_resends: u32,
    /// How long the kiosk waits for the response once the request was acknowledged: the
    /// citizen inserts the card and types the PIN meanwhile.
    pub response_timeout: Duration,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            ack_timeout: Duration::from_secs(2),
            max_resends: 3,
            response_timeout: Duration::from_secs(120),
        }
    }
}

/// Outcomes on the kiosk's side; each request ends with exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The terminal's response (approved or not: see [`Response::is_approved`]).
    Response(Box<Response>),
    /// A response arrived intact but its fields are malformed.
    BadResponse(FieldError),
    /// The request was never acknowledged, after the resends.
    Unacknowledged,
    /// The request was acknowledged but no response came in time. The payment state is
    /// unknown: the caller must query or void, never simply retry.
    Timeout,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
enum ClientPhase {
    #[default]
    Idle,
    AwaitAck {
        deadline: Millis,
        resends: u32,
    },
    AwaitResponse {
        deadline: Millis,
    },
}

/// Kiosk-side MIS-POS link.
///
/// Calling contract: [`start`](Self::start) a request, write what
/// [`poll_transmit`](Self::poll_transmit) appends, feed every byte read to
/// [`handle_bytes`](Self::handle_bytes), call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout), drain [`poll_event`](Self::poll_event). `now` is
/// monotonic. One request at a time; a response frame repeated because our ACK was lost is
/// acknowledged again but reported once.
#[derive(Clone, Debug, Default)]
pub struct PosClient {
    config: LinkConfig,
    decoder: FrameDecoder,
    phase: ClientPhase,
    frame: Vec<u8>,
    transmit: Vec<u8>,
    events: VecDeque<ClientEvent>,
}

impl PosClient {
    /// An idle link.
    pub fn new(config: LinkConfig) -> Self {
        PosClient {
            config,
            ..PosClient::default()
        }
    }

    /// Sends a request; fails at once, sending nothing, if a field does not fit.
    pub fn start(&mut self, now: Millis, request: &Request) -> Result<(), FieldError> {
        let payload = request.encode()?;
        self.decoder.clear();
        self.frame.clear();
        encode_frame(&payload, &mut self.frame);
        self.transmit.extend_from_slice(&self.frame);
        self.phase = ClientPhase::AwaitAck {
            deadline: now + self.config.ack_timeout,
            resends: 0,
        };
        Ok(())
    }

    /// Whether a request is in progress.
    pub fn is_busy(&self) -> bool {
        self.phase != ClientPhase::Idle
    }

    /// Feeds bytes read from the terminal.
    pub fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_item() {
            match (item, self.phase.clone()) {
                (Ok(Item::Ack), ClientPhase::AwaitAck { .. }) => {
                    self.phase = ClientPhase::AwaitResponse {
                        deadline: now + self.config.response_timeout,
                    }
                }
                (Ok(Item::Nak), ClientPhase::AwaitAck { resends, .. }) => {
                    self.resend_or_give_up(now, resends)
                }
                // A response implies the request got through even if its ACK was lost.
                (
                    Ok(Item::Frame(payload)),
                    ClientPhase::AwaitAck { .. } | ClientPhase::AwaitResponse { .. },
                ) => {
                    self.transmit.push(ACK);
                    self.phase = ClientPhase::Idle;
                    self.events.push_back(match Response::decode(&payload) {
                        Ok(r) => ClientEvent::Response(Box::new(r)),
                        Err(e) => ClientEvent::BadResponse(e),
                    });
                }
                (Ok(Item::Frame(_)), ClientPhase::Idle) => self.transmit.push(ACK),
                (Err(e), ClientPhase::AwaitResponse { .. }) if e.wants_nak() => {
                    self.transmit.push(NAK)
                }
                _ => {}
            }
        }
    }

    /// Tells the link that `now` has been reached.
    pub fn handle_timeout(&mut self, now: Millis) {
        match self.phase {
            ClientPhase::AwaitAck { deadline, resends } if now >= deadline => {
                self.resend_or_give_up(now, resends)
            }
            ClientPhase::AwaitResponse { deadline } if now >= deadline => {
                self.phase = ClientPhase::Idle;
                self.events.push_back(ClientEvent::Timeout);
            }
            _ => {}
        }
    }

    /// Appends the bytes to write to the terminal.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match self.phase {
            ClientPhase::Idle => None,
            ClientPhase::AwaitAck { deadline, .. } | ClientPhase::AwaitResponse { deadline } => {
                Some(deadline)
            }
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn resend_or_give_up(&mut self, now: Millis, resends: u32) {
        if resends < self.config.max_resends {
            self.transmit.extend_from_slice(&self.frame);
            self.phase = ClientPhase::AwaitAck {
                deadline: now + self.config.ack_timeout,
                resends: resends + 1,
            };
        } else {
            self.phase = ClientPhase::Idle;
            self.events.push_back(ClientEvent::Unacknowledged);
        }
    }
}

/// What the terminal side reports to whoever runs it (the simulator decides the outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// A request arrived; answer it with [`PosDevice::respond`].
    Request(Box<Request>),
    /// A frame arrived intact but is not a valid request; answer with a declining response.
    BadRequest(FieldError),
    /// The kiosk acknowledged the response.
    Delivered,
    /// The kiosk never acknowledged the response, after the resends.
    Undelivered,
    /// A damaged frame was received and NAKed.
    Damaged(FrameError),
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
enum DevicePhase {
    #[default]
    Idle,
    /// The request was handed to the caller; the payload spots a resent duplicate.
    Processing {
        request: Vec<u8>,
    },
    AwaitAck {
        deadline: Millis,
        resends: u32,
    },
}

/// Terminal-side MIS-POS link.
///
/// Calling contract: as [`PosClient`]; after a [`DeviceEvent::Request`] the caller (the
/// simulator's control channel: approve, decline) calls [`respond`](Self::respond).
#[derive(Clone, Debug, Default)]
pub struct PosDevice {
    config: LinkConfig,
    decoder: FrameDecoder,
    phase: DevicePhase,
    frame: Vec<u8>,
    transmit: Vec<u8>,
    events: VecDeque<DeviceEvent>,
    corrupt_next: u32,
    mute_next: u32,
}

impl PosDevice {
    /// An idle terminal.
    pub fn new(config: LinkConfig) -> Self {
        PosDevice {
            config,
            ..PosDevice::default()
        }
    }

    /// Corrupts the LRC of the next `n` response frames sent.
    pub fn corrupt_next(&mut self, n: u32) {
        self.corrupt_next = n;
    }

    /// Ignores the next `n` request frames (no ACK), as if they were lost.
    pub fn mute_next(&mut self, n: u32) {
        self.mute_next = n;
    }

    /// Sends the response to the pending request.
    pub fn respond(&mut self, now: Millis, response: &Response) -> Result<(), FieldError> {
        let payload = response.encode()?;
        self.frame.clear();
        encode_frame(&payload, &mut self.frame);
        self.send_frame();
        self.phase = DevicePhase::AwaitAck {
            deadline: now + self.config.ack_timeout,
            resends: 0,
        };
        Ok(())
    }

    /// Feeds bytes received from the kiosk.
    pub fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_item() {
            match (item, self.phase.clone()) {
                (Ok(Item::Frame(_)), _) if self.mute_next > 0 => self.mute_next -= 1,
                (Ok(Item::Frame(payload)), DevicePhase::Processing { request })
                    if payload == request =>
                {
                    self.transmit.push(ACK)
                }
                (Ok(Item::Frame(payload)), _) => {
                    self.transmit.push(ACK);
                    self.events.push_back(match Request::decode(&payload) {
                        Ok(r) => DeviceEvent::Request(Box::new(r)),
                        Err(e) => DeviceEvent::BadRequest(e),
                    });
                    self.phase = DevicePhase::Processing { request: payload };
                }
                (Ok(Item::Ack), DevicePhase::AwaitAck { .. }) => {
                    self.phase = DevicePhase::Idle;
                    self.events.push_back(DeviceEvent::Delivered);
                }
                (Ok(Item::Nak), DevicePhase::AwaitAck { resends, .. }) => {
                    self.resend_or_give_up(now, resends)
                }
                (Err(e), _) if e.wants_nak() => {
                    self.transmit.push(NAK);
                    self.events.push_back(DeviceEvent::Damaged(e));
                }
                _ => {}
            }
        }
    }

    /// Tells the link that `now` has been reached.
    pub fn handle_timeout(&mut self, now: Millis) {
        if let DevicePhase::AwaitAck { deadline, resends } = self.phase {
            if now >= deadline {
                self.resend_or_give_up(now, resends);
            }
        }
    }

    /// Appends the bytes to write to the kiosk.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match self.phase {
            DevicePhase::AwaitAck { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    fn send_frame(&mut self) {
        let start = self.transmit.len();
        self.transmit.extend_from_slice(&self.frame);
        if self.corrupt_next > 0 {
            self.corrupt_next -= 1;
            if let Some(lrc) = self.transmit[start..].last_mut() {
                *lrc ^= 0x5A;
            }
        }
    }

    fn resend_or_give_up(&mut self, now: Millis, resends: u32) {
        if resends < self.config.max_resends {
            self.send_frame();
            self.phase = DevicePhase::AwaitAck {
                deadline: now + self.config.ack_timeout,
                resends: resends + 1,
            };
        } else {
            self.phase = DevicePhase::Idle;
            self.events.push_back(DeviceEvent::Undelivered);
        }
    }
}

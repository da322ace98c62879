//! The one driver loop every device shares: read bytes, feed them to the protocol's state
//! machine, write what it polls, arm the timer it asks for; plus the port's life cycle (open,
//! lose, reopen with backoff) and the health it implies.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use protocol::Millis;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::clock::{sleep_until_opt, Clock};
use crate::health::{DeviceHealth, HealthCell};
use crate::serial::{LineConfig, LineError, SerialPort};

/// The calling contract every host-side state machine of the `protocol` crate follows.
pub(crate) trait SansIo {
    /// What the state machine reports.
    type Event;
    /// Strict request/response: nothing received before a command went out can answer it.
    /// The driver then feeds bytes one at a time and, as soon as the state machine has a new
    /// command to send, drops the rest of what was received (and the tty's input queue) before
    /// sending it. Without this, a late answer that arrives together with the answer to its
    /// resend would be taken for the answer to the next command (see docs/devices.md).
    const STRICT_REQUEST_RESPONSE: bool = false;
    fn handle_bytes(&mut self, now: Millis, bytes: &[u8]);
    fn handle_timeout(&mut self, now: Millis);
    fn poll_transmit(&mut self, out: &mut Vec<u8>);
    fn poll_timeout(&self) -> Option<Millis>;
    fn poll_event(&mut self) -> Option<Self::Event>;
}

/// Implements [`SansIo`] for a protocol client by forwarding to its inherent methods of the same
/// names (every client in `protocol` follows that calling contract).
macro_rules! forward_sans_io {
    ($client:ty, $event:ty, strict = $strict:expr) => {
        impl $crate::engine::SansIo for $client {
            type Event = $event;
            const STRICT_REQUEST_RESPONSE: bool = $strict;
            fn handle_bytes(&mut self, now: protocol::Millis, bytes: &[u8]) {
                <$client>::handle_bytes(self, now, bytes);
            }
            fn handle_timeout(&mut self, now: protocol::Millis) {
                <$client>::handle_timeout(self, now);
            }
            fn poll_transmit(&mut self, out: &mut Vec<u8>) {
                <$client>::poll_transmit(self, out);
            }
            fn poll_timeout(&self) -> Option<protocol::Millis> {
                <$client>::poll_timeout(self)
            }
            fn poll_event(&mut self) -> Option<$event> {
                <$client>::poll_event(self)
            }
        }
    };
}
pub(crate) use forward_sans_io;

/// Feeds `sm` from `port` until `on_event` returns a result.
async fn drive<P: SansIo, T>(
    port: &SerialPort,
    sm: &mut P,
    clock: &Clock,
    on_event: &mut impl FnMut(P::Event) -> Option<T>,
) -> Result<T, LineError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        while let Some(event) = sm.poll_event() {
            if let Some(done) = on_event(event) {
                // Send what the machine queued with the event (the ACK of a response) before
                // returning: unacknowledged, the device resends its answer, and the next
                // command would read that stale answer as its own.
                sm.poll_transmit(&mut out);
                if !out.is_empty() {
                    port.write_all(&out).await?;
                }
                return Ok(done);
            }
        }
        sm.poll_transmit(&mut out);
        if !out.is_empty() {
            port.write_all(&out).await?;
            out.clear();
        }
        let deadline = sm.poll_timeout().map(|at| clock.instant(at));
        tokio::select! {
            read = port.read(&mut buf) => {
                let n = read?;
                let now = clock.now();
                if P::STRICT_REQUEST_RESPONSE {
                    for (i, byte) in buf[..n].iter().enumerate() {
                        sm.handle_bytes(now, std::slice::from_ref(byte));
                        sm.poll_transmit(&mut out);
                        if !out.is_empty() {
                            if i + 1 < n {
                                tracing::debug!(dropped = n - i - 1, "stale bytes before a new command");
                            }
                            port.discard_input();
                            break;
                        }
                    }
                } else {
                    sm.handle_bytes(now, &buf[..n]);
                }
            }
            () = sleep_until_opt(deadline) => sm.handle_timeout(clock.now()),
        }
    }
}

/// What to do with a running operation when the line is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnLoss {
    /// Reopen the port and start the operation again (reading a card, capturing a finger).
    Restart,
    /// Fail: repeating it could do harm (a purchase must not be sent twice).
    Fail,
}

/// Most times one operation reopens a flapping line before it gives up.
const MAX_RECONNECTIONS: u32 = 5;

/// A device on a serial line: the port (opened lazily, reopened after a loss) and its health.
#[derive(Debug)]
pub(crate) struct Connection {
    line: LineConfig,
    /// The rate the port runs at now (a device may be told to change it).
    baud: AtomicU32,
    /// Ports opened so far: a new one may be a new or power-cycled device.
    opened: AtomicU64,
    port: Mutex<Option<SerialPort>>,
    health: HealthCell,
    clock: Clock,
}

impl Connection {
    pub(crate) fn new(line: LineConfig) -> Self {
        Connection {
            baud: AtomicU32::new(line.baud),
            opened: AtomicU64::new(0),
            line,
            port: Mutex::new(None),
            health: HealthCell::new(),
            clock: Clock::new(),
        }
    }

    pub(crate) fn health(&self) -> &HealthCell {
        &self.health
    }

    /// The configured line (its `baud` is the rate the port is opened at first).
    pub(crate) fn line(&self) -> &LineConfig {
        &self.line
    }

    /// The rate the port runs at now.
    pub(crate) fn baud(&self) -> u32 {
        self.baud.load(Ordering::SeqCst)
    }

    /// How many times the port was opened: changes when a device may have been replaced.
    pub(crate) fn generation(&self) -> u64 {
        self.opened.load(Ordering::SeqCst)
    }

    /// Runs the port at `baud` from now on (and when it is reopened).
    pub(crate) async fn set_baud(&self, baud: u32) -> Result<(), LineError> {
        let slot = self.port.lock().await;
        if let Some(port) = slot.as_ref() {
            port.set_baud(baud)?;
        }
        self.baud.store(baud, Ordering::SeqCst);
        Ok(())
    }

    /// Runs one operation. `start` builds the state machine with its operation started (called
    /// again after a reconnection when `on_loss` is [`OnLoss::Restart`]); its events go to
    /// `on_event` until that returns the result. Operations on one device run one at a time.
    pub(crate) async fn run<P: SansIo, T>(
        &self,
        on_loss: OnLoss,
        mut start: impl FnMut(Millis) -> P,
        mut on_event: impl FnMut(P::Event) -> Option<T>,
    ) -> Result<T, LineError> {
        let mut slot = self.port.lock().await;
        let mut reconnections = 0;
        loop {
            let port = match slot.take() {
                Some(port) => port,
                None => {
                    let deadline = Instant::now() + self.line.reconnect.give_up_after;
                    let mut line = self.line.clone();
                    line.baud = self.baud();
                    match SerialPort::open_with_backoff(&line, deadline).await {
                        Ok(port) => {
                            self.opened.fetch_add(1, Ordering::SeqCst);
                            port
                        }
                        Err(e) => {
                            self.health.set(DeviceHealth::Disconnected {
                                reason: e.to_string(),
                            });
                            return Err(e);
                        }
                    }
                }
            };
            // Whatever arrived between operations (a late answer to a cancelled one) is stale.
            port.discard_input();
            self.health.set(DeviceHealth::Busy);
            let mut sm = start(self.clock.now());
            match drive(&port, &mut sm, &self.clock, &mut on_event).await {
                Ok(done) => {
                    *slot = Some(port);
                    return Ok(done);
                }
                Err(e) => {
                    tracing::warn!(path = %self.line.path.display(), error = %e, "line lost");
                    self.health.set(DeviceHealth::Disconnected {
                        reason: e.to_string(),
                    });
                    drop(port);
                    reconnections += 1;
                    if on_loss == OnLoss::Fail || reconnections > MAX_RECONNECTIONS {
                        return Err(e);
                    }
                }
            }
        }
    }
}

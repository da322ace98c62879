//! The simulators' shared machinery: a pseudo terminal ([`crate::pty::Pty`]), a device-side
//! state machine from the `protocol` crate, output paced to the line's baud rate, faults, and a
//! loopback HTTP control API.
//!
//! A pty moves bytes as fast as the kernel copies them, so the simulator models the wire itself:
//! each byte leaves no earlier than 10 bit times (8N1) after the previous one, counted from the
//! moment the device started sending; the driver therefore sees the timing of real hardware.
//!
//! Faults apply to the next frames the device sends: corrupt (a flipped checksum byte), delay
//! (held back for a while), mute (never sent), and dropping the line (the pty is closed, the link
//! removed, and after a while a new pty is published under the same link).

pub mod barcode;
pub mod camera;
pub mod card_reader;
mod control;
pub mod fingerprint;
pub mod pos;
mod transmit;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use protocol::Millis;
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::clock::{sleep_until_opt, Clock};
use crate::pty::Pty;
use transmit::Transmitter;

pub use control::ControlError;

/// The device side of a simulator: a protocol state machine plus whatever a person can do to it.
pub trait SimDevice: Send + 'static {
    /// Feeds the bytes the driver wrote.
    fn handle_bytes(&mut self, now: Millis, bytes: &[u8]);
    /// Tells the device that `now` has been reached.
    fn handle_timeout(&mut self, now: Millis);
    /// Appends what the device sends.
    fn poll_transmit(&mut self, out: &mut Vec<u8>);
    /// When [`handle_timeout`](Self::handle_timeout) is due.
    fn poll_timeout(&self) -> Option<Millis>;
    /// Corrupts the next `n` frames the device itself sends, if it can do it frame-exactly;
    /// `false` makes the simulator flip the last byte of each of the next `n` writes instead.
    fn corrupt_next(&mut self, _n: u32) -> bool {
        false
    }
    /// The line was dropped: forget half-received input and pending answers, as a power cycle.
    fn line_reset(&mut self, now: Millis);
    /// The rate the device's UART runs at now, for a device the host can move to another rate
    /// (the fingerprint module's SetSysPara); `None`: the configured rate, always. A paced
    /// simulator sends what it queued before a change at the old rate and the rest at the new
    /// one, and hears nothing the driver sends while its port is set to another rate.
    fn line_baud(&self) -> Option<u32> {
        None
    }
}

/// How a simulator is started.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Publish the pty under this stable path (e.g. `/tmp/idkiosk-sim/card-reader`).
    pub link: Option<PathBuf>,
    /// Pace output to this many bits per second (10 bits a byte); `None` sends at pty speed.
    pub baud: Option<u32>,
    /// Where the control API listens (loopback; port 0 picks one).
    pub control: SocketAddr,
}

impl SimConfig {
    /// Paced at `baud`, no link, control on an ephemeral loopback port.
    pub fn new(baud: u32) -> Self {
        SimConfig {
            link: None,
            baud: Some(baud),
            control: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// Faults waiting to be applied to the device's next frames.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Faults {
    /// Frames still to corrupt (when the device cannot do it itself).
    pub corrupt_frames: u32,
    /// Frames still to hold back by `delay_ms`.
    pub delay_frames: u32,
    /// How long a delayed frame is held back.
    pub delay_ms: u64,
    /// Frames still to swallow.
    pub mute_frames: u32,
    /// Frames still to precede with line noise.
    pub noise_frames: u32,
    /// A pending line drop, and for how long.
    pub drop_ms: Option<u64>,
}

/// Counters for the control API's status.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SimStats {
    /// Bytes received from the driver.
    pub bytes_in: u64,
    /// Bytes handed to the line.
    pub bytes_out: u64,
    /// Times the line was dropped.
    pub line_drops: u64,
}

/// Everything behind the simulator's lock.
#[derive(Debug)]
pub struct SimState<D> {
    /// The device.
    pub device: D,
    /// Pending faults.
    pub faults: Faults,
    /// Counters.
    pub stats: SimStats,
    /// The current pty, `None` while the line is dropped.
    pub pty_path: Option<PathBuf>,
}

/// What the line task and the control API share.
#[derive(Debug)]
pub struct Shared<D> {
    name: &'static str,
    state: Mutex<SimState<D>>,
    changed: Notify,
    port: PathBuf,
    clock: Clock,
}

impl<D: SimDevice> Shared<D> {
    /// Runs `f` on the state, then wakes the line task so it sends what `f` caused.
    pub fn with<R>(&self, f: impl FnOnce(&mut SimState<D>, Millis) -> R) -> R {
        let result = {
            let mut state = self.lock();
            f(&mut state, self.clock.now())
        };
        self.changed.notify_one();
        result
    }

    fn lock(&self) -> MutexGuard<'_, SimState<D>> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The device kind, e.g. `card-reader`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Corrupts the next `n` frames.
    pub fn corrupt_next(&self, n: u32) {
        self.with(|s, _| {
            if s.device.corrupt_next(n) {
                s.faults.corrupt_frames = 0;
            } else {
                s.faults.corrupt_frames = n;
            }
        });
    }

    /// Holds the next `n` frames back by `delay`.
    pub fn delay_next(&self, n: u32, delay: Duration) {
        self.with(|s, _| {
            s.faults.delay_frames = n;
            s.faults.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        });
    }

    /// Swallows the next `n` frames.
    pub fn mute_next(&self, n: u32) {
        self.with(|s, _| s.faults.mute_frames = n);
    }

    /// Precedes each of the next `n` frames with line noise (stray bytes, some of them
    /// preamble-like), which the driver must skip to find the frame.
    pub fn noise_before_next(&self, n: u32) {
        self.with(|s, _| s.faults.noise_frames = n);
    }

    /// Drops the line (closes the pty) for `down`, then publishes a new one under the same link.
    pub fn drop_line(&self, down: Duration) {
        self.with(|s, _| s.faults.drop_ms = Some(u64::try_from(down.as_millis()).unwrap_or(0)));
    }

    /// Forgets every pending fault.
    pub fn clear_faults(&self) {
        self.with(|s, now| {
            s.faults = Faults::default();
            s.device.corrupt_next(0);
            let _ = now;
        });
    }
}

/// The status the control API reports at `GET /status`.
#[derive(Clone, Debug, Serialize)]
pub struct SimStatus {
    /// The device kind.
    pub device: &'static str,
    /// The path to give a driver (the stable link, or the pty when there is none).
    pub port: PathBuf,
    /// The current pty, `null` while the line is dropped.
    pub pty: Option<PathBuf>,
    /// Pending faults.
    pub faults: Faults,
    /// Counters.
    pub stats: SimStats,
}

/// A running simulator; dropping it stops it, closes its pty and removes its link.
#[derive(Debug)]
pub struct SimHandle<D> {
    shared: Arc<Shared<D>>,
    control: SocketAddr,
    line_task: JoinHandle<()>,
    control_task: JoinHandle<()>,
}

impl<D: SimDevice> SimHandle<D> {
    /// The path a driver opens.
    pub fn port(&self) -> &Path {
        &self.shared.port
    }

    /// The current pty device, `None` while the line is dropped.
    pub fn pty_path(&self) -> Option<PathBuf> {
        self.shared.lock().pty_path.clone()
    }

    /// The control API's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control)
    }

    /// The state shared with the line task, to drive the simulator from Rust.
    pub fn shared(&self) -> &Arc<Shared<D>> {
        &self.shared
    }

    /// What `GET /status` reports.
    pub fn status(&self) -> SimStatus {
        status_of(&self.shared)
    }

    /// Stops the simulator and waits until its pty is closed and its link removed.
    pub async fn shutdown(mut self) {
        self.line_task.abort();
        self.control_task.abort();
        let _ = (&mut self.line_task).await;
        let _ = (&mut self.control_task).await;
    }
}

impl<D> Drop for SimHandle<D> {
    fn drop(&mut self) {
        self.line_task.abort();
        self.control_task.abort();
    }
}

fn status_of<D: SimDevice>(shared: &Shared<D>) -> SimStatus {
    let state = shared.lock();
    SimStatus {
        device: shared.name,
        port: shared.port.clone(),
        pty: state.pty_path.clone(),
        faults: state.faults.clone(),
        stats: state.stats.clone(),
    }
}

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The pty could not be opened or published.
    #[error("opening the pseudo terminal: {0}")]
    Pty(std::io::Error),
    /// The control API could not listen.
    #[error("listening on {addr}: {source}")]
    Control {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Starts a simulator: opens its pty, serves its control API (`routes` are the device's own,
/// merged with the common ones), and runs the line.
pub(crate) async fn start<D: SimDevice>(
    name: &'static str,
    device: D,
    config: SimConfig,
    routes: axum::Router<Arc<Shared<D>>>,
) -> Result<SimHandle<D>, SimError> {
    let pty = Pty::open(config.link.as_deref()).map_err(SimError::Pty)?;
    let port = config
        .link
        .clone()
        .unwrap_or_else(|| pty.pty_path().to_owned());
    let shared = Arc::new(Shared {
        name,
        state: Mutex::new(SimState {
            device,
            faults: Faults::default(),
            stats: SimStats::default(),
            pty_path: Some(pty.pty_path().to_owned()),
        }),
        changed: Notify::new(),
        port,
        clock: Clock::new(),
    });
    let listener = tokio::net::TcpListener::bind(config.control)
        .await
        .map_err(|source| SimError::Control {
            addr: config.control,
            source,
        })?;
    let control = listener.local_addr().map_err(|source| SimError::Control {
        addr: config.control,
        source,
    })?;
    let app = control::common_routes::<D>()
        .merge(routes)
        .with_state(shared.clone());
    let control_task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "simulator control API stopped");
        }
    });
    let line_task = tokio::spawn(run_line(shared.clone(), pty, config));
    Ok(SimHandle {
        shared,
        control,
        line_task,
        control_task,
    })
}

async fn run_line<D: SimDevice>(shared: Arc<Shared<D>>, mut pty: Pty, config: SimConfig) {
    let mut tx = Transmitter::new(config.baud);
    // The device's own rate as last seen: a change re-paces the frames queued after it.
    let mut device_baud = shared.lock().device.line_baud();
    let mut buf = vec![0u8; 4096];
    let mut fresh = Vec::new();
    loop {
        let (deadline, drop_for) = {
            let mut state = shared.lock();
            let now = shared.clock.now();
            state.device.handle_timeout(now);
            fresh.clear();
            state.device.poll_transmit(&mut fresh);
            if !fresh.is_empty() {
                queue_frame(&mut state, &mut tx, std::mem::take(&mut fresh));
            }
            let baud = state.device.line_baud();
            if baud != device_baud {
                device_baud = baud;
                if config.baud.is_some() {
                    tx.set_baud(baud.or(config.baud));
                }
            }
            let drop_for = state.faults.drop_ms.take().map(Duration::from_millis);
            (state.device.poll_timeout(), drop_for)
        };
        if let Some(down) = drop_for {
            pty = drop_line(&shared, pty, &mut tx, down, config.link.as_deref()).await;
            continue;
        }
        let deadline = deadline.map(|at| shared.clock.instant(at));
        let now = tokio::time::Instant::now();
        let due = tx.due(now);
        let wake = tx.next_wake(now);
        tokio::select! {
            read = pty.read(&mut buf) => match read {
                Ok(n) if n > 0 => {
                    let mut state = shared.lock();
                    state.stats.bytes_in += n as u64;
                    let heard = match (config.baud, state.device.line_baud(), pty.driver_baud()) {
                        // A UART at another rate than the sender's sees only framing errors.
                        (Some(_), Some(device), Some(driver)) if device != driver => {
                            tracing::debug!(device, driver, "bytes at the wrong rate ignored");
                            false
                        }
                        _ => true,
                    };
                    if heard {
                        state.device.handle_bytes(shared.clock.now(), &buf[..n]);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "reading the pty");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            written = pty.write_some(&due), if !due.is_empty() => match written {
                Ok(n) => {
                    tx.advance(n);
                    shared.lock().stats.bytes_out += n as u64;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "writing the pty");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            () = sleep_until_opt(wake), if due.is_empty() => {}
            () = sleep_until_opt(deadline) => {}
            () = shared.changed.notified() => {}
        }
    }
}

/// Line noise: garbage, a truncated preamble, a bare preamble with an absurd length.
const NOISE: [u8; 16] = [
    0x00, 0xFF, 0x13, 0xAA, 0xAA, 0x55, 0xAA, 0xAA, 0xAA, 0x96, 0x42, 0xAA, 0xAA, 0xAA, 0x96, 0x69,
];

/// Applies the pending faults to one frame and queues it for the wire.
fn queue_frame<D>(state: &mut SimState<D>, tx: &mut Transmitter, mut frame: Vec<u8>) {
    let faults = &mut state.faults;
    if faults.mute_frames > 0 {
        faults.mute_frames -= 1;
        return;
    }
    if faults.corrupt_frames > 0 {
        faults.corrupt_frames -= 1;
        if let Some(last) = frame.last_mut() {
            *last ^= 0x5A;
        }
    }
    if faults.noise_frames > 0 {
        faults.noise_frames -= 1;
        let mut noisy = NOISE.to_vec();
        noisy.append(&mut frame);
        frame = noisy;
    }
    let mut delay = Duration::ZERO;
    if faults.delay_frames > 0 {
        faults.delay_frames -= 1;
        delay = Duration::from_millis(faults.delay_ms);
    }
    tx.push(tokio::time::Instant::now() + delay, frame);
}

async fn drop_line<D: SimDevice>(
    shared: &Shared<D>,
    pty: Pty,
    tx: &mut Transmitter,
    down: Duration,
    link: Option<&Path>,
) -> Pty {
    tracing::info!(device = shared.name, "dropping the line for {down:?}");
    drop(pty);
    tx.clear();
    shared.with(|s, now| {
        s.pty_path = None;
        s.stats.line_drops += 1;
        s.device.line_reset(now);
    });
    tokio::time::sleep(down).await;
    loop {
        match Pty::open(link) {
            Ok(pty) => {
                let path = pty.pty_path().to_owned();
                tracing::info!(device = shared.name, pty = %path.display(), "line back");
                shared.with(|s, now| {
                    s.pty_path = Some(path);
                    s.device.line_reset(now);
                });
                return pty;
            }
            Err(e) => {
                tracing::error!(error = %e, "reopening the pty");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

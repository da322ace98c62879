//! The fingerprint module simulator: [`FingerprintDevice`] from the `protocol` crate behind a
//! pty at 57600 baud, with a finger a person presses, lifts, smudges or swaps. The images are the
//! `biometrics` crate's SFinGe-style synthetic fingers (256 × 288, deterministic from the finger
//! number and the impression number), so the kiosk's quality check, minutiae and matcher see the
//! same kind of prints a real sensor gives.
//!
//! Routes (besides the common `/status` and `/faults/*`):
//! - `GET /finger`: what is on the sensor (`finger`, `seed`, `impression`, `repress`, `uploads`)
//! - `POST /finger`: `{"finger":"good"|"smudged"|"partial"|"blank"|"other"|"none",
//!   "seed":7,"impression":0,"repress":true}` (all but `finger` optional)
//! - `DELETE /finger`: lifts the finger
//! - `GET /finger/last.png`: the last image uploaded, as the host received it (4 bits a pixel)
//!
//! A press of kind `good` is impression *k* of finger *n* (`seed`); every press and, with
//! `repress` (the default), every completed upload or Match moves on to impression *k* + 1, as a
//! citizen lifting and pressing again. The module's Img2Tz "extracts" the finger number, so its
//! Match says whether two presses are of the same finger (score 100) or not (`08`). `other` presses another finger (number *n* + [`OTHER_FINGER`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use biometrics::{GreyImage, MasterFinger, PressKind};
use protocol::fingerprint::{DeviceConfig, DeviceEvent, FingerprintDevice, Instruction, OnSensor};
use protocol::Millis;
use serde::{Deserialize, Serialize};

use super::control::{Body, ControlError};
use super::{start, Shared, SimConfig, SimDevice, SimError, SimHandle};

/// What `other` adds to the finger number: the print of a different finger.
pub const OTHER_FINGER: u64 = 1_000_000;

/// What is on the sensor, as the control API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerState {
    /// Nothing: GenImg answers `02`.
    None,
    /// A clean press of finger *n*: captures, Img2Tz `00`, passes the quality check.
    Good,
    /// A smeared press: captured, but Img2Tz answers `06` (image too messy).
    Smudged,
    /// Only an edge of the finger touches: captured and Img2Tz `00` (the module finds some
    /// features), but the kiosk's quality check says `partial`.
    Partial,
    /// The glass is touched but shows no ridges (a ghost touch): captured, Img2Tz answers `06`,
    /// the quality check says `blank`.
    Blank,
    /// A clean press of another finger (number *n* + [`OTHER_FINGER`]), e.g. the wrong finger
    /// on the second press: passes quality, does not match finger *n*.
    #[serde(alias = "another")]
    Other,
}

impl FingerState {
    /// The synthetic press kind, `None` for an empty sensor.
    pub fn press_kind(self) -> Option<PressKind> {
        match self {
            FingerState::None => None,
            FingerState::Good | FingerState::Other => Some(PressKind::Good),
            FingerState::Smudged => Some(PressKind::Smudged),
            FingerState::Partial => Some(PressKind::Partial),
            FingerState::Blank => Some(PressKind::Blank),
        }
    }
}

/// The image a press puts on the sensor: impression `impression` of finger `finger` as `kind`
/// (for [`FingerState::Other`], finger `finger + OTHER_FINGER`). `None` for an empty sensor.
pub fn press_image(finger: u64, impression: u32, state: FingerState) -> Option<GreyImage> {
    let kind = state.press_kind()?;
    Some(MasterFinger::generate(finger_number(finger, state)).impression(impression, kind))
}

fn finger_number(seed: u64, state: FingerState) -> u64 {
    match state {
        FingerState::Other => seed.wrapping_add(OTHER_FINGER),
        _ => seed,
    }
}

/// The simulated module and the finger on it.
#[derive(Debug)]
pub struct FingerprintSim {
    device: FingerprintDevice,
    finger: FingerState,
    seed: u64,
    /// The impression number of the image on the sensor, and of the next press.
    impression: u32,
    next_impression: u32,
    /// The finger number of the last press, if any.
    pressed: Option<u64>,
    /// Whether each completed upload is followed by a fresh press (impression + 1).
    repress: bool,
    /// The image on the sensor (8 bits a pixel).
    on_sensor: Option<GreyImage>,
    /// The image the last GenImg captured, and the last one uploaded.
    captured: Option<GreyImage>,
    uploaded: Option<GreyImage>,
    uploads: u64,
    /// The masters of the last fingers pressed (a master costs tens of milliseconds).
    masters: Vec<Arc<MasterFinger>>,
    last_instruction: Option<Instruction>,
}

impl Default for FingerprintSim {
    fn default() -> Self {
        FingerprintSim::new(DeviceConfig::default())
    }
}

impl FingerprintSim {
    /// A module with nothing on the sensor (finger 1, impression 0 next).
    pub fn new(config: DeviceConfig) -> Self {
        FingerprintSim {
            device: FingerprintDevice::new(config),
            finger: FingerState::None,
            seed: 1,
            impression: 0,
            next_impression: 0,
            pressed: None,
            repress: true,
            on_sensor: None,
            captured: None,
            uploaded: None,
            uploads: 0,
            masters: Vec::new(),
            last_instruction: None,
        }
    }

    /// Presses finger `seed` the way `finger` says (or lifts it with [`FingerState::None`]). A
    /// press of the same finger number as the last one takes the next impression; a new number
    /// starts at impression 0.
    pub fn press(&mut self, finger: FingerState, seed: u64) -> Result<(), ControlError> {
        if finger == FingerState::None {
            self.finger = finger;
            return self.apply();
        }
        let impression = if self.pressed == Some(seed) {
            self.next_impression
        } else {
            0
        };
        self.press_impression(finger, seed, impression)
    }

    /// Presses impression `impression` of finger `seed` the way `finger` says.
    pub fn press_impression(
        &mut self,
        finger: FingerState,
        seed: u64,
        impression: u32,
    ) -> Result<(), ControlError> {
        self.finger = finger;
        if finger != FingerState::None {
            self.seed = seed;
            self.pressed = Some(seed);
            self.impression = impression;
            self.next_impression = impression.wrapping_add(1);
        }
        self.apply()
    }

    /// Whether each completed upload is followed by a fresh press (default on).
    pub fn set_repress(&mut self, repress: bool) {
        self.repress = repress;
    }

    /// Adds a master built elsewhere (off the simulator's lock) to the cache.
    pub fn add_master(&mut self, master: Arc<MasterFinger>) {
        if self.masters.iter().any(|m| m.id() == master.id()) {
            return;
        }
        if self.masters.len() >= 4 {
            self.masters.remove(0);
        }
        self.masters.push(master);
    }

    /// Whether the master of finger number `id` is cached.
    pub fn has_master(&self, id: u64) -> bool {
        self.masters.iter().any(|m| m.id() == id)
    }

    fn master(&mut self, id: u64) -> Arc<MasterFinger> {
        if let Some(m) = self.masters.iter().find(|m| m.id() == id) {
            return m.clone();
        }
        let master = Arc::new(MasterFinger::generate(id));
        self.add_master(master.clone());
        master
    }

    /// Puts the current press on the sensor.
    fn apply(&mut self) -> Result<(), ControlError> {
        let Some(kind) = self.finger.press_kind() else {
            self.on_sensor = None;
            self.device.set_finger(OnSensor::Absent);
            return Ok(());
        };
        let master = self.master(finger_number(self.seed, self.finger));
        let image = master.impression(self.impression, kind);
        let pixels = image.pixels().to_vec();
        let finger = match self.finger {
            FingerState::Smudged | FingerState::Blank => OnSensor::smudged(pixels),
            _ => OnSensor::good(pixels),
        }
        .map_err(|e| ControlError::Conflict(e.to_string()))?;
        self.device
            .set_finger_of(finger, finger_number(self.seed, self.finger));
        self.on_sensor = Some(image);
        Ok(())
    }

    /// What is on the sensor.
    pub fn finger(&self) -> FingerState {
        self.finger
    }

    /// The finger number pressed last.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The impression number of the image on the sensor.
    pub fn impression(&self) -> u32 {
        self.impression
    }

    /// The image on the sensor (8 bits a pixel), `None` when nothing is.
    pub fn on_sensor(&self) -> Option<&GreyImage> {
        self.on_sensor.as_ref()
    }

    /// The last image uploaded (8 bits a pixel, before the 4-bit transfer).
    pub fn last_upload(&self) -> Option<&GreyImage> {
        self.uploaded.as_ref()
    }

    /// The module's line rate now (57600 until the host sets another with SetSysPara).
    pub fn baud(&self) -> u32 {
        self.device.baud()
    }

    /// Bytes of image data a data packet carries (128 until the host sets another size).
    pub fn data_packet_len(&self) -> usize {
        self.device.data_packet_len()
    }

    /// Completed uploads so far.
    pub fn uploads(&self) -> u64 {
        self.uploads
    }

    /// The last instruction received intact.
    pub fn last_instruction(&self) -> Option<Instruction> {
        self.last_instruction
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.device.poll_event() {
            match event {
                DeviceEvent::Instruction(i) => {
                    tracing::debug!(instruction = ?i, "fingerprint instruction");
                    self.last_instruction = Some(i);
                    match i {
                        Instruction::GenImg => self.captured = self.on_sensor.clone(),
                        Instruction::UpImage | Instruction::Match if self.captured.is_some() => {
                            if i == Instruction::UpImage {
                                self.uploaded = self.captured.clone();
                                self.uploads += 1;
                            }
                            if self.repress && self.finger != FingerState::None {
                                self.impression = self.next_impression;
                                self.next_impression = self.impression.wrapping_add(1);
                                if let Err(e) = self.apply() {
                                    tracing::warn!(error = %e, "the next press");
                                }
                            }
                        }
                        _ => {}
                    }
                }
                DeviceEvent::BadPacket(e) => tracing::info!(error = %e, "bad packet"),
            }
        }
    }
}

impl SimDevice for FingerprintSim {
    fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.device.handle_bytes(now, bytes);
        self.drain_events();
    }
    fn handle_timeout(&mut self, now: Millis) {
        self.device.handle_timeout(now);
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        self.device.poll_transmit(out);
    }
    fn poll_timeout(&self) -> Option<Millis> {
        self.device.poll_timeout()
    }
    fn corrupt_next(&mut self, n: u32) -> bool {
        self.device.corrupt_next(n);
        true
    }
    fn line_baud(&self) -> Option<u32> {
        Some(self.device.baud())
    }
    fn line_reset(&mut self, _now: Millis) {
        // A power cycle: the parameters SetSysPara stored (rate, packet size) are in flash.
        self.device = FingerprintDevice::new(self.device.config().clone());
        self.captured = None;
        if let Err(e) = self.apply() {
            tracing::warn!(error = %e, "restoring the finger after a line drop");
        }
    }
}

#[derive(Serialize)]
struct FingerStatus {
    finger: FingerState,
    seed: u64,
    impression: u32,
    repress: bool,
    uploads: u64,
}

impl FingerStatus {
    fn of(s: &FingerprintSim) -> FingerStatus {
        FingerStatus {
            finger: s.finger,
            seed: s.seed,
            impression: s.impression,
            repress: s.repress,
            uploads: s.uploads,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Press {
    finger: FingerState,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    impression: Option<u32>,
    #[serde(default)]
    repress: Option<bool>,
}

type AppState = State<Arc<Shared<FingerprintSim>>>;

async fn get_finger(State(shared): AppState) -> Json<FingerStatus> {
    Json(shared.with(|s, _| FingerStatus::of(&s.device)))
}

async fn press(
    State(shared): AppState,
    Body(body): Body<Press>,
) -> Result<Json<FingerStatus>, ControlError> {
    // Build the master off the lock: the line keeps moving while it is made.
    let seed = body
        .seed
        .unwrap_or_else(|| shared.with(|s, _| s.device.seed));
    let number = finger_number(seed, body.finger);
    if body.finger != FingerState::None && !shared.with(|s, _| s.device.has_master(number)) {
        let master = tokio::task::spawn_blocking(move || MasterFinger::generate(number))
            .await
            .map_err(|e| ControlError::Conflict(format!("building the finger: {e}")))?;
        shared.with(|s, _| s.device.add_master(Arc::new(master)));
    }
    shared.with(|s, _| {
        if let Some(repress) = body.repress {
            s.device.repress = repress;
        }
        match body.impression {
            Some(k) => s.device.press_impression(body.finger, seed, k)?,
            None => s.device.press(body.finger, seed)?,
        }
        Ok(Json(FingerStatus::of(&s.device)))
    })
}

async fn lift(State(shared): AppState) -> Result<Json<FingerStatus>, ControlError> {
    shared.with(|s, _| {
        let seed = s.device.seed;
        s.device.press(FingerState::None, seed)?;
        Ok(Json(FingerStatus::of(&s.device)))
    })
}

async fn last_png(State(shared): AppState) -> Result<impl IntoResponse, ControlError> {
    let image = shared
        .with(|s, _| s.device.uploaded.clone())
        .ok_or_else(|| ControlError::Conflict("no image uploaded yet".into()))?;
    Ok((
        [(header::CONTENT_TYPE, "image/png")],
        image.quantised_4bit().to_png(),
    ))
}

/// Starts a fingerprint module simulator.
pub async fn start_fingerprint(
    sim: FingerprintSim,
    config: SimConfig,
) -> Result<SimHandle<FingerprintSim>, SimError> {
    let routes = Router::new()
        .route("/finger", get(get_finger).post(press).delete(lift))
        .route("/finger/last.png", get(last_png));
    start("fingerprint", sim, config, routes).await
}

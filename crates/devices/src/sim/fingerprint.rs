//! The fingerprint module simulator: [`FingerprintDevice`] from the `protocol` crate behind a
//! pty at 57600 baud, with a finger a person presses (good or smudged) or lifts.
//!
//! Routes (besides the common `/status` and `/faults/*`):
//! - `GET /finger`: `{"finger":"none"|"good"|"smudged"}`
//! - `POST /finger`: `{"finger":"good"|"smudged"|"none","seed":7}` (`seed` optional: which
//!   synthetic ridge pattern)
//! - `DELETE /finger`: lifts the finger

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use protocol::fingerprint::{
    DeviceConfig, DeviceEvent, Finger, FingerprintDevice, Instruction, HEIGHT, WIDTH,
};
use protocol::Millis;
use serde::{Deserialize, Serialize};

use super::control::{Body, ControlError};
use super::{start, Shared, SimConfig, SimDevice, SimError, SimHandle};
use crate::images::{ridge_pattern, FingerQuality};

/// What is on the sensor, as the control API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerState {
    /// Nothing.
    None,
    /// A clean finger.
    Good,
    /// A smudged or wet finger: captured, but the quality check fails with `06`.
    Smudged,
}

/// The simulated module and the finger on it.
#[derive(Debug)]
pub struct FingerprintSim {
    config: DeviceConfig,
    device: FingerprintDevice,
    finger: FingerState,
    seed: u64,
    last_instruction: Option<Instruction>,
}

impl Default for FingerprintSim {
    fn default() -> Self {
        FingerprintSim::new(DeviceConfig::default())
    }
}

impl FingerprintSim {
    /// A module with nothing on the sensor.
    pub fn new(config: DeviceConfig) -> Self {
        FingerprintSim {
            device: FingerprintDevice::new(config.clone()),
            config,
            finger: FingerState::None,
            seed: 1,
            last_instruction: None,
        }
    }

    /// Presses a finger (or lifts it with [`FingerState::None`]); `seed` picks the pattern.
    pub fn press(&mut self, finger: FingerState, seed: u64) -> Result<(), ControlError> {
        let quality = match finger {
            FingerState::None => {
                self.device.set_finger(Finger::Absent);
                self.finger = finger;
                return Ok(());
            }
            FingerState::Good => FingerQuality::Good,
            FingerState::Smudged => FingerQuality::Smudged,
        };
        let pixels = ridge_pattern(WIDTH, HEIGHT, quality, seed);
        let image = match finger {
            FingerState::Smudged => Finger::smudged(pixels),
            _ => Finger::good(pixels),
        }
        .map_err(|e| ControlError::Conflict(e.to_string()))?;
        self.device.set_finger(image);
        self.finger = finger;
        self.seed = seed;
        Ok(())
    }

    /// What is on the sensor.
    pub fn finger(&self) -> FingerState {
        self.finger
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
    fn line_reset(&mut self, _now: Millis) {
        self.device = FingerprintDevice::new(self.config.clone());
        let (finger, seed) = (self.finger, self.seed);
        if let Err(e) = self.press(finger, seed) {
            tracing::warn!(error = %e, "restoring the finger after a line drop");
        }
    }
}

#[derive(Serialize)]
struct FingerStatus {
    finger: FingerState,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Press {
    finger: FingerState,
    #[serde(default)]
    seed: Option<u64>,
}

type AppState = State<Arc<Shared<FingerprintSim>>>;

async fn get_finger(State(shared): AppState) -> Json<FingerStatus> {
    Json(shared.with(|s, _| FingerStatus {
        finger: s.device.finger,
    }))
}

async fn press(
    State(shared): AppState,
    Body(body): Body<Press>,
) -> Result<Json<FingerStatus>, ControlError> {
    shared.with(|s, _| {
        let seed = body.seed.unwrap_or(s.device.seed);
        s.device.press(body.finger, seed)?;
        Ok(Json(FingerStatus {
            finger: s.device.finger,
        }))
    })
}

async fn lift(State(shared): AppState) -> Result<Json<FingerStatus>, ControlError> {
    shared.with(|s, _| {
        s.device.press(FingerState::None, 0)?;
        Ok(Json(FingerStatus {
            finger: FingerState::None,
        }))
    })
}

/// Starts a fingerprint module simulator.
pub async fn start_fingerprint(
    sim: FingerprintSim,
    config: SimConfig,
) -> Result<SimHandle<FingerprintSim>, SimError> {
    let routes = Router::new().route("/finger", get(get_finger).post(press).delete(lift));
    start("fingerprint", sim, config, routes).await
}

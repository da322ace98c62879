//! The barcode scanner simulator: a code presented to the scanner goes out on a pty at 9600
//! baud, ended by the configured terminator, exactly as `protocol::barcode::encode_line` says.
//!
//! Routes (besides the common `/status` and `/faults/*`):
//! - `POST /barcode`: `{"code":"R20261125-0042"}` presents a code
//!
//! A corrupted frame here is a code with one character garbled into a control byte (the
//! driver skips the line, as it would a misread).

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use protocol::barcode::{encode_line, Terminator};
use protocol::Millis;
use serde::{Deserialize, Serialize};

use super::control::{Body, ControlError};
use super::{start, Shared, SimConfig, SimDevice, SimError, SimHandle};

/// The simulated scanner.
#[derive(Debug, Default)]
pub struct BarcodeSim {
    terminator: Terminator,
    pending: VecDeque<Vec<u8>>,
    corrupt: u32,
    scanned: u64,
}

impl BarcodeSim {
    /// A scanner ending codes with `terminator`.
    pub fn new(terminator: Terminator) -> Self {
        BarcodeSim {
            terminator,
            ..BarcodeSim::default()
        }
    }

    /// Presents a code to the scanner.
    pub fn present(&mut self, code: &str) -> Result<(), ControlError> {
        let mut line = encode_line(code, self.terminator).map_err(|e| ControlError::Field {
            field: "code",
            message: e.to_string(),
        })?;
        if self.corrupt > 0 {
            self.corrupt -= 1;
            if let Some(byte) = line.get_mut(code.len() / 2) {
                *byte = 0x07;
            }
        }
        self.pending.push_back(line);
        self.scanned += 1;
        Ok(())
    }

    /// Codes presented so far.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }
}

impl SimDevice for BarcodeSim {
    fn handle_bytes(&mut self, _now: Millis, _bytes: &[u8]) {
        // A scanner ignores what the host sends (configuration commands are not modelled).
    }
    fn handle_timeout(&mut self, _now: Millis) {}
    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        // One code per call, so each is a frame for the faults.
        if let Some(line) = self.pending.pop_front() {
            out.extend_from_slice(&line);
        }
    }
    fn poll_timeout(&self) -> Option<Millis> {
        // Codes still queued go out on the next turn of the line loop.
        (!self.pending.is_empty()).then_some(Millis::ZERO)
    }
    fn corrupt_next(&mut self, n: u32) -> bool {
        self.corrupt = n;
        true
    }
    fn line_reset(&mut self, _now: Millis) {
        self.pending.clear();
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Present {
    code: String,
}

#[derive(Serialize)]
struct Presented {
    code: String,
    scanned: u64,
}

async fn present(
    State(shared): State<Arc<Shared<BarcodeSim>>>,
    Body(body): Body<Present>,
) -> Result<Json<Presented>, ControlError> {
    shared.with(|s, _| {
        s.device.present(&body.code)?;
        Ok(Json(Presented {
            code: body.code,
            scanned: s.device.scanned(),
        }))
    })
}

/// Starts a barcode scanner simulator.
pub async fn start_barcode(
    sim: BarcodeSim,
    config: SimConfig,
) -> Result<SimHandle<BarcodeSim>, SimError> {
    let routes = Router::new().route("/barcode", post(present));
    start("barcode", sim, config, routes).await
}

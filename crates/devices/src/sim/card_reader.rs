//! The ID card reader simulator: [`CardReaderDevice`] from the `protocol` crate behind a pty at
//! 115200 baud, with a card a person places, removes or makes unreadable through the control API.
//!
//! Routes (besides the common `/status` and `/faults/*`):
//! - `GET /card`: `{"present":bool,"unreadable":bool,"card":{…}|null}`
//! - `POST /card`: `{"citizen":"320104200012100044"}` for a demo card, or a card as JSON (the
//!   output of `idkiosk device read-card`); replaces the card in the field
//! - `DELETE /card`: takes the card away
//! - `POST /card/reseat`: lifts the card and puts it back (a reader finds a card only once)
//! - `POST /card/unreadable`: `{"unreadable":true}` makes reads fail with `41`

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::CitizenId;
use protocol::card_reader::{Card, CardReaderDevice, Command, DeviceConfig, DeviceEvent};
use protocol::Millis;
use serde::{Deserialize, Serialize};
use time::Date;

use super::control::{Body, ControlError};
use super::{start, Shared, SimConfig, SimDevice, SimError, SimHandle};
use crate::card_reader::{citizen_card, CardJson};

/// The reader's modelled delays and the date demo cards are issued against.
#[derive(Clone, Debug)]
pub struct CardReaderSimConfig {
    /// The device's own timing (find, select, read) and SAM id.
    pub device: DeviceConfig,
    /// "Today", for validating citizen ID numbers and dating demo cards.
    pub today: Date,
}

impl CardReaderSimConfig {
    /// Delays of a typical reader: find 30 ms, select 30 ms, 400 ms of SAM work before a read's
    /// answer starts on the line.
    pub fn new(today: Date) -> Self {
        CardReaderSimConfig {
            device: DeviceConfig {
                find_delay: Duration::from_millis(30),
                select_delay: Duration::from_millis(30),
                read_delay: Duration::from_millis(400),
                ..DeviceConfig::default()
            },
            today,
        }
    }
}

/// The simulated reader and the card in its field.
#[derive(Debug)]
pub struct CardReaderSim {
    config: CardReaderSimConfig,
    device: CardReaderDevice,
    card: Option<CardJson>,
    unreadable: bool,
    commands: u64,
    last_command: Option<Command>,
}

impl CardReaderSim {
    /// A reader with an empty field.
    pub fn new(config: CardReaderSimConfig) -> Self {
        CardReaderSim {
            device: CardReaderDevice::new(config.device.clone()),
            config,
            card: None,
            unreadable: false,
            commands: 0,
            last_command: None,
        }
    }

    /// Places a card (replacing any card in the field).
    pub fn place(&mut self, card: CardJson) -> Result<(), ControlError> {
        let chip = chip_of(&card)?;
        self.device.insert_card(chip);
        self.card = Some(card);
        self.unreadable = false;
        Ok(())
    }

    /// Places the demo card of a citizen.
    pub fn place_citizen(&mut self, id: &str) -> Result<CardJson, ControlError> {
        let id = CitizenId::parse(id, self.config.today).map_err(|e| ControlError::Field {
            field: "citizen",
            message: e.to_string(),
        })?;
        let card = citizen_card(&id, self.config.today);
        self.place(card.clone())?;
        Ok(card)
    }

    /// Takes the card away.
    pub fn remove(&mut self) {
        self.device.remove_card();
        self.card = None;
        self.unreadable = false;
    }

    /// Lifts the card and puts it back, so the reader finds it again.
    pub fn reseat(&mut self) -> Result<(), ControlError> {
        let card = self
            .card
            .clone()
            .ok_or_else(|| ControlError::Conflict("no card in the field".to_owned()))?;
        let unreadable = self.unreadable;
        self.place(card)?;
        self.set_unreadable(unreadable);
        Ok(())
    }

    /// Makes the card's reads fail with `41`.
    pub fn set_unreadable(&mut self, unreadable: bool) {
        self.unreadable = unreadable;
        self.device.set_unreadable(unreadable);
    }

    /// Commands received intact so far.
    pub fn commands(&self) -> u64 {
        self.commands
    }

    /// The last command received intact.
    pub fn last_command(&self) -> Option<Command> {
        self.last_command
    }

    /// The card in the field.
    pub fn card(&self) -> Option<&CardJson> {
        self.card.as_ref()
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.device.poll_event() {
            match event {
                DeviceEvent::Command(command) => {
                    self.commands += 1;
                    self.last_command = Some(command);
                    tracing::debug!(?command, "card reader command");
                }
                DeviceEvent::BadFrame(error) => tracing::info!(%error, "bad command frame"),
            }
        }
    }
}

fn chip_of(card: &CardJson) -> Result<Card, ControlError> {
    card.to_card().map_err(|e| ControlError::Field {
        field: e.field,
        message: e.message,
    })
}

impl SimDevice for CardReaderSim {
    fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.device.handle_bytes(now, bytes);
        self.drain_events();
    }
    fn handle_timeout(&mut self, now: Millis) {
        self.device.handle_timeout(now);
        self.drain_events();
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
        // A power cycle: the reader forgets what it was doing; the card stays in the field.
        self.device = CardReaderDevice::new(self.config.device.clone());
        if let Some(chip) = self.card.as_ref().and_then(|c| chip_of(c).ok()) {
            self.device.insert_card(chip);
        }
        self.device.set_unreadable(self.unreadable);
    }
}

/// `GET /card` and the answer of the other card routes.
#[derive(Clone, Debug, Serialize)]
pub struct CardStatus {
    /// A card is in the field.
    pub present: bool,
    /// Reads fail with `41`.
    pub unreadable: bool,
    /// The card.
    pub card: Option<CardJson>,
}

fn card_status(sim: &CardReaderSim) -> CardStatus {
    CardStatus {
        present: sim.card.is_some(),
        unreadable: sim.unreadable,
        card: sim.card.clone(),
    }
}

type AppState = State<Arc<Shared<CardReaderSim>>>;

async fn get_card(State(shared): AppState) -> Json<CardStatus> {
    Json(shared.with(|s, _| card_status(&s.device)))
}

async fn place_card(
    State(shared): AppState,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<CardStatus>, ControlError> {
    if let Some(citizen) = body.get("citizen") {
        let id = citizen.as_str().ok_or_else(|| ControlError::Field {
            field: "citizen",
            message: "an 18-character ID number as a string".to_owned(),
        })?;
        return shared.with(|s, _| {
            s.device.place_citizen(id)?;
            Ok(Json(card_status(&s.device)))
        });
    }
    let card: CardJson =
        serde_json::from_value(body).map_err(|e| ControlError::Body(e.to_string()))?;
    shared.with(|s, _| {
        s.device.place(card)?;
        Ok(Json(card_status(&s.device)))
    })
}

async fn remove_card(State(shared): AppState) -> Json<CardStatus> {
    Json(shared.with(|s, _| {
        s.device.remove();
        card_status(&s.device)
    }))
}

async fn reseat_card(State(shared): AppState) -> Result<Json<CardStatus>, ControlError> {
    shared.with(|s, _| {
        s.device.reseat()?;
        Ok(Json(card_status(&s.device)))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unreadable {
    unreadable: bool,
}

async fn set_unreadable(
    State(shared): AppState,
    Body(body): Body<Unreadable>,
) -> Result<Json<CardStatus>, ControlError> {
    shared.with(|s, _| {
        if body.unreadable && s.device.card.is_none() {
            return Err(ControlError::Conflict("no card in the field".to_owned()));
        }
        s.device.set_unreadable(body.unreadable);
        Ok(Json(card_status(&s.device)))
    })
}

/// Starts a card reader simulator.
pub async fn start_card_reader(
    sim: CardReaderSim,
    config: SimConfig,
) -> Result<SimHandle<CardReaderSim>, SimError> {
    let routes = Router::new()
        .route("/card", get(get_card).post(place_card).delete(remove_card))
        .route("/card/reseat", post(reseat_card))
        .route("/card/unreadable", post(set_unreadable));
    start("card-reader", sim, config, routes).await
}

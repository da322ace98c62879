//! What each driver reports about its device, for the kiosk screen and the fleet view.

use serde::Serialize;
use tokio::sync::watch;

/// The state of one device as its driver last saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeviceHealth {
    /// Open and answering; nothing running.
    Ready,
    /// An operation is running.
    Busy,
    /// Working, but needs attention soon (a printer's `toner-low`, `media-low`).
    Warning {
        /// What needs attention, for people.
        reason: String,
    },
    /// The device answered, but the last operation failed in a way that is the device's fault
    /// (a timeout, corrupted answers, a hardware status).
    Error {
        /// What went wrong, for people.
        reason: String,
    },
    /// The port cannot be opened or went away.
    Disconnected {
        /// Why, for people.
        reason: String,
    },
}

impl DeviceHealth {
    /// `ready`, `busy`, `warning`, `error` or `disconnected`.
    pub fn state(&self) -> &'static str {
        match self {
            DeviceHealth::Ready => "ready",
            DeviceHealth::Busy => "busy",
            DeviceHealth::Warning { .. } => "warning",
            DeviceHealth::Error { .. } => "error",
            DeviceHealth::Disconnected { .. } => "disconnected",
        }
    }
}

/// The driver's side of a health report: set by the driver, watched by whoever cares.
#[derive(Debug)]
pub(crate) struct HealthCell(watch::Sender<DeviceHealth>);

impl HealthCell {
    /// Starts as disconnected: nothing is known until the port has been opened.
    pub(crate) fn new() -> Self {
        HealthCell(watch::Sender::new(DeviceHealth::Disconnected {
            reason: "not opened yet".to_owned(),
        }))
    }

    pub(crate) fn set(&self, health: DeviceHealth) {
        self.0.send_if_modified(|current| {
            let changed = *current != health;
            *current = health;
            changed
        });
    }

    pub(crate) fn get(&self) -> DeviceHealth {
        self.0.borrow().clone()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<DeviceHealth> {
        self.0.subscribe()
    }
}

//! The kiosk agent (DESIGN.md "What runs where"): owns the devices, holds the running session's
//! state machine, keeps the durable outbox, and serves the touchscreen UI on loopback.
//!
//! The UI and the agent meet at [`view`]: the agent publishes a [`view::View`] after every
//! transition, the UI renders it and sends [`view::UiAction`]s back through an
//! [`view::AgentHandle`].
#![warn(missing_docs)]

pub mod agent;
pub mod capture;
pub mod center_api;
pub mod center_client;
pub mod config;
pub mod fleet;
pub mod outbox;
pub mod ports;
pub mod ui;
pub mod view;
pub mod voice;

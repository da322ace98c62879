//! The center's HTTP API, driven like a kiosk drives it: requests in, JSON out.

mod auth;
mod scope;
mod support;

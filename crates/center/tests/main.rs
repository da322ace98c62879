//! The center's HTTP API, driven like a kiosk drives it: requests in, JSON out.

mod auth;
mod bureau_config;
mod cancel;
mod client;
mod client_tls;
mod collection;
mod compliance;
mod dlib;
mod fleet;
mod fleet_replicas;
mod input;
mod integrity;
mod journey;
mod json_fuzz;
mod lookups;
mod payments;
mod portrait_forms;
mod reconcile;
mod scope;
mod sessions;
mod settlement;
mod staff;
mod support;
mod tls;
mod uploads;
mod world;

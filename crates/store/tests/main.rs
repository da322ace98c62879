//! The store's tests: one test binary, modules by theme.
//!
//! - `contract`: one suite of checks run on a fresh SQLite file and a fresh PostgreSQL database;
//! - `encryption`: encryption at rest (envelope keys, sealed columns and blobs), on both backends.

mod contract;
mod encryption;

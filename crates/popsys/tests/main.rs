//! popsys tests: one binary, modules by theme.
//!
//! - `behaviour`: the same checks on every `PopulationSystem` (on the store over SQLite and
//!   PostgreSQL, and over HTTP against a spawned server);
//! - `api`: the HTTP API's answers and error format, through the router;
//! - `seeding`: the demo data generator (determinism, valid numbers, the mix asked for).

mod api;
mod behaviour;
mod helpers;
mod seeding;
mod studio;

//! popsys tests: one binary, modules by theme.
//!
//! - `behaviour`: the same checks on every `PopulationSystem` (on the store over SQLite and
//!   PostgreSQL, and over HTTP against a spawned server);
//! - `api`: the HTTP API's answers and error format, through the router;
//! - `seeding`: the demo data generator (determinism, valid numbers, the mix asked for);
//! - `studio`: the photo studios' upload of certified photos;
//! - `demo_faces`: the fixed demo citizens' real faces (photos cut from the demo faces);
//! - `helpers`: a seeded store, a spawned server, typed values from text.

mod api;
mod behaviour;
mod demo_faces;
mod helpers;
mod seeding;
mod studio;

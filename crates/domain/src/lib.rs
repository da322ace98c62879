//! The pure core of idkiosk: citizen ID numbers, region codes, the eligibility rules, fees and
//! deadlines, masking, mobile numbers and every citizen-facing prompt.
//!
//! No I/O, no async and no clock: today's date is always passed in.
#![warn(missing_docs)]

pub mod codes;
pub mod id;
pub mod journey;
pub mod mask;
pub mod mobile;
pub mod money;
pub mod nation;
pub mod notice;
pub mod prompts;
pub mod receipt;
pub mod region;
pub mod rules;
pub mod session;
pub mod time_zone;
pub mod trade_state;

pub use id::{CitizenId, IdError, IdField, Sex};
pub use mobile::{MobileError, MobileNumber};
pub use prompts::Prompt;
pub use region::{KioskCity, Region};
pub use rules::{Business, Decision, Household, NewCardValidity, Reason};

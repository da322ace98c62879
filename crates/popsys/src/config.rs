//! The reference population system's configuration file: the `[popsys]` table of
//! `popsys.toml` (docs/configuration.md). [`PopsysFile`] is its serde form (an unknown key is
//! an error); [`PopsysFile::settings`] checks it. Reading the file and the `IDKIOSK_POPSYS__…`
//! overrides is the binary's.

use domain::region::KioskCity;
use serde::{Deserialize, Serialize};

/// The `[popsys]` table, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopsysFile {
    /// The city whose citizens `popsys seed` makes local (GB/T 2260 code ending in 00).
    pub city: String,
    /// Let callers choose the day (tests and demos only).
    #[serde(default)]
    pub allow_caller_dates: bool,
}

/// A file's values, checked.
#[derive(Debug, Clone)]
pub struct PopsysSettings {
    /// The seeding city.
    pub city: KioskCity,
    /// Callers may choose the day.
    pub allow_caller_dates: bool,
}

impl PopsysFile {
    /// Checks every field; else every wrong field at once, each `popsys.PATH: why`.
    pub fn settings(&self) -> Result<PopsysSettings, Vec<String>> {
        match KioskCity::parse(&self.city) {
            Ok(city) => Ok(PopsysSettings {
                city,
                allow_caller_dates: self.allow_caller_dates,
            }),
            Err(err) => Err(vec![format!("popsys.city: {err}")]),
        }
    }
}

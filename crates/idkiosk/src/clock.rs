//! The one place the binary reads the clock: today's date on the Asia/Shanghai calendar.
//!
//! China keeps UTC+8 all year (no daylight saving), so a fixed offset is exact. `IDKIOSK_TODAY`
//! (YYYY-MM-DD) overrides the date for demos and tests.

use anyhow::Context;
use time::{macros::format_description, macros::offset, Date, OffsetDateTime};

/// Today's date in Asia/Shanghai, or `IDKIOSK_TODAY` when set.
#[allow(dead_code)]
pub fn today() -> anyhow::Result<Date> {
    if let Ok(text) = std::env::var("IDKIOSK_TODAY") {
        return Date::parse(&text, format_description!("[year]-[month]-[day]"))
            .with_context(|| format!("IDKIOSK_TODAY: {text:?} is not a date of the form YYYY-MM-DD"));
    }
    Ok(OffsetDateTime::now_utc().to_offset(offset!(+8)).date())
}

//! The one place the binary reads the clock: today's date on the Asia/Shanghai calendar.
//!
//! China keeps UTC+8 all year (no daylight saving), so a fixed offset is exact. `IDKIOSK_TODAY`
//! (YYYY-MM-DD) overrides the date for demos and tests.

use anyhow::Context;
use time::{macros::format_description, Date, OffsetDateTime};

/// Today's date in Asia/Shanghai, or `IDKIOSK_TODAY` when set.
pub fn today() -> anyhow::Result<Date> {
    match fixed_today()? {
        Some(date) => Ok(date),
        None => Ok(shanghai_today()),
    }
}

/// A source of today's date for long-running servers: `IDKIOSK_TODAY` is checked once, up front,
/// so a bad value stops the server at start rather than failing each request.
pub fn checked_today_source() -> anyhow::Result<impl Fn() -> Date + Send + Sync + 'static> {
    let fixed = fixed_today()?;
    Ok(move || fixed.unwrap_or_else(shanghai_today))
}

fn fixed_today() -> anyhow::Result<Option<Date>> {
    match std::env::var("IDKIOSK_TODAY") {
        Ok(text) => Date::parse(&text, format_description!("[year]-[month]-[day]"))
            .map(Some)
            .with_context(|| {
                format!("IDKIOSK_TODAY: {text:?} is not a date of the form YYYY-MM-DD")
            }),
        Err(_) => Ok(None),
    }
}

fn shanghai_today() -> Date {
    OffsetDateTime::now_utc()
        .to_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .date()
}

//! The one civil time the rules use: China Standard Time (Asia/Shanghai, UTC+8, no daylight
//! saving). Calendar days (deadlines, reconciliation, the audit export), receipts and WeChat Pay
//! times are all read at this offset. No clock is read here.

use time::UtcOffset;

/// UTC+08:00, Asia/Shanghai's offset all year round.
pub const CHINA_STANDARD_TIME: UtcOffset = time::macros::offset!(+8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_eight_hours_east_of_utc() {
        assert_eq!(CHINA_STANDARD_TIME.whole_seconds(), 8 * 3600);
    }
}

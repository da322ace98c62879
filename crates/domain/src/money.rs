//! Money: one [`Fen`] type from the fee rule to the payment order, the stored row and the
//! printed notice, so no amount is ever converted through a cast that could make it zero.

use std::fmt;

use serde::Serialize;

/// Why a number is not an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Every amount the kiosk charges or records is positive.
    #[error("must be more than 0 fen")]
    Zero,
    /// A negative number (a corrupt row).
    #[error("must not be negative")]
    Negative,
    /// Above what u32 fen holds (42,949,672.95 yuan).
    #[error("is too large")]
    TooLarge,
}

/// An amount of money in fen (0.01 CNY), printed as `¥20.00` and in capital numerals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Fen(u32);

impl Fen {
    /// A positive amount below 100,000,000.00 yuan.
    pub fn new(fen: u32) -> Result<Fen, MoneyError> {
        if fen == 0 {
            return Err(MoneyError::Zero);
        }
        Ok(Fen(fen))
    }

    /// The amount of `yuan` whole yuan.
    pub fn from_yuan(yuan: u32) -> Result<Fen, MoneyError> {
        yuan.checked_mul(100)
            .ok_or(MoneyError::TooLarge)
            .and_then(Fen::new)
    }

    /// The amount in fen.
    pub fn get(self) -> u32 {
        self.0
    }

    /// `¥20.00`.
    pub fn display(self) -> String {
        format!("¥{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// The amount in capital numerals as written on Chinese receipts (人民币大写):
    /// 20.00 → `贰拾元整`, 1005.50 → `壹仟零伍元伍角`.
    pub fn capital(self) -> String {
        const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
        const UNITS: [&str; 4] = ["", "拾", "佰", "仟"];
        let yuan = self.0 / 100;
        let jiao = (self.0 / 10) % 10;
        let fen = self.0 % 10;
        let mut out = String::new();
        if yuan > 0 {
            // Positions 7..0 (千万 … 个); a run of zeros inside the number is one 零, and 万 closes
            // the upper group whenever it is not empty. u32 fen stays below 10^8 yuan.
            let mut zero_pending = false;
            let mut started = false;
            for pos in (0..8u32).rev() {
                let digit = (yuan / 10u32.pow(pos)) % 10;
                if digit == 0 {
                    zero_pending |= started;
                } else {
                    if zero_pending {
                        out.push('零');
                        zero_pending = false;
                    }
                    out.push(DIGITS[digit as usize]);
                    out.push_str(UNITS[(pos % 4) as usize]);
                    started = true;
                }
                if pos == 4 && yuan >= 10_000 {
                    out.push('万');
                }
            }
            out.push('元');
        }
        match (jiao, fen) {
            (0, 0) => out.push('整'),
            (j, 0) => {
                out.push(DIGITS[j as usize]);
                out.push('角');
            }
            (j, f) => {
                if j == 0 {
                    if yuan > 0 {
                        out.push('零');
                    }
                } else {
                    out.push(DIGITS[j as usize]);
                    out.push('角');
                }
                out.push(DIGITS[f as usize]);
                out.push('分');
            }
        }
        out
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl Fen {
    /// The amount as stored (a BIGINT column).
    pub fn as_i64(self) -> i64 {
        i64::from(self.0)
    }
}

/// A stored amount, read back: the store decodes money columns through this, so a zero,
/// negative or oversized row is a decoding error rather than an order for 0 fen.
impl TryFrom<i64> for Fen {
    type Error = MoneyError;
    fn try_from(fen: i64) -> Result<Fen, MoneyError> {
        if fen < 0 {
            return Err(MoneyError::Negative);
        }
        let fen = u32::try_from(fen).map_err(|_| MoneyError::TooLarge)?;
        Fen::new(fen)
    }
}

#[cfg(test)]
mod tests {
    use super::{Fen, MoneyError};

    #[test]
    fn a_stored_amount_is_positive_and_fits() {
        assert_eq!(Fen::try_from(2500_i64).map(Fen::get), Ok(2500));
        assert_eq!(Fen::try_from(0_i64), Err(MoneyError::Zero));
        assert_eq!(Fen::try_from(-1_i64), Err(MoneyError::Negative));
        assert_eq!(
            Fen::try_from(i64::from(u32::MAX) + 1),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(Fen::from_yuan(25).map(Fen::get), Ok(2500));
        assert_eq!(Fen::from_yuan(u32::MAX), Err(MoneyError::TooLarge));
    }
}

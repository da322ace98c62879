//! Chinese mobile numbers (docs/domain.md section 7): the allocated blocks of libphonenumber's CN
//! metadata, matched by hand, and the two-entry confirmation of step 8.

use std::fmt;

use serde::Serialize;

use crate::prompts::{self, Prompt};

/// An 11-digit number in an allocated mobile block, without country code or separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct MobileNumber(String);

/// Why a mobile number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileError {
    /// Nothing but spaces and dashes.
    #[error("the mobile number is empty")]
    Empty,
    /// A character other than a digit, a space, a dash or a leading `+`.
    #[error("the mobile number may hold only digits, found {0:?}")]
    Character(char),
    /// Not 11 digits once separators and the country code are removed.
    #[error("a mobile number has 11 digits, found {0}")]
    Length(usize),
    /// 11 digits, but not in a block allocated to mobile networks.
    #[error("{0} is not in a mobile number block")]
    NotMobile(String),
    /// The two entries are different numbers.
    #[error("the two numbers do not match")]
    Mismatch,
}

impl MobileError {
    /// What the citizen reads: the mismatch prompt or the invalid-number prompt of step 8.
    pub fn prompt(&self) -> Prompt {
        match self {
            MobileError::Mismatch => prompts::MOBILE_MISMATCH,
            _ => prompts::MOBILE_INVALID,
        }
    }
}

impl MobileNumber {
    /// Parses a typed number: spaces and dashes are ignored, a leading `+86`, or `86` making 13
    /// digits, is removed.
    pub fn parse(input: &str) -> Result<MobileNumber, MobileError> {
        let mut digits = String::with_capacity(13);
        let mut plus = false;
        for (index, c) in input.trim().chars().enumerate() {
            match c {
                ' ' | '-' | '\t' => {}
                '+' if index == 0 => plus = true,
                '0'..='9' => digits.push(c),
                other => return Err(MobileError::Character(other)),
            }
        }
        if digits.is_empty() {
            return Err(MobileError::Empty);
        }
        let national = if plus {
            // With `+` the country code must be 86: a foreign number is not a Chinese mobile.
            match digits.strip_prefix("86") {
                Some(rest) => rest,
                None => return Err(MobileError::NotMobile(format!("+{digits}"))),
            }
        } else if digits.len() == 13 && digits.starts_with("86") {
            &digits[2..]
        } else {
            &digits
        };
        if national.len() != 11 {
            return Err(MobileError::Length(national.len()));
        }
        if !is_mobile_block(national.as_bytes()) {
            return Err(MobileError::NotMobile(national.to_owned()));
        }
        Ok(MobileNumber(national.to_owned()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Step 8: both entries must be valid and the same number (compared after normalising, so
/// `138 0013 8000` matches `13800138000`).
pub fn confirm(first: &str, second: &str) -> Result<MobileNumber, MobileError> {
    let first = MobileNumber::parse(first)?;
    let second = MobileNumber::parse(second)?;
    if first == second {
        Ok(first)
    } else {
        Err(MobileError::Mismatch)
    }
}

/// `^(?:1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}|1740[0-5]\d{6})$` on 11
/// ASCII digits, without a regex engine.
fn is_mobile_block(digits: &[u8]) -> bool {
    if digits.len() != 11 || !digits.iter().all(u8::is_ascii_digit) || digits[0] != b'1' {
        return false;
    }
    let third = digits[2];
    match digits[1] {
        b'3' | b'8' => true,
        b'4' => matches!(third, b'5' | b'7'),
        b'5' => third != b'4',
        b'6' => matches!(third, b'2' | b'5'..=b'7'),
        b'7' => {
            matches!(third, b'0'..=b'3' | b'5'..=b'8')
                || (digits[2..4] == *b"40" && digits[4] <= b'5')
        }
        b'9' => third != b'4',
        _ => false,
    }
}

impl From<MobileNumber> for String {
    fn from(number: MobileNumber) -> String {
        number.0
    }
}

impl fmt::Display for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expected: Result<&str, MobileError>) {
        assert_eq!(
            MobileNumber::parse(input)
                .as_ref()
                .map(MobileNumber::as_str),
            expected.as_ref().map(|s| *s),
            "{input:?}"
        );
    }

    #[test]
    fn allocated_blocks() {
        for prefix in [
            "130", "139", "145", "147", "150", "153", "155", "159", "162", "165", "166", "167",
            "170", "173", "175", "178", "180", "189", "190", "193", "195", "199",
        ] {
            let number = format!("{prefix}12345678");
            check(&number, Ok(&number));
        }
        for prefix in ["17400", "17405"] {
            let number = format!("{prefix}123456");
            check(&number, Ok(&number));
        }
    }

    #[test]
    fn unallocated_blocks() {
        for prefix in [
            "140", "144", "146", "148", "154", "160", "161", "163", "164", "168", "169", "179",
            "194", "120", "100", "200",
        ] {
            let number = format!("{prefix}12345678");
            check(&number, Err(MobileError::NotMobile(number.clone())));
        }
        for number in ["17406123456", "17410123456", "17499999999"] {
            check(number, Err(MobileError::NotMobile(number.to_owned())));
        }
    }

    #[test]
    fn separators_and_country_code() {
        check("138 0013 8000", Ok("13800138000"));
        check("138-0013-8000", Ok("13800138000"));
        check(" +86 138 0013 8000 ", Ok("13800138000"));
        check("8613800138000", Ok("13800138000"));
        check("+8613800138000", Ok("13800138000"));
        check(
            "+1 138 0013 8000",
            Err(MobileError::NotMobile("+113800138000".into())),
        );
        check(
            "86138001380",
            Err(MobileError::NotMobile("86138001380".into())),
        );
    }

    #[test]
    fn wrong_shapes() {
        check("", Err(MobileError::Empty));
        check(" - ", Err(MobileError::Empty));
        check("1380013800", Err(MobileError::Length(10)));
        check("138001380000", Err(MobileError::Length(12)));
        check("1380013800a", Err(MobileError::Character('a')));
        check("138+0013800", Err(MobileError::Character('+')));
        check("１３８００１３８０００", Err(MobileError::Character('１')));
    }

    #[test]
    fn confirmation() {
        assert_eq!(
            confirm("138 0013 8000", "+8613800138000").map(String::from),
            Ok("13800138000".to_owned())
        );
        assert_eq!(
            confirm("13800138000", "13800138001"),
            Err(MobileError::Mismatch)
        );
        assert_eq!(
            confirm("13800138000", "13800138001").unwrap_err().prompt(),
            prompts::MOBILE_MISMATCH
        );
        assert_eq!(
            confirm("1380013800", "13800138000").unwrap_err().prompt(),
            prompts::MOBILE_INVALID
        );
    }

    /// The same pattern as docs/domain.md, written out as alternatives over the first five digits.
    fn reference(digits: &str) -> bool {
        let d = digits.as_bytes();
        if d.len() != 11 || !d.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let two = &digits[..3];
        let allowed: &[&str] = &[
            "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147",
            "150", "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166",
            "167", "170", "171", "172", "173", "175", "176", "177", "178", "180", "181", "182",
            "183", "184", "185", "186", "187", "188", "189", "190", "191", "192", "193", "195",
            "196", "197", "198", "199",
        ];
        allowed.contains(&two)
            || ["17400", "17401", "17402", "17403", "17404", "17405"].contains(&&digits[..5])
    }

    proptest! {
        #[test]
        fn matcher_agrees_with_the_block_list(digits in "1[0-9]{10}|174[0-9]{8}") {
            prop_assert_eq!(is_mobile_block(digits.as_bytes()), reference(&digits));
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,20}") {
            let _ = MobileNumber::parse(&input);
        }
    }
}

//! Citizen ID numbers (公民身份号码, GB 11643-1999): parsing with a reason per field, building,
//! and masking for display.

use std::fmt;

use serde::Serialize;
use time::{Date, Month};

use crate::region::{self, Region};

/// The weights of the first seventeen digits in the check sum.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each value of the weighted sum modulo 11.
const CHECK_CHARACTERS: &[u8; 11] = b"10X98765432";

/// An 18-character citizen ID number that passed every check of GB 11643-1999: known region code,
/// real birth date between 1900-01-01 and the `today` it was parsed against, right check character.
/// Held upper-case (`X`).
#[derive(Clone)]
pub struct CitizenId {
    text: String,
    birth_date: Date,
    region: &'static Region,
}

/// Sex, from the parity of the three-digit sequence (odd male, even female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Odd sequence.
    Male,
    /// Even sequence.
    Female,
}

impl Sex {
    /// `male` or `female`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

/// The part of the number a rejection is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdField {
    /// Not 18 characters (after trimming whitespace).
    Length,
    /// Not 17 digits followed by a digit or `X`.
    Characters,
    /// The first six digits were never a region code.
    Region,
    /// Digits 7-14 are not a real date from 1900-01-01 to today.
    BirthDate,
    /// The last character does not match the check sum.
    CheckDigit,
}

impl IdField {
    /// The stable name: `length`, `characters`, `region`, `birth_date`, `check_digit`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdField::Length => "length",
            IdField::Characters => "characters",
            IdField::Region => "region",
            IdField::BirthDate => "birth_date",
            IdField::CheckDigit => "check_digit",
        }
    }
}

impl fmt::Display for IdField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a number was rejected: the field and a lower-case English reason for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IdError {
    /// The part of the number at fault.
    pub field: IdField,
    /// What is wrong, for a person to read.
    pub message: String,
}

impl IdError {
    fn new(field: IdField, message: impl Into<String>) -> IdError {
        IdError {
            field,
            message: message.into(),
        }
    }
}

/// The earliest birth date accepted: no living citizen was born before 1900.
const EARLIEST_BIRTH: Date = match Date::from_calendar_date(1900, Month::January, 1) {
    Ok(date) => date,
    Err(_) => panic!("1900-01-01 is a date"),
};

impl CitizenId {
    /// Parses a number typed or read from a card. Whitespace around it is ignored, a lower-case
    /// `x` is accepted. Checks in this order, the first failure deciding the field: length,
    /// characters, region, birth date, check character. `today` bounds the birth date (the domain
    /// never reads the clock).
    pub fn parse(input: &str, today: Date) -> Result<CitizenId, IdError> {
        let trimmed = input.trim();
        let length = trimmed.chars().count();
        if length != 18 {
            if length == 15 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IdError::new(
                    IdField::Length,
                    "this is a 15-digit first-generation number; please enter the 18-digit number",
                ));
            }
            return Err(IdError::new(
                IdField::Length,
                format!("an id number has 18 characters, found {length}"),
            ));
        }
        // 18 characters; any non-ASCII one makes the byte length differ.
        let bytes = trimmed.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X' || bytes[17] == b'x')
        {
            return Err(IdError::new(
                IdField::Characters,
                "an id number is 17 digits followed by a digit or x",
            ));
        }
        let region = region_of(&trimmed[..6])?;
        let birth_date = birth_date_of(bytes[6..14].try_into().unwrap_or([b'0'; 8]))?;
        if birth_date > today {
            return Err(IdError::new(
                IdField::BirthDate,
                format!("the birth date {birth_date} is in the future"),
            ));
        }
        let expected = check_character(bytes[..17].try_into().unwrap_or([b'0'; 17]));
        if bytes[17].to_ascii_uppercase() != expected {
            return Err(IdError::new(
                IdField::CheckDigit,
                "the check character does not match the other digits; please check the number",
            ));
        }
        let mut text = trimmed.to_owned();
        text.make_ascii_uppercase();
        Ok(CitizenId {
            text,
            birth_date,
            region,
        })
    }

    /// Builds a valid number from its parts, computing the check character; for seeding demo data
    /// and tests. `sequence` is 0 to 999 (odd male, even female).
    pub fn from_parts(
        region_code: &str,
        birth_date: Date,
        sequence: u16,
    ) -> Result<CitizenId, IdError> {
        if region_code.len() != 6 || !region_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::new(
                IdField::Characters,
                "a region code is six digits",
            ));
        }
        let region = region_of(region_code)?;
        if birth_date < EARLIEST_BIRTH || birth_date.year() > 9999 {
            return Err(IdError::new(
                IdField::BirthDate,
                format!("the birth date {birth_date} is not between 1900-01-01 and 9999-12-31"),
            ));
        }
        if sequence > 999 {
            return Err(IdError::new(
                IdField::Characters,
                format!("the sequence {sequence} has more than three digits"),
            ));
        }
        let mut text = format!(
            "{region_code}{:04}{:02}{:02}{sequence:03}",
            birth_date.year(),
            u8::from(birth_date.month()),
            birth_date.day()
        );
        let first17: [u8; 17] = text.as_bytes().try_into().unwrap_or([b'0'; 17]);
        text.push(char::from(check_character(first17)));
        Ok(CitizenId {
            text,
            birth_date,
            region,
        })
    }

    /// The 18 characters, upper-case `X`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first six digits: where the number was first issued (kept for life).
    pub fn region_code(&self) -> &str {
        &self.text[..6]
    }

    /// The region of the first six digits, under its most recent name.
    pub fn region(&self) -> &'static Region {
        self.region
    }

    /// The birth date of digits 7 to 14.
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// The three-digit sequence (digits 15 to 17).
    pub fn sequence(&self) -> u16 {
        self.text.as_bytes()[14..17]
            .iter()
            .fold(0, |acc, digit| acc * 10 + u16::from(digit - b'0'))
    }

    /// Odd sequence male, even female.
    pub fn sex(&self) -> Sex {
        if self.sequence() % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// For logs and screens: the first six and the last four characters, `320104********0044`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.text[..6], &self.text[14..])
    }
}

fn region_of(code: &str) -> Result<&'static Region, IdError> {
    region::lookup(code).ok_or_else(|| {
        IdError::new(
            IdField::Region,
            format!("{code} was never a region code in use"),
        )
    })
}

fn birth_date_of(digits: [u8; 8]) -> Result<Date, IdError> {
    let number = |range: std::ops::Range<usize>| {
        digits[range].iter().fold(0u32, |acc, digit| {
            acc * 10 + u32::from(digit.wrapping_sub(b'0'))
        })
    };
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    let shown = format!("{year:04}-{month:02}-{day:02}");
    let date = Month::try_from(month as u8)
        .ok()
        .and_then(|month| Date::from_calendar_date(year as i32, month, day as u8).ok())
        .ok_or_else(|| {
            IdError::new(
                IdField::BirthDate,
                format!("the birth date {shown} is not a real date"),
            )
        })?;
    if date < EARLIEST_BIRTH {
        return Err(IdError::new(
            IdField::BirthDate,
            format!("the birth date {shown} is before 1900-01-01"),
        ));
    }
    Ok(date)
}

/// The check character (`0`-`9` or `X`) of the first seventeen digits.
fn check_character(digits: [u8; 17]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit.wrapping_sub(b'0')) * weight)
        .sum();
    CHECK_CHARACTERS[(sum % 11) as usize]
}

impl PartialEq for CitizenId {
    fn eq(&self, other: &CitizenId) -> bool {
        self.text == other.text
    }
}

impl Eq for CitizenId {}

impl std::hash::Hash for CitizenId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for CitizenId {
    fn partial_cmp(&self, other: &CitizenId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CitizenId {
    fn cmp(&self, other: &CitizenId) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

/// Debug shows the masked number: personal data stays out of logs.
impl fmt::Debug for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CitizenId({})", self.masked())
    }
}

/// Display shows the full number: it is for screens and wires that need it.
impl fmt::Display for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for CitizenId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl AsRef<str> for CitizenId {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    fn field(input: &str) -> Option<IdField> {
        CitizenId::parse(input, TODAY).err().map(|err| err.field)
    }

    #[test]
    fn domain_examples() {
        let id = CitizenId::parse("11010519491231002X", TODAY).expect("valid");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.region().full_name, "北京市朝阳区");
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(id.sex(), Sex::Female);

        assert_eq!(field("110105194912310021"), Some(IdField::CheckDigit));
        // 1985-02-29 is not a date, though the check character fits.
        assert_eq!(check_character(*b"32040219850229001"), b'6');
        assert_eq!(field("320402198502290016"), Some(IdField::BirthDate));

        let abolished =
            CitizenId::parse("110103198001010013", TODAY).expect("abolished codes stay valid");
        assert_eq!(abolished.region().full_name, "北京市崇文区");
        assert_eq!(abolished.sex(), Sex::Male);
    }

    #[test]
    fn lower_case_x_and_whitespace_are_normalised() {
        let id = CitizenId::parse(" 11010519491231002x\n", TODAY).expect("valid");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.to_string(), "11010519491231002X");
    }

    #[test]
    fn each_field_is_named() {
        let cases = [
            ("", IdField::Length),
            ("11010519491231002", IdField::Length),
            ("11010519491231002X1", IdField::Length),
            ("110105491231002", IdField::Length),
            ("11010519491231002Y", IdField::Characters),
            ("1101051949123100X2", IdField::Characters),
            ("11010519491231002Ｘ", IdField::Characters),
            ("-11010519491231002", IdField::Characters),
            ("110100194912310025", IdField::Region),
            ("000000194912310025", IdField::Region),
            ("110105194913310025", IdField::BirthDate),
            ("110105194900310025", IdField::BirthDate),
            ("110105194912000025", IdField::BirthDate),
            ("110105189912310025", IdField::BirthDate),
            ("110105202611260025", IdField::BirthDate),
        ];
        for (input, expected) in cases {
            assert_eq!(field(input), Some(expected), "{input:?}");
        }
    }

    #[test]
    fn first_generation_numbers_get_their_own_message() {
        let err = CitizenId::parse("110105491231002", TODAY).unwrap_err();
        assert_eq!(err.field, IdField::Length);
        assert!(err.message.contains("18-digit"), "{}", err.message);
        let other = CitizenId::parse("1101054912310", TODAY).unwrap_err();
        assert!(!other.message.contains("18-digit"));
        assert!(other.message.contains("found 13"));
    }

    #[test]
    fn messages_are_lower_case_without_a_period() {
        for input in [
            "",
            "110105491231002",
            "11010519491231002Y",
            "110100194912310025",
            "110105194913310025",
            "110105194912310021",
        ] {
            let message = CitizenId::parse(input, TODAY).unwrap_err().message;
            assert!(
                message.starts_with(|c: char| !c.is_uppercase()),
                "{message}"
            );
            assert!(!message.ends_with('.'), "{message}");
        }
    }

    #[test]
    fn birth_date_bounds() {
        let on = CitizenId::from_parts("110105", TODAY, 2).expect("born today");
        assert!(
            CitizenId::parse(on.as_str(), TODAY).is_ok(),
            "born today is allowed"
        );
        let yesterday = TODAY.previous_day().expect("a date");
        assert_eq!(
            CitizenId::parse(on.as_str(), yesterday).unwrap_err().field,
            IdField::BirthDate
        );

        let first = CitizenId::from_parts("110105", date!(1900 - 01 - 01), 1).expect("1900-01-01");
        assert!(CitizenId::parse(first.as_str(), TODAY).is_ok());
        assert_eq!(
            CitizenId::from_parts("110105", date!(1899 - 12 - 31), 1)
                .unwrap_err()
                .field,
            IdField::BirthDate
        );
    }

    #[test]
    fn from_parts_builds_and_masks() {
        let id = CitizenId::from_parts("320104", date!(2000 - 12 - 10), 4).expect("valid parts");
        assert_eq!(id.as_str(), "320104200012100044");
        assert_eq!(id.masked(), "320104********0044");
        assert_eq!(id.sequence(), 4);
        assert_eq!(format!("{id:?}"), "CitizenId(320104********0044)");
        assert_eq!(
            CitizenId::from_parts("110100", TODAY, 1).unwrap_err().field,
            IdField::Region
        );
        assert_eq!(
            CitizenId::from_parts("11010", TODAY, 1).unwrap_err().field,
            IdField::Characters
        );
        assert_eq!(
            CitizenId::from_parts("110105", TODAY, 1000)
                .unwrap_err()
                .field,
            IdField::Characters
        );
    }

    #[test]
    fn serialises_as_the_plain_number() {
        let id = CitizenId::parse("11010519491231002X", TODAY).expect("valid");
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            "\"11010519491231002X\""
        );
        assert_eq!(
            serde_json::to_string(&IdField::BirthDate).expect("json"),
            "\"birth_date\""
        );
        assert_eq!(
            serde_json::to_string(&Sex::Female).expect("json"),
            "\"female\""
        );
    }

    fn valid_id() -> impl Strategy<Value = CitizenId> {
        let regions = region::all();
        let days = (TODAY - EARLIEST_BIRTH).whole_days();
        (0..regions.len(), 0..=days, 0u16..=999).prop_map(move |(index, offset, sequence)| {
            let birth = EARLIEST_BIRTH + time::Duration::days(offset);
            CitizenId::from_parts(regions[index].code, birth, sequence)
                .expect("parts from the table")
        })
    }

    proptest! {
        #[test]
        fn generated_numbers_parse_and_round_trip(id in valid_id()) {
            let parsed = CitizenId::parse(id.as_str(), TODAY).expect("valid");
            prop_assert_eq!(parsed.as_str(), id.as_str());
            prop_assert_eq!(parsed.birth_date(), id.birth_date());
            prop_assert_eq!(parsed.region().code, &id.as_str()[..6]);
            prop_assert_eq!(parsed.sex() == Sex::Male, id.sequence() % 2 == 1);
            let lower = id.as_str().to_ascii_lowercase();
            let reparsed = CitizenId::parse(&lower, TODAY).expect("lower-case x");
            prop_assert_eq!(reparsed.as_str(), id.as_str());
        }

        #[test]
        fn every_single_character_change_is_rejected(
            id in valid_id(),
            position in 0usize..18,
            replacement in prop::sample::select(b"0123456789Xx".to_vec()),
        ) {
            let mut bytes = id.as_str().as_bytes().to_vec();
            prop_assume!(!bytes[position].eq_ignore_ascii_case(&replacement));
            bytes[position] = replacement;
            let changed = String::from_utf8(bytes).expect("ascii");
            prop_assert!(CitizenId::parse(&changed, TODAY).is_err(), "{} accepted", changed);
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,40}") {
            let _ = CitizenId::parse(&input, TODAY);
        }

        #[test]
        fn parse_never_panics_on_near_numbers(input in "[0-9Xx ]{14,20}") {
            let _ = CitizenId::parse(&input, TODAY);
        }
    }
}

//! The card's 256-byte text block: UCS-2 little-endian, space-padded fields at fixed offsets.
//!
//! Decoding checks each field's shape (sex `1`/`2`, nation `01`–`56`, dates, an 18-character
//! id number); the id number's check digit and the region are the `domain` crate's business.
//! Encoding is what the simulator uses to build a card from a citizen.

/// Size of the text block.
pub const TEXT_LEN: usize = 256;

/// Byte ranges of the fields (docs/domain.md 9.1).
mod offset {
    use std::ops::Range;
    pub const NAME: Range<usize> = 0..30;
    pub const SEX: Range<usize> = 30..32;
    pub const NATION: Range<usize> = 32..36;
    pub const BIRTH: Range<usize> = 36..52;
    pub const ADDRESS: Range<usize> = 52..122;
    pub const ID_NUMBER: Range<usize> = 122..158;
    pub const AUTHORITY: Range<usize> = 158..188;
    pub const VALID_FROM: Range<usize> = 188..204;
    pub const VALID_UNTIL: Range<usize> = 204..220;
}

/// Sex as the card codes it (GB/T 2261.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `1` 男.
    Male,
    /// `2` 女.
    Female,
}

/// Nation (民族) code, `01`–`56` (GB 3304).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Nation(u8);

impl Nation {
    /// Accepts 1..=56.
    pub fn new(code: u8) -> Option<Nation> {
        (1..=56).contains(&code).then_some(Nation(code))
    }
    /// The code, 1..=56.
    pub fn code(self) -> u8 {
        self.0
    }
}

/// A calendar date as written on the card (YYYYMMDD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CardDate {
    year: u16,
    month: u8,
    day: u8,
}

impl CardDate {
    /// A valid Gregorian date with a four-digit year.
    pub fn new(year: u16, month: u8, day: u8) -> Option<CardDate> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1000..=9999).contains(&year) && (1..=days).contains(&day)).then_some(CardDate {
            year,
            month,
            day,
        })
    }
    /// Parses `YYYYMMDD`.
    pub fn parse(s: &str) -> Option<CardDate> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        CardDate::new(
            s[0..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..8].parse().ok()?,
        )
    }
    /// Year.
    pub fn year(self) -> u16 {
        self.year
    }
    /// Month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }
    /// Day of the month.
    pub fn day(self) -> u8 {
        self.day
    }
}

impl std::fmt::Display for CardDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// End of validity: a date, or 长期 (long-term, for citizens over 46 at issue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValidUntil {
    /// Valid up to and including this date.
    Date(CardDate),
    /// 长期.
    LongTerm,
}

/// The decoded text block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardText {
    /// 姓名, at most 15 characters.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 民族.
    pub nation: Nation,
    /// 出生.
    pub birth_date: CardDate,
    /// 住址, at most 35 characters.
    pub address: String,
    /// 公民身份号码, 17 digits and a digit or `X` (check digit not verified here).
    pub id_number: String,
    /// 签发机关, at most 15 characters.
    pub authority: String,
    /// 有效期限 start.
    pub valid_from: CardDate,
    /// 有效期限 end.
    pub valid_until: ValidUntil,
}

/// Why a text block cannot be decoded or a [`CardText`] cannot be encoded; names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The block is not 256 bytes.
    #[error("text block is {0} bytes, 256 expected")]
    BlockLength(usize),
    /// A field holds a UTF-16 surrogate, which UCS-2 does not allow.
    #[error("{field}: not UCS-2 text")]
    NotUcs2 {
        /// The field.
        field: &'static str,
    },
    /// A field's content is not what 9.1 allows.
    #[error("{field}: invalid value {value:?}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What was there.
        value: String,
    },
    /// A field does not fit its slot.
    #[error("{field}: {chars} characters, at most {max} fit")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Characters given.
        chars: usize,
        /// Characters that fit.
        max: usize,
    },
}

const LONG_TERM: &str = "长期";

fn read_field(
    block: &[u8],
    range: std::ops::Range<usize>,
    field: &'static str,
) -> Result<String, TextError> {
    let units = block[range]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut s = String::new();
    for unit in char::decode_utf16(units) {
        match unit {
            // A lone surrogate, or a pair: both are outside UCS-2.
            Ok(c) if (c as u32) <= 0xFFFF => s.push(c),
            _ => return Err(TextError::NotUcs2 { field }),
        }
    }
    // Padding is spaces; tolerate NULs as some card issuers used them.
    Ok(s.trim_end_matches([' ', '\0']).to_owned())
}

fn write_field(
    block: &mut [u8],
    range: std::ops::Range<usize>,
    field: &'static str,
    value: &str,
) -> Result<(), TextError> {
    let max = range.len() / 2;
    let chars = value.chars().count();
    if chars > max {
        return Err(TextError::TooLong { field, chars, max });
    }
    let slot = &mut block[range];
    let mut units = value.chars().map(|c| u16::try_from(u32::from(c)));
    for pair in slot.chunks_exact_mut(2) {
        let unit = match units.next() {
            Some(Ok(u)) => u,
            Some(Err(_)) => return Err(TextError::NotUcs2 { field }),
            None => u16::from(b' '),
        };
        pair.copy_from_slice(&unit.to_le_bytes());
    }
    Ok(())
}

fn invalid(field: &'static str, value: &str) -> TextError {
    TextError::Invalid {
        field,
        value: value.to_owned(),
    }
}

fn date(field: &'static str, s: &str) -> Result<CardDate, TextError> {
    CardDate::parse(s).ok_or_else(|| invalid(field, s))
}

impl CardText {
    /// Decodes a 256-byte text block.
    pub fn decode(block: &[u8]) -> Result<CardText, TextError> {
        if block.len() != TEXT_LEN {
            return Err(TextError::BlockLength(block.len()));
        }
        let name = read_field(block, offset::NAME, "name")?;
        let sex = match read_field(block, offset::SEX, "sex")?.as_str() {
            "1" => Sex::Male,
            "2" => Sex::Female,
            other => return Err(invalid("sex", other)),
        };
        let nation_s = read_field(block, offset::NATION, "nation")?;
        let nation = (nation_s.len() == 2 && nation_s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| nation_s.parse().ok().and_then(Nation::new))
            .flatten()
            .ok_or_else(|| invalid("nation", &nation_s))?;
        let birth_date = date(
            "birth_date",
            &read_field(block, offset::BIRTH, "birth_date")?,
        )?;
        let address = read_field(block, offset::ADDRESS, "address")?;
        let id_number = read_field(block, offset::ID_NUMBER, "id_number")?;
        if !id_number_shape(&id_number) {
            return Err(invalid("id_number", &id_number));
        }
        let authority = read_field(block, offset::AUTHORITY, "authority")?;
        let valid_from = date(
            "valid_from",
            &read_field(block, offset::VALID_FROM, "valid_from")?,
        )?;
        let until = read_field(block, offset::VALID_UNTIL, "valid_until")?;
        let valid_until = if until == LONG_TERM {
            ValidUntil::LongTerm
        } else {
            ValidUntil::Date(date("valid_until", &until)?)
        };
        Ok(CardText {
            name,
            sex,
            nation,
            birth_date,
            address,
            id_number,
            authority,
            valid_from,
            valid_until,
        })
    }

    /// Encodes the block: each field space-padded, the reserved tail spaces.
    pub fn encode(&self) -> Result<[u8; TEXT_LEN], TextError> {
        if !id_number_shape(&self.id_number) {
            return Err(invalid("id_number", &self.id_number));
        }
        let mut block = [0u8; TEXT_LEN];
        for pair in block.chunks_exact_mut(2) {
            pair.copy_from_slice(&[b' ', 0]);
        }
        let sex = match self.sex {
            Sex::Male => "1",
            Sex::Female => "2",
        };
        let until = match self.valid_until {
            ValidUntil::Date(d) => d.to_string(),
            ValidUntil::LongTerm => LONG_TERM.to_owned(),
        };
        write_field(&mut block, offset::NAME, "name", &self.name)?;
        write_field(&mut block, offset::SEX, "sex", sex)?;
        write_field(
            &mut block,
            offset::NATION,
            "nation",
            &format!("{:02}", self.nation.0),
        )?;
        write_field(
            &mut block,
            offset::BIRTH,
            "birth_date",
            &self.birth_date.to_string(),
        )?;
        write_field(&mut block, offset::ADDRESS, "address", &self.address)?;
        write_field(&mut block, offset::ID_NUMBER, "id_number", &self.id_number)?;
        write_field(&mut block, offset::AUTHORITY, "authority", &self.authority)?;
        write_field(
            &mut block,
            offset::VALID_FROM,
            "valid_from",
            &self.valid_from.to_string(),
        )?;
        write_field(&mut block, offset::VALID_UNTIL, "valid_until", &until)?;
        Ok(block)
    }
}

/// Decodes the extra address block of a `30 03` answer (UCS-2 LE, space-padded).
pub fn decode_extra_address(data: &[u8]) -> Result<String, TextError> {
    let even = data.len() & !1;
    read_field(data, 0..even, "extra_address")
}

/// Encodes an extra address into a 70-byte block (35 characters, like the address field).
pub fn encode_extra_address(address: &str) -> Result<Vec<u8>, TextError> {
    let mut block = vec![0u8; 70];
    write_field(&mut block, 0..70, "extra_address", address)?;
    Ok(block)
}

fn id_number_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X')
}

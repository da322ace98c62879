//! A card as JSON: what `idkiosk device read-card` prints and what the simulator's control API
//! accepts at `POST /card`, so a card read from one reader can be placed on a simulated one.
//!
//! Dates are `YYYY-MM-DD` (`YYYYMMDD` accepted), `valid_until` may be `长期`, sex is `male` or
//! `female`, nation is the name (`汉`; the two-digit code is accepted too).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
#[cfg(feature = "sim")]
use protocol::card_reader::Card;
use protocol::card_reader::{CardDate, CardText, Nation, Sex, ValidUntil};
use serde::{Deserialize, Serialize};

use super::nation::{nation_code, nation_name};
use super::CardData;
#[cfg(feature = "sim")]
use crate::images;

/// A card's contents in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardJson {
    /// 公民身份号码.
    pub id: String,
    /// 姓名.
    pub name: String,
    /// `male` or `female`.
    pub sex: String,
    /// 民族, by name (`汉`).
    pub nation: String,
    /// 出生, `YYYY-MM-DD`.
    pub birth_date: String,
    /// 住址.
    pub address: String,
    /// 签发机关.
    pub authority: String,
    /// Start of validity, `YYYY-MM-DD`.
    pub valid_from: String,
    /// End of validity, `YYYY-MM-DD` or `长期`.
    pub valid_until: String,
    /// The JPEG in the photo block; `null` when the block holds vendor WLT data. When placing a
    /// card, omitted means "draw a face".
    #[serde(default)]
    pub photo_jpeg_base64: Option<String>,
    /// Size of the fingerprint block (0, 512 or 1024); placing a card fills it with synthetic
    /// templates.
    #[serde(default = "default_fingerprint_bytes")]
    pub fingerprint_bytes: usize,
}

fn default_fingerprint_bytes() -> usize {
    1024
}

/// A JSON card that cannot go on a chip; names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CardJsonError {
    /// The JSON field.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> CardJsonError {
    CardJsonError {
        field,
        message: message.into(),
    }
}

fn iso(date: CardDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

fn parse_date(field: &'static str, text: &str) -> Result<CardDate, CardJsonError> {
    let compact: String = text.chars().filter(|c| *c != '-').collect();
    CardDate::parse(&compact)
        .ok_or_else(|| field_error(field, format!("{text:?} is not a date (YYYY-MM-DD)")))
}

impl CardJson {
    /// The JSON form of a card read from a reader.
    pub fn from_card(card: &CardData) -> CardJson {
        let text = &card.text;
        CardJson {
            id: text.id_number.clone(),
            name: text.name.clone(),
            sex: match text.sex {
                Sex::Male => "male",
                Sex::Female => "female",
            }
            .to_owned(),
            nation: nation_name(text.nation.code())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{:02}", text.nation.code())),
            birth_date: iso(text.birth_date),
            address: text.address.clone(),
            authority: text.authority.clone(),
            valid_from: iso(text.valid_from),
            valid_until: match text.valid_until {
                ValidUntil::Date(d) => iso(d),
                ValidUntil::LongTerm => "长期".to_owned(),
            },
            photo_jpeg_base64: card.photo_jpeg().map(|jpeg| BASE64.encode(jpeg)),
            fingerprint_bytes: card.fingerprint.len(),
        }
    }

    /// The text block's fields, checked.
    pub fn to_text(&self) -> Result<CardText, CardJsonError> {
        let sex = match self.sex.as_str() {
            "male" | "1" | "男" => Sex::Male,
            "female" | "2" | "女" => Sex::Female,
            other => return Err(field_error("sex", format!("{other:?}: male or female"))),
        };
        let nation = match self.nation.parse::<u8>() {
            Ok(code) => Nation::new(code),
            Err(_) => nation_code(&self.nation).and_then(Nation::new),
        }
        .ok_or_else(|| field_error("nation", format!("{:?} is not one of the 56", self.nation)))?;
        let valid_until = match self.valid_until.as_str() {
            "长期" | "long-term" | "long_term" => ValidUntil::LongTerm,
            other => ValidUntil::Date(parse_date("valid_until", other)?),
        };
        let text = CardText {
            name: self.name.clone(),
            sex,
            nation,
            birth_date: parse_date("birth_date", &self.birth_date)?,
            address: self.address.clone(),
            id_number: self.id.to_ascii_uppercase(),
            authority: self.authority.clone(),
            valid_from: parse_date("valid_from", &self.valid_from)?,
            valid_until,
        };
        // Encoding checks the lengths and the id number's shape.
        text.encode()
            .map_err(|e| field_error("card", e.to_string()))?;
        Ok(text)
    }

    /// The chip's blocks: the text, the JSON's photo or a drawn face, synthetic fingerprint
    /// templates of the asked size (what the simulator's card carries).
    #[cfg(feature = "sim")]
    pub fn to_card(&self) -> Result<Card, CardJsonError> {
        let text = self.to_text()?;
        let seed = images::seed_of(&self.id);
        let jpeg = match &self.photo_jpeg_base64 {
            Some(b64) => BASE64
                .decode(b64.trim())
                .map_err(|e| field_error("photo_jpeg_base64", e.to_string()))?,
            None => images::face_jpeg(seed),
        };
        let fingerprint = match self.fingerprint_bytes {
            0 | 512 | 1024 => images::fingerprint_templates(seed, self.fingerprint_bytes),
            n => {
                return Err(field_error(
                    "fingerprint_bytes",
                    format!("{n}: 0, 512 or 1024"),
                ))
            }
        };
        Card::new(&text, &jpeg, fingerprint)
            .map_err(|e| field_error("photo_jpeg_base64", e.to_string()))
    }
}

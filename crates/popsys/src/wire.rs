//! The JSON of the popsys HTTP API (`docs/popsys.md`): plain structs that cross the wire, converted
//! by hand to and from the typed values on each side. Dates are `YYYY-MM-DD` text.

use base64::Engine;
use domain::id::{CitizenId, Sex};
use domain::rules::{CardExpiry, RecordStatus};
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::Date;

use crate::{CardStatus, CitizenRecord, IdCard, Receipt, ReceiptCode};

/// `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| date.to_string())
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// `GET /v1/citizens/{id}` answer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CitizenJson {
    pub id: String,
    pub name: String,
    pub sex: String,
    pub nation_code: String,
    pub birth_date: String,
    pub address: String,
    pub household_region: String,
    pub status: String,
    pub remote_area: bool,
    pub card: Option<CardJson>,
    /// The city the floating registration was checked for.
    pub city: String,
    /// The day the registration was checked for.
    pub on: String,
    pub floating_registered: bool,
    pub history_photo: bool,
    pub application_in_progress: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CardJson {
    pub valid_from: String,
    /// `YYYY-MM-DD` or `long_term`.
    pub valid_until: String,
    pub status: String,
    pub issuing_authority: String,
}

/// `POST /v1/receipts/{code}/resolve|redeem` body.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ReceiptRequest {
    pub id_number: Option<String>,
    pub on: Option<String>,
}

/// A usable receipt.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ReceiptJson {
    pub code: String,
    pub id_number: String,
    pub created_on: String,
    pub last_valid_day: String,
    pub used_on: Option<String>,
    /// The certified photo, base64 (standard alphabet, padded); null when not loaded.
    pub photo_jpeg_base64: Option<String>,
}

/// Every error answer: `{"error": "...", "field": "..."}` plus what the case needs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ErrorJson {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a malformed ID number: which check failed (`check_digit`, `birth_date`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_valid_day: Option<String>,
}

pub(crate) fn sex_str(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

impl CitizenJson {
    pub fn from_record(record: &CitizenRecord, city: &str, on: Date) -> CitizenJson {
        CitizenJson {
            id: record.id.as_str().to_owned(),
            name: record.name.clone(),
            sex: sex_str(record.sex).to_owned(),
            nation_code: record.nation_code.clone(),
            birth_date: format_date(record.birth_date),
            address: record.address.clone(),
            household_region: record.household_region.clone(),
            status: record.status.as_str().to_owned(),
            remote_area: record.remote_area,
            card: record.card.as_ref().map(|card| CardJson {
                valid_from: format_date(card.valid_from),
                valid_until: match card.valid_until {
                    CardExpiry::On(date) => format_date(date),
                    CardExpiry::LongTerm => "long_term".to_owned(),
                },
                status: card.status.as_str().to_owned(),
                issuing_authority: card.issuing_authority.clone(),
            }),
            city: city.to_owned(),
            on: format_date(on),
            floating_registered: record.floating_registered,
            history_photo: record.history_photo,
            application_in_progress: record.application_in_progress,
        }
    }

    /// The typed record; an error names the field that is out of protocol.
    pub fn into_record(self) -> Result<CitizenRecord, String> {
        let date = |field: &str, text: &str| {
            parse_date(text).ok_or_else(|| format!("{field}: {text:?} is not a YYYY-MM-DD date"))
        };
        let card = match self.card {
            None => None,
            Some(card) => Some(IdCard {
                valid_from: date("card.valid_from", &card.valid_from)?,
                valid_until: if card.valid_until == "long_term" {
                    CardExpiry::LongTerm
                } else {
                    CardExpiry::On(date("card.valid_until", &card.valid_until)?)
                },
                status: CardStatus::parse(&card.status)
                    .ok_or_else(|| format!("card.status: unknown {:?}", card.status))?,
                issuing_authority: card.issuing_authority,
            }),
        };
        Ok(CitizenRecord {
            id: CitizenId::parse(&self.id, Date::MAX).map_err(|err| format!("id: {err}"))?,
            sex: match self.sex.as_str() {
                "male" => Sex::Male,
                "female" => Sex::Female,
                other => return Err(format!("sex: unknown {other:?}")),
            },
            status: RecordStatus::parse(&self.status)
                .ok_or_else(|| format!("status: unknown {:?}", self.status))?,
            birth_date: date("birth_date", &self.birth_date)?,
            name: self.name,
            nation_code: self.nation_code,
            address: self.address,
            household_region: self.household_region,
            card,
            floating_registered: self.floating_registered,
            history_photo: self.history_photo,
            application_in_progress: self.application_in_progress,
            remote_area: self.remote_area,
        })
    }
}

impl ReceiptJson {
    pub fn from_receipt(receipt: &Receipt) -> ReceiptJson {
        ReceiptJson {
            code: receipt.code.as_str().to_owned(),
            id_number: receipt.id.as_str().to_owned(),
            created_on: format_date(receipt.created_on),
            last_valid_day: format_date(receipt.last_valid_day),
            used_on: receipt.used_on.map(format_date),
            photo_jpeg_base64: receipt
                .jpeg
                .as_ref()
                .map(|jpeg| base64::engine::general_purpose::STANDARD.encode(jpeg)),
        }
    }

    pub fn into_receipt(self) -> Result<Receipt, String> {
        let date = |field: &str, text: &str| {
            parse_date(text).ok_or_else(|| format!("{field}: {text:?} is not a YYYY-MM-DD date"))
        };
        Ok(Receipt {
            code: ReceiptCode::parse(&self.code).map_err(|err| format!("code: {err}"))?,
            id: CitizenId::parse(&self.id_number, Date::MAX)
                .map_err(|err| format!("id_number: {err}"))?,
            created_on: date("created_on", &self.created_on)?,
            last_valid_day: date("last_valid_day", &self.last_valid_day)?,
            used_on: self
                .used_on
                .as_deref()
                .map(|text| date("used_on", text))
                .transpose()?,
            jpeg: self
                .photo_jpeg_base64
                .as_deref()
                .map(|text| {
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|err| format!("photo_jpeg_base64: {err}"))
                })
                .transpose()?,
        })
    }
}

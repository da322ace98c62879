//! Serde adapters for the domain types the session state holds, so a [`super::Snapshot`] can be
//! read back: those types serialize for the wire but do not deserialize, and the readers here go
//! through their `parse` constructors, so a tampered or stale outbox cannot build an invalid value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;

use crate::id::CitizenId;
use crate::mobile::MobileNumber;
use crate::rules::{Business, CardExpiry, CardOnReader, Household, NewCardValidity, Reason};

fn invalid<E: serde::de::Error>(what: &str, text: &str) -> E {
    E::custom(format!("invalid {what} {text:?} in a session snapshot"))
}

/// An ID number parsed back without a clock: the birth date was checked against the session's
/// date when it was first parsed, so the upper bound here is the largest date.
fn parse_id(text: &str) -> Option<CitizenId> {
    CitizenId::parse(text, Date::MAX).ok()
}

pub(super) mod citizen_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &CitizenId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(id.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CitizenId, D::Error> {
        let text = String::deserialize(d)?;
        parse_id(&text).ok_or_else(|| invalid("ID number", &text))
    }
}

pub(super) mod business {
    use super::*;

    pub fn serialize<S: Serializer>(business: &Business, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(business.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Business, D::Error> {
        let text = String::deserialize(d)?;
        Business::parse(&text).ok_or_else(|| invalid("business", &text))
    }
}

pub(super) mod household {
    use super::*;

    pub fn serialize<S: Serializer>(household: &Household, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(household.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Household, D::Error> {
        let text = String::deserialize(d)?;
        Household::parse(&text).ok_or_else(|| invalid("household", &text))
    }
}

pub(super) mod mobile {
    use super::*;

    pub fn serialize<S: Serializer>(mobile: &MobileNumber, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(mobile.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MobileNumber, D::Error> {
        let text = String::deserialize(d)?;
        MobileNumber::parse(&text).map_err(|_| invalid("mobile number", &text))
    }
}

pub(super) mod validity {
    use super::*;

    pub fn serialize<S: Serializer>(validity: &NewCardValidity, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(validity.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NewCardValidity, D::Error> {
        let text = String::deserialize(d)?;
        [
            NewCardValidity::TenYears,
            NewCardValidity::TwentyYears,
            NewCardValidity::LongTerm,
        ]
        .into_iter()
        .find(|validity| validity.as_str() == text)
        .ok_or_else(|| invalid("card validity", &text))
    }
}

pub(super) mod reason {
    use super::*;

    pub fn serialize<S: Serializer>(reason: &Reason, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(reason.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
        let text = String::deserialize(d)?;
        Reason::parse(&text).ok_or_else(|| invalid("reason", &text))
    }
}

/// The card read at step 3, as plain fields.
#[derive(Serialize, Deserialize)]
struct CardFields {
    id: String,
    valid_from: Date,
    /// `None` for 长期.
    valid_until: Option<Date>,
}

pub(super) mod card {
    use super::*;

    pub fn serialize<S: Serializer>(card: &Option<CardOnReader>, s: S) -> Result<S::Ok, S::Error> {
        card.as_ref()
            .map(|card| CardFields {
                id: card.id.as_str().to_owned(),
                valid_from: card.valid_from,
                valid_until: match card.valid_until {
                    CardExpiry::On(date) => Some(date),
                    CardExpiry::LongTerm => None,
                },
            })
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CardOnReader>, D::Error> {
        let Some(fields) = Option::<CardFields>::deserialize(d)? else {
            return Ok(None);
        };
        let id = parse_id(&fields.id).ok_or_else(|| invalid("card number", &fields.id))?;
        Ok(Some(CardOnReader {
            id,
            valid_from: fields.valid_from,
            valid_until: fields
                .valid_until
                .map_or(CardExpiry::LongTerm, CardExpiry::On),
        }))
    }
}

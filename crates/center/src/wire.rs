//! The JSON the kiosk and the center exchange, as plain structs, converted by hand into domain types
//! here at the edge so that every bad value is named by its field.

use domain::id::CitizenId;
use domain::rules::{Business, CardExpiry, CardOnReader, Decision, Household};
use serde::{Deserialize, Serialize};
use time::{macros::format_description, Date};

use crate::error::AppError;

/// `POST /v1/scope`: steps 2–5 of a session.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRequest {
    /// `expiry_renewal`, `lost` or `damaged`.
    pub business: String,
    /// `local` or `province`.
    pub household: String,
    /// The ID number typed at step 3 (or read from the card).
    pub id: String,
    /// The card read at step 3; required for an expiry renewal.
    #[serde(default)]
    pub card: Option<CardJson>,
}

/// A card as the kiosk read it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CardJson {
    /// The number printed on the card.
    pub id: String,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    /// `YYYY-MM-DD` or `long_term`.
    pub valid_until: String,
}

/// A scope request whose values passed the edge's checks.
#[derive(Debug, Clone)]
pub struct ScopeInput {
    /// Step 1.
    pub business: Business,
    /// Step 2.
    pub household: Household,
    /// Step 3.
    pub id: CitizenId,
    /// The card, present for every renewal.
    pub card: Option<CardOnReader>,
}

impl ScopeRequest {
    /// Checks every field against `today`, naming the first that is wrong.
    pub fn validate(&self, today: Date) -> Result<ScopeInput, AppError> {
        let business = Business::parse(&self.business).ok_or_else(|| {
            AppError::invalid("business", "must be one of expiry_renewal, lost, damaged")
        })?;
        let household = Household::parse(&self.household)
            .ok_or_else(|| AppError::invalid("household", "must be one of local, province"))?;
        let id = CitizenId::parse(&self.id, today)
            .map_err(|err| AppError::invalid("id", format!("{} ({})", err, err.field.as_str())))?;
        let card = match (&self.card, business) {
            (None, Business::ExpiryRenewal) => {
                return Err(AppError::invalid(
                    "card",
                    "an expiry renewal needs the card read from the reader",
                ))
            }
            (None, _) => None,
            (Some(card), _) => Some(card.validate(today)?),
        };
        Ok(ScopeInput {
            business,
            household,
            id,
            card,
        })
    }
}

impl CardJson {
    fn validate(&self, today: Date) -> Result<CardOnReader, AppError> {
        let id = CitizenId::parse(&self.id, today).map_err(|err| {
            AppError::invalid("card.id", format!("{} ({})", err, err.field.as_str()))
        })?;
        let valid_from = parse_date(&self.valid_from, "card.valid_from")?;
        let valid_until = if self.valid_until == "long_term" {
            CardExpiry::LongTerm
        } else {
            CardExpiry::On(parse_date(&self.valid_until, "card.valid_until")?)
        };
        if let CardExpiry::On(until) = valid_until {
            if until < valid_from {
                return Err(AppError::invalid(
                    "card.valid_until",
                    "is before card.valid_from",
                ));
            }
        }
        Ok(CardOnReader {
            id,
            valid_from,
            valid_until,
        })
    }
}

fn parse_date(text: &str, field: &str) -> Result<Date, AppError> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        AppError::invalid(
            field,
            format!("{text:?} is not a date of the form YYYY-MM-DD"),
        )
    })
}

/// The center's answer to a scope request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeResponse {
    /// `accept` or `refer`.
    pub outcome: String,
    /// `accept` or the stable reason code of docs/domain.md section 3.
    pub reason: String,
    /// What the citizen reads, Chinese.
    pub prompt_zh: String,
    /// What the citizen reads, English.
    pub prompt_en: String,
    /// The identity to confirm at step 4, masked; absent when the number is unknown.
    pub identity: Option<MaskedIdentity>,
    /// The record's name in clear, for the kiosk's `Event::ScopeDecided` (never shown unmasked);
    /// absent when the number is unknown.
    #[serde(default)]
    pub name: Option<String>,
    /// 工本费 in yuan, when accepted.
    pub fee_cny: Option<u32>,
    /// `10_years`, `20_years` or `long_term`, when accepted.
    pub new_card_validity: Option<String>,
    /// `YYYY-MM-DD`, when accepted.
    pub issue_by: Option<String>,
}

/// Step 4: the number and the name as the screen shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedIdentity {
    /// `320104********0044`.
    pub id_masked: String,
    /// `*小明`.
    pub name_masked: String,
}

impl ScopeResponse {
    /// The wire form of a decision.
    pub fn new(
        decision: &Decision,
        identity: Option<MaskedIdentity>,
        name: Option<String>,
    ) -> ScopeResponse {
        let prompt = decision.prompt();
        let (outcome, fee_cny, new_card_validity, issue_by) = match decision {
            Decision::Accept {
                fee_cny,
                validity,
                issue_by,
            } => (
                "accept",
                Some(*fee_cny),
                Some(validity.as_str().to_string()),
                Some(format_date(*issue_by)),
            ),
            Decision::Refer(_) => ("refer", None, None, None),
        };
        ScopeResponse {
            outcome: outcome.into(),
            reason: decision.reason_code().into(),
            prompt_zh: prompt.zh.into(),
            prompt_en: prompt.en.into(),
            identity,
            name,
            fee_cny,
            new_card_validity,
            issue_by,
        }
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| date.to_string())
}

//! The scope call's JSON (the `kiosk-wire` crate's types, shared with the kiosk's client),
//! checked into domain types here at the edge so that every bad value is named by its field.

use domain::id::CitizenId;
use domain::rules::{Business, CardExpiry, CardOnReader, Decision, Household};
use domain::session::PaymentMethod;
use time::{macros::format_description, Date};

use crate::error::AppError;

pub use kiosk_wire::{CardJson, MaskedIdentity, ScopeRequest, ScopeResponse};

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

/// Checks every field of a scope request against `today`, naming the first that is wrong.
pub fn validate(request: &ScopeRequest, today: Date) -> Result<ScopeInput, AppError> {
    let business = Business::parse(&request.business).ok_or_else(|| {
        AppError::invalid("business", "must be one of expiry_renewal, lost, damaged")
    })?;
    let household = Household::parse(&request.household)
        .ok_or_else(|| AppError::invalid("household", "must be one of local, province"))?;
    let id = CitizenId::parse(&request.id, today)
        .map_err(|err| AppError::invalid("id", format!("{} ({})", err, err.field.as_str())))?;
    let card = match (&request.card, business) {
        (None, Business::ExpiryRenewal) => {
            return Err(AppError::invalid(
                "card",
                "an expiry renewal needs the card read from the reader",
            ))
        }
        (None, _) => None,
        (Some(card), _) => Some(validate_card(card, today)?),
    };
    Ok(ScopeInput {
        business,
        household,
        id,
        card,
    })
}

fn validate_card(card: &CardJson, today: Date) -> Result<CardOnReader, AppError> {
    let id = CitizenId::parse(&card.id, today)
        .map_err(|err| AppError::invalid("card.id", format!("{} ({})", err, err.field.as_str())))?;
    let valid_from = parse_date(&card.valid_from, "card.valid_from")?;
    let valid_until = if card.valid_until == "long_term" {
        CardExpiry::LongTerm
    } else {
        CardExpiry::On(parse_date(&card.valid_until, "card.valid_until")?)
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

fn parse_date(text: &str, field: &str) -> Result<Date, AppError> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        AppError::invalid(
            field,
            format!("{text:?} is not a date of the form YYYY-MM-DD"),
        )
    })
}

/// The wire form of a decision.
pub fn scope_response(
    decision: &Decision,
    identity: Option<MaskedIdentity>,
    name: Option<String>,
    payment_methods: &[PaymentMethod],
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
        payment_methods: payment_methods
            .iter()
            .map(|method| method.as_str().to_owned())
            .collect(),
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| date.to_string())
}

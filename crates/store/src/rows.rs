//! Raw rows as the drivers decode them (plain text, dates, booleans), and their checked conversion
//! into the typed values of [`crate::model`]. `FromRow` is derived generically, so one row type
//! serves both backends.

use domain::id::{CitizenId, Sex};
use domain::rules::{CardExpiry, RecordStatus};
use time::Date;

use crate::model::{CardStatus, Citizen, CitizenView, IdCard};
use crate::StoreError;

#[derive(sqlx::FromRow)]
pub(crate) struct CitizenRow {
    id_number: String,
    name: String,
    sex: String,
    nation_code: String,
    birth_date: Date,
    address: String,
    household_region: String,
    status: String,
    remote_area: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ViewRow {
    #[sqlx(flatten)]
    citizen: CitizenRow,
    card_valid_from: Option<Date>,
    card_valid_until: Option<Date>,
    card_status: Option<String>,
    card_issuing_authority: Option<String>,
    floating_registered: bool,
    history_photo: bool,
    application_in_progress: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct HistoryPhotoRow {
    pub taken_on: Date,
    pub photo: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReceiptRow {
    pub code: String,
    pub id_number: String,
    pub photo: Option<Vec<u8>>,
    pub created_on: Date,
    pub used_on: Option<Date>,
}

fn corrupt(column: &'static str, value: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        column,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// A stored ID number, checked again (it was checked on the way in; the database may have been
/// edited since). `Date::MAX` as "today": a stored birth date is never "in the future".
pub(crate) fn citizen_id(column: &'static str, text: &str) -> Result<CitizenId, StoreError> {
    CitizenId::parse(text, Date::MAX).map_err(|err| corrupt(column, text, err.to_string()))
}

pub(crate) fn sex_str(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

pub(crate) fn status_str(status: RecordStatus) -> &'static str {
    match status {
        RecordStatus::Normal => "normal",
        RecordStatus::Cancelled => "cancelled",
        RecordStatus::Deceased => "deceased",
        RecordStatus::MovedOut => "moved_out",
    }
}

fn parse_sex(text: &str) -> Result<Sex, StoreError> {
    match text {
        "male" => Ok(Sex::Male),
        "female" => Ok(Sex::Female),
        _ => Err(corrupt("citizens.sex", text, "not male or female")),
    }
}

fn parse_status(text: &str) -> Result<RecordStatus, StoreError> {
    match text {
        "normal" => Ok(RecordStatus::Normal),
        "cancelled" => Ok(RecordStatus::Cancelled),
        "deceased" => Ok(RecordStatus::Deceased),
        "moved_out" => Ok(RecordStatus::MovedOut),
        _ => Err(corrupt("citizens.status", text, "not a record status")),
    }
}

impl TryFrom<CitizenRow> for Citizen {
    type Error = StoreError;

    fn try_from(row: CitizenRow) -> Result<Citizen, StoreError> {
        Ok(Citizen {
            id: citizen_id("citizens.id_number", &row.id_number)?,
            sex: parse_sex(&row.sex)?,
            status: parse_status(&row.status)?,
            name: row.name,
            nation_code: row.nation_code,
            birth_date: row.birth_date,
            address: row.address,
            household_region: row.household_region,
            remote_area: row.remote_area,
        })
    }
}

impl TryFrom<ViewRow> for CitizenView {
    type Error = StoreError;

    fn try_from(row: ViewRow) -> Result<CitizenView, StoreError> {
        let card = match (
            row.card_valid_from,
            row.card_status,
            row.card_issuing_authority,
        ) {
            (Some(valid_from), Some(status), Some(issuing_authority)) => Some(IdCard {
                valid_from,
                valid_until: match row.card_valid_until {
                    Some(date) => CardExpiry::On(date),
                    None => CardExpiry::LongTerm,
                },
                status: CardStatus::parse(&status)
                    .ok_or_else(|| corrupt("id_cards.status", &status, "not a card status"))?,
                issuing_authority,
            }),
            _ => None,
        };
        Ok(CitizenView {
            citizen: Citizen::try_from(row.citizen)?,
            card,
            floating_registered: row.floating_registered,
            history_photo: row.history_photo,
            application_in_progress: row.application_in_progress,
        })
    }
}

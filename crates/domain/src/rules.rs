//! Eligibility and self-service scope (DOMAIN.md section 3): the ordered decision with its stable
//! reason codes, the new card's validity, the fee and the issue deadline.

use std::fmt;

use serde::Serialize;
use time::{Date, Duration, Month};

use crate::id::CitizenId;
use crate::prompts::{self, Prompt};
use crate::region::KioskCity;

/// The business chosen at step 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Business {
    /// 到期换领.
    ExpiryRenewal,
    /// 丢失补领.
    Lost,
    /// 损坏换领.
    Damaged,
}

impl Business {
    /// `expiry_renewal`, `lost` or `damaged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Business::ExpiryRenewal => "expiry_renewal",
            Business::Lost => "lost",
            Business::Damaged => "damaged",
        }
    }

    /// The inverse of [`Business::as_str`].
    pub fn parse(text: &str) -> Option<Business> {
        [Business::ExpiryRenewal, Business::Lost, Business::Damaged]
            .into_iter()
            .find(|business| business.as_str() == text)
    }

    /// 工本费 in yuan: renewal 20, lost or damaged replacement 40.
    pub fn fee_cny(self) -> u32 {
        match self {
            Business::ExpiryRenewal => 20,
            Business::Lost | Business::Damaged => 40,
        }
    }

    /// The label of the step-1 button.
    pub fn prompt(self) -> Prompt {
        match self {
            Business::ExpiryRenewal => prompts::BUSINESS_EXPIRY_RENEWAL,
            Business::Lost => prompts::BUSINESS_LOST,
            Business::Damaged => prompts::BUSINESS_DAMAGED,
        }
    }
}

/// The household choice of step 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Household {
    /// 本市户籍: registered in the kiosk's city.
    Local,
    /// 省内异地户籍: registered elsewhere in the kiosk's province.
    Province,
}

impl Household {
    /// `local` or `province`.
    pub fn as_str(self) -> &'static str {
        match self {
            Household::Local => "local",
            Household::Province => "province",
        }
    }

    /// The inverse of [`Household::as_str`].
    pub fn parse(text: &str) -> Option<Household> {
        [Household::Local, Household::Province]
            .into_iter()
            .find(|household| household.as_str() == text)
    }

    /// The label of the step-2 button.
    pub fn prompt(self) -> Prompt {
        match self {
            Household::Local => prompts::HOUSEHOLD_LOCAL,
            Household::Province => prompts::HOUSEHOLD_PROVINCE,
        }
    }
}

/// The end of a card's validity as printed on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardExpiry {
    /// Valid until and including this date.
    On(Date),
    /// 长期: no expiry.
    LongTerm,
}

/// The card read at step 3 of a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardOnReader {
    /// The number on the card.
    pub id: CitizenId,
    /// First day of validity.
    pub valid_from: Date,
    /// Last day of validity, or long-term.
    pub valid_until: CardExpiry,
}

/// The state of a population record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// 正常: the only status that can apply.
    Normal,
    /// 注销: cancelled.
    Cancelled,
    /// 死亡: deceased.
    Deceased,
    /// 迁出: moved out.
    MovedOut,
}

impl RecordStatus {
    /// `normal`, `cancelled`, `deceased` or `moved_out`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Normal => "normal",
            RecordStatus::Cancelled => "cancelled",
            RecordStatus::Deceased => "deceased",
            RecordStatus::MovedOut => "moved_out",
        }
    }

    /// The inverse of [`RecordStatus::as_str`].
    pub fn parse(text: &str) -> Option<RecordStatus> {
        [RecordStatus::Normal, RecordStatus::Cancelled, RecordStatus::Deceased, RecordStatus::MovedOut]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// What the population system knows about the number, as far as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationRecord {
    /// Whether the record is in force.
    pub status: RecordStatus,
    /// Six digits, from the household register (not from the ID number).
    pub household_region: String,
    /// In the kiosk city's floating-population (residence) registry.
    pub floating_registered: bool,
    /// A historical ID photo exists to compare the live photo with.
    pub history_photo: bool,
    /// An application for this number is already being processed.
    pub application_in_progress: bool,
    /// The bureau marked the household's area remote: 30 more days to issue.
    pub remote_area: bool,
}

/// Everything the decision takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCase {
    /// The Asia/Shanghai calendar date of the application.
    pub today: Date,
    /// The city the kiosk stands in.
    pub kiosk_city: KioskCity,
    /// Step 1.
    pub business: Business,
    /// Step 2.
    pub household: Household,
    /// Step 3.
    pub id: CitizenId,
    /// The card read at step 3; required for a renewal, not consulted otherwise.
    pub card: Option<CardOnReader>,
    /// The population record, `None` when the population system has none.
    pub record: Option<PopulationRecord>,
}

/// Why an application is referred to the window; [`Reason::code`] is a stable identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum Reason {
    /// `not_found`: no population record for the number.
    NotFound,
    /// `record_not_normal`: cancelled, deceased or moved out.
    RecordNotNormal,
    /// `under_16`: younger than 16 in full years.
    Under16,
    /// `household_outside_province`: household register outside the kiosk's province.
    HouseholdOutsideProvince,
    /// `wrong_household_choice`: the step-2 choice contradicts the register; offer step 2 again.
    WrongHouseholdChoice,
    /// `not_floating_registered`: elsewhere in the province and not in the city's residence registry.
    NotFloatingRegistered,
    /// `card_mismatch`: the card on the reader carries another number.
    CardMismatch,
    /// `not_in_renewal_window`: outside six months either side of the expiry, or a long-term card.
    NotInRenewalWindow,
    /// `no_history_photo`: no historical photo to compare with.
    NoHistoryPhoto,
    /// `application_in_progress`: an application for this number is being processed.
    ApplicationInProgress,
}

impl Reason {
    /// Every reason, in the order the decision checks them.
    pub const ALL: [Reason; 10] = [
        Reason::NotFound,
        Reason::RecordNotNormal,
        Reason::Under16,
        Reason::HouseholdOutsideProvince,
        Reason::WrongHouseholdChoice,
        Reason::NotFloatingRegistered,
        Reason::CardMismatch,
        Reason::NotInRenewalWindow,
        Reason::NoHistoryPhoto,
        Reason::ApplicationInProgress,
    ];

    /// The stable identifier (`not_found`, `under_16`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NotFound => "not_found",
            Reason::RecordNotNormal => "record_not_normal",
            Reason::Under16 => "under_16",
            Reason::HouseholdOutsideProvince => "household_outside_province",
            Reason::WrongHouseholdChoice => "wrong_household_choice",
            Reason::NotFloatingRegistered => "not_floating_registered",
            Reason::CardMismatch => "card_mismatch",
            Reason::NotInRenewalWindow => "not_in_renewal_window",
            Reason::NoHistoryPhoto => "no_history_photo",
            Reason::ApplicationInProgress => "application_in_progress",
        }
    }

    /// The inverse of [`Reason::code`].
    pub fn parse(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|reason| reason.code() == code)
    }

    /// What the citizen reads: the reason's own prompt of section 1, else the step-5 refusal.
    pub fn prompt(&self) -> Prompt {
        match self {
            Reason::Under16 => prompts::UNDER_16,
            Reason::NotFloatingRegistered => prompts::NOT_REGISTERED_IN_CITY,
            Reason::CardMismatch => prompts::CARD_MISMATCH,
            Reason::NotInRenewalWindow => prompts::NOT_IN_RENEWAL_WINDOW,
            _ => prompts::OUT_OF_SCOPE,
        }
    }
}

impl From<Reason> for &'static str {
    fn from(reason: Reason) -> &'static str {
        reason.code()
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How long the new card is valid (Resident Identity Card Law, art. 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum NewCardValidity {
    /// Age 16 to 25.
    #[serde(rename = "10_years")]
    TenYears,
    /// Age 26 to 45.
    #[serde(rename = "20_years")]
    TwentyYears,
    /// Age 46 and over: 长期.
    #[serde(rename = "long_term")]
    LongTerm,
}

impl NewCardValidity {
    /// The validity for an age in full years; `None` under 16, whose 5-year cards are issued at the
    /// window only (and so have no variant here).
    pub fn for_age(age: u32) -> Option<NewCardValidity> {
        match age {
            0..=15 => None,
            16..=25 => Some(NewCardValidity::TenYears),
            26..=45 => Some(NewCardValidity::TwentyYears),
            _ => Some(NewCardValidity::LongTerm),
        }
    }

    /// `10_years`, `20_years` or `long_term`.
    pub fn as_str(self) -> &'static str {
        match self {
            NewCardValidity::TenYears => "10_years",
            NewCardValidity::TwentyYears => "20_years",
            NewCardValidity::LongTerm => "long_term",
        }
    }
}

/// The outcome of step 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Within self-service scope, with the terms of the application.
    Accept {
        /// 工本费 in yuan.
        fee_cny: u32,
        /// Validity of the new card.
        validity: NewCardValidity,
        /// The last day the new card is due (art. 12).
        issue_by: Date,
    },
    /// Refer to the window, for this reason.
    Refer(Reason),
}

impl Decision {
    /// `accept`, or the reason's code.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Decision::Accept { .. } => "accept",
            Decision::Refer(reason) => reason.code(),
        }
    }

    /// What the citizen reads: [`prompts::IN_SCOPE`] on acceptance, else the reason's prompt.
    pub fn prompt(&self) -> Prompt {
        match self {
            Decision::Accept { .. } => prompts::IN_SCOPE,
            Decision::Refer(reason) => reason.prompt(),
        }
    }
}

/// A case the decision cannot take: a caller's mistake, not a citizen's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// An expiry renewal is decided on the card read at step 3; an unreadable card ends at step 3
    /// with [`prompts::CARD_UNREADABLE`] and never reaches the decision.
    #[error("an expiry renewal needs the card read from the reader")]
    RenewalWithoutCard,
}

/// Days to issue the new card from the application (art. 12).
pub const ISSUE_DAYS: i64 = 60;
/// Days added in an area the bureau marked remote (art. 12 allows up to 30).
pub const REMOTE_AREA_EXTRA_DAYS: i64 = 30;
/// Months either side of the expiry date within which a card may be renewed.
pub const RENEWAL_WINDOW_MONTHS: i32 = 6;

/// Decides step 5: the first of DOMAIN.md section 3's conditions that applies refers the
/// application to the window, in that order; otherwise it is accepted with its fee, the new card's
/// validity and the issue deadline.
///
/// The card is consulted only for an expiry renewal, where it is required: a renewal without one is
/// [`ScopeError::RenewalWithoutCard`] rather than a refusal, because the session cannot get there.
pub fn decide(case: &ScopeCase) -> Result<Decision, ScopeError> {
    let card = match (case.business, &case.card) {
        (Business::ExpiryRenewal, None) => return Err(ScopeError::RenewalWithoutCard),
        (Business::ExpiryRenewal, Some(card)) => Some(card),
        _ => None,
    };
    let Some(record) = &case.record else {
        return Ok(Decision::Refer(Reason::NotFound));
    };
    if record.status != RecordStatus::Normal {
        return Ok(Decision::Refer(Reason::RecordNotNormal));
    }
    let age = age_on(case.id.birth_date(), case.today);
    let Some(validity) = NewCardValidity::for_age(age) else {
        return Ok(Decision::Refer(Reason::Under16));
    };
    let city = &case.kiosk_city;
    if !city.same_province(&record.household_region) {
        return Ok(Decision::Refer(Reason::HouseholdOutsideProvince));
    }
    let local = city.contains(&record.household_region);
    if local != (case.household == Household::Local) {
        return Ok(Decision::Refer(Reason::WrongHouseholdChoice));
    }
    if !local && !record.floating_registered {
        return Ok(Decision::Refer(Reason::NotFloatingRegistered));
    }
    if let Some(card) = card {
        if card.id != case.id {
            return Ok(Decision::Refer(Reason::CardMismatch));
        }
        if !in_renewal_window(card.valid_until, case.today) {
            return Ok(Decision::Refer(Reason::NotInRenewalWindow));
        }
    }
    if !record.history_photo {
        return Ok(Decision::Refer(Reason::NoHistoryPhoto));
    }
    if record.application_in_progress {
        return Ok(Decision::Refer(Reason::ApplicationInProgress));
    }
    Ok(Decision::Accept {
        fee_cny: case.business.fee_cny(),
        validity,
        issue_by: issue_by(case.today, record.remote_area),
    })
}

/// Whether `today` is within `[expiry − 6 months, expiry + 6 months]`, both ends included; a
/// long-term card never is.
pub fn in_renewal_window(expiry: CardExpiry, today: Date) -> bool {
    match expiry {
        CardExpiry::LongTerm => false,
        CardExpiry::On(expiry) => {
            add_months_clamped(expiry, -RENEWAL_WINDOW_MONTHS) <= today
                && today <= add_months_clamped(expiry, RENEWAL_WINDOW_MONTHS)
        }
    }
}

/// The last day to issue the new card: 60 days after `today`, 90 in a remote area. Saturates at
/// the last representable date rather than fail.
pub fn issue_by(today: Date, remote_area: bool) -> Date {
    let days = ISSUE_DAYS + if remote_area { REMOTE_AREA_EXTRA_DAYS } else { 0 };
    today.checked_add(Duration::days(days)).unwrap_or(Date::MAX)
}

/// Age in full years on `today` (0 if `today` is before `birth`).
///
/// **choice**: someone born on 29 February turns a year older on 1 March in a common year (the
/// plain comparison of month and day gives exactly that).
pub fn age_on(birth: Date, today: Date) -> u32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// `date` moved by `months` calendar months, the day clamped to the end of the target month
/// (31 August − 6 months = 28 or 29 February). Saturates at the representable range.
pub fn add_months_clamped(date: Date, months: i32) -> Date {
    let index = i64::from(date.year()) * 12 + i64::from(date.month() as u8 - 1) + i64::from(months);
    let year = index.div_euclid(12);
    let month_index = index.rem_euclid(12);
    let Ok(year) = i32::try_from(year) else {
        return if months < 0 { Date::MIN } else { Date::MAX };
    };
    let month = Month::try_from(month_index as u8 + 1).unwrap_or(Month::January);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(if months < 0 { Date::MIN } else { Date::MAX })
}

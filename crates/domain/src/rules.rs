//! Eligibility and self-service scope (docs/domain.md section 3): the ordered decision with its
//! stable reason codes, the new card's validity, the fee and the issue deadline.

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
        [
            RecordStatus::Normal,
            RecordStatus::Cancelled,
            RecordStatus::Deceased,
            RecordStatus::MovedOut,
        ]
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

    /// The inverse of [`NewCardValidity::as_str`].
    pub fn parse(text: &str) -> Option<NewCardValidity> {
        [
            NewCardValidity::TenYears,
            NewCardValidity::TwentyYears,
            NewCardValidity::LongTerm,
        ]
        .into_iter()
        .find(|validity| validity.as_str() == text)
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

/// Decides step 5: the first of docs/domain.md section 3's conditions that applies refers the
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
    let days = ISSUE_DAYS
        + if remote_area {
            REMOTE_AREA_EXTRA_DAYS
        } else {
            0
        };
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
    Date::from_calendar_date(year, month, day).unwrap_or(if months < 0 {
        Date::MIN
    } else {
        Date::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    fn id(number: &str) -> CitizenId {
        CitizenId::parse(number, TODAY).expect("a valid number")
    }

    fn record(household_region: &str) -> PopulationRecord {
        PopulationRecord {
            status: RecordStatus::Normal,
            household_region: household_region.to_owned(),
            floating_registered: false,
            history_photo: true,
            application_in_progress: false,
            remote_area: false,
        }
    }

    fn case(
        number: &str,
        business: Business,
        household: Household,
        record: Option<PopulationRecord>,
    ) -> ScopeCase {
        ScopeCase {
            today: TODAY,
            kiosk_city: KioskCity::parse("320100").expect("南京市"),
            business,
            household,
            id: id(number),
            card: None,
            record,
        }
    }

    fn with_card(mut case: ScopeCase, valid_until: CardExpiry) -> ScopeCase {
        case.card = Some(CardOnReader {
            id: case.id.clone(),
            valid_from: date!(2006 - 12 - 20),
            valid_until,
        });
        case
    }

    fn refer(reason: Reason) -> Result<Decision, ScopeError> {
        Ok(Decision::Refer(reason))
    }

    fn accept(
        fee_cny: u32,
        validity: NewCardValidity,
        issue_by: Date,
    ) -> Result<Decision, ScopeError> {
        Ok(Decision::Accept {
            fee_cny,
            validity,
            issue_by,
        })
    }

    /// docs/domain.md section 3.6's decision table, row by row.
    #[test]
    fn decision_table() {
        use Business::*;
        use Household::*;
        let renewal = |until| {
            with_card(
                case(
                    "320104200012100044",
                    ExpiryRenewal,
                    Local,
                    Some(record("320104")),
                ),
                until,
            )
        };
        let floating = |registered, remote| PopulationRecord {
            floating_registered: registered,
            remote_area: remote,
            ..record("320582")
        };
        let rows: [(ScopeCase, Result<Decision, ScopeError>); 9] = [
            (
                renewal(CardExpiry::On(date!(2026 - 12 - 20))),
                accept(20, NewCardValidity::TenYears, date!(2027 - 01 - 24)),
            ),
            (
                renewal(CardExpiry::On(date!(2026 - 05 - 24))),
                refer(Reason::NotInRenewalWindow),
            ),
            (
                renewal(CardExpiry::On(date!(2026 - 05 - 25))),
                accept(20, NewCardValidity::TenYears, date!(2027 - 01 - 24)),
            ),
            (
                case("32011120110601003X", Lost, Local, Some(record("320111"))),
                refer(Reason::Under16),
            ),
            (
                case(
                    "320582198804160054",
                    Lost,
                    Province,
                    Some(floating(false, false)),
                ),
                refer(Reason::NotFloatingRegistered),
            ),
            (
                case(
                    "320582198804160054",
                    Lost,
                    Province,
                    Some(floating(true, true)),
                ),
                accept(40, NewCardValidity::TwentyYears, date!(2027 - 02 - 23)),
            ),
            (
                case("320106196307084567", Damaged, Local, Some(record("320106"))),
                accept(40, NewCardValidity::LongTerm, date!(2027 - 01 - 24)),
            ),
            (
                case("340104198209110063", Lost, Province, Some(record("340104"))),
                refer(Reason::HouseholdOutsideProvince),
            ),
            (
                case(
                    "320113197001020075",
                    Damaged,
                    Local,
                    Some(PopulationRecord {
                        history_photo: false,
                        ..record("320113")
                    }),
                ),
                refer(Reason::NoHistoryPhoto),
            ),
        ];
        for (index, (case, expected)) in rows.iter().enumerate() {
            assert_eq!(&decide(case), expected, "row {}", index + 1);
        }
    }

    #[test]
    fn each_reason_in_order() {
        use Business::*;
        use Household::*;
        let base = || case("320104200012100044", Lost, Local, Some(record("320104")));
        let with = |change: fn(&mut ScopeCase)| {
            let mut case = base();
            change(&mut case);
            decide(&case)
        };
        assert_eq!(
            with(|_| {}),
            accept(40, NewCardValidity::TenYears, date!(2027 - 01 - 24))
        );
        assert_eq!(with(|c| c.record = None), refer(Reason::NotFound));
        for status in [
            RecordStatus::Cancelled,
            RecordStatus::Deceased,
            RecordStatus::MovedOut,
        ] {
            let mut c = base();
            c.record.as_mut().expect("record").status = status;
            assert_eq!(decide(&c), refer(Reason::RecordNotNormal), "{status:?}");
        }
        assert_eq!(
            with(|c| c.household = Province),
            refer(Reason::WrongHouseholdChoice)
        );
        assert_eq!(
            with(|c| {
                c.household = Local;
                if let Some(r) = c.record.as_mut() {
                    r.household_region = "320582".into();
                    r.floating_registered = true;
                }
            }),
            refer(Reason::WrongHouseholdChoice)
        );
        assert_eq!(
            with(|c| c.record.as_mut().expect("r").application_in_progress = true),
            refer(Reason::ApplicationInProgress)
        );
        // Earlier reasons win: a deceased record outside the province is `record_not_normal`.
        assert_eq!(
            with(|c| {
                if let Some(r) = c.record.as_mut() {
                    r.status = RecordStatus::Deceased;
                    r.household_region = "340104".into();
                }
            }),
            refer(Reason::RecordNotNormal)
        );
        // No history photo comes before an application in progress.
        assert_eq!(
            with(|c| {
                if let Some(r) = c.record.as_mut() {
                    r.history_photo = false;
                    r.application_in_progress = true;
                }
            }),
            refer(Reason::NoHistoryPhoto)
        );
    }

    #[test]
    fn renewal_card_checks() {
        let base = || {
            case(
                "320104200012100044",
                Business::ExpiryRenewal,
                Household::Local,
                Some(record("320104")),
            )
        };
        assert_eq!(decide(&base()), Err(ScopeError::RenewalWithoutCard));
        let mut other = with_card(base(), CardExpiry::On(date!(2026 - 12 - 20)));
        if let Some(card) = other.card.as_mut() {
            card.id = id("11010519491231002X");
        }
        assert_eq!(decide(&other), refer(Reason::CardMismatch));
        assert_eq!(
            decide(&with_card(base(), CardExpiry::LongTerm)),
            refer(Reason::NotInRenewalWindow)
        );
        // A card on the reader is not consulted for a lost replacement.
        let mut lost = with_card(base(), CardExpiry::LongTerm);
        lost.business = Business::Lost;
        assert_eq!(
            decide(&lost),
            accept(40, NewCardValidity::TenYears, date!(2027 - 01 - 24))
        );
    }

    #[test]
    fn renewal_window_edges() {
        let expiry = CardExpiry::On(date!(2027 - 05 - 25));
        assert!(!in_renewal_window(expiry, date!(2026 - 11 - 24)));
        assert!(in_renewal_window(expiry, date!(2026 - 11 - 25)));
        assert!(in_renewal_window(expiry, date!(2026 - 11 - 26)));
        let expiry = CardExpiry::On(date!(2026 - 05 - 25));
        assert!(in_renewal_window(expiry, date!(2026 - 11 - 24)));
        assert!(in_renewal_window(expiry, date!(2026 - 11 - 25)));
        assert!(!in_renewal_window(expiry, date!(2026 - 11 - 26)));
        // 31 August − 6 months is the end of February.
        let expiry = CardExpiry::On(date!(2028 - 08 - 31));
        assert!(!in_renewal_window(expiry, date!(2028 - 02 - 28)));
        assert!(in_renewal_window(expiry, date!(2028 - 02 - 29)));
        let expiry = CardExpiry::On(date!(2027 - 08 - 31));
        assert!(!in_renewal_window(expiry, date!(2027 - 02 - 27)));
        assert!(in_renewal_window(expiry, date!(2027 - 02 - 28)));
        assert!(!in_renewal_window(CardExpiry::LongTerm, TODAY));
    }

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        assert_eq!(
            add_months_clamped(date!(2027 - 08 - 31), -6),
            date!(2027 - 02 - 28)
        );
        assert_eq!(
            add_months_clamped(date!(2028 - 08 - 31), -6),
            date!(2028 - 02 - 29)
        );
        assert_eq!(
            add_months_clamped(date!(2027 - 08 - 31), 6),
            date!(2028 - 02 - 29)
        );
        assert_eq!(
            add_months_clamped(date!(2028 - 02 - 29), 12),
            date!(2029 - 02 - 28)
        );
        assert_eq!(
            add_months_clamped(date!(2026 - 05 - 25), 6),
            date!(2026 - 11 - 25)
        );
        assert_eq!(
            add_months_clamped(date!(2026 - 01 - 31), 1),
            date!(2026 - 02 - 28)
        );
        assert_eq!(
            add_months_clamped(date!(2026 - 03 - 31), -1),
            date!(2026 - 02 - 28)
        );
        assert_eq!(
            add_months_clamped(date!(2026 - 12 - 15), 1),
            date!(2027 - 01 - 15)
        );
        assert_eq!(
            add_months_clamped(date!(2026 - 01 - 15), -1),
            date!(2025 - 12 - 15)
        );
        assert_eq!(
            add_months_clamped(date!(2026 - 01 - 15), 0),
            date!(2026 - 01 - 15)
        );
        assert_eq!(add_months_clamped(Date::MAX, 1), Date::MAX);
        assert_eq!(add_months_clamped(Date::MIN, -1), Date::MIN);
        assert_eq!(
            add_months_clamped(date!(2026 - 01 - 15), i32::MAX),
            Date::MAX
        );
        assert_eq!(
            add_months_clamped(date!(2026 - 01 - 15), i32::MIN),
            Date::MIN
        );
    }

    #[test]
    fn age_in_full_years() {
        let birth = date!(2010 - 11 - 25);
        assert_eq!(age_on(birth, date!(2026 - 11 - 24)), 15);
        assert_eq!(age_on(birth, date!(2026 - 11 - 25)), 16);
        assert_eq!(age_on(birth, date!(2026 - 11 - 26)), 16);
        assert_eq!(age_on(birth, birth), 0);
        assert_eq!(age_on(birth, date!(2000 - 01 - 01)), 0);
    }

    #[test]
    fn born_on_29_february() {
        let birth = date!(2008 - 02 - 29);
        // Common year: older on 1 March (choice), not on 28 February.
        assert_eq!(age_on(birth, date!(2025 - 02 - 28)), 16);
        assert_eq!(age_on(birth, date!(2025 - 03 - 01)), 17);
        assert_eq!(age_on(birth, date!(2024 - 02 - 28)), 15);
        assert_eq!(age_on(birth, date!(2024 - 02 - 29)), 16);
        assert_eq!(age_on(birth, date!(2023 - 02 - 28)), 14);
        assert_eq!(age_on(birth, date!(2023 - 03 - 01)), 15);
    }

    #[test]
    fn under_16_boundary_in_the_decision() {
        let number = CitizenId::from_parts("320104", date!(2010 - 11 - 26), 4).expect("valid");
        let mut c = case(
            "320104200012100044",
            Business::Lost,
            Household::Local,
            Some(record("320104")),
        );
        c.id = number;
        assert_eq!(
            decide(&c),
            refer(Reason::Under16),
            "15 on the eve of the 16th birthday"
        );
        c.today = date!(2026 - 11 - 26);
        assert_eq!(
            decide(&c),
            accept(40, NewCardValidity::TenYears, date!(2027 - 01 - 25)),
            "16 on the day"
        );
    }

    #[test]
    fn validity_by_age() {
        assert_eq!(NewCardValidity::for_age(15), None);
        assert_eq!(
            NewCardValidity::for_age(16),
            Some(NewCardValidity::TenYears)
        );
        assert_eq!(
            NewCardValidity::for_age(25),
            Some(NewCardValidity::TenYears)
        );
        assert_eq!(
            NewCardValidity::for_age(26),
            Some(NewCardValidity::TwentyYears)
        );
        assert_eq!(
            NewCardValidity::for_age(45),
            Some(NewCardValidity::TwentyYears)
        );
        assert_eq!(
            NewCardValidity::for_age(46),
            Some(NewCardValidity::LongTerm)
        );
        assert_eq!(
            NewCardValidity::for_age(120),
            Some(NewCardValidity::LongTerm)
        );
    }

    #[test]
    fn validity_at_the_birthday() {
        let mut c = case(
            "320104200012100044",
            Business::Damaged,
            Household::Local,
            Some(record("320104")),
        );
        for (birth, expected) in [
            (date!(2000 - 11 - 26), NewCardValidity::TenYears), // 25, 26 tomorrow
            (date!(2000 - 11 - 25), NewCardValidity::TwentyYears), // 26 today
            (date!(1980 - 11 - 26), NewCardValidity::TwentyYears), // 45
            (date!(1980 - 11 - 25), NewCardValidity::LongTerm), // 46 today
        ] {
            c.id = CitizenId::from_parts("320104", birth, 4).expect("valid");
            match decide(&c) {
                Ok(Decision::Accept { validity, .. }) => assert_eq!(validity, expected, "{birth}"),
                other => panic!("{birth}: {other:?}"),
            }
        }
    }

    #[test]
    fn fees_and_deadlines() {
        assert_eq!(Business::ExpiryRenewal.fee_cny(), 20);
        assert_eq!(Business::Lost.fee_cny(), 40);
        assert_eq!(Business::Damaged.fee_cny(), 40);
        assert_eq!(issue_by(TODAY, false), date!(2027 - 01 - 24));
        assert_eq!(issue_by(TODAY, true), date!(2027 - 02 - 23));
        assert_eq!(issue_by(Date::MAX, true), Date::MAX);
    }

    #[test]
    fn codes_and_prompts() {
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.code()), Some(reason));
        }
        assert_eq!(Reason::Under16.code(), "under_16");
        assert_eq!(Reason::Under16.prompt(), prompts::UNDER_16);
        assert_eq!(
            Reason::NotFloatingRegistered.prompt(),
            prompts::NOT_REGISTERED_IN_CITY
        );
        assert_eq!(Reason::CardMismatch.prompt(), prompts::CARD_MISMATCH);
        assert_eq!(
            Reason::NotInRenewalWindow.prompt(),
            prompts::NOT_IN_RENEWAL_WINDOW
        );
        for reason in [
            Reason::NotFound,
            Reason::RecordNotNormal,
            Reason::HouseholdOutsideProvince,
            Reason::WrongHouseholdChoice,
            Reason::NoHistoryPhoto,
            Reason::ApplicationInProgress,
        ] {
            assert_eq!(reason.prompt(), prompts::OUT_OF_SCOPE, "{reason}");
        }
        assert_eq!(
            serde_json::to_string(&Reason::WrongHouseholdChoice).expect("json"),
            "\"wrong_household_choice\""
        );
        assert_eq!(
            serde_json::to_string(&NewCardValidity::TenYears).expect("json"),
            "\"10_years\""
        );
        for business in [Business::ExpiryRenewal, Business::Lost, Business::Damaged] {
            assert_eq!(Business::parse(business.as_str()), Some(business));
        }
        assert_eq!(Household::parse("province"), Some(Household::Province));
        assert_eq!(
            RecordStatus::parse("moved_out"),
            Some(RecordStatus::MovedOut)
        );
        assert_eq!(RecordStatus::parse("Normal"), None);
    }
}

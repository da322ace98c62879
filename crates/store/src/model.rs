//! The rows the store reads and writes, as typed values: what the population system knows about a
//! citizen, their card, registrations, photos, receipts and applications.

use domain::id::{CitizenId, Sex};
use domain::region::KioskCity;
use domain::rules::{CardExpiry, RecordStatus};
use time::Date;

/// How many days a photo-studio receipt stays usable after the day it was made (the day itself
/// counts as day 0, so a receipt made on 1 January is usable through 30 June in a common year).
pub const RECEIPT_VALID_DAYS: u32 = 180;

pub use domain::receipt::{ReceiptCode, ReceiptCodeError};

/// The state of a citizen's current card (证件状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardStatus {
    /// In use.
    Valid,
    /// Reported lost (已挂失).
    ReportedLost,
    /// A new card is being made (制证中).
    InProduction,
}

impl CardStatus {
    /// Stable text: `valid`, `reported_lost`, `in_production`.
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Valid => "valid",
            CardStatus::ReportedLost => "reported_lost",
            CardStatus::InProduction => "in_production",
        }
    }

    /// The inverse of [`CardStatus::as_str`].
    pub fn parse(text: &str) -> Option<CardStatus> {
        match text {
            "valid" => Some(CardStatus::Valid),
            "reported_lost" => Some(CardStatus::ReportedLost),
            "in_production" => Some(CardStatus::InProduction),
            _ => None,
        }
    }
}

/// Where an application known to the population system stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    /// Accepted, not yet in production (已受理).
    Accepted,
    /// The card is being made (制证中).
    InProduction,
    /// Ready for collection (待领取).
    Ready,
    /// Collected: finished (已领取).
    Collected,
    /// Withdrawn: finished (已撤销).
    Withdrawn,
    /// Refused after it was accepted, with a reason: finished (审核不通过). A population system
    /// behind `popsys::PopulationSystem` reports it; the reference system's schema cannot store
    /// it yet (its `status` CHECK predates it).
    Rejected,
}

impl ApplicationStatus {
    /// Stable text: `accepted`, `in_production`, `ready`, `collected`, `withdrawn`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Accepted => "accepted",
            ApplicationStatus::InProduction => "in_production",
            ApplicationStatus::Ready => "ready",
            ApplicationStatus::Collected => "collected",
            ApplicationStatus::Withdrawn => "withdrawn",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    /// The inverse of [`ApplicationStatus::as_str`].
    pub fn parse(text: &str) -> Option<ApplicationStatus> {
        match text {
            "accepted" => Some(ApplicationStatus::Accepted),
            "in_production" => Some(ApplicationStatus::InProduction),
            "ready" => Some(ApplicationStatus::Ready),
            "collected" => Some(ApplicationStatus::Collected),
            "withdrawn" => Some(ApplicationStatus::Withdrawn),
            "rejected" => Some(ApplicationStatus::Rejected),
            _ => None,
        }
    }

    /// Whether the application is still being processed (it blocks a new one).
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Accepted
                | ApplicationStatus::InProduction
                | ApplicationStatus::Ready
        )
    }
}

/// The SQL list of in-progress statuses, kept next to [`ApplicationStatus::in_progress`].
pub(crate) const IN_PROGRESS_SQL: &str = "('accepted', 'in_production', 'ready')";

/// A citizen's record in the population register (人口信息).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    /// The citizen ID number.
    pub id: CitizenId,
    /// Full name.
    pub name: String,
    /// Sex as registered.
    pub sex: Sex,
    /// Nation (民族) code, two digits `01`–`56` (GB 3304).
    pub nation_code: String,
    /// Birth date as registered.
    pub birth_date: Date,
    /// Household address (住址).
    pub address: String,
    /// Region code of the household register (户籍地), six digits; not the ID number's prefix.
    pub household_region: String,
    /// Whether the record is in force.
    pub status: RecordStatus,
    /// The household is in an area the bureau marked remote (longer issue deadline).
    pub remote_area: bool,
}

/// The citizen's current card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCard {
    /// First day of validity.
    pub valid_from: Date,
    /// Last day of validity, or long-term (长期).
    pub valid_until: CardExpiry,
    /// State of the card.
    pub status: CardStatus,
    /// Issuing authority (签发机关), e.g. 南京市公安局秦淮分局.
    pub issuing_authority: String,
}

/// A floating-population (residence) registration (居住登记) in one city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidenceRegistration {
    /// The city of registration.
    pub city: KioskCity,
    /// Last day the registration is in force.
    pub valid_until: Date,
}

/// A historical ID photo (历史证件照片).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPhoto {
    /// Day the photo was taken.
    pub taken_on: Date,
    /// The JPEG, or `None` when the record exists but its image has not been loaded yet.
    pub jpeg: Option<Vec<u8>>,
}

/// A photo-studio receipt to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceipt {
    /// The code on the receipt.
    pub code: ReceiptCode,
    /// The certified photo (JPEG), or `None` in demo data without faces.
    pub jpeg: Option<Vec<u8>>,
    /// Day the studio made it.
    pub created_on: Date,
    /// Day it was used, if it was.
    pub used_on: Option<Date>,
}

/// A photo-studio receipt as stored, bound to one citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoReceipt {
    /// The code on the receipt.
    pub code: ReceiptCode,
    /// The one citizen it belongs to.
    pub id: CitizenId,
    /// The certified photo (JPEG), or `None` in demo data without faces.
    pub jpeg: Option<Vec<u8>>,
    /// Day the studio made it.
    pub created_on: Date,
    /// Day it was used, if it was.
    pub used_on: Option<Date>,
}

impl PhotoReceipt {
    /// The last day the receipt can be used ([`RECEIPT_VALID_DAYS`] after it was made).
    pub fn last_valid_day(&self) -> Date {
        self.created_on
            .checked_add(time::Duration::days(i64::from(RECEIPT_VALID_DAYS)))
            .unwrap_or(Date::MAX)
    }
}

/// An application the population system knows about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationApplication {
    /// The application number (受理编号).
    pub application_number: String,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// Day it was accepted.
    pub applied_on: Date,
}

/// Everything written for one citizen: the unit of [`crate::Store::insert_citizens`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenBundle {
    /// The register record.
    pub citizen: Citizen,
    /// The current card, if the citizen has one (not all under 16 do).
    pub card: Option<IdCard>,
    /// Residence registrations, at most one per city.
    pub residence: Vec<ResidenceRegistration>,
    /// Historical ID photos.
    pub history_photos: Vec<HistoryPhoto>,
    /// Photo-studio receipts bound to this citizen.
    pub receipts: Vec<NewReceipt>,
    /// Applications.
    pub applications: Vec<PopulationApplication>,
}

impl CitizenBundle {
    /// A bundle with the record only.
    pub fn new(citizen: Citizen) -> CitizenBundle {
        CitizenBundle {
            citizen,
            card: None,
            residence: Vec::new(),
            history_photos: Vec::new(),
            receipts: Vec::new(),
            applications: Vec::new(),
        }
    }

    /// How many table rows the bundle writes.
    pub fn row_count(&self) -> u64 {
        (1 + usize::from(self.card.is_some())
            + self.residence.len()
            + self.history_photos.len()
            + self.receipts.len()
            + self.applications.len()) as u64
    }
}

/// What the scope decision needs about a citizen, read in one query for one kiosk city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenView {
    /// The register record.
    pub citizen: Citizen,
    /// The current card.
    pub card: Option<IdCard>,
    /// Registered in the asked city's residence registry and in force on the asked day.
    pub floating_registered: bool,
    /// A historical ID photo record exists.
    pub history_photo: bool,
    /// An application is being processed.
    pub application_in_progress: bool,
}

/// What became of an attempt to use a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// Marked used now; the receipt as it is after the update.
    Redeemed(PhotoReceipt),
    /// No receipt with this code for this citizen (a receipt of another citizen is not found).
    NotFound,
    /// Too old: its last valid day has passed.
    Expired {
        /// The last day it could have been used.
        last_valid_day: Date,
    },
    /// Already used.
    AlreadyUsed {
        /// The day it was used.
        used_on: Date,
    },
}

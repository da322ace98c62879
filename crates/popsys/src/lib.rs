//! The population information system as the center sees it: the [`PopulationSystem`] adapter
//! trait, and our reference implementation of it: [`StorePopulationSystem`] on the [`store`],
//! its HTTP service ([`app`]) and the client of that service ([`HttpPopulationSystem`]), plus the
//! demo data generator ([`seed`]).
//!
//! A bureau connects its real systems by implementing [`PopulationSystem`] (or by serving the
//! HTTP API of `docs/popsys.md`). Invariants every implementation keeps:
//! - a receipt is bound to one ID number: a receipt of someone else is "not found", never a hint
//!   that the code exists;
//! - a receipt is used at most once, and only within [`RECEIPT_VALID_DAYS`] of being made;
//! - "today" is always passed in by the caller, so the center, the kiosk and the population system
//!   agree on one calendar date (Asia/Shanghai).
#![warn(missing_docs)]

pub mod config;
mod http_client;
pub mod seed;
mod server;
mod store_impl;
pub mod studio;
mod wire;

use async_trait::async_trait;
use domain::id::{CitizenId, Sex};
use domain::mobile::MobileNumber;
use domain::money::Fen;
use domain::region::KioskCity;
use domain::rules::{Business, Household, PopulationRecord, RecordStatus};
use domain::session::{Finger, PaymentMethod};
use time::Date;

pub use http_client::HttpPopulationSystem;
pub use server::{app, serve, AppError, AppState, ClientTokens, Today};
pub use store::registers::{LossReport, SubmittedFinger};
pub use store::{
    ApplicationStatus, CardStatus, IdCard, ReceiptCode, ReceiptCodeError, RECEIPT_VALID_DAYS,
};
pub use store_impl::StorePopulationSystem;

/// What the population system holds about one citizen, as seen from one kiosk city on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenRecord {
    /// The citizen ID number.
    pub id: CitizenId,
    /// Full name.
    pub name: String,
    /// Sex as registered.
    pub sex: Sex,
    /// Nation (民族) code, `01`–`56`.
    pub nation_code: String,
    /// Birth date as registered.
    pub birth_date: Date,
    /// Household address (住址).
    pub address: String,
    /// Region code of the household register (户籍地), six digits.
    pub household_region: String,
    /// Whether the record is in force.
    pub status: RecordStatus,
    /// The current card, if any.
    pub card: Option<IdCard>,
    /// In the asked city's floating-population (residence) registry, in force on the asked day.
    pub floating_registered: bool,
    /// A historical ID photo exists.
    pub history_photo: bool,
    /// An application is being processed.
    pub application_in_progress: bool,
    /// The household is in an area the bureau marked remote.
    pub remote_area: bool,
}

impl CitizenRecord {
    /// The part of the record the scope decision (`domain::rules::decide`) takes.
    pub fn population_record(&self) -> PopulationRecord {
        PopulationRecord {
            status: self.status,
            household_region: self.household_region.clone(),
            floating_registered: self.floating_registered,
            history_photo: self.history_photo,
            application_in_progress: self.application_in_progress,
            remote_area: self.remote_area,
        }
    }
}

/// A historical ID photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPhoto {
    /// Day it was taken.
    pub taken_on: Date,
    /// The JPEG; `None` when the photo is on record but its image is not loaded (demo data made
    /// before the face work).
    pub jpeg: Option<Vec<u8>>,
}

/// A photo-studio receipt that can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The code on the receipt.
    pub code: ReceiptCode,
    /// The citizen it belongs to.
    pub id: CitizenId,
    /// Day the studio made it.
    pub created_on: Date,
    /// Last day it can be used.
    pub last_valid_day: Date,
    /// Set once redeemed: the day it was used.
    pub used_on: Option<Date>,
    /// The certified photo (JPEG); `None` in demo data made before the face work.
    pub jpeg: Option<Vec<u8>>,
}

/// The answer about a receipt code for one citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// Usable (resolve) or just used (redeem).
    Usable(Receipt),
    /// No receipt with this code (or one dated after today).
    NotFound,
    /// The receipt was made for another citizen (over HTTP: 404 with `reason: other_person`).
    OtherPerson,
    /// Its last valid day has passed.
    Expired {
        /// The last day it could have been used.
        last_valid_day: Date,
    },
    /// It was used before.
    AlreadyUsed {
        /// The day it was used.
        used_on: Date,
    },
}

/// An application as a kiosk center submits it (受理信息上报): everything the bureau needs to make
/// the card. The center's session id is the idempotency key: a retry never creates a second one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSubmission {
    /// The center's session id.
    pub idempotency_key: String,
    /// The center's application number (受理编号), 18 digits.
    pub application_number: String,
    /// The citizen.
    pub id: CitizenId,
    /// Step 1.
    pub business: Business,
    /// Step 2.
    pub household: Household,
    /// 受理单位.
    pub acceptance_unit: String,
    /// The cropped GA 461 ID photo (JPEG) of step 7.
    pub photo_jpeg: Vec<u8>,
    /// The two fingers of step 9: position, quality and ISO/IEC 19794-2 template.
    pub fingers: [SubmittedFinger; 2],
    /// The signature of step 10 (PNG).
    pub signature_png: Vec<u8>,
    /// Step 8's number.
    pub mobile: MobileNumber,
    /// 工本费 paid.
    pub fee_fen: Fen,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// The payment's transaction id (WeChat) or reference number (UnionPay).
    pub payment_reference: String,
    /// The card is due by this day (60 days, 90 in a remote area).
    pub issue_by: Date,
}

/// The population system's answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionOutcome {
    /// Accepted (now, or before under the same key).
    Accepted {
        /// The application number it is filed under.
        application_number: String,
        /// The day it was received.
        received_on: Date,
        /// `false` when this was a repeat of an earlier submission.
        created: bool,
    },
    /// Refused: repeating it will not help; staff must act.
    Refused {
        /// A stable code: `unknown_citizen`, `application_in_progress`, `number_in_use`,
        /// `not_in_register`.
        reason: String,
        /// Why, for a person.
        message: String,
    },
}

/// An application as the population system holds it, the images and templates given by size and
/// SHA-256 (what `GET /v1/applications/{number}` shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledApplication {
    /// The application number.
    pub application_number: String,
    /// The center's session id it was submitted under.
    pub idempotency_key: String,
    /// The citizen.
    pub id: CitizenId,
    /// Step 1's choice.
    pub business: Business,
    /// Step 2's choice.
    pub household: Household,
    /// 受理单位.
    pub acceptance_unit: String,
    /// The ID photo.
    pub photo: BlobDigest,
    /// The fingers: position, quality, template.
    pub fingers: Vec<(Finger, u8, BlobDigest)>,
    /// The signature.
    pub signature: BlobDigest,
    /// The mobile number.
    pub mobile: String,
    /// Paid.
    pub fee_fen: Fen,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// The payment's reference.
    pub payment_reference: String,
    /// Due by.
    pub issue_by: Date,
    /// Received on.
    pub received_on: Date,
    /// Where production stands (`accepted`, `in_production`, `ready`, …, `rejected`).
    pub status: ApplicationStatus,
    /// Why it was refused after it was accepted: present exactly when `status` is `rejected`.
    pub rejection_reason: Option<String>,
}

/// The size and SHA-256 (hex) of an image or template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobDigest {
    /// Bytes.
    pub bytes: usize,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

impl BlobDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobDigest {
        use sha2::Digest;
        let hash = sha2::Sha256::digest(bytes);
        BlobDigest {
            bytes: bytes.len(),
            sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// A floating-population (residence) registration (居住登记) as the city's registry reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidenceEntry {
    /// Its last day.
    pub valid_until: Date,
    /// In force on the asked day.
    pub in_force: bool,
}

/// Why the population system gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum PopsysError {
    /// The system could not be reached or did not answer in time.
    #[error("the population system is unavailable: {0}")]
    Unavailable(String),
    /// The system answered something this adapter does not understand.
    #[error("the population system answered out of protocol: {0}")]
    Protocol(String),
    /// The reference implementation's database failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// The population information system, as the center calls it: one implementation per bureau
/// system (ours: [`StorePopulationSystem`], [`HttpPopulationSystem`]). See `docs/popsys.md`.
#[async_trait]
pub trait PopulationSystem: Send + Sync {
    /// The citizen's record as seen from the kiosk city `city` on `today` (which decides whether
    /// a residence registration is in force), or `None` if the number is unknown.
    async fn citizen(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError>;

    /// The citizen's most recent historical ID photo, if there is one.
    async fn history_photo(&self, id: &CitizenId) -> Result<Option<HistoryPhoto>, PopsysError>;

    /// Looks a receipt up for the citizen `id` without using it.
    async fn resolve_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError>;

    /// Uses the receipt: of any number of concurrent calls at most one gets
    /// [`ReceiptOutcome::Usable`]; the others get [`ReceiptOutcome::AlreadyUsed`].
    async fn redeem_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError>;

    /// The city's household register (常住人口登记, step 2 "local"): the record when the citizen's
    /// household is registered in `city`, else `None`.
    async fn local_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError>;

    /// The provincial population system (step 2 "registered elsewhere in the province"): the
    /// record when the household is registered in `city`'s province, else `None`. Its
    /// `floating_registered` is not this system's to say: ask [`Self::residence_registration`].
    async fn provincial_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError>;

    /// The city's floating-population (residence) registry: the citizen's registration in `city`.
    async fn residence_registration(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<ResidenceEntry>, PopsysError>;

    /// Files an application (idempotent by [`ApplicationSubmission::idempotency_key`]).
    async fn submit_application(
        &self,
        submission: &ApplicationSubmission,
        today: Date,
    ) -> Result<SubmissionOutcome, PopsysError>;

    /// Reports the citizen's card lost (挂失) for a lost replacement; repeating it changes
    /// nothing. `None` when the number is unknown.
    async fn report_card_lost(
        &self,
        id: &CitizenId,
        application_number: &str,
        today: Date,
    ) -> Result<Option<LossReport>, PopsysError>;

    /// An application filed here, by number, with its production status (the center polls it
    /// for progress; staff, tests and demos ask too).
    async fn filed_application(
        &self,
        application_number: &str,
    ) -> Result<Option<FiledApplication>, PopsysError>;

    /// The card of an application was handed over at the window: the system records it
    /// (`collected`), so the citizen's next application is no longer "in progress". Repeating
    /// it is harmless; `Ok(false)` for a number the system does not know, and a status that is
    /// not ready (or collected) is [`PopsysError::Protocol`] naming it.
    async fn card_collected(&self, application_number: &str) -> Result<bool, PopsysError>;

    /// Whether the system answers at all (the health check); `Ok` by default.
    async fn ready(&self) -> Result<(), PopsysError> {
        Ok(())
    }

    /// The record the scope decision takes, for the kiosk city `city` on `today`; `None` if the
    /// number is unknown (the decision's `not_found`).
    async fn population_record(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<PopulationRecord>, PopsysError> {
        Ok(self
            .citizen(id, city, today)
            .await?
            .map(|record| record.population_record()))
    }
}

//! The kiosk session state machine (docs/domain.md section 1, DESIGN.md "Session flow"): the only
//! place that decides what comes next in the twelve steps.
//!
//! Sans-IO, like the device protocols: the kiosk agent feeds [`Event`]s with the time of its
//! monotonic clock ([`Millis`]), shows [`Session::screen`] and carries out the [`Command`]s it gets
//! back, in order; it arms one timer at [`Session::poll_timeout`] and sends [`Event::Tick`] when it
//! fires. The machine never reads a clock, a port or a random source; the one thing the agent
//! supplies is a fresh [`SessionId`] when a citizen touches the start screen.
//!
//! Calling contract:
//! - [`Session::handle`] either applies the event and returns the new screen and commands, or
//!   returns [`InvalidEvent`] and leaves the state exactly as it was (a late device answer, a
//!   double tap). Neither panics.
//! - Before acting on a transition, the agent writes [`Session::snapshot`] to its outbox; after a
//!   crash, [`Session::resume`] rebuilds the machine and says which commands to carry out again
//!   (see [`Command`] for which ones are safe to repeat).
//! - The idle start screen is the only state without a timer; every other screen has one, so a
//!   session always ends. A session ends with [`Command::StopVideo`], [`Command::EndSession`] and
//!   [`Command::WipeCapturedData`], in that order, whatever the outcome.

mod machine;
mod persist;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::id::CitizenId;
use crate::mobile::MobileNumber;
use crate::prompts::{self, Prompt};
use crate::rules::{Business, CardOnReader, Decision, Household, NewCardValidity, Reason};

use machine::{EndView, State};

/// A point on a monotonic clock, in milliseconds from any origin the caller likes (the agent's
/// boot, say): the one notion of time of the session and of the device protocols' state
/// machines, which never read a clock themselves and so run on a virtual clock in tests.
///
/// Calling contract: the driver takes it from a monotonic clock and never passes a value smaller
/// than one it passed before to the same state machine. Only differences matter; after a restart
/// [`Session::resume`] re-arms every timer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Millis(pub u64);

impl Millis {
    /// The origin.
    pub const ZERO: Millis = Millis(0);

    /// This instant plus `ms` milliseconds (saturating: a clock near `u64::MAX` does not wrap).
    pub fn plus(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Time since `earlier`, zero if `earlier` is in the future.
    pub fn saturating_since(self, earlier: Millis) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<std::time::Duration> for Millis {
    type Output = Millis;
    fn add(self, rhs: std::time::Duration) -> Millis {
        self.plus(u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX))
    }
}

impl std::ops::AddAssign<std::time::Duration> for Millis {
    fn add_assign(&mut self, rhs: std::time::Duration) {
        *self = *self + rhs;
    }
}

/// What a bureau may tune; [`SessionConfig::default`] holds the values of docs/domain.md
/// section 16 and DESIGN.md. Durations are in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// Inactivity on a screen that waits for the citizen before the countdown (60 s).
    pub inactivity_timeout_ms: u64,
    /// The countdown screen after inactivity, before the session ends (10 s).
    pub countdown_ms: u64,
    /// How long a screen that waits for the center, the camera or the printer may wait before
    /// the citizen is referred to the staff (30 s). The agent does its own retries inside it.
    pub service_timeout_ms: u64,
    /// How long one payment attempt may stay open (180 s); then it is cancelled and counts as
    /// expired.
    pub payment_timeout_ms: u64,
    /// How long the end-of-session screen (finished, referred) stays before the start (30 s).
    pub result_display_ms: u64,
    /// Cards placed whose number differs from the one typed, before referral (3).
    pub card_attempts: u8,
    /// Receipts scanned without a certified photo, before referral (3).
    pub receipt_attempts: u8,
    /// Live photos the quality check rejected, before referral (3).
    pub photo_attempts: u8,
    /// Photos the citizen may retake after seeing them (3); the capture after the last retake
    /// offers only "use this photo".
    #[serde(default = "default_photo_retakes")]
    pub photo_retakes: u8,
    /// Payment attempts declined or expired, before referral (3).
    pub payment_attempts: u8,
    /// Poor presses (smudged, partial, too light) of one finger, before the step-9 referral
    /// (3); each one before that asks for the same finger again with the reason.
    #[serde(default = "default_fingerprint_tries")]
    pub fingerprint_tries: u8,
    /// Step 7 liveness: enforce or only record the kiosk's score, and its threshold (issue 20).
    #[serde(default)]
    pub liveness: LivenessConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            inactivity_timeout_ms: 60_000,
            countdown_ms: 10_000,
            service_timeout_ms: 30_000,
            payment_timeout_ms: 180_000,
            result_display_ms: 30_000,
            card_attempts: 3,
            receipt_attempts: 3,
            photo_attempts: 3,
            photo_retakes: default_photo_retakes(),
            payment_attempts: 3,
            fingerprint_tries: default_fingerprint_tries(),
            liveness: LivenessConfig::default(),
        }
    }
}

/// What step 7 does with the kiosk's liveness score of the live photo (issue 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LivenessMode {
    /// A score under the threshold asks for a retake, then refers `liveness_failed`.
    #[default]
    Enforce,
    /// The score is only recorded (sent with the live photo): a bureau starting out.
    Advise,
}

/// The liveness switch and threshold of step 7.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LivenessConfig {
    /// Enforce or advise.
    pub mode: LivenessMode,
    /// A live score (0–1) must be at least this (0.5: the samples and test faces score far
    /// from it on both sides).
    pub threshold: f32,
    /// Photos scored not live, before referral (2: one retake with the prompt).
    pub attempts: u8,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            mode: LivenessMode::Enforce,
            threshold: 0.5,
            attempts: 2,
        }
    }
}

impl LivenessConfig {
    /// The photo is refused: enforce mode and a score under the threshold (a NaN refuses).
    pub fn refuses(&self, score: f32) -> bool {
        let live = score
            .partial_cmp(&self.threshold)
            .is_some_and(|o| o.is_ge());
        self.mode == LivenessMode::Enforce && !live
    }
}

fn default_fingerprint_tries() -> u8 {
    3
}

fn default_photo_retakes() -> u8 {
    3
}

/// The idempotency key of one citizen's session (DESIGN.md): the center sees each application once
/// under it, and payment trade numbers derive from it. 1–64 characters of `A–Z a–z 0–9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

/// A session id that is empty, too long or holds other characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a session id is 1 to 64 characters of A-Z a-z 0-9 _ -")]
pub struct SessionIdError;

impl SessionId {
    /// Checks the characters; the agent typically passes a UUID.
    pub fn parse(text: &str) -> Result<SessionId, SessionIdError> {
        let ok = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(SessionId(text.to_owned()))
        } else {
            Err(SessionIdError)
        }
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionId {
    type Error = SessionIdError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        SessionId::parse(&text)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> String {
        id.0
    }
}

pub use crate::receipt::{ReceiptCode, ReceiptCodeError};

/// The two ways to pay at step 11 (`wechat`, `unionpay` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    /// 微信扫码支付: a Native order whose QR code the screen shows.
    WeChat,
    /// 银联刷卡支付: a purchase on the MIS-POS terminal.
    UnionPay,
}

/// A stored or received method that is neither `wechat` nor `unionpay`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown payment method {0:?}")]
pub struct UnknownPaymentMethod(pub String);

/// How a stored row's text becomes a method (the store reads payments with it).
impl TryFrom<String> for PaymentMethod {
    type Error = UnknownPaymentMethod;
    fn try_from(text: String) -> Result<PaymentMethod, UnknownPaymentMethod> {
        match text.as_str() {
            "wechat" => Ok(PaymentMethod::WeChat),
            "unionpay" => Ok(PaymentMethod::UnionPay),
            _ => Err(UnknownPaymentMethod(text)),
        }
    }
}

impl PaymentMethod {
    /// `wechat` or `unionpay`, as the API and the store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::WeChat => "wechat",
            PaymentMethod::UnionPay => "unionpay",
        }
    }

    /// The label of the method's button.
    pub fn prompt(self) -> Prompt {
        match self {
            PaymentMethod::WeChat => prompts::PAYMENT_WECHAT,
            PaymentMethod::UnionPay => prompts::PAYMENT_UNIONPAY,
        }
    }
}

/// The answer of the photo system to a scanned receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptAnswer {
    /// The certified photo was fetched; the agent keeps it for the comparison.
    Found,
    /// No certified photo carries this receipt code.
    NotFound,
    /// The receipt's validity is over.
    Expired,
    /// The receipt was already redeemed by an application.
    AlreadyUsed,
    /// The receipt was made for another citizen.
    OtherPerson,
}

/// One of the ten fingers, as step 9 names it to the citizen (`right_index` … on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Finger {
    RightThumb,
    #[default]
    RightIndex,
    RightMiddle,
    RightRing,
    RightLittle,
    LeftThumb,
    LeftIndex,
    LeftMiddle,
    LeftRing,
    LeftLittle,
}

impl Finger {
    /// Every finger, right hand first.
    pub const ALL: [Finger; 10] = [
        Finger::RightThumb,
        Finger::RightIndex,
        Finger::RightMiddle,
        Finger::RightRing,
        Finger::RightLittle,
        Finger::LeftThumb,
        Finger::LeftIndex,
        Finger::LeftMiddle,
        Finger::LeftRing,
        Finger::LeftLittle,
    ];

    /// The stable name: `right_index`, `left_thumb`, ….
    pub fn code(self) -> &'static str {
        match self {
            Finger::RightThumb => "right_thumb",
            Finger::RightIndex => "right_index",
            Finger::RightMiddle => "right_middle",
            Finger::RightRing => "right_ring",
            Finger::RightLittle => "right_little",
            Finger::LeftThumb => "left_thumb",
            Finger::LeftIndex => "left_index",
            Finger::LeftMiddle => "left_middle",
            Finger::LeftRing => "left_ring",
            Finger::LeftLittle => "left_little",
        }
    }

    /// The finger named by [`Finger::code`]; `None` for any other text.
    pub fn parse(code: &str) -> Option<Finger> {
        Finger::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The ISO/IEC 19794-2 finger position code (1 right thumb … 10 left little finger) that
    /// the fingerprint templates carry.
    pub fn iso_position(self) -> u8 {
        self.position_code() - 10
    }

    /// 指位: the position code of GA 1011 printed on the registration form (11 right thumb …
    /// 20 left little finger).
    pub fn position_code(self) -> u8 {
        match self {
            Finger::RightThumb => 11,
            Finger::RightIndex => 12,
            Finger::RightMiddle => 13,
            Finger::RightRing => 14,
            Finger::RightLittle => 15,
            Finger::LeftThumb => 16,
            Finger::LeftIndex => 17,
            Finger::LeftMiddle => 18,
            Finger::LeftRing => 19,
            Finger::LeftLittle => 20,
        }
    }

    /// The finger's name for the citizen: 右手食指 / right index finger.
    pub fn prompt(self) -> Prompt {
        match self {
            Finger::RightThumb => prompts::FINGER_RIGHT_THUMB,
            Finger::RightIndex => prompts::FINGER_RIGHT_INDEX,
            Finger::RightMiddle => prompts::FINGER_RIGHT_MIDDLE,
            Finger::RightRing => prompts::FINGER_RIGHT_RING,
            Finger::RightLittle => prompts::FINGER_RIGHT_LITTLE,
            Finger::LeftThumb => prompts::FINGER_LEFT_THUMB,
            Finger::LeftIndex => prompts::FINGER_LEFT_INDEX,
            Finger::LeftMiddle => prompts::FINGER_LEFT_MIDDLE,
            Finger::LeftRing => prompts::FINGER_LEFT_RING,
            Finger::LeftLittle => prompts::FINGER_LEFT_LITTLE,
        }
    }
}

/// Why a press was too poor to use; the citizen can do better by pressing again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PressProblem {
    /// Blurred or smeared (the module's "image too messy", `06`).
    Smudged,
    /// Only part of the finger touched the glass.
    Partial,
    /// Too light: almost no contact or a faint print.
    TooLight,
}

impl PressProblem {
    /// The reason shown under the poor-press prompt. **our wording**
    pub fn prompt(self) -> Prompt {
        match self {
            PressProblem::Smudged => prompts::PRESS_SMUDGED,
            PressProblem::Partial => prompts::PRESS_PARTIAL,
            PressProblem::TooLight => prompts::PRESS_TOO_LIGHT,
        }
    }
}

/// What the scanner reports about finger `number` (see [`Event::FingerprintPress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FingerPress {
    /// The scanner waits for this finger (before each press).
    Asked,
    /// The press passed quality.
    Passed,
    /// The press was too poor; the citizen is asked to press again.
    Poor(PressProblem),
}

/// The ID number as typed, kept after a refusal so the citizen corrects it instead of typing
/// all 18 characters again; `wrong` marks the characters at fault (by character index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedId {
    /// What was typed.
    pub text: String,
    /// The characters at fault, `start..end`; `None` when no one character is (wrong length).
    pub wrong: Option<std::ops::Range<usize>>,
}

impl TypedId {
    /// The text before the marked characters, the marked ones, and the rest.
    pub fn parts(&self) -> (String, String, String) {
        let chars: Vec<char> = self.text.chars().collect();
        let range = self.wrong.clone().unwrap_or(chars.len()..chars.len());
        let start = range.start.min(chars.len());
        let end = range.end.clamp(start, chars.len());
        (
            chars[..start].iter().collect(),
            chars[start..end].iter().collect(),
            chars[end..].iter().collect(),
        )
    }
}

/// Similarity scores the center computed at step 7 (docs/domain.md section 6), 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceScores {
    /// Certified studio photo against the historical ID photo.
    pub certified_vs_history: f32,
    /// Live photo against the historical ID photo.
    pub live_vs_history: f32,
    /// The center's verdict: both scores above the bars it applies (its bureau configuration,
    /// or the fleet's). The kiosk obeys it and keeps no thresholds of its own, so one place
    /// decides step 7.
    pub passed: bool,
}

/// Why the fingerprint scanner gave up (for the agent's log; the referral code is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FingerprintFailure {
    /// No finger was placed in time.
    NoFinger,
    /// Captures never reached the quality bar.
    PoorQuality,
    /// The scanner stopped answering.
    DeviceFault,
}

/// The end of one payment attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentResult {
    /// Paid in full (WeChat `SUCCESS`, POS response code `00`).
    Paid,
    /// Refused by the payer's bank or wallet.
    Declined,
    /// The order expired unpaid (WeChat `time_expire`, POS timeout).
    Expired,
}

/// The end of a print job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrintResult {
    /// Every document came out.
    Printed,
    /// The job was aborted or the printer stopped (out of paper, jam, offline).
    PrinterFault,
}

/// Every trigger of the machine, in one closed enum (STYLE.md). Button names follow the screen
/// that offers them; raw text the citizen typed or a device read is parsed here, not by the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The citizen touched the idle start screen; the agent supplies a fresh id and today's date
    /// (Asia/Shanghai), which stays the session's date for ID checks.
    Start {
        /// The new session's idempotency key.
        session_id: SessionId,
        /// Today's calendar date.
        today: Date,
    },
    /// Step 1: a business button.
    BusinessChosen(Business),
    /// Step 1: "first-time applicant: print the portrait collection form (人像采集表)".
    PortraitFormChosen,
    /// Step 2: a household button.
    HouseholdChosen(Household),
    /// Step 3: the keypad's confirm button, with what was typed.
    IdNumberEntered(String),
    /// Step 3 (lost replacement or first-time): the keypad's "print the portrait collection form"
    /// button, with what was typed.
    PortraitFormRequested(String),
    /// Step 3, before a portrait form: the center's answer to [`Command::CallCenterIdentity`],
    /// the masked name of the number's population record (`None` when there is none). The
    /// machine masks it again, which leaves a masked name as it is.
    IdentityFound {
        /// `*晓燕`.
        name_masked: Option<String>,
    },
    /// Step 3 (renewal): the reader read a card. The agent converts the card's text block into
    /// domain types; a block it cannot parse is [`Event::CardUnreadable`].
    CardRead {
        /// Number and validity of the card.
        card: CardOnReader,
        /// The name on the card, masked before it is stored or shown.
        name: String,
    },
    /// Step 3 (renewal): the reader found a card but could not read it.
    CardUnreadable,
    /// Step 4: the center's scope decision, with the name of the population record (`None` when
    /// there is none). Only the masked name is kept.
    ScopeDecided {
        /// The rules' decision.
        decision: Decision,
        /// The record's name in clear.
        name: Option<String>,
    },
    /// The confirm / continue / finish button of the current screen; on the "end the session?"
    /// question ([`Screen::ConfirmEnd`]), "yes, end".
    Confirm,
    /// The back button (steps 2–4 and the wrong-household screen); on the "end the session?"
    /// question, "no, carry on".
    Back,
    /// The "end the session" button on a screen that waits for the citizen or on the WeChat QR
    /// screen: asks [`Screen::ConfirmEnd`] first.
    Cancel,
    /// Step 6: the barcode scanner read a code.
    ReceiptScanned(String),
    /// Step 6: the photo system's answer.
    ReceiptAnswer(ReceiptAnswer),
    /// Step 7: the "take the photo" button.
    TakePhoto,
    /// Step 7: the camera delivered a frame that passed the ID-photo quality checks.
    PhotoCaptured,
    /// Step 7: as [`Event::PhotoCaptured`], with the kiosk's liveness score (0–1) of the full
    /// camera frame; the machine applies [`SessionConfig::liveness`].
    PhotoScored {
        /// The combined live score.
        liveness: f32,
    },
    /// Step 7: the frame failed a quality check (no face, not frontal, blurred…).
    PhotoUnusable,
    /// Step 7, the photo review: "use this photo".
    UsePhoto,
    /// Step 7, the photo review: "retake" (refused once the retakes are used up).
    RetakePhoto,
    /// Step 7: the center's similarity scores.
    FacesCompared(FaceScores),
    /// Step 8: both entries of the mobile number.
    MobileEntered {
        /// First entry.
        first: String,
        /// Second entry.
        second: String,
    },
    /// Step 9: the scanner's report on finger `number` (1 or 2) of the two: asked for, a press
    /// that passed, or a poor press (which the machine counts against
    /// [`SessionConfig::fingerprint_tries`]).
    FingerprintPress {
        /// 1 or 2.
        number: u8,
        /// The finger the scanner waits for.
        finger: Finger,
        /// What happened.
        press: FingerPress,
    },
    /// Step 9: two fingers captured to quality.
    FingerprintsCaptured,
    /// Step 9: the scanner gave up after its attempts.
    FingerprintsFailed {
        /// Why.
        reason: FingerprintFailure,
        /// How many captures were tried.
        attempts: u8,
    },
    /// Step 10: the signature was captured.
    SignatureCaptured,
    /// Step 11: a payment method button; on the WeChat QR screen, "use UnionPay instead" (the
    /// open WeChat order is closed first).
    PaymentMethodChosen(PaymentMethod),
    /// Step 11: the end of payment attempt `attempt` (from [`Command::CreatePayment`]); a result for
    /// an older attempt is refused.
    PaymentResult {
        /// The attempt this answers.
        attempt: u8,
        /// How it ended.
        result: PaymentResult,
    },
    /// Step 3 or 12: the end of the print job.
    PrintResult(PrintResult),
    /// The center could not be reached or failed while the machine waited for it, after the
    /// agent's own retries.
    CenterUnavailable,
    /// The agent could not save the last transition (its outbox failed), so it acts on nothing:
    /// from any state, a running session ends as `service_unavailable` (its video stopped, its
    /// data wiped) and the kiosk shows that it is out of service. The agent feeds it to the state
    /// the machine had *before* the transition it could not save.
    OutOfService,
    /// The citizen touched the screen or a device noticed them; keeps the session alive.
    Activity,
    /// The timer from [`Session::poll_timeout`] fired (early ticks are harmless).
    Tick,
}

impl Event {
    /// A stable name for logs (no personal data).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Start { .. } => "start",
            Event::BusinessChosen(_) => "business_chosen",
            Event::PortraitFormChosen => "portrait_form_chosen",
            Event::HouseholdChosen(_) => "household_chosen",
            Event::IdNumberEntered(_) => "id_number_entered",
            Event::PortraitFormRequested(_) => "portrait_form_requested",
            Event::IdentityFound { .. } => "identity_found",
            Event::CardRead { .. } => "card_read",
            Event::CardUnreadable => "card_unreadable",
            Event::ScopeDecided { .. } => "scope_decided",
            Event::Confirm => "confirm",
            Event::Back => "back",
            Event::Cancel => "cancel",
            Event::ReceiptScanned(_) => "receipt_scanned",
            Event::ReceiptAnswer(_) => "receipt_answer",
            Event::TakePhoto => "take_photo",
            Event::PhotoCaptured => "photo_captured",
            Event::PhotoScored { .. } => "photo_scored",
            Event::PhotoUnusable => "photo_unusable",
            Event::UsePhoto => "use_photo",
            Event::RetakePhoto => "retake_photo",
            Event::FacesCompared(_) => "faces_compared",
            Event::MobileEntered { .. } => "mobile_entered",
            Event::FingerprintPress { .. } => "fingerprint_press",
            Event::FingerprintsCaptured => "fingerprints_captured",
            Event::FingerprintsFailed { .. } => "fingerprints_failed",
            Event::SignatureCaptured => "signature_captured",
            Event::PaymentMethodChosen(_) => "payment_method_chosen",
            Event::PaymentResult { .. } => "payment_result",
            Event::PrintResult(_) => "print_result",
            Event::CenterUnavailable => "center_unavailable",
            Event::OutOfService => "out_of_service",
            Event::Activity => "activity",
            Event::Tick => "tick",
        }
    }
}

/// What the center needs to decide the scope (docs/domain.md section 3); it adds today, the kiosk's
/// city and the population record itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeRequest {
    /// Step 1.
    pub business: Business,
    /// Step 2.
    pub household: Household,
    /// Step 3.
    pub id: CitizenId,
    /// The card read (renewal only).
    pub card: Option<CardOnReader>,
}

/// Everything the citizen declared, for the center's application record; photos, fingerprints,
/// the signature and the video are blobs the agent holds under the session id.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// Step 1.
    pub business: Business,
    /// Step 2.
    pub household: Household,
    /// Step 3.
    pub id: CitizenId,
    /// Step 6.
    pub receipt: ReceiptCode,
    /// Step 8.
    pub mobile: MobileNumber,
    /// 工本费 in yuan, from the decision.
    pub fee_cny: u32,
    /// Validity of the new card.
    pub validity: NewCardValidity,
    /// The day the new card is due.
    pub issue_by: Date,
}

/// A document printed at step 12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Document {
    /// 居民身份证领取凭证, with the signature.
    CollectionCertificate,
    /// 居民身份证申领登记表, with the photo, the fingers and the signature (docs/domain.md
    /// section 1, step 10).
    RegistrationForm,
    /// The payment notice for the method used, saying it is paid.
    PaymentNotice(PaymentMethod),
}

/// 申领类型 printed on the portrait collection form: a first application, or the business the
/// citizen came for. The machine decides it from the button that led to the form, so a
/// first-time applicant's form never says 丢失补领.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortraitApplication {
    /// 首次申领: step 1's button for a first-time applicant.
    FirstTime,
    /// A replacement or renewal (from step 3 of a lost replacement, 丢失补领).
    Business(Business),
}

impl PortraitApplication {
    /// `first_time`, or the business's code (`expiry_renewal`, `lost`, `damaged`).
    pub fn as_str(self) -> &'static str {
        match self {
            PortraitApplication::FirstTime => "first_time",
            PortraitApplication::Business(business) => business.as_str(),
        }
    }

    /// The inverse of [`PortraitApplication::as_str`].
    pub fn parse(text: &str) -> Option<PortraitApplication> {
        if text == "first_time" {
            return Some(PortraitApplication::FirstTime);
        }
        Business::parse(text).map(PortraitApplication::Business)
    }

    /// The label printed on the form (`首次申领 First application`, `丢失补领 Lost replacement`).
    pub fn prompt(self) -> Prompt {
        match self {
            PortraitApplication::FirstTime => prompts::FIRST_APPLICATION,
            PortraitApplication::Business(business) => business.prompt(),
        }
    }
}

/// What the kiosk agent does, in the order given. None needs a decision of the agent's own.
///
/// Repeating after a crash ([`Session::resume`] lists what to repeat): every command is safe to
/// repeat except the two print commands. `StartVideo`/`StopVideo` (recording is keyed by the
/// session id; a restart appends a segment), `ReadCard`/`CancelReadCard`, the queries
/// `CallCenterScope`, `CallCenterIdentity`, `FetchCertifiedPhoto` and `VerifyFaces`, the captures (they ask the citizen
/// again), `SubmitApplication` and `EndSession` (the center dedups by session id),
/// `CreatePayment`/`CancelPayment` (the trade number derives from session id and attempt, so a
/// repeat never charges twice) and `WipeCapturedData`. `Print` and `PrintPortraitForm` are
/// at-most-once: a second copy of a collection certificate must not exist, so a crash while
/// printing ends as a `printer_fault` referral and the staff reprint.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start recording the session video.
    StartVideo {
        /// The session recorded.
        session_id: SessionId,
    },
    /// Stop and seal the video (before `EndSession`, so it is in the outbox when the session
    /// closes).
    StopVideo,
    /// Poll the card reader until a card is read (then [`Event::CardRead`] or
    /// [`Event::CardUnreadable`]).
    ReadCard,
    /// Stop polling the card reader.
    CancelReadCard,
    /// Ask the center for the scope decision (then [`Event::ScopeDecided`]).
    CallCenterScope(ScopeRequest),
    /// Before a portrait form: ask the center for the masked identity of `id`, for the citizen
    /// to confirm (then [`Event::IdentityFound`]). The center prints a portrait form only for a
    /// number this session looked up.
    CallCenterIdentity {
        /// The number typed.
        id: CitizenId,
    },
    /// Fetch the certified photo from the photo system (then [`Event::ReceiptAnswer`]).
    FetchCertifiedPhoto {
        /// The scanned receipt.
        receipt: ReceiptCode,
    },
    /// Take a live photo, score its liveness on the full frame, crop it to GA 461 and check its
    /// quality (then [`Event::PhotoScored`], [`Event::PhotoCaptured`] without a liveness engine,
    /// or [`Event::PhotoUnusable`]).
    CapturePhoto,
    /// Ask the center to compare the certified and live photos with the historical photo of
    /// `id` (then [`Event::FacesCompared`]).
    VerifyFaces {
        /// Whose historical photo.
        id: CitizenId,
        /// Which certified photo.
        receipt: ReceiptCode,
    },
    /// Capture two fingers (then [`Event::FingerprintsCaptured`] or
    /// [`Event::FingerprintsFailed`]).
    CaptureFingerprints,
    /// Capture the handwritten signature (then [`Event::SignatureCaptured`]).
    CaptureSignature,
    /// Queue the application and its blobs for the center (through the outbox; no answer event).
    SubmitApplication(Application),
    /// Open payment attempt `attempt` (then [`Event::PaymentResult`]).
    CreatePayment {
        /// WeChat or UnionPay.
        method: PaymentMethod,
        /// The fee in fen.
        amount_fen: u32,
        /// 1 for the first attempt; part of the trade number.
        attempt: u8,
    },
    /// Close an open payment attempt that timed out.
    CancelPayment {
        /// The method of the attempt.
        method: PaymentMethod,
        /// The attempt to close.
        attempt: u8,
    },
    /// Print these documents, with the signature and the application's data (then
    /// [`Event::PrintResult`]).
    Print {
        /// In printing order.
        documents: Vec<Document>,
    },
    /// Print the portrait collection form pre-filled for `id`, once the citizen confirmed its
    /// masked identity (then [`Event::PrintResult`]).
    PrintPortraitForm {
        /// The applicant.
        id: CitizenId,
        /// What the form says the applicant applies for.
        application: PortraitApplication,
    },
    /// Cancel the print jobs the kiosk submitted that have not come out (after a failed or
    /// interrupted print), so they do not come out later for nobody. Safe to repeat.
    CancelPrintJobs,
    /// Delete every photo, fingerprint, signature and card image of the session from the kiosk's
    /// working storage (the encrypted outbox keeps its copy until the center acknowledges it).
    WipeCapturedData,
    /// Record how the session ended; a referral lets the staff console continue it.
    EndSession {
        /// How it ended.
        outcome: SessionOutcome,
    },
}

/// Why a session went to the staff, as a stable code ([`ReferralReason::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferralReason {
    /// A step-5 refusal, or the card mismatch found at step 3: the rules' reason and code.
    Scope(Reason),
    /// `card_unreadable`: the reader could not read the old card.
    CardUnreadable,
    /// `receipt_not_found`: no certified photo after the allowed scans.
    ReceiptNotFound,
    /// `photo_unusable`: no live photo passed the quality checks.
    PhotoUnusable,
    /// `face_mismatch`: a similarity score was not above its threshold.
    FaceMismatch,
    /// `liveness_failed`: the live photo scored as a photo or screen held up, again after the
    /// retake (enforce mode).
    LivenessFailed,
    /// `fingerprint_failed`: the fingerprints could not be captured.
    FingerprintFailed,
    /// `payment_failed`: every payment attempt was declined or expired.
    PaymentFailed,
    /// `printer_fault`: the printer failed, or a crash interrupted printing.
    PrinterFault,
    /// `paid_not_printed`: the fee is paid and the application filed, but the documents did not
    /// print (step 12); the window prints them under the application number.
    PaidNotPrinted,
    /// `service_unavailable`: the center or a device did not answer in time, or the kiosk could
    /// not save the session's state ([`Event::OutOfService`]).
    ServiceUnavailable,
    /// `cancelled`: the citizen ended the session.
    Cancelled,
    /// `timeout`: no activity.
    Timeout,
}

impl ReferralReason {
    /// The session-level reasons, for parsing codes.
    const SESSION: [ReferralReason; 12] = [
        ReferralReason::CardUnreadable,
        ReferralReason::ReceiptNotFound,
        ReferralReason::PhotoUnusable,
        ReferralReason::FaceMismatch,
        ReferralReason::LivenessFailed,
        ReferralReason::FingerprintFailed,
        ReferralReason::PaymentFailed,
        ReferralReason::PrinterFault,
        ReferralReason::PaidNotPrinted,
        ReferralReason::ServiceUnavailable,
        ReferralReason::Cancelled,
        ReferralReason::Timeout,
    ];

    /// The stable identifier: a rules code (`under_16`, …) or a session one (`card_unreadable`,
    /// `face_mismatch`, `fingerprint_failed`, `printer_fault`, `timeout`, …).
    pub fn code(&self) -> &'static str {
        match self {
            ReferralReason::Scope(reason) => reason.code(),
            ReferralReason::CardUnreadable => "card_unreadable",
            ReferralReason::ReceiptNotFound => "receipt_not_found",
            ReferralReason::PhotoUnusable => "photo_unusable",
            ReferralReason::FaceMismatch => "face_mismatch",
            ReferralReason::LivenessFailed => "liveness_failed",
            ReferralReason::FingerprintFailed => "fingerprint_failed",
            ReferralReason::PaymentFailed => "payment_failed",
            ReferralReason::PrinterFault => "printer_fault",
            ReferralReason::PaidNotPrinted => "paid_not_printed",
            ReferralReason::ServiceUnavailable => "service_unavailable",
            ReferralReason::Cancelled => "cancelled",
            ReferralReason::Timeout => "timeout",
        }
    }

    /// The inverse of [`ReferralReason::code`].
    pub fn parse(code: &str) -> Option<ReferralReason> {
        Reason::parse(code).map(ReferralReason::Scope).or_else(|| {
            ReferralReason::SESSION
                .into_iter()
                .find(|reason| reason.code() == code)
        })
    }

    /// What the citizen reads on the referral screen.
    pub fn prompt(&self) -> Prompt {
        match self {
            ReferralReason::Scope(reason) => reason.prompt(),
            ReferralReason::CardUnreadable => prompts::CARD_UNREADABLE,
            ReferralReason::ReceiptNotFound => prompts::RECEIPT_REFERRED,
            ReferralReason::PhotoUnusable => prompts::PHOTO_REFERRED,
            ReferralReason::FaceMismatch => prompts::FACE_COMPARISON_FAILED,
            ReferralReason::LivenessFailed => prompts::LIVENESS_REFERRED,
            ReferralReason::FingerprintFailed => prompts::FINGERPRINT_FAILED,
            ReferralReason::PaymentFailed => prompts::PAYMENT_REFERRED,
            ReferralReason::PrinterFault => prompts::PRINT_FAILED,
            ReferralReason::PaidNotPrinted => prompts::PAID_NOT_PRINTED,
            ReferralReason::ServiceUnavailable => prompts::SERVICE_UNAVAILABLE,
            ReferralReason::Cancelled => prompts::CANCELLED,
            ReferralReason::Timeout => prompts::INACTIVITY,
        }
    }
}

impl Serialize for ReferralReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for ReferralReason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        ReferralReason::parse(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown referral code {code:?}")))
    }
}

/// How a session ended ([`Command::EndSession`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SessionOutcome {
    /// Paid and printed.
    Completed {
        /// How the fee was paid.
        payment: PaymentMethod,
    },
    /// The portrait collection form was printed; the citizen comes back with a receipt.
    PortraitFormPrinted,
    /// Sent to the staff, who can continue the session by its id.
    Referred {
        /// The step (1–12) the session was at.
        step: u8,
        /// Why.
        reason: ReferralReason,
    },
}

/// What the touchscreen shows. Each screen knows its step (1–12) for the progress bar, its title
/// and the error or notice to show; the UI renders these and posts back [`Event`]s.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Screen {
    /// Idle start screen (step 1): the recording and legal notices, step 1's choices (the kiosk
    /// starts the session when one is chosen), and a notice left by the previous session (card
    /// unreadable).
    Welcome {
        /// Left by the previous session.
        notice: Option<Prompt>,
    },
    /// Step 1: the three businesses, the first-time portrait form, and the note that temporary
    /// cards are not offered.
    Business,
    /// Step 2: local or in-province household.
    Household {
        /// Chosen at step 1.
        business: Business,
    },
    /// Step 3: the keypad.
    IdNumber {
        /// Chosen at step 1.
        business: Business,
        /// Offer "print the portrait collection form" (lost replacement).
        portrait_form: bool,
        /// Why the last entry was refused.
        error: Option<Prompt>,
        /// The refused entry, to correct.
        typed: Option<TypedId>,
    },
    /// Step 3 (first-time applicant): the keypad, whose only button prints the portrait form.
    PortraitFormNumber {
        /// Why the last entry was refused.
        error: Option<Prompt>,
        /// The refused entry, to correct.
        typed: Option<TypedId>,
    },
    /// Step 3 (renewal): place the old card on the reader.
    PlaceCard,
    /// Step 3, before a portrait form: waiting for the center's masked identity.
    PortraitFormChecking,
    /// Step 3, before a portrait form: confirm the masked number and name, like step 4's
    /// [`Screen::Confirm`]. Only its confirm button prints, and only for a number with a record;
    /// without one it refers the citizen as step 5 refuses `not_found`.
    PortraitFormConfirm {
        /// `320104********0044`.
        masked_id: String,
        /// `*小明`; `None` when no record has a name.
        masked_name: Option<String>,
    },
    /// Step 3: printing the portrait collection form.
    PrintingPortraitForm,
    /// Step 3: the form is printed; take it to the photo studio.
    PortraitFormPrinted,
    /// Step 4: waiting for the center.
    Checking,
    /// Step 4: confirm the masked number and name.
    Confirm {
        /// `320104********0044`.
        masked_id: String,
        /// `*小明`; `None` when no record has a name.
        masked_name: Option<String>,
    },
    /// Step 5: within scope, with the terms.
    InScope {
        /// 工本费 in yuan.
        fee_cny: u32,
        /// Validity of the new card.
        validity: NewCardValidity,
        /// The day the new card is due.
        issue_by: Date,
    },
    /// Step 5: the household choice contradicts the register; offers the other household type
    /// (one touch on to step 3), choosing again at step 2, or the staff.
    WrongHousehold {
        /// The household type not chosen, offered directly.
        other: Household,
    },
    /// Step 6: scan the photo receipt.
    ScanReceipt {
        /// Why the last scan was refused.
        error: Option<Prompt>,
    },
    /// Step 6: fetching the certified photo.
    FetchingPhoto,
    /// Step 7: the camera preview and the "take the photo" button.
    LivePhoto {
        /// Why the last photo was refused.
        error: Option<Prompt>,
    },
    /// Step 7: taking the photo.
    CapturingPhoto,
    /// Step 7: the photo just taken, to use or retake before it is compared.
    PhotoReview {
        /// Whether "retake" is offered (false once the retakes are used up).
        can_retake: bool,
    },
    /// Step 7: comparing the faces.
    ComparingFaces,
    /// Step 8: enter the mobile number twice.
    Mobile {
        /// Why the last entry was refused.
        error: Option<Prompt>,
    },
    /// Step 9: place finger `number` of 2 on the scanner.
    Fingerprints {
        /// The finger the scanner waits for.
        finger: Finger,
        /// 1 or 2.
        number: u8,
        /// The poor-press prompt after a poor press.
        error: Option<Prompt>,
        /// Why the last press was poor.
        problem: Option<PressProblem>,
    },
    /// Step 10: sign on the screen.
    Signature,
    /// Step 11: choose WeChat or UnionPay.
    Payment {
        /// 工本费 in yuan.
        fee_cny: u32,
        /// Why the last attempt failed.
        error: Option<Prompt>,
    },
    /// Step 11: scan the QR code (WeChat) or use the card terminal (UnionPay).
    Paying {
        /// The method in use.
        method: PaymentMethod,
        /// 工本费 in yuan.
        fee_cny: u32,
    },
    /// Step 12: printing.
    Printing,
    /// Step 12: done; take the collection certificate and the payment notice (and the old card,
    /// the bank card: see [`Screen::notices`]).
    Finished {
        /// The method paid with, naming its notice.
        payment: PaymentMethod,
        /// The business applied for (a renewal leaves the old card on the reader).
        business: Business,
        /// The day the new card is ready at the collection office.
        issue_by: Date,
    },
    /// The session went to the staff at `step`; the prompt says why.
    Referred {
        /// Where it happened.
        step: u8,
        /// The reason's prompt.
        prompt: Prompt,
    },
    /// "End the session?" after the end button, over the screen of `step`: yes ([`Event::Confirm`])
    /// ends it, no ([`Event::Back`]) returns to that screen.
    ConfirmEnd {
        /// The step of the screen it covers.
        step: u8,
    },
    /// No activity: the countdown before the session ends.
    Countdown {
        /// The step of the screen it covers.
        step: u8,
        /// Length of the countdown, for the UI to animate.
        seconds: u64,
    },
}

impl Screen {
    /// The step (1–12) for the progress bar.
    pub fn step(&self) -> u8 {
        match self {
            Screen::Welcome { .. } | Screen::Business => 1,
            Screen::Household { .. } => 2,
            Screen::IdNumber { .. }
            | Screen::PortraitFormNumber { .. }
            | Screen::PlaceCard
            | Screen::PortraitFormChecking
            | Screen::PortraitFormConfirm { .. }
            | Screen::PrintingPortraitForm
            | Screen::PortraitFormPrinted => 3,
            Screen::Checking | Screen::Confirm { .. } => 4,
            Screen::InScope { .. } | Screen::WrongHousehold { .. } => 5,
            Screen::ScanReceipt { .. } | Screen::FetchingPhoto => 6,
            Screen::LivePhoto { .. }
            | Screen::CapturingPhoto
            | Screen::PhotoReview { .. }
            | Screen::ComparingFaces => 7,
            Screen::Mobile { .. } => 8,
            Screen::Fingerprints { .. } => 9,
            Screen::Signature => 10,
            Screen::Payment { .. } | Screen::Paying { .. } => 11,
            Screen::Printing | Screen::Finished { .. } => 12,
            Screen::Referred { step, .. }
            | Screen::Countdown { step, .. }
            | Screen::ConfirmEnd { step } => (*step).clamp(1, 12),
        }
    }

    /// The title: the step's title from [`prompts::STEP_TITLES`].
    pub fn title(&self) -> Prompt {
        prompts::STEP_TITLES[usize::from(self.step()) - 1]
    }

    /// The error or notice to show in the screen's error area, if any.
    pub fn error(&self) -> Option<Prompt> {
        match self {
            Screen::Welcome { notice } => *notice,
            Screen::IdNumber { error, .. }
            | Screen::PortraitFormNumber { error, .. }
            | Screen::ScanReceipt { error }
            | Screen::LivePhoto { error }
            | Screen::Mobile { error }
            | Screen::Fingerprints { error, .. }
            | Screen::Payment { error, .. } => *error,
            // The choice was wrong, not the card (issue 15).
            Screen::WrongHousehold { .. } => Some(prompts::WRONG_HOUSEHOLD_CHOICE),
            Screen::Referred { prompt, .. } => Some(*prompt),
            Screen::Countdown { .. } => Some(prompts::INACTIVITY),
            _ => None,
        }
    }

    /// Standing notices: the start screens say the session is recorded, biometrics must be one's
    /// own, and temporary cards are not offered.
    pub fn notices(&self) -> &'static [Prompt] {
        match self {
            Screen::Welcome { .. } | Screen::Business => {
                &[prompts::VIDEO_AND_LEGAL_NOTICE, prompts::NO_TEMPORARY_CARDS]
            }
            Screen::PortraitFormPrinted => &[prompts::PORTRAIT_FORM_PRINTED],
            // The old card stays on the reader in a renewal; a bank card in the terminal.
            Screen::Finished {
                payment: PaymentMethod::UnionPay,
                business: Business::ExpiryRenewal,
                ..
            } => &[
                prompts::FINISHED,
                prompts::TAKE_OLD_CARD,
                prompts::TAKE_BANK_CARD,
            ],
            Screen::Finished {
                business: Business::ExpiryRenewal,
                ..
            } => &[prompts::FINISHED, prompts::TAKE_OLD_CARD],
            Screen::Finished {
                payment: PaymentMethod::UnionPay,
                ..
            } => &[prompts::FINISHED, prompts::TAKE_BANK_CARD],
            Screen::Finished { .. } => &[prompts::FINISHED],
            _ => &[],
        }
    }

    /// A stable name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Screen::Welcome { .. } => "welcome",
            Screen::Business => "business",
            Screen::Household { .. } => "household",
            Screen::IdNumber { .. } => "id_number",
            Screen::PortraitFormNumber { .. } => "portrait_form_number",
            Screen::PlaceCard => "place_card",
            Screen::PortraitFormChecking => "portrait_form_checking",
            Screen::PortraitFormConfirm { .. } => "portrait_form_confirm",
            Screen::PrintingPortraitForm => "printing_portrait_form",
            Screen::PortraitFormPrinted => "portrait_form_printed",
            Screen::Checking => "checking",
            Screen::Confirm { .. } => "confirm",
            Screen::InScope { .. } => "in_scope",
            Screen::WrongHousehold { .. } => "wrong_household",
            Screen::ScanReceipt { .. } => "scan_receipt",
            Screen::FetchingPhoto => "fetching_photo",
            Screen::LivePhoto { .. } => "live_photo",
            Screen::CapturingPhoto => "capturing_photo",
            Screen::PhotoReview { .. } => "photo_review",
            Screen::ComparingFaces => "comparing_faces",
            Screen::Mobile { .. } => "mobile",
            Screen::Fingerprints { .. } => "fingerprints",
            Screen::Signature => "signature",
            Screen::Payment { .. } => "payment",
            Screen::Paying { .. } => "paying",
            Screen::Printing => "printing",
            Screen::Finished { .. } => "finished",
            Screen::Referred { .. } => "referred",
            Screen::ConfirmEnd { .. } => "confirm_end",
            Screen::Countdown { .. } => "countdown",
        }
    }
}

/// The result of an applied event: the screen to show and the commands to carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The screen now.
    pub screen: Screen,
    /// What to do, in order.
    pub commands: Vec<Command>,
}

/// An event that does not fit the current screen; the state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event} does not fit the screen {screen}")]
pub struct InvalidEvent {
    /// [`Event::name`].
    pub event: &'static str,
    /// [`Screen::name`] of the screen it arrived on.
    pub screen: &'static str,
}

/// The persisted state of the machine, written to the outbox before each transition is acted on.
/// It holds personal data (the ID number, the masked name, the mobile number): the outbox is
/// encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot(State);

/// The kiosk's session state machine: one per kiosk, idle between citizens.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    config: SessionConfig,
    state: State,
}

impl Session {
    /// An idle kiosk at the start screen. No commands: nothing runs until [`Event::Start`].
    pub fn new(config: SessionConfig, now: Millis) -> Session {
        // `now` is part of the calling contract (every entry point takes the time) even though
        // an idle kiosk arms no timer.
        let _ = now;
        Session {
            config,
            state: State::idle(),
        }
    }

    /// Applies `event` at `now`. On [`InvalidEvent`] nothing changed.
    pub fn handle(&mut self, event: Event, now: Millis) -> Result<Transition, InvalidEvent> {
        let (state, commands) =
            self.state
                .next(&self.config, event, now)
                .map_err(|event| InvalidEvent {
                    event,
                    screen: self.screen().name(),
                })?;
        self.state = state;
        Ok(Transition {
            screen: self.screen(),
            commands,
        })
    }

    /// The screen to show now.
    pub fn screen(&self) -> Screen {
        self.state.screen(&self.config)
    }

    /// When to send [`Event::Tick`]; `None` only on the idle start screen.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.state.deadline()
    }

    /// The running session's id; `None` when no session runs (idle, or showing a result).
    pub fn session_id(&self) -> Option<&SessionId> {
        self.state.session_id()
    }

    /// Whether a citizen's session is running (and so the video recording).
    pub fn is_running(&self) -> bool {
        self.session_id().is_some()
    }

    /// The step (1–12) of the running session; `None` when no session runs. Kept beside the
    /// snapshot so that a kiosk which cannot read the snapshot (another version's) can still end
    /// the session at the step it was at ([`Session::interrupted`]).
    pub fn running_step(&self) -> Option<u8> {
        self.is_running().then(|| self.screen().step())
    }

    /// The state to persist.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(self.state.clone())
    }

    /// Rebuilds the machine after a restart, re-arming every timer from `now` (the monotonic clock
    /// may have restarted too), and returns the commands to carry out again: the video and the
    /// pending device or center request. A crash while printing ends the session as a
    /// `printer_fault` referral, since printing is at-most-once.
    pub fn resume(config: SessionConfig, snapshot: Snapshot, now: Millis) -> (Session, Transition) {
        let (state, commands) = snapshot.0.resume(&config, now);
        let session = Session { config, state };
        let transition = Transition {
            screen: session.screen(),
            commands,
        };
        (session, transition)
    }

    /// A session that ran at `step` and cannot be resumed (its snapshot was written by another
    /// version of the kiosk, before an upgrade): it shows the out-of-service screen, and the
    /// caller ends it with [`Session::interrupted_outcome`], so the staff can take it over.
    pub fn interrupted(config: SessionConfig, step: u8, now: Millis) -> Session {
        let state = State::Ended {
            view: EndView::OutOfService { step },
            until: now.plus(config.result_display_ms),
        };
        Session { config, state }
    }

    /// How a session interrupted at `step` ends: referred, the service unavailable (what
    /// [`Event::OutOfService`] sends for a running session).
    pub fn interrupted_outcome(step: u8) -> SessionOutcome {
        SessionOutcome::Referred {
            step,
            reason: ReferralReason::ServiceUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentMethod;

    #[test]
    fn stored_method_text_is_a_method_or_a_named_error() {
        for method in [PaymentMethod::WeChat, PaymentMethod::UnionPay] {
            assert_eq!(
                PaymentMethod::try_from(method.as_str().to_owned()),
                Ok(method)
            );
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{}\"", method.as_str()));
        }
        let err = PaymentMethod::try_from("alipay".to_owned()).unwrap_err();
        assert_eq!(err.to_string(), "unknown payment method \"alipay\"");
    }
}

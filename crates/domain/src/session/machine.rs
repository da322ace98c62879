//! The states and transitions behind [`super::Session`]. Each stage carries exactly the data
//! gathered so far, so a later step never finds a missing field.

use serde::{Deserialize, Serialize};
use time::Date;

use super::{
    persist, Application, Command, Document, Event, Finger, FingerPress, Millis, PaymentMethod,
    PaymentResult, PortraitApplication, PressProblem, PrintResult, ReceiptAnswer, ReceiptCode,
    ReferralReason, ScopeRequest, Screen, SessionConfig, SessionId, SessionOutcome, TypedId,
};
use crate::id::{CitizenId, IdError, IdField};
use crate::mask::mask_name;
use crate::mobile::{self, MobileError, MobileNumber};
use crate::prompts::{self, Prompt};
use crate::rules::{Business, CardOnReader, Decision, Household, NewCardValidity, Reason};

/// The whole machine: idle, a running session, or the result screen after one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum State {
    /// The start screen, with a notice from the previous session until `until`.
    Idle {
        notice: Option<Notice>,
        until: Option<Millis>,
    },
    /// A citizen's session.
    Running(Box<Running>),
    /// The session has ended (video stopped, data wiped); its result shows until `until`.
    Ended { view: EndView, until: Millis },
}

/// What the result screen after a session shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) enum EndView {
    Finished {
        payment: PaymentMethod,
        #[serde(with = "persist::business")]
        business: Business,
        issue_by: Date,
    },
    PortraitFormPrinted,
    Referred {
        step: u8,
        reason: ReferralReason,
    },
    /// The kiosk could not save its state ([`Event::OutOfService`]).
    OutOfService {
        step: u8,
    },
}

/// A running session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Running {
    session_id: SessionId,
    /// The session's date, for ID number checks.
    today: Date,
    stage: Stage,
    /// The error shown on the stage's screen.
    error: Option<Notice>,
    attempts: Attempts,
    /// Inactivity, countdown, service or payment deadline, per [`Stage::kind`].
    deadline: Millis,
    /// The inactivity countdown is showing.
    countdown: bool,
    /// The ID number refused on the keypad screen, shown again to correct.
    #[serde(default)]
    typed: Option<TypedId>,
    /// "End the session?" is asked over the stage's screen (after [`Event::Cancel`]).
    #[serde(default)]
    ending: bool,
}

/// Failed attempts so far, bounded by the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
struct Attempts {
    card: u8,
    receipt: u8,
    photo: u8,
    /// Photos retaken after the review (bounded by `photo_retakes`).
    #[serde(default)]
    retakes: u8,
    /// Payment attempts started (each a distinct trade number).
    payment: u8,
    /// Live photos scored not live in enforce mode (bounded by `liveness.attempts`).
    #[serde(default)]
    liveness: u8,
}

/// An error or notice on a screen; stored as a key, shown as a [`Prompt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Notice {
    IdFirstGeneration,
    Id(IdProblem),
    CardUnreadable,
    CardMismatch,
    ReceiptNotFound,
    ReceiptExpired,
    ReceiptUsed,
    ReceiptOfOtherPerson,
    PhotoUnusable,
    NotLive,
    MobileInvalid,
    MobileMismatch,
    PaymentDeclined,
    PaymentExpired,
    /// A poor fingerprint press; the reason is in [`FingerProgress::problem`].
    PoorPress,
}

/// [`IdField`] as stored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum IdProblem {
    Length,
    Characters,
    Region,
    BirthDate,
    CheckDigit,
}

impl Notice {
    fn prompt(self) -> Prompt {
        match self {
            Notice::IdFirstGeneration => prompts::ID_FIRST_GENERATION,
            Notice::Id(IdProblem::Length) => prompts::ID_LENGTH,
            Notice::Id(IdProblem::Characters) => prompts::ID_CHARACTERS,
            Notice::Id(IdProblem::Region) => prompts::ID_REGION,
            Notice::Id(IdProblem::BirthDate) => prompts::ID_BIRTH_DATE,
            Notice::Id(IdProblem::CheckDigit) => prompts::ID_CHECK_DIGIT,
            Notice::CardUnreadable => prompts::CARD_UNREADABLE,
            Notice::CardMismatch => prompts::CARD_MISMATCH,
            Notice::ReceiptNotFound => prompts::PHOTO_RECEIPT_NOT_FOUND,
            Notice::ReceiptExpired => prompts::PHOTO_RECEIPT_EXPIRED,
            Notice::ReceiptUsed => prompts::PHOTO_RECEIPT_USED,
            Notice::ReceiptOfOtherPerson => prompts::PHOTO_RECEIPT_OTHER_PERSON,
            Notice::PhotoUnusable => prompts::PHOTO_UNUSABLE,
            Notice::NotLive => prompts::LIVENESS_RETAKE,
            Notice::MobileInvalid => prompts::MOBILE_INVALID,
            Notice::MobileMismatch => prompts::MOBILE_MISMATCH,
            Notice::PaymentDeclined => prompts::PAYMENT_DECLINED,
            Notice::PaymentExpired => prompts::PAYMENT_EXPIRED,
            Notice::PoorPress => prompts::FINGERPRINT_POOR_PRESS,
        }
    }

    /// The refused entry with the characters at fault marked, for an ID number notice.
    fn typed(self, text: &str) -> Option<TypedId> {
        let text = text.trim();
        let wrong = match self {
            Notice::IdFirstGeneration | Notice::Id(IdProblem::Length) => None,
            // The first character that is neither a digit nor a final X.
            Notice::Id(IdProblem::Characters) => {
                let last = text.chars().count().saturating_sub(1);
                text.chars()
                    .enumerate()
                    .position(|(i, c)| !(c.is_ascii_digit() || (i == last && c == 'X')))
                    .map(|i| i..i + 1)
            }
            Notice::Id(IdProblem::Region) => Some(0..6),
            Notice::Id(IdProblem::BirthDate) => Some(6..14),
            Notice::Id(IdProblem::CheckDigit) => Some(17..18),
            _ => return None,
        };
        Some(TypedId {
            text: text.to_owned(),
            wrong,
        })
    }

    /// The field the parser named; a 15-digit first-generation number gets its own message.
    fn for_id_error(input: &str, error: &IdError) -> Notice {
        let trimmed = input.trim();
        match error.field {
            IdField::Length
                if trimmed.len() == 15 && trimmed.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Notice::IdFirstGeneration
            }
            IdField::Length => Notice::Id(IdProblem::Length),
            IdField::Characters => Notice::Id(IdProblem::Characters),
            IdField::Region => Notice::Id(IdProblem::Region),
            IdField::BirthDate => Notice::Id(IdProblem::BirthDate),
            IdField::CheckDigit => Notice::Id(IdProblem::CheckDigit),
        }
    }
}

/// Steps 1–4: who is applying for what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Applicant {
    #[serde(with = "persist::business")]
    business: Business,
    #[serde(with = "persist::household")]
    household: Household,
    #[serde(with = "persist::citizen_id")]
    id: CitizenId,
    /// Renewal only.
    #[serde(with = "persist::card")]
    card: Option<CardOnReader>,
    /// Never the name in clear.
    masked_name: Option<String>,
}

/// The terms of an accepted decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Terms {
    fee_cny: u32,
    #[serde(with = "persist::validity")]
    validity: NewCardValidity,
    issue_by: Date,
}

/// The step-5 decision as stored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Decided {
    Accept(Terms),
    Refer(#[serde(with = "persist::reason")] Reason),
}

/// After step 5: an accepted applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Case {
    applicant: Applicant,
    terms: Terms,
}

/// After step 8: everything but the blobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Filed {
    case: Case,
    receipt: ReceiptCode,
    #[serde(with = "persist::mobile")]
    mobile: MobileNumber,
}

impl Filed {
    fn application(&self) -> Application {
        let applicant = &self.case.applicant;
        Application {
            business: applicant.business,
            household: applicant.household,
            id: applicant.id.clone(),
            receipt: self.receipt.clone(),
            mobile: self.mobile.clone(),
            fee_cny: self.case.terms.fee_cny,
            validity: self.case.terms.validity,
            issue_by: self.case.terms.issue_by,
        }
    }
}

/// The keypad a portrait form was asked from: where "back" returns, and what the form says the
/// citizen applies for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum FormOrigin {
    /// Step 1's first-time button (首次申领).
    FirstTime,
    /// Step 3 of a lost replacement (丢失补领).
    Lost {
        #[serde(with = "persist::household")]
        household: Household,
    },
}

impl FormOrigin {
    fn application(self) -> PortraitApplication {
        match self {
            FormOrigin::FirstTime => PortraitApplication::FirstTime,
            FormOrigin::Lost { .. } => PortraitApplication::Business(Business::Lost),
        }
    }

    fn keypad(self) -> Stage {
        match self {
            FormOrigin::FirstTime => Stage::PortraitFormNumber,
            FormOrigin::Lost { household } => Stage::IdNumber {
                business: Business::Lost,
                household,
            },
        }
    }
}

/// Where a running session is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Stage {
    Business,
    Household {
        #[serde(with = "persist::business")]
        business: Business,
    },
    IdNumber {
        #[serde(with = "persist::business")]
        business: Business,
        #[serde(with = "persist::household")]
        household: Household,
    },
    PortraitFormNumber,
    /// Waiting for the center's masked identity of `id` (issue 14: no form without it).
    PortraitFormChecking {
        #[serde(with = "persist::citizen_id")]
        id: CitizenId,
        origin: FormOrigin,
    },
    /// The citizen confirms the masked identity before the form is printed.
    PortraitFormConfirm {
        #[serde(with = "persist::citizen_id")]
        id: CitizenId,
        origin: FormOrigin,
        /// Never the name in clear; `None` when the population system has no record.
        masked_name: Option<String>,
    },
    PlaceCard {
        #[serde(with = "persist::business")]
        business: Business,
        #[serde(with = "persist::household")]
        household: Household,
        #[serde(with = "persist::citizen_id")]
        id: CitizenId,
    },
    PrintingPortraitForm,
    Checking {
        applicant: Applicant,
    },
    Confirm {
        applicant: Applicant,
        decided: Decided,
    },
    InScope {
        case: Case,
    },
    WrongHousehold {
        #[serde(with = "persist::business")]
        business: Business,
        /// The household type the register contradicted.
        #[serde(with = "persist::household", default = "local_household")]
        household: Household,
    },
    ScanReceipt {
        case: Case,
    },
    FetchingPhoto {
        case: Case,
        receipt: ReceiptCode,
    },
    LivePhoto {
        case: Case,
        receipt: ReceiptCode,
    },
    CapturingPhoto {
        case: Case,
        receipt: ReceiptCode,
    },
    /// The captured photo is in the agent's sealed captures; the citizen uses or retakes it.
    PhotoReview {
        case: Case,
        receipt: ReceiptCode,
    },
    ComparingFaces {
        case: Case,
        receipt: ReceiptCode,
    },
    Mobile {
        case: Case,
        receipt: ReceiptCode,
    },
    Fingerprints {
        filed: Filed,
        #[serde(default)]
        progress: FingerProgress,
    },
    Signature {
        filed: Filed,
    },
    Payment {
        filed: Filed,
    },
    Paying {
        filed: Filed,
        method: PaymentMethod,
        attempt: u8,
    },
    Printing {
        filed: Filed,
        method: PaymentMethod,
    },
}

/// Step 9 so far: the finger asked for and its poor presses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FingerProgress {
    finger: Finger,
    /// 1 or 2.
    number: u8,
    /// Poor presses of this finger.
    poor: u8,
    /// Why the last press was poor; `None` after a passing one.
    problem: Option<PressProblem>,
}

impl Default for FingerProgress {
    fn default() -> FingerProgress {
        FingerProgress {
            finger: Finger::RightIndex,
            number: 1,
            poor: 0,
            problem: None,
        }
    }
}

/// Which timer a stage arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Waits for the citizen: inactivity, then the countdown.
    Input,
    /// Waits for the center, the camera or the printer: the service timeout.
    Awaiting,
    /// Waits for a payment: the payment timeout.
    Paying,
}

impl Stage {
    fn kind(&self) -> Kind {
        match self {
            Stage::PrintingPortraitForm
            | Stage::PortraitFormChecking { .. }
            | Stage::Checking { .. }
            | Stage::FetchingPhoto { .. }
            | Stage::CapturingPhoto { .. }
            | Stage::ComparingFaces { .. }
            | Stage::Printing { .. } => Kind::Awaiting,
            Stage::Paying { .. } => Kind::Paying,
            _ => Kind::Input,
        }
    }

    fn screen(&self, error: Option<Prompt>) -> Screen {
        match self {
            Stage::Business => Screen::Business,
            Stage::Household { business } => Screen::Household {
                business: *business,
            },
            Stage::IdNumber { business, .. } => Screen::IdNumber {
                business: *business,
                portrait_form: *business == Business::Lost,
                error,
                typed: None,
            },
            Stage::PortraitFormNumber => Screen::PortraitFormNumber { error, typed: None },
            Stage::PortraitFormChecking { .. } => Screen::PortraitFormChecking,
            Stage::PortraitFormConfirm {
                id, masked_name, ..
            } => Screen::PortraitFormConfirm {
                masked_id: id.masked(),
                masked_name: masked_name.clone(),
            },
            Stage::PlaceCard { .. } => Screen::PlaceCard,
            Stage::PrintingPortraitForm => Screen::PrintingPortraitForm,
            Stage::Checking { .. } => Screen::Checking,
            Stage::Confirm { applicant, .. } => Screen::Confirm {
                masked_id: applicant.id.masked(),
                masked_name: applicant.masked_name.clone(),
            },
            Stage::InScope { case } => Screen::InScope {
                fee_cny: case.terms.fee_cny,
                validity: case.terms.validity,
                issue_by: case.terms.issue_by,
            },
            Stage::WrongHousehold { household, .. } => Screen::WrongHousehold {
                other: other_household(*household),
            },
            Stage::ScanReceipt { .. } => Screen::ScanReceipt { error },
            Stage::FetchingPhoto { .. } => Screen::FetchingPhoto,
            Stage::LivePhoto { .. } => Screen::LivePhoto { error },
            Stage::CapturingPhoto { .. } => Screen::CapturingPhoto,
            // The retakes left are in the attempts: see `State::screen`.
            Stage::PhotoReview { .. } => Screen::PhotoReview { can_retake: true },
            Stage::ComparingFaces { .. } => Screen::ComparingFaces,
            Stage::Mobile { .. } => Screen::Mobile { error },
            Stage::Fingerprints { progress, .. } => Screen::Fingerprints {
                finger: progress.finger,
                number: progress.number,
                error,
                problem: progress.problem,
            },
            Stage::Signature { .. } => Screen::Signature,
            Stage::Payment { filed } => Screen::Payment {
                fee_cny: filed.case.terms.fee_cny,
                error,
            },
            Stage::Paying { filed, method, .. } => Screen::Paying {
                method: *method,
                fee_cny: filed.case.terms.fee_cny,
            },
            Stage::Printing { .. } => Screen::Printing,
        }
    }

    fn step(&self) -> u8 {
        self.screen(None).step()
    }

    /// Whether "end the session" is offered: on every screen that waits for the citizen, and on
    /// the WeChat QR screen (its open order is closed); not while a card is in the terminal.
    fn cancellable(&self) -> bool {
        match self {
            Stage::Paying { method, .. } => *method == PaymentMethod::WeChat,
            stage => stage.kind() == Kind::Input,
        }
    }

    /// What leaving this stage early must stop, besides what `EndSession` stops.
    fn cleanup(&self) -> Vec<Command> {
        match self {
            Stage::PlaceCard { .. } => vec![Command::CancelReadCard],
            // A failed or interrupted print leaves no job to come out later (issue 15).
            Stage::Printing { .. } | Stage::PrintingPortraitForm => {
                vec![Command::CancelPrintJobs]
            }
            Stage::Paying {
                method, attempt, ..
            } => vec![Command::CancelPayment {
                method: *method,
                attempt: *attempt,
            }],
            _ => Vec::new(),
        }
    }

    /// How the session ends when abandoned here (cancel or timeout): the wrong-household screen
    /// has already told the citizen why.
    fn abandon_reason(&self, default: ReferralReason) -> ReferralReason {
        match self {
            Stage::WrongHousehold { .. } => ReferralReason::Scope(Reason::WrongHouseholdChoice),
            _ => default,
        }
    }
}

/// What a stage does with an event.
enum Next {
    /// Go to `stage` (possibly the same one), showing `error`, after carrying out `commands`.
    Go {
        stage: Stage,
        error: Option<Notice>,
        commands: Vec<Command>,
    },
    /// End the session.
    End {
        outcome: SessionOutcome,
        after: After,
        commands: Vec<Command>,
    },
}

/// Where an ended session leaves the kiosk.
enum After {
    /// Straight to the start screen, with an optional notice.
    Start(Option<Notice>),
    /// The result screen first.
    Show(EndView),
}

fn go(stage: Stage, commands: Vec<Command>) -> Next {
    Next::Go {
        stage,
        error: None,
        commands,
    }
}

fn stay(stage: &Stage, error: Notice) -> Next {
    Next::Go {
        stage: stage.clone(),
        error: Some(error),
        commands: Vec::new(),
    }
}

/// A referral shown on the result screen.
fn refer(step: u8, reason: ReferralReason, commands: Vec<Command>) -> Next {
    Next::End {
        outcome: SessionOutcome::Referred { step, reason },
        after: After::Show(EndView::Referred { step, reason }),
        commands,
    }
}

/// The event does not fit: the caller keeps the old state.
type Refused = &'static str;

impl State {
    pub(super) fn idle() -> State {
        State::Idle {
            notice: None,
            until: None,
        }
    }

    pub(super) fn deadline(&self) -> Option<Millis> {
        match self {
            State::Idle { until, .. } => *until,
            State::Running(running) => Some(running.deadline),
            State::Ended { until, .. } => Some(*until),
        }
    }

    pub(super) fn session_id(&self) -> Option<&SessionId> {
        match self {
            State::Running(running) => Some(&running.session_id),
            _ => None,
        }
    }

    pub(super) fn screen(&self, config: &SessionConfig) -> Screen {
        match self {
            State::Idle { notice, .. } => Screen::Welcome {
                notice: notice.map(Notice::prompt),
            },
            State::Ended { view, .. } => match view {
                EndView::Finished {
                    payment,
                    business,
                    issue_by,
                } => Screen::Finished {
                    payment: *payment,
                    business: *business,
                    issue_by: *issue_by,
                },
                EndView::PortraitFormPrinted => Screen::PortraitFormPrinted,
                EndView::Referred { step, reason } => Screen::Referred {
                    step: *step,
                    prompt: reason.prompt(),
                },
                EndView::OutOfService { step } => Screen::Referred {
                    step: *step,
                    prompt: prompts::OUT_OF_SERVICE,
                },
            },
            State::Running(running) if running.ending => Screen::ConfirmEnd {
                step: running.stage.step(),
            },
            State::Running(running) if running.countdown => Screen::Countdown {
                step: running.stage.step(),
                seconds: config.countdown_ms / 1000,
            },
            State::Running(running) => {
                let mut screen = running.stage.screen(running.error.map(Notice::prompt));
                if let Screen::IdNumber { typed, .. } | Screen::PortraitFormNumber { typed, .. } =
                    &mut screen
                {
                    typed.clone_from(&running.typed);
                }
                if let Screen::PhotoReview { can_retake } = &mut screen {
                    *can_retake = running.attempts.retakes < config.photo_retakes;
                }
                screen
            }
        }
    }

    pub(super) fn next(
        &self,
        config: &SessionConfig,
        event: Event,
        now: Millis,
    ) -> Result<(State, Vec<Command>), Refused> {
        if matches!(event, Event::OutOfService) {
            return Ok(self.out_of_service(config, now));
        }
        match self {
            State::Idle { notice, until } => match event {
                Event::Start { session_id, today } => {
                    let running = Running {
                        session_id: session_id.clone(),
                        today,
                        stage: Stage::Business,
                        error: None,
                        attempts: Attempts::default(),
                        deadline: now.plus(config.inactivity_timeout_ms),
                        countdown: false,
                        typed: None,
                        ending: false,
                    };
                    Ok((
                        State::Running(Box::new(running)),
                        vec![Command::StartVideo { session_id }],
                    ))
                }
                Event::Tick if until.is_some_and(|until| now >= until) => {
                    Ok((State::idle(), Vec::new()))
                }
                Event::Tick | Event::Activity => Ok((
                    State::Idle {
                        notice: *notice,
                        until: *until,
                    },
                    Vec::new(),
                )),
                other => Err(other.name()),
            },
            State::Ended { until, .. } => match event {
                Event::Confirm => Ok((State::idle(), Vec::new())),
                Event::Tick if now >= *until => Ok((State::idle(), Vec::new())),
                Event::Tick | Event::Activity => Ok((self.clone(), Vec::new())),
                other => Err(other.name()),
            },
            State::Running(running) => running.next(config, event, now),
        }
    }

    /// [`Event::OutOfService`]: a running session ends as `service_unavailable` (what its stage
    /// started is stopped, then the usual end); the out-of-service screen shows in any case.
    fn out_of_service(&self, config: &SessionConfig, now: Millis) -> (State, Vec<Command>) {
        match self {
            State::Running(running) => {
                let step = running.stage.step();
                let outcome = SessionOutcome::Referred {
                    step,
                    reason: ReferralReason::ServiceUnavailable,
                };
                running.end(
                    config,
                    now,
                    outcome,
                    After::Show(EndView::OutOfService { step }),
                    running.stage.cleanup(),
                )
            }
            State::Idle { .. } | State::Ended { .. } => (
                State::Ended {
                    view: EndView::OutOfService { step: 1 },
                    until: now.plus(config.result_display_ms),
                },
                Vec::new(),
            ),
        }
    }

    pub(super) fn resume(self, config: &SessionConfig, now: Millis) -> (State, Vec<Command>) {
        match self {
            State::Idle { notice, .. } => {
                let until = notice.map(|_| now.plus(config.result_display_ms));
                (State::Idle { notice, until }, Vec::new())
            }
            State::Ended { view, .. } => (
                State::Ended {
                    view,
                    until: now.plus(config.result_display_ms),
                },
                Vec::new(),
            ),
            State::Running(running) => running.resume(config, now),
        }
    }
}

impl Running {
    fn next(
        &self,
        config: &SessionConfig,
        event: Event,
        now: Millis,
    ) -> Result<(State, Vec<Command>), Refused> {
        let kind = self.stage.kind();
        match event {
            Event::Tick if now < self.deadline => {
                return Ok((State::Running(Box::new(self.clone())), Vec::new()))
            }
            Event::Tick => return Ok(self.on_deadline(config, now)),
            Event::Activity => {
                let mut running = self.clone();
                // Only a screen that waits for the citizen counts their touches; a wait for the
                // center keeps its own bound.
                if kind == Kind::Input {
                    running.countdown = false;
                    running.deadline = now.plus(config.inactivity_timeout_ms);
                }
                return Ok((State::Running(Box::new(running)), Vec::new()));
            }
            // "End the session" asks once (issue 15): yes ends it, no returns to the screen.
            Event::Cancel if !self.ending && self.stage.cancellable() => {
                let mut running = self.clone();
                running.ending = true;
                running.countdown = false;
                if kind == Kind::Input {
                    running.deadline = now.plus(config.inactivity_timeout_ms);
                }
                return Ok((State::Running(Box::new(running)), Vec::new()));
            }
            Event::Confirm if self.ending => return Ok(self.cancelled(config, now)),
            Event::Back if self.ending => {
                let mut running = self.clone();
                running.ending = false;
                if kind == Kind::Input {
                    running.deadline = now.plus(config.inactivity_timeout_ms);
                }
                return Ok((State::Running(Box::new(running)), Vec::new()));
            }
            Event::Cancel if self.ending => return Err("cancel"),
            _ => {}
        }
        let typed_text = match &event {
            Event::IdNumberEntered(text) | Event::PortraitFormRequested(text) => Some(text.clone()),
            _ => None,
        };
        let mut attempts = self.attempts;
        let next = self.stage_next(config, &mut attempts, event)?;
        Ok(match next {
            Next::Go {
                stage,
                error,
                commands,
            } => {
                // A device's report on the same screen keeps the question; a new screen drops it.
                let ending =
                    self.ending && stage.screen(None).name() == self.stage.screen(None).name();
                let deadline = now.plus(match stage.kind() {
                    Kind::Input => config.inactivity_timeout_ms,
                    Kind::Awaiting => config.service_timeout_ms,
                    Kind::Paying => config.payment_timeout_ms,
                });
                let typed = match (&typed_text, error) {
                    (Some(text), Some(notice)) => notice.typed(text),
                    _ => None,
                };
                let running = Running {
                    session_id: self.session_id.clone(),
                    today: self.today,
                    stage,
                    error,
                    attempts,
                    deadline,
                    countdown: false,
                    typed,
                    ending,
                };
                (State::Running(Box::new(running)), commands)
            }
            Next::End {
                outcome,
                after,
                commands,
            } => self.end(config, now, outcome, after, commands),
        })
    }

    /// The citizen confirmed "end the session": what the stage started is stopped (an open
    /// WeChat order closed), then the usual end, straight back to the start screen.
    fn cancelled(&self, config: &SessionConfig, now: Millis) -> (State, Vec<Command>) {
        let step = self.stage.step();
        let reason = self.stage.abandon_reason(ReferralReason::Cancelled);
        let outcome = SessionOutcome::Referred { step, reason };
        self.end(
            config,
            now,
            outcome,
            After::Start(None),
            self.stage.cleanup(),
        )
    }

    /// The timer ran out.
    fn on_deadline(&self, config: &SessionConfig, now: Millis) -> (State, Vec<Command>) {
        let step = self.stage.step();
        if self.ending {
            // Asked to end and walked away: it ends as they asked.
            return self.cancelled(config, now);
        }
        match self.stage.kind() {
            Kind::Input if !self.countdown => {
                let mut running = self.clone();
                running.countdown = true;
                running.deadline = now.plus(config.countdown_ms);
                (State::Running(Box::new(running)), Vec::new())
            }
            Kind::Input => {
                let reason = self.stage.abandon_reason(ReferralReason::Timeout);
                let outcome = SessionOutcome::Referred { step, reason };
                self.end(
                    config,
                    now,
                    outcome,
                    After::Start(None),
                    self.stage.cleanup(),
                )
            }
            Kind::Awaiting => {
                let reason = match self.stage {
                    Stage::Printing { .. } => ReferralReason::PaidNotPrinted,
                    Stage::PrintingPortraitForm => ReferralReason::PrinterFault,
                    _ => ReferralReason::ServiceUnavailable,
                };
                let outcome = SessionOutcome::Referred { step, reason };
                self.end(
                    config,
                    now,
                    outcome,
                    After::Show(EndView::Referred { step, reason }),
                    self.stage.cleanup(),
                )
            }
            Kind::Paying => {
                // An open attempt that outlived its time is closed and counts as expired.
                let mut attempts = self.attempts;
                let next = self
                    .stage_next(
                        config,
                        &mut attempts,
                        Event::PaymentResult {
                            attempt: self.attempts.payment,
                            result: PaymentResult::Expired,
                        },
                    )
                    .unwrap_or_else(|_| refer(step, ReferralReason::PaymentFailed, Vec::new()));
                let mut commands = self.stage.cleanup();
                match next {
                    Next::Go {
                        stage,
                        error,
                        commands: more,
                    } => {
                        commands.extend(more);
                        let running = Running {
                            session_id: self.session_id.clone(),
                            today: self.today,
                            stage,
                            error,
                            attempts,
                            deadline: now.plus(config.inactivity_timeout_ms),
                            countdown: false,
                            typed: None,
                            ending: false,
                        };
                        (State::Running(Box::new(running)), commands)
                    }
                    Next::End {
                        outcome,
                        after,
                        commands: more,
                    } => {
                        commands.extend(more);
                        self.end(config, now, outcome, after, commands)
                    }
                }
            }
        }
    }

    /// Ends the session: `first`, then stop the video, record the outcome, wipe.
    fn end(
        &self,
        config: &SessionConfig,
        now: Millis,
        outcome: SessionOutcome,
        after: After,
        first: Vec<Command>,
    ) -> (State, Vec<Command>) {
        let mut commands = first;
        commands.extend([
            Command::StopVideo,
            Command::EndSession { outcome },
            Command::WipeCapturedData,
        ]);
        let until = now.plus(config.result_display_ms);
        let state = match after {
            After::Start(notice) => State::Idle {
                notice,
                until: notice.map(|_| until),
            },
            After::Show(view) => State::Ended { view, until },
        };
        (state, commands)
    }

    /// The transitions of each stage.
    fn stage_next(
        &self,
        config: &SessionConfig,
        attempts: &mut Attempts,
        event: Event,
    ) -> Result<Next, Refused> {
        let refused = event.name();
        let step = self.stage.step();
        let parse_id = |text: &str| {
            CitizenId::parse(text, self.today).map_err(|error| Notice::for_id_error(text, &error))
        };
        let next = match (&self.stage, event) {
            (Stage::Business, Event::BusinessChosen(business)) => {
                go(Stage::Household { business }, Vec::new())
            }
            (Stage::Business, Event::PortraitFormChosen) => {
                go(Stage::PortraitFormNumber, Vec::new())
            }

            (Stage::Household { business }, Event::HouseholdChosen(household)) => go(
                Stage::IdNumber {
                    business: *business,
                    household,
                },
                Vec::new(),
            ),
            (Stage::Household { .. }, Event::Back) => go(Stage::Business, Vec::new()),

            (
                Stage::IdNumber {
                    business,
                    household,
                },
                Event::IdNumberEntered(text),
            ) => match parse_id(&text) {
                Err(notice) => stay(&self.stage, notice),
                Ok(id) if *business == Business::ExpiryRenewal => go(
                    Stage::PlaceCard {
                        business: *business,
                        household: *household,
                        id,
                    },
                    vec![Command::ReadCard],
                ),
                Ok(id) => {
                    let applicant = Applicant {
                        business: *business,
                        household: *household,
                        id,
                        card: None,
                        masked_name: None,
                    };
                    checking(applicant)
                }
            },
            (
                Stage::IdNumber {
                    business: Business::Lost,
                    ..
                }
                | Stage::PortraitFormNumber,
                Event::PortraitFormRequested(text),
            ) => match parse_id(&text) {
                Err(notice) => stay(&self.stage, notice),
                Ok(id) => {
                    let origin = match self.stage {
                        Stage::IdNumber { household, .. } => FormOrigin::Lost { household },
                        _ => FormOrigin::FirstTime,
                    };
                    // The center prints a form only for a number this session looked up and
                    // the citizen confirmed (issue 14).
                    go(
                        Stage::PortraitFormChecking {
                            id: id.clone(),
                            origin,
                        },
                        vec![Command::CallCenterIdentity { id }],
                    )
                }
            },
            (Stage::PortraitFormChecking { id, origin }, Event::IdentityFound { name_masked }) => {
                go(
                    Stage::PortraitFormConfirm {
                        id: id.clone(),
                        origin: *origin,
                        masked_name: name_masked.as_deref().map(mask_name),
                    },
                    Vec::new(),
                )
            }
            (
                Stage::PortraitFormConfirm {
                    id,
                    origin,
                    masked_name: Some(_),
                },
                Event::Confirm,
            ) => go(
                Stage::PrintingPortraitForm,
                vec![Command::PrintPortraitForm {
                    id: id.clone(),
                    application: origin.application(),
                }],
            ),
            // No record (the screen showed no name; back corrects a typo): nothing is printed,
            // refused the way step 5 refuses it.
            (
                Stage::PortraitFormConfirm {
                    masked_name: None, ..
                },
                Event::Confirm,
            ) => refer(step, ReferralReason::Scope(Reason::NotFound), Vec::new()),
            (Stage::PortraitFormConfirm { origin, .. }, Event::Back) => {
                go(origin.keypad(), Vec::new())
            }
            (Stage::IdNumber { business, .. }, Event::Back) => go(
                Stage::Household {
                    business: *business,
                },
                Vec::new(),
            ),
            (Stage::PortraitFormNumber, Event::Back) => go(Stage::Business, Vec::new()),

            (
                Stage::PlaceCard {
                    business,
                    household,
                    id,
                },
                Event::CardRead { card, name },
            ) => {
                if card.id == *id {
                    let applicant = Applicant {
                        business: *business,
                        household: *household,
                        id: id.clone(),
                        card: Some(card),
                        masked_name: Some(mask_name(&name)),
                    };
                    checking(applicant)
                } else {
                    attempts.card = attempts.card.saturating_add(1);
                    if attempts.card >= config.card_attempts {
                        refer(
                            step,
                            ReferralReason::Scope(Reason::CardMismatch),
                            Vec::new(),
                        )
                    } else {
                        // Back to the keypad: either the number or the card was wrong.
                        Next::Go {
                            stage: Stage::IdNumber {
                                business: *business,
                                household: *household,
                            },
                            error: Some(Notice::CardMismatch),
                            commands: Vec::new(),
                        }
                    }
                }
            }
            (Stage::PlaceCard { .. }, Event::CardUnreadable) => Next::End {
                outcome: SessionOutcome::Referred {
                    step,
                    reason: ReferralReason::CardUnreadable,
                },
                after: After::Start(Some(Notice::CardUnreadable)),
                commands: Vec::new(),
            },
            (
                Stage::PlaceCard {
                    business,
                    household,
                    ..
                },
                Event::Back,
            ) => go(
                Stage::IdNumber {
                    business: *business,
                    household: *household,
                },
                vec![Command::CancelReadCard],
            ),

            (Stage::PrintingPortraitForm, Event::PrintResult(PrintResult::Printed)) => Next::End {
                outcome: SessionOutcome::PortraitFormPrinted,
                after: After::Show(EndView::PortraitFormPrinted),
                commands: Vec::new(),
            },
            (Stage::PrintingPortraitForm, Event::PrintResult(PrintResult::PrinterFault)) => {
                refer(step, ReferralReason::PrinterFault, self.stage.cleanup())
            }

            (Stage::Checking { applicant }, Event::ScopeDecided { decision, name }) => {
                let mut applicant = applicant.clone();
                // The record's name is authoritative; the card's is kept when there is no record.
                if let Some(name) = name {
                    applicant.masked_name = Some(mask_name(&name));
                }
                let decided = match decision {
                    Decision::Accept {
                        fee_cny,
                        validity,
                        issue_by,
                    } => Decided::Accept(Terms {
                        fee_cny,
                        validity,
                        issue_by,
                    }),
                    Decision::Refer(reason) => Decided::Refer(reason),
                };
                go(Stage::Confirm { applicant, decided }, Vec::new())
            }

            (Stage::Confirm { applicant, decided }, Event::Confirm) => match decided {
                Decided::Accept(terms) => go(
                    Stage::InScope {
                        case: Case {
                            applicant: applicant.clone(),
                            terms: *terms,
                        },
                    },
                    Vec::new(),
                ),
                Decided::Refer(Reason::WrongHouseholdChoice) => go(
                    Stage::WrongHousehold {
                        business: applicant.business,
                        household: applicant.household,
                    },
                    Vec::new(),
                ),
                Decided::Refer(reason) => refer(5, ReferralReason::Scope(*reason), Vec::new()),
            },
            (Stage::Confirm { applicant, .. }, Event::Back) => go(
                Stage::IdNumber {
                    business: applicant.business,
                    household: applicant.household,
                },
                Vec::new(),
            ),

            (Stage::InScope { case }, Event::Confirm) => {
                go(Stage::ScanReceipt { case: case.clone() }, Vec::new())
            }

            (Stage::WrongHousehold { business, .. }, Event::Back) => go(
                Stage::Household {
                    business: *business,
                },
                Vec::new(),
            ),
            // One touch on the other household type: on to step 3 with the same business.
            (
                Stage::WrongHousehold {
                    business,
                    household: refused,
                },
                Event::HouseholdChosen(household),
            ) if household != *refused => go(
                Stage::IdNumber {
                    business: *business,
                    household,
                },
                Vec::new(),
            ),
            (Stage::WrongHousehold { .. }, Event::Confirm) => refer(
                step,
                ReferralReason::Scope(Reason::WrongHouseholdChoice),
                Vec::new(),
            ),

            (Stage::ScanReceipt { case }, Event::ReceiptScanned(text)) => {
                match ReceiptCode::parse(&text) {
                    Ok(receipt) => go(
                        Stage::FetchingPhoto {
                            case: case.clone(),
                            receipt: receipt.clone(),
                        },
                        vec![Command::FetchCertifiedPhoto { receipt }],
                    ),
                    Err(_) => {
                        receipt_refused(config, attempts, case, step, Notice::ReceiptNotFound)
                    }
                }
            }
            (
                Stage::FetchingPhoto { case, receipt },
                Event::ReceiptAnswer(ReceiptAnswer::Found),
            ) => go(
                Stage::LivePhoto {
                    case: case.clone(),
                    receipt: receipt.clone(),
                },
                Vec::new(),
            ),
            (Stage::FetchingPhoto { case, .. }, Event::ReceiptAnswer(answer)) => {
                let notice = match answer {
                    ReceiptAnswer::Expired => Notice::ReceiptExpired,
                    ReceiptAnswer::AlreadyUsed => Notice::ReceiptUsed,
                    ReceiptAnswer::OtherPerson => Notice::ReceiptOfOtherPerson,
                    ReceiptAnswer::NotFound | ReceiptAnswer::Found => Notice::ReceiptNotFound,
                };
                receipt_refused(config, attempts, case, step, notice)
            }

            (Stage::LivePhoto { case, receipt }, Event::TakePhoto) => go(
                Stage::CapturingPhoto {
                    case: case.clone(),
                    receipt: receipt.clone(),
                },
                vec![Command::CapturePhoto],
            ),
            // The citizen sees the photo before it is compared (issue 15 item 5).
            (Stage::CapturingPhoto { case, receipt }, Event::PhotoCaptured) => go(
                Stage::PhotoReview {
                    case: case.clone(),
                    receipt: receipt.clone(),
                },
                Vec::new(),
            ),
            // The kiosk's liveness score of the full frame, before the review (issue 20).
            (Stage::CapturingPhoto { case, receipt }, Event::PhotoScored { liveness })
                if config.liveness.refuses(liveness) =>
            {
                attempts.liveness = attempts.liveness.saturating_add(1);
                if attempts.liveness >= config.liveness.attempts {
                    refer(step, ReferralReason::LivenessFailed, Vec::new())
                } else {
                    Next::Go {
                        stage: Stage::LivePhoto {
                            case: case.clone(),
                            receipt: receipt.clone(),
                        },
                        error: Some(Notice::NotLive),
                        commands: Vec::new(),
                    }
                }
            }
            (Stage::CapturingPhoto { case, receipt }, Event::PhotoScored { .. }) => go(
                Stage::PhotoReview {
                    case: case.clone(),
                    receipt: receipt.clone(),
                },
                Vec::new(),
            ),
            (Stage::PhotoReview { case, receipt }, Event::UsePhoto) => go(
                Stage::ComparingFaces {
                    case: case.clone(),
                    receipt: receipt.clone(),
                },
                vec![Command::VerifyFaces {
                    id: case.applicant.id.clone(),
                    receipt: receipt.clone(),
                }],
            ),
            (Stage::PhotoReview { case, receipt }, Event::RetakePhoto)
                if attempts.retakes < config.photo_retakes =>
            {
                attempts.retakes = attempts.retakes.saturating_add(1);
                go(
                    Stage::LivePhoto {
                        case: case.clone(),
                        receipt: receipt.clone(),
                    },
                    Vec::new(),
                )
            }
            (Stage::CapturingPhoto { case, receipt }, Event::PhotoUnusable) => {
                attempts.photo = attempts.photo.saturating_add(1);
                if attempts.photo >= config.photo_attempts {
                    refer(step, ReferralReason::PhotoUnusable, Vec::new())
                } else {
                    Next::Go {
                        stage: Stage::LivePhoto {
                            case: case.clone(),
                            receipt: receipt.clone(),
                        },
                        error: Some(Notice::PhotoUnusable),
                        commands: Vec::new(),
                    }
                }
            }
            (Stage::ComparingFaces { case, receipt }, Event::FacesCompared(scores)) => {
                if scores.passed {
                    go(
                        Stage::Mobile {
                            case: case.clone(),
                            receipt: receipt.clone(),
                        },
                        Vec::new(),
                    )
                } else {
                    refer(step, ReferralReason::FaceMismatch, Vec::new())
                }
            }

            (Stage::Mobile { case, receipt }, Event::MobileEntered { first, second }) => {
                match mobile::confirm(&first, &second) {
                    Ok(mobile) => go(
                        Stage::Fingerprints {
                            filed: Filed {
                                case: case.clone(),
                                receipt: receipt.clone(),
                                mobile,
                            },
                            progress: FingerProgress::default(),
                        },
                        vec![Command::CaptureFingerprints],
                    ),
                    Err(MobileError::Mismatch) => stay(&self.stage, Notice::MobileMismatch),
                    Err(_) => stay(&self.stage, Notice::MobileInvalid),
                }
            }

            (
                Stage::Fingerprints { filed, progress },
                Event::FingerprintPress {
                    number,
                    finger,
                    press,
                },
            ) if (1..=2).contains(&number) => {
                let mut progress = *progress;
                if (progress.number, progress.finger) != (number, finger) {
                    // Each finger has its own tries.
                    progress = FingerProgress {
                        finger,
                        number,
                        poor: 0,
                        problem: None,
                    };
                }
                match press {
                    FingerPress::Asked => {}
                    FingerPress::Passed => progress.problem = None,
                    FingerPress::Poor(problem) => {
                        progress.poor = progress.poor.saturating_add(1);
                        progress.problem = Some(problem);
                    }
                }
                if progress.poor >= config.fingerprint_tries && progress.problem.is_some() {
                    refer(step, ReferralReason::FingerprintFailed, Vec::new())
                } else {
                    Next::Go {
                        stage: Stage::Fingerprints {
                            filed: filed.clone(),
                            progress,
                        },
                        error: progress.problem.map(|_| Notice::PoorPress),
                        commands: Vec::new(),
                    }
                }
            }
            (Stage::Fingerprints { filed, .. }, Event::FingerprintsCaptured) => go(
                Stage::Signature {
                    filed: filed.clone(),
                },
                vec![Command::CaptureSignature],
            ),
            (Stage::Fingerprints { .. }, Event::FingerprintsFailed { .. }) => {
                refer(step, ReferralReason::FingerprintFailed, Vec::new())
            }

            (Stage::Signature { filed }, Event::SignatureCaptured) => go(
                Stage::Payment {
                    filed: filed.clone(),
                },
                vec![Command::SubmitApplication(filed.application())],
            ),

            // "Use UnionPay instead" on the QR screen: the open WeChat order is closed, then a
            // new attempt starts on the terminal.
            (
                Stage::Paying {
                    filed,
                    method: PaymentMethod::WeChat,
                    ..
                },
                Event::PaymentMethodChosen(PaymentMethod::UnionPay),
            ) => {
                attempts.payment = attempts.payment.saturating_add(1);
                let attempt = attempts.payment;
                let mut commands = self.stage.cleanup();
                commands.push(Command::CreatePayment {
                    method: PaymentMethod::UnionPay,
                    amount_fen: filed.case.terms.fee_cny.saturating_mul(100),
                    attempt,
                });
                go(
                    Stage::Paying {
                        filed: filed.clone(),
                        method: PaymentMethod::UnionPay,
                        attempt,
                    },
                    commands,
                )
            }
            (Stage::Payment { filed }, Event::PaymentMethodChosen(method)) => {
                attempts.payment = attempts.payment.saturating_add(1);
                let attempt = attempts.payment;
                go(
                    Stage::Paying {
                        filed: filed.clone(),
                        method,
                        attempt,
                    },
                    vec![Command::CreatePayment {
                        method,
                        amount_fen: filed.case.terms.fee_cny.saturating_mul(100),
                        attempt,
                    }],
                )
            }
            (
                Stage::Paying {
                    filed,
                    method,
                    attempt,
                },
                Event::PaymentResult {
                    attempt: answered,
                    result,
                },
            ) if answered == *attempt => match result {
                PaymentResult::Paid => go(
                    Stage::Printing {
                        filed: filed.clone(),
                        method: *method,
                    },
                    vec![Command::Print {
                        documents: vec![
                            Document::CollectionCertificate,
                            Document::RegistrationForm,
                            Document::PaymentNotice(*method),
                        ],
                    }],
                ),
                PaymentResult::Declined | PaymentResult::Expired => {
                    if attempts.payment >= config.payment_attempts {
                        refer(step, ReferralReason::PaymentFailed, Vec::new())
                    } else {
                        let notice = if result == PaymentResult::Declined {
                            Notice::PaymentDeclined
                        } else {
                            Notice::PaymentExpired
                        };
                        Next::Go {
                            stage: Stage::Payment {
                                filed: filed.clone(),
                            },
                            error: Some(notice),
                            commands: Vec::new(),
                        }
                    }
                }
            },

            (Stage::Printing { method, filed }, Event::PrintResult(PrintResult::Printed)) => {
                Next::End {
                    outcome: SessionOutcome::Completed { payment: *method },
                    after: After::Show(EndView::Finished {
                        payment: *method,
                        business: filed.case.applicant.business,
                        issue_by: filed.case.terms.issue_by,
                    }),
                    commands: Vec::new(),
                }
            }
            // Paid and filed: the window prints the papers; the jobs left are cancelled.
            (Stage::Printing { .. }, Event::PrintResult(PrintResult::PrinterFault)) => {
                refer(step, ReferralReason::PaidNotPrinted, self.stage.cleanup())
            }

            // The center failed while the machine waited for it.
            (
                Stage::PortraitFormChecking { .. }
                | Stage::Checking { .. }
                | Stage::FetchingPhoto { .. }
                | Stage::ComparingFaces { .. },
                Event::CenterUnavailable,
            ) => refer(step, ReferralReason::ServiceUnavailable, Vec::new()),
            (Stage::Paying { .. }, Event::CenterUnavailable) => refer(
                step,
                ReferralReason::ServiceUnavailable,
                self.stage.cleanup(),
            ),

            _ => return Err(refused),
        };
        Ok(next)
    }

    /// After a crash: re-arm the timer, restart the video and repeat the pending request.
    fn resume(self: Box<Self>, config: &SessionConfig, now: Millis) -> (State, Vec<Command>) {
        let step = self.stage.step();
        let mut commands = vec![Command::StartVideo {
            session_id: self.session_id.clone(),
        }];
        let repeat = match &self.stage {
            Stage::PlaceCard { .. } => Some(Command::ReadCard),
            Stage::PortraitFormChecking { id, .. } => {
                Some(Command::CallCenterIdentity { id: id.clone() })
            }
            Stage::Checking { applicant } => {
                Some(Command::CallCenterScope(scope_request(applicant)))
            }
            Stage::FetchingPhoto { receipt, .. } => Some(Command::FetchCertifiedPhoto {
                receipt: receipt.clone(),
            }),
            Stage::CapturingPhoto { .. } => Some(Command::CapturePhoto),
            Stage::ComparingFaces { case, receipt } => Some(Command::VerifyFaces {
                id: case.applicant.id.clone(),
                receipt: receipt.clone(),
            }),
            Stage::Fingerprints { .. } => Some(Command::CaptureFingerprints),
            Stage::Signature { .. } => Some(Command::CaptureSignature),
            Stage::Payment { filed } => Some(Command::SubmitApplication(filed.application())),
            Stage::Paying {
                filed,
                method,
                attempt,
            } => Some(Command::CreatePayment {
                method: *method,
                amount_fen: filed.case.terms.fee_cny.saturating_mul(100),
                attempt: *attempt,
            }),
            Stage::Printing { .. } | Stage::PrintingPortraitForm => {
                // Printing is at-most-once: whether the job came out is unknown, so what is
                // left of it is cancelled and the window prints; a paid session says so.
                let reason = match self.stage {
                    Stage::Printing { .. } => ReferralReason::PaidNotPrinted,
                    _ => ReferralReason::PrinterFault,
                };
                let outcome = SessionOutcome::Referred { step, reason };
                let view = EndView::Referred { step, reason };
                commands.extend(self.stage.cleanup());
                return self.end(config, now, outcome, After::Show(view), commands);
            }
            _ => None,
        };
        commands.extend(repeat);
        let mut running = *self;
        running.countdown = false;
        running.deadline = now.plus(match running.stage.kind() {
            Kind::Input => config.inactivity_timeout_ms,
            Kind::Awaiting => config.service_timeout_ms,
            Kind::Paying => config.payment_timeout_ms,
        });
        (State::Running(Box::new(running)), commands)
    }
}

fn local_household() -> Household {
    Household::Local
}

fn other_household(household: Household) -> Household {
    match household {
        Household::Local => Household::Province,
        Household::Province => Household::Local,
    }
}

fn scope_request(applicant: &Applicant) -> ScopeRequest {
    ScopeRequest {
        business: applicant.business,
        household: applicant.household,
        id: applicant.id.clone(),
        card: applicant.card.clone(),
    }
}

fn checking(applicant: Applicant) -> Next {
    let request = scope_request(&applicant);
    go(
        Stage::Checking { applicant },
        vec![Command::CallCenterScope(request)],
    )
}

/// A receipt that gives no photo (not found, expired, used): scan another, with the reason,
/// until the allowed scans are used up.
fn receipt_refused(
    config: &SessionConfig,
    attempts: &mut Attempts,
    case: &Case,
    step: u8,
    notice: Notice,
) -> Next {
    attempts.receipt = attempts.receipt.saturating_add(1);
    if attempts.receipt >= config.receipt_attempts {
        refer(step, ReferralReason::ReceiptNotFound, Vec::new())
    } else {
        Next::Go {
            stage: Stage::ScanReceipt { case: case.clone() },
            error: Some(notice),
            commands: Vec::new(),
        }
    }
}

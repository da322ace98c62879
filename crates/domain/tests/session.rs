//! The kiosk session state machine walked like a session: events in, exact screens, prompts and
//! commands out, on a virtual clock.

use domain::prompts::{self, Prompt};
use domain::rules::{
    Business, CardExpiry, CardOnReader, Decision, Household, NewCardValidity, Reason,
};
use domain::session::{
    Command, Document, Event, FaceScores, Finger, FingerPress, FingerprintFailure, InvalidEvent,
    Millis, PaymentMethod, PaymentResult, PortraitApplication, PressProblem, PrintResult,
    ReceiptAnswer, ReceiptCode, ReferralReason, Screen, Session, SessionConfig, SessionId,
    SessionOutcome, Transition, TypedId,
};
use domain::{CitizenId, MobileNumber};
use proptest::prelude::*;
use time::macros::date;
use time::Date;

const TODAY: Date = date!(2026 - 11 - 25);
const ID: &str = "320104200012100044";
const RECEIPT: &str = "RCPT-20261125-0001";

fn id() -> CitizenId {
    CitizenId::parse(ID, TODAY).expect("valid test number")
}

fn session_id() -> SessionId {
    SessionId::parse("3f2a9c1e-session-0001").expect("valid session id")
}

fn start() -> Event {
    Event::Start {
        session_id: session_id(),
        today: TODAY,
    }
}

fn card(number: &str) -> Event {
    let card = CardOnReader {
        id: CitizenId::parse(number, TODAY).expect("valid card number"),
        valid_from: date!(2016 - 12 - 20),
        valid_until: CardExpiry::On(date!(2026 - 12 - 20)),
    };
    Event::CardRead {
        card,
        name: "王小明".to_owned(),
    }
}

fn accept(business: Business) -> Event {
    Event::ScopeDecided {
        decision: Decision::Accept {
            fee_cny: business.fee_cny(),
            validity: NewCardValidity::TenYears,
            issue_by: date!(2027 - 01 - 24),
        },
        name: Some("王小明".to_owned()),
    }
}

fn refuse(reason: Reason) -> Event {
    Event::ScopeDecided {
        decision: Decision::Refer(reason),
        name: Some("欧阳娜娜".to_owned()),
    }
}

/// The center's answer at step 7, its verdict taken as the center's default bars would give it.
fn scores(certified: f32, live: f32) -> Event {
    verdict(certified, live, certified > 95.0 && live > 60.0)
}

/// The center's answer at step 7 with its verdict.
fn verdict(certified: f32, live: f32, passed: bool) -> Event {
    Event::FacesCompared(FaceScores {
        certified_vs_history: certified,
        live_vs_history: live,
        passed,
    })
}

fn mobile(first: &str, second: &str) -> Event {
    Event::MobileEntered {
        first: first.to_owned(),
        second: second.to_owned(),
    }
}

fn paid(attempt: u8, result: PaymentResult) -> Event {
    Event::PaymentResult { attempt, result }
}

/// Steps 1–3 up to the center's call, for a business and household.
fn through_step_3(business: Business, household: Household) -> Vec<Event> {
    let mut events = vec![
        start(),
        Event::BusinessChosen(business),
        Event::HouseholdChosen(household),
    ];
    events.push(Event::IdNumberEntered(ID.to_owned()));
    if business == Business::ExpiryRenewal {
        events.push(card(ID));
    }
    events
}

/// Steps 1–5 accepted, at the receipt scan.
fn through_step_5(business: Business, household: Household) -> Vec<Event> {
    let mut events = through_step_3(business, household);
    events.extend([accept(business), Event::Confirm, Event::Confirm]);
    events
}

/// Steps 1–10, at the payment choice.
fn through_step_10(business: Business) -> Vec<Event> {
    let mut events = through_step_5(business, Household::Local);
    events.extend([
        Event::ReceiptScanned(RECEIPT.to_owned()),
        Event::ReceiptAnswer(ReceiptAnswer::Found),
        Event::TakePhoto,
        Event::PhotoCaptured,
        Event::UsePhoto,
        scores(97.5, 81.0),
        mobile("13800138000", "138 0013 8000"),
        Event::FingerprintsCaptured,
        Event::SignatureCaptured,
    ]);
    events
}

/// A kiosk on a virtual clock: each event one second after the last.
struct Kiosk {
    session: Session,
    now: Millis,
}

impl Kiosk {
    fn new() -> Kiosk {
        Kiosk::with(SessionConfig::default())
    }

    fn with(config: SessionConfig) -> Kiosk {
        Kiosk {
            session: Session::new(config, Millis(0)),
            now: Millis(0),
        }
    }

    fn try_send(&mut self, event: Event) -> Result<Transition, InvalidEvent> {
        self.now = self.now.plus(1_000);
        self.session.handle(event, self.now)
    }

    fn send(&mut self, event: Event) -> Transition {
        let name = event.name();
        let screen = self.session.screen().name();
        self.try_send(event)
            .unwrap_or_else(|error| panic!("{name} on {screen}: {error}"))
    }

    fn walk(&mut self, events: &[Event]) -> Vec<Transition> {
        events
            .iter()
            .cloned()
            .map(|event| self.send(event))
            .collect()
    }

    /// Jumps the clock to the armed deadline and ticks.
    fn expire(&mut self) -> Transition {
        let deadline = self.session.poll_timeout().expect("a timer is armed");
        self.now = deadline;
        self.session
            .handle(Event::Tick, deadline)
            .expect("tick always fits")
    }
}

/// Walks from a fresh kiosk.
fn walk(events: &[Event]) -> (Kiosk, Vec<Transition>) {
    let mut kiosk = Kiosk::new();
    let transitions = kiosk.walk(events);
    (kiosk, transitions)
}

fn screens(transitions: &[Transition]) -> Vec<&'static str> {
    transitions.iter().map(|t| t.screen.name()).collect()
}

fn end(outcome: SessionOutcome) -> Vec<Command> {
    vec![
        Command::StopVideo,
        Command::EndSession { outcome },
        Command::WipeCapturedData,
    ]
}

fn referred(step: u8, reason: ReferralReason) -> SessionOutcome {
    SessionOutcome::Referred { step, reason }
}

#[test]
fn happy_path_for_every_business_household_and_payment_method() {
    for business in [Business::ExpiryRenewal, Business::Lost, Business::Damaged] {
        for household in [Household::Local, Household::Province] {
            for method in [PaymentMethod::WeChat, PaymentMethod::UnionPay] {
                let context = format!("{business:?} {household:?} {method:?}");
                let mut events = through_step_5(business, household);
                events.extend([
                    Event::ReceiptScanned(RECEIPT.to_owned()),
                    Event::ReceiptAnswer(ReceiptAnswer::Found),
                    Event::TakePhoto,
                    Event::PhotoCaptured,
                    Event::UsePhoto,
                    scores(97.5, 81.0),
                    mobile("13800138000", "+86 138-0013-8000"),
                    Event::FingerprintsCaptured,
                    Event::SignatureCaptured,
                    Event::PaymentMethodChosen(method),
                    paid(1, PaymentResult::Paid),
                    Event::PrintResult(PrintResult::Printed),
                    Event::Confirm,
                ]);
                let (kiosk, t) = walk(&events);
                let renewal = business == Business::ExpiryRenewal;
                let mut expected = vec!["business", "household", "id_number"];
                expected.extend(if renewal {
                    vec!["place_card", "checking"]
                } else {
                    vec!["checking"]
                });
                expected.extend([
                    "confirm",
                    "in_scope",
                    "scan_receipt",
                    "fetching_photo",
                    "live_photo",
                    "capturing_photo",
                    "photo_review",
                    "comparing_faces",
                    "mobile",
                    "fingerprints",
                    "signature",
                    "payment",
                    "paying",
                    "printing",
                    "finished",
                    "welcome",
                ]);
                assert_eq!(screens(&t), expected, "{context}");
                let steps: Vec<u8> = t.iter().map(|t| t.screen.step()).collect();
                assert!(
                    steps.windows(2).take(t.len() - 2).all(|w| w[0] <= w[1]),
                    "{context}: steps {steps:?}"
                );

                assert_eq!(
                    t[0].commands,
                    vec![Command::StartVideo {
                        session_id: session_id()
                    }],
                    "{context}"
                );
                let card_on_reader = renewal.then(|| CardOnReader {
                    id: id(),
                    valid_from: date!(2016 - 12 - 20),
                    valid_until: CardExpiry::On(date!(2026 - 12 - 20)),
                });
                let call = t.iter().find_map(|t| match t.commands.first() {
                    Some(Command::CallCenterScope(request)) => Some(request.clone()),
                    _ => None,
                });
                let call = call.expect("the center was called");
                assert_eq!(
                    (call.business, call.household, call.id.as_str()),
                    (business, household, ID),
                    "{context}"
                );
                assert_eq!(call.card, card_on_reader, "{context}");

                let confirm = t
                    .iter()
                    .find(|t| t.screen.name() == "confirm")
                    .expect("confirm screen");
                assert_eq!(
                    confirm.screen,
                    Screen::Confirm {
                        masked_id: "320104********0044".to_owned(),
                        masked_name: Some("*小明".to_owned())
                    }
                );
                let at = |name: &str| {
                    &t.iter()
                        .find(|t| t.screen.name() == name)
                        .expect(name)
                        .commands
                };
                let receipt = ReceiptCode::parse(RECEIPT).expect("valid receipt");
                assert_eq!(
                    at("fetching_photo"),
                    &vec![Command::FetchCertifiedPhoto {
                        receipt: receipt.clone()
                    }]
                );
                assert_eq!(at("capturing_photo"), &vec![Command::CapturePhoto]);
                assert_eq!(
                    at("comparing_faces"),
                    &vec![Command::VerifyFaces {
                        id: id(),
                        receipt: receipt.clone()
                    }]
                );
                assert_eq!(at("fingerprints"), &vec![Command::CaptureFingerprints]);
                assert_eq!(at("signature"), &vec![Command::CaptureSignature]);
                let Some(Command::SubmitApplication(application)) = at("payment").first() else {
                    panic!("{context}: no application submitted");
                };
                assert_eq!(
                    application.mobile,
                    MobileNumber::parse("13800138000").expect("valid")
                );
                assert_eq!(
                    (application.receipt.as_str(), application.fee_cny),
                    (RECEIPT, business.fee_cny())
                );
                assert_eq!(
                    at("paying"),
                    &vec![Command::CreatePayment {
                        method,
                        amount_fen: business.fee_cny() * 100,
                        attempt: 1
                    }],
                    "{context}"
                );
                assert_eq!(
                    at("printing"),
                    &vec![Command::Print {
                        documents: vec![
                            Document::CollectionCertificate,
                            Document::RegistrationForm,
                            Document::PaymentNotice(method)
                        ]
                    }]
                );
                assert_eq!(
                    at("finished"),
                    &end(SessionOutcome::Completed { payment: method }),
                    "{context}"
                );
                assert_eq!(
                    t[t.len() - 2].screen,
                    Screen::Finished {
                        payment: method,
                        business,
                        issue_by: date!(2027 - 01 - 24)
                    }
                );
                assert_eq!(kiosk.session.screen(), Screen::Welcome { notice: None });
                assert_eq!(
                    kiosk.session.poll_timeout(),
                    None,
                    "idle start screen arms no timer"
                );
            }
        }
    }
}

#[test]
fn start_screens_say_the_session_is_recorded_and_temporary_cards_are_not_offered() {
    let kiosk = Kiosk::new();
    let welcome = kiosk.session.screen();
    assert_eq!(
        (welcome.step(), welcome.title()),
        (1, prompts::STEP_TITLES[0])
    );
    for screen in [welcome, Screen::Business] {
        assert!(screen.notices().contains(&prompts::VIDEO_AND_LEGAL_NOTICE));
        assert!(screen.notices().contains(&prompts::NO_TEMPORARY_CARDS));
    }
    assert!(!kiosk.session.is_running());
}

#[test]
fn unreadable_card_refers_and_goes_back_to_step_1() {
    let mut events = through_step_3(Business::ExpiryRenewal, Household::Local);
    events.pop();
    events.push(Event::CardUnreadable);
    let (kiosk, t) = walk(&events);
    assert_eq!(t[3].commands, vec![Command::ReadCard]);
    let last = t.last().expect("transitions");
    assert_eq!(
        last.screen,
        Screen::Welcome {
            notice: Some(prompts::CARD_UNREADABLE)
        }
    );
    assert_eq!(last.screen.step(), 1);
    assert_eq!(
        last.commands,
        end(referred(3, ReferralReason::CardUnreadable))
    );
    assert!(!kiosk.session.is_running());
}

#[test]
fn card_carrying_another_number_has_its_own_prompt_then_refers() {
    let other = "11010519491231002X";
    let mut events = through_step_3(Business::ExpiryRenewal, Household::Local);
    events.pop();
    events.push(card(other));
    let (mut kiosk, t) = walk(&events);
    let expected = Screen::IdNumber {
        business: Business::ExpiryRenewal,
        portrait_form: false,
        error: Some(prompts::CARD_MISMATCH),
        typed: None,
    };
    assert_eq!(t.last().expect("transitions").screen, expected);
    // Second mismatch: still the prompt; third: referral with the rules' code.
    kiosk.walk(&[Event::IdNumberEntered(ID.to_owned()), card(other)]);
    assert_eq!(kiosk.session.screen(), expected);
    kiosk.send(Event::IdNumberEntered(ID.to_owned()));
    let t = kiosk.send(card(other));
    assert_eq!(
        t.screen,
        Screen::Referred {
            step: 3,
            prompt: prompts::CARD_MISMATCH
        }
    );
    assert_eq!(
        t.commands,
        end(referred(3, ReferralReason::Scope(Reason::CardMismatch)))
    );
    assert_eq!(
        ReferralReason::Scope(Reason::CardMismatch).code(),
        "card_mismatch"
    );
}

/// One keypad entry and the prompt it must produce.
fn check_keypad(input: &str, expected: Prompt) {
    let (mut kiosk, _) = walk(&[
        start(),
        Event::BusinessChosen(Business::Damaged),
        Event::HouseholdChosen(Household::Local),
    ]);
    let t = kiosk.send(Event::IdNumberEntered(input.to_owned()));
    let Screen::IdNumber {
        business,
        portrait_form,
        error,
        typed,
    } = t.screen
    else {
        panic!("{input}: {:?}", t.screen)
    };
    assert_eq!(
        (business, portrait_form, error),
        (Business::Damaged, false, Some(expected)),
        "{input}"
    );
    // What was typed stays on the screen.
    assert_eq!(
        typed.map(|t| t.text),
        Some(input.trim().to_owned()),
        "{input}"
    );
    assert!(t.commands.is_empty());
}

#[test]
fn invalid_typed_number_names_the_field() {
    check_keypad("110105194912310021", prompts::ID_CHECK_DIGIT);
    check_keypad("320402198502290016", prompts::ID_BIRTH_DATE);
    check_keypad("110105194912", prompts::ID_LENGTH);
    check_keypad("110105491231002", prompts::ID_FIRST_GENERATION);
    check_keypad("11010519491231002Y", prompts::ID_CHARACTERS);
    check_keypad("990105194912310024", prompts::ID_REGION);
    // A birth date after the session's date is refused too.
    check_keypad("320104202701010012", prompts::ID_BIRTH_DATE);
}

/// The center's masked identity of `ID`'s record, before a portrait form.
fn identity(name_masked: Option<&str>) -> Event {
    Event::IdentityFound {
        name_masked: name_masked.map(str::to_owned),
    }
}

fn portrait_confirm(masked_name: Option<&str>) -> Screen {
    Screen::PortraitFormConfirm {
        masked_id: "320104********0044".to_owned(),
        masked_name: masked_name.map(str::to_owned),
    }
}

#[test]
fn lost_applicant_prints_the_portrait_form_and_leaves() {
    let (kiosk, t) = walk(&[
        start(),
        Event::BusinessChosen(Business::Lost),
        Event::HouseholdChosen(Household::Province),
        Event::PortraitFormRequested(ID.to_lowercase()),
        identity(Some("*小明")),
        Event::Confirm,
        Event::PrintResult(PrintResult::Printed),
    ]);
    assert_eq!(
        t[2].screen,
        Screen::IdNumber {
            business: Business::Lost,
            portrait_form: true,
            error: None,
            typed: None,
        }
    );
    assert_eq!(t[3].screen, Screen::PortraitFormChecking);
    assert_eq!(
        t[3].commands,
        vec![Command::CallCenterIdentity { id: id() }]
    );
    assert_eq!(t[4].screen, portrait_confirm(Some("*小明")));
    assert_eq!(t[4].commands, Vec::new());
    assert_eq!(t[5].screen, Screen::PrintingPortraitForm);
    // The form of a lost replacement says 丢失补领.
    assert_eq!(
        t[5].commands,
        vec![Command::PrintPortraitForm {
            id: id(),
            application: PortraitApplication::Business(Business::Lost)
        }]
    );
    assert_eq!(t[6].screen, Screen::PortraitFormPrinted);
    assert!(t[3..].iter().all(|t| t.screen.step() == 3));
    assert_eq!(t[6].commands, end(SessionOutcome::PortraitFormPrinted));
    assert!(!kiosk.session.is_running());
}

#[test]
fn first_time_applicant_prints_the_portrait_form() {
    let (_, t) = walk(&[
        start(),
        Event::PortraitFormChosen,
        Event::PortraitFormRequested("123".to_owned()),
        Event::PortraitFormRequested(ID.to_owned()),
        identity(Some("*小明")),
        Event::Confirm,
        Event::PrintResult(PrintResult::PrinterFault),
    ]);
    assert_eq!(
        t[1].screen,
        Screen::PortraitFormNumber {
            error: None,
            typed: None
        }
    );
    assert_eq!(
        t[2].screen,
        Screen::PortraitFormNumber {
            error: Some(prompts::ID_LENGTH),
            typed: Some(TypedId {
                text: "123".to_owned(),
                wrong: None,
            }),
        }
    );
    assert_eq!(
        t[3].commands,
        vec![Command::CallCenterIdentity { id: id() }]
    );
    // A first-time applicant's form says 首次申领, not 丢失补领 (it did: the kiosk sent no
    // application type and the center printed its default, lost).
    assert_eq!(
        t[5].commands,
        vec![Command::PrintPortraitForm {
            id: id(),
            application: PortraitApplication::FirstTime
        }]
    );
    assert_eq!(
        t[6].screen,
        Screen::Referred {
            step: 3,
            prompt: prompts::PRINT_FAILED
        }
    );
    let mut cancelled = vec![Command::CancelPrintJobs];
    cancelled.extend(end(referred(3, ReferralReason::PrinterFault)));
    assert_eq!(t[6].commands, cancelled);
}

/// Issue 14: a typed number printed its portrait form (name, sex, birth date) at once. Now the
/// center's masked identity comes first and only the citizen's confirm prints; back returns to
/// the keypad the form was asked from.
#[test]
fn portrait_form_prints_only_after_the_masked_identity_is_confirmed() {
    let ways: [(Vec<Event>, Screen); 2] = [
        (
            vec![start(), Event::PortraitFormChosen],
            Screen::PortraitFormNumber {
                error: None,
                typed: None,
            },
        ),
        (
            vec![
                start(),
                Event::BusinessChosen(Business::Lost),
                Event::HouseholdChosen(Household::Local),
            ],
            Screen::IdNumber {
                business: Business::Lost,
                portrait_form: true,
                error: None,
                typed: None,
            },
        ),
    ];
    for (to_keypad, keypad) in ways {
        let (mut kiosk, _) = walk(&to_keypad);
        let t = kiosk.send(Event::PortraitFormRequested(ID.to_owned()));
        assert!(
            !t.commands
                .iter()
                .any(|c| matches!(c, Command::PrintPortraitForm { .. })),
            "nothing printed before the identity is confirmed"
        );
        // Waiting for the center is bounded like step 4's wait.
        assert_eq!(kiosk.session.poll_timeout(), Some(kiosk.now.plus(30_000)));
        for early in [Event::Confirm, Event::Back, Event::Cancel] {
            let name = early.name();
            assert!(kiosk.try_send(early).is_err(), "{name} while checking");
        }
        // A name in clear (a center that forgot to mask) is masked all the same.
        let t = kiosk.send(identity(Some("欧阳娜娜")));
        assert_eq!(t.screen, portrait_confirm(Some("**娜娜")));
        assert_eq!(t.screen.name(), "portrait_form_confirm");
        assert_eq!(kiosk.session.poll_timeout(), Some(kiosk.now.plus(60_000)));
        let t = kiosk.send(Event::Back);
        assert_eq!((t.screen, t.commands), (keypad.clone(), Vec::new()));

        // Ending the session on the confirm screen prints nothing.
        let (mut kiosk, _) = walk(&to_keypad);
        kiosk.walk(&[
            Event::PortraitFormRequested(ID.to_owned()),
            identity(Some("*小明")),
        ]);
        let t = kiosk.send(Event::Cancel);
        assert_eq!(t.screen, Screen::ConfirmEnd { step: 3 });
        let t = kiosk.send(Event::Confirm);
        assert_eq!(t.commands, end(referred(3, ReferralReason::Cancelled)));
    }
}

/// A number without a population record prints nothing: the confirm screen shows the number
/// without a name (back corrects a typo), and confirming refers the citizen with the prompt step
/// 5 gives `not_found`.
#[test]
fn portrait_form_of_a_number_without_a_record_is_refused_like_step_5() {
    let (_, t) = walk(&[
        start(),
        Event::PortraitFormChosen,
        Event::PortraitFormRequested(ID.to_owned()),
        identity(None),
        Event::Back,
        Event::PortraitFormRequested(ID.to_owned()),
        identity(None),
        Event::Confirm,
    ]);
    assert_eq!(t[3].screen, portrait_confirm(None));
    assert_eq!(
        t[4].screen,
        Screen::PortraitFormNumber {
            error: None,
            typed: None
        }
    );
    let refused = t.last().expect("transitions");
    assert_eq!(
        refused.screen,
        Screen::Referred {
            step: 3,
            prompt: prompts::OUT_OF_SCOPE
        }
    );
    assert_eq!(Reason::NotFound.prompt(), prompts::OUT_OF_SCOPE);
    assert_eq!(
        refused.commands,
        end(referred(3, ReferralReason::Scope(Reason::NotFound)))
    );
}

#[test]
fn portrait_identity_unavailable_or_silent_refers_as_service_unavailable() {
    let events = [
        start(),
        Event::PortraitFormChosen,
        Event::PortraitFormRequested(ID.to_owned()),
    ];
    let (mut kiosk, _) = walk(&events);
    let t = kiosk.send(Event::CenterUnavailable);
    assert_eq!(
        t.screen,
        Screen::Referred {
            step: 3,
            prompt: prompts::SERVICE_UNAVAILABLE
        }
    );
    assert_eq!(
        t.commands,
        end(referred(3, ReferralReason::ServiceUnavailable))
    );
    let (mut kiosk, _) = walk(&events);
    assert_eq!(
        kiosk.expire().commands,
        end(referred(3, ReferralReason::ServiceUnavailable))
    );
}

/// Crash safety of the portrait path: the identity call is repeated, the confirm screen comes
/// back as it was (nothing to repeat), a crash while printing is a printer fault.
#[test]
fn portrait_path_resumes_safely() {
    let config = SessionConfig::default();
    let mut events = vec![
        start(),
        Event::BusinessChosen(Business::Lost),
        Event::HouseholdChosen(Household::Province),
        Event::PortraitFormRequested(ID.to_owned()),
    ];
    let resume = |events: &[Event]| {
        let (kiosk, _) = walk(events);
        let json = serde_json::to_string(&kiosk.session.snapshot()).expect("serialize");
        Session::resume(
            config.clone(),
            serde_json::from_str(&json).expect("deserialize"),
            Millis(5),
        )
    };
    let (_, t) = resume(&events);
    assert_eq!(t.screen, Screen::PortraitFormChecking);
    assert_eq!(t.commands[1..], [Command::CallCenterIdentity { id: id() }]);

    events.push(identity(Some("*小明")));
    let (mut resumed, t) = resume(&events);
    assert_eq!(t.screen, portrait_confirm(Some("*小明")));
    assert!(matches!(
        t.commands.as_slice(),
        [Command::StartVideo { .. }]
    ));
    // Back goes to the keypad of the lost replacement, its household kept.
    let back = resumed.handle(Event::Back, Millis(10)).expect("back");
    assert_eq!(
        back.screen,
        Screen::IdNumber {
            business: Business::Lost,
            portrait_form: true,
            error: None,
            typed: None,
        }
    );

    events.push(Event::Confirm);
    let (resumed, t) = resume(&events);
    assert_eq!(t.commands[1], Command::CancelPrintJobs);
    assert_eq!(
        t.commands[2..],
        end(referred(3, ReferralReason::PrinterFault))[..]
    );
    assert!(!resumed.is_running());
}

#[test]
fn portrait_form_is_not_offered_to_damaged_or_renewal() {
    for business in [Business::Damaged, Business::ExpiryRenewal] {
        let (mut kiosk, _) = walk(&[
            start(),
            Event::BusinessChosen(business),
            Event::HouseholdChosen(Household::Local),
        ]);
        let before = kiosk.session.snapshot();
        let error = kiosk
            .try_send(Event::PortraitFormRequested(ID.to_owned()))
            .expect_err("not offered");
        assert_eq!(
            (error.event, error.screen),
            ("portrait_form_requested", "id_number")
        );
        assert_eq!(kiosk.session.snapshot(), before);
    }
}

#[test]
fn confirm_shows_masked_number_and_masked_compound_surname() {
    let mut events = through_step_3(Business::Lost, Household::Local);
    events.push(refuse(Reason::Under16));
    let (_, t) = walk(&events);
    assert_eq!(
        t.last().expect("transitions").screen,
        Screen::Confirm {
            masked_id: "320104********0044".to_owned(),
            masked_name: Some("**娜娜".to_owned())
        }
    );
    // No record: no name; the number is still shown so a typo can be corrected.
    let mut events = through_step_3(Business::Lost, Household::Local);
    events.extend([
        Event::ScopeDecided {
            decision: Decision::Refer(Reason::NotFound),
            name: None,
        },
        Event::Back,
    ]);
    let (_, t) = walk(&events);
    assert_eq!(
        t[4].screen,
        Screen::Confirm {
            masked_id: "320104********0044".to_owned(),
            masked_name: None
        }
    );
    assert_eq!(
        t[5].screen,
        Screen::IdNumber {
            business: Business::Lost,
            portrait_form: true,
            error: None,
            typed: None,
        }
    );
}

/// A refusal of step 5 and the prompt it must show.
fn check_refusal(business: Business, reason: Reason, prompt: Prompt) {
    let mut events = through_step_3(business, Household::Province);
    events.extend([refuse(reason), Event::Confirm]);
    let (kiosk, t) = walk(&events);
    let last = t.last().expect("transitions");
    assert_eq!(
        last.screen,
        Screen::Referred { step: 5, prompt },
        "{reason:?}"
    );
    assert_eq!(last.screen.error(), Some(prompt));
    assert_eq!(
        last.commands,
        end(referred(5, ReferralReason::Scope(reason))),
        "{reason:?}"
    );
    assert!(!kiosk.session.is_running());
    assert!(
        kiosk.session.poll_timeout().is_some(),
        "the result screen returns to the start by itself"
    );
}

#[test]
fn refusals_with_their_own_prompt() {
    check_refusal(Business::Lost, Reason::Under16, prompts::UNDER_16);
    check_refusal(
        Business::ExpiryRenewal,
        Reason::NotInRenewalWindow,
        prompts::NOT_IN_RENEWAL_WINDOW,
    );
    check_refusal(
        Business::Lost,
        Reason::NotFloatingRegistered,
        prompts::NOT_REGISTERED_IN_CITY,
    );
    check_refusal(
        Business::ExpiryRenewal,
        Reason::CardMismatch,
        prompts::CARD_MISMATCH,
    );
}

#[test]
fn refusals_with_the_generic_step_5_prompt() {
    for reason in [
        Reason::NotFound,
        Reason::RecordNotNormal,
        Reason::HouseholdOutsideProvince,
        Reason::NoHistoryPhoto,
        Reason::ApplicationInProgress,
    ] {
        check_refusal(Business::Damaged, reason, prompts::OUT_OF_SCOPE);
    }
}

#[test]
fn wrong_household_choice_offers_going_back_to_step_2() {
    let mut events = through_step_3(Business::Lost, Household::Local);
    events.extend([refuse(Reason::WrongHouseholdChoice), Event::Confirm]);
    let (mut kiosk, t) = walk(&events);
    let screen = &t.last().expect("transitions").screen;
    assert_eq!(
        (screen, screen.step(), screen.error()),
        (
            &Screen::WrongHousehold {
                other: Household::Province
            },
            5,
            Some(prompts::WRONG_HOUSEHOLD_CHOICE)
        )
    );
    let t = kiosk.send(Event::Back);
    assert_eq!(
        t.screen,
        Screen::Household {
            business: Business::Lost
        }
    );
    assert!(t.commands.is_empty());
    kiosk.walk(&[
        Event::HouseholdChosen(Household::Province),
        Event::IdNumberEntered(ID.to_owned()),
    ]);
    kiosk.walk(&[accept(Business::Lost), Event::Confirm]);
    assert_eq!(kiosk.session.screen().name(), "in_scope");

    // Declining the offer ends with the rules' code.
    let mut events = through_step_3(Business::Lost, Household::Local);
    events.extend([
        refuse(Reason::WrongHouseholdChoice),
        Event::Confirm,
        Event::Confirm,
    ]);
    let (_, t) = walk(&events);
    assert_eq!(
        t.last().expect("transitions").commands,
        end(referred(
            5,
            ReferralReason::Scope(Reason::WrongHouseholdChoice)
        ))
    );
}

#[test]
fn receipt_not_found_asks_to_scan_again_a_bounded_number_of_times() {
    let (mut kiosk, _) = walk(&through_step_5(Business::Damaged, Household::Local));
    let not_found = Screen::ScanReceipt {
        error: Some(prompts::PHOTO_RECEIPT_NOT_FOUND),
    };
    kiosk.send(Event::ReceiptScanned(RECEIPT.to_owned()));
    assert_eq!(
        kiosk
            .send(Event::ReceiptAnswer(ReceiptAnswer::NotFound))
            .screen,
        not_found
    );
    // A code that cannot be a receipt counts as a failed scan, without calling the photo system.
    let t = kiosk.send(Event::ReceiptScanned("short".to_owned()));
    assert_eq!((t.screen, t.commands), (not_found, vec![]));
    kiosk.send(Event::ReceiptScanned(RECEIPT.to_owned()));
    let t = kiosk.send(Event::ReceiptAnswer(ReceiptAnswer::NotFound));
    assert_eq!(
        t.screen,
        Screen::Referred {
            step: 6,
            prompt: prompts::RECEIPT_REFERRED
        }
    );
    assert_eq!(
        t.commands,
        end(referred(6, ReferralReason::ReceiptNotFound))
    );
}

#[test]
/// The kiosk obeys the center's verdict and keeps no thresholds of its own: the scores are shown
/// to nobody and decide nothing here (the bars and the strictly-above rule are the center's,
/// tested in face::verify).
fn the_centers_face_verdict_decides_step_7() {
    let mut base = through_step_5(Business::Damaged, Household::Local);
    base.extend([
        Event::ReceiptScanned(RECEIPT.to_owned()),
        Event::ReceiptAnswer(ReceiptAnswer::Found),
        Event::TakePhoto,
        Event::PhotoCaptured,
        Event::UsePhoto,
    ]);
    for (certified, live, pass) in [
        (95.01, 60.01, true),
        (99.0, 99.0, false),
        (10.0, 10.0, true),
        (f32::NAN, 99.0, false),
        (100.0, 100.0, true),
    ] {
        let mut events = base.clone();
        events.push(verdict(certified, live, pass));
        let (_, t) = walk(&events);
        let last = t.last().expect("transitions");
        if pass {
            assert_eq!(
                last.screen,
                Screen::Mobile { error: None },
                "{certified} {live}"
            );
        } else {
            assert_eq!(
                last.screen,
                Screen::Referred {
                    step: 7,
                    prompt: prompts::FACE_COMPARISON_FAILED
                }
            );
            assert_eq!(
                last.commands,
                end(referred(7, ReferralReason::FaceMismatch))
            );
        }
    }
}

#[test]
fn unusable_live_photo_is_retaken_then_referred() {
    let mut events = through_step_5(Business::Damaged, Household::Local);
    events.extend([
        Event::ReceiptScanned(RECEIPT.to_owned()),
        Event::ReceiptAnswer(ReceiptAnswer::Found),
    ]);
    let (mut kiosk, _) = walk(&events);
    for _ in 0..2 {
        kiosk.send(Event::TakePhoto);
        assert_eq!(
            kiosk.send(Event::PhotoUnusable).screen,
            Screen::LivePhoto {
                error: Some(prompts::PHOTO_UNUSABLE)
            }
        );
    }
    kiosk.send(Event::TakePhoto);
    assert_eq!(
        kiosk.send(Event::PhotoUnusable).commands,
        end(referred(7, ReferralReason::PhotoUnusable))
    );
}

#[test]
fn mobile_invalid_or_mismatched_is_entered_again() {
    let mut events = through_step_10(Business::Damaged);
    events.truncate(events.len() - 3);
    let (mut kiosk, _) = walk(&events);
    assert_eq!(kiosk.session.screen(), Screen::Mobile { error: None });
    let invalid = Screen::Mobile {
        error: Some(prompts::MOBILE_INVALID),
    };
    let mismatch = Screen::Mobile {
        error: Some(prompts::MOBILE_MISMATCH),
    };
    for (first, second, screen) in [
        ("12345678901", "12345678901", &invalid),
        ("13800138000", "1380013800", &invalid),
        ("15400138000", "15400138000", &invalid),
        ("13800138000", "13800138001", &mismatch),
    ] {
        let t = kiosk.send(mobile(first, second));
        assert_eq!(
            (&t.screen, t.commands.len()),
            (screen, 0),
            "{first} {second}"
        );
    }
    let t = kiosk.send(mobile("19912345678", "199-1234-5678"));
    assert_eq!(
        (t.screen, t.commands),
        (
            Screen::Fingerprints {
                finger: Finger::RightIndex,
                number: 1,
                error: None,
                problem: None,
            },
            vec![Command::CaptureFingerprints]
        )
    );
}

/// A kiosk on the fingerprint screen (step 9) of a damaged-card replacement.
fn at_fingerprints(config: SessionConfig) -> Kiosk {
    let mut events = through_step_10(Business::Damaged);
    events.truncate(events.len() - 2);
    let mut kiosk = Kiosk::with(config);
    kiosk.walk(&events);
    kiosk
}

fn press(number: u8, finger: Finger, press: FingerPress) -> Event {
    Event::FingerprintPress {
        number,
        finger,
        press,
    }
}

fn finger_screen(finger: Finger, number: u8, problem: Option<PressProblem>) -> Screen {
    Screen::Fingerprints {
        finger,
        number,
        error: problem.map(|_| prompts::FINGERPRINT_POOR_PRESS),
        problem,
    }
}

// Issue 15: one smudged press ended the session with the step-9 failure; it must ask again,
// with the reason, naming the finger and "1 of 2".
#[test]
fn a_poor_press_asks_for_the_same_finger_again_with_the_reason() {
    let mut kiosk = at_fingerprints(SessionConfig::default());
    let t = kiosk.send(press(1, Finger::RightIndex, FingerPress::Asked));
    assert_eq!(t.screen, finger_screen(Finger::RightIndex, 1, None));
    let smudged = Some(PressProblem::Smudged);
    let t = kiosk.send(press(
        1,
        Finger::RightIndex,
        FingerPress::Poor(PressProblem::Smudged),
    ));
    assert_eq!(
        (&t.screen, t.commands.len()),
        (&finger_screen(Finger::RightIndex, 1, smudged), 0)
    );
    assert_eq!(t.screen.error(), Some(prompts::FINGERPRINT_POOR_PRESS));
    assert_eq!(
        prompts::FINGERPRINT_POOR_PRESS.zh,
        "指纹图像不清晰，请抬起手指后重新按压。"
    );
    // Asked again for the same finger: the reason stays until a press passes.
    let t = kiosk.send(press(1, Finger::RightIndex, FingerPress::Asked));
    assert_eq!(t.screen, finger_screen(Finger::RightIndex, 1, smudged));
    let t = kiosk.send(press(1, Finger::RightIndex, FingerPress::Passed));
    assert_eq!(t.screen, finger_screen(Finger::RightIndex, 1, None));
    let t = kiosk.send(press(2, Finger::LeftIndex, FingerPress::Asked));
    assert_eq!(t.screen, finger_screen(Finger::LeftIndex, 2, None));
    let t = kiosk.send(Event::FingerprintsCaptured);
    assert_eq!(t.screen, Screen::Signature);
}

#[test]
fn the_third_poor_press_of_a_finger_refers_at_step_9() {
    let mut kiosk = at_fingerprints(SessionConfig::default());
    let partial = press(
        1,
        Finger::RightIndex,
        FingerPress::Poor(PressProblem::Partial),
    );
    let light = press(
        1,
        Finger::RightIndex,
        FingerPress::Poor(PressProblem::TooLight),
    );
    kiosk.send(partial.clone());
    let t = kiosk.send(light);
    assert_eq!(
        t.screen,
        finger_screen(Finger::RightIndex, 1, Some(PressProblem::TooLight))
    );
    let t = kiosk.send(partial);
    assert_eq!(
        t.screen,
        Screen::Referred {
            step: 9,
            prompt: prompts::FINGERPRINT_FAILED
        }
    );
    assert_eq!(
        t.commands,
        end(referred(9, ReferralReason::FingerprintFailed))
    );
}

#[test]
fn each_finger_has_its_own_tries() {
    let mut kiosk = at_fingerprints(SessionConfig::default());
    let smudged = FingerPress::Poor(PressProblem::Smudged);
    kiosk.send(press(1, Finger::RightIndex, smudged));
    kiosk.send(press(1, Finger::RightIndex, smudged));
    // The second finger starts afresh, without the first one's reason.
    let t = kiosk.send(press(2, Finger::LeftIndex, FingerPress::Asked));
    assert_eq!(t.screen, finger_screen(Finger::LeftIndex, 2, None));
    kiosk.send(press(2, Finger::LeftIndex, smudged));
    let t = kiosk.send(press(2, Finger::LeftIndex, smudged));
    assert_eq!(t.screen.name(), "fingerprints");
    let t = kiosk.send(press(2, Finger::LeftIndex, smudged));
    assert_eq!(t.screen.name(), "referred");
    // A passing press does not give tries back.
    let mut kiosk = at_fingerprints(SessionConfig::default());
    kiosk.send(press(1, Finger::RightIndex, smudged));
    kiosk.send(press(1, Finger::RightIndex, FingerPress::Passed));
    kiosk.send(press(1, Finger::RightIndex, smudged));
    let t = kiosk.send(press(1, Finger::RightIndex, smudged));
    assert_eq!(t.screen.name(), "referred");
}

#[test]
fn fingerprint_tries_are_configurable() {
    let config = SessionConfig {
        fingerprint_tries: 1,
        ..SessionConfig::default()
    };
    let mut kiosk = at_fingerprints(config);
    let t = kiosk.send(press(
        1,
        Finger::RightIndex,
        FingerPress::Poor(PressProblem::Smudged),
    ));
    assert_eq!(t.screen.name(), "referred");
    assert_eq!(SessionConfig::default().fingerprint_tries, 3);
    // A configuration written before the setting existed reads the default.
    let mut json = serde_json::to_value(SessionConfig::default()).expect("serialize");
    json.as_object_mut()
        .expect("object")
        .remove("fingerprint_tries");
    let config: SessionConfig = serde_json::from_value(json).expect("deserialize");
    assert_eq!(config.fingerprint_tries, 3);
}

#[test]
fn a_finger_number_other_than_1_or_2_is_refused() {
    let mut kiosk = at_fingerprints(SessionConfig::default());
    let error = kiosk
        .try_send(press(3, Finger::RightIndex, FingerPress::Asked))
        .expect_err("refused");
    assert_eq!(error.event, "fingerprint_press");
}

#[test]
fn poor_presses_survive_a_restart() {
    let mut kiosk = at_fingerprints(SessionConfig::default());
    let smudged = press(
        1,
        Finger::RightIndex,
        FingerPress::Poor(PressProblem::Smudged),
    );
    kiosk.send(smudged.clone());
    kiosk.send(smudged.clone());
    let json = serde_json::to_string(&kiosk.session.snapshot()).expect("serialize");
    let (mut resumed, t) = Session::resume(
        SessionConfig::default(),
        serde_json::from_str(&json).expect("deserialize"),
        Millis(5),
    );
    assert_eq!(
        t.screen,
        finger_screen(Finger::RightIndex, 1, Some(PressProblem::Smudged))
    );
    assert!(t.commands.contains(&Command::CaptureFingerprints));
    let t = resumed.handle(smudged, Millis(6)).expect("fits");
    assert_eq!(t.screen.name(), "referred");
}

// Issue 15: a used receipt was reported as "not found, scan again" forever.
#[test]
fn used_expired_and_other_person_receipts_get_their_own_message() {
    for (answer, prompt) in [
        (ReceiptAnswer::AlreadyUsed, prompts::PHOTO_RECEIPT_USED),
        (ReceiptAnswer::Expired, prompts::PHOTO_RECEIPT_EXPIRED),
        (
            ReceiptAnswer::OtherPerson,
            prompts::PHOTO_RECEIPT_OTHER_PERSON,
        ),
    ] {
        let (mut kiosk, _) = walk(&through_step_5(Business::Damaged, Household::Local));
        kiosk.send(Event::ReceiptScanned(RECEIPT.to_owned()));
        let t = kiosk.send(Event::ReceiptAnswer(answer));
        assert_eq!(
            (t.screen, t.commands),
            (
                Screen::ScanReceipt {
                    error: Some(prompt)
                },
                vec![]
            )
        );
    }
    assert_eq!(
        prompts::PHOTO_RECEIPT_USED.zh,
        "该照片回执已使用，请联系照相馆或工作人员。"
    );
    assert_eq!(
        prompts::PHOTO_RECEIPT_EXPIRED.zh,
        "该照片回执已过期，请重新拍摄证件照。"
    );
    assert_eq!(
        prompts::PHOTO_RECEIPT_OTHER_PERSON.zh,
        "该照片回执不属于您，请确认后重新扫描。"
    );
    // They count as scans without a photo: the third refusal refers.
    let (mut kiosk, _) = walk(&through_step_5(Business::Damaged, Household::Local));
    for answer in [ReceiptAnswer::OtherPerson, ReceiptAnswer::Expired] {
        kiosk.send(Event::ReceiptScanned(RECEIPT.to_owned()));
        kiosk.send(Event::ReceiptAnswer(answer));
    }
    kiosk.send(Event::ReceiptScanned(RECEIPT.to_owned()));
    let t = kiosk.send(Event::ReceiptAnswer(ReceiptAnswer::AlreadyUsed));
    assert_eq!(
        t.commands,
        end(referred(6, ReferralReason::ReceiptNotFound))
    );
}

/// The keypad screen after `input`: what was typed and the marked characters.
fn typed_after(input: &str) -> Option<TypedId> {
    let (mut kiosk, _) = walk(&[
        start(),
        Event::BusinessChosen(Business::Damaged),
        Event::HouseholdChosen(Household::Local),
    ]);
    match kiosk.send(Event::IdNumberEntered(input.to_owned())).screen {
        Screen::IdNumber { typed, .. } => typed,
        other => panic!("{input}: {other:?}"),
    }
}

// Issue 15: a wrong check digit emptied all 18 characters.
#[test]
fn a_wrong_id_number_stays_typed_with_the_wrong_characters_marked() {
    let wrong_check = "320104200012100045";
    let typed = typed_after(wrong_check).expect("kept");
    assert_eq!(typed.text, wrong_check);
    assert_eq!(typed.wrong, Some(17..18));
    assert_eq!(
        typed.parts(),
        (
            "32010420001210004".to_owned(),
            "5".to_owned(),
            String::new()
        )
    );
    assert_eq!(
        typed_after("999999200012100044").expect("kept").wrong,
        Some(0..6)
    );
    assert_eq!(
        typed_after("320104200013400044").expect("kept").wrong,
        Some(6..14)
    );
    assert_eq!(
        typed_after("3201042000X2100044").expect("kept").wrong,
        Some(10..11)
    );
    assert_eq!(typed_after("3201042000").expect("kept").wrong, None);
    // The correction goes on as usual and the typed text does not follow.
    let (mut kiosk, _) = walk(&[
        start(),
        Event::BusinessChosen(Business::Damaged),
        Event::HouseholdChosen(Household::Local),
        Event::IdNumberEntered(wrong_check.to_owned()),
    ]);
    assert_eq!(
        kiosk.send(Event::IdNumberEntered(ID.to_owned())).screen,
        Screen::Checking
    );
}

#[test]
fn the_portrait_form_keypad_keeps_the_wrong_number_too() {
    let (_, t) = walk(&[
        start(),
        Event::PortraitFormChosen,
        Event::PortraitFormRequested("320104200012100045".to_owned()),
    ]);
    assert_eq!(
        t[2].screen,
        Screen::PortraitFormNumber {
            error: Some(prompts::ID_CHECK_DIGIT),
            typed: Some(TypedId {
                text: "320104200012100045".to_owned(),
                wrong: Some(17..18),
            }),
        }
    );
}

#[test]
fn fingerprint_failure_refers_to_the_window() {
    let mut events = through_step_10(Business::Lost);
    events.truncate(events.len() - 2);
    events.push(Event::FingerprintsFailed {
        reason: FingerprintFailure::PoorQuality,
        attempts: 3,
    });
    let (_, t) = walk(&events);
    let last = t.last().expect("transitions");
    assert_eq!(
        last.screen,
        Screen::Referred {
            step: 9,
            prompt: prompts::FINGERPRINT_FAILED
        }
    );
    assert_eq!(
        last.commands,
        end(referred(9, ReferralReason::FingerprintFailed))
    );
    assert_eq!(
        ReferralReason::FingerprintFailed.code(),
        "fingerprint_failed"
    );
}

#[test]
fn declined_payment_can_be_retried_or_paid_another_way() {
    let (mut kiosk, _) = walk(&through_step_10(Business::ExpiryRenewal));
    kiosk.send(Event::PaymentMethodChosen(PaymentMethod::WeChat));
    let t = kiosk.send(paid(1, PaymentResult::Declined));
    assert_eq!(
        t.screen,
        Screen::Payment {
            fee_cny: 20,
            error: Some(prompts::PAYMENT_DECLINED)
        }
    );
    let t = kiosk.send(Event::PaymentMethodChosen(PaymentMethod::UnionPay));
    assert_eq!(
        t.screen,
        Screen::Paying {
            method: PaymentMethod::UnionPay,
            fee_cny: 20
        }
    );
    assert_eq!(
        t.commands,
        vec![Command::CreatePayment {
            method: PaymentMethod::UnionPay,
            amount_fen: 2000,
            attempt: 2
        }]
    );
    // A late answer for the first attempt is refused and changes nothing.
    let before = kiosk.session.snapshot();
    assert!(kiosk.try_send(paid(1, PaymentResult::Paid)).is_err());
    assert_eq!(kiosk.session.snapshot(), before);
    let t = kiosk.send(paid(2, PaymentResult::Expired));
    assert_eq!(
        t.screen,
        Screen::Payment {
            fee_cny: 20,
            error: Some(prompts::PAYMENT_EXPIRED)
        }
    );
    kiosk.send(Event::PaymentMethodChosen(PaymentMethod::UnionPay));
    let t = kiosk.send(paid(3, PaymentResult::Declined));
    assert_eq!(
        t.screen,
        Screen::Referred {
            step: 11,
            prompt: prompts::PAYMENT_REFERRED
        }
    );
    assert_eq!(t.commands, end(referred(11, ReferralReason::PaymentFailed)));
}

#[test]
fn payment_left_open_past_its_time_is_closed_and_counts_as_expired() {
    let (mut kiosk, _) = walk(&through_step_10(Business::Lost));
    kiosk.send(Event::PaymentMethodChosen(PaymentMethod::WeChat));
    assert_eq!(kiosk.session.poll_timeout(), Some(kiosk.now.plus(180_000)));
    // Touches do not shorten or extend an open payment.
    kiosk.send(Event::Activity);
    let t = kiosk.expire();
    assert_eq!(
        t.screen,
        Screen::Payment {
            fee_cny: 40,
            error: Some(prompts::PAYMENT_EXPIRED)
        }
    );
    assert_eq!(
        t.commands,
        vec![Command::CancelPayment {
            method: PaymentMethod::WeChat,
            attempt: 1
        }]
    );
}

/// Issue 15: the citizen who paid is told the payment is recorded and the window prints the
/// papers; the jobs left in the queue are cancelled so they do not come out twice later.
#[test]
fn print_failure_after_payment_refers_as_paid_not_printed() {
    let mut events = through_step_10(Business::Damaged);
    events.extend([
        Event::PaymentMethodChosen(PaymentMethod::WeChat),
        paid(1, PaymentResult::Paid),
    ]);
    let (kiosk, _) = walk(&events);
    let at_printing = kiosk.session.snapshot();
    events.push(Event::PrintResult(PrintResult::PrinterFault));
    let (_, t) = walk(&events);
    let last = t.last().expect("transitions");
    assert_eq!(
        last.screen,
        Screen::Referred {
            step: 12,
            prompt: prompts::PAID_NOT_PRINTED
        }
    );
    let mut expected = vec![Command::CancelPrintJobs];
    expected.extend(end(referred(12, ReferralReason::PaidNotPrinted)));
    assert_eq!(last.commands, expected);

    // The printer never answers: the same, when the wait runs out.
    let (mut kiosk, _) = walk(&events[..events.len() - 1]);
    let t = kiosk.expire();
    assert_eq!(
        (t.screen, t.commands),
        (
            Screen::Referred {
                step: 12,
                prompt: prompts::PAID_NOT_PRINTED
            },
            expected.clone()
        )
    );

    // A crash while printing: the same after the restart.
    let (resumed, t) = Session::resume(SessionConfig::default(), at_printing, Millis(0));
    assert_eq!(t.commands[1..], expected[..]);
    assert!(!resumed.is_running());
}

#[test]
fn center_failure_or_silence_refers_as_service_unavailable() {
    let mut events = through_step_3(Business::Lost, Household::Local);
    events.push(Event::CenterUnavailable);
    let (_, t) = walk(&events);
    assert_eq!(
        t.last().expect("transitions").commands,
        end(referred(4, ReferralReason::ServiceUnavailable))
    );

    let (mut kiosk, _) = walk(&through_step_3(Business::Lost, Household::Local));
    assert_eq!(kiosk.session.poll_timeout(), Some(kiosk.now.plus(30_000)));
    let t = kiosk.expire();
    assert_eq!(
        t.screen,
        Screen::Referred {
            step: 4,
            prompt: prompts::SERVICE_UNAVAILABLE
        }
    );
    assert_eq!(
        t.commands,
        end(referred(4, ReferralReason::ServiceUnavailable))
    );
}

/// Issue 14: the agent could not save a transition. From the state before it, a running session
/// ends as service_unavailable (what its stage started stopped first) on the out-of-service
/// screen; an idle or ended kiosk shows that screen with nothing to do.
#[test]
fn a_transition_that_could_not_be_saved_puts_the_kiosk_out_of_service() {
    let out_of_service = |step| Screen::Referred {
        step,
        prompt: prompts::OUT_OF_SERVICE,
    };
    let mut events = through_step_3(Business::ExpiryRenewal, Household::Local);
    events.pop();
    let (mut kiosk, _) = walk(&events);
    assert_eq!(kiosk.session.screen().name(), "place_card");
    let t = kiosk.send(Event::OutOfService);
    assert_eq!(t.screen, out_of_service(3));
    let mut expected = vec![Command::CancelReadCard];
    expected.extend(end(referred(3, ReferralReason::ServiceUnavailable)));
    assert_eq!(t.commands, expected);
    assert!(!kiosk.session.is_running());

    let mut idle = Kiosk::new();
    let t = idle.send(Event::OutOfService);
    assert_eq!((t.screen, t.commands), (out_of_service(1), Vec::new()));
    // Shown like any result, then the start screen (where the next save is tried again).
    let t = idle.expire();
    assert_eq!(t.screen.name(), "welcome");
    assert_eq!(
        prompts::OUT_OF_SERVICE.zh,
        "本机暂停服务，请到窗口办理。",
        "docs/domain.md section 11"
    );
}

#[test]
fn inactivity_shows_a_countdown_then_ends_and_wipes() {
    let (mut kiosk, _) = walk(&[start(), Event::BusinessChosen(Business::Lost)]);
    let touched = kiosk.now;
    assert_eq!(kiosk.session.poll_timeout(), Some(touched.plus(60_000)));
    // An early tick changes nothing.
    let t = kiosk
        .session
        .handle(Event::Tick, touched.plus(59_999))
        .expect("tick");
    assert_eq!(
        (t.screen, t.commands),
        (
            Screen::Household {
                business: Business::Lost
            },
            vec![]
        )
    );
    let t = kiosk.expire();
    assert_eq!(
        t.screen,
        Screen::Countdown {
            step: 2,
            seconds: 10
        }
    );
    assert_eq!(t.screen.error(), Some(prompts::INACTIVITY));
    assert_eq!(kiosk.session.poll_timeout(), Some(touched.plus(70_000)));
    // A touch brings the screen back, with a fresh minute.
    let t = kiosk
        .session
        .handle(Event::Activity, touched.plus(65_000))
        .expect("activity");
    assert_eq!(
        t.screen,
        Screen::Household {
            business: Business::Lost
        }
    );
    assert_eq!(kiosk.session.poll_timeout(), Some(touched.plus(125_000)));
    kiosk.expire();
    let t = kiosk.expire();
    assert_eq!(t.screen, Screen::Welcome { notice: None });
    assert_eq!(t.commands, end(referred(2, ReferralReason::Timeout)));
    assert_eq!(kiosk.session.poll_timeout(), None);
    assert!(!kiosk.session.is_running());
}

#[test]
fn timeout_while_reading_a_card_stops_the_reader() {
    let mut events = through_step_3(Business::ExpiryRenewal, Household::Local);
    events.pop();
    let (mut kiosk, _) = walk(&events);
    kiosk.expire();
    let t = kiosk.expire();
    let mut expected = vec![Command::CancelReadCard];
    expected.extend(end(referred(3, ReferralReason::Timeout)));
    assert_eq!(t.commands, expected);
}

#[test]
fn result_screen_returns_to_the_start_by_itself() {
    let mut events = through_step_3(Business::Lost, Household::Local);
    events.extend([refuse(Reason::Under16), Event::Confirm]);
    let (mut kiosk, _) = walk(&events);
    let t = kiosk.expire();
    assert_eq!(
        (t.screen, t.commands),
        (Screen::Welcome { notice: None }, vec![])
    );
}

#[test]
fn cancel_asks_to_confirm_then_ends_the_session_with_its_own_code() {
    let (mut kiosk, t) = walk(&[
        start(),
        Event::BusinessChosen(Business::Lost),
        Event::Cancel,
    ]);
    assert_eq!(t[2].screen, Screen::ConfirmEnd { step: 2 });
    assert!(t[2].commands.is_empty(), "one touch ends nothing");
    assert!(kiosk.session.is_running());
    // A second touch of "end" is not an answer.
    assert!(kiosk.try_send(Event::Cancel).is_err());
    let t = kiosk.send(Event::Confirm);
    assert_eq!(t.screen, Screen::Welcome { notice: None });
    assert_eq!(t.commands, end(referred(2, ReferralReason::Cancelled)));
}

#[test]
fn going_back_from_the_end_question_resumes_the_screen() {
    let (mut kiosk, _) = walk(&[
        start(),
        Event::BusinessChosen(Business::Lost),
        Event::HouseholdChosen(Household::Local),
        Event::IdNumberEntered("123".to_owned()),
    ]);
    let shown = kiosk.session.screen();
    kiosk.send(Event::Cancel);
    let t = kiosk.send(Event::Back);
    assert_eq!(
        t.screen, shown,
        "the screen as it was, typed number and all"
    );
    assert!(t.commands.is_empty());
    assert!(kiosk.session.is_running());
    // The question does not keep the session forever: walking away ends it as asked.
    kiosk.send(Event::Cancel);
    let t = kiosk.expire();
    assert_eq!(t.commands, end(referred(3, ReferralReason::Cancelled)));
}

/// Issue 15: the WeChat QR screen had no way out for three minutes.
#[test]
fn use_unionpay_instead_on_the_qr_screen_closes_the_wechat_order() {
    let mut events = through_step_10(Business::Lost);
    events.push(Event::PaymentMethodChosen(PaymentMethod::WeChat));
    let (mut kiosk, _) = walk(&events);
    let t = kiosk.send(Event::PaymentMethodChosen(PaymentMethod::UnionPay));
    assert_eq!(
        t.screen,
        Screen::Paying {
            method: PaymentMethod::UnionPay,
            fee_cny: 40
        }
    );
    assert_eq!(
        t.commands,
        vec![
            Command::CancelPayment {
                method: PaymentMethod::WeChat,
                attempt: 1
            },
            Command::CreatePayment {
                method: PaymentMethod::UnionPay,
                amount_fen: 4000,
                attempt: 2
            }
        ]
    );
    // The closed WeChat attempt's late answer counts for nothing; the terminal's does.
    assert!(kiosk.try_send(paid(1, PaymentResult::Paid)).is_err());
    let t = kiosk.send(paid(2, PaymentResult::Paid));
    assert_eq!(t.screen, Screen::Printing);
    // No way back from the terminal while a card may be in it.
    let mut events = events.clone();
    events.push(Event::PaymentMethodChosen(PaymentMethod::UnionPay));
    let (mut kiosk, _) = walk(&events);
    assert!(kiosk
        .try_send(Event::PaymentMethodChosen(PaymentMethod::WeChat))
        .is_err());
    assert!(kiosk.try_send(Event::Cancel).is_err());
}

#[test]
fn ending_on_the_qr_screen_asks_then_closes_the_order() {
    let mut events = through_step_10(Business::Lost);
    events.push(Event::PaymentMethodChosen(PaymentMethod::WeChat));
    let (mut kiosk, _) = walk(&events);
    let t = kiosk.send(Event::Cancel);
    assert_eq!(t.screen, Screen::ConfirmEnd { step: 11 });
    assert!(t.commands.is_empty());
    let t = kiosk.send(Event::Confirm);
    let mut expected = vec![Command::CancelPayment {
        method: PaymentMethod::WeChat,
        attempt: 1,
    }];
    expected.extend(end(referred(11, ReferralReason::Cancelled)));
    assert_eq!(t.commands, expected);

    // Paid while the question shows: the payment wins and the papers print.
    let (mut kiosk, _) = walk(&events);
    kiosk.send(Event::Cancel);
    let t = kiosk.send(paid(1, PaymentResult::Paid));
    assert_eq!(t.screen, Screen::Printing);
}

#[test]
fn wrong_household_offers_the_other_type_in_one_touch() {
    for (chosen, other) in [
        (Household::Local, Household::Province),
        (Household::Province, Household::Local),
    ] {
        let mut events = through_step_3(Business::Damaged, chosen);
        events.extend([refuse(Reason::WrongHouseholdChoice), Event::Confirm]);
        let (mut kiosk, t) = walk(&events);
        let screen = &t.last().expect("transitions").screen;
        assert_eq!(screen, &Screen::WrongHousehold { other });
        assert!(
            !screen.error().expect("says why").zh.contains("身份证"),
            "the refusal does not blame the card"
        );
        // The refused type again is no answer.
        assert!(kiosk.try_send(Event::HouseholdChosen(chosen)).is_err());
        let t = kiosk.send(Event::HouseholdChosen(other));
        assert_eq!(
            t.screen,
            Screen::IdNumber {
                business: Business::Damaged,
                portrait_form: false,
                error: None,
                typed: None
            }
        );
        kiosk.walk(&[
            Event::IdNumberEntered(ID.to_owned()),
            accept(Business::Damaged),
            Event::Confirm,
        ]);
        assert_eq!(kiosk.session.screen().name(), "in_scope");
    }
}

#[test]
fn finished_screen_reminds_of_the_old_card_and_the_bank_card() {
    for business in [Business::ExpiryRenewal, Business::Lost] {
        for method in [PaymentMethod::WeChat, PaymentMethod::UnionPay] {
            let mut events = through_step_10(business);
            events.extend([
                Event::PaymentMethodChosen(method),
                paid(1, PaymentResult::Paid),
                Event::PrintResult(PrintResult::Printed),
            ]);
            let (kiosk, _) = walk(&events);
            let notices = kiosk.session.screen().notices();
            assert_eq!(
                notices.contains(&prompts::TAKE_OLD_CARD),
                business == Business::ExpiryRenewal,
                "{business:?} {method:?}"
            );
            assert_eq!(
                notices.contains(&prompts::TAKE_BANK_CARD),
                method == PaymentMethod::UnionPay,
                "{business:?} {method:?}"
            );
        }
    }
}

#[test]
fn back_walks_steps_2_to_4() {
    let (_, t) = walk(&[
        start(),
        Event::BusinessChosen(Business::ExpiryRenewal),
        Event::HouseholdChosen(Household::Local),
        Event::IdNumberEntered(ID.to_owned()),
        Event::Back,
        Event::Back,
        Event::Back,
    ]);
    assert_eq!(t[4].commands, vec![Command::CancelReadCard]);
    assert_eq!(screens(&t[4..]), vec!["id_number", "household", "business"]);
}

#[test]
fn events_that_do_not_fit_leave_the_state_unchanged() {
    let cases: Vec<(Vec<Event>, Event)> = vec![
        (vec![], Event::Confirm),
        (vec![], Event::BusinessChosen(Business::Lost)),
        (vec![start()], start()),
        (vec![start()], Event::Back),
        (vec![start()], card(ID)),
        (
            through_step_3(Business::Lost, Household::Local),
            Event::Cancel,
        ),
        (
            through_step_3(Business::Lost, Household::Local),
            Event::Confirm,
        ),
        (
            through_step_5(Business::Lost, Household::Local),
            Event::PrintResult(PrintResult::Printed),
        ),
        (
            through_step_10(Business::Lost),
            paid(1, PaymentResult::Paid),
        ),
        (through_step_10(Business::Lost), Event::Back),
        (
            vec![
                start(),
                Event::PortraitFormChosen,
                Event::PortraitFormRequested(ID.to_owned()),
            ],
            Event::Confirm,
        ),
        (
            through_step_3(Business::Lost, Household::Local),
            identity(Some("*小明")),
        ),
    ];
    for (events, event) in cases {
        let (mut kiosk, _) = walk(&events);
        let (before, screen, timeout) = (
            kiosk.session.snapshot(),
            kiosk.session.screen(),
            kiosk.session.poll_timeout(),
        );
        let name = event.name();
        let error = kiosk.try_send(event).expect_err(name);
        assert_eq!(error.event, name);
        assert_eq!(error.screen, screen.name());
        assert_eq!(
            kiosk.session.snapshot(),
            before,
            "{name} on {}",
            screen.name()
        );
        assert_eq!(kiosk.session.poll_timeout(), timeout);
    }
}

#[test]
fn snapshot_survives_json_and_resume_repeats_only_safe_commands() {
    let config = SessionConfig::default();
    // Waiting for the center: the call is repeated, the video restarted, timers re-armed.
    let (kiosk, _) = walk(&through_step_3(
        Business::ExpiryRenewal,
        Household::Province,
    ));
    let json = serde_json::to_string(&kiosk.session.snapshot()).expect("serialize");
    let snapshot = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(snapshot, kiosk.session.snapshot());
    let (resumed, t) = Session::resume(config.clone(), snapshot, Millis(5));
    assert_eq!(t.screen, Screen::Checking);
    assert!(
        matches!(t.commands.as_slice(), [Command::StartVideo { .. }, Command::CallCenterScope(request)] if request.card.is_some())
    );
    assert_eq!(resumed.poll_timeout(), Some(Millis(30_005)));

    // Paying: the same attempt again, so the trade number is the same.
    let mut events = through_step_10(Business::Lost);
    events.push(Event::PaymentMethodChosen(PaymentMethod::WeChat));
    let (kiosk, _) = walk(&events);
    let json = serde_json::to_string(&kiosk.session.snapshot()).expect("serialize");
    let (_, t) = Session::resume(
        config.clone(),
        serde_json::from_str(&json).expect("deserialize"),
        Millis(0),
    );
    assert_eq!(
        t.commands[1],
        Command::CreatePayment {
            method: PaymentMethod::WeChat,
            amount_fen: 4000,
            attempt: 1
        }
    );

    // Printing is at-most-once: a crash there ends as paid but not printed, what is left of
    // the print cancelled.
    events.push(paid(1, PaymentResult::Paid));
    let (kiosk, _) = walk(&events);
    let (resumed, t) = Session::resume(config, kiosk.session.snapshot(), Millis(0));
    assert_eq!(
        t.screen,
        Screen::Referred {
            step: 12,
            prompt: prompts::PAID_NOT_PRINTED
        }
    );
    assert_eq!(t.commands[1], Command::CancelPrintJobs);
    assert_eq!(
        t.commands[2..],
        end(referred(12, ReferralReason::PaidNotPrinted))[..]
    );
    assert!(!resumed.is_running());
}

#[test]
fn referral_codes_are_stable_and_parse_back() {
    let session_codes = [
        "card_unreadable",
        "receipt_not_found",
        "photo_unusable",
        "face_mismatch",
        "fingerprint_failed",
        "payment_failed",
        "printer_fault",
        "paid_not_printed",
        "service_unavailable",
        "cancelled",
        "timeout",
    ];
    for code in Reason::ALL
        .iter()
        .map(|reason| reason.code())
        .chain(session_codes)
    {
        let reason = ReferralReason::parse(code).expect(code);
        assert_eq!(reason.code(), code);
        let json = serde_json::to_string(&referred(5, reason)).expect("serialize");
        let back: SessionOutcome = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, referred(5, reason));
    }
    assert_eq!(ReferralReason::parse("nope"), None);
}

/// Events of every kind, valid or not, for the property test.
fn any_event() -> impl Strategy<Value = Event> {
    let fixed = vec![
        start(),
        Event::BusinessChosen(Business::ExpiryRenewal),
        Event::BusinessChosen(Business::Lost),
        Event::BusinessChosen(Business::Damaged),
        Event::PortraitFormChosen,
        Event::HouseholdChosen(Household::Local),
        Event::HouseholdChosen(Household::Province),
        Event::IdNumberEntered(ID.to_owned()),
        Event::IdNumberEntered("110105194912310021".to_owned()),
        Event::PortraitFormRequested(ID.to_owned()),
        identity(Some("*小明")),
        identity(None),
        card(ID),
        card("11010519491231002X"),
        Event::CardUnreadable,
        accept(Business::Lost),
        refuse(Reason::Under16),
        refuse(Reason::WrongHouseholdChoice),
        Event::Confirm,
        Event::Back,
        Event::Cancel,
        Event::ReceiptScanned(RECEIPT.to_owned()),
        Event::ReceiptScanned("?".to_owned()),
        Event::ReceiptAnswer(ReceiptAnswer::Found),
        Event::ReceiptAnswer(ReceiptAnswer::NotFound),
        Event::ReceiptAnswer(ReceiptAnswer::Expired),
        Event::ReceiptAnswer(ReceiptAnswer::AlreadyUsed),
        Event::ReceiptAnswer(ReceiptAnswer::OtherPerson),
        Event::IdNumberEntered("320104200012100045".to_owned()),
        Event::TakePhoto,
        Event::PhotoCaptured,
        Event::UsePhoto,
        Event::RetakePhoto,
        Event::PhotoUnusable,
        scores(99.0, 90.0),
        scores(10.0, 90.0),
        mobile("13800138000", "13800138000"),
        mobile("13800138000", "1"),
        press(1, Finger::RightIndex, FingerPress::Asked),
        press(1, Finger::RightIndex, FingerPress::Passed),
        press(
            1,
            Finger::RightIndex,
            FingerPress::Poor(PressProblem::Smudged),
        ),
        press(
            2,
            Finger::LeftIndex,
            FingerPress::Poor(PressProblem::Partial),
        ),
        press(3, Finger::LeftIndex, FingerPress::Asked),
        Event::FingerprintsCaptured,
        Event::FingerprintsFailed {
            reason: FingerprintFailure::NoFinger,
            attempts: 3,
        },
        Event::SignatureCaptured,
        Event::PaymentMethodChosen(PaymentMethod::WeChat),
        Event::PaymentMethodChosen(PaymentMethod::UnionPay),
        paid(1, PaymentResult::Paid),
        paid(1, PaymentResult::Declined),
        paid(2, PaymentResult::Paid),
        paid(2, PaymentResult::Expired),
        Event::PrintResult(PrintResult::Printed),
        Event::PrintResult(PrintResult::PrinterFault),
        Event::CenterUnavailable,
        Event::OutOfService,
        Event::Activity,
        Event::Tick,
    ];
    proptest::sample::select(fixed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random events at random times never panic and keep the machine well-formed.
    #[test]
    fn random_sessions_stay_well_formed(
        business in proptest::sample::select(vec![Business::ExpiryRenewal, Business::Lost, Business::Damaged]),
        prefix in 0usize..20,
        portrait in any::<bool>(),
        steps in proptest::collection::vec((any_event(), 0u64..120_000), 1..120)
    ) {
        // A prefix of a happy path (or of a lost replacement's portrait form) first, so the
        // random events also land on the later steps.
        let mut path = if portrait {
            vec![
                start(),
                Event::BusinessChosen(Business::Lost),
                Event::HouseholdChosen(Household::Local),
                Event::PortraitFormRequested(ID.to_owned()),
                identity(Some("*小明")),
                Event::Confirm,
            ]
        } else {
            let mut path = through_step_10(business);
            path.extend([Event::PaymentMethodChosen(PaymentMethod::WeChat), paid(1, PaymentResult::Paid)]);
            path
        };
        path.truncate(prefix);
        let mut kiosk = Kiosk::new();
        let mut recording = !path.is_empty();
        kiosk.walk(&path);
        let mut shown = kiosk.session.screen();
        for (event, delay) in steps {
            // Half the time, jump to the armed deadline so timeouts fire.
            let now = match (event == Event::Tick, kiosk.session.poll_timeout()) {
                (true, Some(deadline)) if delay % 2 == 0 => deadline.max(kiosk.now),
                _ => kiosk.now.plus(delay),
            };
            kiosk.now = now;
            let before = kiosk.session.snapshot();
            // The countdown covers a screen whose buttons still work.
            let screen_before = match kiosk.session.screen() {
                Screen::Countdown { .. } => shown.clone(),
                screen => screen,
            };
            let confirm = event == Event::Confirm;
            match kiosk.session.handle(event, now) {
                Ok(transition) => {
                    for command in &transition.commands {
                        match command {
                            // Issue 14: a portrait form only after its masked identity was
                            // shown with a name and confirmed.
                            Command::PrintPortraitForm { .. } => prop_assert!(
                                confirm
                                    && matches!(
                                        screen_before,
                                        Screen::PortraitFormConfirm { masked_name: Some(_), .. }
                                    ),
                                "printed from {}",
                                screen_before.name()
                            ),
                            Command::StartVideo { .. } => { prop_assert!(!recording); recording = true; }
                            Command::StopVideo => { prop_assert!(recording); recording = false; }
                            _ => {}
                        }
                    }
                    prop_assert_eq!(&transition.screen, &kiosk.session.screen());
                }
                Err(_) => prop_assert_eq!(&kiosk.session.snapshot(), &before),
            }
            let screen = kiosk.session.screen();
            if !matches!(screen, Screen::Countdown { .. }) {
                shown = screen.clone();
            }
            prop_assert!((1..=12).contains(&screen.step()));
            prop_assert_eq!(recording, kiosk.session.is_running());
            if !matches!(screen, Screen::Welcome { notice: None }) {
                prop_assert!(kiosk.session.poll_timeout().is_some(), "no timer on {}", screen.name());
            }
            let json = serde_json::to_string(&kiosk.session.snapshot()).expect("serialize");
            let back: domain::session::Snapshot = serde_json::from_str(&json).expect("deserialize");
            prop_assert_eq!(back, kiosk.session.snapshot());
        }
    }
}

#[test]
fn session_prompts_have_both_languages() {
    let all = [
        prompts::ID_FIRST_GENERATION,
        prompts::ID_LENGTH,
        prompts::ID_CHARACTERS,
        prompts::ID_REGION,
        prompts::ID_BIRTH_DATE,
        prompts::ID_CHECK_DIGIT,
        prompts::PHOTO_UNUSABLE,
        prompts::PAYMENT_DECLINED,
        prompts::PAYMENT_EXPIRED,
        prompts::RECEIPT_REFERRED,
        prompts::PHOTO_REFERRED,
        prompts::PAYMENT_REFERRED,
        prompts::SERVICE_UNAVAILABLE,
        prompts::CANCELLED,
        prompts::FINISHED,
        prompts::PORTRAIT_FORM_PRINTED,
    ];
    for prompt in all {
        assert!(
            !prompt.zh.is_ascii() && prompt.en.is_ascii() && !prompt.en.is_empty(),
            "{prompt:?}"
        );
        // Issue 16 item 6: one place for every citizen-facing text, each listed once.
        assert_eq!(
            prompts::ALL.iter().filter(|p| **p == prompt).count(),
            1,
            "{prompt:?} is not listed once in prompts::ALL"
        );
    }
}

// Issue 15 item 5: the citizen sees the photo taken and may retake it before it is compared.

/// At the photo review after the first capture.
fn at_photo_review(config: SessionConfig) -> Kiosk {
    let mut events = through_step_5(Business::Damaged, Household::Local);
    events.extend([
        Event::ReceiptScanned(RECEIPT.to_owned()),
        Event::ReceiptAnswer(ReceiptAnswer::Found),
        Event::TakePhoto,
    ]);
    let mut kiosk = Kiosk::with(config);
    kiosk.walk(&events);
    let t = kiosk.send(Event::PhotoCaptured);
    assert_eq!(t.screen, Screen::PhotoReview { can_retake: true });
    assert!(
        t.commands.is_empty(),
        "nothing is compared before the citizen agrees"
    );
    kiosk
}

#[test]
fn photo_review_retake_goes_back_to_the_camera_and_reviews_again() {
    let mut kiosk = at_photo_review(SessionConfig::default());
    let t = kiosk.send(Event::RetakePhoto);
    assert_eq!(t.screen, Screen::LivePhoto { error: None });
    assert!(t.commands.is_empty());
    let t = kiosk.send(Event::TakePhoto);
    assert_eq!(t.commands, vec![Command::CapturePhoto]);
    let t = kiosk.send(Event::PhotoCaptured);
    assert_eq!(t.screen, Screen::PhotoReview { can_retake: true });
    assert_eq!(t.screen.step(), 7);
    assert_eq!(t.screen.name(), "photo_review");
    // "Use" is not a thing the camera screen takes.
    kiosk.send(Event::RetakePhoto);
    assert!(kiosk.try_send(Event::UsePhoto).is_err());
}

#[test]
fn the_capture_after_the_last_retake_offers_no_retake() {
    let mut kiosk = at_photo_review(SessionConfig::default());
    for _ in 0..3 {
        kiosk.send(Event::RetakePhoto);
        kiosk.send(Event::TakePhoto);
        kiosk.send(Event::PhotoCaptured);
    }
    // The 4th capture.
    assert_eq!(
        kiosk.session.screen(),
        Screen::PhotoReview { can_retake: false }
    );
    assert!(kiosk.try_send(Event::RetakePhoto).is_err());
    assert_eq!(kiosk.send(Event::UsePhoto).screen, Screen::ComparingFaces);

    // The limit is configuration.
    let mut kiosk = at_photo_review(SessionConfig {
        photo_retakes: 1,
        ..SessionConfig::default()
    });
    kiosk.send(Event::RetakePhoto);
    kiosk.send(Event::TakePhoto);
    assert_eq!(
        kiosk.send(Event::PhotoCaptured).screen,
        Screen::PhotoReview { can_retake: false }
    );
}

#[test]
fn using_the_photo_compares_it() {
    let mut kiosk = at_photo_review(SessionConfig::default());
    let t = kiosk.send(Event::UsePhoto);
    assert_eq!(t.screen, Screen::ComparingFaces);
    assert_eq!(
        t.commands,
        vec![Command::VerifyFaces {
            id: id(),
            receipt: ReceiptCode::parse(RECEIPT).expect("valid receipt"),
        }]
    );
    assert_eq!(
        kiosk.send(scores(97.5, 81.0)).screen,
        Screen::Mobile { error: None }
    );
}

#[test]
fn photo_review_survives_a_restart_with_its_retakes_counted() {
    let config = SessionConfig::default();
    let mut kiosk = at_photo_review(config.clone());
    kiosk.send(Event::RetakePhoto);
    kiosk.send(Event::TakePhoto);
    kiosk.send(Event::PhotoCaptured);
    let json = serde_json::to_string(&kiosk.session.snapshot()).expect("serialize");
    let (mut resumed, t) = Session::resume(
        config.clone(),
        serde_json::from_str(&json).expect("deserialize"),
        Millis(5),
    );
    assert_eq!(t.screen, Screen::PhotoReview { can_retake: true });
    // The photo is in the sealed captures: nothing is taken or compared again.
    assert!(matches!(
        t.commands.as_slice(),
        [Command::StartVideo { .. }]
    ));
    // Two retakes are left after the restart, not three.
    for _ in 0..2 {
        resumed.handle(Event::RetakePhoto, Millis(6)).expect("fits");
        resumed.handle(Event::TakePhoto, Millis(7)).expect("fits");
        resumed
            .handle(Event::PhotoCaptured, Millis(8))
            .expect("fits");
    }
    assert_eq!(resumed.screen(), Screen::PhotoReview { can_retake: false });
    let t = resumed.handle(Event::UsePhoto, Millis(9)).expect("fits");
    assert_eq!(t.screen, Screen::ComparingFaces);
}

// Issue 20 item 2: the kiosk's liveness score of the full frame, at the capture, before the review.

/// At the camera screen of step 7, before the first capture.
fn at_camera(config: SessionConfig) -> Kiosk {
    let mut events = through_step_5(Business::Damaged, Household::Local);
    events.extend([
        Event::ReceiptScanned(RECEIPT.to_owned()),
        Event::ReceiptAnswer(ReceiptAnswer::Found),
    ]);
    let mut kiosk = Kiosk::with(config);
    kiosk.walk(&events);
    assert_eq!(kiosk.session.screen(), Screen::LivePhoto { error: None });
    kiosk
}

fn scored(liveness: f32) -> Event {
    Event::PhotoScored { liveness }
}

#[test]
fn a_photo_scored_not_live_goes_back_to_the_camera_with_the_prompt() {
    let mut kiosk = at_camera(SessionConfig::default());
    kiosk.send(Event::TakePhoto);
    let t = kiosk.send(scored(0.12));
    assert_eq!(
        t.screen,
        Screen::LivePhoto {
            error: Some(prompts::LIVENESS_RETAKE)
        }
    );
    assert!(t.commands.is_empty(), "nothing is compared");
    assert_eq!(
        prompts::LIVENESS_RETAKE.zh,
        "请本人正对摄像头，不要使用照片或屏幕。"
    );
    // A live retake goes on to the review; exactly the threshold is live.
    kiosk.send(Event::TakePhoto);
    assert_eq!(
        kiosk.send(scored(0.5)).screen,
        Screen::PhotoReview { can_retake: true }
    );
}

#[test]
fn a_photo_scored_not_live_twice_is_referred_liveness_failed() {
    let mut kiosk = at_camera(SessionConfig::default());
    kiosk.send(Event::TakePhoto);
    kiosk.send(scored(0.3));
    kiosk.send(Event::TakePhoto);
    // A score that is not a number is not live either.
    assert_eq!(
        kiosk.send(scored(f32::NAN)).commands,
        end(referred(7, ReferralReason::LivenessFailed))
    );
    assert_eq!(ReferralReason::LivenessFailed.code(), "liveness_failed");
    assert_eq!(
        ReferralReason::parse("liveness_failed"),
        Some(ReferralReason::LivenessFailed)
    );
    assert_eq!(
        ReferralReason::LivenessFailed.prompt(),
        prompts::LIVENESS_REFERRED
    );
}

#[test]
fn advise_mode_only_records_the_score_and_the_threshold_is_configuration() {
    use domain::session::{LivenessConfig, LivenessMode};
    let advise = SessionConfig {
        liveness: LivenessConfig {
            mode: LivenessMode::Advise,
            ..LivenessConfig::default()
        },
        ..SessionConfig::default()
    };
    let mut kiosk = at_camera(advise);
    for _ in 0..3 {
        kiosk.send(Event::TakePhoto);
        assert_eq!(
            kiosk.send(scored(0.01)).screen,
            Screen::PhotoReview { can_retake: true }
        );
        kiosk.send(Event::RetakePhoto);
    }

    let strict = SessionConfig {
        liveness: LivenessConfig {
            threshold: 0.9,
            ..LivenessConfig::default()
        },
        ..SessionConfig::default()
    };
    let mut kiosk = at_camera(strict);
    kiosk.send(Event::TakePhoto);
    assert_eq!(
        kiosk.send(scored(0.8)).screen,
        Screen::LivePhoto {
            error: Some(prompts::LIVENESS_RETAKE)
        }
    );
}

#[test]
fn a_restart_keeps_the_liveness_count() {
    let config = SessionConfig::default();
    let mut kiosk = at_camera(config.clone());
    kiosk.send(Event::TakePhoto);
    kiosk.send(scored(0.2));
    let json = serde_json::to_string(&kiosk.session.snapshot()).expect("serialize");
    let (mut resumed, t) = Session::resume(
        config,
        serde_json::from_str(&json).expect("deserialize"),
        Millis(5),
    );
    assert!(
        matches!(t.screen, Screen::LivePhoto { .. }),
        "{:?}",
        t.screen
    );
    resumed.handle(Event::TakePhoto, Millis(6)).expect("fits");
    let t = resumed.handle(scored(0.2), Millis(7)).expect("fits");
    assert_eq!(t.commands, end(referred(7, ReferralReason::LivenessFailed)));
}

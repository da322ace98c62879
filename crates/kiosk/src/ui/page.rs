//! One page per [`View`]: the askama template `templates/ui/page.html` and what it needs beyond
//! the view (the progress bar, the QR code, the text to speak, the page's fingerprint).

use askama::Template;
use domain::prompts::{self, screen, Prompt};
use domain::rules::{Business, Household};
use domain::session::{PaymentMethod, Screen};

use super::action::payment_method_value;
use super::qr;
use crate::view::{View, ViewExtras};
use crate::voice::Voice;

/// One step of the progress bar.
#[derive(Debug, Clone)]
pub struct StepItem {
    /// 1 to 12.
    pub number: u8,
    /// The step's title.
    pub title: Prompt,
    /// `done`, `current` or `todo`.
    pub state: &'static str,
}

/// The whole page for one view.
#[derive(Template)]
#[template(path = "ui/page.html")]
pub struct Page<'a> {
    /// What is drawn.
    pub view: &'a View,
    /// [`Screen::name`].
    pub name: &'static str,
    /// [`Screen::step`].
    pub step: u8,
    /// The twelve steps.
    pub steps: Vec<StepItem>,
    /// [`Screen::title`].
    pub title: Prompt,
    /// [`Screen::error`].
    pub error: Option<Prompt>,
    /// [`Screen::notices`], and on the start screen the under-16 rule.
    pub notices: Vec<Prompt>,
    /// The screen's instruction or wait text, if it has one.
    pub instruction: Option<Prompt>,
    /// Chinese text the voice prompts read ([`say`]).
    pub say: String,
    /// The kiosk has a speech engine ([`Page::with_voice`]); without one the voice toggle says
    /// so.
    pub voice_available: bool,
    /// Where the page's audio plays from: voice on and an engine present.
    pub audio_url: Option<String>,
    /// Changes exactly when the screen or its extras change (not with the version alone).
    pub fingerprint: String,
    /// Step 11, WeChat: the QR code as inline SVG.
    pub qr_svg: Option<String>,
    /// Step 1 buttons.
    pub businesses: Vec<Choice>,
    /// Step 2 buttons.
    pub households: Vec<Choice>,
    /// Step 11 buttons.
    pub payment_methods: Vec<Choice>,
}

/// A button that posts `action` with a `value`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The form value.
    pub value: &'static str,
    /// The button's `data-testid`.
    pub testid: String,
    /// The label.
    pub label: Prompt,
}

fn choice(prefix: &str, value: &'static str, label: Prompt) -> Choice {
    Choice {
        value,
        testid: format!("{prefix}-{value}"),
        label,
    }
}

impl<'a> Page<'a> {
    /// Everything the template needs for `view`.
    pub fn new(view: &'a View) -> Page<'a> {
        let screen = &view.screen;
        let step = screen.step();
        let steps = prompts::STEP_TITLES
            .iter()
            .zip(1u8..)
            .map(|(title, number)| StepItem {
                number,
                title: *title,
                state: match number.cmp(&step) {
                    std::cmp::Ordering::Less => "done",
                    std::cmp::Ordering::Equal => "current",
                    std::cmp::Ordering::Greater => "todo",
                },
            })
            .collect();
        let mut notices = screen.notices().to_vec();
        if let Screen::Welcome { .. } = screen {
            notices.push(prompts::UNDER_16);
        }
        let instruction = instruction(screen);
        let error = screen.error();
        let say = say(screen, &view.extras);
        let qr_svg = match (screen, &view.extras.wechat_code_url) {
            (
                Screen::Paying {
                    method: PaymentMethod::WeChat,
                    ..
                },
                Some(url),
            ) => qr::svg(url),
            _ => None,
        };
        Page {
            view,
            name: screen.name(),
            step,
            steps,
            title: screen.title(),
            error,
            notices,
            instruction,
            say,
            voice_available: false,
            audio_url: None,
            fingerprint: fingerprint(view),
            qr_svg,
            businesses: [Business::ExpiryRenewal, Business::Lost, Business::Damaged]
                .into_iter()
                .map(|b| choice("business", b.as_str(), b.prompt()))
                .collect(),
            households: [Household::Local, Household::Province]
                .into_iter()
                .map(|h| choice("household", h.as_str(), h.prompt()))
                .collect(),
            payment_methods: view
                .extras
                .offered_payment_methods()
                .into_iter()
                .map(|m| choice("payment", payment_method_value(m), m.prompt()))
                .collect(),
        }
    }

    /// The WeChat QR screen offers "use UnionPay instead" only where the bureau takes UnionPay.
    pub fn offers_unionpay(&self) -> bool {
        self.view
            .extras
            .offered_payment_methods()
            .contains(&PaymentMethod::UnionPay)
    }

    /// The page with the kiosk's speech engine, if it has one: the toggle offers voice, and
    /// with voice on the page plays `/voice/<key>.wav`.
    pub fn with_voice(mut self, voice: Option<&Voice>) -> Page<'a> {
        self.voice_available = voice.is_some();
        self.audio_url = match voice {
            Some(voice) if self.view.extras.voice && !self.say.is_empty() => {
                Some(format!("/voice/{}.wav", voice.key(&self.say)))
            }
            _ => None,
        };
        self
    }

    /// Whether the screen offers "end the session" (those that wait for the citizen).
    pub fn cancellable(&self) -> bool {
        matches!(
            self.view.screen,
            Screen::Business
                | Screen::Household { .. }
                | Screen::IdNumber { .. }
                | Screen::PortraitFormNumber { .. }
                | Screen::PlaceCard
                | Screen::PortraitFormConfirm { .. }
                | Screen::Confirm { .. }
                | Screen::InScope { .. }
                | Screen::WrongHousehold { .. }
                | Screen::ScanReceipt { .. }
                | Screen::LivePhoto { .. }
                | Screen::PhotoReview { .. }
                | Screen::Mobile { .. }
                | Screen::Fingerprints { .. }
                | Screen::Signature
                | Screen::Payment { .. }
                | Screen::Paying {
                    method: PaymentMethod::WeChat,
                    ..
                }
                | Screen::Countdown { .. }
        )
    }

    /// The QR and finished screens: whole seconds until their timer runs out (the agent's
    /// deadline against this machine's clock); kiosk.js counts them down.
    pub fn seconds_left(&self) -> Option<u64> {
        let deadline = self.view.extras.deadline_unix_s?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        Some(deadline.saturating_sub(now))
    }

    /// Whether the screen offers "back" (steps 2–4 and the wrong-household screen have their own).
    pub fn backable(&self) -> bool {
        matches!(
            self.view.screen,
            Screen::Household { .. }
                | Screen::IdNumber { .. }
                | Screen::PortraitFormNumber { .. }
                | Screen::PlaceCard
                | Screen::PortraitFormConfirm { .. }
                | Screen::Confirm { .. }
        )
    }

    /// Whether the instruction is drawn: not where a button or a caption already says it (it is
    /// still spoken).
    pub fn shows_instruction(&self) -> bool {
        !matches!(self.view.screen, Screen::Mobile { .. })
    }

    /// "第n步" and "Step n" for the referral screen.
    pub fn step_number(&self) -> (String, String) {
        screen::step_number(self.step)
    }

    /// The amount in both languages.
    pub fn yuan(&self, amount: &u32) -> (String, String) {
        screen::yuan(*amount)
    }

    /// The date in both languages.
    pub fn date(&self, date: &time::Date) -> (String, String) {
        screen::date(*date)
    }

    /// The validity label.
    pub fn validity(&self, validity: &domain::rules::NewCardValidity) -> Prompt {
        screen::validity(*validity)
    }

    /// Step 9: "place your {finger} flat on the sensor ({n} of 2)" filled in (docs/domain.md
    /// section 11), with the finger's stable name and its number.
    pub fn place_finger(&self) -> Option<(String, String, &'static str, u8)> {
        match &self.view.screen {
            Screen::Fingerprints { finger, number, .. } => {
                let (zh, en) = prompts::place_finger(finger.prompt(), *number);
                Some((zh, en, finger.code(), *number))
            }
            _ => None,
        }
    }

    /// Step 9: why the last press was poor, under the poor-press prompt.
    pub fn press_problem(&self) -> Option<Prompt> {
        match &self.view.screen {
            Screen::Fingerprints { problem, .. } => problem.map(|p| p.prompt()),
            _ => None,
        }
    }

    /// Steps 3: the refused number split around its marked characters.
    pub fn typed_parts(&self) -> Option<(String, String, String)> {
        match &self.view.screen {
            Screen::IdNumber { typed, .. } | Screen::PortraitFormNumber { typed, .. } => {
                typed.as_ref().map(|t| t.parts())
            }
            _ => None,
        }
    }

    /// Step 3: the refused number, to correct on the keypad.
    pub fn typed_text(&self) -> &str {
        match &self.view.screen {
            Screen::IdNumber {
                typed: Some(typed), ..
            }
            | Screen::PortraitFormNumber {
                typed: Some(typed), ..
            } => &typed.text,
            _ => "",
        }
    }

    /// The voice toggle's next value.
    pub fn voice_next(&self) -> &'static str {
        if self.view.extras.voice {
            "off"
        } else {
            "on"
        }
    }

    /// The large-type toggle's next value.
    pub fn large_type_next(&self) -> &'static str {
        if self.view.extras.large_type {
            "off"
        } else {
            "on"
        }
    }
}

/// What the voice reads on `screen`, in Chinese: the title, the error, the instruction, then the
/// options with the digit that picks each on a physical keypad ("按1，到期换领"); step 11's are
/// the payment methods of `extras`.
pub fn say(screen: &Screen, extras: &ViewExtras) -> String {
    let prompts = [Some(screen.title()), screen.error(), instruction(screen)]
        .into_iter()
        .flatten()
        .map(|prompt| prompt.zh.to_owned());
    let options = options(screen, extras)
        .into_iter()
        .zip(1..)
        .map(|(option, number)| screen::press_for(number, option));
    prompts.chain(options).collect::<Vec<_>>().join("。")
}

/// The options of a screen in the order the page draws them (`#screen` buttons with class
/// `choice` or `toggle`), which is the order digits 1..n pick them in kiosk.js; step 11's are the
/// payment methods the bureau takes ([`ViewExtras::offered_payment_methods`]).
pub fn options(screen: &Screen, extras: &ViewExtras) -> Vec<Prompt> {
    match screen {
        // The start screen offers step 1's choices, then its two toggles.
        Screen::Welcome { .. } => business_options()
            .chain([screen::VOICE_PROMPTS, screen::LARGE_TYPE])
            .collect(),
        Screen::Business => business_options().collect(),
        Screen::Household { .. } => [Household::Local, Household::Province]
            .into_iter()
            .map(|h| h.prompt())
            .collect(),
        Screen::Payment { .. } => extras
            .offered_payment_methods()
            .into_iter()
            .map(|m| m.prompt())
            .collect(),
        _ => Vec::new(),
    }
}

/// Step 1's choices: the three businesses and the first-time applicant's form.
fn business_options() -> impl Iterator<Item = Prompt> {
    [Business::ExpiryRenewal, Business::Lost, Business::Damaged]
        .into_iter()
        .map(|b| b.prompt())
        .chain([screen::FIRST_TIME_APPLICANT])
}

/// The instruction or wait text of each screen (our wording, in [`screen`]).
fn instruction(screen: &Screen) -> Option<Prompt> {
    Some(match screen {
        Screen::Welcome { .. } | Screen::Business => screen::CHOOSE_BUSINESS,
        Screen::Household { .. } => screen::CHOOSE_HOUSEHOLD,
        Screen::IdNumber { .. } => screen::ENTER_ID_NUMBER,
        Screen::PortraitFormNumber { .. } => screen::ENTER_ID_NUMBER_FOR_FORM,
        Screen::PlaceCard => screen::PLACE_CARD,
        Screen::PortraitFormChecking => screen::CHECKING,
        Screen::PortraitFormConfirm { .. } => screen::CHECK_DETAILS,
        Screen::PrintingPortraitForm => screen::PRINTING_PORTRAIT_FORM,
        Screen::Checking => screen::CHECKING,
        Screen::Confirm { .. } => screen::CHECK_DETAILS,
        Screen::InScope { .. } => prompts::IN_SCOPE,
        Screen::ScanReceipt { .. } => screen::SCAN_RECEIPT,
        Screen::FetchingPhoto => screen::FETCHING_PHOTO,
        Screen::LivePhoto { .. } => screen::FACE_THE_CAMERA,
        Screen::CapturingPhoto => screen::CAPTURING_PHOTO,
        Screen::PhotoReview { can_retake: true } => prompts::PHOTO_REVIEW,
        Screen::PhotoReview { can_retake: false } => prompts::PHOTO_RETAKES_USED,
        Screen::ComparingFaces => screen::COMPARING_FACES,
        Screen::Mobile { .. } => screen::MOBILE_FIRST,
        Screen::Fingerprints { .. } => screen::PLACE_FINGER,
        Screen::Signature => screen::SIGN_HERE,
        Screen::Payment { .. } => screen::CHOOSE_PAYMENT,
        Screen::Paying {
            method: PaymentMethod::WeChat,
            ..
        } => screen::SCAN_QR_WITH_WECHAT,
        Screen::Paying {
            method: PaymentMethod::UnionPay,
            ..
        } => screen::INSERT_UNIONPAY_CARD,
        Screen::Printing => screen::PRINTING,
        Screen::ConfirmEnd { .. } => prompts::END_SESSION_QUESTION,
        Screen::PortraitFormPrinted
        | Screen::WrongHousehold { .. }
        | Screen::Finished { .. }
        | Screen::Referred { .. }
        | Screen::Countdown { .. } => return None,
    })
}

/// FNV-1a over the view without its version, as hex: equal views draw equal pages.
pub fn fingerprint(view: &View) -> String {
    let json = serde_json::to_vec(&(&view.screen, &view.extras)).unwrap_or_default();
    let hash = json.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

//! The touchscreen UI against a fake agent made of the seam's own channels: the test owns the
//! `watch` sender (what the agent publishes) and the `mpsc` receiver (what the UI sends).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use domain::prompts::{self, screen, Prompt};
use domain::rules::{Business, Household, NewCardValidity};
use domain::session::{Finger, PaymentMethod, PressProblem, Screen, TypedId};
use http_body_util::BodyExt;
use kiosk::ui::router_with_voice;
use kiosk::view::{ActionError, ActionRequest, AgentHandle, UiAction, View, ViewExtras};
use kiosk::voice::{SpeechEngine, SpeechError, Voice};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

/// The UI and the ends of the channels a real agent would hold.
struct Kiosk {
    app: Router,
    views: watch::Sender<View>,
    actions: mpsc::Receiver<ActionRequest>,
    /// The `Refresh` header of the last post's answer.
    last_refresh: Option<String>,
}

impl Kiosk {
    fn new() -> Kiosk {
        Kiosk::with_voice(None)
    }

    /// The UI with a speech engine (`None`: a kiosk without one).
    fn with_voice(voice: Option<Arc<Voice>>) -> Kiosk {
        let (views, view) = watch::channel(View::initial());
        let (sender, actions) = mpsc::channel(8);
        Kiosk {
            app: router_with_voice(AgentHandle::new(sender, view), voice),
            views,
            actions,
            last_refresh: None,
        }
    }

    /// Publishes `screen` with `extras` as the next version.
    fn show(&self, screen: Screen, extras: ViewExtras) {
        self.views.send_modify(|view| {
            view.version += 1;
            view.screen = screen;
            view.extras = extras;
        });
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
    }

    /// The page for `screen`, which must be a 200.
    async fn page(&self, screen: Screen, extras: ViewExtras) -> String {
        let name = screen.name();
        self.show(screen, extras);
        let (status, html) = self.get("/").await;
        assert_eq!(status, StatusCode::OK, "{name}: {html}");
        html
    }

    /// Posts `body` with `content_type` to `path`, answering the first action the agent gets
    /// with `reply`; returns the response and the action (if one reached the agent).
    async fn post(
        &mut self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        reply: Result<(), ActionError>,
    ) -> (StatusCode, Option<String>, String, Option<UiAction>) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request");
        let response = tokio::spawn(self.app.clone().oneshot(request));
        let action = tokio::select! {
            request = self.actions.recv() => {
                let (action, answer) = request.expect("the UI holds a sender");
                answer.send(reply).expect("the UI waits for the answer");
                Some(action)
            }
            _ = tokio::time::sleep(Duration::from_millis(300)) => None,
        };
        let response = response.await.expect("join").expect("infallible");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().expect("ascii").to_owned());
        self.last_refresh = response
            .headers()
            .get(header::REFRESH)
            .map(|value| value.to_str().expect("ascii").to_owned());
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        (status, location, text, action)
    }

    async fn form(&mut self, body: &str) -> (StatusCode, Option<String>, String, Option<UiAction>) {
        self.post(
            "/action",
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
            Ok(()),
        )
        .await
    }
}

fn date(text: &str) -> time::Date {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .expect("date")
}

/// One of every screen, with the texts its page must carry beyond its title, error and notices.
fn every_screen() -> Vec<(Screen, Vec<Prompt>, Vec<&'static str>)> {
    vec![
        (
            Screen::Welcome { notice: None },
            // The start screen offers step 1's choices: choosing one starts the session.
            vec![
                screen::CHOOSE_BUSINESS,
                prompts::BUSINESS_EXPIRY_RENEWAL,
                prompts::BUSINESS_LOST,
                prompts::BUSINESS_DAMAGED,
                screen::FIRST_TIME_APPLICANT,
                screen::VOICE_PROMPTS,
                prompts::UNDER_16,
            ],
            vec![
                r#"data-testid="business-expiry_renewal""#,
                r#"data-testid="portrait-form""#,
                r#"data-testid="voice-toggle""#,
            ],
        ),
        (
            Screen::Welcome {
                notice: Some(prompts::CARD_UNREADABLE),
            },
            vec![screen::CHOOSE_BUSINESS],
            vec![r#"data-testid="error""#],
        ),
        (
            Screen::Business,
            vec![
                prompts::BUSINESS_EXPIRY_RENEWAL,
                prompts::BUSINESS_LOST,
                prompts::BUSINESS_DAMAGED,
                prompts::PORTRAIT_COLLECTION_FORM,
                screen::FIRST_TIME_APPLICANT,
                screen::CANCEL,
            ],
            vec![
                r#"data-testid="business-expiry_renewal""#,
                r#"data-testid="business-lost""#,
                r#"data-testid="business-damaged""#,
                r#"data-testid="portrait-form""#,
            ],
        ),
        (
            Screen::Household {
                business: Business::Lost,
            },
            vec![
                prompts::HOUSEHOLD_LOCAL,
                prompts::HOUSEHOLD_PROVINCE,
                screen::BACK,
            ],
            vec![
                r#"data-testid="household-local""#,
                r#"data-testid="household-province""#,
            ],
        ),
        (
            Screen::IdNumber {
                business: Business::Lost,
                portrait_form: true,
                error: Some(prompts::ID_CHECK_DIGIT),
                typed: None,
            },
            vec![screen::ENTER_ID_NUMBER, screen::PRINT_PORTRAIT_FORM],
            vec![
                r#"data-testid="key-X""#,
                r#"data-testid="key-delete""#,
                r#"data-testid="key-clear""#,
                r#"data-testid="key-0""#,
                r#"data-testid="key-9""#,
                r#"data-testid="portrait-form-requested""#,
                r#"readonly inputmode="none""#,
            ],
        ),
        (
            Screen::IdNumber {
                business: Business::Damaged,
                portrait_form: false,
                error: None,
                typed: None,
            },
            vec![screen::ENTER_ID_NUMBER, screen::CONFIRM],
            vec![r#"data-testid="id-number-confirm""#],
        ),
        (
            Screen::PortraitFormNumber {
                error: None,
                typed: None,
            },
            vec![screen::PRINT_PORTRAIT_FORM],
            vec![r#"data-testid="portrait-form-requested""#],
        ),
        (
            Screen::PlaceCard,
            vec![screen::PLACE_CARD],
            vec![r#"data-testid="picture-place-card""#, "<svg"],
        ),
        (
            Screen::PortraitFormChecking,
            vec![screen::CHECKING],
            vec![r#"data-testid="waiting""#, r#"data-step="3""#],
        ),
        // The confirm screen before a portrait form: step 4's labels and ids, step 3 current.
        (
            Screen::PortraitFormConfirm {
                masked_id: "320104********0044".into(),
                masked_name: Some("*晓燕".into()),
            },
            vec![
                screen::CHECK_DETAILS,
                screen::ID_NUMBER,
                screen::NAME,
                screen::CONFIRM,
                screen::BACK,
                screen::CANCEL,
            ],
            vec![
                r#"data-testid="masked-id">320104********0044<"#,
                r#"data-testid="masked-name">*晓燕<"#,
                r#"data-testid="confirm""#,
                r#"data-testid="back""#,
                r#"data-step="3""#,
            ],
        ),
        (
            Screen::PortraitFormConfirm {
                masked_id: "110105********002X".into(),
                masked_name: None,
            },
            vec![screen::ID_NUMBER, screen::CONFIRM],
            vec![r#"data-testid="masked-id">110105********002X<"#],
        ),
        (
            Screen::PrintingPortraitForm,
            vec![screen::PRINTING_PORTRAIT_FORM],
            vec![r#"data-testid="waiting""#],
        ),
        (
            Screen::PortraitFormPrinted,
            vec![prompts::PORTRAIT_FORM_PRINTED, screen::BACK_TO_START],
            vec![r#"data-testid="back-to-start""#],
        ),
        (
            Screen::Checking,
            vec![screen::CHECKING],
            vec![r#"data-testid="waiting""#],
        ),
        (
            Screen::Confirm {
                masked_id: "320104********0044".into(),
                masked_name: Some("*小明".into()),
            },
            vec![screen::ID_NUMBER, screen::NAME, screen::CONFIRM],
            vec!["320104********0044", "*小明"],
        ),
        (
            Screen::InScope {
                fee_cny: 20,
                validity: NewCardValidity::TwentyYears,
                issue_by: date("2026-12-25"),
            },
            vec![
                prompts::IN_SCOPE,
                screen::FEE,
                screen::validity(NewCardValidity::TwentyYears),
            ],
            vec!["20元", "CNY 20", "2026年12月25日", "2026-12-25"],
        ),
        (
            Screen::WrongHousehold {
                other: Household::Province,
            },
            vec![
                prompts::WRONG_HOUSEHOLD_CHOICE,
                screen::CHOOSE_INSTEAD,
                prompts::HOUSEHOLD_PROVINCE,
                screen::CHOOSE_HOUSEHOLD_AGAIN,
                screen::CONTACT_STAFF,
            ],
            vec![
                r#"data-testid="other-household""#,
                r#"name="value" value="province""#,
                r#"data-testid="back""#,
                r#"data-testid="contact-staff""#,
            ],
        ),
        (
            Screen::ScanReceipt {
                error: Some(prompts::PHOTO_RECEIPT_NOT_FOUND),
            },
            vec![screen::SCAN_RECEIPT],
            vec![r#"data-testid="picture-scan-receipt""#],
        ),
        (
            Screen::FetchingPhoto,
            vec![screen::FETCHING_PHOTO],
            vec![r#"data-testid="waiting""#],
        ),
        (
            Screen::LivePhoto {
                error: Some(prompts::PHOTO_UNUSABLE),
            },
            vec![screen::FACE_THE_CAMERA, screen::TAKE_PHOTO],
            vec![
                r#"data-testid="face-guide""#,
                "<ellipse",
                r#"data-testid="take-photo""#,
            ],
        ),
        (
            Screen::CapturingPhoto,
            vec![screen::CAPTURING_PHOTO],
            vec![r#"data-testid="waiting""#],
        ),
        (
            Screen::PhotoReview { can_retake: true },
            vec![
                prompts::PHOTO_REVIEW,
                prompts::RETAKE_PHOTO,
                prompts::USE_PHOTO,
            ],
            vec![
                r#"data-testid="review-photo""#,
                r#"src="/photo/review.jpg"#,
                r#"data-testid="retake-photo""#,
                r#"data-testid="use-photo""#,
            ],
        ),
        (
            Screen::ComparingFaces,
            vec![screen::COMPARING_FACES],
            vec![r#"data-testid="waiting""#],
        ),
        (
            Screen::Mobile {
                error: Some(prompts::MOBILE_MISMATCH),
            },
            vec![screen::MOBILE_FIRST, screen::MOBILE_SECOND],
            vec![
                r#"data-testid="mobile-first""#,
                r#"data-testid="mobile-second""#,
                r#"data-testid="mobile-confirm""#,
            ],
        ),
        (
            fingerprints(Finger::RightIndex, 1, None),
            vec![screen::PLACE_FINGER],
            vec![r#"data-testid="picture-fingerprints""#],
        ),
        (
            Screen::Signature,
            vec![screen::SIGN_HERE, screen::CLEAR_SIGNATURE],
            vec![
                r#"data-testid="signature-pad""#,
                r#"data-testid="signature-clear""#,
                r#"data-testid="signature-confirm""#,
            ],
        ),
        (
            Screen::Payment {
                fee_cny: 40,
                error: Some(prompts::PAYMENT_DECLINED),
            },
            vec![
                prompts::PAYMENT_WECHAT,
                prompts::PAYMENT_UNIONPAY,
                screen::FEE,
            ],
            vec![
                "40元",
                r#"data-testid="payment-wechat""#,
                r#"data-testid="payment-unionpay""#,
            ],
        ),
        (
            Screen::Paying {
                method: PaymentMethod::WeChat,
                fee_cny: 40,
            },
            vec![
                prompts::PAYMENT_WECHAT,
                screen::SCAN_QR_WITH_WECHAT,
                screen::QR_PENDING,
            ],
            vec![r#"data-testid="qr-pending""#],
        ),
        (
            Screen::Paying {
                method: PaymentMethod::UnionPay,
                fee_cny: 20,
            },
            vec![prompts::PAYMENT_UNIONPAY, screen::INSERT_UNIONPAY_CARD],
            vec![r#"data-testid="picture-unionpay""#],
        ),
        (
            Screen::Printing,
            vec![screen::PRINTING],
            vec![r#"data-testid="waiting""#],
        ),
        (
            Screen::Finished {
                payment: PaymentMethod::UnionPay,
                business: Business::ExpiryRenewal,
                issue_by: date("2026-12-25"),
            },
            vec![
                prompts::FINISHED,
                prompts::TAKE_OLD_CARD,
                prompts::TAKE_BANK_CARD,
                screen::READY_BY,
                prompts::PAYMENT_UNIONPAY,
                screen::BACK_TO_START,
            ],
            vec![
                r#"data-testid="back-to-start""#,
                r#"data-testid="ready-by""#,
                "2026年12月25日",
            ],
        ),
        (
            Screen::ConfirmEnd { step: 6 },
            vec![
                prompts::END_SESSION_QUESTION,
                screen::END_YES,
                screen::END_NO,
            ],
            vec![r#"data-testid="end-yes""#, r#"data-testid="end-no""#],
        ),
        (
            Screen::Referred {
                step: 9,
                prompt: prompts::FINGERPRINT_FAILED,
            },
            vec![prompts::STEP_TITLES[8], screen::BACK_TO_START],
            vec!["第9步", "Step 9", r#"data-testid="referred-step""#],
        ),
        (
            Screen::Countdown {
                step: 8,
                seconds: 10,
            },
            vec![screen::SECONDS_LEFT, screen::KEEP_GOING],
            vec![
                r#"data-seconds="10""#,
                "animation-duration: 10s",
                r#"data-testid="keep-going""#,
            ],
        ),
    ]
}

/// Fails to compile when a screen is added, so `every_screen` is extended with it.
fn covered(screen: &Screen) -> &'static str {
    match screen {
        Screen::Welcome { .. }
        | Screen::Business
        | Screen::Household { .. }
        | Screen::IdNumber { .. }
        | Screen::PortraitFormNumber { .. }
        | Screen::PlaceCard
        | Screen::PortraitFormChecking
        | Screen::PortraitFormConfirm { .. }
        | Screen::PrintingPortraitForm
        | Screen::PortraitFormPrinted
        | Screen::Checking
        | Screen::Confirm { .. }
        | Screen::InScope { .. }
        | Screen::WrongHousehold { .. }
        | Screen::ScanReceipt { .. }
        | Screen::FetchingPhoto
        | Screen::LivePhoto { .. }
        | Screen::CapturingPhoto
        | Screen::PhotoReview { .. }
        | Screen::ComparingFaces
        | Screen::Mobile { .. }
        | Screen::Fingerprints { .. }
        | Screen::Signature
        | Screen::Payment { .. }
        | Screen::Paying { .. }
        | Screen::Printing
        | Screen::Finished { .. }
        | Screen::Referred { .. }
        | Screen::ConfirmEnd { .. }
        | Screen::Countdown { .. } => screen.name(),
    }
}

fn assert_prompt(html: &str, prompt: Prompt, screen: &str) {
    assert!(
        html.contains(&format!(r#"<span class="zh">{}</span>"#, prompt.zh)),
        "{screen}: Chinese {:?} missing",
        prompt.zh
    );
    assert!(
        html.contains(&format!(
            r#"<span class="en" lang="en">{}</span>"#,
            prompt.en
        )),
        "{screen}: English {:?} missing",
        prompt.en
    );
    let zh = html.find(prompt.zh).expect("found above");
    let en = html.find(prompt.en).expect("found above");
    assert!(zh < en, "{screen}: Chinese first");
}

#[tokio::test]
async fn every_screen_renders_its_exact_prompts() {
    let kiosk = Kiosk::new();
    let screens = every_screen();
    let mut names: Vec<&str> = screens.iter().map(|(screen, ..)| covered(screen)).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 30, "one of each screen: {names:?}");

    for (screen, texts, markup) in screens {
        let name = screen.name();
        let title = screen.title();
        let error = screen.error();
        let notices = screen.notices();
        let html = kiosk.page(screen, ViewExtras::default()).await;
        assert!(
            html.contains(&format!(r#"<body data-screen="{name}""#)),
            "{name}: body data-screen"
        );
        assert_prompt(&html, title, name);
        if let Some(error) = error {
            assert_prompt(&html, error, name);
            assert!(html.contains(r#"role="alert""#), "{name}: error area");
        }
        for notice in notices {
            assert_prompt(&html, *notice, name);
        }
        for text in texts {
            assert_prompt(&html, text, name);
        }
        for fragment in markup {
            assert!(html.contains(fragment), "{name}: {fragment:?} missing");
        }
    }
}

#[tokio::test]
async fn start_screen_says_recording_legal_and_window_notices() {
    let (voice, _engine, _dir) = fake_voice();
    let kiosk = Kiosk::with_voice(Some(voice));
    let html = kiosk
        .page(Screen::Welcome { notice: None }, ViewExtras::default())
        .await;
    for prompt in [
        prompts::VIDEO_AND_LEGAL_NOTICE,
        prompts::NO_TEMPORARY_CARDS,
        prompts::UNDER_16,
    ] {
        assert_prompt(&html, prompt, "welcome");
    }
    assert!(html.contains(r#"name="action" value="voice""#));
    assert!(
        html.contains(r#"name="value" value="on""#),
        "voice off offers on"
    );
    let html = kiosk
        .page(
            Screen::Welcome { notice: None },
            ViewExtras {
                voice: true,
                ..ViewExtras::default()
            },
        )
        .await;
    assert!(html.contains(r#"data-voice="on""#));
    assert!(
        html.contains(r#"name="value" value="off""#),
        "voice on offers off"
    );
    assert!(html.contains(&format!(
        r#"data-say="{}。{}。按1，{}。按2，{}。按3，{}。按4，{}。按5，{}。按6，{}""#,
        prompts::STEP_TITLES[0].zh,
        screen::CHOOSE_BUSINESS.zh,
        prompts::BUSINESS_EXPIRY_RENEWAL.zh,
        prompts::BUSINESS_LOST.zh,
        prompts::BUSINESS_DAMAGED.zh,
        screen::FIRST_TIME_APPLICANT.zh,
        screen::VOICE_PROMPTS.zh,
        screen::LARGE_TYPE.zh,
    )));
}

#[tokio::test]
async fn progress_bar_marks_the_screens_step() {
    let kiosk = Kiosk::new();
    for (screen, ..) in every_screen() {
        let name = screen.name();
        let step = screen.step();
        let html = kiosk.page(screen, ViewExtras::default()).await;
        assert_eq!(html.matches(r#"<li class="step "#).count(), 12, "{name}");
        assert_eq!(
            html.matches(r#"aria-current="step""#).count(),
            1,
            "{name}: one current step"
        );
        assert!(
            html.contains(&format!(
                r#"<li class="step current" data-step="{step}" data-state="current""#
            )),
            "{name}: step {step} current"
        );
        assert_eq!(
            html.matches(r#"data-state="done""#).count(),
            usize::from(step) - 1,
            "{name}: steps before {step} done"
        );
        for (index, title) in prompts::STEP_TITLES.iter().enumerate() {
            assert!(html.contains(title.zh), "{name}: step {} title", index + 1);
        }
    }
}

#[tokio::test]
async fn referral_and_countdown_mark_the_step_they_cover() {
    let kiosk = Kiosk::new();
    let html = kiosk
        .page(
            Screen::Countdown {
                step: 6,
                seconds: 10,
            },
            ViewExtras::default(),
        )
        .await;
    assert!(html.contains(r#"<li class="step current" data-step="6""#));
    assert_prompt(&html, prompts::STEP_TITLES[5], "countdown");
    let html = kiosk
        .page(
            Screen::Referred {
                step: 11,
                prompt: prompts::PAYMENT_REFERRED,
            },
            ViewExtras::default(),
        )
        .await;
    assert!(html.contains(r#"<li class="step current" data-step="11""#));
    assert!(html.contains(r#"data-testid="referred-step" data-step="11""#));
}

#[tokio::test]
async fn extras_camera_qr_application_number_offline() {
    let kiosk = Kiosk::new();
    let html = kiosk
        .page(
            Screen::LivePhoto { error: None },
            ViewExtras {
                camera_preview_url: Some("http://127.0.0.1:8081/preview.mjpg?a=1&b=2".into()),
                center_offline: true,
                ..ViewExtras::default()
            },
        )
        .await;
    assert!(
        html.contains(r#"<img id="camera-preview" data-testid="camera-preview" src="http://127.0.0.1:8081/preview.mjpg?a=1&#38;b=2""#)
            || html.contains(r#"<img id="camera-preview" data-testid="camera-preview" src="http://127.0.0.1:8081/preview.mjpg?a=1&amp;b=2""#),
        "{html}"
    );
    assert_prompt(&html, screen::CENTER_OFFLINE, "live_photo");
    assert!(!html.contains("photo-problem"));
    let html = kiosk
        .page(
            Screen::LivePhoto {
                error: Some(prompts::PHOTO_UNUSABLE),
            },
            ViewExtras {
                photo_problem: Some(prompts::ID_LENGTH),
                ..ViewExtras::default()
            },
        )
        .await;
    assert!(html.contains(r#"data-testid="photo-problem""#));
    assert_prompt(&html, prompts::ID_LENGTH, "live_photo");
    assert_prompt(&html, prompts::PHOTO_UNUSABLE, "live_photo");
    assert!(!html.contains("camera-preview"));
    assert_prompt(&html, screen::NO_CAMERA_PREVIEW, "live_photo");
    assert!(!html.contains("center-offline"));

    let html = kiosk
        .page(
            Screen::Paying {
                method: PaymentMethod::WeChat,
                fee_cny: 40,
            },
            ViewExtras {
                wechat_code_url: Some("weixin://wxpay/bizpayurl?pr=abc123".into()),
                ..ViewExtras::default()
            },
        )
        .await;
    assert!(html.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 37 37""#));
    assert!(html.contains(r#"data-testid="wechat-qr""#));
    assert!(!html.contains("qr-pending"));

    let html = kiosk
        .page(
            Screen::Finished {
                payment: PaymentMethod::WeChat,
                business: Business::Lost,
                issue_by: date("2027-01-24"),
            },
            ViewExtras {
                application_no: Some("A2026112500017".into()),
                collection: Some(kiosk::center_api::CollectionOffice {
                    office: "玄武分局户政办证大厅".into(),
                    address: "北京东路1号".into(),
                    hours: "周一至周五 9:00–17:00".into(),
                }),
                deadline_unix_s: Some(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .expect("after 1970")
                        .as_secs()
                        + 30,
                ),
                ..ViewExtras::default()
            },
        )
        .await;
    assert!(html.contains(r#"data-testid="application-no">A2026112500017<"#));
    assert_prompt(&html, screen::APPLICATION_NO, "finished");
    // Issue 15: where and when to collect the card, and how long the screen stays.
    assert!(html.contains(r#"data-testid="collection-office">玄武分局户政办证大厅<"#));
    assert!(html.contains(r#"data-testid="collection-address">北京东路1号<"#));
    assert!(html.contains(r#"data-testid="collection-hours">周一至周五 9:00–17:00<"#));
    assert!(html.contains("2027年1月24日") || html.contains("2027年01月24日"));
    assert!(
        html.contains(r#"data-ticks="down">30<"#) || html.contains(r#"data-ticks="down">29<"#),
        "the seconds until the start screen"
    );
    assert!(!html.contains(prompts::TAKE_OLD_CARD.zh), "not a renewal");
}

fn fingerprints(finger: Finger, number: u8, problem: Option<PressProblem>) -> Screen {
    Screen::Fingerprints {
        finger,
        number,
        error: problem.map(|_| prompts::FINGERPRINT_POOR_PRESS),
        problem,
    }
}

// Issue 15: the agent sent "右手食指 right_index" and the label lookup only knew `right_index`,
// so the screen never said which finger, nor "1 / 2".
#[tokio::test]
async fn fingerprints_name_the_finger_and_count_it_of_two() {
    let kiosk = Kiosk::new();
    let html = kiosk
        .page(
            fingerprints(Finger::RightIndex, 1, None),
            ViewExtras::default(),
        )
        .await;
    assert!(
        html.contains(r#"data-testid="finger" data-finger="right_index" data-number="1""#),
        "{html}"
    );
    assert!(
        html.contains("请将右手食指平放在指纹采集器上（第1枚，共2枚）"),
        "{html}"
    );
    assert!(html.contains("Place your right index finger flat on the sensor (1 of 2)"));
    assert!(
        html.contains(r#"data-testid="finger-count">1 / 2<"#),
        "{html}"
    );
    assert!(!html.contains(r#"data-testid="press-problem""#));
    let html = kiosk
        .page(
            fingerprints(Finger::LeftIndex, 2, None),
            ViewExtras::default(),
        )
        .await;
    assert!(html.contains("请将左手食指平放在指纹采集器上（第2枚，共2枚）"));
    assert!(html.contains(r#"data-testid="finger-count">2 / 2<"#));
}

#[tokio::test]
async fn a_poor_press_shows_the_prompt_and_the_reason() {
    let kiosk = Kiosk::new();
    let html = kiosk
        .page(
            fingerprints(Finger::RightIndex, 1, Some(PressProblem::Smudged)),
            ViewExtras::default(),
        )
        .await;
    for text in [
        prompts::FINGERPRINT_POOR_PRESS.zh,
        prompts::FINGERPRINT_POOR_PRESS.en,
        prompts::PRESS_SMUDGED.zh,
        prompts::PRESS_SMUDGED.en,
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    assert!(html.contains(r#"data-testid="press-problem""#));
    assert!(html.contains(r#"data-testid="finger-count">1 / 2<"#));
}

// Issue 15: a wrong check digit emptied all 18 characters.
#[tokio::test]
async fn a_refused_id_number_stays_typed_with_the_wrong_character_marked() {
    let kiosk = Kiosk::new();
    let typed = Some(TypedId {
        text: "320104200012100045".into(),
        wrong: Some(17..18),
    });
    let html = kiosk
        .page(
            Screen::IdNumber {
                business: Business::Damaged,
                portrait_form: false,
                error: Some(prompts::ID_CHECK_DIGIT),
                typed: typed.clone(),
            },
            ViewExtras::default(),
        )
        .await;
    assert!(html.contains(r#"value="320104200012100045""#), "{html}");
    assert!(
        html.contains(r#"32010420001210004<mark data-testid="typed-id-wrong">5</mark>"#),
        "{html}"
    );
    let html = kiosk
        .page(
            Screen::PortraitFormNumber {
                error: Some(prompts::ID_CHECK_DIGIT),
                typed,
            },
            ViewExtras::default(),
        )
        .await;
    assert!(html.contains(r#"value="320104200012100045""#));
    assert!(html.contains(r#"data-testid="typed-id-wrong">5</mark>"#));
    // Nothing refused: an empty field and no marks.
    let html = kiosk
        .page(
            Screen::IdNumber {
                business: Business::Damaged,
                portrait_form: false,
                error: None,
                typed: None,
            },
            ViewExtras::default(),
        )
        .await;
    assert!(html.contains(r#"maxlength="18" value="""#));
    assert!(!html.contains("typed-id"));
}

#[tokio::test]
async fn used_and_expired_receipts_show_their_own_prompt() {
    let kiosk = Kiosk::new();
    for prompt in [prompts::PHOTO_RECEIPT_USED, prompts::PHOTO_RECEIPT_EXPIRED] {
        let html = kiosk
            .page(
                Screen::ScanReceipt {
                    error: Some(prompt),
                },
                ViewExtras::default(),
            )
            .await;
        assert!(
            html.contains(prompt.zh) && html.contains(prompt.en),
            "{html}"
        );
    }
}

#[tokio::test]
async fn each_form_post_becomes_its_action() {
    let mut kiosk = Kiosk::new();
    let cases = [
        ("action=start", UiAction::Start),
        (
            "action=business&value=expiry_renewal",
            UiAction::Business(Business::ExpiryRenewal),
        ),
        (
            "action=business&value=lost",
            UiAction::Business(Business::Lost),
        ),
        (
            "action=business&value=damaged",
            UiAction::Business(Business::Damaged),
        ),
        ("action=portrait_form", UiAction::PortraitFormChosen),
        (
            "action=household&value=local",
            UiAction::Household(Household::Local),
        ),
        (
            "action=household&value=province",
            UiAction::Household(Household::Province),
        ),
        (
            "action=id_number&value=11010519491231002X",
            UiAction::IdNumber("11010519491231002X".into()),
        ),
        ("action=id_number&value=", UiAction::IdNumber(String::new())),
        (
            "value=110105194912310&action=portrait_form_requested",
            UiAction::PortraitFormRequested("110105194912310".into()),
        ),
        ("action=confirm", UiAction::Confirm),
        ("action=back", UiAction::Back),
        ("action=cancel", UiAction::Cancel),
        ("action=take_photo", UiAction::TakePhoto),
        ("action=use_photo", UiAction::UsePhoto),
        ("action=retake_photo", UiAction::RetakePhoto),
        (
            "action=mobile&first=13812345678&second=13812345679",
            UiAction::Mobile {
                first: "13812345678".into(),
                second: "13812345679".into(),
            },
        ),
        (
            "action=payment_method&value=wechat",
            UiAction::PaymentMethod(PaymentMethod::WeChat),
        ),
        (
            "action=payment_method&value=unionpay",
            UiAction::PaymentMethod(PaymentMethod::UnionPay),
        ),
        ("action=activity", UiAction::Activity),
        ("action=voice&value=on", UiAction::Voice(true)),
        ("action=voice&value=off", UiAction::Voice(false)),
        ("action=large_type&value=on", UiAction::LargeType(true)),
        ("action=large_type&value=off", UiAction::LargeType(false)),
    ];
    for (body, expected) in cases {
        let (status, location, text, action) = kiosk.form(body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}: {text}");
        assert_eq!(location.as_deref(), Some("/"), "{body}");
        assert_eq!(action, Some(expected), "{body}");
    }
}

#[tokio::test]
async fn the_pages_own_buttons_post_what_the_parser_takes() {
    // Regression guard between template and parser: every hidden action value on every page
    // parses.
    let mut kiosk = Kiosk::new();
    for (screen, ..) in every_screen() {
        let name = screen.name();
        let html = kiosk.page(screen, ViewExtras::default()).await;
        let mut posted = 0;
        for form in html.split("<form ").skip(1) {
            let form = form.split("</form>").next().expect("split");
            let value = form
                .split(r#"name="value" value=""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next());
            // Every submit of the form: a hidden `action`, or several named submit buttons.
            let actions: Vec<&str> = form
                .split(r#"name="action" value=""#)
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .collect();
            assert!(!actions.is_empty(), "{name}: every form names its action");
            for action in actions {
                let mut body = format!("action={action}");
                if let Some(value) = value {
                    body.push_str(&format!("&value={value}"));
                } else if form.contains(r#"name="value""#) {
                    // A keypad field the browser sends as typed, here empty.
                    body.push_str("&value=");
                }
                if form.contains(r#"name="first""#) {
                    body.push_str("&first=13812345678&second=13812345678");
                }
                let (status, _, text, reached) = kiosk.form(&body).await;
                assert_eq!(status, StatusCode::SEE_OTHER, "{name}: {body}: {text}");
                assert!(reached.is_some(), "{name}: {body}");
            }
            posted += 1;
        }
        let waits = [
            "portrait_form_checking",
            "printing_portrait_form",
            "checking",
            "fetching_photo",
            "capturing_photo",
            "comparing_faces",
            "paying",
            "printing",
            "signature",
        ];
        assert!(
            posted > 0 || waits.contains(&name),
            "{name}: a screen that waits for the citizen offers a button"
        );
    }
}

#[tokio::test]
async fn a_bad_value_is_a_400_naming_the_field() {
    let mut kiosk = Kiosk::new();
    let cases = [
        ("", "`action`"),
        ("action=fly", "`action`"),
        ("action=business", "`value`"),
        ("action=business&value=temporary", "`value`"),
        ("action=household&value=abroad", "`value`"),
        ("action=payment_method&value=cash", "`value`"),
        ("action=voice&value=loud", "`value`"),
        ("action=large_type&value=huge", "`value`"),
        ("action=id_number", "`value`"),
        ("action=id_number&value=1101%3Cscript%3E", "`value`"),
        ("action=mobile&second=13812345678", "`first`"),
        (
            "action=mobile&first=13812345678&second=138-1234",
            "`second`",
        ),
    ];
    for (body, field) in cases {
        let (status, _, text, action) = kiosk.form(body).await;
        assert_eq!(
            kiosk.last_refresh.as_deref(),
            Some("3; url=/"),
            "{body}: leads back"
        );
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
        assert!(text.contains(field), "{body}: {text:?} names {field}");
        assert_eq!(action, None, "{body}: nothing reached the agent");
    }
    let (status, _, text, action) = kiosk
        .post("/action", "application/json", b"{}".to_vec(), Ok(()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.starts_with("form:"), "{text}");
    assert_eq!(action, None);
}

#[tokio::test]
async fn a_refused_action_shows_the_current_page_and_a_stopped_agent_is_503() {
    let mut kiosk = Kiosk::new();
    let (status, location, _, action) = kiosk
        .post(
            "/action",
            "application/x-www-form-urlencoded",
            b"action=confirm".to_vec(),
            Err(ActionError::NotNow("double tap".into())),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/"));
    assert_eq!(action, Some(UiAction::Confirm));

    let Kiosk { app, actions, .. } = kiosk;
    drop(actions);
    let response = app
        .oneshot(
            Request::post("/action")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("action=confirm"))
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// A PNG of one white pixel.
fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0, 0, 0, 13]);
    png.extend_from_slice(b"IHDR");
    png.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55,
    ]);
    png
}

#[tokio::test]
async fn signature_upload_reaches_the_agent() {
    use base64::Engine as _;
    let mut kiosk = Kiosk::new();
    let png = tiny_png();
    let url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    let (status, location, text, action) = kiosk
        .post(
            "/signature",
            "text/plain;charset=UTF-8",
            url.into_bytes(),
            Ok(()),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    assert_eq!(location.as_deref(), Some("/"));
    assert_eq!(action, Some(UiAction::Signature(png.clone())));

    let (status, _, text, action) = kiosk
        .post("/signature", "image/png", png.clone(), Ok(()))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    assert_eq!(action, Some(UiAction::Signature(png.clone())));

    let (status, _, text, action) = kiosk
        .post("/signature", "image/png", b"GIF89a....".to_vec(), Ok(()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.starts_with("body:"), "{text}");
    assert_eq!(action, None);

    let (status, _, text, action) = kiosk
        .post(
            "/signature",
            "text/plain",
            b"data:image/png;base64,@@@".to_vec(),
            Ok(()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(action, None);

    let mut big = png.clone();
    big.resize(1024 * 1024 + 1, 0);
    let (status, _, text, action) = kiosk.post("/signature", "image/png", big, Ok(())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text.starts_with("body:"), "{text}");
    assert_eq!(action, None);

    // Past the body limit (sized for a 1 MiB PNG as a data URL) the same answer, in the same form.
    let mut huge = png.clone();
    huge.resize(2 * 1024 * 1024, 0);
    let (status, _, text, action) = kiosk.post("/signature", "image/png", huge, Ok(())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text.starts_with("body:"), "{text}");
    assert_eq!(action, None);
}

/// Reads body frames until one carries an SSE `data:` line, with a time limit.
async fn next_event(body: &mut Body) -> String {
    let mut text = String::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(2), body.frame())
            .await
            .expect("an event within 2 s")
            .expect("the stream stays open")
            .expect("no error");
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).expect("utf-8"));
        }
        if text.contains("data:") && text.ends_with("\n\n") {
            return text;
        }
    }
}

#[tokio::test]
async fn events_announce_each_new_view() {
    let kiosk = Kiosk::new();
    let response = kiosk
        .app
        .clone()
        .oneshot(
            Request::get("/events")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE).expect("type"),
        "text/event-stream"
    );
    let mut body = response.into_body();
    let first = next_event(&mut body).await;
    assert!(first.contains("event: view\n"), "{first}");
    assert!(
        first.contains(r#"data: {"version":0,"screen":"welcome","fingerprint":""#),
        "{first}"
    );

    kiosk.show(Screen::Business, ViewExtras::default());
    let second = next_event(&mut body).await;
    assert!(
        second.contains(r#"data: {"version":1,"screen":"business","fingerprint":""#),
        "{second}"
    );
    assert!(second.contains("id: 1\n"), "{second}");

    // The same screen again under a new version keeps its fingerprint, so the page does not
    // reload (an activity ping must not wipe what was typed).
    kiosk.show(Screen::Business, ViewExtras::default());
    let third = next_event(&mut body).await;
    let fingerprint = |event: &str| {
        event
            .split(r#""fingerprint":""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("fingerprint")
            .to_owned()
    };
    assert!(third.contains(r#""version":2"#), "{third}");
    assert_eq!(fingerprint(&second), fingerprint(&third));
    assert_ne!(fingerprint(&first), fingerprint(&second));

    // The page carries the fingerprint it was drawn from.
    let (_, html) = kiosk.get("/").await;
    assert!(html.contains(&format!(r#"data-fingerprint="{}""#, fingerprint(&third))));
    assert!(html.contains(r#"data-version="2""#));
}

// Issue 15 item 5: the citizen sees the photo taken before it is compared.
#[tokio::test]
async fn photo_review_serves_the_photo_uncached_and_only_while_reviewing() {
    let kiosk = Kiosk::new();
    let get = |path: &'static str| {
        let app = kiosk.app.clone();
        async move {
            app.oneshot(Request::get(path).body(Body::empty()).expect("request"))
                .await
                .expect("infallible")
        }
    };
    let jpeg: Arc<[u8]> = Arc::from(&b"\xff\xd8\xff\xe0 a photo \xff\xd9"[..]);
    let reviewing = ViewExtras {
        review_photo: Some(jpeg.clone()),
        ..ViewExtras::default()
    };
    // The retakes used up: only "use this photo", and why.
    let html = kiosk
        .page(
            Screen::PhotoReview { can_retake: false },
            ViewExtras::default(),
        )
        .await;
    assert_prompt(&html, prompts::PHOTO_RETAKES_USED, "photo_review");
    assert!(html.contains(r#"data-testid="use-photo""#));
    assert!(!html.contains(r#"data-testid="retake-photo""#));
    // No photo yet: 404, not cached either.
    kiosk.show(
        Screen::PhotoReview { can_retake: true },
        ViewExtras::default(),
    );
    let response = get("/photo/review.jpg").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response
            .headers()
            .get(header::CACHE_CONTROL)
            .expect("cache"),
        "no-store"
    );
    // Reviewing: the photo, never stored by the browser.
    kiosk.show(Screen::PhotoReview { can_retake: true }, reviewing.clone());
    let response = get("/photo/review.jpg").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE).expect("type"),
        "image/jpeg"
    );
    assert_eq!(
        response
            .headers()
            .get(header::CACHE_CONTROL)
            .expect("cache"),
        "no-store"
    );
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&bytes[..], &jpeg[..]);
    // Once the review is over, the photo is not served, even if it is still held.
    kiosk.show(Screen::ComparingFaces, reviewing);
    assert_eq!(
        get("/photo/review.jpg").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn assets_are_served_from_the_router() {
    let kiosk = Kiosk::new();
    for (path, content_type, needle) in [
        ("/assets/kiosk.css", "text/css; charset=utf-8", ".keypad"),
        (
            "/assets/kiosk.js",
            "text/javascript; charset=utf-8",
            "EventSource",
        ),
    ] {
        let response = kiosk
            .app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).expect("type"),
            content_type
        );
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert!(String::from_utf8_lossy(&bytes).contains(needle), "{path}");
    }
    let (_, html) = kiosk.get("/").await;
    assert!(html.contains(r#"<link rel="stylesheet" href="/assets/kiosk.css">"#));
    assert!(html.contains(r#"<script src="/assets/kiosk.js"></script>"#));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
}

// Regression (issue 14): the touchscreen's pages had no CSP, X-Frame-Options or Referrer-Policy.
#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let kiosk = Kiosk::new();
    for path in ["/", "/assets/kiosk.js", "/no-such-page"] {
        let response = kiosk
            .app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let headers = response.headers();
        let csp = headers
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert_eq!(headers.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
    }
}

/// A speech engine that counts its calls and answers a WAV of silence, one second per four
/// characters (a test double: the real engine is tested in `kiosk::voice`).
#[derive(Default)]
struct CountingEngine {
    calls: AtomicUsize,
}

impl SpeechEngine for CountingEngine {
    fn voice_id(&self) -> String {
        "counting/test".into()
    }

    fn synthesize(&self, text: &str) -> Result<Vec<u8>, SpeechError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let data = vec![0u8; 2 * 8000 * text.chars().count() / 4];
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend_from_slice(&16000u32.to_le_bytes());
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&16u16.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
        wav.extend_from_slice(&data);
        Ok(wav)
    }
}

fn fake_voice() -> (Arc<Voice>, Arc<CountingEngine>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Arc::new(CountingEngine::default());
    let voice = Voice::new(engine.clone(), &dir.path().join("voice")).expect("voice cache");
    (Arc::new(voice), engine, dir)
}

/// The `src` of the page's `<audio>`, if it has one.
fn audio_src(html: &str) -> Option<String> {
    let audio = html.split(r#"<audio id="voice-audio""#).nth(1)?;
    let src = audio.split(r#"src=""#).nth(1)?;
    Some(src.split('"').next()?.to_owned())
}

/// The status of `GET path` (the body may be a WAV, not text).
async fn status_of(kiosk: &Kiosk, path: &str) -> StatusCode {
    kiosk
        .app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("infallible")
        .status()
}

fn voice_on() -> ViewExtras {
    ViewExtras {
        voice: true,
        ..ViewExtras::default()
    }
}

#[tokio::test]
async fn without_a_speech_engine_the_voice_toggle_says_unavailable() {
    let kiosk = Kiosk::new();
    for extras in [ViewExtras::default(), voice_on()] {
        let html = kiosk.page(Screen::Welcome { notice: None }, extras).await;
        assert!(html.contains(r#"data-voice="unavailable""#));
        let toggle = html
            .split(r#"data-testid="voice-toggle""#)
            .nth(1)
            .and_then(|rest| rest.split("</button>").next())
            .expect("the voice toggle");
        assert!(toggle.contains(" disabled>"), "{toggle}");
        assert!(!toggle.contains("aria-pressed"), "{toggle}");
        assert_prompt(toggle, screen::VOICE_UNAVAILABLE, "welcome");
        assert!(!toggle.contains(screen::VOICE_ON.zh), "never pretends On");
        assert_eq!(audio_src(&html), None);
    }
    let html = kiosk.page(Screen::Business, voice_on()).await;
    assert_eq!(audio_src(&html), None, "nothing to play without an engine");
    let (status, _) = kiosk.get("/voice/0123456789abcdef.wav").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn voice_and_large_type_toggles_on_the_start_screen() {
    let (voice, _engine, _dir) = fake_voice();
    let kiosk = Kiosk::with_voice(Some(voice));
    let html = kiosk
        .page(Screen::Welcome { notice: None }, ViewExtras::default())
        .await;
    assert!(html.contains(r#"data-voice="off""#));
    assert!(html.contains(r#"data-large-type="off""#));
    assert!(!html.contains(r#"class="large-type""#));
    assert!(html.contains(r#"id="voice-toggle" data-testid="voice-toggle" aria-pressed="false""#));
    assert!(html.contains(
        r#"id="large-type-toggle" data-testid="large-type-toggle" aria-pressed="false""#
    ));
    assert!(html.contains(r#"name="action" value="large_type">"#));
    assert_prompt(&html, screen::LARGE_TYPE, "welcome");
    assert_eq!(audio_src(&html), None, "voice off plays nothing");

    let html = kiosk
        .page(
            Screen::Welcome { notice: None },
            ViewExtras {
                large_type: true,
                ..ViewExtras::default()
            },
        )
        .await;
    assert!(html.contains(r#"<body class="large-type""#));
    assert!(html.contains(r#"data-large-type="on""#));
    assert!(html
        .contains(r#"id="large-type-toggle" data-testid="large-type-toggle" aria-pressed="true""#));
    let large_type_form = html
        .split(r#"value="large_type">"#)
        .nth(1)
        .expect("the large-type form");
    assert!(
        large_type_form.starts_with("\n<input type=\"hidden\" name=\"value\" value=\"off\">"),
        "large type on offers off: {large_type_form}"
    );
    // Large type stays on every screen of the session.
    let html = kiosk
        .page(
            Screen::Business,
            ViewExtras {
                large_type: true,
                ..ViewExtras::default()
            },
        )
        .await;
    assert!(html.contains(r#"<body class="large-type""#));
}

#[tokio::test]
async fn what_is_said_names_each_option_with_its_digit() {
    let kiosk = Kiosk::new();
    let html = kiosk.page(Screen::Business, ViewExtras::default()).await;
    let expected = format!(
        "{}。{}。按1，{}。按2，{}。按3，{}。按4，{}",
        prompts::STEP_TITLES[0].zh,
        screen::CHOOSE_BUSINESS.zh,
        prompts::BUSINESS_EXPIRY_RENEWAL.zh,
        prompts::BUSINESS_LOST.zh,
        prompts::BUSINESS_DAMAGED.zh,
        screen::FIRST_TIME_APPLICANT.zh,
    );
    assert!(
        html.contains(&format!(r#"data-say="{expected}""#)),
        "{html}"
    );
    assert_eq!(
        kiosk::ui::page::say(&Screen::Business, &ViewExtras::default()),
        expected
    );

    let household = Screen::Household {
        business: Business::ExpiryRenewal,
    };
    let said = kiosk::ui::page::say(&household, &ViewExtras::default());
    assert!(
        said.contains(&format!("按1，{}", prompts::HOUSEHOLD_LOCAL.zh)),
        "{said}"
    );
    assert!(
        said.contains(&format!("按2，{}", prompts::HOUSEHOLD_PROVINCE.zh)),
        "{said}"
    );
    // A screen without options says its title and instruction only.
    let said = kiosk::ui::page::say(&Screen::PlaceCard, &ViewExtras::default());
    assert!(
        said.contains(screen::PLACE_CARD.zh) && !said.contains('按'),
        "{said}"
    );
    // The digits the voice names are the options the page draws, in order (kiosk.js picks
    // `#screen button.choice, #screen button.toggle`).
    for (screen, count) in [
        (Screen::Welcome { notice: None }, 6),
        (Screen::Business, 4),
        (household, 2),
    ] {
        let name = screen.name();
        let html = kiosk.page(screen.clone(), ViewExtras::default()).await;
        let section = html
            .split(r#"<section class="screen"#)
            .nth(1)
            .expect("#screen");
        let drawn = section.matches(r#"class="btn choice"#).count()
            + section.matches(r#"class="btn secondary toggle"#).count();
        assert_eq!(drawn, count, "{name}");
        assert_eq!(
            kiosk::ui::page::options(&screen, &ViewExtras::default()).len(),
            count,
            "{name}"
        );
    }
}

#[tokio::test]
async fn voice_route_serves_the_current_screens_prompt_once_generated() {
    let (voice, engine, dir) = fake_voice();
    let kiosk = Kiosk::with_voice(Some(voice.clone()));
    let html = kiosk.page(Screen::Business, voice_on()).await;
    assert!(html.contains(r#"data-voice="on""#));
    let src = audio_src(&html).expect("voice on: the page plays its prompt");
    let key = voice.key(&kiosk::ui::page::say(
        &Screen::Business,
        &ViewExtras::default(),
    ));
    assert_eq!(src, format!("/voice/{key}.wav"));

    let response = kiosk
        .app
        .clone()
        .oneshot(Request::get(&src).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "audio/wav");
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("media-src 'self'"), "{csp}");
    let wav = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&wav[0..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    assert!(wav.len() > 44);
    assert_eq!(engine.calls.load(Ordering::SeqCst), 1);
    let file = dir.path().join("voice").join(format!("{key}.wav"));
    assert!(file.exists(), "cached in the data folder");

    // Again, and after the screen moved on: the cache answers, the engine is not asked.
    assert_eq!(status_of(&kiosk, &src).await, StatusCode::OK);
    let html = kiosk
        .page(
            Screen::Household {
                business: Business::Lost,
            },
            voice_on(),
        )
        .await;
    assert_eq!(status_of(&kiosk, &src).await, StatusCode::OK);
    assert_eq!(engine.calls.load(Ordering::SeqCst), 1);
    // The new screen's prompt is generated once.
    let next = audio_src(&html).expect("household plays too");
    assert_ne!(next, src);
    assert_eq!(status_of(&kiosk, &next).await, StatusCode::OK);
    assert_eq!(status_of(&kiosk, &next).await, StatusCode::OK);
    assert_eq!(engine.calls.load(Ordering::SeqCst), 2);

    // A text the kiosk did not draw is never spoken.
    let other = voice.key("任意文本");
    assert_eq!(
        status_of(&kiosk, &format!("/voice/{other}.wav")).await,
        StatusCode::NOT_FOUND
    );
    for path in [
        "/voice/..%2F..%2Fetc%2Fpasswd",
        "/voice/abc.wav",
        "/voice/nothing",
    ] {
        assert_eq!(
            status_of(&kiosk, path).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(engine.calls.load(Ordering::SeqCst), 2);
}

/// Issue 17: step 11 offered WeChat and UnionPay whatever the bureau took, so a citizen could
/// choose a method the center then refused. The screen offers the methods the center's scope
/// answer named (both when it named none), and the voice and keypad digits follow.
#[tokio::test]
async fn step_11_offers_only_the_bureaus_payment_methods() {
    let kiosk = Kiosk::new();
    let payment = Screen::Payment {
        fee_cny: 40,
        error: None,
    };
    let only = |methods: Vec<PaymentMethod>| ViewExtras {
        payment_methods: methods,
        ..ViewExtras::default()
    };
    let buttons = |html: &str| -> Vec<&'static str> {
        ["payment-wechat", "payment-unionpay", "use-unionpay"]
            .into_iter()
            .filter(|testid| html.contains(&format!(r#"data-testid="{testid}""#)))
            .collect()
    };

    let html = kiosk
        .page(payment.clone(), only(vec![PaymentMethod::UnionPay]))
        .await;
    assert_eq!(buttons(&html), ["payment-unionpay"]);
    let said = kiosk::ui::page::say(&payment, &only(vec![PaymentMethod::UnionPay]));
    assert!(
        said.contains(&format!("按1，{}", prompts::PAYMENT_UNIONPAY.zh))
            && !said.contains(prompts::PAYMENT_WECHAT.zh),
        "{said}"
    );

    let html = kiosk
        .page(payment.clone(), only(vec![PaymentMethod::WeChat]))
        .await;
    assert_eq!(buttons(&html), ["payment-wechat"]);
    // Without UnionPay, the QR screen does not offer it instead.
    let html = kiosk
        .page(
            Screen::Paying {
                method: PaymentMethod::WeChat,
                fee_cny: 40,
            },
            only(vec![PaymentMethod::WeChat]),
        )
        .await;
    assert_eq!(buttons(&html), Vec::<&str>::new());

    // A center that names none (older than the list): both, as before.
    let html = kiosk.page(payment.clone(), ViewExtras::default()).await;
    assert_eq!(buttons(&html), ["payment-wechat", "payment-unionpay"]);
    let html = kiosk
        .page(
            Screen::Paying {
                method: PaymentMethod::WeChat,
                fee_cny: 40,
            },
            ViewExtras::default(),
        )
        .await;
    assert_eq!(buttons(&html), ["use-unionpay"]);
}

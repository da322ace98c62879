//! What the touchscreen shows and what it sends back: the one seam between the agent and the UI.

use domain::rules::{Business, Household};
use domain::session::{PaymentMethod, Screen};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

/// Everything a page needs to draw the current screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// Grows by one at every change, so a page can tell it is stale (server-sent events carry it).
    pub version: u64,
    /// The state machine's screen.
    pub screen: Screen,
    /// What the screen needs that the state machine does not hold.
    pub extras: ViewExtras,
}

/// Screen data the agent holds beside the state machine.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ViewExtras {
    /// Step 11, WeChat: the `code_url` to show as a QR code.
    pub wechat_code_url: Option<String>,
    /// Step 7: where the browser reads the live camera preview (MJPEG), if a camera is attached.
    pub camera_preview_url: Option<String>,
    /// The application number once the center gave one (steps 11–12, and the result screen
    /// after them).
    pub application_no: Option<String>,
    /// Where the new card is collected, once the application is filed (the finished screen).
    pub collection: Option<crate::center_api::CollectionOffice>,
    /// When the screen's own timer runs out, in Unix seconds: the payment's on the QR screen,
    /// the return to the start on the finished screen (the page shows the time left).
    pub deadline_unix_s: Option<u64>,
    /// The printer is paused, out of paper or unreachable: the start screen says the kiosk is
    /// out of service and starts no session.
    pub printer_down: bool,
    /// The center could not be reached on the last call; the screen says so.
    pub center_offline: bool,
    /// Voice prompts are on (the citizen's button on the start screen; reset for the next one).
    pub voice: bool,
    /// Large type is on (the citizen's button on the start screen; reset for the next one).
    pub large_type: bool,
    /// Step 7: why the last live photo was refused (face too small, blurred, …), more specific
    /// than the screen's error.
    pub photo_problem: Option<domain::prompts::Prompt>,
    /// Step 7, the photo review: the cropped photo just taken (JPEG), served at
    /// `/photo/review.jpg` while the review screen shows; never serialized.
    #[serde(skip)]
    pub review_photo: Option<std::sync::Arc<[u8]>>,
    /// Step 11: the payment methods the bureau takes, as the center's scope answer named them;
    /// empty until it did ([`ViewExtras::offered_payment_methods`]).
    pub payment_methods: Vec<PaymentMethod>,
}

/// Every method a kiosk can take, in the order step 11 offers them.
pub const ALL_PAYMENT_METHODS: [PaymentMethod; 2] =
    [PaymentMethod::WeChat, PaymentMethod::UnionPay];

impl ViewExtras {
    /// What step 11 offers: the bureau's methods, or every method when the center has named
    /// none (a center that predates the list; it still refuses a method it does not take).
    pub fn offered_payment_methods(&self) -> Vec<PaymentMethod> {
        if self.payment_methods.is_empty() {
            ALL_PAYMENT_METHODS.to_vec()
        } else {
            ALL_PAYMENT_METHODS
                .into_iter()
                .filter(|method| self.payment_methods.contains(method))
                .collect()
        }
    }
}

impl View {
    /// The idle start screen before the agent has published anything.
    pub fn initial() -> View {
        View {
            version: 0,
            screen: Screen::Welcome { notice: None },
            extras: ViewExtras::default(),
        }
    }
}

/// What a touch on the screen means. The UI parses its form posts into these; the agent turns
/// them into state machine events.
#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    /// The idle start screen was touched.
    Start,
    /// Step 1: a business button.
    Business(Business),
    /// Step 1: the first-time applicant's portrait collection form button.
    PortraitFormChosen,
    /// Step 2: a household button.
    Household(Household),
    /// Step 3: the keypad's confirm, with what was typed.
    IdNumber(String),
    /// Step 3: "print the portrait collection form", with what was typed.
    PortraitFormRequested(String),
    /// Confirm / continue.
    Confirm,
    /// Back.
    Back,
    /// End the session.
    Cancel,
    /// Step 7: take the photo.
    TakePhoto,
    /// Step 7, the photo review: use the photo just taken.
    UsePhoto,
    /// Step 7, the photo review: take it again.
    RetakePhoto,
    /// Step 8: the mobile number, twice.
    Mobile {
        /// First entry.
        first: String,
        /// Second entry.
        second: String,
    },
    /// Step 10: the signature drawn on the canvas, as PNG bytes.
    Signature(Vec<u8>),
    /// Step 11: a payment method.
    PaymentMethod(PaymentMethod),
    /// Any touch: keeps the session alive.
    Activity,
    /// Voice prompts on or off.
    Voice(bool),
    /// Large type on or off.
    LargeType(bool),
}

/// Why an action was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The action does not fit the screen (a double tap, a stale page); nothing changed.
    #[error("{0}")]
    NotNow(String),
    /// The agent has stopped.
    #[error("the kiosk agent is not running")]
    AgentGone,
}

/// An action and where to send the agent's verdict.
pub type ActionRequest = (UiAction, oneshot::Sender<Result<(), ActionError>>);

/// The UI's handle on the agent: cheap to clone.
#[derive(Debug, Clone)]
pub struct AgentHandle {
    actions: mpsc::Sender<ActionRequest>,
    view: watch::Receiver<View>,
}

impl AgentHandle {
    /// A handle over the agent's channels (the agent makes them; tests may make their own).
    pub fn new(actions: mpsc::Sender<ActionRequest>, view: watch::Receiver<View>) -> AgentHandle {
        AgentHandle { actions, view }
    }

    /// Sends `action` and waits until the agent has applied it (the next [`View`] is published
    /// before this returns) or refused it.
    pub async fn act(&self, action: UiAction) -> Result<(), ActionError> {
        let (reply, answer) = oneshot::channel();
        self.actions
            .send((action, reply))
            .await
            .map_err(|_| ActionError::AgentGone)?;
        answer.await.map_err(|_| ActionError::AgentGone)?
    }

    /// The current view.
    pub fn view(&self) -> View {
        self.view.borrow().clone()
    }

    /// A receiver that wakes at every new view (for server-sent events).
    pub fn subscribe(&self) -> watch::Receiver<View> {
        self.view.clone()
    }
}

//! The agent's loop: feeds the session state machine with touches, device results, center answers
//! and timer ticks, saves its state to the outbox before acting on a transition, publishes the
//! view, and carries out the commands (DESIGN.md "Session flow").
//!
//! One task owns the [`Session`]; everything slow (a card read, a center call, a print job) runs in
//! a task of its own that sends its result back as an [`Event`] tagged with the session it was
//! started for, so a late answer for an ended session is dropped. The state machine refuses an
//! answer that does not fit the screen, so a double tap or a stale page changes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use biometrics::EnrolConfig;
use devices::{
    BarcodeScanner, Camera, CardReader, CardReaderError, FingerprintScanner, PosTerminal, Printer,
    VideoRecorder,
};
use domain::prompts::Prompt;
use domain::session::{
    Command, Document, Event, FingerprintFailure, Millis, PaymentMethod, PaymentResult,
    PrintResult, Screen, Session, SessionConfig, SessionId,
};
use time::Date;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::capture::{card_on_reader, enrol_fingers, PhotoCropper};
use crate::center_api::{
    ApplicationRecord, CenterApi, CenterError, CollectionOffice, DocumentKind, FingerQuality,
    LiveScore, PayState, PosResult,
};
use crate::fleet::ConfigUpdates;
use crate::outbox::{AgentState, Message, Outbox, OutboxError};
use crate::view::{ActionError, ActionRequest, AgentHandle, UiAction, View, ViewExtras};

/// Everything outside the agent it talks to, each behind its trait.
#[derive(Clone)]
pub struct Ports {
    /// The center's session API.
    pub center: Arc<dyn CenterApi>,
    /// The ID card reader.
    pub card_reader: Arc<dyn CardReader>,
    /// The barcode scanner (photo receipts).
    pub barcode: Arc<dyn BarcodeScanner>,
    /// The fingerprint module.
    pub fingerprint: Arc<dyn FingerprintScanner>,
    /// The camera.
    pub camera: Arc<dyn Camera>,
    /// The ID photo cropper (face engine).
    pub cropper: Arc<dyn PhotoCropper>,
    /// The UnionPay terminal.
    pub pos: Arc<dyn PosTerminal>,
    /// The document printer.
    pub printer: Arc<dyn Printer>,
    /// The session video recorder, when one is attached.
    pub recorder: Option<Arc<dyn VideoRecorder>>,
}

/// The agent's configuration.
#[derive(Clone)]
pub struct AgentConfig {
    /// Timeouts, attempts and face thresholds of the state machine.
    pub session: SessionConfig,
    /// Fingerprint enrolment (fingers, presses, quality and match thresholds).
    pub enrol: EnrolConfig,
    /// Where the browser reads the camera preview.
    pub camera_preview_url: Option<String>,
    /// Where video segments are written while recording.
    pub video_dir: PathBuf,
    /// Today's date in Asia/Shanghai (a closure, so tests can fix it).
    pub today: Arc<dyn Fn() -> Date + Send + Sync>,
    /// Pause between two delivery attempts while the center is down (grows to 10×).
    pub retry_pause: Duration,
}

/// An event from a worker task, for the session it was started in.
#[derive(Debug)]
enum Internal {
    Event(u64, Event),
    Hint(u64, Hint),
    /// The outbox delivery reached the center (true) or could not (false).
    Reachable(bool),
    /// The printer's state, checked while the kiosk waits for a citizen: false when it is
    /// paused, out of paper or unreachable.
    PrinterUsable(bool),
}

/// Screen data a worker learned.
#[derive(Debug)]
enum Hint {
    WechatCode(Option<String>),
    PhotoProblem(Option<Prompt>),
    Fingers(Vec<FingerQuality>),
    /// The center filed the application: its number and where the card is collected.
    Application {
        no: String,
        collection: Option<CollectionOffice>,
    },
}

/// The running agent.
struct Agent {
    ports: Ports,
    config: AgentConfig,
    outbox: Outbox,
    session: Session,
    state: AgentState,
    /// Bumped at every session start; worker results carry it.
    generation: u64,
    origin: Instant,
    extras: ViewExtras,
    version: u64,
    view: watch::Sender<View>,
    internal: mpsc::UnboundedSender<Internal>,
    tasks: HashMap<&'static str, AbortHandle>,
    deliver: Arc<Notify>,
    /// The recorder's start, running beside the session (ffmpeg takes a moment to start); the
    /// stop waits for it.
    video_starting: Option<tokio::task::JoinHandle<()>>,
    /// Remote configuration waiting for an idle moment ([`start_with_updates`]).
    updates: Option<Arc<ConfigUpdates>>,
    /// The last published screen was the start screen (voice and large type reset on coming
    /// back to it).
    on_welcome: bool,
}

/// Starts the agent: restores the state the outbox holds (resuming a session a crash
/// interrupted), then serves actions. Returns the UI's handle.
pub async fn start(
    ports: Ports,
    outbox: Outbox,
    config: AgentConfig,
) -> Result<(AgentHandle, tokio::task::JoinHandle<()>), OutboxError> {
    start_inner(ports, outbox, config, None).await
}

/// [`start`], taking remote configurations from `updates` (the fleet task, [`crate::fleet`]):
/// one offered is applied at the next idle moment (the start screen, no session running) and
/// reported with [`ConfigUpdates::mark_applied`]; a running session keeps the configuration it
/// started with.
pub async fn start_with_updates(
    ports: Ports,
    outbox: Outbox,
    config: AgentConfig,
    updates: Arc<ConfigUpdates>,
) -> Result<(AgentHandle, tokio::task::JoinHandle<()>), OutboxError> {
    start_inner(ports, outbox, config, Some(updates)).await
}

async fn start_inner(
    ports: Ports,
    outbox: Outbox,
    config: AgentConfig,
    updates: Option<Arc<ConfigUpdates>>,
) -> Result<(AgentHandle, tokio::task::JoinHandle<()>), OutboxError> {
    let (action_tx, action_rx) = mpsc::channel::<ActionRequest>(16);
    let (internal_tx, internal_rx) = mpsc::unbounded_channel();
    let (view_tx, view_rx) = watch::channel(View::initial());
    let origin = Instant::now();
    let state = match outbox.load_state().await {
        Ok(state) => state,
        // A state this agent cannot read (written by another version of it, or damaged) must
        // not keep the kiosk from starting: every restart would fail the same way. Its session is
        // not resumed; its captures stay sealed in the outbox and its video is sealed below.
        Err(OutboxError::Sealed(why)) => {
            tracing::error!(
                %why,
                "the saved agent state cannot be read: starting without it, its session is not resumed"
            );
            AgentState::default()
        }
        Err(e) => return Err(e),
    };
    let deliver = Arc::new(Notify::new());
    let mut agent = Agent {
        session: Session::new(config.session.clone(), Millis(0)),
        extras: ViewExtras {
            camera_preview_url: config.camera_preview_url.clone(),
            ..ViewExtras::default()
        },
        ports,
        config,
        outbox: outbox.clone(),
        state,
        generation: 1,
        origin,
        version: 0,
        view: view_tx,
        internal: internal_tx.clone(),
        tasks: HashMap::new(),
        deliver: deliver.clone(),
        video_starting: None,
        updates,
        on_welcome: false,
    };
    let reachability = internal_tx.clone();
    tokio::spawn(delivery_loop(
        outbox,
        agent.ports.center.clone(),
        deliver,
        agent.config.retry_pause,
        Arc::new(move |reachable| {
            let _ = reachability.send(Internal::Reachable(reachable));
        }),
    ));
    // Nothing of an earlier agent goes on recording or stays in plain (issue 14).
    let video_dir = agent.config.video_dir.clone();
    tokio::task::spawn_blocking(move || {
        devices::recorder::end_stale_recorders(&video_dir, Duration::from_secs(5))
    })
    .await
    .unwrap_or_default();
    seal_leftover_videos(&agent.outbox, &agent.config.video_dir).await;
    agent.restore().await?;
    agent.spawn_scanner();
    agent.spawn_printer_watch();
    let handle = AgentHandle::new(action_tx, view_rx);
    let task = tokio::spawn(agent.run(action_rx, internal_rx));
    Ok((handle, task))
}

impl Agent {
    fn now(&self) -> Millis {
        Millis(self.origin.elapsed().as_millis() as u64)
    }

    fn today(&self) -> Date {
        (self.config.today)()
    }

    /// Rebuilds the machine from the saved snapshot and carries out what must be done again.
    async fn restore(&mut self) -> Result<(), OutboxError> {
        let Some(snapshot) = self.state.snapshot.clone() else {
            self.publish();
            return Ok(());
        };
        let (session, transition) =
            Session::resume(self.config.session.clone(), snapshot, self.now());
        self.session = session;
        tracing::info!(
            screen = transition.screen.name(),
            "resumed a session after a restart"
        );
        // A session filed before the crash still shows its number (a print the crash cut
        // short ends with it on the referral screen).
        if let Some(sid) = self.state.session_id.clone() {
            if let Ok(Some(no)) = self.outbox.application_no(&sid).await {
                self.extras.application_no = Some(no);
            }
        }
        self.after_transition(transition.commands, None).await;
        Ok(())
    }

    async fn run(
        mut self,
        mut actions: mpsc::Receiver<ActionRequest>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
    ) {
        loop {
            self.apply_pending_config();
            let updates = self.updates.clone();
            let deadline = self
                .session
                .poll_timeout()
                .map(|Millis(ms)| self.origin + Duration::from_millis(ms));
            tokio::select! {
                _ = config_offered(updates.as_deref()) => {}
                request = actions.recv() => {
                    let Some((action, reply)) = request else { return };
                    self.apply_pending_config();
                    let result = self.on_action(action).await;
                    let _ = reply.send(result);
                }
                Some(message) = internal.recv() => self.on_internal(message).await,
                _ = sleep_until(deadline) => {
                    let _ = self.apply(Event::Tick).await;
                }
            }
        }
    }

    /// On the idle start screen, with no session running: takes a pending remote configuration
    /// and uses it from the next session on.
    fn apply_pending_config(&mut self) {
        let Some(updates) = self.updates.clone() else {
            return;
        };
        if self.session.is_running() || self.session.poll_timeout().is_some() {
            return;
        }
        let Some(pending) = updates.take() else {
            return;
        };
        let screen = self.session.screen();
        self.config.session = pending.session.clone();
        self.config.enrol = pending.enrol;
        self.session = Session::new(pending.session, self.now());
        if self.session.screen() != screen {
            // The previous session's notice on the start screen is gone with the old machine.
            self.publish();
        }
        updates.mark_applied(pending.version);
        tracing::info!(version = pending.version, "remote configuration applied");
    }

    async fn on_action(&mut self, action: UiAction) -> Result<(), ActionError> {
        // The start screen offers step 1's choices (issue 15: a renewal in at most ten touches):
        // choosing one there starts the session, then chooses.
        let on_welcome = matches!(self.session.screen(), Screen::Welcome { .. });
        if on_welcome && matches!(action, UiAction::Business(_) | UiAction::PortraitFormChosen) {
            let start = self.start_event().await?;
            self.apply(start)
                .await
                .map_err(|e| ActionError::NotNow(e.to_string()))?;
        }
        let event = match action {
            UiAction::Start => self.start_event().await?,
            UiAction::Business(b) => Event::BusinessChosen(b),
            UiAction::PortraitFormChosen => Event::PortraitFormChosen,
            UiAction::Household(h) => Event::HouseholdChosen(h),
            UiAction::IdNumber(text) => Event::IdNumberEntered(text),
            UiAction::PortraitFormRequested(text) => Event::PortraitFormRequested(text),
            UiAction::Confirm => Event::Confirm,
            UiAction::Back => Event::Back,
            UiAction::Cancel => Event::Cancel,
            UiAction::TakePhoto => Event::TakePhoto,
            UiAction::UsePhoto => Event::UsePhoto,
            UiAction::RetakePhoto => Event::RetakePhoto,
            UiAction::Mobile { first, second } => Event::MobileEntered { first, second },
            UiAction::Signature(png) => {
                if !matches!(self.session.screen(), Screen::Signature) {
                    return Err(ActionError::NotNow("no signature is asked for".into()));
                }
                if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
                    return Err(ActionError::NotNow(
                        "the signature is not a PNG image".into(),
                    ));
                }
                let sid = self.state.session_id.clone().unwrap_or_default();
                if let Err(e) = self.outbox.put_capture(&sid, "signature", &png).await {
                    tracing::error!(error = %e, "keeping the signature");
                    return Err(ActionError::NotNow(
                        "the signature could not be kept".into(),
                    ));
                }
                Event::SignatureCaptured
            }
            UiAction::PaymentMethod(m) => Event::PaymentMethodChosen(m),
            UiAction::Activity => Event::Activity,
            UiAction::Voice(on) => {
                self.extras.voice = on;
                self.publish();
                return Ok(());
            }
            UiAction::LargeType(on) => {
                self.extras.large_type = on;
                self.publish();
                return Ok(());
            }
        };
        self.apply(event)
            .await
            .map_err(|e| ActionError::NotNow(e.to_string()))
    }

    /// A new session's start, if the kiosk can serve one: no session starts that could not end
    /// with its papers (issue 15).
    async fn start_event(&mut self) -> Result<Event, ActionError> {
        let usable = printer_usable(self.ports.printer.as_ref()).await;
        self.on_printer(usable);
        if !usable {
            return Err(ActionError::NotNow(
                "the kiosk is out of service: the printer is not ready".into(),
            ));
        }
        Ok(Event::Start {
            session_id: SessionId::parse(&uuid::Uuid::new_v4().simple().to_string())
                .expect("a UUID is a valid session id"),
            today: self.today(),
        })
    }

    async fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::Event(generation, event) if generation == self.generation => {
                if let Err(e) = self.apply(event).await {
                    tracing::debug!(error = %e, "late or stray device/center result dropped");
                }
            }
            Internal::Hint(generation, hint) if generation == self.generation => {
                match hint {
                    Hint::WechatCode(url) => self.extras.wechat_code_url = url,
                    Hint::PhotoProblem(prompt) => self.extras.photo_problem = prompt,
                    Hint::Fingers(qualities) => self.state.fingers = qualities,
                    Hint::Application { no, collection } => {
                        self.extras.application_no = Some(no);
                        self.extras.collection = collection;
                    }
                }
                self.publish();
            }
            Internal::Reachable(reachable) => {
                if self.extras.center_offline == reachable {
                    self.extras.center_offline = !reachable;
                    self.publish();
                }
            }
            Internal::PrinterUsable(usable) => self.on_printer(usable),
            Internal::Event(SCANNER, event) => {
                if matches!(self.session.screen(), Screen::ScanReceipt { .. }) {
                    let _ = self.apply(event).await;
                }
            }
            Internal::Event(..) | Internal::Hint(..) => {
                tracing::debug!("result for an ended session dropped");
            }
        }
    }

    /// Applies an event: persist, publish, act.
    async fn apply(&mut self, event: Event) -> Result<(), domain::session::InvalidEvent> {
        let started = match &event {
            Event::Start { session_id, today } => Some((session_id.clone(), *today)),
            _ => None,
        };
        let quiet = matches!(event, Event::Activity | Event::Tick);
        let before = quiet.then(|| self.session.screen());
        let unsaved = (self.session.clone(), self.state.clone());
        let transition = self.session.handle(event, self.now())?;
        if quiet && transition.commands.is_empty() && before.as_ref() == Some(&transition.screen) {
            // Only a timer moved: nothing to save (a restart re-arms every timer) and nothing
            // new to show, so a touch costs no disk write.
            return Ok(());
        }
        if let Some((session_id, today)) = started {
            self.generation += 1;
            self.extras.application_no = None;
            self.extras.collection = None;
            self.state = AgentState {
                session_id: Some(session_id.as_str().to_owned()),
                today: Some(today.to_string()),
                ..AgentState::default()
            };
        }
        self.after_transition(transition.commands, Some(unsaved))
            .await;
        Ok(())
    }

    /// Saves the transition, then publishes the screen and carries out its commands. A
    /// transition that could not be saved is not acted on: the machine goes back to `unsaved`
    /// (the state before it, when there is one) and the kiosk goes out of service from there.
    async fn after_transition(
        &mut self,
        commands: Vec<Command>,
        unsaved: Option<(Session, AgentState)>,
    ) {
        // Learn what later commands need before saving, so it is in the same write.
        for command in &commands {
            if let Command::CallCenterScope(request) = command {
                self.state.applicant_id = Some(request.id.as_str().to_owned());
            }
        }
        self.state.snapshot = Some(self.session.snapshot());
        if let Err(e) = self.outbox.save_state(&self.state).await {
            // Acting without a saved state would break the crash guarantee: a restart would not
            // know what was done (a card charged, a page printed).
            tracing::error!(error = %e, "saving the session state failed: out of service");
            if let Some((session, state)) = unsaved {
                self.session = session;
                self.state = state;
            }
            self.out_of_service().await;
            return;
        }
        self.load_review_photo().await;
        self.publish();
        for command in commands {
            self.execute(command).await;
        }
    }

    /// The photo review shows the live photo the capture sealed (after a restart too); any
    /// other screen drops it from memory.
    async fn load_review_photo(&mut self) {
        if !matches!(self.session.screen(), Screen::PhotoReview { .. }) {
            self.extras.review_photo = None;
            return;
        }
        let Some(sid) = self.state.session_id.clone() else {
            return;
        };
        self.extras.review_photo = match self.outbox.capture(&sid, "live_photo").await {
            Ok(photo) => photo.map(Into::into),
            Err(e) => {
                tracing::error!(error = %e, "reading the live photo for the review");
                None
            }
        };
    }

    /// Ends the running session (its video stopped, its end queued, its captures wiped) and
    /// shows the out-of-service screen ([`Event::OutOfService`]). The save is tried once more,
    /// and a failure only logged: these commands end things, so they run either way.
    async fn out_of_service(&mut self) {
        let transition = match self.session.handle(Event::OutOfService, self.now()) {
            Ok(transition) => transition,
            Err(e) => {
                tracing::error!(error = %e, "the machine refused going out of service");
                return;
            }
        };
        self.state.snapshot = Some(self.session.snapshot());
        if let Err(e) = self.outbox.save_state(&self.state).await {
            tracing::error!(error = %e, "saving the out-of-service state failed");
        }
        self.publish();
        for command in transition.commands {
            self.execute(command).await;
        }
    }

    /// Records the printer's state; the start screen shows it (out of service, or back).
    fn on_printer(&mut self, usable: bool) {
        if self.extras.printer_down == usable {
            self.extras.printer_down = !usable;
            if matches!(self.session.screen(), Screen::Welcome { .. }) {
                self.publish();
            }
        }
    }

    /// While no session runs, the printer is asked for its state every few seconds.
    fn spawn_printer_watch(&self) {
        let printer = self.ports.printer.clone();
        let tx = self.internal.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PRINTER_CHECK).await;
                let usable = printer_usable(printer.as_ref()).await;
                if tx.send(Internal::PrinterUsable(usable)).is_err() {
                    return;
                }
            }
        });
    }

    fn publish(&mut self) {
        // The QR screen and the finished screen show how long their timer has left.
        self.extras.deadline_unix_s = match self.session.screen() {
            Screen::Paying { .. } | Screen::Finished { .. } => {
                self.session.poll_timeout().map(|Millis(at)| {
                    let left = Duration::from_millis(at.saturating_sub(self.now().0));
                    (std::time::SystemTime::now() + left)
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or_default()
                })
            }
            _ => None,
        };
        self.version += 1;
        let screen = self.session.screen();
        // Voice and large type are one citizen's choice: back on the start screen after a
        // session, the next citizen starts without them.
        let on_welcome = matches!(screen, Screen::Welcome { .. });
        if on_welcome && !self.on_welcome {
            self.extras.voice = false;
            self.extras.large_type = false;
        }
        self.on_welcome = on_welcome;
        let view = View {
            version: self.version,
            screen,
            extras: self.extras.clone(),
        };
        self.view.send_replace(view);
    }

    fn session_id(&self) -> Option<SessionId> {
        self.state
            .session_id
            .as_deref()
            .and_then(|s| SessionId::parse(s).ok())
    }

    fn spawn_task<F>(&mut self, slot: &'static str, work: F)
    where
        F: std::future::Future<Output = Option<Event>> + Send + 'static,
    {
        let tx = self.internal.clone();
        let generation = self.generation;
        let handle = tokio::spawn(async move {
            if let Some(event) = work.await {
                let _ = tx.send(Internal::Event(generation, event));
            }
        });
        if let Some(old) = self.tasks.insert(slot, handle.abort_handle()) {
            old.abort();
        }
    }

    fn hint_sender(&self) -> impl Fn(Hint) + Send + Sync + 'static {
        let tx = self.internal.clone();
        let generation = self.generation;
        move |hint| {
            let _ = tx.send(Internal::Hint(generation, hint));
        }
    }

    async fn execute(&mut self, command: Command) {
        tracing::debug!(?command, "command");
        let center = self.ports.center.clone();
        let sid = self.session_id();
        match command {
            Command::StartVideo { session_id } => {
                if let Some(recorder) = self.ports.recorder.clone() {
                    self.state.video_segments += 1;
                    let path = self.config.video_dir.join(format!(
                        "{}-{}.mp4",
                        session_id.as_str(),
                        self.state.video_segments
                    ));
                    let _ = crate::outbox::create_private_dir(&self.config.video_dir);
                    // Started beside the loop, so the citizen's first touch does not wait for it.
                    self.video_starting = Some(tokio::spawn(async move {
                        if let Err(e) = recorder.start(session_id.as_str(), &path).await {
                            tracing::error!(error = %e, "the session video could not start");
                        }
                    }));
                }
            }
            Command::StopVideo => {
                if let Some(starting) = self.video_starting.take() {
                    let _ = starting.await;
                }
                if let (Some(recorder), Some(sid)) = (self.ports.recorder.clone(), sid.clone()) {
                    let segment = self.state.video_segments.max(1);
                    let path = match recorder.stop(sid.as_str()).await {
                        Ok(recording) => recording.path,
                        Err(e) => {
                            // Whatever it wrote is sealed all the same, or deleted.
                            tracing::error!(error = %e, "the session video did not stop");
                            self.config
                                .video_dir
                                .join(format!("{}-{segment}.mp4", sid.as_str()))
                        }
                    };
                    let kind = format!("video_{segment}");
                    if seal_video(&self.outbox, sid.as_str(), &kind, &path).await {
                        self.deliver.notify_one();
                    }
                }
            }
            Command::ReadCard => {
                let reader = self.ports.card_reader.clone();
                let today = self.today();
                self.spawn_task("card", async move { read_card(reader, today).await });
            }
            Command::CancelReadCard => self.abort("card"),
            Command::CallCenterScope(request) => {
                let Some(sid) = sid else {
                    return self.internal_event(Event::CenterUnavailable);
                };
                self.spawn_task("center", async move {
                    Some(match retry(|| center.scope(&sid, &request)).await {
                        Ok(answer) => Event::ScopeDecided {
                            decision: answer.decision,
                            name: answer.name,
                        },
                        Err(_) => Event::CenterUnavailable,
                    })
                });
            }
            Command::CallCenterIdentity { id } => {
                let Some(sid) = sid else {
                    return self.internal_event(Event::CenterUnavailable);
                };
                self.spawn_task("center", async move {
                    Some(match retry(|| center.identity(&sid, &id)).await {
                        Ok(name_masked) => Event::IdentityFound { name_masked },
                        Err(_) => Event::CenterUnavailable,
                    })
                });
            }
            Command::FetchCertifiedPhoto { receipt } => {
                let (Some(sid), Some(id)) = (sid, self.applicant()) else {
                    return self.internal_event(Event::CenterUnavailable);
                };
                self.spawn_task("center", async move {
                    Some(match retry(|| center.receipt(&sid, &id, &receipt)).await {
                        Ok(answer) => Event::ReceiptAnswer(answer),
                        Err(_) => Event::CenterUnavailable,
                    })
                });
            }
            Command::CapturePhoto => {
                let Some(sid) = sid else { return };
                let camera = self.ports.camera.clone();
                let cropper = self.ports.cropper.clone();
                let outbox = self.outbox.clone();
                let hint = self.hint_sender();
                self.spawn_task("photo", async move {
                    let frame = match camera.grab().await {
                        Ok(frame) => frame,
                        Err(e) => {
                            tracing::warn!(error = %e, "no camera frame");
                            return Some(Event::PhotoUnusable);
                        }
                    };
                    let cropped =
                        tokio::task::spawn_blocking(move || cropper.capture(&frame)).await;
                    match cropped {
                        Ok(Ok(photo)) => {
                            hint(Hint::PhotoProblem(None));
                            // The score is kept beside the photo for the center (step 7's
                            // comparison, maybe after a restart); `null` when not scored.
                            let score = serde_json::to_vec(&photo.liveness).unwrap_or_default();
                            let kept = async {
                                outbox
                                    .put_capture(sid.as_str(), LIVENESS_CAPTURE, &score)
                                    .await?;
                                outbox
                                    .put_capture(sid.as_str(), "live_photo", &photo.jpeg)
                                    .await
                            };
                            match kept.await {
                                Ok(()) => Some(match photo.liveness {
                                    Some(live) => Event::PhotoScored {
                                        liveness: live.score,
                                    },
                                    None => Event::PhotoCaptured,
                                }),
                                Err(e) => {
                                    tracing::error!(error = %e, "keeping the live photo");
                                    Some(Event::PhotoUnusable)
                                }
                            }
                        }
                        Ok(Err(refused)) => {
                            tracing::info!(reason = %refused.reason, "live photo refused");
                            hint(Hint::PhotoProblem(refused.prompt));
                            Some(Event::PhotoUnusable)
                        }
                        Err(_) => Some(Event::PhotoUnusable),
                    }
                });
            }
            Command::VerifyFaces { id, receipt } => {
                let Some(sid) = sid else { return };
                let outbox = self.outbox.clone();
                self.spawn_task("center", async move {
                    let photo = match outbox.capture(sid.as_str(), "live_photo").await {
                        Ok(Some(photo)) => photo,
                        _ => return Some(Event::PhotoUnusable),
                    };
                    let liveness: Option<LiveScore> =
                        match outbox.capture(sid.as_str(), LIVENESS_CAPTURE).await {
                            Ok(Some(json)) => serde_json::from_slice(&json).unwrap_or(None),
                            _ => None,
                        };
                    let compared = retry(|| {
                        center.verify_faces_scored(&sid, &id, &receipt, &photo, liveness.as_ref())
                    })
                    .await;
                    Some(match compared {
                        Ok(scores) => Event::FacesCompared(scores),
                        Err(_) => Event::CenterUnavailable,
                    })
                });
            }
            Command::CaptureFingerprints => {
                let Some(sid) = sid else { return };
                let scanner = self.ports.fingerprint.clone();
                // The session decides the referral; the enrolment gives up no earlier.
                let config = biometrics::EnrolConfig {
                    poor_presses_per_finger: self.config.session.fingerprint_tries,
                    ..self.config.enrol.clone()
                };
                let outbox = self.outbox.clone();
                let internal = self.internal.clone();
                let generation = self.generation;
                self.spawn_task("fingers", async move {
                    let result =
                        enrol_fingers(scanner.as_ref(), &config, |number, finger, press| {
                            // Each report is the citizen at work: the inactivity timer restarts.
                            let event = Event::FingerprintPress {
                                number,
                                finger,
                                press,
                            };
                            let _ = internal.send(Internal::Event(generation, event));
                        })
                        .await;
                    match result {
                        Ok(fingers) => {
                            let mut kept = Ok(());
                            for (i, (template, image)) in
                                fingers.templates.iter().zip(&fingers.images).enumerate()
                            {
                                let n = i + 1;
                                kept = kept.and(
                                    outbox
                                        .put_capture(
                                            sid.as_str(),
                                            &format!("fingerprint_{n}"),
                                            template,
                                        )
                                        .await,
                                );
                                kept = kept.and(
                                    outbox
                                        .put_capture(
                                            sid.as_str(),
                                            &format!("fingerprint_image_{n}"),
                                            image,
                                        )
                                        .await,
                                );
                            }
                            if let Err(e) = kept {
                                tracing::error!(error = %e, "keeping the fingerprints");
                                return Some(Event::FingerprintsFailed {
                                    reason: FingerprintFailure::DeviceFault,
                                    attempts: 0,
                                });
                            }
                            // The qualities reach the agent before the event (one channel).
                            let _ = internal
                                .send(Internal::Hint(generation, Hint::Fingers(fingers.qualities)));
                            Some(Event::FingerprintsCaptured)
                        }
                        Err(failed) => {
                            tracing::info!(detail = %failed.detail, "fingerprint enrolment failed");
                            Some(Event::FingerprintsFailed {
                                reason: failed.failure,
                                attempts: failed.attempts,
                            })
                        }
                    }
                });
            }
            Command::CaptureSignature => {}
            Command::SubmitApplication(application) => {
                let Some(sid) = sid else { return };
                let record = ApplicationRecord::new(&application, self.state.fingers.clone());
                let mut messages = Vec::new();
                let kinds = self
                    .outbox
                    .capture_kinds(sid.as_str())
                    .await
                    .unwrap_or_default();
                for kind in kinds {
                    // The liveness score went with the faces request, not as a blob.
                    if !kind.starts_with("video") && kind != LIVENESS_CAPTURE {
                        messages.push(Message::Blob { kind });
                    }
                }
                messages.push(Message::Application(record));
                if let Err(e) = self.outbox.enqueue(sid.as_str(), &messages).await {
                    tracing::error!(error = %e, "queueing the application");
                }
                self.deliver.notify_one();
            }
            Command::CreatePayment {
                method,
                amount_fen,
                attempt,
            } => {
                let Some(sid) = sid else { return };
                let outbox = self.outbox.clone();
                let pos = self.ports.pos.clone();
                let hint = self.hint_sender();
                self.spawn_task("payment", async move {
                    pay(center, outbox, pos, sid, method, amount_fen, attempt, hint).await
                });
            }
            Command::CancelPayment { attempt, .. } => {
                self.abort("payment");
                self.extras.wechat_code_url = None;
                if let Some(sid) = sid {
                    tokio::spawn(async move {
                        match retry(|| center.close_payment(&sid, attempt)).await {
                            Ok(state) => tracing::info!(?state, attempt, "payment closed"),
                            Err(e) => tracing::error!(error = %e, attempt, "closing the payment"),
                        }
                    });
                }
            }
            Command::Print { documents } => {
                let Some(sid) = sid else { return };
                let printer = self.ports.printer.clone();
                self.spawn_task("print", async move {
                    for document in documents {
                        let kind = match document {
                            Document::CollectionCertificate => DocumentKind::Certificate,
                            Document::RegistrationForm => DocumentKind::Form,
                            Document::PaymentNotice(_) => DocumentKind::Notice,
                        };
                        let pdf = match retry(|| center.document(&sid, kind)).await {
                            Ok(pdf) => pdf,
                            Err(e) => {
                                tracing::error!(error = %e, kind = kind.as_str(), "fetching a document");
                                return Some(Event::PrintResult(PrintResult::PrinterFault));
                            }
                        };
                        if !print(printer.as_ref(), pdf, kind.as_str()).await {
                            return Some(Event::PrintResult(PrintResult::PrinterFault));
                        }
                    }
                    Some(Event::PrintResult(PrintResult::Printed))
                });
            }
            Command::CancelPrintJobs => {
                self.abort("print");
                let printer = self.ports.printer.clone();
                tokio::spawn(async move {
                    // Twice: a job the aborted print task was just submitting is caught too.
                    for pass in 0..2 {
                        if pass > 0 {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        }
                        match printer.cancel_jobs().await {
                            Ok(n) => tracing::info!(
                                cancelled = n,
                                "print jobs of the failed print cancelled"
                            ),
                            Err(e) => tracing::error!(error = %e, "cancelling the print jobs"),
                        }
                    }
                });
            }
            Command::PrintPortraitForm { id, application } => {
                let Some(sid) = sid else { return };
                let printer = self.ports.printer.clone();
                self.spawn_task("print", async move {
                    let pdf = match retry(|| center.portrait_form(&sid, &id, application)).await {
                        Ok(pdf) => pdf,
                        Err(e) => {
                            tracing::error!(error = %e, "fetching the portrait form");
                            return Some(Event::PrintResult(PrintResult::PrinterFault));
                        }
                    };
                    Some(Event::PrintResult(
                        if print(printer.as_ref(), pdf, "portrait").await {
                            PrintResult::Printed
                        } else {
                            PrintResult::PrinterFault
                        },
                    ))
                });
            }
            Command::WipeCapturedData => {
                if let Some(sid) = &sid {
                    match self.outbox.wipe_unsent_captures(sid.as_str()).await {
                        Ok(n) => tracing::info!(deleted = n, "captures of the session wiped"),
                        Err(e) => tracing::error!(error = %e, "wiping the captures"),
                    }
                }
                self.extras = ViewExtras {
                    camera_preview_url: self.config.camera_preview_url.clone(),
                    voice: self.extras.voice,
                    // The result screen still gives the number and the office; the next
                    // session's start clears them.
                    application_no: self.extras.application_no.take(),
                    collection: self.extras.collection.take(),
                    printer_down: self.extras.printer_down,
                    large_type: self.extras.large_type,
                    ..ViewExtras::default()
                };
                self.publish();
            }
            Command::EndSession { outcome } => {
                for (_, task) in self.tasks.drain() {
                    task.abort();
                }
                if let Some(sid) = &sid {
                    if let Err(e) = self
                        .outbox
                        .enqueue(sid.as_str(), &[Message::End(outcome)])
                        .await
                    {
                        tracing::error!(error = %e, "queueing the end of the session");
                    }
                    self.deliver.notify_one();
                }
                self.generation += 1;
                self.state = AgentState {
                    session_id: self.state.session_id.clone(),
                    ..AgentState::default()
                };
                self.state.snapshot = Some(self.session.snapshot());
                if let Err(e) = self.outbox.save_state(&self.state).await {
                    tracing::error!(error = %e, "saving the ended session");
                }
            }
        }
    }

    fn applicant(&self) -> Option<domain::id::CitizenId> {
        let id = self.state.applicant_id.as_deref()?;
        let today = self
            .state
            .today
            .as_deref()
            .and_then(|t| Date::parse(t, &time::format_description::well_known::Iso8601::DATE).ok())
            .unwrap_or_else(|| self.today());
        domain::id::CitizenId::parse(id, today).ok()
    }

    fn internal_event(&self, event: Event) {
        let _ = self.internal.send(Internal::Event(self.generation, event));
    }

    fn abort(&mut self, slot: &'static str) {
        if let Some(task) = self.tasks.remove(slot) {
            task.abort();
        }
    }

    /// The barcode scanner runs all the time; a code counts only on the scan-receipt screen.
    fn spawn_scanner(&self) {
        let scanner = self.ports.barcode.clone();
        let tx = self.internal.clone();
        tokio::spawn(async move {
            loop {
                match scanner.scan().await {
                    Ok(code) => {
                        let _ = tx.send(Internal::Event(SCANNER, Event::ReceiptScanned(code)));
                    }
                    Err(devices::BarcodeError::NoCode) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "barcode scanner");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

/// Seals the video file at `path` into the outbox as capture `kind` of `session_id`, queued for
/// the center, and deletes the file. A file that cannot be read or kept is deleted all the same:
/// no video stays on the kiosk in plain. Returns whether it was queued.
async fn seal_video(outbox: &Outbox, session_id: &str, kind: &str, path: &Path) -> bool {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(e) => {
            tracing::error!(error = %e, file = %path.display(), "reading the video");
            Vec::new()
        }
    };
    let mut queued = false;
    if !bytes.is_empty() {
        let kept = async {
            outbox.put_capture(session_id, kind, &bytes).await?;
            outbox
                .enqueue(
                    session_id,
                    &[Message::Blob {
                        kind: kind.to_owned(),
                    }],
                )
                .await
        };
        match kept.await {
            Ok(()) => queued = true,
            Err(e) => tracing::error!(error = %e, "keeping the video; it is deleted"),
        }
    }
    if let Err(e) = std::fs::remove_file(path) {
        tracing::error!(error = %e, file = %path.display(), "deleting the plain video");
    }
    queued
}

/// At start: every `<session>-<segment>.mp4` an earlier agent left in `dir` (a crash, a stop in
/// the middle of a session) is sealed into the outbox for the center, or deleted
/// ([`seal_video`]); anything else recorded there is deleted. The capture kind gets a suffix of
/// its own, so a resumed session's new segment of the same number does not replace it.
async fn seal_leftover_videos(outbox: &Outbox, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("mp4") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let named = stem.rsplit_once('-').and_then(|(sid, segment)| {
            let segment: u32 = segment.parse().ok()?;
            SessionId::parse(sid).ok().map(|sid| (sid, segment))
        });
        match named {
            Some((sid, segment)) => {
                let suffix = uuid::Uuid::new_v4().simple().to_string();
                let kind = format!("video_{segment}_{}", &suffix[..8]);
                if seal_video(outbox, sid.as_str(), &kind, &path).await {
                    tracing::warn!(file = %path.display(), "sealed a video an earlier agent left");
                }
            }
            None => {
                tracing::warn!(file = %path.display(), "deleting a video of no session");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// The outbox capture holding the live photo's full-frame liveness score (JSON, `null` when not
/// scored), sent with the faces request rather than uploaded as a blob (issue 20).
const LIVENESS_CAPTURE: &str = "live_photo_liveness";

/// The generation tag of barcode scans: they belong to whichever session shows the scan screen.
const SCANNER: u64 = u64::MAX;

/// How often the printer's state is checked.
const PRINTER_CHECK: Duration = Duration::from_secs(3);

/// Whether the printer can print now: not paused, out of paper, jammed or unreachable (a
/// warning such as `toner-low` still prints).
async fn printer_usable(printer: &dyn Printer) -> bool {
    match tokio::time::timeout(Duration::from_secs(5), printer.status()).await {
        Ok(Ok(status)) => !matches!(
            status.health,
            devices::DeviceHealth::Error { .. } | devices::DeviceHealth::Disconnected { .. }
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "printer state");
            false
        }
        Err(_) => false,
    }
}

async fn config_offered(updates: Option<&ConfigUpdates>) {
    match updates {
        Some(updates) => updates.offered().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Three tries with a short pause for a call the center may briefly fail; a refusal is final.
async fn retry<T, F, Fut>(mut call: F) -> Result<T, CenterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CenterError>>,
{
    let mut pause = Duration::from_millis(300);
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Err(e) if e.is_retryable() && tries < 3 => {
                tracing::warn!(error = %e, "center call failed, retrying");
                tokio::time::sleep(pause).await;
                pause *= 3;
            }
            other => return other,
        }
    }
}

async fn read_card(reader: Arc<dyn CardReader>, today: Date) -> Option<Event> {
    loop {
        match reader.read_card().await {
            Ok(card) => {
                return Some(match card_on_reader(&card, today) {
                    Some((card, name)) => Event::CardRead { card, name },
                    None => Event::CardUnreadable,
                })
            }
            Err(CardReaderError::NoCard) => continue,
            Err(e @ CardReaderError::Status { .. }) => {
                tracing::info!(error = %e, "card unreadable");
                return Some(Event::CardUnreadable);
            }
            Err(e) => {
                tracing::warn!(error = %e, "card reader");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// One payment attempt to its end.
#[allow(clippy::too_many_arguments)]
async fn pay(
    center: Arc<dyn CenterApi>,
    outbox: Outbox,
    pos: Arc<dyn PosTerminal>,
    sid: SessionId,
    method: PaymentMethod,
    amount_fen: u32,
    attempt: u8,
    hint: impl Fn(Hint),
) -> Option<Event> {
    let result = |result| Some(Event::PaymentResult { attempt, result });
    // The application must be at the center first: the trade number derives from its number.
    let mut waited = Duration::ZERO;
    loop {
        match outbox.application_no(sid.as_str()).await {
            Ok(Some(no)) => {
                // For the screens after payment: the number, and where to collect the card.
                let collection = retry(|| center.collection(&sid)).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "the collection office");
                    None
                });
                hint(Hint::Application { no, collection });
                break;
            }
            _ if waited > Duration::from_secs(25) => return Some(Event::CenterUnavailable),
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                waited += Duration::from_millis(200);
            }
        }
    }
    let order = match retry(|| center.create_payment(&sid, method, attempt, amount_fen)).await {
        Ok(order) => order,
        Err(e) => {
            tracing::error!(error = %e, "opening the payment");
            return Some(Event::CenterUnavailable);
        }
    };
    if order.state == PayState::Success {
        return result(PaymentResult::Paid);
    }
    match method {
        PaymentMethod::WeChat => {
            hint(Hint::WechatCode(order.code_url.clone()));
            loop {
                tokio::time::sleep(Duration::from_millis(700)).await;
                match center.payment_state(&sid, attempt).await {
                    Ok(PayState::Success) => return result(PaymentResult::Paid),
                    Ok(PayState::Payerror) => return result(PaymentResult::Declined),
                    Ok(PayState::Closed) => return result(PaymentResult::Expired),
                    Ok(PayState::Notpay) => {}
                    Err(e) => tracing::warn!(error = %e, "payment state"),
                }
            }
        }
        PaymentMethod::UnionPay => {
            // The terminal's answer is kept before it is reported: after a crash the attempt is
            // reported again, never charged again.
            let kept = format!("pos_response_{attempt}");
            let report = match outbox.capture(sid.as_str(), &kept).await {
                Ok(Some(json)) => serde_json::from_slice::<PosResult>(&json).ok(),
                _ => None,
            };
            let report = match report {
                Some(report) => report,
                None => match pos
                    .purchase(u64::from(amount_fen), &order.out_trade_no)
                    .await
                {
                    Ok(response) => {
                        let report = PosResult {
                            approved: response.is_approved(),
                            response_code: response.code.clone(),
                            card_masked: response.card_number.clone(),
                            reference: response.reference.clone(),
                            auth_code: response.auth_code.clone(),
                            time: response.time.clone(),
                            voucher: response.trace.clone(),
                            batch: response.batch.clone(),
                            amount_fen: response.amount_fen,
                        };
                        let json = serde_json::to_vec(&report).unwrap_or_default();
                        if let Err(e) = outbox.put_capture(sid.as_str(), &kept, &json).await {
                            tracing::error!(error = %e, "keeping the POS answer");
                        }
                        report
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "POS purchase");
                        return result(PaymentResult::Expired);
                    }
                },
            };
            match retry(|| center.report_pos(&sid, attempt, &report)).await {
                Ok(PayState::Success) => result(PaymentResult::Paid),
                Ok(_) => result(PaymentResult::Declined),
                Err(e) if report.approved => {
                    // Charged, but the center cannot record it: give the money back at the
                    // terminal and send the citizen to the window.
                    tracing::error!(error = %e, "the center did not record a POS payment; voiding it");
                    void(pos.as_ref(), &report).await;
                    Some(Event::CenterUnavailable)
                }
                Err(_) => result(PaymentResult::Declined),
            }
        }
    }
}

/// Voids an approved POS purchase at the terminal (logged; the staff see it in reconciliation).
async fn void(pos: &dyn PosTerminal, report: &PosResult) {
    let original = devices::protocol::pos::Response {
        code: report.response_code.clone(),
        message: String::new(),
        card_number: report.card_masked.clone(),
        amount_fen: report.amount_fen,
        trace: report.voucher.clone(),
        batch: report.batch.clone(),
        date: String::new(),
        time: report.time.clone(),
        reference: report.reference.clone(),
        auth_code: report.auth_code.clone(),
        merchant_id: String::new(),
        terminal_id: String::new(),
        memo: String::new(),
    };
    match pos.void(&original, "application not recorded").await {
        Ok(answer) if answer.is_approved() => {
            tracing::info!(voucher = %report.voucher, "POS payment voided")
        }
        Ok(answer) => tracing::error!(code = %answer.code, "the terminal refused the void"),
        Err(e) => tracing::error!(error = %e, "POS void failed"),
    }
}

/// Prints a PDF; a failed job is retried once (a transient error, a reloaded tray).
async fn print(printer: &dyn Printer, pdf: Vec<u8>, title: &str) -> bool {
    for attempt in 1..=2 {
        match printer.print_pdf(pdf.clone(), title).await {
            Ok(job) if job.state == devices::printer::JobOutcome::Completed => return true,
            Ok(job) => {
                tracing::warn!(attempt, ?job, "print job did not complete");
            }
            Err(e) => tracing::warn!(attempt, error = %e, "print failed"),
        }
    }
    false
}

/// Sends the queued messages to the center, in order, until each is acknowledged; a pause that
/// grows to 10 × `retry_pause` while the center is down. `wake` shortens the wait for new
/// messages; `reachable` hears whether the center answered, so the screen can say it is offline.
/// Runs until the task is dropped.
pub async fn delivery_loop(
    outbox: Outbox,
    center: Arc<dyn CenterApi>,
    wake: Arc<Notify>,
    retry_pause: Duration,
    reachable: Arc<dyn Fn(bool) + Send + Sync>,
) {
    let mut pause = retry_pause;
    loop {
        let next = match outbox.next_pending().await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox");
                tokio::time::sleep(retry_pause * 10).await;
                continue;
            }
        };
        let Some(queued) = next else {
            let _ = tokio::time::timeout(Duration::from_secs(5), wake.notified()).await;
            continue;
        };
        let Ok(sid) = SessionId::parse(&queued.session_id) else {
            let _ = outbox.ack(&queued, None).await;
            continue;
        };
        let delivered: Result<Option<String>, CenterError> = match &queued.message {
            Message::Blob { kind } => match outbox.capture(sid.as_str(), kind).await {
                Ok(Some(bytes)) => {
                    let wire_kind = if kind.starts_with("video") {
                        "video"
                    } else {
                        kind
                    };
                    center
                        .put_blob(&sid, wire_kind, &bytes)
                        .await
                        .map(|()| None)
                }
                // Nothing to send (already sent before a crash): done.
                Ok(None) => Ok(None),
                Err(e) => Err(CenterError::Refused(e.to_string())),
            },
            Message::Application(record) => center.submit_application(&sid, record).await.map(Some),
            Message::End(outcome) => center.end_session(&sid, outcome).await.map(|()| None),
        };
        match delivered {
            Ok(answer) => {
                pause = retry_pause;
                reachable(true);
                if let Err(e) = outbox.ack(&queued, answer.as_deref()).await {
                    tracing::error!(error = %e, "acknowledging an outbox message");
                }
            }
            Err(e) => {
                let _ = outbox.note_failure(queued.seq, &e.to_string()).await;
                if e.is_retryable() {
                    reachable(false);
                    tracing::warn!(error = %e, seq = queued.seq, "center unavailable; will retry");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(retry_pause * 10);
                } else {
                    // A refusal will not change by repeating: set it aside for the staff.
                    tracing::error!(error = %e, seq = queued.seq, "center refused an outbox message");
                    let _ = outbox.ack(&queued, None).await;
                }
            }
        }
    }
}

//! The agent's loop: feeds the session state machine with touches, device results, center answers
//! and timer ticks, saves its state to the outbox before acting on a transition, publishes the
//! view, and carries out the commands (DESIGN.md "Session flow").
//!
//! One task owns the [`Session`]; everything slow (a card read, a center call, a print job) runs in
//! a task of its own that sends its result back as an [`Event`] tagged with the session it was
//! started for, so a late answer for an ended session is dropped. The state machine refuses an
//! answer that does not fit the screen, so a double tap or a stale page changes nothing.
//!
//! Each kind of command has its handler module (`card`, `center`, `video`, `photo`, `fingers`,
//! `payment`, `print`, `records`); the outside world is [`Ports`], the agent's own timing and
//! retries are [`AgentPolicy`]. A command that needs the session's id when the agent's state has
//! none is not dropped: it is logged as an error and the session ends out of service.

mod card;
mod center;
mod config;
mod delivery;
mod fingers;
mod payment;
mod photo;
mod print;
mod records;
mod video;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::prompts::Prompt;
use domain::session::{Command, Event, Millis, PaymentMethod, Screen, Session, SessionId};
use time::Date;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

use crate::center_api::{CollectionOffice, FingerQuality};
use crate::fleet::ConfigUpdates;
use crate::outbox::{AgentState, Outbox, OutboxError, SalvagedSession};
use crate::view::{ActionError, ActionRequest, AgentHandle, UiAction, View, ViewExtras};

pub use self::config::{AgentConfig, AgentPolicy, CenterRetry};
pub use self::delivery::delivery_loop;
pub use crate::ports::Ports;

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
    /// The bureau's payment methods, from the scope answer.
    PaymentMethods(Vec<PaymentMethod>),
    /// The center filed the application: its number and where the card is collected.
    Application {
        no: String,
        collection: Option<CollectionOffice>,
    },
}

/// The worker tasks of a session, one of each kind at a time (a new one replaces the old).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Task {
    Card,
    Center,
    Photo,
    Fingers,
    Payment,
    Print,
}

/// The generation tag of barcode scans: they belong to whichever session shows the scan screen.
const SCANNER: u64 = u64::MAX;

/// The command needs the session's id and the agent's state has none.
#[derive(Debug)]
struct NoSession;

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
    tasks: HashMap<Task, AbortHandle>,
    deliver: Arc<Notify>,
    /// The recorder's start, running beside the session (ffmpeg takes a moment to start); the
    /// stop waits for it.
    video_starting: Option<JoinHandle<()>>,
    /// The session the recorder was started for.
    recording: Option<SessionId>,
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
) -> Result<(AgentHandle, JoinHandle<()>), OutboxError> {
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
) -> Result<(AgentHandle, JoinHandle<()>), OutboxError> {
    start_inner(ports, outbox, config, Some(updates)).await
}

async fn start_inner(
    ports: Ports,
    outbox: Outbox,
    config: AgentConfig,
    updates: Option<Arc<ConfigUpdates>>,
) -> Result<(AgentHandle, JoinHandle<()>), OutboxError> {
    let (action_tx, action_rx) = mpsc::channel::<ActionRequest>(16);
    let (internal_tx, internal_rx) = mpsc::unbounded_channel();
    let (view_tx, view_rx) = watch::channel(View::initial());
    let (state, interrupted) = saved_state(&outbox).await?;
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
        origin: Instant::now(),
        version: 0,
        view: view_tx,
        internal: internal_tx.clone(),
        tasks: HashMap::new(),
        deliver: deliver.clone(),
        video_starting: None,
        recording: None,
        updates,
        on_welcome: false,
    };
    tokio::spawn(delivery_loop(
        outbox,
        agent.ports.center.clone(),
        deliver,
        agent.config.retry_pause,
        Arc::new(move |reachable| {
            let _ = internal_tx.send(Internal::Reachable(reachable));
        }),
    ));
    // Nothing of an earlier agent goes on recording or stays in plain (issue 14).
    let video_dir = agent.config.video_dir.clone();
    let wait = agent.config.policy.stale_recorder_wait;
    tokio::task::spawn_blocking(move || devices::recorder::end_stale_recorders(&video_dir, wait))
        .await
        .unwrap_or_default();
    video::seal_leftover_videos(&agent.outbox, &agent.config.video_dir).await;
    match interrupted {
        Some(session) => agent.end_interrupted(session).await,
        None => agent.restore().await?,
    }
    agent.spawn_scanner();
    agent.spawn_printer_watch();
    let handle = AgentHandle::new(action_tx, view_rx);
    let task = tokio::spawn(agent.run(action_rx, internal_rx));
    Ok((handle, task))
}

/// The state the outbox holds. One this agent cannot read (written by another version of it
/// before an upgrade, or damaged) must not keep the kiosk from starting: every restart would fail
/// the same way. Its session is not resumed; its captures stay sealed in the outbox and its video
/// is sealed. If the session it was running can still be named, it is returned to be ended
/// ([`Agent::end_interrupted`]), so the center and the citizen are told instead of left waiting.
async fn saved_state(
    outbox: &Outbox,
) -> Result<(AgentState, Option<SalvagedSession>), OutboxError> {
    match outbox.load_state().await {
        Ok(state) => Ok((state, None)),
        Err(OutboxError::Sealed(why)) => {
            let interrupted = outbox.salvage_state().await?;
            tracing::error!(
                %why,
                session = interrupted.as_ref().map(|s| s.session_id.as_str()),
                "the saved agent state cannot be read: starting without it, its session is not resumed"
            );
            Ok((AgentState::default(), interrupted))
        }
        Err(e) => Err(e),
    }
}

impl Agent {
    fn now(&self) -> Millis {
        Millis(self.origin.elapsed().as_millis() as u64)
    }

    fn today(&self) -> Date {
        (self.config.today)()
    }

    /// Keeps the machine's snapshot (and its running step, for [`Outbox::salvage_state`]) in
    /// the state the next save writes.
    fn keep_session(&mut self) {
        self.state.snapshot = Some(self.session.snapshot());
        self.state.running_step = self.session.running_step();
    }

    /// Ends a session this agent cannot resume (its state was saved by another version): the
    /// out-of-service screen at the step it was at, and its end queued for the center as a
    /// `service_unavailable` referral, so the staff can take it over by its id.
    async fn end_interrupted(&mut self, interrupted: SalvagedSession) {
        let sid = match SessionId::parse(&interrupted.session_id) {
            Ok(sid) => sid,
            Err(e) => {
                tracing::error!(error = %e, "the interrupted session's id does not parse");
                self.publish();
                return;
            }
        };
        self.session =
            Session::interrupted(self.config.session.clone(), interrupted.step, self.now());
        self.state.session_id = Some(interrupted.session_id.clone());
        tracing::warn!(
            session = %interrupted.session_id,
            step = interrupted.step,
            "a session saved by another version of the agent is ended as service unavailable"
        );
        self.end_session(Some(sid), Session::interrupted_outcome(interrupted.step))
            .await;
        self.publish();
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
        self.extras.payment_methods = self.state.payment_methods.clone();
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
            UiAction::Signature(png) => self.keep_signature(&png).await?,
            UiAction::PaymentMethod(m) if !self.extras.offered_payment_methods().contains(&m) => {
                return Err(ActionError::NotNow(format!(
                    "{} is not accepted by this bureau",
                    m.as_str()
                )));
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

    /// The signature PNG from the canvas, sealed in the outbox before the machine hears of it.
    async fn keep_signature(&mut self, png: &[u8]) -> Result<Event, ActionError> {
        if !matches!(self.session.screen(), Screen::Signature) {
            return Err(ActionError::NotNow("no signature is asked for".into()));
        }
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(ActionError::NotNow(
                "the signature is not a PNG image".into(),
            ));
        }
        let Some(sid) = self.session_id() else {
            self.session_lost("signature");
            return Err(ActionError::NotNow(
                "the signature could not be kept".into(),
            ));
        };
        if let Err(e) = self
            .outbox
            .put_capture(sid.as_str(), "signature", png)
            .await
        {
            tracing::error!(error = %e, "keeping the signature");
            return Err(ActionError::NotNow(
                "the signature could not be kept".into(),
            ));
        }
        Ok(Event::SignatureCaptured)
    }

    /// A new session's start, if the kiosk can serve one: no session starts that could not end
    /// with its papers (issue 15).
    async fn start_event(&mut self) -> Result<Event, ActionError> {
        let usable = print::printer_usable(
            self.ports.printer.as_ref(),
            self.config.policy.printer_timeout,
        )
        .await;
        self.on_printer(usable);
        if !usable {
            return Err(ActionError::NotNow(
                "the kiosk is out of service: the printer is not ready".into(),
            ));
        }
        let session_id = SessionId::parse(&uuid::Uuid::new_v4().simple().to_string())
            .map_err(|e| ActionError::NotNow(format!("a new session id: {e}")))?;
        Ok(Event::Start {
            session_id,
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
                    Hint::PaymentMethods(methods) => {
                        // Kept with the state the next transition saves, for a restart.
                        self.state.payment_methods = methods.clone();
                        self.extras.payment_methods = methods;
                    }
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
            self.extras.payment_methods = Vec::new();
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
        self.keep_session();
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
        let Some(sid) = self.session_id() else {
            self.extras.review_photo = None;
            return self.session_lost("photo_review");
        };
        self.extras.review_photo = match self.outbox.capture(sid.as_str(), "live_photo").await {
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
        self.keep_session();
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

    /// The session the agent works for, as its saved state names it.
    fn session_id(&self) -> Option<SessionId> {
        self.state
            .session_id
            .as_deref()
            .and_then(|s| SessionId::parse(s).ok())
    }

    /// Carries out one command of a transition.
    async fn execute(&mut self, command: Command) {
        tracing::debug!(?command, "command");
        let name = command_name(&command);
        if let Err(NoSession) = self.dispatch(command).await {
            self.session_lost(name);
        }
    }

    /// The command's handler; `Err` when it needs the session's id and the state has none.
    async fn dispatch(&mut self, command: Command) -> Result<(), NoSession> {
        let sid = self.session_id().ok_or(NoSession);
        match command {
            Command::StartVideo { session_id } => self.start_video(session_id),
            Command::StopVideo => self.stop_video().await,
            Command::ReadCard => self.read_card(),
            Command::CancelReadCard => self.abort(Task::Card),
            Command::CallCenterScope(request) => self.call_scope(sid?, request),
            Command::CallCenterIdentity { id } => self.call_identity(sid?, id),
            Command::FetchCertifiedPhoto { receipt } => self.fetch_certified_photo(sid?, receipt),
            Command::CapturePhoto => self.capture_photo(sid?),
            Command::VerifyFaces { id, receipt } => self.verify_faces(sid?, id, receipt),
            Command::CaptureFingerprints => self.capture_fingerprints(sid?),
            Command::CaptureSignature => {}
            Command::SubmitApplication(application) => {
                self.submit_application(sid?, &application).await
            }
            Command::CreatePayment {
                method,
                amount_fen,
                attempt,
            } => self.create_payment(sid?, method, amount_fen, attempt),
            Command::CancelPayment { attempt, .. } => {
                self.abort(Task::Payment);
                self.extras.wechat_code_url = None;
                self.close_payment(sid?, attempt);
            }
            Command::Print { documents } => self.print_documents(sid?, documents),
            Command::CancelPrintJobs => self.cancel_print_jobs(),
            Command::PrintPortraitForm { id, application } => {
                self.print_portrait_form(sid?, id, application)
            }
            // These end the session: without an id they do what they can (logged).
            Command::WipeCapturedData => self.wipe_captured_data(sid.ok()).await,
            Command::EndSession { outcome } => self.end_session(sid.ok(), outcome).await,
        }
        Ok(())
    }

    /// `what` needs the session's id and the agent's state has none (a state another version
    /// saved, or damaged): the agent cannot act for the session, so it ends out of service.
    fn session_lost(&mut self, what: &'static str) {
        tracing::error!(
            command = what,
            screen = self.session.screen().name(),
            "no session id for the command: the session ends out of service"
        );
        self.internal_event(Event::OutOfService);
    }

    fn spawn_task<F>(&mut self, slot: Task, work: F)
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

    /// The applicant's number typed at step 3, parsed against the session's start date.
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

    fn abort(&mut self, slot: Task) {
        if let Some(task) = self.tasks.remove(&slot) {
            task.abort();
        }
    }
}

/// A command's name for the logs (no personal data).
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::StartVideo { .. } => "start_video",
        Command::StopVideo => "stop_video",
        Command::ReadCard => "read_card",
        Command::CancelReadCard => "cancel_read_card",
        Command::CallCenterScope(_) => "call_center_scope",
        Command::CallCenterIdentity { .. } => "call_center_identity",
        Command::FetchCertifiedPhoto { .. } => "fetch_certified_photo",
        Command::CapturePhoto => "capture_photo",
        Command::VerifyFaces { .. } => "verify_faces",
        Command::CaptureFingerprints => "capture_fingerprints",
        Command::CaptureSignature => "capture_signature",
        Command::SubmitApplication(_) => "submit_application",
        Command::CreatePayment { .. } => "create_payment",
        Command::CancelPayment { .. } => "cancel_payment",
        Command::Print { .. } => "print",
        Command::CancelPrintJobs => "cancel_print_jobs",
        Command::PrintPortraitForm { .. } => "print_portrait_form",
        Command::WipeCapturedData => "wipe_captured_data",
        Command::EndSession { .. } => "end_session",
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

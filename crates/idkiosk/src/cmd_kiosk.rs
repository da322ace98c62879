//! `idkiosk kiosk`: the kiosk agent of one machine. Opens the devices, the outbox and the center
//! link, resumes a session a crash interrupted, and serves the touchscreen on loopback.

use crate::outcome::Outcome;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use devices::barcode::SerialBarcodeConfig;
use devices::camera::MjpegCameraConfig;
use devices::card_reader::SerialCardReaderConfig;
use devices::fingerprint::SerialFingerprintConfig;
use devices::pos::SerialPosConfig;
use devices::recorder::FfmpegRecorderConfig;
use devices::{
    FfmpegRecorder, IppPrinter, IppPrinterConfig, MjpegCamera, SerialBarcodeScanner,
    SerialCardReader, SerialFingerprintScanner, SerialPosTerminal,
};
use kiosk::agent::{AgentConfig, Ports};
use kiosk::capture::{FaceCropper, PhotoCropper};
use kiosk::outbox::Outbox;

use crate::center_link::CenterLink;
use crate::config::Kind;

/// Arguments of `idkiosk kiosk`.
#[derive(clap::Args)]
pub struct Args {
    /// The center's base URL
    #[arg(long, value_name = "URL")]
    center: String,
    /// This kiosk's id at the center
    #[arg(long, default_value = "K0001")]
    kiosk_id: String,
    /// The kiosk's shared secret with the center (or the environment variable
    /// IDKIOSK_KIOSK_SECRET, which keeps it out of the process list); plain HTTP only
    #[arg(long, env = "IDKIOSK_KIOSK_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Mutual TLS instead of the shared secret: the folder `idkiosk fleet enrol` wrote for this
    /// kiosk (kiosk.pem, kiosk.key, ca.pem); --center must then be an https:// URL
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// The kiosk's configuration file (or IDKIOSK_CONFIG): timeouts, attempts, liveness
    /// (docs/configuration.md; the demo's is config/demo/kiosk.toml) [default: the defaults of
    /// docs/domain.md section 16]; the flags below replace its values
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seconds between two heartbeats to the center (device health, outbox backlog,
    /// configuration version; a newer remote configuration is fetched after one) [default: the
    /// file's, 30]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    heartbeat_secs: Option<u64>,
    /// The ID card reader's serial port
    #[arg(long, value_name = "PATH")]
    card_reader: PathBuf,
    /// The barcode scanner's serial port
    #[arg(long, value_name = "PATH")]
    barcode: PathBuf,
    /// The fingerprint module's serial port
    #[arg(long, value_name = "PATH")]
    fingerprint: PathBuf,
    /// The rate the fingerprint module is moved to before its first capture (9600 × 1 to 12;
    /// 57600 keeps the factory rate)
    #[arg(long, default_value_t = 115_200)]
    fingerprint_baud: u32,
    /// Upload every fingerprint press instead of having the module match a finger's second
    /// press with the uploaded first (two uploads more, about 6.6 s at 115200)
    #[arg(long)]
    upload_every_press: bool,
    /// The UnionPay MIS-POS terminal's serial port
    #[arg(long, value_name = "PATH")]
    pos: PathBuf,
    /// The camera's MJPEG stream URL
    #[arg(long, value_name = "URL")]
    camera: String,
    /// The document printer's IPP URI (a CUPS queue), or the environment variable IDKIOSK_PRINTER
    #[arg(long, value_name = "URI", env = "IDKIOSK_PRINTER")]
    printer: Option<String>,
    /// Where the touchscreen UI listens (loopback)
    #[arg(long, default_value = "127.0.0.1:7410")]
    listen: SocketAddr,
    /// The kiosk's working folder: outbox database, key file, video segments
    #[arg(long, default_value = ".idkiosk/kiosk")]
    data_dir: PathBuf,
    /// Do not record the session video (a kiosk without ffmpeg; not for production)
    #[arg(long)]
    no_video: bool,
    /// Inactivity timeout of a screen, in seconds [default: the file's, 60]
    #[arg(long)]
    inactivity_secs: Option<u64>,
    /// Step 7 liveness of the full camera frame: `enforce` (under the threshold: retake once,
    /// then refer liveness_failed) or `advise` (the score is only recorded) [default: the
    /// file's, enforce]
    #[arg(long, value_parser = ["enforce", "advise"])]
    liveness: Option<String>,
    /// The live score (0–1) a live photo needs in enforce mode [default: the file's, 0.5]
    #[arg(long)]
    liveness_threshold: Option<f32>,
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let settings = match crate::config::for_start(Kind::Kiosk, args.config.as_deref()) {
        Ok(Some(loaded)) => loaded.kiosk(),
        Ok(None) => kiosk::config::KioskFile::default().settings().ok(),
        Err(()) => return Ok(Outcome::Usage),
    };
    let Some(settings) = settings else {
        anyhow::bail!("the kiosk's default configuration does not check");
    };
    let secret = args.secret.clone();
    if secret.is_none() && args.tls_dir.is_none() {
        eprintln!("error: --tls-dir, --secret or IDKIOSK_KIOSK_SECRET is required");
        return Ok(Outcome::Usage);
    }
    let Some(printer_uri) = args.printer.clone() else {
        eprintln!("error: --printer or IDKIOSK_PRINTER is required");
        return Ok(Outcome::Usage);
    };
    crate::private_files::create_dir(&args.data_dir)?;
    let cipher = outbox_cipher(&args.data_dir)?;
    let outbox = Outbox::open(&args.data_dir.join("outbox.db"), cipher)
        .await
        .context("opening the outbox")?;

    let center = Arc::new(match (&args.tls_dir, &secret) {
        (Some(dir), _) => CenterLink::with_tls(&args.center, &args.kiosk_id, dir)
            .with_context(|| format!("--tls-dir {}", dir.display()))?,
        (None, Some(secret)) => {
            CenterLink::new(&args.center, &args.kiosk_id, secret).context("the center's URL")?
        }
        (None, None) => unreachable!("checked above"),
    });
    let engine: Arc<dyn face::FaceEngine> = face::DlibEngine::shared()
        .map(|e| e as Arc<dyn face::FaceEngine>)
        .context("loading the face engine (run scripts/setup/20-face.sh)")?;
    let liveness: Arc<dyn face::LivenessEngine> = face::MiniFasNetEngine::shared()
        .map(|e| e as Arc<dyn face::LivenessEngine>)
        .context("loading the liveness models (run scripts/setup/20-face.sh)")?;
    let cropper: Arc<dyn PhotoCropper> = Arc::new(FaceCropper::new(engine).with_liveness(liveness));
    let printer = IppPrinter::new(IppPrinterConfig {
        // A page or two: a job still not done after 30 s is stuck (jam, no paper).
        job_timeout: Duration::from_secs(30),
        ..IppPrinterConfig::new(&printer_uri)
    })
    .map_err(|e| anyhow::anyhow!("--printer: {e}"))?;
    let recorder: Option<Arc<dyn devices::VideoRecorder>> = if args.no_video {
        None
    } else {
        Some(Arc::new(FfmpegRecorder::new(FfmpegRecorderConfig::new(
            &args.camera,
        ))))
    };
    let ports = Ports {
        center: center.clone(),
        card_reader: Arc::new(SerialCardReader::new(SerialCardReaderConfig::new(
            &args.card_reader,
        ))),
        barcode: Arc::new(SerialBarcodeScanner::new(SerialBarcodeConfig::new(
            &args.barcode,
        ))),
        fingerprint: Arc::new(SerialFingerprintScanner::new(SerialFingerprintConfig {
            fast_baud: Some(args.fingerprint_baud),
            ..SerialFingerprintConfig::new(&args.fingerprint)
        })),
        camera: Arc::new(MjpegCamera::new(MjpegCameraConfig::new(&args.camera))),
        cropper,
        pos: Arc::new(SerialPosTerminal::new(SerialPosConfig::new(&args.pos))),
        printer: Arc::new(printer),
        recorder,
    };
    let mut session = settings.session;
    if let Some(secs) = args.inactivity_secs {
        session.inactivity_timeout_ms = secs.saturating_mul(1000);
    }
    match args.liveness.as_deref() {
        Some("advise") => session.liveness.mode = domain::session::LivenessMode::Advise,
        Some(_) => session.liveness.mode = domain::session::LivenessMode::Enforce,
        None => {}
    }
    if let Some(threshold) = args.liveness_threshold {
        session.liveness.threshold = threshold;
    }
    let today = crate::clock::checked_today_source()?;
    let config = AgentConfig {
        session,
        enrol: biometrics::EnrolConfig {
            second_press: if args.upload_every_press {
                biometrics::SecondPress::Upload
            } else {
                biometrics::SecondPress::Module
            },
            ..biometrics::EnrolConfig::default()
        },
        camera_preview_url: Some(args.camera.clone()),
        video_dir: args.data_dir.join("video"),
        today: Arc::new(today),
        retry_pause: Duration::from_secs(1),
        policy: kiosk::agent::AgentPolicy::default(),
    };
    let mut fleet = kiosk::fleet::FleetSettings::new(
        env!("CARGO_PKG_VERSION"),
        config.session.clone(),
        config.enrol.clone(),
    );
    fleet.interval = args
        .heartbeat_secs
        .map_or(settings.heartbeat, Duration::from_secs);
    let devices = kiosk::fleet::FleetDevices::from_ports(&ports);
    let updates = kiosk::fleet::ConfigUpdates::new();
    let (handle, agent) =
        kiosk::agent::start_with_updates(ports, outbox.clone(), config, updates.clone())
            .await
            .context("starting the agent")?;
    let heartbeats = tokio::spawn(kiosk::fleet::run(center, devices, outbox, updates, fleet));
    let _stop_heartbeats = AbortOnDrop(heartbeats);

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("kiosk screen: {url}/");
    println!("pid: {}", std::process::id());
    let app = kiosk::ui::router_with_voice(handle, voice(&args.data_dir));
    let server =
        crate::shutdown::serve(|stop| axum::serve(listener, app).with_graceful_shutdown(stop));
    tokio::select! {
        served = server => served.context("serving the touchscreen")?,
        _ = agent => anyhow::bail!("the agent stopped"),
    }
    Ok(Outcome::Success)
}

/// espeak-ng's Mandarin voice with its cache in `<data dir>/voice`, or `None` (logged; the start
/// screen then says voice is unavailable) when it is not installed (scripts/setup/45-voice.sh).
fn voice(data_dir: &std::path::Path) -> Option<Arc<kiosk::voice::Voice>> {
    let Some(engine) = kiosk::voice::EspeakNg::detect() else {
        tracing::warn!("espeak-ng with the cmn voice is not installed: no voice prompts");
        return None;
    };
    match kiosk::voice::Voice::new(Arc::new(engine), &data_dir.join("voice")) {
        Ok(voice) => Some(Arc::new(voice)),
        Err(error) => {
            tracing::warn!(%error, "no voice prompts");
            None
        }
    }
}

/// Aborts the heartbeat task when `run` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The outbox's envelope cipher under the kiosk's own master key file (created on first start,
/// mode 0600): the outbox holds biometrics and the applicant's number until the center has them.
fn outbox_cipher(data_dir: &std::path::Path) -> anyhow::Result<Arc<dyn store::BlobCipher>> {
    let path = data_dir.join("outbox.keys");
    let keys = if path.exists() {
        store::FileKeyProvider::open(&path)
    } else {
        store::FileKeyProvider::create(&path)
    }
    .with_context(|| format!("the outbox key file {}", path.display()))?;
    Ok(Arc::new(store::EnvelopeCipher::new(Arc::new(keys))))
}

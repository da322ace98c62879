//! `idkiosk demo`: everything on one machine with demo data, on embedded SQLite databases.
//!
//! In this process: the reference population system (seeded with the fixed demo citizens and
//! generated ones on first start), the center (reaching popsys over HTTP as it would reach a
//! bureau's system, WeChat Pay through paysim), paysim, the device simulators (card reader,
//! barcode scanner, fingerprint module, POS terminal on ptys under `DATA_DIR/dev`, the MJPEG
//! camera), an SMSC simulator for the center's SMS notices (unless the center file names a
//! gateway) and the simulator control panel at `/sim`. The kiosk agent runs as a child process of
//! the same binary (`idkiosk kiosk …`), restarted 1 s after it dies, so a test can kill -9 it.
//! See docs/demo.md.

#[path = "demo/mod.rs"]
pub(crate) mod demo;

use crate::outcome::Outcome;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use popsys::seed::{demo as citizens, LoadPath, SeedConfig};
use popsys::StorePopulationSystem;

use crate::center_setup::{center_state, CenterOptions, WechatOptions};
use crate::cmd_popsys::{DEMO_STUDIO, STUDIO_SECRET_FILE};
use demo::panel::{Panel, Urls};
use demo::printer::DemoPrinter;
use demo::supervisor::Supervisor;

/// A printer URI nobody listens on: the kiosk starts, and printing ends as a printer fault.
const NO_PRINTER: &str = "ipp://127.0.0.1:1/printers/none";

/// The SMSC simulator's account, when the center file names no gateway (loopback only).
const DEMO_SMSC_SYSTEM_ID: &str = "idkiosk-demo";
/// Its password.
const DEMO_SMSC_PASSWORD: &str = "demo-sms";

/// Arguments of `idkiosk demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder for the demo's databases, keys, device links and the kiosk's outbox (created if
    /// missing)
    #[arg(long, default_value = ".idkiosk/demo")]
    data_dir: PathBuf,
    /// Generated citizens on first start (the fixed demo citizens come on top)
    #[arg(long, default_value_t = 20_000)]
    citizens: u64,
    /// Random seed of the generated citizens
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A folder with the bureau's center.toml, kiosk.toml and popsys.toml (docs/configuration.md)
    /// [default: the demo's, config/demo, built into the binary]
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Address of the center (port 0 picks a free one, as for every address below)
    #[arg(long, default_value = "127.0.0.1:7400")]
    center_listen: SocketAddr,
    /// Address of the population system
    #[arg(long, default_value = "127.0.0.1:7401")]
    popsys_listen: SocketAddr,
    /// Address of the simulator control panel (`/sim`)
    #[arg(long, default_value = "127.0.0.1:7402")]
    panel_listen: SocketAddr,
    /// Address of the kiosk's touchscreen UI
    #[arg(long, default_value = "127.0.0.1:7410")]
    kiosk_listen: SocketAddr,
    /// Address of the camera simulator (MJPEG)
    #[arg(long, default_value = "127.0.0.1:7403")]
    camera_listen: SocketAddr,
    /// Address of paysim, the WeChat Pay v3 reference server
    #[arg(long, default_value = "127.0.0.1:7420")]
    paysim_listen: SocketAddr,
    /// The kiosk's id at the center
    #[arg(long, default_value = "K0001")]
    kiosk_id: String,
    /// The kiosk's shared secret [default: random, kept in DATA_DIR/kiosk.secret]
    #[arg(long)]
    kiosk_secret: Option<String>,
    /// The CUPS queue the kiosk prints to, ipp://HOST:PORT/printers/NAME [default: the
    /// environment variable IDKIOSK_PRINTER]; scripts/demo.sh starts a private CUPS with a
    /// cups-pdf queue
    #[arg(long, value_name = "URI", env = "IDKIOSK_PRINTER")]
    printer: Option<String>,
    /// Open the kiosk screen in Chromium's kiosk mode (/usr/bin/chromium)
    #[arg(long)]
    kiosk: bool,
    /// Do not start the kiosk agent (run `idkiosk kiosk` yourself, e.g. under a debugger)
    #[arg(long)]
    no_agent: bool,
    /// Run the center without the face engine (step 7 answers 503)
    #[arg(long)]
    no_face: bool,
    /// Do not record session videos (also the default when ffmpeg is missing)
    #[arg(long)]
    no_video: bool,
    /// Let the simulated devices send as fast as the pseudo terminal goes instead of at their baud
    /// rate (a fingerprint image then takes milliseconds, not 6 s; for benchmarks and quick tests)
    #[arg(long)]
    unpaced_devices: bool,
    /// Pace the fingerprint module at its baud rate even with --unpaced-devices (the session
    /// benchmark times step 9 at the module's real rate)
    #[arg(long)]
    paced_fingerprint: bool,
    /// The rate the kiosk moves the fingerprint module to (9600 × 1 to 12; 57600 keeps the
    /// factory rate)
    #[arg(long, default_value_t = 115_200)]
    fingerprint_baud: u32,
    /// Upload every fingerprint press instead of matching a finger's second press on the module
    /// (the rule before issue 15 item 9; the session benchmark's baseline)
    #[arg(long)]
    upload_every_press: bool,
}

/// Runs `idkiosk demo` until Ctrl-C or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let Ok(files) = DemoFiles::load(args.config_dir.as_deref()) else {
        return Ok(Outcome::Usage);
    };
    let city = files.popsys.city.clone();
    let printer_uri = args.printer.clone().filter(|uri| !uri.trim().is_empty());
    let printer = match printer_uri.as_deref().map(DemoPrinter::parse).transpose() {
        Ok(printer) => printer,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(Outcome::Usage);
        }
    };
    let today = crate::clock::checked_today_source()?;
    crate::private_files::create_dir(&args.data_dir)?;
    // Children get absolute paths whatever their working directory.
    let data_dir = std::fs::canonicalize(&args.data_dir)
        .with_context(|| format!("resolving {}", args.data_dir.display()))?;
    let db_url = format!("sqlite://{}", data_dir.join("demo.db").display());
    let store = store::Store::connect(&db_url)
        .await
        .with_context(|| format!("opening {db_url}"))?;
    // The population system's photos are sealed like the center's (issue 14).
    let store = crate::cmd_keys::sealed_store(store, &data_dir.join("popsys.keys")).await?;

    if store.count_citizens().await? == 0 {
        eprintln!(
            "seeding {} demo citizens into {db_url} (first start only)…",
            args.citizens
        );
        let config = SeedConfig::new(args.citizens, args.seed, city.clone(), today());
        let summary = popsys::seed::seed(&store, &config, LoadPath::MultiRow, |_| {})
            .await
            .context("seeding the demo citizens")?;
        eprintln!(
            "seeded {} citizens in {:.1} s",
            summary.citizens, summary.seconds
        );
        if let Some(note) = summary.note {
            eprintln!("note: {note}");
        }
    }

    // Population system, with the demo's photo studio registered (its secret kept in
    // DATA_DIR/studio.secret, so `idkiosk popsys receipt add` finds it).
    let studio_secret = studio_secret(&data_dir)?;
    popsys::studio::register_studio(
        &store,
        DEMO_STUDIO,
        "演示照相馆 demo photo studio",
        &studio_secret,
        popsys::studio::IfRegistered::ReplaceSecret,
    )
    .await
    .context("registering the demo's photo studio")?;
    let popsys_listener = bind(args.popsys_listen, "popsys").await?;
    let popsys_token = crate::center_setup::token_file(&data_dir.join("popsys.token"))?;
    let popsys_url = format!("http://{}", popsys_listener.local_addr()?);
    let popsys_app =
        popsys::studio::StudioDesk::new(store.clone()).attach(popsys::app(popsys::AppState::new(
            Arc::new(StorePopulationSystem::new(store.clone())),
            Arc::new(crate::clock::checked_today_source()?),
            // The center's token, in DATA_DIR/popsys.token (0600) for tools and tests.
            popsys::ClientTokens::new([("center", popsys_token.as_str())]),
        )));

    // paysim, its keys in DATA_DIR/paysim for the center's WeChat Pay client.
    let keys_dir = data_dir.join("paysim");
    let keys = {
        let dir = keys_dir.clone();
        tokio::task::spawn_blocking(move || payment::KeyPair::load_or_generate(&dir))
            .await
            .context("generating the paysim keys")?
            .with_context(|| format!("paysim key material in {}", keys_dir.display()))?
    };
    let paysim_listener = bind(args.paysim_listen, "paysim").await?;
    let paysim_url = format!("http://{}", paysim_listener.local_addr()?);
    let paysim_app = payment::sim::app(payment::sim::SimConfig {
        keys: keys.platform.clone(),
        retry: payment::sim::RetryPolicy::default(),
        clock: payment::system_clock(),
    });

    // The SMSC the center sends its notices to: the center file's `[center.sms.gateway]`, else
    // an SMSC simulator in this process (its messages on the panel and at its control URL).
    let mut center_settings = files.center.clone();
    let smsc = match center_settings.config.sms.gateway {
        Some(_) => None,
        None => {
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            let smsc = sms::sim::start_smsc(sms::sim::SmscSimConfig {
                listen: loopback,
                control: loopback,
                system_id: DEMO_SMSC_SYSTEM_ID.to_owned(),
                password: DEMO_SMSC_PASSWORD.to_owned(),
            })
            .await
            .context("starting the SMSC simulator")?;
            center_settings.config.sms.gateway = Some(center::config::SmsGateway {
                kind: "smpp".to_owned(),
                address: smsc.smpp_addr().to_string(),
                system_id: DEMO_SMSC_SYSTEM_ID.to_owned(),
                password: DEMO_SMSC_PASSWORD.to_owned(),
                system_type: String::new(),
            });
            Some(Arc::new(smsc))
        }
    };
    let smsc_line = match (&smsc, &center_settings.config.sms.gateway) {
        (Some(smsc), _) => format!(
            "{}   received texts: GET {}/sim/messages (SMPP on {})",
            smsc.control_url(),
            smsc.control_url(),
            smsc.smpp_addr()
        ),
        (None, Some(gateway)) => format!("the center file's gateway, {}", gateway.address),
        (None, None) => "none".to_owned(),
    };

    // The center.
    let secret = match &args.kiosk_secret {
        Some(secret) => secret.clone(),
        None => kiosk_secret(&data_dir)?,
    };
    let center_listener = bind(args.center_listen, "the center").await?;
    let center_url = format!("http://{}", center_listener.local_addr()?);
    let population: Arc<dyn popsys::PopulationSystem> = Arc::new(
        popsys::HttpPopulationSystem::new(&popsys_url)
            .context("popsys client")?
            .with_token(&popsys_token),
    );
    let options = |face: bool| CenterOptions {
        database_url: format!("sqlite://{}", data_dir.join("center.db").display()),
        settings: center_settings.clone(),
        kiosk_secrets: format!("{}={secret}", args.kiosk_id),
        wechat: Some(WechatOptions {
            base_url: paysim_url.clone(),
            keys_dir: keys_dir.clone(),
            notify_url: format!("{center_url}/v1/payments/wechat/notify"),
        }),
        face,
        key_file: data_dir.join("center.keys"),
        blob_dir: data_dir.join("blobs"),
    };
    let state = match center_state(population.clone(), options(!args.no_face)).await {
        Ok(state) => state,
        Err(err) if !args.no_face => {
            eprintln!(
                "note: the center runs without the face engine (step 7 answers 503): {err:#}"
            );
            center_state(population, options(false)).await?
        }
        Err(err) => return Err(err),
    };
    let center_app = center::app(state);

    // Devices.
    let devices = demo::devices::start(
        &data_dir.join("dev"),
        today(),
        args.camera_listen,
        !args.unpaced_devices,
        !args.unpaced_devices || args.paced_fingerprint,
    )
    .await?;
    let device_urls = devices.urls();

    // The kiosk agent.
    let kiosk_addr = free_address(args.kiosk_listen)?;
    let kiosk_url = format!("http://{kiosk_addr}/");
    let mut kiosk_args: Vec<OsString> = vec!["kiosk".into()];
    let mut push = |flag: &str, value: &dyn AsRef<std::ffi::OsStr>| {
        kiosk_args.push(flag.into());
        kiosk_args.push(value.as_ref().to_owned());
    };
    push("--center", &center_url);
    push("--kiosk-id", &args.kiosk_id);
    push("--card-reader", &device_urls.card_reader.port);
    push("--barcode", &device_urls.barcode.port);
    push("--fingerprint", &device_urls.fingerprint.port);
    push("--fingerprint-baud", &args.fingerprint_baud.to_string());
    push("--pos", &device_urls.pos.port);
    push("--camera", &device_urls.camera.stream);
    push("--printer", &printer_uri.as_deref().unwrap_or(NO_PRINTER));
    push("--listen", &kiosk_addr.to_string());
    push("--data-dir", &data_dir.join("kiosk"));
    push("--config", &files.kiosk_file(&data_dir)?);
    let ffmpeg = Path::new("/usr/bin/ffmpeg").exists();
    if args.no_video || !ffmpeg {
        kiosk_args.push("--no-video".into());
    }
    if args.upload_every_press {
        kiosk_args.push("--upload-every-press".into());
    }
    let pid_file = data_dir.join("kiosk.pid");
    demo::supervisor::reap_stale(&pid_file, &data_dir.join("kiosk"));
    let supervisor = (!args.no_agent).then(|| {
        Supervisor::start(
            kiosk_args.clone(),
            // The secret goes by environment, out of the process list.
            vec![("IDKIOSK_KIOSK_SECRET".to_owned(), secret.clone())],
            pid_file.clone(),
        )
    });
    let kiosk_status = supervisor
        .as_ref()
        .map(Supervisor::shared_status)
        .unwrap_or_default();
    if args.no_agent {
        kiosk_status.lock().unwrap_or_else(|p| p.into_inner()).note =
            Some("not started (--no-agent)".to_owned());
    }

    // The panel.
    let panel_listener = bind(args.panel_listen, "the control panel").await?;
    let panel_url = format!("http://{}/sim", panel_listener.local_addr()?);
    let urls = Urls {
        kiosk: kiosk_url.clone(),
        panel: panel_url.clone(),
        center: center_url.clone(),
        popsys: popsys_url.clone(),
        paysim: paysim_url.clone(),
        paysim_page: format!("{paysim_url}/sim"),
        database: db_url.clone(),
        data_dir: data_dir.display().to_string(),
        kiosk_id: args.kiosk_id.clone(),
        smsc: smsc.as_ref().map(|smsc| smsc.control_url()),
    };
    let panel_app = demo::panel::router(Panel::new(
        urls,
        device_urls.clone(),
        printer.clone(),
        kiosk_status.clone(),
        popsys::studio::StudioClient::new(&popsys_url, DEMO_STUDIO, &studio_secret),
        store.clone(),
        smsc.clone(),
    ));

    println!("idkiosk demo is running (Ctrl-C stops it)");
    println!("  kiosk screen:        {kiosk_url}");
    println!("  control panel:       {panel_url}");
    println!("  center (kiosk API):  {center_url}   e.g. POST {center_url}/v1/scope");
    println!(
        "  population system:   {popsys_url}   e.g. curl -H \"Authorization: Bearer $(cat {})\" {popsys_url}/v1/citizens/{}?city={}",
        data_dir.join("popsys.token").display(),
        citizens::RENEWAL_IN_WINDOW,
        city.code()
    );
    println!(
        "  photo studio:        {DEMO_STUDIO}   secret {studio_secret} (in {})   e.g. idkiosk popsys receipt add --url {popsys_url} --studio {DEMO_STUDIO} --secret-file {} --citizen {} --photo FILE",
        data_dir.join(STUDIO_SECRET_FILE).display(),
        data_dir.join(STUDIO_SECRET_FILE).display(),
        citizens::RENEWAL_IN_WINDOW
    );
    println!(
        "  paysim (WeChat Pay): {paysim_url}   payer's page {paysim_url}/sim, keys in {}",
        keys_dir.display()
    );
    println!("  SMSC (SMS notices):  {smsc_line}");
    println!(
        "  camera (MJPEG):      {}   control {}",
        device_urls.camera.stream, device_urls.camera.control
    );
    for (name, device) in [
        ("card reader", &device_urls.card_reader),
        ("barcode scanner", &device_urls.barcode),
        ("fingerprint", &device_urls.fingerprint),
        ("POS terminal", &device_urls.pos),
    ] {
        println!(
            "  {:<20} {}   control {}",
            format!("{name}:"),
            device.port.display(),
            device.control
        );
    }
    match &printer {
        Some(p) => println!("  printer:             {}", p.uri),
        None => println!(
            "  printer:             none (give --printer ipp://… or IDKIOSK_PRINTER; printing ends as a printer fault)"
        ),
    }
    println!("  database:            {db_url}");
    if args.no_agent {
        println!("  kiosk agent:         not started (--no-agent); start it with:");
        println!(
            "    IDKIOSK_KIOSK_SECRET={secret} {} {}",
            std::env::current_exe()?.display(),
            kiosk_args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
    } else {
        println!(
            "  kiosk agent:         {} as a child process (pid in {}), restarted 1 s after it dies",
            args.kiosk_id,
            pid_file.display()
        );
    }
    if !ffmpeg {
        println!(
            "  note: no ffmpeg, the kiosk records no video (scripts/setup/40-cups.sh installs it)"
        );
    }
    println!("try a scope lookup for a demo citizen (see docs/popsys.md for the others):");
    println!(
        "  curl -s {center_url}/v1/scope -H 'content-type: application/json' -H 'x-kiosk-id: {}' -H 'authorization: Bearer {secret}' -d '{{\"business\":\"lost\",\"household\":\"province\",\"id\":\"{}\"}}'",
        args.kiosk_id,
        citizens::PROVINCE_REGISTERED_REMOTE
    );

    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let serve = |listener: tokio::net::TcpListener, app: axum::Router| {
        let mut stop = stop_tx.subscribe();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.recv().await;
                })
                .await
        })
    };
    let servers = vec![
        ("popsys", serve(popsys_listener, popsys_app)),
        ("paysim", serve(paysim_listener, paysim_app)),
        ("the center", serve(center_listener, center_app)),
        ("the control panel", serve(panel_listener, panel_app)),
    ];

    // Chromium, watched: when it ends on its own (no display, closed) the demo says so.
    let (browser_stop, mut browser_stopped) = tokio::sync::oneshot::channel::<()>();
    let browser = match args.kiosk {
        true => open_chromium(&kiosk_url).await,
        false => None,
    }
    .map(|mut child| {
        let url = kiosk_url.clone();
        tokio::spawn(async move {
            tokio::select! {
                status = child.wait() => println!(
                    "Chromium ended ({}); open {url} in a browser",
                    status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
                ),
                _ = &mut browser_stopped => {
                    let _ = child.kill().await;
                }
            }
        })
    });

    crate::shutdown::signal().await;
    let _ = browser_stop.send(());
    if let Some(task) = browser {
        let _ = task.await;
        let _ = std::fs::remove_dir_all(chromium_profile());
    }
    if let Some(supervisor) = supervisor {
        supervisor.stop().await;
    }
    let _ = stop_tx.send(());
    for (name, task) in servers {
        // Long-lived connections (a browser's event stream) must not hold the exit up.
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(joined) => joined
                .with_context(|| format!("{name} task"))?
                .with_context(|| format!("serving {name}"))?,
            Err(_) => tracing::warn!("{name} still had open connections after 5 s"),
        }
    }
    devices.shutdown().await;
    if let Some(smsc) = smsc.and_then(|smsc| Arc::try_unwrap(smsc).ok()) {
        smsc.shutdown().await;
    }
    store.close().await;
    Ok(Outcome::Success)
}

/// The demo's configuration files: the demo's own (config/demo, built in) or a folder's.
struct DemoFiles {
    center: center::config::CenterSettings,
    popsys: popsys::config::PopsysSettings,
    /// The folder of the files; `None`: the built-in ones.
    dir: Option<PathBuf>,
}

impl DemoFiles {
    const CENTER: &'static str = include_str!("../../../config/demo/center.toml");
    const KIOSK: &'static str = include_str!("../../../config/demo/kiosk.toml");
    const POPSYS: &'static str = include_str!("../../../config/demo/popsys.toml");

    /// Loads and checks the three files; a wrong one is reported on standard error.
    fn load(dir: Option<&Path>) -> Result<DemoFiles, ()> {
        use crate::config::{load_file, load_text, report, Kind, Loaded};
        let one = |kind: Kind, builtin: &str| -> Result<Loaded, ()> {
            match dir {
                Some(dir) => {
                    let path = dir.join(format!("{}.toml", kind.as_str()));
                    load_file(kind, &path).map_err(|invalid| report(&path, &invalid))
                }
                None => load_text(kind, builtin, std::env::vars()).map_err(|invalid| {
                    report(
                        Path::new(&format!("config/demo/{}.toml", kind.as_str())),
                        &invalid,
                    )
                }),
            }
        };
        let center = one(Kind::Center, Self::CENTER)?.center().ok_or(())?;
        one(Kind::Kiosk, Self::KIOSK)?;
        let popsys = one(Kind::Popsys, Self::POPSYS)?.popsys().ok_or(())?;
        Ok(DemoFiles {
            center,
            popsys,
            dir: dir.map(Path::to_owned),
        })
    }

    /// The kiosk agent's `--config`: the folder's file, or the built-in one written to the data
    /// folder.
    fn kiosk_file(&self, data_dir: &Path) -> anyhow::Result<PathBuf> {
        match &self.dir {
            Some(dir) => {
                let path = dir.join("kiosk.toml");
                std::fs::canonicalize(&path)
                    .with_context(|| format!("resolving {}", path.display()))
            }
            None => {
                let path = data_dir.join("kiosk.toml");
                crate::private_files::write(&path, Self::KIOSK.as_bytes())?;
                Ok(path)
            }
        }
    }
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} for {what}"))
}

/// `addr`, or a free port on its host when its port is 0 (the kiosk binds it itself).
fn free_address(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    let probe = std::net::TcpListener::bind(addr).context("finding a free port for the kiosk")?;
    Ok(probe.local_addr()?)
}

/// The secret of the demo's photo studio: read from `DATA_DIR/studio.secret`, made on first start.
fn studio_secret(data_dir: &Path) -> anyhow::Result<String> {
    let file = data_dir.join(STUDIO_SECRET_FILE);
    if let Ok(text) = std::fs::read_to_string(&file) {
        let text = text.trim();
        if !text.is_empty() {
            return Ok(text.to_owned());
        }
    }
    let secret = popsys::studio::new_secret();
    crate::private_files::write(&file, format!("{secret}\n").as_bytes())?;
    Ok(secret)
}

/// The demo kiosk's shared secret: read from `DATA_DIR/kiosk.secret`, made on first start.
fn kiosk_secret(data_dir: &Path) -> anyhow::Result<String> {
    let file = data_dir.join("kiosk.secret");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let text = text.trim();
        if !text.is_empty() {
            return Ok(text.to_owned());
        }
    }
    let mut bytes = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    crate::private_files::write(&file, format!("{secret}\n").as_bytes())?;
    Ok(secret)
}

/// Chromium's throwaway profile folder, removed when the demo stops.
fn chromium_profile() -> PathBuf {
    std::env::temp_dir().join(format!("idkiosk-chromium-{}", std::process::id()))
}

/// Opens `url` in Chromium's kiosk mode when `/usr/bin/chromium` exists.
async fn open_chromium(url: &str) -> Option<tokio::process::Child> {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        println!("--kiosk: /usr/bin/chromium is not installed (scripts/setup/50-browser.sh installs it); open {url} in a browser");
        return None;
    }
    let profile = chromium_profile();
    let mut command = tokio::process::Command::new(chromium);
    command.args([
        "--kiosk",
        // Voice prompts play as each screen loads, without a touch on that page.
        "--autoplay-policy=no-user-gesture-required",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    if running_as_root() {
        // Chromium refuses to start as root with its sandbox.
        command.arg("--no-sandbox");
    }
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    match command.spawn() {
        Ok(child) => {
            println!(
                "opened the kiosk screen in Chromium (kiosk mode, profile {})",
                profile.display()
            );
            Some(child)
        }
        Err(err) => {
            println!("--kiosk: could not start Chromium: {err}");
            None
        }
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

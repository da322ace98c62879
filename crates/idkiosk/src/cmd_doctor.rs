//! `idkiosk doctor kiosk`: checks a kiosk machine the way an operator would, one line per check:
//! `ok` or `FAIL`, the check's name, what was found and, when it fails, what to do. The
//! configuration file, each device answering its own protocol (card reader and fingerprint
//! module: their status commands; POS: a NAK to a frame with a bad check byte; barcode scanner,
//! which only sends: its port is a tty that takes 9600 8N1; camera: one frame; printer: its IPP
//! state, paper included), the center's `/health` over the configured link, the
//! kiosk certificate's days to expiry, the clock's skew against the center's `Date`, free disk
//! space of the state folder and the outbox backlog. Exit 0 only when every check passes, else 1;
//! `--json` prints one object `{"ok","checks":[{"name","ok","found","fix"}]}` for the heartbeat.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use devices::barcode::SerialBarcodeConfig;
use devices::camera::{Camera, MjpegCamera, MjpegCameraConfig};
use devices::card_reader::{CardReader, SerialCardReader, SerialCardReaderConfig};
use devices::fingerprint::{FingerprintScanner, SerialFingerprintConfig, SerialFingerprintScanner};
use devices::pos::{ProbeEvent, SerialPosConfig, SerialPosTerminal};
use devices::printer::{IppPrinter, IppPrinterConfig, Printer};
use devices::serial::{LineError, SerialPort};
use devices::DeviceHealth;
use serde::Serialize;

use crate::config::Kind;
use crate::outcome::Outcome;

/// Arguments of `idkiosk doctor`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DoctorCommand,
}

#[derive(clap::Subcommand)]
enum DoctorCommand {
    /// Check this kiosk: configuration, devices, center link, certificate, clock, disk, outbox
    Kiosk(KioskArgs),
    /// Check this center: configuration, database, blob store, population system, SMS gateway,
    /// disk
    Center(CenterArgs),
}

/// The center's flags, as `idkiosk center` takes them.
#[derive(clap::Args)]
struct CenterArgs {
    /// The bureau's configuration file (or IDKIOSK_CONFIG)
    #[arg(long, value_name = "FILE", env = "IDKIOSK_CONFIG")]
    config: Option<PathBuf>,
    /// The center's database: sqlite://FILE or postgres://…
    #[arg(long, default_value = "sqlite://.idkiosk/center/center.db")]
    database: String,
    /// Where sealed blobs are kept (a local blob store)
    #[arg(long, default_value = ".idkiosk/center/blobs")]
    blob_dir: PathBuf,
    /// Base URL of the population system's HTTP API
    #[arg(long, default_value = "http://127.0.0.1:7401")]
    popsys: String,
    /// How long each service may take to answer
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    timeout: f64,
    /// Free space the database's and blobs' folders need, in MiB
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    min_free_mib: u64,
    /// One JSON object instead of lines
    #[arg(long)]
    json: bool,
}

/// The kiosk's flags, as `idkiosk kiosk` takes them; a device left out is a failed check.
#[derive(clap::Args)]
struct KioskArgs {
    /// The kiosk's configuration file (or IDKIOSK_CONFIG)
    #[arg(long, value_name = "FILE", env = "IDKIOSK_CONFIG")]
    config: Option<PathBuf>,
    /// The center's base URL
    #[arg(long, value_name = "URL")]
    center: Option<String>,
    /// Mutual TLS: the folder `idkiosk fleet enrol` wrote (kiosk.pem, kiosk.key, ca.pem)
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// The ID card reader's serial port
    #[arg(long, value_name = "PATH")]
    card_reader: Option<PathBuf>,
    /// The barcode scanner's serial port
    #[arg(long, value_name = "PATH")]
    barcode: Option<PathBuf>,
    /// The fingerprint module's serial port (asked at its factory rate)
    #[arg(long, value_name = "PATH")]
    fingerprint: Option<PathBuf>,
    /// The UnionPay MIS-POS terminal's serial port
    #[arg(long, value_name = "PATH")]
    pos: Option<PathBuf>,
    /// The camera's MJPEG stream URL
    #[arg(long, value_name = "URL")]
    camera: Option<String>,
    /// The document printer's IPP URI (or IDKIOSK_PRINTER)
    #[arg(long, value_name = "URI", env = "IDKIOSK_PRINTER")]
    printer: Option<String>,
    /// The kiosk's working folder (outbox, keys, video)
    #[arg(long, default_value = ".idkiosk/kiosk")]
    data_dir: PathBuf,
    /// How long each device or the center may take to answer
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    timeout: f64,
    /// Free space the working folder needs, in MiB
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    min_free_mib: u64,
    /// The most messages the outbox may hold before the check fails
    #[arg(long, default_value_t = 100)]
    max_backlog: i64,
    /// The clock skew against the center that fails, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    max_skew: i64,
    /// Days left on the kiosk certificate under which the check fails
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    min_cert_days: i64,
    /// One JSON object instead of lines
    #[arg(long)]
    json: bool,
}

/// One check's result.
#[derive(Serialize)]
struct Check {
    name: String,
    ok: bool,
    found: String,
    fix: String,
}

impl Check {
    fn pass(name: &str, found: impl Into<String>) -> Check {
        Check {
            name: name.to_owned(),
            ok: true,
            found: found.into(),
            fix: String::new(),
        }
    }

    fn fail(name: &str, found: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.to_owned(),
            ok: false,
            found: found.into(),
            fix: fix.into(),
        }
    }
}

/// Runs `idkiosk doctor`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let (timeout, json) = match &args.command {
        DoctorCommand::Kiosk(a) => (a.timeout, a.json),
        DoctorCommand::Center(a) => (a.timeout, a.json),
    };
    if !(timeout > 0.0 && timeout <= 600.0) {
        eprintln!("error: --timeout must be in (0, 600]");
        return Ok(Outcome::Usage);
    }
    let checks = match &args.command {
        DoctorCommand::Kiosk(a) => kiosk_checks(a).await,
        DoctorCommand::Center(a) => center_doctor(a).await,
    };
    Ok(report(&checks, json))
}

fn report(checks: &[Check], json: bool) -> Outcome {
    let ok = checks.iter().all(|c| c.ok);
    if json {
        println!("{}", serde_json::json!({ "ok": ok, "checks": checks }));
    } else {
        for c in checks {
            if c.ok {
                println!("ok    {:<14} {}", c.name, c.found);
            } else {
                println!("FAIL  {:<14} {}: {}", c.name, c.found, c.fix);
            }
        }
    }
    Outcome::answer(ok)
}

async fn kiosk_checks(args: &KioskArgs) -> Vec<Check> {
    let timeout = Duration::from_secs_f64(args.timeout);
    let mut checks = vec![config_check(args.config.as_deref())];
    let (card, barcode, finger, pos, camera, printer) = tokio::join!(
        card_reader_check(args.card_reader.as_deref(), timeout),
        barcode_check(args.barcode.as_deref()),
        fingerprint_check(args.fingerprint.as_deref(), timeout),
        pos_check(args.pos.as_deref(), timeout),
        camera_check(args.camera.as_deref(), timeout),
        printer_check(args.printer.as_deref(), timeout),
    );
    checks.extend([card, barcode, finger, pos, camera, printer]);
    checks.extend(center_checks(args, timeout).await);
    checks.push(disk_check(&args.data_dir, args.min_free_mib));
    checks.push(outbox_check(&args.data_dir, args.max_backlog).await);
    checks
}

fn config_check(file: Option<&Path>) -> Check {
    let Some(file) = file else {
        return Check::pass(
            "config",
            "no file: the defaults of docs/domain.md section 16",
        );
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            return Check::fail(
                "config",
                format!("cannot read {}: {e}", file.display()),
                "give --config the kiosk's file (e.g. /etc/idkiosk/kiosk.toml)",
            )
        }
    };
    match crate::config::load_text(Kind::Kiosk, &text, std::env::vars()) {
        Ok(_) => Check::pass("config", format!("{} checks", file.display())),
        Err(crate::config::Invalid(lines)) => Check::fail(
            "config",
            format!("{}: {}", file.display(), lines.join("; ")),
            "correct the fields named (idkiosk config check FILE; docs/configuration.md)",
        ),
    }
}

fn missing(name: &str, flag: &str) -> Check {
    Check::fail(
        name,
        "not configured",
        format!("pass {flag} as the kiosk service does"),
    )
}

/// `Ready`, `Busy` and `Warning` pass; the rest fails with the driver's reason.
fn health_check(name: &str, what: &str, where_: &str, health: DeviceHealth, fix: &str) -> Check {
    match health {
        DeviceHealth::Ready | DeviceHealth::Busy => {
            Check::pass(name, format!("{what} on {where_} answers"))
        }
        DeviceHealth::Warning { reason } => {
            Check::pass(name, format!("{what} on {where_} answers ({reason})"))
        }
        DeviceHealth::Error { reason } => Check::fail(
            name,
            format!("{what} on {where_} answers with an error: {reason}"),
            fix,
        ),
        DeviceHealth::Disconnected { reason } => Check::fail(
            name,
            format!("{what} on {where_} does not answer: {reason}"),
            fix,
        ),
    }
}

/// A USB serial adapter's device node goes away with the cable.
fn unplugged() -> DeviceHealth {
    DeviceHealth::Disconnected {
        reason: "no such port (unplugged?)".to_owned(),
    }
}

async fn card_reader_check(port: Option<&Path>, timeout: Duration) -> Check {
    let Some(port) = port else {
        return missing("card_reader", "--card-reader");
    };
    let fix = "plug in the ID card reader (USB serial, 115200 baud) and check its cable and \
               --card-reader; a SAM status error: call the reader's vendor";
    let reader = SerialCardReader::new(SerialCardReaderConfig::new(port));
    let health = if !port.exists() {
        unplugged()
    } else {
        match tokio::time::timeout(timeout, reader.check()).await {
            Ok(health) => health,
            Err(_) => DeviceHealth::Disconnected {
                reason: format!("no answer to SAM status within {timeout:?}"),
            },
        }
    };
    health_check(
        "card_reader",
        "ID card reader",
        &port.display().to_string(),
        health,
        fix,
    )
}

async fn fingerprint_check(port: Option<&Path>, timeout: Duration) -> Check {
    let Some(port) = port else {
        return missing("fingerprint", "--fingerprint");
    };
    let fix = "plug in the fingerprint module (57600 baud at power-up) and check --fingerprint";
    let scanner = SerialFingerprintScanner::new(SerialFingerprintConfig {
        fast_baud: None,
        ..SerialFingerprintConfig::new(port)
    });
    let health = if !port.exists() {
        unplugged()
    } else {
        match tokio::time::timeout(timeout, scanner.check()).await {
            Ok(health) => health,
            Err(_) => DeviceHealth::Disconnected {
                reason: format!("no answer to ReadSysPara within {timeout:?}"),
            },
        }
    };
    health_check(
        "fingerprint",
        "fingerprint module",
        &port.display().to_string(),
        health,
        fix,
    )
}

/// Passes when the POS NAKs the [`ListeningProbe`](devices::pos::ListeningProbe)'s frame, whose
/// check byte is wrong: it is listening, and nothing was asked of it (the frame is not resent).
async fn pos_check(port: Option<&Path>, timeout: Duration) -> Check {
    let Some(port) = port else {
        return missing("pos", "--pos");
    };
    let mut config = SerialPosConfig::new(port);
    let fix = format!(
        "check the POS terminal's power, its serial cable and --pos; it must be set to {} baud \
         8N1 and MIS-POS framing (STX/LEN/ETX/LRC)",
        config.line.baud
    );
    let at = port.display();
    if !port.exists() {
        return Check::fail(
            "pos",
            format!("MIS-POS terminal on {at} does not answer: no such port (unplugged?)"),
            fix,
        );
    }
    config.line.reconnect.give_up_after = Duration::ZERO;
    config.link.ack_timeout = timeout;
    let terminal = SerialPosTerminal::new(config);
    let outcome = tokio::time::timeout(timeout * 2, terminal.probe()).await;
    // Closes the port.
    drop(terminal);
    match outcome {
        Ok(Ok(ProbeEvent::Nak)) => Check::pass(
            "pos",
            format!(
                "MIS-POS terminal on {at} answered NAK to a frame with a bad check byte: it is \
                 listening"
            ),
        ),
        Ok(Ok(ProbeEvent::Silent { received: 0 })) => Check::fail(
            "pos",
            format!(
                "MIS-POS terminal on {at} does not answer: no NAK to a frame with a bad check \
                 byte within {timeout:?}"
            ),
            fix,
        ),
        Ok(Ok(event)) => Check::fail("pos", format!("MIS-POS terminal on {at}: {event}"), fix),
        Ok(Err(e)) => Check::fail(
            "pos",
            format!("MIS-POS terminal on {at} does not answer: {e}"),
            fix,
        ),
        Err(_) => Check::fail(
            "pos",
            format!(
                "MIS-POS terminal on {at} does not answer within {:?}",
                timeout * 2
            ),
            fix,
        ),
    }
}

/// The scanner only ever sends (docs/domain.md 9.3): the port must be a tty that takes the
/// scanner's line settings, and that is all that can be checked without someone scanning.
async fn barcode_check(port: Option<&Path>) -> Check {
    let Some(port) = port else {
        return missing("barcode", "--barcode");
    };
    let line = SerialBarcodeConfig::new(port).line;
    let fix = format!(
        "plug in the barcode scanner (USB serial, {} baud 8N1) and check its cable and \
         --barcode (and the service's DeviceAllow=)",
        line.baud
    );
    let at = port.display();
    if !port.exists() {
        return Check::fail(
            "barcode",
            format!("barcode scanner port {at} is missing: no such port (unplugged?)"),
            fix,
        );
    }
    match SerialPort::open(&line.path, line.baud) {
        // Dropped at once: the port is closed again.
        Ok(_) => Check::pass(
            "barcode",
            format!(
                "barcode scanner port {at} opens at {} 8N1; a scanner only sends, so it \
                 answers nothing until a code is scanned",
                line.baud
            ),
        ),
        Err(LineError::Open { source, .. })
            if source.raw_os_error() == Some(nix::errno::Errno::ENOTTY as i32) =>
        {
            Check::fail(
                "barcode",
                format!("{at} is not a serial port (not a tty)"),
                fix,
            )
        }
        Err(e) => Check::fail("barcode", format!("barcode scanner port {at}: {e}"), fix),
    }
}

async fn camera_check(url: Option<&str>, timeout: Duration) -> Check {
    let Some(url) = url else {
        return missing("camera", "--camera");
    };
    let camera = MjpegCamera::new(MjpegCameraConfig {
        frame_timeout: timeout,
        ..MjpegCameraConfig::new(url)
    });
    match tokio::time::timeout(timeout * 2, camera.grab()).await {
        Ok(Ok(frame)) => Check::pass(
            "camera",
            format!("camera at {url} sent a frame of {} bytes", frame.len()),
        ),
        Ok(Err(e)) => Check::fail(
            "camera",
            format!("camera at {url}: {e}"),
            "check the camera's power and network cable and --camera (its MJPEG stream URL)",
        ),
        Err(_) => Check::fail(
            "camera",
            format!("camera at {url} sent no frame within {:?}", timeout * 2),
            "check the camera's power and network cable and --camera (its MJPEG stream URL)",
        ),
    }
}

async fn printer_check(uri: Option<&str>, timeout: Duration) -> Check {
    let Some(uri) = uri else {
        return missing("printer", "--printer");
    };
    let paper = "load paper or clear the jam, then resume the queue (cupsenable QUEUE)";
    let cups = "start CUPS (systemctl start cups), then check --printer and the queue's name";
    let printer = match IppPrinter::new(IppPrinterConfig::new(uri)) {
        Ok(printer) => printer,
        Err(e) => {
            return Check::fail(
                "printer",
                format!("{uri}: {e}"),
                "--printer takes ipp://host:port/printers/QUEUE",
            )
        }
    };
    match tokio::time::timeout(timeout, printer.status()).await {
        Ok(Ok(status)) => {
            let reasons = if status.reasons.is_empty() {
                String::new()
            } else {
                format!(", {}", status.reasons.join(", "))
            };
            let found = format!(
                "printer {uri}: {}{reasons}{}",
                status.state,
                if status.accepting_jobs {
                    ""
                } else {
                    ", not accepting jobs"
                }
            );
            match status.health {
                DeviceHealth::Ready | DeviceHealth::Busy | DeviceHealth::Warning { .. } => {
                    Check::pass("printer", found)
                }
                _ => Check::fail("printer", found, paper),
            }
        }
        Ok(Err(e)) => Check::fail("printer", format!("printer {uri}: {e}"), cups),
        Err(_) => Check::fail(
            "printer",
            format!("printer {uri} did not answer within {timeout:?}"),
            cups,
        ),
    }
}

/// The center's `/health` over the kiosk's link, then the certificate and the clock from it.
async fn center_checks(args: &KioskArgs, timeout: Duration) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(base) = args.center.as_deref() else {
        checks.push(missing("center", "--center"));
        return checks;
    };
    let client = match &args.tls_dir {
        Some(dir) => {
            checks.push(certificate_check(
                &dir.join("kiosk.pem"),
                args.min_cert_days,
            ));
            center::tls::kiosk_client_config(dir)
                .map_err(|e| format!("--tls-dir {}: {e}", dir.display()))
                .and_then(|config| {
                    reqwest::Client::builder()
                        .use_preconfigured_tls((*config).clone())
                        .timeout(timeout)
                        .build()
                        .map_err(|e| e.to_string())
                })
        }
        None => reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string()),
    };
    let client = match client {
        Ok(client) => client,
        Err(e) => {
            checks.insert(
                0,
                Check::fail(
                    "center",
                    e,
                    "enrol the kiosk again (idkiosk fleet enrol) or fix --tls-dir",
                ),
            );
            return checks;
        }
    };
    let url = format!("{}/health", base.trim_end_matches('/'));
    let link = if args.tls_dir.is_some() {
        "mutual TLS"
    } else {
        "plain HTTP"
    };
    let sent = time::OffsetDateTime::now_utc();
    match client.get(&url).send().await {
        Ok(answer) if answer.status().is_success() => {
            let date = answer
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            checks.insert(
                0,
                Check::pass(
                    "center",
                    format!("{url} answers {} over {link}", answer.status()),
                ),
            );
            checks.push(skew_check(date.as_deref(), sent, args.max_skew));
        }
        Ok(answer) => checks.insert(
            0,
            Check::fail(
                "center",
                format!("{url} answers {}", answer.status()),
                "the center is up but unwell: see its log (journalctl -u idkiosk-center)",
            ),
        ),
        Err(e) => checks.insert(
            0,
            Check::fail(
                "center",
                format!("{url} over {link}: {}", error_chain(&e)),
                "check the network and --center; with mutual TLS, that the kiosk is enrolled, not \
                 revoked, and --tls-dir holds the center's CA (idkiosk fleet)",
            ),
        ),
    }
    checks
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The center's `Date` header (RFC 9110 IMF-fixdate) against our clock at the request.
fn skew_check(date: Option<&str>, sent: time::OffsetDateTime, max_skew: i64) -> Check {
    let fix =
        "set the clock: enable NTP (timedatectl set-ntp true) toward the bureau's time server";
    let Some(date) = date else {
        return Check::fail("clock", "the center's answer has no Date header", fix);
    };
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let Ok(center) = time::PrimitiveDateTime::parse(date, &format) else {
        return Check::fail(
            "clock",
            format!("the center's Date {date:?} does not parse"),
            fix,
        );
    };
    // The header has whole seconds: a skew under 2 s is rounding and the request's time.
    let skew = (sent - center.assume_utc()).whole_seconds();
    let found = format!("{skew:+} s against the center");
    if skew.abs() <= max_skew {
        Check::pass("clock", found)
    } else {
        Check::fail("clock", format!("{found} (more than {max_skew} s)"), fix)
    }
}

/// Days left on the certificate, read by `openssl x509` (the binary has no X.509 parser of its
/// own outside the center's TLS).
fn certificate_check(pem: &Path, min_days: i64) -> Check {
    let fix = "renew the kiosk certificate at the center (idkiosk fleet enrol) before it expires";
    let output = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-in"])
        .arg(pem)
        .output();
    let output = match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Ok(o) => {
            return Check::fail(
                "certificate",
                format!(
                    "{}: {}",
                    pem.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                fix,
            )
        }
        Err(e) => {
            return Check::fail(
                "certificate",
                format!("openssl cannot be run to read {}: {e}", pem.display()),
                "install openssl",
            )
        }
    };
    // notAfter=Dec  7 18:00:00 2027 GMT
    let text = output.trim_start_matches("notAfter=");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:none] [hour]:[minute]:[second] [year] GMT"
    );
    match time::PrimitiveDateTime::parse(&text, &format) {
        Ok(end) => {
            let days = (end.assume_utc() - time::OffsetDateTime::now_utc()).whole_days();
            let found = format!("{} expires in {days} days", pem.display());
            if days >= min_days {
                Check::pass("certificate", found)
            } else {
                Check::fail("certificate", found, fix)
            }
        }
        Err(_) => Check::fail(
            "certificate",
            format!("{}: unexpected end date {text:?}", pem.display()),
            fix,
        ),
    }
}

fn disk_check(data_dir: &Path, min_free_mib: u64) -> Check {
    // The folder may not exist before the first start: its nearest existing parent decides.
    let mut at = data_dir;
    while !at.exists() {
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    match nix::sys::statvfs::statvfs(at) {
        Ok(fs) => {
            // fsblkcnt_t and c_ulong are u64 on the kiosks' x86_64 and arm64 Linux.
            let free = fs.blocks_available().saturating_mul(fs.fragment_size()) / (1024 * 1024);
            let found = format!("{free} MiB free under {}", at.display());
            if free >= min_free_mib {
                Check::pass("disk", found)
            } else {
                Check::fail(
                    "disk",
                    format!("{found} (less than {min_free_mib} MiB)"),
                    "free space: old session videos are in the video folder; \
                     journalctl --vacuum-size=200M",
                )
            }
        }
        Err(e) => Check::fail(
            "disk",
            format!("statvfs {}: {e}", at.display()),
            "check --data-dir",
        ),
    }
}

async fn outbox_check(data_dir: &Path, max_backlog: i64) -> Check {
    let path = data_dir.join("outbox.db");
    let keys = data_dir.join("outbox.keys");
    if !path.exists() {
        return Check::pass(
            "outbox",
            format!(
                "no outbox yet at {} (the kiosk has not started)",
                path.display()
            ),
        );
    }
    let fix = "the center is not taking the kiosk's messages: see the center line, then the \
               kiosk's log (journalctl -u idkiosk-kiosk)";
    let cipher: Arc<dyn store::BlobCipher> =
        match store::FileKeyProvider::open(&keys) {
            Ok(provider) => Arc::new(store::EnvelopeCipher::new(Arc::new(provider))),
            Err(e) => return Check::fail(
                "outbox",
                format!("the outbox key file {}: {e}", keys.display()),
                "restore outbox.keys from the kiosk's backup; without it the outbox cannot be read",
            ),
        };
    let outbox = match kiosk::outbox::Outbox::open(&path, cipher).await {
        Ok(outbox) => outbox,
        Err(e) => {
            return Check::fail("outbox", format!("{}: {e}", path.display()), fix);
        }
    };
    match outbox.backlog().await {
        Ok(n) if n <= max_backlog => Check::pass("outbox", format!("{n} message(s) waiting")),
        Ok(n) => Check::fail(
            "outbox",
            format!("{n} messages waiting (more than {max_backlog})"),
            fix,
        ),
        Err(e) => Check::fail("outbox", format!("{}: {e}", path.display()), fix),
    }
}

async fn center_doctor(args: &CenterArgs) -> Vec<Check> {
    let timeout = Duration::from_secs_f64(args.timeout);
    let (config, settings) = center_config_check(args.config.as_deref());
    let mut checks = vec![config];
    let database = database_check(&args.database, timeout).await;
    checks.push(database);
    let blobs = settings
        .as_ref()
        .map(|s| s.blobs.clone())
        .unwrap_or_default();
    checks.push(blob_check(&blobs, &args.blob_dir, timeout).await);
    checks.push(popsys_check(&args.popsys, timeout).await);
    let gateway = settings.and_then(|s| s.config.sms.gateway);
    checks.push(sms_check(gateway.as_ref(), timeout).await);
    let folder = args
        .database
        .strip_prefix("sqlite://")
        .map(|file| {
            Path::new(file)
                .parent()
                .unwrap_or(Path::new("."))
                .to_path_buf()
        })
        .unwrap_or_else(|| args.blob_dir.clone());
    checks.push(disk_check(&folder, args.min_free_mib));
    checks
}

fn center_config_check(file: Option<&Path>) -> (Check, Option<center::config::CenterSettings>) {
    let Some(file) = file else {
        return (
            Check::fail(
                "config",
                "no file",
                "give --config the bureau's file (e.g. /etc/idkiosk/center.toml)",
            ),
            None,
        );
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            return (
                Check::fail(
                    "config",
                    format!("cannot read {}: {e}", file.display()),
                    "give --config the bureau's file (e.g. /etc/idkiosk/center.toml)",
                ),
                None,
            )
        }
    };
    match crate::config::load_text(Kind::Center, &text, std::env::vars()) {
        Ok(loaded) => (
            Check::pass("config", format!("{} checks", file.display())),
            loaded.center(),
        ),
        Err(crate::config::Invalid(lines)) => (
            Check::fail(
                "config",
                format!("{}: {}", file.display(), lines.join("; ")),
                "correct the fields named (idkiosk config check FILE; docs/configuration.md)",
            ),
            None,
        ),
    }
}

/// SQLite: the file is there and opens read-write; PostgreSQL: its port answers. Then the schema's
/// version, read without changing anything ([`store::inspect_schema`]): a newer one than this
/// binary knows fails (the center would refuse to start); pending migrations pass (the center
/// runs them at its next start).
async fn database_check(url: &str, timeout: Duration) -> Check {
    let reached = database_reached(url, timeout).await;
    if !reached.ok {
        return reached;
    }
    match tokio::time::timeout(timeout, store::inspect_schema(url)).await {
        Err(_) => Check::fail(
            "database",
            format!("{}, but reading its schema timed out", reached.found),
            "check the database's load and --database's credentials",
        ),
        Ok(Err(e)) => Check::fail(
            "database",
            format!("{}, but: {e}", reached.found),
            "check --database's user, password and database name",
        ),
        Ok(Ok(schema)) if schema.database > schema.binary => Check::fail(
            "database",
            format!(
                "{}; its schema is at migration {}, newer than this idkiosk knows (up to {})",
                reached.found, schema.database, schema.binary
            ),
            "run the newer idkiosk that upgraded it, or restore the backup taken before the \
             upgrade",
        ),
        Ok(Ok(schema)) if schema.pending > 0 => Check::pass(
            "database",
            format!(
                "{}; schema at migration {}, {} migration(s) to run at the center's next start",
                reached.found, schema.database, schema.pending
            ),
        ),
        Ok(Ok(schema)) => Check::pass(
            "database",
            format!(
                "{}; schema current (migration {})",
                reached.found, schema.database
            ),
        ),
    }
}

/// The database's file opens, or its server's port answers.
async fn database_reached(url: &str, timeout: Duration) -> Check {
    if let Some(file) = url.strip_prefix("sqlite://") {
        let file = file.split('?').next().unwrap_or(file);
        return match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(file)
        {
            Ok(f) => {
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                Check::pass(
                    "database",
                    format!("SQLite {file} opens read-write ({} KiB)", size / 1024),
                )
            }
            Err(e) => Check::fail(
                "database",
                format!("SQLite {file}: {e}"),
                "check --database and the folder's owner (the center creates the file at its \
                 first start)",
            ),
        };
    }
    let fix = "start PostgreSQL (or check HAProxy in front of Patroni, docs/center.md) and \
               check --database";
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Check::fail(
            "database",
            "the URL does not parse",
            "--database takes sqlite://FILE or postgres://USER@HOST:PORT/DB",
        );
    };
    let host = parsed.host_str().unwrap_or("localhost").to_owned();
    let port = parsed.port().unwrap_or(5432);
    match tcp_check(&host, port, timeout).await {
        Ok(()) => Check::pass(
            "database",
            format!("PostgreSQL at {host}:{port} accepts connections"),
        ),
        Err(e) => Check::fail("database", format!("PostgreSQL at {host}:{port}: {e}"), fix),
    }
}

async fn tcp_check(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

async fn blob_check(
    backend: &center::blobs::BlobBackend,
    blob_dir: &Path,
    timeout: Duration,
) -> Check {
    match backend {
        center::blobs::BlobBackend::Local => {
            let probe = blob_dir.join(".idkiosk-doctor");
            match std::fs::write(&probe, b"") {
                Ok(()) => {
                    let _ = std::fs::remove_file(&probe);
                    Check::pass("blobs", format!("{} is writable", blob_dir.display()))
                }
                Err(e) => Check::fail(
                    "blobs",
                    format!("{} is not writable: {e}", blob_dir.display()),
                    "check --blob-dir and its owner (the center's user)",
                ),
            }
        }
        // As the center does at start: its key (the credentials file's mode checked), then a
        // signed listing of the bucket, so a refused key or a missing bucket fails here too.
        center::blobs::BlobBackend::S3(s3) => {
            let where_ = format!("S3 bucket {} at {}", s3.bucket, s3.endpoint);
            let listed = async {
                let key = center::blobs::S3Credentials::resolve(s3, |n| std::env::var(n).ok())?;
                let store = center::blobs::s3_object_store(s3, &key)?;
                let listing = center::blobs::migrate::check_target(store.as_ref(), &where_);
                tokio::time::timeout(timeout, listing)
                    .await
                    .map_err(|_| anyhow::anyhow!("{where_} did not answer within {timeout:?}"))?
            }
            .await;
            match listed {
                Ok(()) => Check::pass("blobs", format!("{where_} lists with the center's key")),
                Err(e) => Check::fail(
                    "blobs",
                    format!("{e:#}"),
                    "check [center.blobs] (endpoint, bucket), the key (credentials_file or \
                     AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and the object store",
                ),
            }
        }
    }
}

async fn popsys_check(base: &str, timeout: Duration) -> Check {
    let url = format!("{}/health", base.trim_end_matches('/'));
    let fix = "start the population system's adapter (idkiosk-popsys.service) or check --popsys";
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(e) => return Check::fail("popsys", e.to_string(), fix),
    };
    match client.get(&url).send().await {
        Ok(answer) if answer.status().is_success() => {
            Check::pass("popsys", format!("{url} answers {}", answer.status()))
        }
        Ok(answer) => Check::fail(
            "popsys",
            format!("{url} answers {}", answer.status()),
            "the population system is up but not ready (its database): see its log",
        ),
        Err(e) => Check::fail("popsys", format!("{url}: {}", error_chain(&e)), fix),
    }
}

async fn sms_check(gateway: Option<&center::config::SmsGateway>, timeout: Duration) -> Check {
    let Some(gateway) = gateway else {
        return Check::pass(
            "sms",
            "no gateway configured ([center.sms.gateway]): notices stay pending",
        );
    };
    let (host, port) = match gateway
        .address
        .rsplit_once(':')
        .map(|(h, p)| (h, p.parse()))
    {
        Some((host, Ok(port))) => (host.to_owned(), port),
        _ => {
            return Check::fail(
                "sms",
                format!("gateway address {:?} is not host:port", gateway.address),
                "correct [center.sms.gateway] address",
            )
        }
    };
    match tcp_check(&host, port, timeout).await {
        Ok(()) => Check::pass(
            "sms",
            format!("SMPP gateway {} accepts connections", gateway.address),
        ),
        Err(e) => Check::fail(
            "sms",
            format!("SMPP gateway {}: {e}", gateway.address),
            "check the network to the SMS center and [center.sms.gateway] address",
        ),
    }
}

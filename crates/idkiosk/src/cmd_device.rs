//! `idkiosk device …`: operators' tools that talk to a device on a serial port and print JSON.
//!
//! Exit 0 with the result on stdout; exit 1 with `{"error":…}` on stdout when the device fails
//! or says no (naming the card reader's SW3 status, the fingerprint module's confirmation code,
//! the POS response code); exit 2 for bad usage.

use crate::outcome::Outcome;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use devices::barcode::{BarcodeScanner, SerialBarcodeConfig, SerialBarcodeScanner};
use devices::card_reader::{
    CardJson, CardReader, Command, SerialCardReader, SerialCardReaderConfig,
};
use devices::fingerprint::{
    FingerprintScanner, SerialFingerprintConfig, SerialFingerprintScanner, HEIGHT, WIDTH,
};
use devices::grey_png::grey_png;
use devices::pos::ResponseJson;
use devices::pos::{PosError, PosTerminal, SerialPosConfig, SerialPosTerminal};
use devices::printer::{IppPrinter, IppPrinterConfig, JobOutcome, Printer, PrinterError};
use devices::protocol::barcode::{ReceiptCode, Terminator};
use serde_json::{json, Value};

/// Arguments of `idkiosk device`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DeviceCommand,
}

#[derive(clap::Subcommand)]
enum DeviceCommand {
    /// Read the ID card on a SAM_V reader and print it as JSON
    ReadCard(ReadCardArgs),
    /// Wait for a barcode and print it
    ScanBarcode(ScanBarcodeArgs),
    /// Capture a finger and write the image as PNG
    Fingerprint(FingerprintArgs),
    /// Ask a MIS-POS terminal for a purchase and print its response
    PosPurchase(PosPurchaseArgs),
    /// Print a PDF on an IPP printer (a CUPS queue) and follow the job to its end
    Print(PrintArgs),
}

/// Options every device command takes.
#[derive(clap::Args)]
struct Port {
    /// The device's serial port (or a simulator's port)
    #[arg(long, value_name = "PATH")]
    port: PathBuf,
    /// How long to keep reopening a port that is missing or went away
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    reconnect: f64,
}

#[derive(clap::Args)]
struct ReadCardArgs {
    #[command(flatten)]
    port: Port,
    /// How long to wait for a card to be placed
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    wait: f64,
    /// Read text and photo only (`30 01`) instead of text, photo and fingerprints (`30 10`)
    #[arg(long)]
    no_fingerprint: bool,
}

#[derive(clap::Args)]
struct ScanBarcodeArgs {
    #[command(flatten)]
    port: Port,
    /// How long to wait for a code
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    wait: f64,
    /// What ends each code (the scanner's setting)
    #[arg(long, value_enum, default_value = "cr")]
    terminator: TerminatorArg,
    /// Baud rate
    #[arg(long, default_value_t = 9600)]
    baud: u32,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TerminatorArg {
    Cr,
    Lf,
    Crlf,
    Tab,
}

#[derive(clap::Args)]
struct FingerprintArgs {
    #[command(flatten)]
    port: Port,
    /// Where to write the image (PNG, 256 x 288 grey)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// How long to wait for a finger
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    wait: f64,
}

#[derive(clap::Args)]
struct PosPurchaseArgs {
    #[command(flatten)]
    port: Port,
    /// Amount in fen (2000 is 20 yuan)
    #[arg(long, value_name = "FEN")]
    amount_fen: u64,
    /// Memo sent with the request
    #[arg(long, default_value = "")]
    memo: String,
    /// How long to wait for the response once the terminal has the request
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    timeout: f64,
}

#[derive(clap::Args)]
struct PrintArgs {
    /// The PDF to print
    #[arg(value_name = "FILE.pdf")]
    file: PathBuf,
    /// The printer's IPP URI, e.g. ipp://127.0.0.1:631/printers/PDF
    #[arg(long, value_name = "URI")]
    printer: String,
    /// The job's title (default: the file name)
    #[arg(long)]
    title: Option<String>,
    /// The job's requesting user name
    #[arg(long, default_value = "idkiosk")]
    user: String,
    /// How long to wait for the job to complete
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    wait: f64,
}

/// Runs `idkiosk device`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let outcome = match args.command {
        DeviceCommand::ReadCard(a) => read_card(a).await,
        DeviceCommand::ScanBarcode(a) => scan_barcode(a).await,
        DeviceCommand::Fingerprint(a) => fingerprint(a).await,
        DeviceCommand::PosPurchase(a) => pos_purchase(a).await,
        DeviceCommand::Print(a) => print(a).await,
    };
    match outcome {
        Ok(Answer::Done(body)) => {
            println!("{body}");
            Ok(Outcome::Success)
        }
        Ok(Answer::Failed(body)) => {
            println!("{body}");
            Ok(Outcome::Negative)
        }
        Ok(Answer::Usage(message)) => {
            eprintln!("error: {message}");
            Ok(Outcome::Usage)
        }
        Err(e) => Err(e),
    }
}

/// What a device command answers; the outcome (and so the exit code) follows from it. JSON is kept as text so that
/// fields print in the order of the structs (a `Value` would sort them).
enum Answer {
    Done(String),
    Failed(String),
    Usage(String),
}

fn done(body: &impl serde::Serialize) -> anyhow::Result<Answer> {
    Ok(Answer::Done(serde_json::to_string(body)?))
}

fn failed(body: Value) -> anyhow::Result<Answer> {
    Ok(Answer::Failed(body.to_string()))
}

fn seconds(name: &str, secs: f64) -> Result<Duration, Answer> {
    Duration::try_from_secs_f64(secs)
        .map_err(|_| Answer::Usage(format!("--{name} must be a non-negative number of seconds")))
}

macro_rules! try_usage {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(answer) => return Ok(answer),
        }
    };
}

async fn read_card(args: ReadCardArgs) -> anyhow::Result<Answer> {
    let mut config = SerialCardReaderConfig::new(&args.port.port);
    config.client.no_card_after = try_usage!(seconds("wait", args.wait));
    config.line.reconnect.give_up_after = try_usage!(seconds("reconnect", args.port.reconnect));
    if args.no_fingerprint {
        config.client.read_command = Command::ReadTextPhoto;
    }
    let reader = SerialCardReader::new(config);
    match reader.read_card().await {
        Ok(card) => done(&CardJson::from_card(&card)),
        Err(e) => failed(match e.status() {
            Some(status) => json!({
                "error": e.summary(),
                "status": format!("{:02X}", status.code()),
            }),
            None => json!({ "error": e.to_string() }),
        }),
    }
}

async fn scan_barcode(args: ScanBarcodeArgs) -> anyhow::Result<Answer> {
    let mut config = SerialBarcodeConfig::new(&args.port.port);
    config.line.baud = args.baud;
    config.line.reconnect.give_up_after = try_usage!(seconds("reconnect", args.port.reconnect));
    config.wait = try_usage!(seconds("wait", args.wait));
    config.terminator = match args.terminator {
        TerminatorArg::Cr => Terminator::Cr,
        TerminatorArg::Lf => Terminator::Lf,
        TerminatorArg::Crlf => Terminator::CrLf,
        TerminatorArg::Tab => Terminator::Tab,
    };
    let scanner = SerialBarcodeScanner::new(config);
    match scanner.scan().await {
        Ok(code) => done(&json!({
            "code": code,
            "receipt_code": ReceiptCode::parse(&code).is_ok(),
        })),
        Err(e) => failed(json!({ "error": e.to_string() })),
    }
}

async fn fingerprint(args: FingerprintArgs) -> anyhow::Result<Answer> {
    let mut config = SerialFingerprintConfig::new(&args.port.port);
    config.line.reconnect.give_up_after = try_usage!(seconds("reconnect", args.port.reconnect));
    config.client.no_finger_after = try_usage!(seconds("wait", args.wait));
    let scanner = SerialFingerprintScanner::new(config);
    match scanner.capture().await {
        Ok(image) => {
            let (width, height) = (WIDTH as u32, HEIGHT as u32);
            let png = grey_png(width, height, image.pixels()).context("encoding the image")?;
            std::fs::write(&args.out, &png)
                .with_context(|| format!("writing {}", args.out.display()))?;
            done(&json!({
                "out": args.out,
                "width": width,
                "height": height,
                "png_bytes": png.len(),
            }))
        }
        Err(e) => failed(match e.code() {
            Some(code) => json!({
                "error": e.summary(),
                "code": format!("{:02X}", code.code()),
            }),
            None => json!({ "error": e.to_string() }),
        }),
    }
}

async fn pos_purchase(args: PosPurchaseArgs) -> anyhow::Result<Answer> {
    let mut config = SerialPosConfig::new(&args.port.port);
    config.line.reconnect.give_up_after = try_usage!(seconds("reconnect", args.port.reconnect));
    config.link.response_timeout = try_usage!(seconds("timeout", args.timeout));
    let terminal = SerialPosTerminal::new(config);
    match terminal.purchase(args.amount_fen, &args.memo).await {
        Ok(response) if response.is_approved() => done(&ResponseJson::from(&response)),
        Ok(response) => failed(json!({
            "error": "declined",
            "code": response.code,
            "message": response.message,
        })),
        Err(e @ PosError::Request(_)) => Ok(Answer::Usage(e.to_string())),
        Err(e) => failed(json!({ "error": e.to_string() })),
    }
}

async fn print(args: PrintArgs) -> anyhow::Result<Answer> {
    let mut config = IppPrinterConfig::new(&args.printer);
    config.user_name = args.user;
    config.job_timeout = try_usage!(seconds("wait", args.wait));
    let printer = match IppPrinter::new(config) {
        Ok(p) => p,
        Err(e) => return Ok(Answer::Usage(e.to_string())),
    };
    let pdf =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    if !pdf.starts_with(b"%PDF-") {
        return Ok(Answer::Usage(format!(
            "{} is not a PDF",
            args.file.display()
        )));
    }
    let title = args.title.unwrap_or_else(|| {
        args.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "document".to_owned())
    });
    match printer.print_pdf(pdf, &title).await {
        Ok(job) if job.state == JobOutcome::Completed => done(&job),
        Ok(job) => failed(json!({
            "error": format!("job {} {}", job.job_id, json!(job.state).as_str().unwrap_or("")),
            "job_id": job.job_id,
            "state": job.state,
            "job_state_reasons": job.job_state_reasons,
            "printer_state_reasons": job.printer_state_reasons,
        })),
        Err(e) => {
            let status = printer.status().await.ok();
            failed(json!({
                "error": e.to_string(),
                "state": match &e {
                    PrinterError::JobTimeout { state, .. } => Some(*state),
                    _ => None,
                },
                "printer_state_reasons": status.as_ref().map(|s| s.reasons.clone()),
                "health": printer.health(),
            }))
        }
    }
}

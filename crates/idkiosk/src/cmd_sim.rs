//! `idkiosk sim <device>`: runs a device simulator on a pseudo terminal until SIGINT or SIGTERM.
//!
//! Prints one JSON line on stdout once the port is ready: the stable port path to give a driver,
//! the current pty, and the control API's URL (see docs/devices.md). `idkiosk sim smsc` is the
//! SMS center the notices go to: SMPP 3.4 on TCP instead of a pty.

use crate::outcome::Outcome;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use devices::card_reader::CardJson;
use devices::protocol::barcode::Terminator;
use devices::protocol::pos::LinkConfig;
use devices::sim::barcode::{start_barcode, BarcodeSim};
use devices::sim::camera::{
    load_folder, load_image, no_face_jpeg, start_camera, CameraSimConfig, CitizenImages,
};
use devices::sim::card_reader::{start_card_reader, CardReaderSim, CardReaderSimConfig};
use devices::sim::fingerprint::{start_fingerprint, FingerState, FingerprintSim};
use devices::sim::pos::{start_pos, Decision, PosSim};
use devices::sim::{SimConfig, SimDevice, SimHandle};
use serde_json::json;
use sms::sim::{start_smsc, SmscSimConfig};

use crate::clock;

/// Arguments of `idkiosk sim`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    device: Device,
}

#[derive(clap::Subcommand)]
enum Device {
    /// Second-generation ID card reader (SAM_V, 115200 baud)
    CardReader(CardReaderArgs),
    /// Optical fingerprint module (R30x packets, 57600 baud)
    Fingerprint(FingerprintArgs),
    /// Barcode scanner (one code per line, 9600 baud)
    Barcode(BarcodeArgs),
    /// UnionPay MIS-POS terminal (STX/LEN/ETX/LRC frames, 9600 baud)
    Pos(PosArgs),
    /// IP camera: MJPEG over HTTP on loopback, from one image or a folder of JPEGs
    Camera(CameraArgs),
    /// SMS center: SMPP 3.4 on TCP, listing the messages it received on its control API
    Smsc(SmscArgs),
}

#[derive(clap::Args)]
struct SmscArgs {
    /// Where to speak SMPP
    #[arg(
        long,
        value_name = "ADDR",
        env = "IDKIOSK_SMSC_LISTEN",
        default_value = "127.0.0.1:2775"
    )]
    listen: SocketAddr,
    /// Control API address (loopback)
    #[arg(
        long,
        value_name = "ADDR",
        env = "IDKIOSK_SMSC_CONTROL",
        default_value = "127.0.0.1:0"
    )]
    control: SocketAddr,
    /// The system_id a bind must give (at most 15 characters)
    #[arg(long, env = "IDKIOSK_SMSC_SYSTEM_ID", default_value = "idkiosk")]
    system_id: String,
    /// The password a bind must give (at most 8 characters)
    #[arg(
        long,
        env = "IDKIOSK_SMSC_PASSWORD",
        hide_env_values = true,
        default_value = "secret"
    )]
    password: String,
}

#[derive(clap::Args)]
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .args(["image", "folder", "citizen", "no_face"])
))]
struct CameraArgs {
    /// Serve this JPEG again and again
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
    /// Serve the folder's .jpg/.jpeg files in name order, looping
    #[arg(long, value_name = "DIR")]
    folder: Option<PathBuf>,
    /// Serve a popsys demo citizen's camera picture (popsys::seed::demo::camera_image)
    #[arg(long, value_name = "ID")]
    citizen: Option<String>,
    /// Serve an empty backdrop (no face)
    #[arg(long)]
    no_face: bool,
    /// Frames per second
    #[arg(long, default_value_t = 10.0)]
    fps: f64,
    /// Where to listen (loopback)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[derive(clap::Args)]
struct FingerprintArgs {
    #[command(flatten)]
    common: Common,
    /// Start with a finger on the sensor (other: another finger than --seed)
    #[arg(long, value_enum, default_value = "none")]
    finger: FingerArg,
    /// Which synthetic finger (biometrics generator's finger number)
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FingerArg {
    None,
    Good,
    Smudged,
    Partial,
    Blank,
    Other,
}

#[derive(clap::Args)]
struct BarcodeArgs {
    #[command(flatten)]
    common: Common,
    /// What ends each code
    #[arg(long, value_enum, default_value = "cr")]
    terminator: TerminatorArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TerminatorArg {
    Cr,
    Lf,
    Crlf,
    Tab,
}

impl From<TerminatorArg> for Terminator {
    fn from(t: TerminatorArg) -> Terminator {
        match t {
            TerminatorArg::Cr => Terminator::Cr,
            TerminatorArg::Lf => Terminator::Lf,
            TerminatorArg::Crlf => Terminator::CrLf,
            TerminatorArg::Tab => Terminator::Tab,
        }
    }
}

#[derive(clap::Args)]
struct PosArgs {
    #[command(flatten)]
    common: Common,
    /// Start with this bank card inserted
    #[arg(long, value_name = "NUMBER")]
    bank_card: Option<String>,
    /// Decline every purchase with this response code (e.g. 51)
    #[arg(long, value_name = "CODE")]
    decline: Option<String>,
    /// Time the acquirer takes to authorise once the card is in
    #[arg(long, value_name = "MS", default_value_t = 300)]
    authorisation_ms: u64,
}

/// Options every simulator takes.
#[derive(clap::Args)]
struct Common {
    /// Publish the pty under this path [default: /tmp/idkiosk-sim/<device>]
    #[arg(long, value_name = "PATH")]
    link: Option<PathBuf>,
    /// Do not publish a link; the port is the pty itself (it changes when the line is dropped)
    #[arg(long, conflicts_with = "link")]
    no_link: bool,
    /// Control API address (loopback)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    control: SocketAddr,
    /// Send at pty speed instead of pacing output to the device's baud rate
    #[arg(long)]
    unpaced: bool,
}

impl Common {
    fn config(&self, device: &str, baud: u32) -> SimConfig {
        let link = if self.no_link {
            None
        } else {
            Some(
                self.link
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/tmp/idkiosk-sim").join(device)),
            )
        };
        SimConfig {
            link,
            baud: (!self.unpaced).then_some(baud),
            control: self.control,
        }
    }
}

#[derive(clap::Args)]
struct CardReaderArgs {
    #[command(flatten)]
    common: Common,
    /// Start with the demo card of this citizen ID number in the field
    #[arg(long, value_name = "ID", conflicts_with = "card")]
    citizen: Option<String>,
    /// Start with this card (JSON, as `idkiosk device read-card` prints it) in the field
    #[arg(long, value_name = "FILE")]
    card: Option<PathBuf>,
    /// Time the reader takes to answer find card
    #[arg(long, value_name = "MS", default_value_t = 30)]
    find_delay_ms: u64,
    /// Time the reader takes to answer select card
    #[arg(long, value_name = "MS", default_value_t = 30)]
    select_delay_ms: u64,
    /// Time the reader works on a read before its answer goes on the line
    #[arg(long, value_name = "MS", default_value_t = 400)]
    read_delay_ms: u64,
}

/// Runs `idkiosk sim`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.device {
        Device::CardReader(a) => card_reader(a).await,
        Device::Fingerprint(a) => fingerprint(a).await,
        Device::Barcode(a) => barcode(a).await,
        Device::Pos(a) => pos(a).await,
        Device::Camera(a) => camera(a).await,
        Device::Smsc(a) => smsc(a).await,
    }
}

async fn smsc(args: SmscArgs) -> anyhow::Result<Outcome> {
    if args.system_id.len() > 15 || args.password.len() > 8 {
        eprintln!(
            "error: --system-id takes at most 15 characters, --password at most 8 (SMPP 3.4)"
        );
        return Ok(Outcome::Usage);
    }
    let handle = start_smsc(SmscSimConfig {
        listen: args.listen,
        control: args.control,
        system_id: args.system_id.clone(),
        password: args.password,
    })
    .await
    .with_context(|| format!("starting the SMSC simulator on {}", args.listen))?;
    println!(
        "{}",
        json!({
            "device": "smsc",
            "smpp": handle.smpp_addr().to_string(),
            "control": handle.control_url(),
            "system_id": args.system_id,
        })
    );
    crate::shutdown::signal().await;
    handle.shutdown().await;
    Ok(Outcome::Success)
}

async fn camera(args: CameraArgs) -> anyhow::Result<Outcome> {
    let frames = if let Some(image) = &args.image {
        load_image(image).map(|f| vec![f])
    } else if let Some(folder) = &args.folder {
        load_folder(folder)
    } else if let Some(id) = &args.citizen {
        match popsys::seed::demo::camera_frame(id) {
            Some(path) => load_image(&path).map(|f| vec![f]),
            None => {
                eprintln!(
                    "error: --citizen {id}: no camera picture (not a demo citizen with a face, \
                     or the demo faces are missing: run scripts/setup/20-face.sh)"
                );
                return Ok(Outcome::Usage);
            }
        }
    } else {
        Ok(vec![no_face_jpeg()])
    };
    let frames = match frames {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Outcome::Usage);
        }
    };
    if !(args.fps > 0.0 && args.fps <= 1000.0) {
        eprintln!("error: --fps must be in (0, 1000]");
        return Ok(Outcome::Usage);
    }
    let count = frames.len();
    let handle = start_camera(
        frames,
        CameraSimConfig {
            listen: args.listen,
            fps: args.fps,
            citizen_images: Some(CitizenImages(std::sync::Arc::new(
                popsys::seed::demo::camera_frame,
            ))),
        },
    )
    .await
    .context("starting the camera simulator")?;
    println!(
        "{}",
        json!({
            "device": "camera",
            "stream": handle.stream_url(),
            "snapshot": handle.snapshot_url(),
            "control": handle.control_url(),
            "frames": count,
            "fps": args.fps,
        })
    );
    crate::shutdown::signal().await;
    handle.shutdown().await;
    Ok(Outcome::Success)
}

async fn fingerprint(args: FingerprintArgs) -> anyhow::Result<Outcome> {
    let mut sim = FingerprintSim::default();
    let finger = match args.finger {
        FingerArg::None => FingerState::None,
        FingerArg::Good => FingerState::Good,
        FingerArg::Smudged => FingerState::Smudged,
        FingerArg::Partial => FingerState::Partial,
        FingerArg::Blank => FingerState::Blank,
        FingerArg::Other => FingerState::Other,
    };
    if let Err(e) = sim.press(finger, args.seed) {
        eprintln!("error: --finger {e}");
        return Ok(Outcome::Usage);
    }
    let handle = start_fingerprint(sim, args.common.config("fingerprint", 57_600))
        .await
        .context("starting the fingerprint simulator")?;
    serve(handle, 57_600).await
}

async fn barcode(args: BarcodeArgs) -> anyhow::Result<Outcome> {
    let sim = BarcodeSim::new(args.terminator.into());
    let handle = start_barcode(sim, args.common.config("barcode", 9600))
        .await
        .context("starting the barcode simulator")?;
    serve(handle, 9600).await
}

async fn pos(args: PosArgs) -> anyhow::Result<Outcome> {
    let mut sim = PosSim::new(
        LinkConfig::default(),
        Duration::from_millis(args.authorisation_ms),
    );
    if let Some(number) = &args.bank_card {
        if let Err(e) = sim.insert_card(number, devices::protocol::Millis::ZERO) {
            eprintln!("error: --bank-card {e}");
            return Ok(Outcome::Usage);
        }
    }
    if let Some(code) = &args.decline {
        if code.len() != 2 || !code.is_ascii() {
            eprintln!("error: --decline takes a two-character response code");
            return Ok(Outcome::Usage);
        }
        sim.decide(Decision {
            approve: false,
            code: Some(code.clone()),
            message: None,
        });
    }
    let handle = start_pos(sim, args.common.config("pos", 9600))
        .await
        .context("starting the POS simulator")?;
    serve(handle, 9600).await
}

async fn card_reader(args: CardReaderArgs) -> anyhow::Result<Outcome> {
    let mut config = CardReaderSimConfig::new(clock::today()?);
    config.device.find_delay = Duration::from_millis(args.find_delay_ms);
    config.device.select_delay = Duration::from_millis(args.select_delay_ms);
    config.device.read_delay = Duration::from_millis(args.read_delay_ms);
    let mut sim = CardReaderSim::new(config);
    if let Some(id) = &args.citizen {
        // A fixed popsys demo citizen carries the card the population system knows (name,
        // address, validity); any other valid number gets a card derived from the number.
        let placed = match crate::cmd_demo::demo::citizens::card(id) {
            Some(card) => sim.place(card).map(|_| ()),
            None => sim.place_citizen(id).map(|_| ()),
        };
        if let Err(e) = placed {
            eprintln!("error: --citizen {e}");
            return Ok(Outcome::Usage);
        }
    }
    if let Some(path) = &args.card {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let card: CardJson = match serde_json::from_str(&text) {
            Ok(card) => card,
            Err(e) => {
                eprintln!("error: --card {}: {e}", path.display());
                return Ok(Outcome::Usage);
            }
        };
        if let Err(e) = sim.place(card) {
            eprintln!("error: --card {}: {e}", path.display());
            return Ok(Outcome::Usage);
        }
    }
    let handle = start_card_reader(sim, args.common.config("card-reader", 115_200))
        .await
        .context("starting the card reader simulator")?;
    serve(handle, 115_200).await
}

/// Announces the simulator on stdout and runs it until SIGINT or SIGTERM.
async fn serve<D: SimDevice>(handle: SimHandle<D>, baud: u32) -> anyhow::Result<Outcome> {
    let status = handle.status();
    println!(
        "{}",
        json!({
            "device": status.device,
            "port": status.port,
            "pty": status.pty,
            "control": handle.control_url(),
            "baud": baud,
        })
    );
    crate::shutdown::signal().await;
    handle.shutdown().await;
    Ok(Outcome::Success)
}

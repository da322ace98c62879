//! The demo's device simulators, in process: card reader, barcode scanner, fingerprint module and
//! POS terminal on pseudo terminals published under `DATA_DIR/dev/<name>` (stable paths for the
//! kiosk agent), each with its loopback control API, and the MJPEG camera.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use devices::protocol::barcode::Terminator;
use devices::protocol::pos::LinkConfig;
use devices::sim::barcode::{start_barcode, BarcodeSim};
use devices::sim::camera::CameraSimHandle;
use devices::sim::card_reader::{start_card_reader, CardReaderSim, CardReaderSimConfig};
use devices::sim::fingerprint::{start_fingerprint, FingerprintSim};
use devices::sim::pos::{start_pos, PosSim};
use devices::sim::{SimConfig, SimHandle};
use serde::Serialize;

/// The running simulators.
pub struct Devices {
    /// Second-generation ID card reader.
    pub card_reader: SimHandle<CardReaderSim>,
    /// Barcode scanner.
    pub barcode: SimHandle<BarcodeSim>,
    /// Fingerprint module.
    pub fingerprint: SimHandle<FingerprintSim>,
    /// UnionPay MIS-POS terminal.
    pub pos: SimHandle<PosSim>,
    /// IP camera.
    pub camera: CameraSimHandle,
}

/// One serial simulator's addresses.
#[derive(Debug, Clone, Serialize)]
pub struct SerialDevice {
    /// The stable port path the agent opens.
    pub port: PathBuf,
    /// The control API's base URL.
    pub control: String,
}

/// Every device's addresses, as the panel's status reports them.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceUrls {
    /// Card reader.
    pub card_reader: SerialDevice,
    /// Barcode scanner.
    pub barcode: SerialDevice,
    /// Fingerprint module.
    pub fingerprint: SerialDevice,
    /// POS terminal.
    pub pos: SerialDevice,
    /// Camera: `stream`, `snapshot`, `control`.
    pub camera: CameraUrls,
}

/// The camera's URLs.
#[derive(Debug, Clone, Serialize)]
pub struct CameraUrls {
    /// MJPEG stream (what the agent reads).
    pub stream: String,
    /// One JPEG.
    pub snapshot: String,
    /// Control API (`POST /show`).
    pub control: String,
}

fn config(dev_dir: &Path, name: &str, baud: u32, paced: bool) -> SimConfig {
    SimConfig {
        link: Some(dev_dir.join(name)),
        // Paced: bytes leave at the device's baud rate, as from hardware (a fingerprint image takes
        // 6.4 s at 57600 baud); unpaced: as fast as the pseudo terminal goes (benchmarks).
        baud: paced.then_some(baud),
        control: SocketAddr::from(([127, 0, 0, 1], 0)),
    }
}

/// Starts every simulator: serial ports under `dev_dir`, the camera on `camera_listen`; `paced`
/// sends at each device's baud rate, `paced_fingerprint` the fingerprint module's.
pub async fn start(
    dev_dir: &Path,
    today: time::Date,
    camera_listen: SocketAddr,
    paced: bool,
    paced_fingerprint: bool,
) -> anyhow::Result<Devices> {
    std::fs::create_dir_all(dev_dir).with_context(|| format!("creating {}", dev_dir.display()))?;
    let card_reader = start_card_reader(
        CardReaderSim::new(CardReaderSimConfig::new(today)),
        config(dev_dir, "card-reader", 115_200, paced),
    )
    .await
    .context("starting the card reader simulator")?;
    let barcode = start_barcode(
        BarcodeSim::new(Terminator::Cr),
        config(dev_dir, "barcode", 9600, paced),
    )
    .await
    .context("starting the barcode simulator")?;
    let fingerprint = start_fingerprint(
        FingerprintSim::default(),
        config(dev_dir, "fingerprint", 57_600, paced_fingerprint),
    )
    .await
    .context("starting the fingerprint simulator")?;
    let pos = start_pos(
        PosSim::new(LinkConfig::default(), Duration::from_millis(300)),
        config(dev_dir, "pos", 9600, paced),
    )
    .await
    .context("starting the POS simulator")?;
    let camera = super::camera::start(camera_listen).await?;
    Ok(Devices {
        card_reader,
        barcode,
        fingerprint,
        pos,
        camera,
    })
}

impl Devices {
    /// Every device's addresses.
    pub fn urls(&self) -> DeviceUrls {
        DeviceUrls {
            card_reader: SerialDevice {
                port: self.card_reader.port().to_owned(),
                control: self.card_reader.control_url(),
            },
            barcode: SerialDevice {
                port: self.barcode.port().to_owned(),
                control: self.barcode.control_url(),
            },
            fingerprint: SerialDevice {
                port: self.fingerprint.port().to_owned(),
                control: self.fingerprint.control_url(),
            },
            pos: SerialDevice {
                port: self.pos.port().to_owned(),
                control: self.pos.control_url(),
            },
            camera: CameraUrls {
                stream: self.camera.stream_url(),
                snapshot: self.camera.snapshot_url(),
                control: self.camera.control_url(),
            },
        }
    }

    /// Stops every simulator (closes the ptys, removes the links).
    pub async fn shutdown(self) {
        self.card_reader.shutdown().await;
        self.barcode.shutdown().await;
        self.fingerprint.shutdown().await;
        self.pos.shutdown().await;
        self.camera.shutdown().await;
    }
}

//! Helpers that make a test read like a session: start a simulator, point a driver at it.

use std::path::PathBuf;
use std::time::Duration;

use devices::card_reader::{ClientConfig, SerialCardReader, SerialCardReaderConfig};
use devices::serial::{LineConfig, ReconnectPolicy};
use devices::sim::card_reader::{start_card_reader, CardReaderSim, CardReaderSimConfig};
use devices::sim::{SimConfig, SimHandle};
use time::macros::date;

/// The demo citizen of docs/domain.md section 3.
pub const CITIZEN: &str = "320104200012100044";
/// Another one, female too, born 1949.
pub const OTHER_CITIZEN: &str = "11010519491231002X";

/// A simulator config publishing its pty under a fresh temporary link.
pub fn sim_config(baud: Option<u32>) -> (tempfile::TempDir, SimConfig) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = SimConfig::new(115_200);
    config.baud = baud;
    config.link = Some(dir.path().join("port"));
    (dir, config)
}

/// A card reader simulator with short modelled delays.
pub async fn card_sim(
    citizen: Option<&str>,
    read_delay: Duration,
) -> (tempfile::TempDir, SimHandle<CardReaderSim>) {
    let mut config = CardReaderSimConfig::new(date!(2026 - 11 - 25));
    config.device.find_delay = Duration::from_millis(5);
    config.device.select_delay = Duration::from_millis(5);
    config.device.read_delay = read_delay;
    let mut sim = CardReaderSim::new(config);
    if let Some(id) = citizen {
        sim.place_citizen(id).expect("a valid demo citizen");
    }
    let (dir, config) = sim_config(Some(115_200));
    let handle = start_card_reader(sim, config)
        .await
        .expect("the simulator starts");
    (dir, handle)
}

/// Protocol timing for tests: short waits so failures show quickly.
pub fn fast_client() -> ClientConfig {
    ClientConfig {
        poll_interval: Duration::from_millis(50),
        find_timeout: Duration::from_millis(300),
        select_timeout: Duration::from_millis(300),
        read_timeout: Duration::from_millis(1100),
        max_retries: 3,
        no_card_after: Duration::from_millis(500),
        ..ClientConfig::default()
    }
}

/// A driver for the simulator's port.
pub fn card_reader(port: PathBuf, client: ClientConfig, give_up: Duration) -> SerialCardReader {
    SerialCardReader::new(SerialCardReaderConfig {
        line: LineConfig {
            path: port,
            baud: 115_200,
            reconnect: ReconnectPolicy {
                first_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(200),
                give_up_after: give_up,
            },
        },
        client,
    })
}

/// Waits until `check` holds, polling every 5 ms, for at most `limit`.
pub async fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < end,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

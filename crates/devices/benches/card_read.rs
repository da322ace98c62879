//! Card read `30 10` end to end, driver ↔ simulator over a real pty, as a ratio to the wire floor.
//!
//! A pty has no baud rate, so the simulator paces its output itself: byte `i` of an answer is
//! handed to the pty `(i + 1) × 10 / 115200` s after the answer started (8N1, see
//! `sim::transmit`). The floor is the `30 10` answer alone: 2,321 bytes × 10 bits / 115,200 bit/s
//! ≈ 0.2015 s. Two runs:
//! - the reader's own delays set to zero: what is left is the transfer (plus the find and select
//!   round trips, 11-byte answers each) and our overhead;
//! - the modelled delays of a typical reader (find 30 ms, select 30 ms, read 400 ms): the total,
//!   and the total minus those delays.
//!
//! Run with `cargo bench -p devices --bench card_read`.

use std::time::{Duration, Instant};

use devices::card_reader::{CardReader, SerialCardReader, SerialCardReaderConfig};
use devices::sim::card_reader::{start_card_reader, CardReaderSim, CardReaderSimConfig};
use devices::sim::SimConfig;

const CITIZEN: &str = "320104200012100044";
const ROUNDS: usize = 10;
const ANSWER_BYTES: f64 = 2321.0;
const BAUD: f64 = 115_200.0;

fn main() {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    let floor = ANSWER_BYTES * 10.0 / BAUD;
    println!("card read 30 10 over a pty paced at 115200 baud, {ROUNDS} rounds each");
    println!("wire floor: 2321 bytes x 10 bits / 115200 = {:.4} s", floor);
    let zero = runtime.block_on(measure(Duration::ZERO, Duration::ZERO, Duration::ZERO));
    report(
        "reader delays 0/0/0 ms (transfer)",
        &zero,
        Duration::ZERO,
        floor,
    );
    let (find, select, read) = (
        Duration::from_millis(30),
        Duration::from_millis(30),
        Duration::from_millis(400),
    );
    let modelled = runtime.block_on(measure(find, select, read));
    report(
        "reader delays find 30 / select 30 / read 400 ms",
        &modelled,
        find + select + read,
        floor,
    );
}

fn report(label: &str, times: &[Duration], delays: Duration, floor: f64) {
    if times.is_empty() {
        println!("{label}: no successful read");
        return;
    }
    let secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    let mean = secs.iter().sum::<f64>() / secs.len() as f64;
    let min = secs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = secs.iter().copied().fold(0.0, f64::max);
    let transfer = mean - delays.as_secs_f64();
    println!(
        "{label}: end to end mean {mean:.4} s (min {min:.4}, max {max:.4}); \
         minus modelled delays {:.4} s = {transfer:.4} s; ratio to the floor {:.3}x",
        delays.as_secs_f64(),
        transfer / floor
    );
}

async fn measure(find: Duration, select: Duration, read: Duration) -> Vec<Duration> {
    let mut config = CardReaderSimConfig::new(time::macros::date!(2026 - 11 - 25));
    config.device.find_delay = find;
    config.device.select_delay = select;
    config.device.read_delay = read;
    let mut sim = CardReaderSim::new(config);
    if let Err(e) = sim.place_citizen(CITIZEN) {
        eprintln!("demo card: {e}");
        return Vec::new();
    }
    let handle = match start_card_reader(sim, SimConfig::new(115_200)).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("simulator: {e}");
            return Vec::new();
        }
    };
    let reader = SerialCardReader::new(SerialCardReaderConfig::new(handle.port()));
    let mut times = Vec::with_capacity(ROUNDS);
    // One unmeasured read opens the port.
    for round in 0..=ROUNDS {
        if let Err(e) = handle.shared().with(|s, _| s.device.reseat()) {
            eprintln!("reseat: {e}");
            break;
        }
        let started = Instant::now();
        match reader.read_card().await {
            Ok(_) if round > 0 => times.push(started.elapsed()),
            Ok(_) => {}
            Err(e) => eprintln!("read {round}: {e}"),
        }
    }
    handle.shutdown().await;
    times
}

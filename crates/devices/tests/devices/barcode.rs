//! The barcode driver against the scanner simulator over a real pty.

use std::time::Duration;

use devices::barcode::{BarcodeError, BarcodeScanner, SerialBarcodeConfig, SerialBarcodeScanner};
use devices::sim::barcode::{start_barcode, BarcodeSim};
use devices::sim::SimHandle;
use protocol::barcode::Terminator;

use crate::support::sim_config;

async fn sim(terminator: Terminator) -> (tempfile::TempDir, SimHandle<BarcodeSim>) {
    let (dir, config) = sim_config(Some(9600));
    let handle = start_barcode(BarcodeSim::new(terminator), config)
        .await
        .expect("the simulator starts");
    (dir, handle)
}

fn scanner(
    sim: &SimHandle<BarcodeSim>,
    terminator: Terminator,
    wait: Duration,
) -> SerialBarcodeScanner {
    let mut config = SerialBarcodeConfig::new(sim.port());
    config.terminator = terminator;
    config.wait = wait;
    SerialBarcodeScanner::new(config)
}

#[tokio::test]
async fn a_presented_receipt_code_is_scanned() {
    let (_dir, sim) = sim(Terminator::Cr).await;
    let scanner = scanner(&sim, Terminator::Cr, Duration::from_secs(3));
    let shared = sim.shared().clone();
    let scan = tokio::spawn(async move { scanner.scan().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    shared
        .with(|s, _| s.device.present("R20261125-0042"))
        .expect("presented");
    let code = scan.await.expect("the task").expect("a code");
    assert_eq!(code, "R20261125-0042");
    assert!(protocol::barcode::ReceiptCode::parse(&code).is_ok());
}

#[tokio::test]
async fn a_garbled_scan_is_skipped_and_the_next_one_read() {
    let (_dir, sim) = sim(Terminator::CrLf).await;
    let scanner = scanner(&sim, Terminator::CrLf, Duration::from_secs(3));
    let shared = sim.shared().clone();
    let scan = tokio::spawn(async move { scanner.scan().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    shared.corrupt_next(1);
    shared
        .with(|s, _| {
            s.device.present("ABCDEFGH1234")?;
            s.device.present("GOOD-CODE-2")
        })
        .expect("presented");
    let code = scan.await.expect("the task").expect("a code");
    assert_eq!(code, "GOOD-CODE-2");
}

#[tokio::test]
async fn nothing_scanned_times_out() {
    let (_dir, sim) = sim(Terminator::Cr).await;
    let scanner = scanner(&sim, Terminator::Cr, Duration::from_millis(300));
    let err = scanner.scan().await.expect_err("nothing");
    assert!(matches!(err, BarcodeError::NoCode), "{err:?}");
}

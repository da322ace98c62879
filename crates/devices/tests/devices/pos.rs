//! The MIS-POS driver against the terminal simulator over a real pty.

use std::time::Duration;

use devices::pos::{PosError, PosTerminal, SerialPosConfig, SerialPosTerminal};
use devices::sim::pos::{start_pos, Decision, PosSim};
use devices::sim::SimHandle;
use protocol::pos::LinkConfig;

use crate::support::sim_config;

const BANK_CARD: &str = "6222021234567890123";

fn link() -> LinkConfig {
    LinkConfig {
        ack_timeout: Duration::from_millis(400),
        max_resends: 3,
        response_timeout: Duration::from_secs(5),
    }
}

async fn sim() -> (tempfile::TempDir, SimHandle<PosSim>) {
    let (dir, config) = sim_config(Some(9600));
    let handle = start_pos(PosSim::new(link(), Duration::from_millis(100)), config)
        .await
        .expect("the simulator starts");
    (dir, handle)
}

fn terminal(sim: &SimHandle<PosSim>) -> SerialPosTerminal {
    let mut config = SerialPosConfig::new(sim.port());
    config.link = link();
    SerialPosTerminal::new(config)
}

fn insert(sim: &SimHandle<PosSim>) {
    sim.shared()
        .with(|s, now| s.device.insert_card(BANK_CARD, now))
        .expect("card inserted");
}

#[tokio::test]
async fn purchase_approved() {
    let (_dir, sim) = sim().await;
    insert(&sim);
    let pos = terminal(&sim);
    let response = pos
        .purchase(2000, "expiry renewal fee")
        .await
        .expect("a response");
    assert!(response.is_approved(), "{response:?}");
    assert_eq!(response.code, "00");
    assert_eq!(response.amount_fen, 2000);
    assert_eq!(response.card_number, "622202*********0123");
    assert_eq!(response.message, "交易成功");
    assert_eq!(pos.health().state(), "ready");
}

#[tokio::test]
async fn purchase_declined() {
    let (_dir, sim) = sim().await;
    sim.shared().with(|s, _| {
        s.device.decide(Decision {
            approve: false,
            code: Some("51".to_owned()),
            message: Some("余额不足".to_owned()),
        })
    });
    insert(&sim);
    let pos = terminal(&sim);
    let response = pos.purchase(4000, "").await.expect("a response");
    assert!(!response.is_approved());
    assert_eq!(response.code, "51");
    assert_eq!(response.message, "余额不足");
    assert!(response.auth_code.is_empty());
}

#[tokio::test]
async fn the_terminal_waits_for_the_card() {
    let (_dir, sim) = sim().await;
    let pos = terminal(&sim);
    let shared = sim.shared().clone();
    let purchase = tokio::spawn(async move { pos.purchase(2000, "").await });
    crate::support::wait_until(Duration::from_secs(2), || {
        shared.with(|s, _| s.stats.bytes_in > 1000)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!purchase.is_finished(), "no card yet");
    shared
        .with(|s, now| s.device.insert_card(BANK_CARD, now))
        .expect("inserted");
    let response = purchase.await.expect("the task").expect("a response");
    assert!(response.is_approved());
}

#[tokio::test]
async fn a_corrupted_response_is_naked_and_resent() {
    let (_dir, sim) = sim().await;
    insert(&sim);
    sim.shared().corrupt_next(2);
    let pos = terminal(&sim);
    let response = pos
        .purchase(2000, "")
        .await
        .expect("a response after 2 NAKs");
    assert!(response.is_approved());
}

#[tokio::test]
async fn lost_acknowledgements_end_as_unacknowledged() {
    let (_dir, sim) = sim().await;
    insert(&sim);
    sim.shared().mute_next(10);
    let pos = terminal(&sim);
    let err = pos.purchase(2000, "").await.expect_err("no ACK");
    // The terminal's ACKs (and its response) were swallowed: the request is resent 3 times,
    // then given up. The terminal did get it, which is why the caller must query, not retry.
    assert!(matches!(err, PosError::Unacknowledged), "{err:?}");
    assert_eq!(pos.health().state(), "error");
}

#[tokio::test]
async fn an_amount_too_large_is_refused_before_sending() {
    let (_dir, sim) = sim().await;
    let pos = terminal(&sim);
    let err = pos
        .purchase(10_u64.pow(13), "")
        .await
        .expect_err("13 digits");
    assert!(matches!(err, PosError::Request(_)), "{err:?}");
    assert_eq!(sim.status().stats.bytes_in, 0);
}

#[tokio::test]
async fn an_approved_purchase_can_be_voided_once() {
    // A response frame takes 1.2 s at 9600 baud: the terminal must wait longer than that for
    // the ACK (the default 2 s does), or it resends and the next request reads the resent copy.
    let (_dir, config) = sim_config(Some(9600));
    let terminal_link = LinkConfig {
        ack_timeout: Duration::from_secs(3),
        ..link()
    };
    let sim = start_pos(
        PosSim::new(terminal_link, Duration::from_millis(100)),
        config,
    )
    .await
    .expect("the simulator starts");
    insert(&sim);
    let pos = terminal(&sim);
    let purchase = pos.purchase(2000, "fee").await.expect("a response");
    assert!(purchase.is_approved(), "{purchase:?}");
    let void = pos
        .void(&purchase, "application not recorded")
        .await
        .expect("a response");
    assert!(void.is_approved(), "{void:?}");
    assert_eq!(void.message, "撤销成功");
    assert_eq!(void.amount_fen, 2000);
    // The acquirer's settlement file lists the purchase, voided (issue 14: reconciliation).
    let file = reqwest::get(format!("{}/settlement", sim.control_url()))
        .await
        .expect("settlement")
        .text()
        .await
        .expect("a body");
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines.len(), 2, "{file}");
    assert!(lines[0].starts_with("date,time,merchant_id"));
    let fields: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(fields[6], purchase.reference, "{file}");
    assert_eq!(fields[7], purchase.auth_code);
    assert_eq!((fields[8], fields[10]), ("2000", "voided"));
    let again = pos.void(&purchase, "again").await.expect("a response");
    assert_eq!(
        again.code, "25",
        "a second void of the same voucher must be refused: {again:?}"
    );
    let mut unknown = purchase.clone();
    unknown.trace = "999999".into();
    assert_eq!(
        pos.void(&unknown, "unknown")
            .await
            .expect("a response")
            .code,
        "25"
    );
}

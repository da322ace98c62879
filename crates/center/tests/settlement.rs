//! UnionPay against the acquirer's settlement file (issue 14, item 4): the kiosk's word that a
//! POS purchase went through is checked against what the acquirer settled.

use center::payments::{CreatePaymentRequest, PosReport};
use center::settlement::{compare, parse, SettlementMismatch};
use time::macros::date;

use crate::sessions::up_to_application;
use crate::world::{new_session, world};

const HEADER: &str =
    "date,time,merchant_id,terminal_id,trace,batch,reference,auth_code,amount_fen,card,status";

fn line(reference: &str, auth: &str, fen: u64, status: &str) -> String {
    format!(
        "2026-11-25,10:40:00,898320154110001,IDK00001,000001,000001,{reference},{auth},{fen},\
         622202******1234,{status}"
    )
}

#[test]
fn a_bad_settlement_line_is_refused_naming_line_and_field() {
    let day = date!(2026 - 11 - 25);
    assert!(parse("nonsense\n", day).unwrap_err().0 == 1);
    let file = format!("{HEADER}\n{}\n", line("12345", "654321", 2000, "settled"));
    let (number, why) = parse(&file, day).unwrap_err();
    assert_eq!(number, 2);
    assert!(why.starts_with("reference"), "{why}");
    let file = format!(
        "{HEADER}\n{}\n",
        line("123456789012", "654321", 2000, "refunded")
    );
    assert!(parse(&file, day).unwrap_err().1.starts_with("status"));
    // Another day's lines are not this day's.
    let other_day =
        line("123456789012", "654321", 2000, "settled").replace("2026-11-25", "2026-11-24");
    assert!(parse(&format!("{HEADER}\n{other_day}\n"), day)
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_reported_purchase_the_acquirer_did_not_settle_is_listed() {
    let world = world().await;
    let mut sessions = Vec::new();
    // One paid UnionPay session: reference 123456789012, auth code 654321, 20 yuan.
    let sid = new_session();
    up_to_application(&world, &sid).await;
    let unionpay = CreatePaymentRequest {
        method: "unionpay".into(),
        attempt: 1,
        amount_fen: 2000,
    };
    let order = world.client.create_payment(&sid, &unionpay).await.unwrap();
    let approved = PosReport {
        approved: true,
        response_code: "00".into(),
        card_masked: Some("622202******1234".into()),
        reference: Some("123456789012".into()),
        auth_code: Some("654321".into()),
        time: Some("104000".into()),
        ..PosReport::default()
    };
    world.client.report_pos(&sid, 1, &approved).await.unwrap();
    sessions.push(sid);

    let today = world.state.today.today();
    // (the test's wall clock is not its "today": take every payment)
    let payments = world.store().payments_between(0, i64::MAX).await.unwrap();
    let settled_line = line("123456789012", "654321", 2000, "settled")
        .replace("2026-11-25", &center::wire::format_date(today));
    // Settled as reported: nothing to say.
    let file = format!("{HEADER}\n{settled_line}\n");
    let report = compare(today, &payments, &parse(&file, today).unwrap());
    assert_eq!(report.mismatches, vec![], "{report:?}");
    assert_eq!((report.settled, report.recorded), (1, 1));
    // Not in the acquirer's file: the kiosk's report is not money.
    let report = compare(
        today,
        &payments,
        &parse(&format!("{HEADER}\n"), today).unwrap(),
    );
    assert_eq!(
        report.mismatches,
        vec![SettlementMismatch::NotSettled {
            out_trade_no: order.out_trade_no.clone(),
            reference: "123456789012".into(),
        }]
    );
    // Another amount, and a settled purchase nobody recorded.
    let file = format!(
        "{HEADER}\n{}\n{}\n",
        settled_line.replace(",2000,", ",200000,"),
        line("999999999999", "111111", 4000, "settled")
            .replace("2026-11-25", &center::wire::format_date(today))
    );
    let report = compare(today, &payments, &parse(&file, today).unwrap());
    assert!(report
        .mismatches
        .contains(&SettlementMismatch::DetailsDiffer {
            out_trade_no: order.out_trade_no.clone(),
            reference: "123456789012".into(),
            recorded_fen: 2000,
            settled_fen: 200_000,
            recorded_auth_code: "654321".into(),
            settled_auth_code: "654321".into(),
        }));
    assert!(report
        .mismatches
        .contains(&SettlementMismatch::SettledWithoutPayment {
            reference: "999999999999".into(),
            amount_fen: 4000,
        }));
    world.finish().await;
}

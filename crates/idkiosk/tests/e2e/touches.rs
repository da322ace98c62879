//! Issue 15's acceptance: the touches of a renewal stay ≤ 10 on screen, digits aside. A citizen
//! renews an expiring card paid by UnionPay the shortest way the screens allow (no field tapped
//! that is already active, no optional "back to start"), and every touch of a control is counted;
//! the digits typed on the keypads and the strokes of the signature are not.

use std::time::Duration;

use popsys::seed::demo;

use crate::harness::{Kiosk, Res};
use crate::stack::{Options, Stack};

const QUICK: Duration = Duration::from_secs(15);
const SLOW: Duration = Duration::from_secs(60);
/// The bound.
const MOST_TOUCHES: usize = 10;

/// Touches `testid` (a control that leads to the next page) and counts it.
async fn touch(kiosk: &mut Kiosk, touched: &mut Vec<String>, testid: &str) -> Res<()> {
    touched.push(testid.to_owned());
    kiosk.touch(testid).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_takes_at_most_ten_touches() -> Res<()> {
    let Some(mut stack) = Stack::start("touches", Options::default()).await? else {
        return Ok(());
    };
    let id = demo::RENEWAL_IN_WINDOW;
    let mut touched = Vec::new();
    let t = &mut touched;
    let k = &mut stack.kiosk;
    k.wait_screen("welcome", QUICK).await?;
    // The start screen offers the businesses: choosing one starts the session.
    touch(k, t, "business-expiry_renewal").await?;
    k.wait_screen("household", QUICK).await?;
    touch(k, t, "household-local").await?;
    k.wait_screen("id_number", QUICK).await?;
    k.keypad(id).await?;
    touch(k, t, "id-number-confirm").await?;
    k.wait_screen("place_card", QUICK).await?;
    stack.panel.place_card(id).await?;
    let k = &mut stack.kiosk;
    k.wait_screen("confirm", SLOW).await?;
    touch(k, t, "confirm").await?;
    k.wait_screen("in_scope", SLOW).await?;
    touch(k, t, "confirm").await?;
    k.wait_screen("scan_receipt", QUICK).await?;
    stack.panel.scan_receipt_of(id).await?;
    stack.panel.camera("citizen", id).await?;
    let k = &mut stack.kiosk;
    k.wait_screen("live_photo", SLOW).await?;
    touch(k, t, "take-photo").await?;
    k.wait_screen("photo_review", SLOW).await?;
    touch(k, t, "use-photo").await?;
    k.wait_screen("mobile", SLOW).await?;
    // The first field is active; a full field passes the keypad on to the second.
    k.keypad("13912345678").await?;
    k.keypad("13912345678").await?;
    touch(k, t, "mobile-confirm").await?;
    k.wait_screen("fingerprints", QUICK).await?;
    stack.panel.finger("good").await?;
    let k = &mut stack.kiosk;
    k.wait_screen("signature", Duration::from_secs(120)).await?;
    stack.panel.finger("none").await?;
    let k = &mut stack.kiosk;
    k.sign("signature-pad").await?;
    touch(k, t, "signature-confirm").await?;
    k.wait_screen("payment", QUICK).await?;
    touch(k, t, "payment-unionpay").await?;
    k.wait_screen("paying", QUICK).await?;
    stack.panel.insert_bank_card().await?;
    stack.kiosk.wait_screen("finished", SLOW).await?;
    println!(
        "a renewal paid by UnionPay: {} touches on screen (digits aside): {}",
        touched.len(),
        touched.join(", ")
    );
    assert!(
        touched.len() <= MOST_TOUCHES,
        "a renewal took {} touches, more than {MOST_TOUCHES}: {touched:?}",
        touched.len()
    );
    stack.assert_one_application_one_payment(id).await?;
    Ok(())
}

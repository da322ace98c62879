//! Issue 17: the bureau's payment methods reach the kiosk with the center's scope answer. The
//! agent shows step 11 with those only, keeps them for a restart, and refuses a method the bureau
//! does not take before anything is asked of the center.

use std::sync::Arc;

use domain::rules::{Business, Decision, Household, NewCardValidity};
use domain::session::{PaymentMethod, Screen, SessionConfig};
use kiosk::center_api::ScopeAnswer;
use kiosk::view::{ActionError, UiAction};
use time::macros::date;

use crate::support::{agent_config, outbox, ports, wait_for, Device, OfflineCenter};

#[tokio::test]
async fn the_scope_answer_s_payment_methods_are_the_ones_step_11_offers() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path()).await;
    let center = OfflineCenter {
        scope: Some(Box::new(|_, _| {
            Ok(ScopeAnswer {
                decision: Decision::Accept {
                    fee_cny: 40,
                    validity: NewCardValidity::TenYears,
                    issue_by: date!(2027 - 01 - 24),
                },
                name: Some("王小明".into()),
                payment_methods: vec![PaymentMethod::UnionPay],
            })
        })),
        ..OfflineCenter::default()
    };
    let device = Arc::new(Device::ready());
    let ports = ports(Arc::new(center), device);
    let config = agent_config(dir.path(), SessionConfig::default());
    let (handle, _agent) = kiosk::agent::start(ports, outbox.clone(), config)
        .await
        .unwrap();

    // Before any scope answer a session offers both (nothing is known of the bureau yet).
    assert_eq!(
        handle.view().extras.offered_payment_methods(),
        [PaymentMethod::WeChat, PaymentMethod::UnionPay]
    );
    handle.act(UiAction::Start).await.unwrap();
    handle
        .act(UiAction::Business(Business::Lost))
        .await
        .unwrap();
    handle
        .act(UiAction::Household(Household::Local))
        .await
        .unwrap();
    handle
        .act(UiAction::IdNumber("320104200012100044".into()))
        .await
        .unwrap();
    wait_for("the scope decided", || {
        matches!(
            handle.view().screen,
            Screen::Confirm { .. } | Screen::InScope { .. }
        )
    })
    .await;

    let view = handle.view();
    assert_eq!(view.extras.payment_methods, [PaymentMethod::UnionPay]);
    assert_eq!(
        view.extras.offered_payment_methods(),
        [PaymentMethod::UnionPay]
    );
    let page = kiosk::ui::page::Page::new(&view);
    let offered: Vec<&str> = page.payment_methods.iter().map(|c| c.value).collect();
    assert_eq!(offered, ["unionpay"]);
    // Kept with the saved state, so a restart at step 11 still offers only UnionPay.
    let saved = outbox.load_state().await.unwrap();
    assert_eq!(saved.payment_methods, [PaymentMethod::UnionPay]);

    // A WeChat choice (a stale page, a forged post) is refused by the agent itself.
    match handle
        .act(UiAction::PaymentMethod(PaymentMethod::WeChat))
        .await
    {
        Err(ActionError::NotNow(why)) => {
            assert_eq!(why, "wechat is not accepted by this bureau")
        }
        other => panic!("a WeChat choice was not refused: {other:?}"),
    }
}

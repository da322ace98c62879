//! Sends through `SmppGateway` to the simulator: the text arrives word for word, and every
//! failure the outbox must tell apart (permanent bind error, refusal, disconnect, timeout, down)
//! comes back as its `SmsError`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::smpp::CommandStatus;
use sms::sim::{FaultsUpdate, StatusValue};
use sms::{SmsError, SmsGateway};

use crate::{config, gateway, smsc, MOBILE, NOTICE};

#[tokio::test]
async fn a_long_chinese_notice_arrives_word_for_word_in_two_parts() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    let sent = gw.send(MOBILE, NOTICE).await;
    let Ok(sent) = sent else {
        panic!("not sent: {sent:?}");
    };
    assert_eq!(sent.message_ids.len(), 2);
    let messages = sim.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].text, NOTICE);
    assert_eq!(messages[0].to, MOBILE);
    assert_eq!(messages[0].from, "10690001");
    assert_eq!(messages[0].parts, 2);
    assert_eq!(messages[0].message_ids, sent.message_ids);
    assert_eq!(messages[0].message_id, sent.message_ids[0]);
    // A short one goes in one part, on the same session.
    let short = gw
        .send("+86 138 0013 8000", "您的证件已制好，请到窗口领取。")
        .await;
    assert_eq!(short.map(|s| s.message_ids.len()), Ok(1));
    assert_eq!(sim.messages()[1].text, "您的证件已制好，请到窗口领取。");
    assert_eq!(sim.status().binds, 1);
}

#[tokio::test]
async fn a_wrong_password_is_a_permanent_bind_error() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "wrong"));
    let e = gw.send(MOBILE, NOTICE).await;
    assert_eq!(
        e,
        Err(SmsError::BindRefused {
            status: CommandStatus::INVALID_PASSWORD
        })
    );
    let e = e.err().unwrap_or(SmsError::Stopped);
    assert!(!e.is_transient());
    assert_eq!(e.status(), Some(CommandStatus(0x0E)));
    assert!(e.to_string().contains("ESME_RINVPASWD"), "{e}");
    assert_eq!(sim.status().refused_binds, 1);
    assert!(sim.messages().is_empty());
}

#[tokio::test]
async fn a_throttled_message_is_transient_and_the_next_send_succeeds() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    let set = sim.set_faults(FaultsUpdate {
        refuse_next: Some(1),
        status: Some(StatusValue::Text("0x58".into())),
        ..FaultsUpdate::default()
    });
    assert!(set.is_ok());
    let e = gw.send(MOBILE, "短信一").await;
    assert_eq!(
        e,
        Err(SmsError::Refused {
            status: CommandStatus::THROTTLED
        })
    );
    let e = e.err().unwrap_or(SmsError::Stopped);
    assert!(e.is_transient());
    assert!(e.to_string().contains("ESME_RTHROTTLED"), "{e}");
    assert!(sim.messages().is_empty());
    assert!(gw.send(MOBILE, "短信二").await.is_ok());
    assert_eq!(sim.messages().len(), 1);
    assert_eq!(sim.messages()[0].text, "短信二");
}

#[tokio::test]
async fn an_invalid_destination_is_permanent() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    let _ = sim.set_faults(FaultsUpdate {
        refuse_next: Some(1),
        status: Some(StatusValue::Text("ESME_RINVDSTADR".into())),
        ..FaultsUpdate::default()
    });
    let e = gw.send(MOBILE, "短信").await;
    assert_eq!(e.as_ref().map_err(SmsError::is_transient), Err(false));
}

#[tokio::test]
async fn after_a_disconnect_the_gateway_reconnects() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    assert!(gw.send(MOBILE, "第一条").await.is_ok());
    let _ = sim.set_faults(FaultsUpdate {
        disconnect_next: Some(1),
        ..FaultsUpdate::default()
    });
    let e = gw.send(MOBILE, "第二条").await;
    assert!(matches!(e, Err(SmsError::Disconnected(_))), "{e:?}");
    assert!(e.is_err_and(|e| e.is_transient()));
    let again = gw.send(MOBILE, "第三条").await;
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(sim.status().binds, 2, "a second bind after the disconnect");
    let texts: Vec<String> = sim.messages().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["第一条", "第三条"]);
}

#[tokio::test]
async fn an_answer_later_than_the_timeout_is_a_transient_timeout() {
    let sim = smsc().await;
    let mut config = config(&sim, "secret");
    config.response_timeout_ms = 200;
    let gw = gateway(config);
    assert!(gw.send(MOBILE, "绑定").await.is_ok());
    let _ = sim.set_faults(FaultsUpdate {
        delay_ms: Some(800),
        ..FaultsUpdate::default()
    });
    let e = gw.send(MOBILE, "迟到").await;
    assert_eq!(
        e,
        Err(SmsError::Timeout {
            what: "submit_sm",
            ms: 200
        })
    );
    assert!(e.is_err_and(|e| e.is_transient()));
    let _ = sim.set_faults(FaultsUpdate {
        delay_ms: Some(0),
        ..FaultsUpdate::default()
    });
    // The late answer (once the simulator's 800 ms are over) is ignored; the session goes on.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let next = gw.send(MOBILE, "准时").await;
    assert!(next.is_ok(), "{next:?}");
}

#[tokio::test]
async fn a_down_smsc_is_transient_until_it_comes_back() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    assert!(gw.send(MOBILE, "之前").await.is_ok());
    let _ = sim.set_faults(FaultsUpdate {
        down: Some(true),
        ..FaultsUpdate::default()
    });
    // Let the dropped connection reach the gateway.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let e = gw.send(MOBILE, "期间").await;
    assert!(e.as_ref().is_err_and(SmsError::is_transient), "{e:?}");
    let _ = sim.set_faults(FaultsUpdate {
        down: Some(false),
        ..FaultsUpdate::default()
    });
    let after = gw.send(MOBILE, "之后").await;
    assert!(after.is_ok(), "{after:?}");
}

#[tokio::test]
async fn nothing_listening_is_transient() {
    let sim = smsc().await;
    let config = config(&sim, "secret");
    sim.shutdown().await;
    let gw = gateway(config);
    let e = gw.send(MOBILE, "无人").await;
    assert!(matches!(e, Err(SmsError::Disconnected(_))), "{e:?}");
}

#[tokio::test]
async fn bad_numbers_and_texts_are_permanent_and_never_sent() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    assert_eq!(
        gw.send("02512345678", "短信").await,
        Err(SmsError::InvalidNumber {
            masked: "025****5678".into()
        })
    );
    let e = gw.send(MOBILE, "").await;
    assert!(matches!(e, Err(SmsError::InvalidText(_))), "{e:?}");
    assert!(e.is_err_and(|e| !e.is_transient()));
    assert_eq!(sim.status().binds, 0, "nothing was sent");
}

#[tokio::test]
async fn an_idle_session_is_kept_with_enquire_link() {
    let sim = smsc().await;
    let mut config = config(&sim, "secret");
    config.enquire_link_interval_ms = 100;
    let gw = gateway(config);
    assert!(gw.send(MOBILE, "保持").await.is_ok());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let links = sim.status().enquire_links;
    assert!((2..=5).contains(&links), "{links} enquire_link");
    assert!(gw.send(MOBILE, "仍在").await.is_ok());
    assert_eq!(sim.status().binds, 1);
}

#[tokio::test]
async fn dropping_the_gateway_unbinds() {
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    assert!(gw.send(MOBILE, "再见").await.is_ok());
    assert_eq!(sim.status().sessions, 1);
    drop(gw);
    let mut sessions = 1;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        sessions = sim.status().sessions;
        if sessions == 0 {
            break;
        }
    }
    assert_eq!(sessions, 0);
}

/// A log line writer for the test below.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_mask_the_number_and_never_carry_the_text() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded: the gateway's task logs through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let sim = smsc().await;
    let gw = gateway(config(&sim, "secret"));
    assert!(gw.send(MOBILE, NOTICE).await.is_ok());
    let _ = sim.set_faults(FaultsUpdate {
        refuse_next: Some(1),
        ..FaultsUpdate::default()
    });
    assert!(gw.send(MOBILE, NOTICE).await.is_err());
    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(text.contains("138****8000"), "{text}");
    assert!(text.contains("sms accepted by the SMSC"), "{text}");
    assert!(text.contains("sms not sent"), "{text}");
    assert!(!text.contains(MOBILE), "{text}");
    assert!(!text.contains("晓燕"), "{text}");
}

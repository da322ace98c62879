//! `CenterClient` over mutual TLS (`CenterClient::from_tls_dir`, the folder `idkiosk fleet enrol`
//! writes): a heartbeat reaches the center's TLS listener as the kiosk named in the certificate
//! and shows in the fleet view; the remote configuration is fetched; without the kiosk's identity
//! (or with the shared secret but no certificate) the TLS port refuses.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use center::client::{CenterClient, ClientError};
use center::fleet::heartbeat::{DeviceReport, DeviceState, Devices, HeartbeatRequest, Supply};
use http_body_util::BodyExt;
use popsys::StorePopulationSystem;
use rustls::pki_types::pem::PemObject as _;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::{demo_store, state_over, KIOSK, SECRET};
use crate::tls::{temp_dir, tls_center_with};

const OPERATOR: &str = "operator-token-client-tls";

fn heartbeat(config_version: Option<i64>) -> HeartbeatRequest {
    HeartbeatRequest {
        software_version: "0.1.0".into(),
        outbox_backlog: 3,
        config_version,
        devices: Devices {
            card_reader: Some(DeviceReport {
                state: DeviceState::Ready,
                reason: None,
                paper: None,
                toner: None,
            }),
            fingerprint: Some(DeviceReport {
                state: DeviceState::Error,
                reason: Some("timeout".into()),
                paper: None,
                toner: None,
            }),
            printer: Some(DeviceReport {
                state: DeviceState::Warning,
                reason: Some("toner-low".into()),
                paper: Some(Supply::Ok),
                toner: Some(Supply::Low),
            }),
            ..Devices::default()
        },
    }
}

async fn operator(app: &axum::Router, method: &str, path: &str, body: Option<Value>) -> Value {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {OPERATOR}"))
        .header("content-type", "application/json")
        .body(match body {
            Some(body) => Body::from(body.to_string()),
            None => Body::empty(),
        })
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "{method} {path}: {status} {bytes:?}");
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn center_client_over_mutual_tls_heartbeat_config_and_refusals() {
    let store = demo_store().await;
    let mut state = state_over(Arc::new(StorePopulationSystem::new(store.clone())), store);
    state.fleet.operator_token = Some(OPERATOR.into());
    let app = center::app(state.clone());
    let center = tls_center_with(state).await;
    let issued = center.enrol("K0007").await;
    let kiosk_dir = center
        .ca
        .write_kiosk(&issued)
        .expect("write the kiosk's files");
    let url = format!("https://localhost:{}", center.addr.port());

    let client = CenterClient::from_tls_dir(&url, "K0007", &kiosk_dir, Duration::from_secs(10))
        .expect("the mutual-TLS client");

    // Nothing pushed yet: no configuration, the heartbeat says so.
    assert_eq!(client.fleet_config(None).await.unwrap(), None);
    let answer = client.heartbeat(&heartbeat(None)).await.expect("heartbeat");
    assert_eq!(answer.config_version, None);

    // The fleet view lists the kiosk the certificate names, with its devices.
    let view = operator(&app, "GET", "/v1/fleet/kiosks", None).await;
    let kiosk = view["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kiosk_id"] == "K0007")
        .unwrap_or_else(|| panic!("K0007 not in {view}"));
    assert_eq!(kiosk["outbox_backlog"], 3, "{kiosk}");
    assert_eq!(kiosk["software_version"], "0.1.0");
    assert_eq!(kiosk["certificate"], "valid");
    assert_eq!(kiosk["devices"]["fingerprint"]["state"], "error");
    assert_eq!(kiosk["devices"]["printer"]["toner"], "low");

    // An operator pushes a configuration: the heartbeat names it, the client fetches it once.
    let pushed = operator(
        &app,
        "PUT",
        "/v1/fleet/config",
        Some(json!({
            "thresholds": {"face_certified": 96.0, "face_live": 65.0, "fingerprint_quality": 45},
            "timeouts": {"idle_s": 90, "step_s": 40, "payment_s": 300},
            "fees": {"expiry_renewal_cny": 20, "lost_cny": 40, "damaged_cny": 40},
            "payment_methods": ["wechat"]})),
    )
    .await;
    let version = pushed["version"].as_i64().unwrap();
    let answer = client.heartbeat(&heartbeat(None)).await.unwrap();
    assert_eq!(answer.config_version, Some(version));
    let fetched = client.fleet_config(None).await.unwrap().expect("a version");
    assert_eq!(fetched.version, version);
    assert_eq!(fetched.config.timeouts.idle_s, 90);
    assert_eq!(client.fleet_config(Some(version)).await.unwrap(), None);
    client.heartbeat(&heartbeat(Some(version))).await.unwrap();
    let view = operator(&app, "GET", "/v1/fleet/kiosks", None).await;
    assert!(view["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kiosk_id"] == "K0007" && k["config_version"] == version));

    // Without the kiosk's identity the TLS port refuses at the handshake: the center's CA
    // trusted, no certificate presented (even with the shared secret).
    let ca_only = temp_dir("ca-only");
    std::fs::copy(kiosk_dir.join("ca.pem"), ca_only.join("ca.pem")).unwrap();
    assert!(
        CenterClient::from_tls_dir(&url, "K0007", &ca_only, Duration::from_secs(10)).is_err(),
        "a folder without kiosk.pem/kiosk.key is refused"
    );
    let roots = {
        let pem = std::fs::read(kiosk_dir.join("ca.pem")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        roots
    };
    let anonymous = rustls::ClientConfig::builder_with_provider(center::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(anonymous)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let stranger = CenterClient::with_client(&url, KIOSK, Some(SECRET), http);
    let refused = stranger.heartbeat(&heartbeat(None)).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Retryable { status: None, .. }),
        "no certificate: the handshake fails, no HTTP answer: {refused:?}"
    );

    // A revoked certificate: the handshake succeeds, the center answers 401.
    center.store.revoke_kiosk("K0007", 1).await.unwrap();
    let refused = client.heartbeat(&heartbeat(None)).await.unwrap_err();
    assert_eq!(refused.status(), Some(401), "{refused:?}");
}

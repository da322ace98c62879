//! Builds the kiosk's client of the center (`kiosk::center_client`, the `kiosk-wire` client that
//! implements `CenterApi` and `FleetApi`): plain HTTP with the kiosk's shared secret, or mutual
//! TLS from the folder `idkiosk fleet enrol` wrote (the TLS configuration is the center's,
//! `center::tls::kiosk_client_config`).

use std::time::Duration;

use kiosk::center_client::CenterClient;

/// Each call to the center times out after this.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The link to the center: a namespace for building the kiosk's [`CenterClient`].
pub struct CenterLink;

impl CenterLink {
    /// A client of the center at `base` (`http://host:port`) with the kiosk's shared secret.
    // Named `new` for the call sites of `idkiosk kiosk`; the link is the kiosk's client itself.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(base: &str, kiosk_id: &str, secret: &str) -> anyhow::Result<CenterClient> {
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "the center URL must start with http:// or https://"
        );
        Ok(CenterClient::with_timeout(base, kiosk_id, secret, TIMEOUT))
    }

    /// A client over mutual TLS to the center at `base` (`https://host:port`), with the
    /// certificate, key and CA that `idkiosk fleet enrol` wrote into `tls_dir` (`kiosk.pem`,
    /// `kiosk.key`, `ca.pem`); no shared secret.
    pub fn with_tls(
        base: &str,
        kiosk_id: &str,
        tls_dir: &std::path::Path,
    ) -> anyhow::Result<CenterClient> {
        anyhow::ensure!(
            base.starts_with("https://"),
            "with a TLS folder the center URL must start with https://"
        );
        Ok(center::client::tls_client(
            base, kiosk_id, tls_dir, TIMEOUT,
        )?)
    }
}

#[cfg(test)]
mod tests {
    //! The fleet side of the link over mutual TLS to a real center (in process, SQLite): the
    //! heartbeat shows in the fleet view under the certificate's kiosk, a pushed configuration
    //! is fetched; without the kiosk's identity the TLS port refuses.

    use std::sync::Arc;

    use center::auth::KioskSecrets;
    use center::fleet::ca::{CertificateAuthority, LEAF_VALIDITY};
    use devices::DeviceHealth;
    use domain::region::KioskCity;
    use kiosk::fleet::{
        device_report, DeviceReport, DeviceState, Devices, FleetApi, HeartbeatRequest, Supply,
    };
    use serde_json::{json, Value};
    use time::OffsetDateTime;

    use super::CenterLink;

    const OPERATOR: &str = "operator-token-center-link";

    async fn spawn_plain(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    async fn operator(method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(OPERATOR);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    fn heartbeat(config_version: Option<i64>) -> HeartbeatRequest {
        let devices = Devices {
            fingerprint: Some(device_report(&DeviceHealth::Error {
                reason: "timeout".into(),
            })),
            printer: Some(DeviceReport {
                state: DeviceState::Warning,
                reason: Some("toner-low".into()),
                paper: Some(Supply::Ok),
                toner: Some(Supply::Low),
            }),
            ..Devices::default()
        };
        HeartbeatRequest {
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
            outbox_backlog: 2,
            config_version,
            devices,
        }
    }

    #[tokio::test]
    async fn fleet_calls_over_mutual_tls_reach_the_fleet_view_and_fetch_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("center.db").display()
        ))
        .await
        .unwrap();
        let mut state = center::AppState::new(
            Arc::new(popsys::StorePopulationSystem::new(store.clone())),
            Arc::new(|| time::macros::date!(2026 - 11 - 25)),
            KioskCity::parse("320100").unwrap(),
            KioskSecrets::new([("K0001", "s3cret-K0001")]),
            store.clone(),
        );
        state.fleet.operator_token = Some(OPERATOR.into());
        let ca_dir = dir.path().join("ca");
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let ca = CertificateAuthority::init(&ca_dir, &names, OffsetDateTime::now_utc()).unwrap();
        let issued = ca
            .issue_kiosk("K0042", OffsetDateTime::now_utc(), LEAF_VALIDITY)
            .unwrap();
        store.record_certificate(&issued.record()).await.unwrap();
        let kiosk_dir = ca.write_kiosk(&issued).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls_url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(center::tls::serve(
            listener,
            center::tls::server_config_from_dir(&ca_dir).unwrap(),
            center::app(state.clone()),
        ));
        let plain = spawn_plain(center::app(state)).await;

        let link = CenterLink::with_tls(&tls_url, "K0042", &kiosk_dir).unwrap();
        assert_eq!(
            FleetApi::heartbeat(&link, &heartbeat(None)).await.unwrap(),
            None
        );
        let view = operator(
            reqwest::Method::GET,
            &format!("{plain}/v1/fleet/kiosks"),
            None,
        )
        .await;
        let kiosk = view["kiosks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kiosk_id"] == "K0042")
            .unwrap_or_else(|| panic!("K0042 not in {view}"))
            .clone();
        assert_eq!(kiosk["outbox_backlog"], 2, "{kiosk}");
        assert_eq!(kiosk["software_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(kiosk["devices"]["printer"]["toner"], "low");
        assert_eq!(kiosk["devices"]["fingerprint"]["state"], "error");

        let pushed = operator(
            reqwest::Method::PUT,
            &format!("{plain}/v1/fleet/config"),
            Some(json!({
                "thresholds": {"face_certified": 96.0, "face_live": 65.0, "fingerprint_quality": 45},
                "timeouts": {"idle_s": 90, "step_s": 40, "payment_s": 300},
                "fees": {"expiry_renewal_cny": 20, "lost_cny": 40, "damaged_cny": 40},
                "payment_methods": ["wechat", "unionpay"]})),
        )
        .await;
        let version = pushed["version"].as_i64().unwrap();
        assert_eq!(
            FleetApi::heartbeat(&link, &heartbeat(None)).await.unwrap(),
            Some(version)
        );
        let fetched = FleetApi::config_since(&link, None)
            .await
            .unwrap()
            .expect("a version");
        assert_eq!(fetched.version, version);
        assert_eq!(fetched.config.timeouts.idle_s, 90);
        assert_eq!(fetched.config.thresholds.fingerprint_quality, 45);
        assert_eq!(
            FleetApi::config_since(&link, Some(version)).await.unwrap(),
            None
        );

        // No identity: a folder without the key is refused before any call; a client that
        // does not trust the center's CA and presents nothing never gets an answer.
        let ca_only = dir.path().join("ca-only");
        std::fs::create_dir_all(&ca_only).unwrap();
        std::fs::copy(kiosk_dir.join("ca.pem"), ca_only.join("ca.pem")).unwrap();
        assert!(CenterLink::with_tls(&tls_url, "K0042", &ca_only).is_err());
        assert!(CenterLink::with_tls(&plain, "K0042", &kiosk_dir).is_err());
        let secret_only = CenterLink::new(&tls_url, "K0001", "s3cret-K0001").unwrap();
        let refused = FleetApi::heartbeat(&secret_only, &heartbeat(None))
            .await
            .unwrap_err();
        assert!(refused.is_retryable(), "{refused:?}");
    }
}

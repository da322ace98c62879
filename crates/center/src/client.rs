//! [`CenterClient`]: the session API's typed client (`kiosk_wire::client`, the one the kiosk
//! uses) with what only the center's operators and tests call besides: a mutual-TLS client from
//! an enrolment folder and the reconciliation. Every session and fleet call (`receipt`, `faces`,
//! `application`, `heartbeat`, `fleet_config`, …) is the wire client's, reached through `Deref`.

use std::ops::Deref;
use std::time::Duration;

use time::Date;

use crate::reconcile::Report;

pub use kiosk_wire::client::ClientError;

/// The wire client plus the center-side calls.
#[derive(Debug, Clone)]
pub struct CenterClient(kiosk_wire::client::CenterClient);

impl Deref for CenterClient {
    type Target = kiosk_wire::client::CenterClient;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<kiosk_wire::client::CenterClient> for CenterClient {
    fn from(client: kiosk_wire::client::CenterClient) -> CenterClient {
        CenterClient(client)
    }
}

/// Why [`CenterClient::from_tls_dir`] could not build its client.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    /// The enrolment folder's files.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// reqwest refused the TLS configuration.
    #[error("building the HTTPS client: {0}")]
    Http(#[from] reqwest::Error),
}

impl CenterClient {
    /// A client of the center at `base_url` (`http://127.0.0.1:7400`) for kiosk `kiosk_id`
    /// with its shared `secret`; each call times out after 30 s.
    pub fn new(base_url: &str, kiosk_id: &str, secret: &str) -> CenterClient {
        CenterClient(kiosk_wire::client::CenterClient::new(
            base_url, kiosk_id, secret,
        ))
    }

    /// [`CenterClient::new`] with another per-call timeout.
    pub fn with_timeout(
        base_url: &str,
        kiosk_id: &str,
        secret: &str,
        timeout: Duration,
    ) -> CenterClient {
        CenterClient(kiosk_wire::client::CenterClient::with_timeout(
            base_url, kiosk_id, secret, timeout,
        ))
    }

    /// A client over a `reqwest::Client` the caller built (see
    /// `kiosk_wire::client::CenterClient::with_client`).
    pub fn with_client(
        base_url: &str,
        kiosk_id: &str,
        secret: Option<&str>,
        http: reqwest::Client,
    ) -> CenterClient {
        CenterClient(kiosk_wire::client::CenterClient::with_client(
            base_url, kiosk_id, secret, http,
        ))
    }

    /// A mutual-TLS client of the center at `base_url` (`https://center.example:7443`) from the
    /// folder `idkiosk fleet enrol` wrote for the kiosk (`kiosk.pem`, `kiosk.key`, `ca.pem`).
    pub fn from_tls_dir(
        base_url: &str,
        kiosk_id: &str,
        kiosk_dir: &std::path::Path,
        timeout: Duration,
    ) -> Result<CenterClient, ClientSetupError> {
        Ok(CenterClient(tls_client(
            base_url, kiosk_id, kiosk_dir, timeout,
        )?))
    }

    /// The wire client inside.
    pub fn into_inner(self) -> kiosk_wire::client::CenterClient {
        self.0
    }

    /// `GET /v1/reconciliation?date=YYYY-MM-DD`, as an operator (the fleet's operator token):
    /// kiosks may not read it.
    pub async fn reconciliation(
        &self,
        date: Date,
        operator_token: &str,
    ) -> Result<Report, ClientError> {
        let path = format!(
            "{}/reconciliation?date={}",
            kiosk_wire::PREFIX,
            crate::wire::format_date(date)
        );
        let request = self
            .0
            .bare_request(reqwest::Method::GET, &path)
            .bearer_auth(operator_token);
        self.0.json(request).await
    }
}

/// A mutual-TLS wire client from an enrolment folder: presents the kiosk's certificate and
/// trusts only the center's CA ([`crate::tls::kiosk_client_config`]); no shared secret is sent.
pub fn tls_client(
    base_url: &str,
    kiosk_id: &str,
    kiosk_dir: &std::path::Path,
    timeout: Duration,
) -> Result<kiosk_wire::client::CenterClient, ClientSetupError> {
    let config = crate::tls::kiosk_client_config(kiosk_dir)?;
    let http = reqwest::Client::builder()
        .use_preconfigured_tls((*config).clone())
        .timeout(timeout)
        .build()?;
    Ok(kiosk_wire::client::CenterClient::with_client(
        base_url, kiosk_id, None, http,
    ))
}

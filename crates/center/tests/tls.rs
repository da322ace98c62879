//! Mutual TLS between kiosk and center on a real loopback port (issue 9, item 2): the center's
//! own CA, an enrolled kiosk, and the refusals: a certificate from another CA, none at all, one
//! not recorded at enrolment, a revoked one (also on a connection opened before the revocation),
//! and plain HTTP to the TLS port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use center::fleet::ca::{CertificateAuthority, Issued, LEAF_VALIDITY};
use center::AppState;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use popsys::StorePopulationSystem;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::{json, Value};
use store::Store;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::support::{demo_store, state_over};

/// A fresh directory under the temporary directory.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idkiosk-{label}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The names of the center's server certificate in tests.
pub fn server_names() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

/// A center serving mutual TLS on a loopback port, with its CA.
pub struct TlsCenter {
    /// The TLS address.
    pub addr: SocketAddr,
    /// The CA (its directory holds the server certificate).
    pub ca: CertificateAuthority,
    /// The database.
    pub store: Store,
}

/// Starts the center of `state` over mutual TLS with a new CA in a temporary directory.
pub async fn tls_center_with(state: AppState) -> TlsCenter {
    let dir = temp_dir("ca");
    let ca = CertificateAuthority::init(&dir, &server_names(), OffsetDateTime::now_utc())
        .expect("init the CA");
    let config = center::tls::server_config_from_dir(&dir).expect("server TLS config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let store = state.store.clone();
    tokio::spawn(center::tls::serve(listener, config, center::app(state)));
    TlsCenter { addr, ca, store }
}

/// A TLS center over the demo citizens on SQLite.
pub async fn tls_center() -> TlsCenter {
    let store = demo_store().await;
    let state = state_over(Arc::new(StorePopulationSystem::new(store.clone())), store);
    tls_center_with(state).await
}

impl TlsCenter {
    /// Enrols `kiosk`: issues its certificate and records it, as `idkiosk fleet enrol` does.
    pub async fn enrol(&self, kiosk: &str) -> Issued {
        let issued = self
            .ca
            .issue_kiosk(kiosk, OffsetDateTime::now_utc(), LEAF_VALIDITY)
            .expect("issue");
        self.store
            .record_certificate(&issued.record())
            .await
            .expect("record the certificate");
        issued
    }
}

/// A client configuration trusting `ca_pem` and presenting `identity`, if any.
pub fn client_config(ca_pem: &str, identity: Option<&Issued>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("add root");
    }
    let builder = ClientConfig::builder_with_provider(center::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some(issued) => {
            let certs = CertificateDer::pem_slice_iter(issued.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("cert PEM");
            let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).expect("key PEM");
            builder
                .with_client_auth_cert(certs, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// One HTTP/1.1 connection over TLS.
pub struct Conn(SendRequest<Full<Bytes>>);

/// Opens a TLS connection to `addr` (server name `localhost`).
pub async fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> Result<Conn, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn(sender))
}

impl Conn {
    /// Sends a request; the status and JSON body (`Value::Null` when empty or not JSON).
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        self.0.ready().await.map_err(|e| e.to_string())?;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let request = request
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(Duration::from_secs(10), self.0.send_request(request))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }
}

/// One request on a new connection.
pub async fn call_once(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    connect(addr, config).await?.call(method, path, body).await
}

fn heartbeat() -> Value {
    json!({"software_version": "0.1.0", "outbox_backlog": 0,
           "devices": {"card_reader": {"state": "ready"}}})
}

fn scope() -> Value {
    json!({"business": "lost", "household": "local", "id": popsys::seed::demo::RENEWAL_IN_WINDOW})
}

#[tokio::test]
async fn an_enrolled_kiosk_is_served_without_a_shared_secret() {
    let center = tls_center().await;
    let issued = center.enrol("K0001").await;
    assert_eq!(issued.subject, "K0001");
    let config = client_config(center.ca.cert_pem(), Some(&issued));
    let mut conn = connect(center.addr, config).await.expect("connect");
    let (status, body) = conn
        .call("POST", "/v1/scope", Some(scope()))
        .await
        .expect("scope");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "accept", "{body}");
    // The kiosk id came from the certificate: the heartbeat is recorded under it.
    let (status, body) = conn
        .call("POST", "/v1/fleet/heartbeat", Some(heartbeat()))
        .await
        .expect("heartbeat");
    assert_eq!(status, 200, "{body}");
    let beats = center.store.heartbeats().await.expect("heartbeats");
    assert_eq!(beats.len(), 1);
    assert_eq!(beats[0].kiosk_id, "K0001");
    // /health needs no authentication, over TLS too.
    let (status, _) = conn.call("GET", "/health", None).await.expect("health");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_files_enrolment_writes_are_all_a_kiosk_needs() {
    let center = tls_center().await;
    let issued = center.enrol("K0004").await;
    let dir = center
        .ca
        .write_kiosk(&issued)
        .expect("write the kiosk's files");
    let config = center::tls::kiosk_client_config(&dir).expect("the kiosk's TLS config");
    let (status, body) = call_once(
        center.addr,
        config,
        "POST",
        "/v1/fleet/heartbeat",
        Some(heartbeat()),
    )
    .await
    .expect("heartbeat");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        center.store.heartbeats().await.unwrap()[0].kiosk_id,
        "K0004"
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_at_the_handshake() {
    let center = tls_center().await;
    center.enrol("K0001").await;
    // Another CA issuing a certificate for the same kiosk id (and even recorded: the database
    // alone does not make it trusted).
    let rogue_dir = temp_dir("rogue-ca");
    let rogue = CertificateAuthority::init(&rogue_dir, &server_names(), OffsetDateTime::now_utc())
        .expect("rogue CA");
    let forged = rogue
        .issue_kiosk("K0001", OffsetDateTime::now_utc(), LEAF_VALIDITY)
        .expect("forged");
    center
        .store
        .record_certificate(&forged.record())
        .await
        .unwrap();
    // The client trusts the real center but presents the forged identity.
    let config = client_config(center.ca.cert_pem(), Some(&forged));
    let result = call_once(center.addr, config, "POST", "/v1/scope", Some(scope())).await;
    assert!(result.is_err(), "served: {result:?}");
    eprintln!("tls: unknown CA refused: {}", result.unwrap_err());
}

#[tokio::test]
async fn no_client_certificate_is_refused() {
    let center = tls_center().await;
    let config = client_config(center.ca.cert_pem(), None);
    let result = call_once(center.addr, config, "GET", "/health", None).await;
    assert!(result.is_err(), "served: {result:?}");
}

#[tokio::test]
async fn a_certificate_not_recorded_at_enrolment_is_refused() {
    let center = tls_center().await;
    // Signed by the right CA but never recorded (a stolen CA key, a lost enrolment).
    let unrecorded = center
        .ca
        .issue_kiosk("K0009", OffsetDateTime::now_utc(), LEAF_VALIDITY)
        .expect("issue");
    let config = client_config(center.ca.cert_pem(), Some(&unrecorded));
    let (status, body) = call_once(center.addr, config, "POST", "/v1/scope", Some(scope()))
        .await
        .expect("the handshake passes; the request is refused");
    assert_eq!((status, body), (401, json!({"error": "unauthorized"})));
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_even_on_an_open_connection() {
    let center = tls_center().await;
    let k1 = center.enrol("K0001").await;
    let k2 = center.enrol("K0002").await;
    let mut conn = connect(center.addr, client_config(center.ca.cert_pem(), Some(&k2)))
        .await
        .expect("connect");
    let (status, _) = conn.call("POST", "/v1/scope", Some(scope())).await.unwrap();
    assert_eq!(status, 200);

    let revoked = center
        .store
        .revoke_kiosk("K0002", OffsetDateTime::now_utc().unix_timestamp())
        .await
        .unwrap();
    assert_eq!(revoked, 1);

    // The same keep-alive connection: refused from the next request on.
    let (status, body) = conn.call("POST", "/v1/scope", Some(scope())).await.unwrap();
    assert_eq!((status, body), (401, json!({"error": "unauthorized"})));
    // A new connection: refused.
    let config = client_config(center.ca.cert_pem(), Some(&k2));
    let (status, _) = call_once(
        center.addr,
        config,
        "POST",
        "/v1/fleet/heartbeat",
        Some(heartbeat()),
    )
    .await
    .unwrap();
    assert_eq!(status, 401);
    // Another kiosk is unaffected.
    let config = client_config(center.ca.cert_pem(), Some(&k1));
    let (status, _) = call_once(center.addr, config, "POST", "/v1/scope", Some(scope()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    // Re-enrolment issues a new certificate, which works.
    let k2_again = center.enrol("K0002").await;
    assert_ne!(k2_again.serial, k2.serial);
    let config = client_config(center.ca.cert_pem(), Some(&k2_again));
    let (status, _) = call_once(center.addr, config, "POST", "/v1/scope", Some(scope()))
        .await
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn plain_http_to_the_tls_port_is_refused() {
    let center = tls_center().await;
    // reqwest over plain HTTP.
    let result = reqwest::Client::new()
        .get(format!("http://{}/health", center.addr))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(result.is_err(), "plain HTTP was answered: {result:?}");
    // And on the raw socket: whatever comes back is not HTTP.
    let mut tcp = TcpStream::connect(center.addr).await.unwrap();
    tcp.write_all(b"POST /v1/scope HTTP/1.1\r\nhost: localhost\r\nx-kiosk-id: K0001\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "answered in plain HTTP: {:?}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn the_shared_secret_can_be_switched_off() {
    let store = demo_store().await;
    let mut state = state_over(Arc::new(StorePopulationSystem::new(store.clone())), store);
    state.fleet.require_client_certificate = true;
    let app = center::app(state);
    // Plain HTTP with the right secret: refused once certificates are required.
    let (status, _) = crate::support::post(&app, "/v1/scope", scope()).await;
    assert_eq!(status.as_u16(), 401);
}

#[test]
fn the_ca_directory_holds_the_files_and_refuses_a_second_init() {
    let dir = temp_dir("ca-files");
    let now = OffsetDateTime::now_utc();
    let ca = CertificateAuthority::init(&dir, &server_names(), now).unwrap();
    for file in ["ca.pem", "ca.key", "server.pem", "server.key"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["ca.key", "server.key"] {
            let mode = std::fs::metadata(dir.join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
        }
    }
    assert!(CertificateAuthority::init(&dir, &server_names(), now).is_err());
    let reopened = CertificateAuthority::open(&dir).unwrap();
    assert_eq!(reopened.cert_pem(), ca.cert_pem());
    let issued = reopened.issue_kiosk("K0003", now, LEAF_VALIDITY).unwrap();
    let kiosk_dir = reopened.write_kiosk(&issued).unwrap();
    assert_eq!(kiosk_dir, CertificateAuthority::kiosk_dir(&dir, "K0003"));
    let der = CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
    let identity = center::tls::identify(&der).unwrap();
    assert_eq!(identity.kiosk_id, "K0003");
    assert_eq!(identity.serial, issued.serial);
    assert!(reopened.issue_kiosk("K 0003", now, LEAF_VALIDITY).is_err());
    assert!(reopened.issue_kiosk("", now, LEAF_VALIDITY).is_err());
    let _: &Path = reopened.dir();
}

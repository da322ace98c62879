//! Kiosk to center over mutual TLS (rustls, ring): the center's listener requires a client
//! certificate issued by the center's own CA ([`crate::fleet::ca`]), passes the verified kiosk id
//! and certificate serial to the handlers as a [`ClientCertificate`] request extension, and
//! [`require_kiosk`] accepts it in place of the shared secret once the database confirms the
//! certificate is recorded for that kiosk and not revoked (on every request, so a revocation is
//! seen by every replica at once).
//!
//! Refused: a certificate from another CA, an expired one, no certificate at all, or plain HTTP
//! (all at the TLS handshake: the connection is closed); a revoked or unrecorded certificate
//! (`401 {"error":"unauthorized"}` on every request).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    Json, Router,
};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::auth::{self, KioskId};
use crate::AppState;

/// How long a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The verified client certificate of a TLS connection, put into every request's extensions by
/// [`serve`]. A plain-HTTP request never carries one (extensions do not come from the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The subject CN: the kiosk id.
    pub kiosk_id: String,
    /// The serial number, lower-case hex.
    pub serial: String,
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file held no usable certificate or key.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn certs(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TlsError::Pem(format!("{what}: {err}")))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(format!("{what}: no certificate")));
    }
    Ok(certs)
}

/// The ring crypto provider every TLS configuration of the center uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server configuration: the center's certificate and key, client certificates required and
/// verified against `ca_pem` (TLS 1.2 and 1.3, HTTP/1.1).
pub fn server_config(
    ca_pem: &[u8],
    server_cert_pem: &[u8],
    server_key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let mut roots = RootCertStore::empty();
    for ca in certs("CA certificate", ca_pem)? {
        roots.add(ca)?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let key = PrivateKeyDer::from_pem_slice(server_key_pem)
        .map_err(|err| TlsError::Pem(format!("server key: {err}")))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs("server certificate", server_cert_pem)?, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// [`server_config`] from a CA directory (`ca.pem`, `server.pem`, `server.key`).
pub fn server_config_from_dir(dir: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| TlsError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    server_config(&read("ca.pem")?, &read("server.pem")?, &read("server.key")?)
}

/// A kiosk's client configuration from the folder enrolment wrote (`kiosk.pem`, `kiosk.key`,
/// `ca.pem`): trusts only the center's CA and presents the kiosk's certificate. For reqwest:
/// `reqwest::Client::builder().use_preconfigured_tls((*config).clone())` with reqwest's
/// `rustls-tls-manual-roots-no-provider` feature.
pub fn kiosk_client_config(kiosk_dir: &Path) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let read = |name: &str| {
        let path = kiosk_dir.join(name);
        std::fs::read(&path).map_err(|source| TlsError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let mut roots = RootCertStore::empty();
    for ca in certs("CA certificate", &read("ca.pem")?)? {
        roots.add(ca)?;
    }
    let key = PrivateKeyDer::from_pem_slice(&read("kiosk.key")?)
        .map_err(|err| TlsError::Pem(format!("kiosk key: {err}")))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs("kiosk certificate", &read("kiosk.pem")?)?, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The kiosk id (subject CN) and serial of a DER certificate.
pub fn identify(der: &[u8]) -> Option<ClientCertificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let kiosk_id = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())?
        .to_owned();
    let serial = cert
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(ClientCertificate { kiosk_id, serial })
}

/// Serves `app` over mutual TLS on `listener` until the task is dropped. Each connection's
/// handshake must finish within [`HANDSHAKE_TIMEOUT`]; a failed handshake (plain HTTP, an unknown
/// CA, no certificate) closes the connection and is logged.
pub async fn serve(listener: TcpListener, config: Arc<ServerConfig>, app: Router) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // EMFILE and the like: back off instead of spinning.
                tracing::warn!(error = %err, "TLS listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::warn!(%peer, error = %err, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::warn!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let Some(client) = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|der| identify(der))
            else {
                tracing::warn!(%peer, "TLS client certificate without a kiosk id");
                return;
            };
            let service = app.map_request(move |mut request: Request<_>| {
                request.extensions_mut().insert(client.clone());
                request
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                .await;
            if let Err(err) = served {
                tracing::debug!(%peer, error = %err, "TLS connection ended with an error");
            }
        });
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(crate::error::ErrorBody::new("unauthorized")),
    )
        .into_response()
}

/// The kiosk check in front of every kiosk route: a request that came over mutual TLS is the
/// kiosk named in its certificate, if the database has that certificate recorded for it and not
/// revoked; any other request needs the shared secret ([`auth::require_kiosk`]), unless
/// [`crate::fleet::FleetSettings::require_client_certificate`] is set.
pub async fn require_kiosk(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(client) = request.extensions().get::<ClientCertificate>().cloned() else {
        if state.fleet.require_client_certificate {
            tracing::warn!("kiosk call refused: no client certificate");
            return unauthorized();
        }
        return auth::require_kiosk(State(state.kiosks.clone()), request, next).await;
    };
    match state
        .store
        .certificate_status(&client.serial, &client.kiosk_id)
        .await
    {
        Ok(store::fleet::CertificateStatus::Valid) => {
            let mut request = request;
            request
                .extensions_mut()
                .insert(KioskId(client.kiosk_id.clone()));
            next.run(request).await
        }
        Ok(status) => {
            tracing::warn!(kiosk = %client.kiosk_id, serial = %client.serial, ?status,
                "kiosk call refused: certificate revoked or not enrolled");
            unauthorized()
        }
        Err(err) => crate::error::AppError::from(err).into_response(),
    }
}

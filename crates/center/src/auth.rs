//! Kiosk authentication: every `/v1/…` call but the WeChat Pay callback carries `X-Kiosk-Id` and
//! `Authorization: Bearer <secret>`, checked against the center's configured secrets. Mutual TLS
//! replaces this with the fleet work; until then a wrong or missing secret is `401`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

/// The header naming the calling kiosk.
pub const KIOSK_ID_HEADER: &str = "x-kiosk-id";

/// The configured kiosks: id → shared secret.
#[derive(Clone, Default)]
pub struct KioskSecrets(Arc<HashMap<String, String>>);

impl std::fmt::Debug for KioskSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("KioskSecrets")
            .field("kiosks", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KioskSecrets {
    /// Secrets from `(kiosk id, secret)` pairs.
    pub fn new<I, K, S>(pairs: I) -> KioskSecrets
    where
        I: IntoIterator<Item = (K, S)>,
        K: Into<String>,
        S: Into<String>,
    {
        KioskSecrets(Arc::new(
            pairs
                .into_iter()
                .map(|(k, s)| (k.into(), s.into()))
                .collect(),
        ))
    }

    /// Parses `K0001=secret,K0002=secret` (the `IDKIOSK_KIOSK_SECRETS` form); an empty id or
    /// secret is an error naming the entry.
    pub fn parse(text: &str) -> Result<KioskSecrets, String> {
        let mut pairs = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.split_once('=') {
                Some((id, secret)) if !id.trim().is_empty() && !secret.is_empty() => {
                    pairs.push((id.trim().to_owned(), secret.to_owned()))
                }
                _ => return Err(format!("{entry:?} is not KIOSK_ID=SECRET")),
            }
        }
        Ok(KioskSecrets::new(pairs))
    }

    /// True when `kiosk` is configured with exactly `secret` (compared in constant time).
    pub fn check(&self, kiosk: &str, secret: &str) -> bool {
        match self.0.get(kiosk) {
            Some(expected) => constant_time_eq(expected.as_bytes(), secret.as_bytes()),
            None => false,
        }
    }

    /// How many kiosks are configured.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No kiosk configured (every call is refused).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether two secrets (kiosk secrets, staff and fleet tokens, CSRF values) are equal, in time
/// that does not depend on where they differ (`subtle`); only a length difference shows.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// The authenticated kiosk, put into the request's extensions by [`require_kiosk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskId(pub String);

/// The middleware: `401 {"error":"unauthorized"}` unless the kiosk id and secret match.
pub async fn require_kiosk(
    State(secrets): State<KioskSecrets>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let kiosk = headers
        .get(KIOSK_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let secret = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    match (kiosk, secret) {
        (Some(kiosk), Some(secret)) if secrets.check(&kiosk, &secret) => {
            request.extensions_mut().insert(KioskId(kiosk));
            next.run(request).await
        }
        (kiosk, _) => {
            tracing::warn!(kiosk = ?kiosk, "kiosk call refused: unknown kiosk or wrong secret");
            (
                StatusCode::UNAUTHORIZED,
                Json(crate::error::ErrorBody::new("unauthorized")),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks_secrets() {
        let secrets = KioskSecrets::parse("K0001=abc, K0002=x=y").unwrap();
        assert!(secrets.check("K0001", "abc"));
        assert!(secrets.check("K0002", "x=y"));
        assert!(!secrets.check("K0001", "abd"));
        assert!(!secrets.check("K0003", "abc"));
        assert!(KioskSecrets::parse("K0001").is_err());
        assert!(KioskSecrets::parse("=abc").is_err());
    }

    #[test]
    fn compares_secrets_whole() {
        assert!(constant_time_eq(b"csrf-token", b"csrf-token"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"csrf-token", b"csrf-tokem"));
        assert!(!constant_time_eq(b"csrf-token", b"csrf-toke"));
        assert!(!constant_time_eq(b"csrf", b"csrf-token"));
    }
}

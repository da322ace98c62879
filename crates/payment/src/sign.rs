//! WeChat Pay API v3 signatures (docs/domain.md section 9.6): RSA-SHA256 (PKCS#1 v1.5) over
//! `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` for requests and `TIMESTAMP\nNONCE\nBODY\n` for
//! responses and callbacks, base64 encoded; the `Authorization` header and the platform's
//! `Wechatpay-*` headers; the 300-second timestamp window.
//!
//! Bodies are bytes: a signature is checked over the raw bytes received, never over a
//! re-serialisation (another client's JSON escapes differ from ours).

use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::Rng;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

use crate::PaymentError;

/// The only signature type of API v3.
pub const SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// How far a timestamp may be from our clock, in seconds.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Header names of the platform's signature.
pub mod header {
    /// Seconds since the epoch.
    pub const TIMESTAMP: &str = "Wechatpay-Timestamp";
    /// A random string.
    pub const NONCE: &str = "Wechatpay-Nonce";
    /// The base64 signature.
    pub const SIGNATURE: &str = "Wechatpay-Signature";
    /// The id of the platform key (public-key mode) or certificate serial that signed.
    pub const SERIAL: &str = "Wechatpay-Serial";
    /// Always [`super::SCHEMA`].
    pub const SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
}

/// `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`, the message a merchant signs.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut message = format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// `TIMESTAMP\nNONCE\nBODY\n`, the message the platform signs (an empty body too).
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// A private key ready to sign (RSA-SHA256, PKCS#1 v1.5).
#[derive(Clone)]
pub struct SignKey(SigningKey<Sha256>);

impl SignKey {
    /// Wraps `key`.
    pub fn new(key: RsaPrivateKey) -> SignKey {
        SignKey(SigningKey::new(key))
    }

    /// The base64 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        B64.encode(self.0.sign(message).to_bytes())
    }
}

/// A public key ready to verify.
#[derive(Clone)]
pub struct VerifyKey(VerifyingKey<Sha256>);

impl VerifyKey {
    /// Wraps `key`.
    pub fn new(key: RsaPublicKey) -> VerifyKey {
        VerifyKey(VerifyingKey::new(key))
    }

    /// Checks the base64 `signature` of `message`.
    pub fn verify(&self, message: &[u8], signature: &str) -> Result<(), PaymentError> {
        let bytes = B64
            .decode(signature.trim())
            .map_err(|_| PaymentError::Signature)?;
        let signature =
            Signature::try_from(bytes.as_slice()).map_err(|_| PaymentError::Signature)?;
        self.0
            .verify(message, &signature)
            .map_err(|_| PaymentError::Signature)
    }
}

/// A random nonce of 32 upper-case letters and digits.
pub fn nonce() -> String {
    random_string(32, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}

/// `len` characters drawn from `alphabet`.
pub(crate) fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

/// Refuses a timestamp more than [`MAX_SKEW_SECONDS`] from `now`.
pub fn check_timestamp(now: i64, timestamp: i64) -> Result<(), PaymentError> {
    let skew = now - timestamp;
    if skew.abs() > MAX_SKEW_SECONDS {
        return Err(PaymentError::StaleTimestamp { skew_seconds: skew });
    }
    Ok(())
}

/// The merchant's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// 商户号.
    pub mchid: String,
    /// The request's nonce.
    pub nonce_str: String,
    /// Seconds since the epoch.
    pub timestamp: i64,
    /// The merchant certificate's serial number.
    pub serial_no: String,
    /// The base64 signature.
    pub signature: String,
}

impl Authorization {
    /// Signs a request and builds its header.
    pub fn sign(
        key: &SignKey,
        mchid: &str,
        serial_no: &str,
        method: &str,
        path_and_query: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Authorization {
        let nonce_str = nonce();
        let signature = key.sign(&request_message(
            method,
            path_and_query,
            timestamp,
            &nonce_str,
            body,
        ));
        Authorization {
            mchid: mchid.to_owned(),
            nonce_str,
            timestamp,
            serial_no: serial_no.to_owned(),
            signature,
        }
    }

    /// `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`.
    pub fn to_header(&self) -> String {
        format!(
            "{SCHEMA} mchid=\"{}\",nonce_str=\"{}\",timestamp=\"{}\",serial_no=\"{}\",signature=\"{}\"",
            self.mchid, self.nonce_str, self.timestamp, self.serial_no, self.signature
        )
    }

    /// Parses the header, in any order of its fields.
    pub fn parse(header: &str) -> Result<Authorization, PaymentError> {
        let bad = |why: &str| PaymentError::Authorization(why.to_owned());
        let rest = header
            .strip_prefix(SCHEMA)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(|| bad("schema must be WECHATPAY2-SHA256-RSA2048"))?;
        let (mut mchid, mut nonce_str, mut timestamp, mut serial_no, mut signature) =
            (None, None, None, None, None);
        for part in rest.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or_else(|| bad("fields must be key=\"value\""))?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| bad("values must be quoted"))?
                .to_owned();
            match key {
                "mchid" => mchid = Some(value),
                "nonce_str" => nonce_str = Some(value),
                "timestamp" => timestamp = Some(value),
                "serial_no" => serial_no = Some(value),
                "signature" => signature = Some(value),
                _ => return Err(bad("unknown field")),
            }
        }
        let timestamp = timestamp
            .ok_or_else(|| bad("timestamp missing"))?
            .parse()
            .map_err(|_| bad("timestamp must be seconds since the epoch"))?;
        Ok(Authorization {
            mchid: mchid.ok_or_else(|| bad("mchid missing"))?,
            nonce_str: nonce_str.ok_or_else(|| bad("nonce_str missing"))?,
            timestamp,
            serial_no: serial_no.ok_or_else(|| bad("serial_no missing"))?,
            signature: signature.ok_or_else(|| bad("signature missing"))?,
        })
    }

    /// Checks the signature over the raw request and the timestamp window.
    pub fn verify(
        &self,
        key: &VerifyKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), PaymentError> {
        check_timestamp(now, self.timestamp)?;
        key.verify(
            &request_message(
                method,
                path_and_query,
                self.timestamp,
                &self.nonce_str,
                body,
            ),
            &self.signature,
        )
    }
}

/// Adds the platform's signature headers for `body` (empty for a 204) to `headers`.
pub fn sign_platform_headers(
    headers: &mut HeaderMap,
    key: &SignKey,
    key_id: &str,
    timestamp: i64,
    body: &[u8],
) {
    let nonce = nonce();
    let ts = timestamp.to_string();
    let signature = key.sign(&response_message(&ts, &nonce, body));
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put(header::TIMESTAMP, &ts);
    put(header::NONCE, &nonce);
    put(header::SIGNATURE, &signature);
    put(header::SERIAL, key_id);
    put(header::SIGNATURE_TYPE, SCHEMA);
}

/// Checks the platform's signature headers over `body`: type, key id, timestamp window, signature.
pub fn verify_platform_headers(
    headers: &HeaderMap,
    body: &[u8],
    key: &VerifyKey,
    key_id: &str,
    now: i64,
) -> Result<(), PaymentError> {
    let get = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(PaymentError::MissingHeader(name))
    };
    if get(header::SIGNATURE_TYPE)? != SCHEMA {
        return Err(PaymentError::Authorization(
            "Wechatpay-Signature-Type must be WECHATPAY2-SHA256-RSA2048".into(),
        ));
    }
    let serial = get(header::SERIAL)?;
    if serial != key_id {
        return Err(PaymentError::WrongSerial {
            got: serial.to_owned(),
            expected: key_id.to_owned(),
        });
    }
    let ts = get(header::TIMESTAMP)?;
    let timestamp: i64 = ts
        .parse()
        .map_err(|_| PaymentError::Authorization("bad Wechatpay-Timestamp".into()))?;
    check_timestamp(now, timestamp)?;
    key.verify(
        &response_message(ts, get(header::NONCE)?, body),
        get(header::SIGNATURE)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_end_with_a_newline_even_when_empty() {
        assert_eq!(
            response_message("1700000000", "N", b""),
            b"1700000000\nN\n\n"
        );
        assert_eq!(
            request_message("GET", "/v3/x?mchid=1", 1, "N", b""),
            b"GET\n/v3/x?mchid=1\n1\nN\n\n"
        );
    }

    #[test]
    fn authorization_round_trip_and_field_order() {
        let header = "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\",nonce_str=\"AB\",signature=\"c2ln\",timestamp=\"1554208460\",serial_no=\"1DDE\"";
        let auth = Authorization::parse(header).unwrap();
        assert_eq!(auth.mchid, "1900000001");
        assert_eq!(auth.timestamp, 1_554_208_460);
        assert_eq!(Authorization::parse(&auth.to_header()).unwrap(), auth);
        assert!(Authorization::parse("Bearer x").is_err());
    }

    #[test]
    fn timestamp_window() {
        assert!(check_timestamp(1000, 700).is_ok());
        assert!(check_timestamp(1000, 1300).is_ok());
        assert!(check_timestamp(1000, 699).is_err());
        assert!(check_timestamp(1000, 1301).is_err());
    }
}

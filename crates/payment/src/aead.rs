//! AES-256-GCM under the APIv3 key: the `resource` of a callback (`AEAD_AES_256_GCM`, base64
//! ciphertext with the 16-byte tag appended, a 12-character nonce, `associated_data`).
//!
//! The APIv3 key is the 32-character string the merchant sets in the WeChat Pay console; its
//! bytes are the AES key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::PaymentError;

/// The APIv3 key: 32 ASCII characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiV3Key([u8; 32]);

impl ApiV3Key {
    /// Checks `text` is 32 printable ASCII characters.
    pub fn parse(text: &str) -> Result<ApiV3Key, PaymentError> {
        let bytes: [u8; 32] = text
            .as_bytes()
            .try_into()
            .map_err(|_| PaymentError::Key("the APIv3 key must be 32 characters".into()))?;
        if !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Err(PaymentError::Key(
                "the APIv3 key must be printable ASCII".into(),
            ));
        }
        Ok(ApiV3Key(bytes))
    }

    /// A new random key of letters and digits.
    pub fn generate() -> ApiV3Key {
        let text = crate::sign::random_string(
            32,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        );
        ApiV3Key::parse(&text).unwrap_or(ApiV3Key([b'0'; 32]))
    }

    /// The key as its 32 characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    /// Encrypts `plaintext`: base64 of ciphertext and tag.
    pub fn encrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<String, PaymentError> {
        let nonce = nonce_of(nonce)?;
        let sealed = self
            .cipher()
            .encrypt(
                nonce,
                Payload {
                    msg: plaintext,
                    aad: associated_data.as_bytes(),
                },
            )
            .map_err(|_| PaymentError::Decrypt)?;
        Ok(B64.encode(sealed))
    }

    /// Decrypts and authenticates a base64 `ciphertext`; any mismatch (key, nonce, associated
    /// data, a flipped bit) is [`PaymentError::Decrypt`].
    pub fn decrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext: &str,
    ) -> Result<Vec<u8>, PaymentError> {
        let nonce = nonce_of(nonce)?;
        let sealed = B64
            .decode(ciphertext.trim())
            .map_err(|_| PaymentError::Decrypt)?;
        self.cipher()
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed,
                    aad: associated_data.as_bytes(),
                },
            )
            .map_err(|_| PaymentError::Decrypt)
    }
}

fn nonce_of(nonce: &str) -> Result<&Nonce<aes_gcm::aead::consts::U12>, PaymentError> {
    if nonce.len() != 12 {
        return Err(PaymentError::Malformed(
            "the resource nonce must be 12 characters".into(),
        ));
    }
    Ok(Nonce::from_slice(nonce.as_bytes()))
}

impl std::fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiV3Key(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let key = ApiV3Key::generate();
        let sealed = key
            .encrypt("0123456789ab", "transaction", b"{\"a\":1}")
            .unwrap();
        assert_eq!(
            key.decrypt("0123456789ab", "transaction", &sealed).unwrap(),
            b"{\"a\":1}"
        );
        assert!(matches!(
            ApiV3Key::generate().decrypt("0123456789ab", "transaction", &sealed),
            Err(PaymentError::Decrypt)
        ));
        assert!(matches!(
            key.decrypt("0123456789ab", "certificate", &sealed),
            Err(PaymentError::Decrypt)
        ));
    }

    #[test]
    fn key_must_be_32_characters() {
        assert!(ApiV3Key::parse("short").is_err());
        assert!(ApiV3Key::parse(&"a".repeat(32)).is_ok());
    }
}

//! The key material of a merchant and of the platform, and the folder `idkiosk paysim --keys DIR`
//! keeps it in, so any client (ours, or PyPI's `wechatpayv3`) can be pointed at the simulator.
//!
//! Files in DIR (documented in docs/payment.md):
//!
//! | file | what | who needs it |
//! |---|---|---|
//! | `merchant.json` | `mchid`, `appid`, `merchant_serial`, `apiv3_key`, `public_key_id` | merchant |
//! | `apiclient_key.pem` | merchant private key, PKCS#8 PEM (RSA-2048) | merchant |
//! | `pub_key.pem` | platform public key, SPKI PEM | merchant |
//! | `apiclient_pub.pem` | merchant public key, SPKI PEM | platform (paysim) |
//! | `platform_key.pem` | platform private key, PKCS#8 PEM | platform (paysim) only |
//!
//! Keys are generated on first use (RSA-2048) and never committed anywhere.

use std::path::{Path, PathBuf};

use rand::Rng;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};

use crate::aead::ApiV3Key;
use crate::sign::{SignKey, VerifyKey};
use crate::PaymentError;

/// What a merchant (the center) holds to call WeChat Pay and check its answers.
#[derive(Clone)]
pub struct MerchantKeys {
    /// 商户号.
    pub mchid: String,
    /// The AppID bound to the merchant.
    pub appid: String,
    /// The merchant's API private key.
    pub merchant_key: RsaPrivateKey,
    /// The serial number of the merchant's API certificate.
    pub merchant_serial: String,
    /// The APIv3 key (callback encryption).
    pub apiv3_key: ApiV3Key,
    /// The platform public key (public-key mode).
    pub platform_public_key: RsaPublicKey,
    /// Its id, the `Wechatpay-Serial` of every signed answer.
    pub public_key_id: String,
}

/// What the platform (paysim) holds.
#[derive(Clone)]
pub struct PlatformKeys {
    /// The merchant it serves.
    pub mchid: String,
    /// The merchant's AppID.
    pub appid: String,
    /// The merchant's public key, to verify requests.
    pub merchant_public_key: RsaPublicKey,
    /// The serial the merchant signs with.
    pub merchant_serial: String,
    /// The APIv3 key.
    pub apiv3_key: ApiV3Key,
    /// The platform's private key, to sign answers and callbacks.
    pub platform_key: RsaPrivateKey,
    /// The platform key's id.
    pub public_key_id: String,
}

impl PlatformKeys {
    /// A signer with the platform key.
    pub fn signer(&self) -> SignKey {
        SignKey::new(self.platform_key.clone())
    }

    /// A verifier of the merchant's requests.
    pub fn merchant_verifier(&self) -> VerifyKey {
        VerifyKey::new(self.merchant_public_key.clone())
    }
}

/// Both sides, as generated together.
#[derive(Clone)]
pub struct KeyPair {
    /// The merchant's side.
    pub merchant: MerchantKeys,
    /// The platform's side.
    pub platform: PlatformKeys,
}

/// The text fields of `merchant.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MerchantFile {
    /// 商户号.
    pub mchid: String,
    /// AppID.
    pub appid: String,
    /// Merchant certificate serial number.
    pub merchant_serial: String,
    /// The 32-character APIv3 key.
    pub apiv3_key: String,
    /// The platform public key's id.
    pub public_key_id: String,
}

const MERCHANT_JSON: &str = "merchant.json";
const MERCHANT_KEY: &str = "apiclient_key.pem";
const MERCHANT_PUB: &str = "apiclient_pub.pem";
const PLATFORM_KEY: &str = "platform_key.pem";
const PLATFORM_PUB: &str = "pub_key.pem";

impl KeyPair {
    /// New material: two RSA-2048 keys, a random mchid, AppID, serial, APIv3 key and key id.
    pub fn generate() -> Result<KeyPair, PaymentError> {
        let mut rng = rand::thread_rng();
        let merchant_key =
            RsaPrivateKey::new(&mut rng, 2048).map_err(|e| PaymentError::Key(e.to_string()))?;
        let platform_key =
            RsaPrivateKey::new(&mut rng, 2048).map_err(|e| PaymentError::Key(e.to_string()))?;
        let mchid = format!("19{:08}", rng.gen_range(0..100_000_000u32));
        let appid = format!("wx{:016x}", rng.gen::<u64>());
        let merchant_serial = crate::sign::random_string(40, b"0123456789ABCDEF");
        let public_key_id = format!(
            "PUB_KEY_ID_01{mchid}{}",
            crate::sign::random_string(20, b"0123456789")
        );
        let file = MerchantFile {
            mchid,
            appid,
            merchant_serial,
            apiv3_key: ApiV3Key::generate().as_str().to_owned(),
            public_key_id,
        };
        KeyPair::assemble(&file, merchant_key, platform_key)
    }

    fn assemble(
        file: &MerchantFile,
        merchant_key: RsaPrivateKey,
        platform_key: RsaPrivateKey,
    ) -> Result<KeyPair, PaymentError> {
        let apiv3_key = ApiV3Key::parse(&file.apiv3_key)?;
        Ok(KeyPair {
            merchant: MerchantKeys {
                mchid: file.mchid.clone(),
                appid: file.appid.clone(),
                merchant_key: merchant_key.clone(),
                merchant_serial: file.merchant_serial.clone(),
                apiv3_key: apiv3_key.clone(),
                platform_public_key: platform_key.to_public_key(),
                public_key_id: file.public_key_id.clone(),
            },
            platform: PlatformKeys {
                mchid: file.mchid.clone(),
                appid: file.appid.clone(),
                merchant_public_key: merchant_key.to_public_key(),
                merchant_serial: file.merchant_serial.clone(),
                apiv3_key,
                platform_key,
                public_key_id: file.public_key_id.clone(),
            },
        })
    }

    /// The `merchant.json` fields.
    pub fn merchant_file(&self) -> MerchantFile {
        MerchantFile {
            mchid: self.merchant.mchid.clone(),
            appid: self.merchant.appid.clone(),
            merchant_serial: self.merchant.merchant_serial.clone(),
            apiv3_key: self.merchant.apiv3_key.as_str().to_owned(),
            public_key_id: self.merchant.public_key_id.clone(),
        }
    }

    /// Reads the material in `dir`, generating and writing it first if `merchant.json` is absent.
    pub fn load_or_generate(dir: &Path) -> Result<KeyPair, PaymentError> {
        if dir.join(MERCHANT_JSON).exists() {
            return KeyPair::load(dir);
        }
        let pair = KeyPair::generate()?;
        pair.write(dir)?;
        Ok(pair)
    }

    /// Reads the material in `dir`.
    pub fn load(dir: &Path) -> Result<KeyPair, PaymentError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| PaymentError::Key(format!("{}: {e}", path.display())))
        };
        let file: MerchantFile = serde_json::from_str(&read(MERCHANT_JSON)?)
            .map_err(|e| PaymentError::Key(format!("{MERCHANT_JSON}: {e}")))?;
        let merchant_key = RsaPrivateKey::from_pkcs8_pem(&read(MERCHANT_KEY)?)
            .map_err(|e| PaymentError::Key(format!("{MERCHANT_KEY}: {e}")))?;
        let platform_key = RsaPrivateKey::from_pkcs8_pem(&read(PLATFORM_KEY)?)
            .map_err(|e| PaymentError::Key(format!("{PLATFORM_KEY}: {e}")))?;
        KeyPair::assemble(&file, merchant_key, platform_key)
    }

    /// Writes every file into `dir` (created 0700 if needed), each readable by its owner only.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, PaymentError> {
        let io =
            |path: &Path, e: std::io::Error| PaymentError::Key(format!("{}: {e}", path.display()));
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            folder.mode(0o700);
        }
        folder.create(dir).map_err(|e| io(dir, e))?;
        let pem = |e: rsa::pkcs8::Error| PaymentError::Key(e.to_string());
        let spki = |e: rsa::pkcs8::spki::Error| PaymentError::Key(e.to_string());
        let json = serde_json::to_string_pretty(&self.merchant_file())
            .map_err(|e| PaymentError::Key(e.to_string()))?
            + "\n";
        let files: [(&str, String); 5] = [
            (MERCHANT_JSON, json),
            (
                MERCHANT_KEY,
                self.merchant
                    .merchant_key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(pem)?
                    .to_string(),
            ),
            (
                MERCHANT_PUB,
                self.platform
                    .merchant_public_key
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(spki)?,
            ),
            (
                PLATFORM_KEY,
                self.platform
                    .platform_key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(pem)?
                    .to_string(),
            ),
            (
                PLATFORM_PUB,
                self.merchant
                    .platform_public_key
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(spki)?,
            ),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            // Every file the owner's only, created so (no moment with a wider mode): the
            // merchant file holds the API v3 key, the key files the private keys (issue 14).
            write_private(&path, text.as_bytes()).map_err(|e| io(&path, e))?;
            written.push(path);
        }
        Ok(written)
    }
}

impl MerchantKeys {
    /// Reads only what a merchant needs from a key folder (`merchant.json`, `apiclient_key.pem`,
    /// `pub_key.pem`).
    pub fn load(dir: &Path) -> Result<MerchantKeys, PaymentError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| PaymentError::Key(format!("{}: {e}", path.display())))
        };
        let file: MerchantFile = serde_json::from_str(&read(MERCHANT_JSON)?)
            .map_err(|e| PaymentError::Key(format!("{MERCHANT_JSON}: {e}")))?;
        Ok(MerchantKeys {
            mchid: file.mchid,
            appid: file.appid,
            merchant_key: RsaPrivateKey::from_pkcs8_pem(&read(MERCHANT_KEY)?)
                .map_err(|e| PaymentError::Key(format!("{MERCHANT_KEY}: {e}")))?,
            merchant_serial: file.merchant_serial,
            apiv3_key: ApiV3Key::parse(&file.apiv3_key)?,
            platform_public_key: RsaPublicKey::from_public_key_pem(&read(PLATFORM_PUB)?)
                .map_err(|e| PaymentError::Key(format!("{PLATFORM_PUB}: {e}")))?,
            public_key_id: file.public_key_id,
        })
    }

    /// A signer with the merchant key.
    pub fn signer(&self) -> SignKey {
        SignKey::new(self.merchant_key.clone())
    }

    /// A verifier of the platform's signatures.
    pub fn platform_verifier(&self) -> VerifyKey {
        VerifyKey::new(self.platform_public_key.clone())
    }
}

/// Writes `bytes` to `path`, created or replaced with mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}

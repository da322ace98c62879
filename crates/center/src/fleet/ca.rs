//! The center's own certificate authority: one ECDSA P-256 CA whose certificate every kiosk and the
//! center trust, a server certificate for the center's TLS listener, and one client certificate per
//! kiosk (subject CN = the kiosk id, extended key usage client authentication).
//!
//! Files in the CA directory (`idkiosk fleet ca init --dir D`):
//!
//! | file | what | mode |
//! |---|---|---|
//! | `ca.pem` | the CA certificate (public; the kiosks' trust anchor) | 0644 |
//! | `ca.key` | the CA's private key (whoever holds it can enrol a kiosk) | 0600 |
//! | `server.pem`, `server.key` | the center's TLS certificate and key | 0644, 0600 |
//! | `kiosks/<id>/kiosk.pem`, `kiosk.key`, `ca.pem` | what enrolment hands the kiosk | 0644, 0600, 0644 |
//!
//! Invariants: `init` never overwrites an existing CA key; serial numbers are 16 random bytes
//! (positive, no leading zero byte) written as lower-case hex, the form the database records and
//! the TLS listener reads back from the peer certificate.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use time::OffsetDateTime;

/// How long a CA certificate is valid.
pub const CA_VALIDITY: Duration = Duration::from_secs(20 * 365 * 86_400);
/// How long a kiosk's or the server's certificate is valid by default.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(2 * 365 * 86_400);

/// What can go wrong with the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `init` found a CA already there.
    #[error("{0} already exists: the CA is initialised (remove the directory to start over)")]
    Exists(PathBuf),
    /// A certificate or key could not be made or parsed.
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// A kiosk id or server name is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// Which input.
        field: &'static str,
        /// Why.
        message: String,
    },
}

/// A certificate issued by the CA with its private key.
#[derive(Clone)]
pub struct Issued {
    /// The subject CN (the kiosk id, or the center's first name).
    pub subject: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
    /// Start of validity, unix seconds.
    pub not_before: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("Issued")
            .field("subject", &self.subject)
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish()
    }
}

impl Issued {
    /// The database row recording this certificate for kiosk [`Issued::subject`].
    pub fn record(&self) -> store::fleet::CertificateRecord {
        store::fleet::CertificateRecord {
            serial: self.serial.clone(),
            kiosk_id: self.subject.clone(),
            issued_at: self.not_before,
            not_after: self.not_after,
            revoked_at: None,
        }
    }
}

/// The CA, loaded from its directory.
pub struct CertificateAuthority {
    dir: PathBuf,
    cert_pem: String,
    key: KeyPair,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// A kiosk id as the fleet accepts it: 1–64 characters of `A–Z a–z 0–9 _ -`.
pub fn check_kiosk_id(kiosk: &str) -> Result<(), CaError> {
    let ok = !kiosk.is_empty()
        && kiosk.len() <= 64
        && kiosk
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(CaError::Invalid {
            field: "kiosk",
            message: format!("{kiosk:?} is not 1–64 characters of A–Z a–z 0–9 _ -"),
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `contents` to `path`; `secret` files are created 0600 (on Unix).
fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), CaError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(contents.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn serial() -> (SerialNumber, String) {
    // A v4 UUID: 122 bits from the operating system's random source.
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    // Positive and without a leading zero, so DER keeps exactly these 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
    (SerialNumber::from_slice(&bytes), hex)
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "idkiosk");
    dn.push(DnType::CommonName, cn);
    dn
}

impl CertificateAuthority {
    /// The CA certificate's path in `dir`.
    pub fn ca_cert_path(dir: &Path) -> PathBuf {
        dir.join("ca.pem")
    }

    /// The CA key's path in `dir`.
    pub fn ca_key_path(dir: &Path) -> PathBuf {
        dir.join("ca.key")
    }

    /// The center's server certificate path in `dir`.
    pub fn server_cert_path(dir: &Path) -> PathBuf {
        dir.join("server.pem")
    }

    /// The center's server key path in `dir`.
    pub fn server_key_path(dir: &Path) -> PathBuf {
        dir.join("server.key")
    }

    /// Where enrolment writes kiosk `kiosk`'s files.
    pub fn kiosk_dir(dir: &Path, kiosk: &str) -> PathBuf {
        dir.join("kiosks").join(kiosk)
    }

    /// A new CA in `dir` (created if missing), with a server certificate for `server_names`
    /// (DNS names or IP addresses; the first is the subject CN). Refuses to replace a CA key.
    pub fn init(
        dir: &Path,
        server_names: &[String],
        now: OffsetDateTime,
    ) -> Result<CertificateAuthority, CaError> {
        let key_path = Self::ca_key_path(dir);
        if key_path.exists() {
            return Err(CaError::Exists(key_path));
        }
        fs::create_dir_all(dir).map_err(io(dir))?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name("idkiosk center CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(serial().0);
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + CA_VALIDITY;
        let cert = params.self_signed(&key)?;
        // The key first, created exclusively: two concurrent inits cannot both succeed.
        {
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&key_path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    CaError::Exists(key_path.clone())
                } else {
                    CaError::Io {
                        path: key_path.clone(),
                        source,
                    }
                }
            })?;
            file.write_all(key.serialize_pem().as_bytes())
                .map_err(io(&key_path))?;
            file.sync_all().map_err(io(&key_path))?;
        }
        write_file(&Self::ca_cert_path(dir), &cert.pem(), false)?;
        let ca = CertificateAuthority {
            dir: dir.to_owned(),
            cert_pem: cert.pem(),
            key,
        };
        let server = ca.issue_server(server_names, now)?;
        ca.write_server(&server)?;
        Ok(ca)
    }

    /// The CA in `dir`.
    pub fn open(dir: &Path) -> Result<CertificateAuthority, CaError> {
        let cert_path = Self::ca_cert_path(dir);
        let key_path = Self::ca_key_path(dir);
        let cert_pem = fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
        let key_pem = fs::read_to_string(&key_path).map_err(io(&key_path))?;
        let key = KeyPair::from_pem(&key_pem)?;
        // Parse once now so a broken file is reported here, not at the first enrolment.
        Issuer::from_ca_cert_pem(&cert_pem, &key)?;
        Ok(CertificateAuthority {
            dir: dir.to_owned(),
            cert_pem,
            key,
        })
    }

    /// The CA's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    fn issue(
        &self,
        subject: &str,
        params: CertificateParams,
        now: OffsetDateTime,
        validity: Duration,
    ) -> Result<Issued, CaError> {
        let mut params = params;
        let (serial, serial_hex) = serial();
        params.distinguished_name = name(subject);
        params.serial_number = Some(serial);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        let not_before = now - time::Duration::minutes(5);
        let not_after = now + validity;
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate()?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Issued {
            subject: subject.to_owned(),
            serial: serial_hex,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            not_before: not_before.unix_timestamp(),
            not_after: not_after.unix_timestamp(),
        })
    }

    /// A client certificate for kiosk `kiosk` (CN = the kiosk id), valid for `validity`.
    pub fn issue_kiosk(
        &self,
        kiosk: &str,
        now: OffsetDateTime,
        validity: Duration,
    ) -> Result<Issued, CaError> {
        check_kiosk_id(kiosk)?;
        let mut params = CertificateParams::default();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(kiosk, params, now, validity)
    }

    /// A server certificate for the center, for `names` (DNS names or IP addresses).
    pub fn issue_server(&self, names: &[String], now: OffsetDateTime) -> Result<Issued, CaError> {
        let Some(first) = names.first() else {
            return Err(CaError::Invalid {
                field: "san",
                message: "the server certificate needs at least one name or address".into(),
            });
        };
        let mut params = CertificateParams::new(names.to_vec())?;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(first, params, now, LEAF_VALIDITY)
    }

    /// Writes the center's server certificate and key into the CA directory.
    pub fn write_server(&self, server: &Issued) -> Result<(), CaError> {
        write_file(&Self::server_key_path(&self.dir), &server.key_pem, true)?;
        write_file(&Self::server_cert_path(&self.dir), &server.cert_pem, false)
    }

    /// Writes what kiosk `issued.subject` needs (`kiosk.pem`, `kiosk.key`, `ca.pem`) under
    /// `kiosks/<id>/`; returns that directory.
    pub fn write_kiosk(&self, issued: &Issued) -> Result<PathBuf, CaError> {
        let dir = Self::kiosk_dir(&self.dir, &issued.subject);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        write_file(&dir.join("kiosk.key"), &issued.key_pem, true)?;
        write_file(&dir.join("kiosk.pem"), &issued.cert_pem, false)?;
        write_file(&dir.join("ca.pem"), &self.cert_pem, false)?;
        Ok(dir)
    }
}

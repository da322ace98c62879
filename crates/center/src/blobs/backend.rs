//! Where the sealed blobs' ciphertext goes: `[center.blobs]` of the bureau's file
//! (docs/configuration.md). The local folder (`--blob-dir`) is the embedded default; a province
//! with replicas uses an S3-compatible object store, reached through `object_store`'s
//! `AmazonS3Builder`. Sealing is unchanged: [`store::BlobStore`] encrypts before it uploads, so
//! the bucket only ever holds ciphertext.
//!
//! The file names no secret: the access key comes from `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY`, or from the `credentials_file` it names ([`S3Credentials`]), read at
//! start; neither is ever printed (their `Debug` hides the secret).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use store::blobs::object_store::aws::AmazonS3Builder;
use store::blobs::object_store::ObjectStore;
use store::{BlobStore, KeyProvider, Store};

/// The environment variable holding the S3 access key id (when no `credentials_file`).
pub const ACCESS_KEY_ID_ENV: &str = "AWS_ACCESS_KEY_ID";
/// The environment variable holding the S3 secret access key (when no `credentials_file`).
pub const SECRET_ACCESS_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";

/// `[center.blobs]`, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobsFile {
    /// `local` (the folder of `--blob-dir`, the default) or `s3`.
    pub store: String,
    /// S3: the endpoint URL (`https://s3.example.gov.cn`; the bucket goes in the path).
    pub endpoint: Option<String>,
    /// S3: the bucket.
    pub bucket: Option<String>,
    /// S3: the region the endpoint signs for (`us-east-1` unless the store says otherwise).
    pub region: Option<String>,
    /// S3: accept an `http://` endpoint (loopback or a closed network only).
    pub allow_http: bool,
    /// S3: a file with `AWS_ACCESS_KEY_ID=…` and `AWS_SECRET_ACCESS_KEY=…` lines, read at start;
    /// absent: those two environment variables.
    pub credentials_file: Option<PathBuf>,
}

impl Default for BlobsFile {
    fn default() -> BlobsFile {
        BlobsFile {
            store: "local".into(),
            endpoint: None,
            bucket: None,
            region: None,
            allow_http: false,
            credentials_file: None,
        }
    }
}

/// `[center.blobs]`, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BlobBackend {
    /// Files under the center's `--blob-dir`.
    #[default]
    Local,
    /// An S3-compatible object store.
    S3(S3Settings),
}

/// Where an S3-compatible store is (no secret here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// The endpoint URL.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The signing region.
    pub region: String,
    /// An `http://` endpoint is allowed.
    pub allow_http: bool,
    /// Where the access key is, if not in the environment.
    pub credentials_file: Option<PathBuf>,
}

/// The default signing region (what most S3-compatible stores accept).
const DEFAULT_REGION: &str = "us-east-1";

impl BlobsFile {
    /// Checks the table; every problem goes to `bad(field, why)` with the field under `blobs.`.
    pub fn check(&self, bad: &mut impl FnMut(&str, &str)) -> BlobBackend {
        let s3_only = [
            ("endpoint", self.endpoint.is_some()),
            ("bucket", self.bucket.is_some()),
            ("region", self.region.is_some()),
            ("allow_http", self.allow_http),
            ("credentials_file", self.credentials_file.is_some()),
        ];
        match self.store.as_str() {
            "local" => {
                for (field, given) in s3_only {
                    if given {
                        bad(&format!("blobs.{field}"), "is only for store = \"s3\"");
                    }
                }
                BlobBackend::Local
            }
            "s3" => {
                let endpoint = self.endpoint.as_deref().unwrap_or("").trim();
                if endpoint.is_empty() {
                    bad("blobs.endpoint", "is required with store = \"s3\"");
                } else if let Some(host) = endpoint.strip_prefix("http://") {
                    if host.is_empty() {
                        bad("blobs.endpoint", "names no host");
                    } else if !self.allow_http {
                        bad(
                            "blobs.endpoint",
                            "is http://: use https://, or set allow_http = true on a closed network",
                        );
                    }
                } else if endpoint.strip_prefix("https://").is_none_or(str::is_empty) {
                    bad("blobs.endpoint", "must be an https:// (or http://) URL");
                }
                let bucket = self.bucket.as_deref().unwrap_or("").trim();
                if bucket.is_empty() {
                    bad("blobs.bucket", "is required with store = \"s3\"");
                } else if let Err(why) = check_bucket(bucket) {
                    bad("blobs.bucket", why);
                }
                let region = self.region.as_deref().unwrap_or(DEFAULT_REGION).trim();
                if region.is_empty() {
                    bad("blobs.region", "must not be empty");
                }
                if let Some(file) = &self.credentials_file {
                    if file.as_os_str().is_empty() {
                        bad("blobs.credentials_file", "must not be empty");
                    }
                }
                BlobBackend::S3(S3Settings {
                    endpoint: endpoint.trim_end_matches('/').to_owned(),
                    bucket: bucket.to_owned(),
                    region: region.to_owned(),
                    allow_http: self.allow_http,
                    credentials_file: self.credentials_file.clone(),
                })
            }
            _ => {
                bad("blobs.store", "must be local or s3");
                BlobBackend::Local
            }
        }
    }
}

/// S3's bucket naming rules: 3–63 characters of `a-z 0-9 . -`, starting and ending with a letter
/// or digit.
fn check_bucket(bucket: &str) -> Result<(), &'static str> {
    let bytes = bucket.as_bytes();
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !(3..=63).contains(&bytes.len())
        || !bytes.iter().all(|&b| edge(b) || b == b'.' || b == b'-')
        || !edge(bytes[0])
        || !edge(bytes[bytes.len() - 1])
    {
        return Err(
            "must be 3-63 characters a-z 0-9 . - starting and ending with a letter or digit",
        );
    }
    Ok(())
}

/// An S3 access key. `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// The access key id.
    pub access_key_id: String,
    secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .finish()
    }
}

impl S3Credentials {
    /// A key id and its secret.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        S3Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    /// The key of `settings`: its `credentials_file` when it names one, else `env`'s
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Errors name what is missing, never a
    /// value.
    pub fn resolve(
        settings: &S3Settings,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<S3Credentials> {
        let (id, secret, source) = match &settings.credentials_file {
            Some(file) => {
                let (id, secret) = read_credentials_file(file)?;
                (
                    id,
                    secret,
                    format!("the credentials file {}", file.display()),
                )
            }
            None => (
                env(ACCESS_KEY_ID_ENV),
                env(SECRET_ACCESS_KEY_ENV),
                "the environment".to_owned(),
            ),
        };
        let present = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        match (present(id), present(secret)) {
            (Some(id), Some(secret)) => Ok(S3Credentials::new(id.trim(), secret.trim())),
            (id, _) => anyhow::bail!(
                "the S3 blob store needs {} in {source}",
                if id.is_none() {
                    ACCESS_KEY_ID_ENV
                } else {
                    SECRET_ACCESS_KEY_ENV
                }
            ),
        }
    }
}

/// The most a credentials file may allow: owner read-write, group read (root:idkiosk 0640, as
/// the packaged env files), nothing for others.
const CREDENTIALS_FILE_MODE: u32 = 0o640;

/// Refuses a credentials file whose mode allows more than [`CREDENTIALS_FILE_MODE`].
fn check_credentials_mode(file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(file)
        .with_context(|| format!("reading the S3 credentials file {}", file.display()))?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & !CREDENTIALS_FILE_MODE != 0 {
        anyhow::bail!(
            "center.blobs.credentials_file {} has mode {mode:04o}: it holds the S3 secret, so at \
             most 0640 (owner read-write, group read, nothing for others): chmod 640 it",
            file.display()
        );
    }
    Ok(())
}

/// The two keys of a credentials file: `NAME=value` lines, blank lines and `#` comments. The
/// file's mode is checked first ([`CREDENTIALS_FILE_MODE`]).
fn read_credentials_file(file: &Path) -> anyhow::Result<(Option<String>, Option<String>)> {
    check_credentials_mode(file)?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the S3 credentials file {}", file.display()))?;
    let (mut id, mut secret) = (None, None);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((name, value)) if name.trim() == ACCESS_KEY_ID_ENV => {
                id = Some(value.trim().to_owned())
            }
            Some((name, value)) if name.trim() == SECRET_ACCESS_KEY_ENV => {
                secret = Some(value.trim().to_owned())
            }
            // The line is not quoted: it may hold a secret.
            _ => anyhow::bail!(
                "the S3 credentials file {} line {}: expected {ACCESS_KEY_ID_ENV}=… or \
                 {SECRET_ACCESS_KEY_ENV}=…",
                file.display(),
                n + 1
            ),
        }
    }
    Ok((id, secret))
}

/// The object store of `settings` with `credentials` (path-style requests, as S3-compatible
/// stores expect). Nothing is sent until it is used.
pub fn s3_object_store(
    settings: &S3Settings,
    credentials: &S3Credentials,
) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let store = AmazonS3Builder::new()
        .with_endpoint(&settings.endpoint)
        .with_bucket_name(&settings.bucket)
        .with_region(&settings.region)
        .with_allow_http(settings.allow_http)
        .with_virtual_hosted_style_request(false)
        .with_access_key_id(&credentials.access_key_id)
        .with_secret_access_key(&credentials.secret_access_key)
        .build()
        .with_context(|| {
            format!(
                "the S3 blob store {} bucket {}",
                settings.endpoint, settings.bucket
            )
        })?;
    Ok(Arc::new(store))
}

/// The center's blob store: metadata in `store`, ciphertext in the local folder `local_dir` or
/// in S3 (credentials from the process's environment or the file). An S3 store is checked at
/// once (the bucket listed), so a wrong endpoint, bucket or key stops the start rather than the
/// first upload.
pub async fn open_blob_store(
    store: Store,
    backend: &BlobBackend,
    local_dir: &Path,
    keys: Arc<dyn KeyProvider>,
) -> anyhow::Result<BlobStore> {
    match backend {
        BlobBackend::Local => BlobStore::local(store, local_dir, keys)
            .with_context(|| format!("the blob folder {}", local_dir.display())),
        BlobBackend::S3(settings) => {
            let credentials = S3Credentials::resolve(settings, |name| std::env::var(name).ok())?;
            let objects = s3_object_store(settings, &credentials)?;
            objects.list_with_delimiter(None).await.with_context(|| {
                format!(
                    "listing the S3 blob bucket {} at {} as {}",
                    settings.bucket, settings.endpoint, credentials.access_key_id
                )
            })?;
            Ok(BlobStore::new(store, objects, keys))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml: &str) -> Result<BlobBackend, Vec<String>> {
        use figment::providers::Format as _;
        let file: BlobsFile = figment::Figment::from(figment::providers::Toml::string(toml))
            .extract()
            .map_err(|e| vec![e.to_string()])?;
        let mut problems = Vec::new();
        let backend =
            file.check(&mut |field: &str, why: &str| problems.push(format!("{field}: {why}")));
        if problems.is_empty() {
            Ok(backend)
        } else {
            Err(problems)
        }
    }

    #[test]
    fn local_is_the_default_and_takes_no_s3_keys() {
        assert_eq!(check(""), Ok(BlobBackend::Local));
        assert_eq!(check("store = \"local\""), Ok(BlobBackend::Local));
        assert_eq!(
            check("bucket = \"b\"\nallow_http = true"),
            Err(vec![
                "blobs.bucket: is only for store = \"s3\"".into(),
                "blobs.allow_http: is only for store = \"s3\"".into(),
            ])
        );
        assert_eq!(
            check("store = \"gcs\""),
            Err(vec!["blobs.store: must be local or s3".into()])
        );
        assert!(check("secret_access_key = \"x\"").is_err(), "unknown key");
    }

    #[test]
    fn s3_needs_an_endpoint_and_a_bucket() {
        let ok = check(
            "store = \"s3\"\nendpoint = \"https://s3.example.gov.cn/\"\nbucket = \"idkiosk-blobs\"",
        );
        assert_eq!(
            ok,
            Ok(BlobBackend::S3(S3Settings {
                endpoint: "https://s3.example.gov.cn".into(),
                bucket: "idkiosk-blobs".into(),
                region: "us-east-1".into(),
                allow_http: false,
                credentials_file: None,
            }))
        );
        assert_eq!(
            check("store = \"s3\""),
            Err(vec![
                "blobs.endpoint: is required with store = \"s3\"".into(),
                "blobs.bucket: is required with store = \"s3\"".into(),
            ])
        );
        assert_eq!(
            check("store = \"s3\"\nendpoint = \"http://127.0.0.1:8333\"\nbucket = \"Blobs_1\""),
            Err(vec![
                "blobs.endpoint: is http://: use https://, or set allow_http = true on a closed network".into(),
                "blobs.bucket: must be 3-63 characters a-z 0-9 . - starting and ending with a letter or digit".into(),
            ])
        );
        assert!(check(
            "store = \"s3\"\nendpoint = \"http://127.0.0.1:8333\"\nbucket = \"b12\"\nallow_http = true"
        )
        .is_ok());
        assert!(check("store = \"s3\"\nendpoint = \"s3.example\"\nbucket = \"b12\"").is_err());
    }

    fn settings(credentials_file: Option<PathBuf>) -> S3Settings {
        S3Settings {
            endpoint: "https://s3.example.gov.cn".into(),
            bucket: "idkiosk-blobs".into(),
            region: "us-east-1".into(),
            allow_http: false,
            credentials_file,
        }
    }

    #[test]
    fn credentials_come_from_the_environment_or_a_file_and_are_never_shown() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI".to_owned()),
            _ => None,
        };
        let found = S3Credentials::resolve(&settings(None), env).unwrap();
        assert_eq!(found, S3Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI"));
        assert!(!format!("{found:?}").contains("wJalrXUtnFEMI"));

        let missing = S3Credentials::resolve(&settings(None), |_| None).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "the S3 blob store needs AWS_ACCESS_KEY_ID in the environment"
        );

        let dir = std::env::temp_dir().join(format!("idkiosk-s3-creds-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s3.credentials");
        std::fs::write(
            &file,
            "# the province's key\nAWS_ACCESS_KEY_ID = AKIDFILE\nAWS_SECRET_ACCESS_KEY=s3cr3t\n",
        )
        .unwrap();
        set_mode(&file, 0o600);
        // The file wins over the environment.
        let found = S3Credentials::resolve(&settings(Some(file.clone())), env).unwrap();
        assert_eq!(found, S3Credentials::new("AKIDFILE", "s3cr3t"));

        std::fs::write(&file, "AWS_ACCESS_KEY_ID=AKIDFILE\n").unwrap();
        let err = S3Credentials::resolve(&settings(Some(file.clone())), env).unwrap_err();
        assert!(err
            .to_string()
            .contains("needs AWS_SECRET_ACCESS_KEY in the credentials file"));

        std::fs::write(&file, "AKIDFILE s3cr3t\n").unwrap();
        let err = S3Credentials::resolve(&settings(Some(file.clone())), env).unwrap_err();
        assert!(err.to_string().contains("line 1"));
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn set_mode(file: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_credentials_file_others_may_read_is_refused() {
        let dir = std::env::temp_dir().join(format!("idkiosk-s3-mode-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s3.credentials");
        std::fs::write(
            &file,
            "AWS_ACCESS_KEY_ID=AKID\nAWS_SECRET_ACCESS_KEY=s3cr3t\n",
        )
        .unwrap();
        let resolve = |mode: u32| {
            set_mode(&file, mode);
            S3Credentials::resolve(&settings(Some(file.clone())), |_| None)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        for allowed in [0o600, 0o640, 0o400, 0o440] {
            assert_eq!(resolve(allowed), Ok(()), "{allowed:o}");
        }
        for refused in [0o644, 0o604, 0o660, 0o620, 0o666, 0o700, 0o641] {
            let err = resolve(refused).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "center.blobs.credentials_file {} has mode {refused:04o}: it holds the S3 \
                     secret, so at most 0640 (owner read-write, group read, nothing for others): \
                     chmod 640 it",
                    file.display()
                )
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! `idkiosk fleet`: the center's certificate authority, kiosk enrolment and revocation, and the
//! center over mutual TLS (docs/fleet.md). `idkiosk kiosk` is the kiosk agent, so enrolment lives
//! here as `idkiosk fleet enrol`.
//!
//! - `fleet ca init --dir D [--san NAME]…` creates the CA (`ca.pem`, `ca.key` 0600) and the
//!   center's server certificate (`server.pem`, `server.key`) for the names given (default
//!   `localhost` and `127.0.0.1`). Refuses to replace an existing CA key.
//! - `fleet server-cert --dir D --san NAME…` reissues the server certificate.
//! - `fleet enrol --dir D --kiosk K0002 [--database URL] [--days N]` issues kiosk K0002 its
//!   client certificate (CN = the kiosk id), records it in the center's database and writes
//!   `D/kiosks/K0002/{kiosk.pem,kiosk.key,ca.pem}` for the kiosk.
//! - `fleet revoke --kiosk K0002 [--database URL] [--serial S]` revokes every certificate of the
//!   kiosk (or one serial); every replica refuses it from its next request on.
//! - `fleet certificates [--database URL]` lists the certificates issued and their state.
//! - `fleet center --ca-dir D …` runs the center with a mutual-TLS listener (`--tls-listen`) and,
//!   unless `--require-client-certificate`, its plain listener (`--listen`) for kiosks still on
//!   shared secrets.
//!
//! One JSON document on standard output. Exit codes: 0 done, 1 refused (nothing to revoke), 2 bad
//! usage, 3 internal failure.

use crate::outcome::Outcome;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use center::fleet::ca::{check_kiosk_id, CaError, CertificateAuthority};
use serde_json::json;
use store::Store;
use time::OffsetDateTime;

use crate::center_setup::{center_state, CenterOptions, WechatOptions};

const DEFAULT_DATABASE: &str = "sqlite://.idkiosk/center/center.db";

/// Arguments of `idkiosk fleet`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(clap::Subcommand)]
enum FleetCommand {
    /// The center's certificate authority
    Ca(CaArgs),
    /// Reissue the center's server certificate
    ServerCert(ServerCertArgs),
    /// Issue a kiosk its client certificate and record it in the center's database
    Enrol(EnrolArgs),
    /// Revoke a kiosk's certificates (or one certificate)
    Revoke(RevokeArgs),
    /// List the certificates issued and whether they are revoked
    Certificates(DatabaseArgs),
    /// Run the center with a mutual-TLS listener for the kiosks
    Center(Box<CenterArgs>),
}

#[derive(clap::Args)]
struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(clap::Subcommand)]
enum CaCommand {
    /// Create the CA and the center's server certificate
    Init(ServerCertArgs),
}

#[derive(clap::Args)]
struct ServerCertArgs {
    /// The CA directory
    #[arg(long)]
    dir: PathBuf,
    /// DNS names and IP addresses of the center (repeat; default localhost and 127.0.0.1)
    #[arg(long)]
    san: Vec<String>,
}

#[derive(clap::Args)]
struct DatabaseArgs {
    /// The center's database: sqlite://FILE or postgres://…
    #[arg(long, default_value = DEFAULT_DATABASE)]
    database: String,
}

#[derive(clap::Args)]
struct EnrolArgs {
    /// The CA directory
    #[arg(long)]
    dir: PathBuf,
    /// The kiosk id (the certificate's CN)
    #[arg(long)]
    kiosk: String,
    /// Validity in days
    #[arg(long, default_value_t = 730)]
    days: u32,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(clap::Args)]
struct RevokeArgs {
    /// The kiosk whose certificates are revoked
    #[arg(long)]
    kiosk: Option<String>,
    /// One certificate's serial (hex) instead
    #[arg(long, conflicts_with = "kiosk")]
    serial: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(clap::Args)]
struct CenterArgs {
    /// The CA directory (ca.pem, server.pem, server.key)
    #[arg(long)]
    ca_dir: PathBuf,
    /// Address of the mutual-TLS listener
    #[arg(long, default_value = "127.0.0.1:7443")]
    tls_listen: String,
    /// Address of the plain listener (shared secrets, /health, the WeChat Pay callback)
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: String,
    /// Refuse shared secrets: kiosks must present a certificate (no plain kiosk calls)
    #[arg(long)]
    require_client_certificate: bool,
    /// The operators' token for /fleet and PUT /v1/fleet/config (or IDKIOSK_FLEET_OPERATOR_TOKEN)
    #[arg(long, env = "IDKIOSK_FLEET_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: Option<String>,
    /// Base URL of the population system's HTTP API
    #[arg(long, default_value = "http://127.0.0.1:7401")]
    popsys: String,
    /// The center's token at the population system (or IDKIOSK_POPSYS_TOKEN)
    #[arg(long, env = "IDKIOSK_POPSYS_TOKEN", hide_env_values = true)]
    popsys_token: Option<String>,
    /// The bureau's configuration file (or IDKIOSK_CONFIG), as for `idkiosk center`
    /// (docs/configuration.md)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The center's database: sqlite://FILE (created) or postgres://…
    #[arg(long, default_value = DEFAULT_DATABASE)]
    database: String,
    /// Kiosks still on shared secrets, `K0001=secret,…` (or IDKIOSK_KIOSK_SECRETS)
    #[arg(long, env = "IDKIOSK_KIOSK_SECRETS", hide_env_values = true)]
    kiosk_secrets: Option<String>,
    /// WeChat Pay gateway base URL
    #[arg(long, requires = "wechat_keys")]
    wechat_url: Option<String>,
    /// The merchant key folder
    #[arg(long, requires = "wechat_url")]
    wechat_keys: Option<PathBuf>,
    /// This center's URL as WeChat Pay reaches it, for callbacks
    #[arg(long)]
    public_url: Option<String>,
    /// Run without the face engine (step 7 answers 503)
    #[arg(long)]
    no_face: bool,
    /// The master key file sealing biometrics and videos
    #[arg(long, default_value = ".idkiosk/center/master.keys")]
    key_file: PathBuf,
    /// Where sealed blobs are kept
    #[arg(long, default_value = ".idkiosk/center/blobs")]
    blob_dir: PathBuf,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn names(san: &[String]) -> Vec<String> {
    if san.is_empty() {
        vec!["localhost".into(), "127.0.0.1".into()]
    } else {
        san.to_vec()
    }
}

async fn open_database(url: &str) -> anyhow::Result<Store> {
    if let Some(dir) = url
        .strip_prefix("sqlite://")
        .and_then(|f| std::path::Path::new(f).parent())
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Store::connect(url)
        .await
        .with_context(|| format!("opening the center database {url}"))
}

/// A usage error (2) or an internal one (3).
fn ca_failure(err: CaError) -> anyhow::Result<Outcome> {
    match err {
        CaError::Invalid { .. } | CaError::Exists(_) => {
            eprintln!("error: {err}");
            Ok(Outcome::Usage)
        }
        other => Err(other.into()),
    }
}

/// Runs `idkiosk fleet …`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        FleetCommand::Ca(CaArgs {
            command: CaCommand::Init(args),
        }) => {
            let names = names(&args.san);
            let ca = match CertificateAuthority::init(&args.dir, &names, now()) {
                Ok(ca) => ca,
                Err(err) => return ca_failure(err),
            };
            println!(
                "{}",
                json!({
                    "ca": CertificateAuthority::ca_cert_path(ca.dir()),
                    "ca_key": CertificateAuthority::ca_key_path(ca.dir()),
                    "server": CertificateAuthority::server_cert_path(ca.dir()),
                    "server_key": CertificateAuthority::server_key_path(ca.dir()),
                    "server_names": names,
                })
            );
            Ok(Outcome::Success)
        }
        FleetCommand::ServerCert(args) => {
            let names = names(&args.san);
            let ca = match CertificateAuthority::open(&args.dir) {
                Ok(ca) => ca,
                Err(err) => return ca_failure(err),
            };
            let server = match ca.issue_server(&names, now()) {
                Ok(server) => server,
                Err(err) => return ca_failure(err),
            };
            ca.write_server(&server)?;
            println!(
                "{}",
                json!({"server": CertificateAuthority::server_cert_path(ca.dir()),
                       "serial": server.serial, "server_names": names})
            );
            Ok(Outcome::Success)
        }
        FleetCommand::Enrol(args) => {
            if let Err(err) = check_kiosk_id(&args.kiosk) {
                return ca_failure(err);
            }
            let ca = match CertificateAuthority::open(&args.dir) {
                Ok(ca) => ca,
                Err(err) => return ca_failure(err),
            };
            let validity = Duration::from_secs(u64::from(args.days.max(1)) * 86_400);
            let issued = match ca.issue_kiosk(&args.kiosk, now(), validity) {
                Ok(issued) => issued,
                Err(err) => return ca_failure(err),
            };
            let store = open_database(&args.database.database).await?;
            store
                .record_certificate(&issued.record())
                .await
                .context("recording the certificate")?;
            let dir = ca.write_kiosk(&issued)?;
            println!(
                "{}",
                json!({
                    "kiosk": issued.subject,
                    "serial": issued.serial,
                    "not_after": OffsetDateTime::from_unix_timestamp(issued.not_after)
                        .ok()
                        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
                    "certificate": dir.join("kiosk.pem"),
                    "key": dir.join("kiosk.key"),
                    "ca": dir.join("ca.pem"),
                })
            );
            Ok(Outcome::Success)
        }
        FleetCommand::Revoke(args) => {
            let store = open_database(&args.database.database).await?;
            let at = now().unix_timestamp();
            let (target, revoked) = match (&args.kiosk, &args.serial) {
                (Some(kiosk), None) => (
                    json!({"kiosk": kiosk}),
                    store.revoke_kiosk(kiosk, at).await?,
                ),
                (None, Some(serial)) => (
                    json!({"serial": serial.to_lowercase()}),
                    u64::from(store.revoke_certificate(&serial.to_lowercase(), at).await?),
                ),
                _ => {
                    eprintln!("error: give --kiosk or --serial");
                    return Ok(Outcome::Usage);
                }
            };
            println!("{}", json!({"revoked": revoked, "target": target}));
            if revoked == 0 {
                eprintln!("nothing revoked: no certificate in force matches");
                return Ok(Outcome::Negative);
            }
            Ok(Outcome::Success)
        }
        FleetCommand::Certificates(args) => {
            let store = open_database(&args.database).await?;
            let certificates: Vec<_> = store
                .certificates()
                .await?
                .into_iter()
                .map(|c| {
                    json!({"kiosk": c.kiosk_id, "serial": c.serial, "issued_at": c.issued_at,
                           "not_after": c.not_after, "revoked_at": c.revoked_at})
                })
                .collect();
            println!("{}", json!({ "certificates": certificates }));
            Ok(Outcome::Success)
        }
        FleetCommand::Center(args) => serve(*args).await,
    }
}

async fn serve(args: CenterArgs) -> anyhow::Result<Outcome> {
    let settings =
        match crate::config::for_start(crate::config::Kind::Center, args.config.as_deref()) {
            Ok(loaded) => loaded.and_then(|loaded| loaded.center()),
            Err(()) => return Ok(Outcome::Usage),
        };
    let Some(settings) = settings else {
        eprintln!(
            "error: --config FILE or {} is required: the bureau's configuration \
             (docs/configuration.md; the demo's is config/demo/center.toml)",
            crate::config::CONFIG_ENV
        );
        return Ok(Outcome::Usage);
    };
    let tls = center::tls::server_config_from_dir(&args.ca_dir)
        .with_context(|| format!("--ca-dir {}", args.ca_dir.display()))?;
    let population =
        crate::center_setup::population_client(&args.popsys, args.popsys_token.clone())
            .with_context(|| format!("--popsys: {}", args.popsys))?
            .context(
                "IDKIOSK_POPSYS_TOKEN is required (the center's token at the population system)",
            )?;
    let kiosk_secrets = args.kiosk_secrets.clone().unwrap_or_default();
    if let Some(dir) = args
        .database
        .strip_prefix("sqlite://")
        .and_then(|f| std::path::Path::new(f).parent())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tls_listener = tokio::net::TcpListener::bind(&args.tls_listen)
        .await
        .with_context(|| format!("listening on {}", args.tls_listen))?;
    let plain_listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let tls_address = tls_listener.local_addr()?;
    let plain_address = plain_listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{plain_address}"));
    let wechat = match (&args.wechat_url, &args.wechat_keys) {
        (Some(base_url), Some(keys_dir)) => Some(WechatOptions {
            base_url: base_url.clone(),
            keys_dir: keys_dir.clone(),
            notify_url: format!("{public_url}/v1/payments/wechat/notify"),
        }),
        _ => None,
    };
    let mut state = center_state(
        Arc::new(population),
        CenterOptions {
            database_url: args.database.clone(),
            settings,
            kiosk_secrets,
            wechat,
            face: !args.no_face,
            key_file: args.key_file.clone(),
            blob_dir: args.blob_dir.clone(),
        },
    )
    .await?;
    state.fleet.require_client_certificate = args.require_client_certificate;
    state.fleet.operator_token = args.operator_token.clone().filter(|t| !t.is_empty());
    let app = center::app(state);
    println!(
        "{}",
        json!({
            "center_tls": format!("https://{tls_address}"),
            "center": format!("http://{plain_address}"),
            "require_client_certificate": args.require_client_certificate,
        })
    );
    let tls_task = tokio::spawn(center::tls::serve(tls_listener, tls, app.clone()));
    crate::shutdown::serve(|stop| axum::serve(plain_listener, app).with_graceful_shutdown(stop))
        .await
        .context("serving the center")?;
    tls_task.abort();
    Ok(Outcome::Success)
}

//! `idkiosk center`: runs the center's HTTP API.

use crate::outcome::Outcome;
use std::sync::Arc;

use anyhow::Context;
use center::AppState;

use crate::center_setup::{center_state, CenterOptions, WechatOptions};

/// Arguments of `idkiosk center`: its flags run the center; `idkiosk center blobs …` and
/// `idkiosk center faces …` are tools.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<CenterCommand>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: String,
    /// Base URL of the population system's HTTP API.
    #[arg(long, default_value = "http://127.0.0.1:7401")]
    popsys: String,
    /// The center's token at the population system (or IDKIOSK_POPSYS_TOKEN)
    #[arg(long, env = "IDKIOSK_POPSYS_TOKEN", hide_env_values = true)]
    popsys_token: Option<String>,
    /// The bureau's configuration file (or IDKIOSK_CONFIG): city, bureau, collection offices,
    /// fees, face thresholds, retention… (docs/configuration.md; the demo's is
    /// config/demo/center.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// The center's database: sqlite://FILE (created) or postgres://…
    #[arg(long, default_value = "sqlite://.idkiosk/center/center.db")]
    database: String,
    /// The kiosks allowed to call, `K0001=secret,K0002=secret` (or IDKIOSK_KIOSK_SECRETS)
    #[arg(long, env = "IDKIOSK_KIOSK_SECRETS", hide_env_values = true)]
    kiosk_secrets: Option<String>,
    /// WeChat Pay gateway base URL (paysim's for a test bureau)
    #[arg(long, requires = "wechat_keys")]
    wechat_url: Option<String>,
    /// The merchant key folder (as `idkiosk paysim --keys DIR` writes it)
    #[arg(long, requires = "wechat_url")]
    wechat_keys: Option<std::path::PathBuf>,
    /// This center's URL as WeChat Pay reaches it, for callbacks
    #[arg(long)]
    public_url: Option<String>,
    /// Run without the face engine (step 7 answers 503)
    #[arg(long)]
    no_face: bool,
    /// The master key file sealing biometrics and videos (created on first start)
    #[arg(long, default_value = ".idkiosk/center/master.keys")]
    key_file: std::path::PathBuf,
    /// Where sealed blobs are kept
    #[arg(long, default_value = ".idkiosk/center/blobs")]
    blob_dir: std::path::PathBuf,
    /// The key signing checkpoints of the audit chain's head (created on first start, with
    /// KEY.pub for `idkiosk audit verify`); keep it apart from the database
    #[arg(long, default_value = ".idkiosk/center/audit.key")]
    audit_key: std::path::PathBuf,
    /// The append-only file the signed checkpoints go to (`chattr +a` it, or ship its lines)
    #[arg(long, default_value = ".idkiosk/center/audit.checkpoints")]
    audit_checkpoints: std::path::PathBuf,
    /// A checkpoint after at most this many audit entries (and at least hourly)
    #[arg(long, default_value_t = 100)]
    audit_checkpoint_every: i64,
    /// Mark the staff console's cookies Secure (the console is served over HTTPS by a proxy)
    #[arg(long)]
    staff_secure_cookies: bool,
    /// Absolute lifetime of a staff session, in hours, however active
    #[arg(long, default_value_t = 12)]
    staff_session_hours: i64,
    /// Behind a reverse proxy: the header with the client's address for the login throttle
    /// (e.g. X-Forwarded-For; its last value counts)
    #[arg(long)]
    staff_client_address_header: Option<String>,
}

/// The center's tools.
#[derive(clap::Subcommand)]
enum CenterCommand {
    /// The sealed blobs' store: migrate the local folder to S3
    Blobs(crate::cmd_center_blobs::Args),
    /// Step 7's kept embeddings: describe historical photos ahead of the peak
    Faces(crate::cmd_center_faces::Args),
}

/// Runs `idkiosk center` until SIGTERM or Ctrl-C, or one of its tools.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        Some(CenterCommand::Blobs(blobs)) => return crate::cmd_center_blobs::run(blobs).await,
        Some(CenterCommand::Faces(faces)) => return crate::cmd_center_faces::run(faces).await,
        None => {}
    }
    let (settings, population) = match crate::center_setup::settings_and_population(
        args.config.as_deref(),
        "the bureau's configuration (docs/configuration.md; the demo's is \
         config/demo/center.toml)",
        &args.popsys,
        args.popsys_token.clone(),
    )? {
        Ok(both) => both,
        Err(outcome) => return Ok(outcome),
    };
    let Some(kiosk_secrets) = args.kiosk_secrets.clone() else {
        eprintln!("error: --kiosk-secrets or IDKIOSK_KIOSK_SECRETS is required");
        return Ok(Outcome::Usage);
    };
    if let Some(dir) = args
        .database
        .strip_prefix("sqlite://")
        .and_then(|f| std::path::Path::new(f).parent())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let wechat = match (&args.wechat_url, &args.wechat_keys) {
        (Some(base_url), Some(keys_dir)) => Some(WechatOptions {
            base_url: base_url.clone(),
            keys_dir: keys_dir.clone(),
            notify_url: format!("{public_url}/v1/payments/wechat/notify"),
        }),
        _ => None,
    };
    let mut state: AppState = center_state(
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
    let anchor = store::audit::checkpoint::AuditAnchor::open(
        &args.audit_key,
        &args.audit_checkpoints,
        store::audit::checkpoint::AnchorPolicy {
            every_entries: args.audit_checkpoint_every.max(1),
            every_secs: 3600,
        },
    )
    .context("--audit-key / --audit-checkpoints")?;
    state.staff.audit_anchor = Some(Arc::new(anchor));
    state.staff.secure_cookies = args.staff_secure_cookies;
    state.staff.session_lifetime_secs = args.staff_session_hours.max(1) * 3600;
    state.staff.client_address_header = args.staff_client_address_header.clone();
    tokio::spawn(center::staff::checkpoint_loop(state.clone()));
    println!(
        "{}",
        serde_json::json!({ "center": format!("http://{address}") })
    );
    let app = center::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    crate::shutdown::serve(|stop| axum::serve(listener, app).with_graceful_shutdown(stop))
        .await
        .context("serving the center")?;
    Ok(Outcome::Success)
}

//! Building the center's [`center::AppState`] from configuration: one place for `idkiosk center`
//! and `idkiosk demo`, so both run the same center.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use center::auth::KioskSecrets;
use center::payments::WechatPay;
use center::AppState;

/// What a center needs besides its population system.
pub struct CenterOptions {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The bureau's configuration file, checked: the kiosks' city and [`center::CenterConfig`]
    /// (fees, offices, thresholds, retention…).
    pub settings: center::config::CenterSettings,
    /// `K0001=secret,K0002=secret`.
    pub kiosk_secrets: String,
    /// WeChat Pay: the gateway URL (paysim's in the demo) and the merchant key folder
    /// (`idkiosk paysim --keys DIR`), and this center's public URL for callbacks.
    pub wechat: Option<WechatOptions>,
    /// Load the face engine (fails when the models are missing).
    pub face: bool,
    /// The master key file (created on first start, mode 0600): every photo, fingerprint,
    /// signature and video is sealed under a data key it wraps.
    pub key_file: PathBuf,
    /// Where the sealed blobs' ciphertext lives when `[center.blobs]` says `local` (the default).
    pub blob_dir: PathBuf,
}

/// The environment variable holding the center's token for the population system.
pub const POPSYS_TOKEN_ENV: &str = "IDKIOSK_POPSYS_TOKEN";

/// The center's client of the population system at `url`, sending `token` (the flag or
/// `IDKIOSK_POPSYS_TOKEN`, read by clap); `None` when there is no token at all.
pub fn population_client(
    url: &str,
    token: Option<String>,
) -> anyhow::Result<Option<popsys::HttpPopulationSystem>> {
    let Some(token) = token else {
        return Ok(None);
    };
    let client = popsys::HttpPopulationSystem::new(url)
        .with_context(|| format!("the population system client for {url}"))?;
    Ok(Some(client.with_token(token.trim())))
}

/// The face engine with the bureau's `calibration`: the process-wide engine for the reference
/// calibration, a bureau's own loaded for it. `idkiosk center` and `idkiosk center faces warm`
/// load it alike, so the embeddings one keeps are the other's.
pub fn face_engine(calibration: face::Calibration) -> anyhow::Result<Arc<dyn face::FaceEngine>> {
    let engine = if calibration == face::Calibration::default() {
        face::DlibEngine::shared()
    } else {
        face::DlibEngine::load(&face::ModelPaths::from_env(), calibration).map(Arc::new)
    }
    .context("loading the face engine (run scripts/setup/20-face.sh)")?;
    Ok(engine)
}

/// The bureau's center file (`--config` or `IDKIOSK_CONFIG`), or the exit to take: `Usage` when
/// none is given (the message says what the file is for: `needed_for`) or it does not check,
/// both already explained on standard error.
pub fn center_settings(
    config: Option<&std::path::Path>,
    needed_for: &str,
) -> anyhow::Result<Result<center::config::CenterSettings, crate::outcome::Outcome>> {
    use crate::outcome::Outcome;
    let settings = match crate::config::for_start(crate::config::Kind::Center, config) {
        Ok(Some(loaded)) => loaded.center(),
        Ok(None) => {
            eprintln!(
                "error: --config FILE or {} is required: {needed_for}",
                crate::config::CONFIG_ENV
            );
            return Ok(Err(Outcome::Usage));
        }
        Err(()) => return Ok(Err(Outcome::Usage)),
    };
    match settings {
        Some(settings) => Ok(Ok(settings)),
        None => anyhow::bail!("a center file loaded as another kind"),
    }
}

/// [`center_settings`] and [`population_or_usage`] together: what `idkiosk center` and `idkiosk
/// center faces warm` both start from, or the exit to take.
pub fn settings_and_population(
    config: Option<&std::path::Path>,
    needed_for: &str,
    popsys_url: &str,
    popsys_token: Option<String>,
) -> anyhow::Result<
    Result<(center::config::CenterSettings, popsys::HttpPopulationSystem), crate::outcome::Outcome>,
> {
    let settings = match center_settings(config, needed_for)? {
        Ok(settings) => settings,
        Err(outcome) => return Ok(Err(outcome)),
    };
    Ok(population_or_usage(popsys_url, popsys_token)?.map(|population| (settings, population)))
}

/// The center's client of the population system at `url` with `token`, or `Usage` (explained on
/// standard error) when there is no token.
fn population_or_usage(
    url: &str,
    token: Option<String>,
) -> anyhow::Result<Result<popsys::HttpPopulationSystem, crate::outcome::Outcome>> {
    match population_client(url, token).with_context(|| format!("--popsys: {url}"))? {
        Some(client) => Ok(Ok(client)),
        None => {
            eprintln!(
                "error: --popsys-token or {POPSYS_TOKEN_ENV} is required (the center's token at \
                 the population system)"
            );
            Ok(Err(crate::outcome::Outcome::Usage))
        }
    }
}

/// The token in `file`, or a new one written there (mode 0600) on first use (the demo's).
#[cfg(feature = "sim")]
pub fn token_file(file: &std::path::Path) -> anyhow::Result<String> {
    if let Ok(text) = std::fs::read_to_string(file) {
        let text = text.trim();
        if !text.is_empty() {
            return Ok(text.to_owned());
        }
    }
    // 32 random bytes, 64 hex digits (the same draw as a studio's secret).
    let token = popsys::studio::new_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .with_context(|| format!("writing {}", file.display()))?;
    std::io::Write::write_all(&mut out, format!("{token}\n").as_bytes())
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(token)
}

/// WeChat Pay settings.
pub struct WechatOptions {
    /// The gateway's base URL.
    pub base_url: String,
    /// The merchant key folder.
    pub keys_dir: PathBuf,
    /// The URL WeChat Pay calls back (`…/v1/payments/wechat/notify`).
    pub notify_url: String,
}

/// Opens the database and builds the state; loads fonts, the face engine and the merchant keys.
pub async fn center_state(
    population: Arc<dyn popsys::PopulationSystem>,
    options: CenterOptions,
) -> anyhow::Result<AppState> {
    let keys: Arc<dyn store::KeyProvider> = Arc::new(
        if options.key_file.exists() {
            store::FileKeyProvider::open(&options.key_file)
        } else {
            store::FileKeyProvider::create(&options.key_file)
        }
        .with_context(|| format!("the master key file {}", options.key_file.display()))?,
    );
    let store = store::Store::connect(&options.database_url)
        .await
        .with_context(|| format!("opening the center database {}", options.database_url))?
        .with_cipher(Arc::new(store::EnvelopeCipher::new(keys.clone())));
    // `[center.blobs]`: the local folder (`--blob-dir`) or an S3-compatible store.
    let blobs = center::blobs::open_blob_store(
        store.clone(),
        &options.settings.blobs,
        &options.blob_dir,
        keys,
    )
    .await?;
    let kiosks = KioskSecrets::parse(&options.kiosk_secrets)
        .map_err(|e| anyhow::anyhow!("kiosk secrets: {e}"))?;
    let mut state = AppState::new(
        population,
        Arc::new(crate::clock::checked_today_source()?),
        options.settings.city,
        kiosks,
        store,
    );
    state.config = options.settings.config;
    state.face_pool = center::faces::FacePool::new(options.settings.face_pool);
    // Session videos are kept `video_retention` (180 days by default), an unfinished session's
    // deleted at its end or kept for audit; the hourly job purges what is older.
    spawn_video_purge(
        blobs.clone(),
        state.config.video_retention,
        state.config.unfinished_video,
    );
    state.blobs = Arc::new(center::blobs::EncryptedBlobSink::new(blobs));
    let fonts =
        documents::Fonts::system().context("loading the document fonts (fonts-noto-cjk)")?;
    state.documents = Some(Arc::new(documents::Renderer::new(fonts)));
    if options.face {
        state.face = Some(face_engine(state.config.face_calibration)?);
    }
    if let Some(wechat) = options.wechat {
        let keys = payment::keys::MerchantKeys::load(&wechat.keys_dir)
            .map_err(|e| anyhow::anyhow!("merchant keys in {}: {e}", wechat.keys_dir.display()))?;
        state.wechat = Some(WechatPay::new(
            &wechat.base_url,
            keys,
            &wechat.notify_url,
            state.clock.clone(),
        ));
    }
    // Completed applications go to the population system from an outbox in the database, so
    // any replica may send them and none is lost to a crash (center::delivery).
    tokio::spawn(center::delivery::run(
        state.clone(),
        center::delivery::DeliverySettings::default(),
    ));
    // The journey after delivery: production progress polled from the population system, and
    // the SMS notices sent from their outbox in a task of their own (center::journey).
    let gateway = center::journey::gateway_from_config(&state.config.sms)?;
    let journey = center::journey::JourneySettings {
        poll: state.config.production_poll,
        ..center::journey::JourneySettings::default()
    };
    center::journey::spawn(&state, gateway, journey);
    Ok(state)
}

/// The retention job: every hour (and at start) deletes session videos older than `retention`,
/// and videos kept for audit older than their own retention (all of them when the policy is to
/// delete: none should be left). Several replicas may run it; each deletion is one statement, so
/// they do not step on each other.
fn spawn_video_purge(
    blobs: store::BlobStore,
    retention: time::Duration,
    unfinished: center::blobs::UnfinishedVideo,
) {
    let audit_retention = match unfinished {
        center::blobs::UnfinishedVideo::KeepForAudit { retention } => retention,
        center::blobs::UnfinishedVideo::Delete => time::Duration::ZERO,
    };
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            let now = time::OffsetDateTime::now_utc();
            for (kind, keep) in [
                (store::blobs::KIND_VIDEO, retention),
                (center::blobs::AUDIT_VIDEO, audit_retention),
            ] {
                match blobs.purge_kind_older_than(kind, now - keep).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, kind, "videos past retention deleted"),
                    Err(e) => tracing::error!(error = %e, kind, "purging old videos"),
                }
            }
        }
    });
}

//! `idkiosk keys`: the master keys of encryption at rest (docs/security.md).
//!
//! - `keys init --file F` creates a key file (mode 0600) with one master key.
//! - `keys rotate --file F [--database URL [--blobs DIR]]` adds a new master key, which becomes
//!   current; with a database, every data key (blob metadata and sealed photo columns) is then
//!   rewrapped under it. Ciphertext is never rewritten; safe while the center runs.
//! - `keys rewrap --file F --database URL` finishes an interrupted rotation.
//! - `keys status --file F [--database URL]` lists the master keys and, with a database, how many
//!   data keys each wraps.
//! - `keys remove --file F --key ID --database URL` removes an old master key once nothing in the
//!   database is wrapped with it.
//! - `keys seal-plain --file F --database URL` seals the photo columns' values stored in plain
//!   (before encryption at rest was turned on).
//!
//! One JSON document on standard output. Exit codes: 0 done, 1 refused or incomplete (a key still
//! in use, data keys that could not be rewrapped), 2 bad usage, 3 internal failure.

use crate::outcome::Outcome;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;
use store::blobs::{
    count_sealed_not_under, rewrap_sealed_columns, seal_plain_columns, RewrapReport,
};
use store::{BlobStore, CryptoError, EnvelopeCipher, FileKeyProvider, KeyProvider, Store};

/// Arguments of `idkiosk keys`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Create a key file (mode 0600) holding one new master key
    Init(FileArgs),
    /// Add a new current master key; with --database, rewrap every data key under it
    Rotate(RewrapArgs),
    /// Rewrap every data key not under the current master key (finish a rotation)
    Rewrap(RewrapArgs),
    /// List the master keys and, with --database, how many data keys each wraps
    Status(StatusArgs),
    /// Remove an old master key once no data key in the database uses it
    Remove(RemoveArgs),
    /// Seal the photo columns' values stored in plain (before encryption was turned on)
    SealPlain(RewrapArgs),
}

#[derive(clap::Args)]
struct FileArgs {
    /// The key file
    #[arg(long)]
    file: PathBuf,
}

#[derive(clap::Args)]
struct RewrapArgs {
    /// The key file
    #[arg(long)]
    file: PathBuf,
    /// Database whose data keys to rewrap: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: Option<String>,
    /// The blob directory (not read: rewrapping touches metadata only; accepted for symmetry
    /// with the center's options)
    #[arg(long)]
    blobs: Option<PathBuf>,
    /// Rows per batch
    #[arg(long, default_value_t = 500)]
    batch: u32,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// The key file
    #[arg(long)]
    file: PathBuf,
    /// Database to count data keys in: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: Option<String>,
}

#[derive(clap::Args)]
struct RemoveArgs {
    /// The key file
    #[arg(long)]
    file: PathBuf,
    /// The master key to remove (as `keys status` lists it)
    #[arg(long)]
    key: String,
    /// The database that must no longer use it: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
}

/// Runs `idkiosk keys`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        KeysCommand::Init(args) => init(args),
        KeysCommand::Rotate(args) => rewrap(args, true).await,
        KeysCommand::Rewrap(args) => {
            if args.database.is_none() {
                return usage("keys rewrap needs --database");
            }
            rewrap(args, false).await
        }
        KeysCommand::Status(args) => status(args).await,
        KeysCommand::Remove(args) => remove(args).await,
        KeysCommand::SealPlain(args) => seal_plain(args).await,
    }
}

fn usage(message: impl std::fmt::Display) -> anyhow::Result<Outcome> {
    eprintln!("error: {message}");
    Ok(Outcome::Usage)
}

fn print(value: &serde_json::Value) {
    println!("{value}");
}

/// Opens the key file; a missing or unsafe file is a usage error (exit 2), reported here.
fn open_keys(file: &PathBuf) -> Result<Arc<FileKeyProvider>, Outcome> {
    FileKeyProvider::open(file).map(Arc::new).map_err(|err| {
        eprintln!("error: {err}");
        Outcome::Usage
    })
}

fn init(args: FileArgs) -> anyhow::Result<Outcome> {
    if args.file.exists() {
        return usage(format!(
            "{} exists: a key file is never overwritten (use keys rotate)",
            args.file.display()
        ));
    }
    let keys = match FileKeyProvider::create(&args.file) {
        Ok(keys) => keys,
        Err(err @ CryptoError::KeyFile { .. }) => return usage(err),
        Err(err) => return Err(err.into()),
    };
    print(&json!({
        "file": args.file.display().to_string(),
        "current": keys.current_key_id()?,
    }));
    Ok(Outcome::Success)
}

fn report_json(report: &RewrapReport) -> serde_json::Value {
    json!({
        "target": report.target_key_id,
        "rewrapped": report.rewrapped,
        "skipped": report.skipped,
        "failed": report.failed.iter().map(|(a, b, err)| json!([a, b, err])).collect::<Vec<_>>(),
    })
}

async fn rewrap(args: RewrapArgs, rotate: bool) -> anyhow::Result<Outcome> {
    let keys = match open_keys(&args.file) {
        Ok(keys) => keys,
        Err(code) => return Ok(code),
    };
    let previous = keys.current_key_id()?;
    let current = if rotate {
        keys.rotate().context("cannot add a master key")?
    } else {
        previous.clone()
    };
    let mut out = json!({
        "file": args.file.display().to_string(),
        "previous": previous,
        "current": current,
    });
    let Some(url) = args.database else {
        eprintln!(
            "note: no --database given: data keys stay wrapped under the older keys until \
             `idkiosk keys rewrap --database URL` runs; do not remove them before"
        );
        print(&out);
        return Ok(Outcome::Success);
    };
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let provider: Arc<dyn KeyProvider> = keys.clone();
    // Rewrapping reads and writes metadata rows only, so no object store is needed.
    let blobs = BlobStore::new(
        store.clone(),
        Arc::new(store::blobs::object_store::memory::InMemory::new()),
        provider.clone(),
    );
    let blob_report = blobs
        .rewrap_all(args.batch)
        .await
        .context("cannot rewrap the blob data keys")?;
    let cipher = EnvelopeCipher::new(provider);
    let column_report = rewrap_sealed_columns(&store, &cipher, args.batch)
        .await
        .context("cannot rewrap the sealed columns")?;
    store.close().await;
    let complete = blob_report.failed.is_empty() && column_report.failed.is_empty();
    out["blobs"] = report_json(&blob_report);
    out["sealed_columns"] = report_json(&column_report);
    out["complete"] = json!(complete);
    print(&out);
    Ok(if complete {
        Outcome::Success
    } else {
        eprintln!("error: some data keys could not be rewrapped (see \"failed\"); keep every old master key");
        Outcome::Negative
    })
}

async fn usage_in(
    store: &Store,
    keys: &FileKeyProvider,
) -> anyhow::Result<(Vec<(String, u64)>, u64)> {
    let provider: Arc<dyn KeyProvider> = Arc::new(FileKeyProvider::open(keys.path())?);
    let blobs = BlobStore::new(
        store.clone(),
        Arc::new(store::blobs::object_store::memory::InMemory::new()),
        provider,
    );
    let by_key = blobs.key_usage().await?;
    let sealed_elsewhere = count_sealed_not_under(store, &keys.current_key_id()?).await?;
    Ok((by_key, sealed_elsewhere))
}

async fn status(args: StatusArgs) -> anyhow::Result<Outcome> {
    let keys = match open_keys(&args.file) {
        Ok(keys) => keys,
        Err(code) => return Ok(code),
    };
    let listed: Vec<_> = keys
        .status()
        .into_iter()
        .map(|k| {
            json!({
                "id": k.id,
                "version": k.version,
                "created": k.created,
                "current": k.current,
            })
        })
        .collect();
    let mut out = json!({
        "file": args.file.display().to_string(),
        "keys": listed,
    });
    if let Some(url) = args.database {
        let store = Store::connect(&url)
            .await
            .with_context(|| format!("cannot open {url}"))?;
        let (by_key, sealed_elsewhere) = usage_in(&store, &keys).await?;
        store.close().await;
        let known = keys.key_ids();
        out["blobs_by_key"] = by_key
            .iter()
            .map(|(id, n)| (id.clone(), json!(n)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        out["blobs_under_unknown_keys"] = json!(by_key
            .iter()
            .filter(|(id, _)| !known.contains(id))
            .map(|(_, n)| n)
            .sum::<u64>());
        out["sealed_values_not_under_current"] = json!(sealed_elsewhere);
    }
    print(&out);
    Ok(Outcome::Success)
}

async fn remove(args: RemoveArgs) -> anyhow::Result<Outcome> {
    let keys = match open_keys(&args.file) {
        Ok(keys) => keys,
        Err(code) => return Ok(code),
    };
    if !keys.key_ids().contains(&args.key) {
        return usage(format!(
            "{} holds no master key {}",
            args.file.display(),
            args.key
        ));
    }
    if keys.current_key_id()? == args.key {
        return usage(format!("{} is the current master key", args.key));
    }
    let store = Store::connect(&args.database)
        .await
        .with_context(|| format!("cannot open {}", args.database))?;
    let (by_key, sealed_elsewhere) = usage_in(&store, &keys).await?;
    store.close().await;
    let in_blobs = by_key
        .iter()
        .find(|(id, _)| *id == args.key)
        .map_or(0, |(_, n)| *n);
    if in_blobs > 0 || sealed_elsewhere > 0 {
        eprintln!(
            "error: refused: {in_blobs} blob(s) and {sealed_elsewhere} sealed value(s) are not \
             yet under the current master key; run `idkiosk keys rewrap` first"
        );
        print(&json!({ "removed": false, "blobs": in_blobs, "sealed_values": sealed_elsewhere }));
        return Ok(Outcome::Negative);
    }
    keys.remove(&args.key)?;
    print(&json!({ "removed": true, "key": args.key, "current": keys.current_key_id()? }));
    Ok(Outcome::Success)
}

async fn seal_plain(args: RewrapArgs) -> anyhow::Result<Outcome> {
    let Some(url) = args.database else {
        return usage("keys seal-plain needs --database");
    };
    let keys = match open_keys(&args.file) {
        Ok(keys) => keys,
        Err(code) => return Ok(code),
    };
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let cipher = EnvelopeCipher::new(keys);
    let report = seal_plain_columns(&store, &cipher, args.batch)
        .await
        .context("cannot seal the plain values")?;
    store.close().await;
    let mut out = report_json(&report);
    out["sealed"] = json!(report.rewrapped);
    print(&out);
    Ok(if report.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

/// `store` sealing its photo columns under the key file `key_file` (created, mode 0600, on first
/// use): the population system's store in `idkiosk demo` and `idkiosk popsys serve`, as the
/// center's. Values stored in plain before (a database seeded without a key file) are sealed
/// first; safe to repeat, and a scan that finds nothing on a sealed database.
pub(crate) async fn sealed_store(
    store: Store,
    key_file: &std::path::Path,
) -> anyhow::Result<Store> {
    let keys = if key_file.exists() {
        FileKeyProvider::open(key_file)
    } else {
        FileKeyProvider::create(key_file)
    }
    .with_context(|| format!("the master key file {}", key_file.display()))?;
    let cipher = EnvelopeCipher::new(Arc::new(keys));
    let report = seal_plain_columns(&store, &cipher, 500)
        .await
        .context("sealing photos stored in plain")?;
    if report.rewrapped > 0 {
        tracing::info!(
            sealed = report.rewrapped,
            "photos stored in plain are now sealed"
        );
    }
    Ok(store.with_cipher(Arc::new(cipher)))
}

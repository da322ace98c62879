//! `idkiosk audit`: the staff audit chain (docs/staff.md).
//!
//! - `audit verify --database URL [--checkpoints FILE --public-key FILE]` walks the chain from
//!   entry 1: `audit chain ok: N entries` (exit 0) or `audit chain broken at entry #K: <why>`
//!   (exit 1). With checkpoints, every signed checkpoint of FILE must verify under the public key
//!   and the chain must reach each one's entry with its head hash: an emptied, rewound or rewritten
//!   chain fails, naming the checkpoint. Without, a warning says so.
//! - `audit keygen --key FILE` creates the checkpoint signing key (0600) and `FILE.pub`.
//! - `audit checkpoint --database URL --key FILE --checkpoints FILE` appends a signed checkpoint of
//!   the current head now (the center writes them itself, see `idkiosk center --audit-key`).
//! - `audit export --database URL [--from DAY] [--to DAY] [--format csv|json] [--out FILE]`
//!   writes the entries whose time falls in `[from 00:00, to 24:00)` (China Standard Time days,
//!   `YYYY-MM-DD`), oldest first, to FILE or standard output.
//!
//! Exit codes: 0 done, 1 chain broken, 2 bad usage, 3 internal failure.

use crate::outcome::Outcome;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use store::audit::checkpoint::{
    self, AnchorPolicy, Anchored, AuditAnchor, CheckpointError, CheckpointPublicKey,
    CheckpointSigner,
};
use store::audit::Verification;
use store::Store;

/// Arguments of `idkiosk audit`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and name the first edited, removed or reordered entry
    Verify(VerifyArgs),
    /// Write the audit entries (optionally of a date range) as CSV or JSON
    Export(ExportArgs),
    /// Create the key that signs checkpoints of the chain's head (and KEY.pub)
    Keygen(KeygenArgs),
    /// Append a signed checkpoint of the chain's current head to the checkpoint file
    Checkpoint(CheckpointArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
    /// The checkpoint file the center appends to (`idkiosk center --audit-checkpoints`)
    #[arg(long, requires = "public_key")]
    checkpoints: Option<PathBuf>,
    /// The checkpoint key's public half (KEY.pub, 64 hex digits), or the key itself
    #[arg(long, requires = "checkpoints")]
    public_key: Option<PathBuf>,
}

#[derive(clap::Args)]
struct KeygenArgs {
    /// The key file to create (never overwritten)
    #[arg(long)]
    key: PathBuf,
}

#[derive(clap::Args)]
struct CheckpointArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
    /// The checkpoint signing key
    #[arg(long)]
    key: PathBuf,
    /// The checkpoint file to append to
    #[arg(long)]
    checkpoints: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
    /// First day (YYYY-MM-DD, China Standard Time), inclusive
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD, China Standard Time), inclusive
    #[arg(long)]
    to: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Output file (default: standard output)
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `idkiosk audit`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        AuditCommand::Verify(args) => verify(args).await,
        AuditCommand::Export(args) => export(args).await,
        AuditCommand::Keygen(args) => keygen(args),
        AuditCommand::Checkpoint(args) => checkpoint(args).await,
    }
}

fn keygen(args: KeygenArgs) -> anyhow::Result<Outcome> {
    if args.key.exists() {
        eprintln!(
            "error: {} exists (a key is never overwritten)",
            args.key.display()
        );
        return Ok(Outcome::Negative);
    }
    let signer = CheckpointSigner::create(&args.key)?;
    println!(
        "checkpoint key written to {} (keep it apart from the database); public key {} in {}",
        args.key.display(),
        signer.public_key().to_hex(),
        checkpoint::public_key_path(&args.key).display()
    );
    Ok(Outcome::Success)
}

async fn checkpoint(args: CheckpointArgs) -> anyhow::Result<Outcome> {
    let anchor = AuditAnchor::open(&args.key, &args.checkpoints, AnchorPolicy::default())
        .context("opening the checkpoint key and file")?;
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let head = store
        .audit_head()
        .await
        .context("reading the chain's head")?;
    store.close().await;
    let (entries, hash) = head.unwrap_or((0, store::audit::GENESIS.to_owned()));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match anchor.offer(entries, &hash, now, true)? {
        Anchored::Written(written) => {
            println!(
                "{} written to {}",
                written.describe(),
                args.checkpoints.display()
            );
            Ok(Outcome::Success)
        }
        Anchored::Behind { last } => {
            println!(
                "refused: the chain's head is at entry {entries}, behind the last {}",
                last.describe()
            );
            Ok(Outcome::Negative)
        }
        Anchored::NotDue => Ok(Outcome::Success),
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let checkpoints = match (&args.checkpoints, &args.public_key) {
        (Some(file), Some(key_file)) => {
            let key = CheckpointPublicKey::from_file(key_file)?;
            match checkpoint::read_checkpoints(file, &key) {
                Ok(checkpoints) if checkpoints.is_empty() => {
                    println!(
                        "audit chain not verified: {} holds no checkpoint",
                        file.display()
                    );
                    return Ok(Outcome::Negative);
                }
                Ok(checkpoints) => Some(checkpoints),
                Err(err @ CheckpointError::BadLine { .. }) => {
                    println!("audit checkpoints broken: {err}");
                    return Ok(Outcome::Negative);
                }
                Err(err) => return Err(err.into()),
            }
        }
        _ => None,
    };
    let result = match &checkpoints {
        Some(checkpoints) => store.verify_audit_anchored(checkpoints).await,
        None => store.verify_audit().await,
    }
    .context("reading the audit chain")?;
    store.close().await;
    Ok(match result {
        Verification::Intact { entries } => {
            match checkpoints
                .as_ref()
                .and_then(|all| all.iter().max_by_key(|c| (c.entries, c.at)))
            {
                Some(latest) => println!(
                    "audit chain ok: {entries} entries; {} checkpoints hold, the latest: {}",
                    checkpoints.as_ref().map_or(0, Vec::len),
                    latest.describe()
                ),
                None => {
                    println!("audit chain ok: {entries} entries");
                    eprintln!(
                        "warning: no --checkpoints given: a chain emptied or rewound in the \
                         database cannot be detected"
                    );
                }
            }
            Outcome::Success
        }
        Verification::Broken { entry, why } => {
            println!("audit chain broken at entry #{entry}: {why}");
            Outcome::Negative
        }
    })
}

fn day_start(text: &str) -> Result<i64, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text, &format)
        .map_err(|_| format!("{text:?} is not a YYYY-MM-DD date"))?;
    Ok(day
        .midnight()
        .assume_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .unix_timestamp())
}

async fn export(args: ExportArgs) -> anyhow::Result<Outcome> {
    let from = match args.from.as_deref().map(day_start).transpose() {
        Ok(from) => from.unwrap_or(i64::MIN),
        Err(err) => {
            eprintln!("error: --from: {err}");
            return Ok(Outcome::Usage);
        }
    };
    let to = match args.to.as_deref().map(day_start).transpose() {
        Ok(to) => to.map(|t| t + 86_400).unwrap_or(i64::MAX),
        Err(err) => {
            eprintln!("error: --to: {err}");
            return Ok(Outcome::Usage);
        }
    };
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let entries = store
        .audit_entries(from, to, i64::MAX)
        .await
        .context("reading the audit log")?;
    store.close().await;
    let text = match args.format {
        Format::Csv => store::audit::to_csv(&entries),
        Format::Json => serde_json::to_string_pretty(&entries)? + "\n",
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{} entries written to {}", entries.len(), path.display());
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(Outcome::Success)
}

//! `idkiosk center faces warm`: describes the historical photos of the citizens in a list (one ID
//! number a line, e.g. the cards expiring in the next months, exported by the bureau) and keeps
//! their embeddings in the center's database, as step 7 keeps them on first need
//! (`center::faces::describe_ahead`), so that at the peak their sessions describe only the live
//! and certified photos (issue 18, docs/center.md). Run it off the peak: it takes the face pool's
//! cores (`[center.face] workers`) while it runs. A second run skips what is kept.
//!
//! Standard error: the start, a progress line every `--progress-every` citizens (and at least
//! every 5 s), and each number that failed or was not valid, masked. Standard output: the summary
//! `described N, already kept M, no historical photo K, invalid I, failed F`. Exit codes: 0 none
//! failed or invalid, 1 some did (fix the list or run again), 2 bad usage or configuration (an
//! unreadable list, a SQLite database that does not exist), 3 the database, the key file, the
//! population system's client or the face engine cannot be used.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use center::faces::{describe_ahead, Ahead};
use domain::id::CitizenId;
use futures_util::StreamExt;

use crate::outcome::Outcome;

/// Arguments of `idkiosk center faces`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: FacesCommand,
}

#[derive(clap::Subcommand)]
enum FacesCommand {
    /// Describe the historical photos of the citizens listed (one ID number a line) ahead of
    /// their sessions and keep the embeddings, as step 7 would on first need
    Warm(WarmArgs),
}

#[derive(clap::Args)]
struct WarmArgs {
    /// The ID numbers, one a line (blank lines and lines starting with # are skipped); - for
    /// standard input
    #[arg(long, value_name = "FILE")]
    ids: PathBuf,
    /// The bureau's configuration file (or IDKIOSK_CONFIG): the face pool and calibration
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Base URL of the population system's HTTP API
    #[arg(long, default_value = "http://127.0.0.1:7401")]
    popsys: String,
    /// The center's token at the population system (or IDKIOSK_POPSYS_TOKEN)
    #[arg(long, env = "IDKIOSK_POPSYS_TOKEN", hide_env_values = true)]
    popsys_token: Option<String>,
    /// The center's database (the running center's)
    #[arg(long, default_value = "sqlite://.idkiosk/center/center.db")]
    database: String,
    /// The center's master key file (the embeddings are sealed under it; it must exist)
    #[arg(long, default_value = ".idkiosk/center/master.keys")]
    key_file: PathBuf,
    /// A progress line on standard error after this many citizens (and at least every 5 s)
    #[arg(long, value_name = "N", default_value_t = 500)]
    progress_every: u64,
}

/// Runs `idkiosk center faces …`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        FacesCommand::Warm(args) => warm(args).await,
    }
}

/// What a run did.
#[derive(Debug, Default)]
struct Tally {
    described: u64,
    already_kept: u64,
    no_photo: u64,
    invalid: u64,
    failed: u64,
}

impl Tally {
    fn done(&self) -> u64 {
        self.described + self.already_kept + self.no_photo + self.invalid + self.failed
    }

    fn summary(&self) -> String {
        format!(
            "described {}, already kept {}, no historical photo {}, invalid {}, failed {}",
            self.described, self.already_kept, self.no_photo, self.invalid, self.failed
        )
    }
}

async fn warm(args: WarmArgs) -> anyhow::Result<Outcome> {
    let (settings, population) = match crate::center_setup::settings_and_population(
        args.config.as_deref(),
        "the bureau's file (its face pool and calibration are the center's)",
        &args.popsys,
        args.popsys_token.clone(),
    )? {
        Ok(both) => both,
        Err(outcome) => return Ok(outcome),
    };
    let lines = match read_lines(&args.ids) {
        Ok(lines) => lines,
        Err(err) => {
            eprintln!("error: --ids: {err:#}");
            return Ok(Outcome::Usage);
        }
    };
    // A SQLite path that does not exist would be created empty: the embeddings kept where no
    // center reads them.
    if let Some(file) = args.database.strip_prefix("sqlite://") {
        let file = file.split('?').next().unwrap_or(file);
        if !std::path::Path::new(file).exists() {
            eprintln!(
                "error: --database: no center database at {file}: give the running center's \
                 --database"
            );
            return Ok(Outcome::Usage);
        }
    }
    if !args.key_file.exists() {
        anyhow::bail!(
            "the master key file {} does not exist: give the running center's --key-file (a new \
             key would seal embeddings the center cannot read)",
            args.key_file.display()
        );
    }
    let keys: Arc<dyn store::KeyProvider> = Arc::new(
        store::FileKeyProvider::open(&args.key_file)
            .with_context(|| format!("the master key file {}", args.key_file.display()))?,
    );
    let store = store::Store::connect(&args.database)
        .await
        .with_context(|| format!("opening the center database {}", args.database))?
        .with_cipher(Arc::new(store::EnvelopeCipher::new(keys)));
    let mut state = center::AppState::new(
        Arc::new(population),
        Arc::new(crate::clock::checked_today_source()?),
        settings.city,
        center::auth::KioskSecrets::new(Vec::<(String, String)>::new()),
        store,
    );
    state.config = settings.config;
    let pool = settings.face_pool;
    state.face_pool = center::faces::FacePool::new(pool);
    // The same engine and calibration as the center, so the embeddings are kept under its key.
    state.face = Some(crate::center_setup::face_engine(
        state.config.face_calibration,
    )?);

    let total = lines.len() as u64;
    eprintln!(
        "describing the historical photos of {total} citizens from {} on {} face workers",
        args.ids.display(),
        pool.workers
    );
    let today = state.today.today();
    let state = &state;
    // As many at once as the pool runs, so none is refused for a full queue.
    let mut results =
        futures_util::stream::iter(lines.into_iter().map(|(line, text)| async move {
            let outcome = match CitizenId::parse(&text, today) {
                // An error may quote the number (a URL of the population system's): masked.
                Ok(id) => Some(
                    describe_ahead(state, &id)
                        .await
                        .map_err(|err| err.to_string().replace(id.as_str(), &id.masked())),
                ),
                Err(err) => {
                    eprintln!("invalid: line {line}: {} ({})", err, err.field.as_str());
                    None
                }
            };
            (line, outcome)
        }))
        .buffer_unordered(pool.workers.max(1));
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut last_line = Instant::now();
    while let Some((line, outcome)) = results.next().await {
        match outcome {
            None => tally.invalid += 1,
            Some(Ok(Ahead::Described)) => tally.described += 1,
            Some(Ok(Ahead::AlreadyKept)) => tally.already_kept += 1,
            Some(Ok(Ahead::NoPhoto)) => tally.no_photo += 1,
            Some(Err(error)) => {
                tally.failed += 1;
                eprintln!("failed: line {line}: {error}");
            }
        }
        let done = tally.done();
        if done % args.progress_every.max(1) == 0 || last_line.elapsed() >= Duration::from_secs(5) {
            last_line = Instant::now();
            eprintln!(
                "{done}/{total} citizens, {:.1} s: {}",
                started.elapsed().as_secs_f64(),
                tally.summary()
            );
        }
    }
    println!("{}", tally.summary());
    Ok(Outcome::answer(tally.invalid == 0 && tally.failed == 0))
}

/// The list's numbers with their line numbers (1-based), blank and `#` lines skipped.
fn read_lines(path: &std::path::Path) -> anyhow::Result<Vec<(usize, String)>> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the ID numbers from stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    Ok(text
        .lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim().to_owned()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .collect())
}

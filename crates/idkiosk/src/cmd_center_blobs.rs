//! `idkiosk center blobs migrate`: copies every object of the local blob folder (`--blob-dir`) to
//! the S3 store of the bureau's file (`[center.blobs] store = "s3"`, its key read as the center
//! reads it), as it is: no blob is decrypted or re-encrypted, the database and the master keys are
//! not touched. The work is `center::blobs::migrate`'s; this parses, prints and decides the exit.
//!
//! Standard error: the start, progress lines (`done/total objects, bytes`), each conflict and
//! failure, and the reminder that the local files were kept. Standard output: with `--dry-run`
//! one line per object, then the summary line `copied N, already there M, conflicts K, failed F`.
//! Exit codes: 0 nothing failed and no conflict, 1 a conflict or a failure (run it again), 2 bad
//! usage or configuration, 3 the S3 store or the folder cannot be used.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use center::blobs::migrate::{self, Event, Inventory, MigrateOptions, Outcome as Copy, Progress};
use center::blobs::{s3_object_store, BlobBackend, S3Credentials};

use crate::outcome::Outcome;

/// Arguments of `idkiosk center blobs`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: BlobsCommand,
}

#[derive(clap::Subcommand)]
enum BlobsCommand {
    /// Copy the local blob folder's objects to the S3 store of [center.blobs], verified; nothing
    /// is deleted, and a run again skips what is already there
    Migrate(MigrateArgs),
}

#[derive(clap::Args)]
struct MigrateArgs {
    /// The bureau's configuration file (or IDKIOSK_CONFIG), with [center.blobs] store = "s3"
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The local blob folder to copy from (the center's --blob-dir)
    #[arg(long, default_value = ".idkiosk/center/blobs")]
    blob_dir: PathBuf,
    /// Read and compare, list what would be done, write nothing
    #[arg(long)]
    dry_run: bool,
    /// Replace an object in S3 that differs from the local one (otherwise a conflict, left alone)
    #[arg(long)]
    overwrite: bool,
    /// Objects copied at the same time (each is held in memory while it is copied)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// A progress line on standard error after this many objects (and at least every 5 s)
    #[arg(long, value_name = "N", default_value_t = 100)]
    progress_every: u64,
}

/// Runs `idkiosk center blobs …`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        BlobsCommand::Migrate(args) => migrate(args).await,
    }
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<Outcome> {
    let settings = match crate::center_setup::center_settings(
        args.config.as_deref(),
        "the bureau's file naming the S3 store ([center.blobs] store = \"s3\")",
    )? {
        Ok(settings) => settings,
        Err(outcome) => return Ok(outcome),
    };
    let BlobBackend::S3(s3) = &settings.blobs else {
        let file = args
            .config
            .clone()
            .or_else(|| std::env::var_os(crate::config::CONFIG_ENV).map(PathBuf::from))
            .unwrap_or_default();
        eprintln!(
            "error: {}: center.blobs.store is \"local\": set store = \"s3\" with its endpoint \
             and bucket ([center.blobs], docs/configuration.md) to migrate to it",
            file.display()
        );
        return Ok(Outcome::Usage);
    };
    let credentials = match S3Credentials::resolve(s3, |name| std::env::var(name).ok()) {
        Ok(credentials) => credentials,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(Outcome::Usage);
        }
    };
    let source = match migrate::local_folder(&args.blob_dir) {
        Ok(source) => source,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(Outcome::Usage);
        }
    };
    let target = s3_object_store(s3, &credentials)?;
    let bucket = format!(
        "the S3 blob bucket {} at {} as {}",
        s3.bucket, s3.endpoint, credentials.access_key_id
    );
    migrate::check_target(target.as_ref(), &bucket).await?;

    let objects = migrate::inventory(source.as_ref()).await?;
    let total = Inventory {
        objects: objects.len() as u64,
        bytes: objects.iter().map(|(_, size)| size).sum(),
    };
    eprintln!(
        "{} {} objects ({} bytes) from {} to {bucket}",
        if args.dry_run {
            "dry run: comparing"
        } else {
            "copying"
        },
        total.objects,
        total.bytes,
        args.blob_dir.display()
    );
    let options = MigrateOptions {
        overwrite: args.overwrite,
        dry_run: args.dry_run,
        jobs: usize::from(args.jobs),
    };
    let mut progress = Progress::new(
        total,
        args.progress_every,
        Duration::from_secs(5),
        Instant::now(),
    );
    let report = migrate::migrate(source, target, objects, &options, |event| {
        show(event, args.dry_run);
        if let Some(line) = progress.advance(event.size, Instant::now()) {
            eprintln!("{line}");
        }
    })
    .await?;
    println!("{}", report.summary());
    if !args.dry_run {
        eprintln!(
            "the local files under {} were not deleted: remove them once the center runs on S3 \
             ([center.blobs] store = \"s3\", restarted) and reads its blobs back",
            args.blob_dir.display()
        );
    }
    if !report.conflicts.is_empty() && !args.overwrite {
        eprintln!(
            "{} object(s) in S3 differ from the local file at the same path and were left as \
             they are: find out why, then run again with --overwrite to replace them",
            report.conflicts.len()
        );
    }
    Ok(Outcome::answer(report.complete()))
}

/// One object's line: every object on standard output in a dry run; conflicts and failures on
/// standard error otherwise.
fn show(event: &Event, dry_run: bool) {
    let path = &event.path;
    match (&event.outcome, dry_run) {
        (Copy::Copied { digest, replaced }, true) => {
            let verb = if *replaced { "overwrite" } else { "copy" };
            println!("{verb} {path} ({} bytes)", digest.size);
        }
        (Copy::AlreadyThere { .. }, true) => println!("already there {path}"),
        (Copy::Conflict { local, remote }, true) => {
            println!("conflict {path}: S3 holds {remote}, the local file is {local}")
        }
        (Copy::Failed { error }, true) => println!("failed {path}: {error}"),
        (Copy::Conflict { local, remote }, false) => eprintln!(
            "conflict: {path}: S3 holds {remote}, the local file is {local}: not overwritten"
        ),
        (Copy::Failed { error }, false) => eprintln!("failed: {path}: {error}"),
        (Copy::Copied { .. } | Copy::AlreadyThere { .. }, false) => {}
    }
}

//! Moving the blobs' ciphertext from the local folder (`--blob-dir`) to S3 (`idkiosk center
//! blobs migrate`): every object of the folder is copied as it is, under the same path, so the
//! database's `blobs` rows (which name the object path, the master key id and the wrapped data
//! key) stay right and nothing is decrypted or re-encrypted.
//!
//! The decisions are sans-IO: [`decide`] (what to do with one object, from its [`Digest`] and what
//! the bucket holds) and [`Progress`] (when to print a progress line, the time passed in). The
//! driver [`migrate`] lists the folder, then for each object reads it, looks at the bucket, copies
//! it and reads the copy back (size and SHA-256) before counting it. It never deletes a local file
//! and never replaces a different object in the bucket unless asked to ([`MigrateOptions`]).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use store::blobs::object_store::path::Path as ObjectPath;
use store::blobs::object_store::{self, ObjectStore, ObjectStoreExt, PutPayload};

/// Size and SHA-256 of an object's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            size: bytes.len() as u64,
            sha256: Sha256::digest(bytes).into(),
        }
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes sha256 {}",
            self.size,
            crate::paper::hex(&self.sha256)
        )
    }
}

/// What the bucket holds at an object's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remote {
    /// Nothing.
    Absent,
    /// An object of another size (not read: it cannot be the same).
    OtherSize(u64),
    /// An object of the same size, read and hashed.
    Present(Digest),
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Absent => write!(f, "nothing"),
            Remote::OtherSize(size) => write!(f, "{size} bytes"),
            Remote::Present(digest) => write!(f, "{digest}"),
        }
    }
}

/// What to do with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Copy it: the bucket has nothing at its path.
    Copy,
    /// Nothing: the bucket holds the same bytes (an earlier run copied it).
    AlreadyThere,
    /// Report it and leave both alone: the bucket holds different bytes at its path.
    Conflict,
    /// Replace the bucket's different bytes ([`MigrateOptions::overwrite`]).
    Overwrite,
}

/// What to do with a local object of digest `local` when the bucket holds `remote`.
pub fn decide(local: &Digest, remote: &Remote, options: &MigrateOptions) -> Action {
    match remote {
        Remote::Absent => Action::Copy,
        Remote::Present(digest) if digest == local => Action::AlreadyThere,
        Remote::Present(_) | Remote::OtherSize(_) if options.overwrite => Action::Overwrite,
        Remote::Present(_) | Remote::OtherSize(_) => Action::Conflict,
    }
}

/// How a migration runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Replace an object of the bucket that differs from the local one (else a conflict).
    pub overwrite: bool,
    /// Read and compare, write nothing.
    pub dry_run: bool,
    /// Objects handled at the same time (each is held in memory while it is copied).
    pub jobs: usize,
}

impl Default for MigrateOptions {
    fn default() -> MigrateOptions {
        MigrateOptions {
            overwrite: false,
            dry_run: false,
            jobs: 4,
        }
    }
}

/// How one object ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Copied (or, in a dry run, would be) and, unless a dry run, read back the same.
    Copied {
        /// Its digest.
        digest: Digest,
        /// It replaced a different object ([`Action::Overwrite`]).
        replaced: bool,
    },
    /// The bucket already holds the same bytes.
    AlreadyThere {
        /// Its digest.
        digest: Digest,
    },
    /// The bucket holds different bytes; nothing was written.
    Conflict {
        /// The local object's digest.
        local: Digest,
        /// What the bucket holds.
        remote: Remote,
    },
    /// It could not be read, copied or verified.
    Failed {
        /// Why.
        error: String,
    },
}

/// One object handled, in the order they finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its path, the same in the folder and the bucket (`kind/date/random`).
    pub path: String,
    /// Its size in the folder's listing (what progress counts, copied or not).
    pub size: u64,
    /// How it ended.
    pub outcome: Outcome,
}

/// The objects a migration found in the folder, before any is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inventory {
    /// How many.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrateReport {
    /// It was a dry run: `copied` counts what would be.
    pub dry_run: bool,
    /// Objects copied and verified (or to be copied, in a dry run).
    pub copied: u64,
    /// Of those, objects that replaced a different one.
    pub replaced: u64,
    /// Their bytes.
    pub bytes_copied: u64,
    /// Objects the bucket already held, the same.
    pub already_there: u64,
    /// Paths where the bucket holds different bytes (not overwritten).
    pub conflicts: Vec<String>,
    /// Paths that could not be copied, with why.
    pub failed: Vec<(String, String)>,
}

impl MigrateReport {
    /// Counts `event`.
    pub fn record(&mut self, event: &Event) {
        match &event.outcome {
            Outcome::Copied { digest, replaced } => {
                self.copied += 1;
                self.replaced += u64::from(*replaced);
                self.bytes_copied += digest.size;
            }
            Outcome::AlreadyThere { .. } => self.already_there += 1,
            Outcome::Conflict { .. } => self.conflicts.push(event.path.clone()),
            Outcome::Failed { error } => self.failed.push((event.path.clone(), error.clone())),
        }
    }

    /// Nothing failed and no conflict is left.
    pub fn complete(&self) -> bool {
        self.conflicts.is_empty() && self.failed.is_empty()
    }

    /// `copied N, already there M, conflicts K, failed F` (`would copy N…` in a dry run).
    pub fn summary(&self) -> String {
        format!(
            "{} {}, already there {}, conflicts {}, failed {}",
            if self.dry_run { "would copy" } else { "copied" },
            self.copied,
            self.already_there,
            self.conflicts.len(),
            self.failed.len()
        )
    }
}

/// When to show progress: after every `every_objects` objects, or when `every` has passed since
/// the last line, whichever comes first, and at the end. The caller passes the time in.
#[derive(Debug, Clone)]
pub struct Progress {
    total: Inventory,
    done: u64,
    bytes: u64,
    every_objects: u64,
    every: Duration,
    last_line: Instant,
    since_line: u64,
}

impl Progress {
    /// Progress through `total`, started at `now`.
    pub fn new(total: Inventory, every_objects: u64, every: Duration, now: Instant) -> Progress {
        Progress {
            total,
            done: 0,
            bytes: 0,
            every_objects: every_objects.max(1),
            every,
            last_line: now,
            since_line: 0,
        }
    }

    /// One more object of `bytes` done at `now`: the line to show, if one is due.
    pub fn advance(&mut self, bytes: u64, now: Instant) -> Option<String> {
        self.done += 1;
        self.bytes += bytes;
        self.since_line += 1;
        let due = self.since_line >= self.every_objects
            || now.saturating_duration_since(self.last_line) >= self.every
            || self.done == self.total.objects;
        due.then(|| {
            self.last_line = now;
            self.since_line = 0;
            self.line()
        })
    }

    /// `done/total objects, bytes/total bytes`.
    pub fn line(&self) -> String {
        format!(
            "{}/{} objects, {}/{} bytes",
            self.done, self.total.objects, self.bytes, self.total.bytes
        )
    }
}

/// The blob folder `dir` as an object store, read-only in use. It must exist: a missing folder is
/// a wrong `--blob-dir`, not an empty migration.
pub fn local_folder(dir: &Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
    if !dir.is_dir() {
        anyhow::bail!(
            "the blob folder {} does not exist or is not a folder (--blob-dir)",
            dir.display()
        );
    }
    let objects = object_store::local::LocalFileSystem::new_with_prefix(dir)
        .with_context(|| format!("the blob folder {}", dir.display()))?;
    Ok(Arc::new(objects))
}

/// Lists every object of `source` (a local folder skips its uploads in progress).
pub async fn inventory(source: &dyn ObjectStore) -> anyhow::Result<Vec<(ObjectPath, u64)>> {
    let mut listing = source.list(None);
    let mut objects = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta = meta.context("listing the blob folder")?;
        objects.push((meta.location, meta.size));
    }
    objects.sort();
    Ok(objects)
}

/// Copies `objects` (from [`inventory`]) from `source` to `target`, `options.jobs` at a time;
/// `on_event` sees each object as it finishes. Fails only when the work cannot go on (a task
/// panicked); a failed object is in the report.
pub async fn migrate(
    source: Arc<dyn ObjectStore>,
    target: Arc<dyn ObjectStore>,
    objects: Vec<(ObjectPath, u64)>,
    options: &MigrateOptions,
    mut on_event: impl FnMut(&Event),
) -> anyhow::Result<MigrateReport> {
    let mut report = MigrateReport {
        dry_run: options.dry_run,
        ..MigrateReport::default()
    };
    let mut running = tokio::task::JoinSet::new();
    let mut pending = objects.into_iter();
    loop {
        while running.len() < options.jobs.max(1) {
            let Some((path, size)) = pending.next() else {
                break;
            };
            let (source, target, options) = (source.clone(), target.clone(), options.clone());
            running.spawn(async move {
                let outcome = copy_one(source.as_ref(), target.as_ref(), &path, &options).await;
                Event {
                    path: path.to_string(),
                    size,
                    outcome,
                }
            });
        }
        let Some(finished) = running.join_next().await else {
            return Ok(report);
        };
        let event = finished.context("a copy task failed")?;
        report.record(&event);
        on_event(&event);
    }
}

/// Reads, decides, copies and verifies one object.
async fn copy_one(
    source: &dyn ObjectStore,
    target: &dyn ObjectStore,
    path: &ObjectPath,
    options: &MigrateOptions,
) -> Outcome {
    match try_copy_one(source, target, path, options).await {
        Ok(outcome) => outcome,
        Err(err) => Outcome::Failed {
            error: format!("{err:#}"),
        },
    }
}

async fn try_copy_one(
    source: &dyn ObjectStore,
    target: &dyn ObjectStore,
    path: &ObjectPath,
    options: &MigrateOptions,
) -> anyhow::Result<Outcome> {
    let bytes = source
        .get(path)
        .await
        .context("reading the local file")?
        .bytes()
        .await
        .context("reading the local file")?;
    let local = Digest::of(&bytes);
    let remote = remote(target, path, local.size).await?;
    let action = decide(&local, &remote, options);
    let replaced = match action {
        Action::AlreadyThere => return Ok(Outcome::AlreadyThere { digest: local }),
        Action::Conflict => return Ok(Outcome::Conflict { local, remote }),
        Action::Copy => false,
        Action::Overwrite => true,
    };
    if options.dry_run {
        return Ok(Outcome::Copied {
            digest: local,
            replaced,
        });
    }
    target
        .put(path, PutPayload::from(bytes))
        .await
        .context("writing to S3")?;
    let copy = match target.get(path).await {
        Ok(got) => Digest::of(&got.bytes().await.context("reading the copy back")?),
        Err(err) => return Err(err).context("reading the copy back"),
    };
    if copy != local {
        // A copy of ours that reads back wrong is taken away, so the next run copies it again
        // instead of reporting a conflict; one that replaced an object is left for the operator.
        if !replaced {
            let _ = target.delete(path).await;
        }
        anyhow::bail!("the copy reads back as {copy}, the local file is {local}");
    }
    Ok(Outcome::Copied {
        digest: local,
        replaced,
    })
}

/// What `target` holds at `path`, compared with a local object of `size` bytes.
async fn remote(target: &dyn ObjectStore, path: &ObjectPath, size: u64) -> anyhow::Result<Remote> {
    match target.head(path).await {
        Err(object_store::Error::NotFound { .. }) => Ok(Remote::Absent),
        Err(err) => Err(err).context("looking at S3"),
        Ok(meta) if meta.size != size => Ok(Remote::OtherSize(meta.size)),
        Ok(_) => {
            let bytes = target
                .get(path)
                .await
                .context("reading the object in S3")?
                .bytes()
                .await
                .context("reading the object in S3")?;
            Ok(Remote::Present(Digest::of(&bytes)))
        }
    }
}

/// What an S3 error most likely means, for a message that says what to fix.
pub fn explain_s3_error(err: &object_store::Error) -> &'static str {
    let text = format!("{err:?} {err}");
    let has = |needle: &str| text.contains(needle);
    if matches!(err, object_store::Error::NotFound { .. }) || has("NoSuchBucket") {
        "the bucket does not exist (create it, or check [center.blobs] bucket)"
    } else if has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("AccessDenied")
        || has("403")
    {
        "the credentials were refused (check the access key and its secret)"
    } else if has("error sending request") || has("onnect") || has("dns") || has("timed out") {
        "the endpoint cannot be reached (check [center.blobs] endpoint and the network)"
    } else {
        "the S3 store answered with an error"
    }
}

/// Checks that `target` answers: lists its top level, as the center does at start.
pub async fn check_target(target: &dyn ObjectStore, what: &str) -> anyhow::Result<()> {
    match target.list_with_delimiter(None).await {
        Ok(_) => Ok(()),
        // The error's own text once: its sources repeat it.
        Err(err) => Err(anyhow::anyhow!(
            "listing {what}: {}: {err}",
            explain_s3_error(&err)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::blobs::object_store::memory::InMemory;

    fn digest(bytes: &[u8]) -> Digest {
        Digest::of(bytes)
    }

    #[test]
    fn what_to_do_with_one_object() {
        let local = digest(b"sealed");
        let check = |remote: Remote, overwrite: bool, expected: Action| {
            let options = MigrateOptions {
                overwrite,
                ..MigrateOptions::default()
            };
            assert_eq!(decide(&local, &remote, &options), expected, "{remote:?}");
        };
        check(Remote::Absent, false, Action::Copy);
        check(Remote::Absent, true, Action::Copy);
        check(Remote::Present(local), false, Action::AlreadyThere);
        check(Remote::Present(local), true, Action::AlreadyThere);
        check(Remote::Present(digest(b"sealeD")), false, Action::Conflict);
        check(Remote::Present(digest(b"sealeD")), true, Action::Overwrite);
        check(Remote::OtherSize(3), false, Action::Conflict);
        check(Remote::OtherSize(3), true, Action::Overwrite);
    }

    #[test]
    fn progress_every_n_objects_or_every_few_seconds_and_at_the_end() {
        let start = Instant::now();
        let total = Inventory {
            objects: 5,
            bytes: 50,
        };
        let mut progress = Progress::new(total, 2, Duration::from_secs(5), start);
        assert_eq!(progress.advance(10, start), None);
        assert_eq!(
            progress.advance(10, start).as_deref(),
            Some("2/5 objects, 20/50 bytes")
        );
        let later = start + Duration::from_secs(6);
        assert_eq!(
            progress.advance(10, later).as_deref(),
            Some("3/5 objects, 30/50 bytes"),
            "5 s passed"
        );
        assert_eq!(progress.advance(10, later), None);
        assert_eq!(
            progress.advance(10, later).as_deref(),
            Some("5/5 objects, 50/50 bytes"),
            "the last one"
        );
    }

    async fn put(store: &InMemory, path: &str, bytes: &[u8]) {
        store
            .put(&ObjectPath::from(path), PutPayload::from(bytes.to_vec()))
            .await
            .unwrap();
    }

    async fn run(
        source: &Arc<InMemory>,
        target: &Arc<InMemory>,
        options: MigrateOptions,
    ) -> MigrateReport {
        let objects = inventory(source.as_ref()).await.unwrap();
        migrate(source.clone(), target.clone(), objects, &options, |_| {})
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn copies_then_skips_reports_conflicts_and_overwrites_only_when_asked() {
        let source = Arc::new(InMemory::new());
        let target = Arc::new(InMemory::new());
        put(&source, "photo/2026-12-01/aa", b"one").await;
        put(&source, "video/2026-12-01/bb", &[7u8; 5000]).await;
        put(&source, "signature/2026-12-02/cc", b"three").await;
        put(&target, "signature/2026-12-02/cc", b"THREE").await;

        let dry = run(
            &source,
            &target,
            MigrateOptions {
                dry_run: true,
                ..MigrateOptions::default()
            },
        )
        .await;
        assert_eq!(
            dry.summary(),
            "would copy 2, already there 0, conflicts 1, failed 0"
        );
        assert!(target
            .head(&ObjectPath::from("photo/2026-12-01/aa"))
            .await
            .is_err());

        let first = run(&source, &target, MigrateOptions::default()).await;
        assert_eq!(
            first.summary(),
            "copied 2, already there 0, conflicts 1, failed 0"
        );
        assert_eq!(first.bytes_copied, 5003);
        assert_eq!(first.conflicts, ["signature/2026-12-02/cc"]);
        assert!(!first.complete());
        let kept = target
            .get(&ObjectPath::from("signature/2026-12-02/cc"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&kept[..], b"THREE", "not overwritten");

        let again = run(&source, &target, MigrateOptions::default()).await;
        assert_eq!(
            again.summary(),
            "copied 0, already there 2, conflicts 1, failed 0"
        );

        let forced = run(
            &source,
            &target,
            MigrateOptions {
                overwrite: true,
                ..MigrateOptions::default()
            },
        )
        .await;
        assert_eq!(
            forced.summary(),
            "copied 1, already there 2, conflicts 0, failed 0"
        );
        assert_eq!(forced.replaced, 1);
        assert!(forced.complete());
        let replaced = target
            .get(&ObjectPath::from("signature/2026-12-02/cc"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&replaced[..], b"three");
        // The source is never touched.
        assert_eq!(inventory(source.as_ref()).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_missing_blob_folder_is_an_error_naming_it() {
        let err = local_folder(Path::new("/nonexistent/idkiosk-blobs"))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the blob folder /nonexistent/idkiosk-blobs does not exist or is not a folder \
             (--blob-dir)"
        );
    }
}

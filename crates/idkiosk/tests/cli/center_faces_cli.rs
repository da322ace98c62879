//! `idkiosk center faces warm` against a real population system (`idkiosk popsys serve` on the
//! demo citizens with the demo faces) and the real face engine: the listed citizens' historical
//! embeddings are kept in the center's database under the engine's key, sealed by the center's
//! key file; a second run finds them kept; a bad line is reported by its line number without the
//! number (exit 1); a missing key file is refused (exit 3). Without the face models or the demo
//! faces a local run reports the test skipped; CI fails.

use std::process::{Command, Output};
use std::sync::Arc;

use face::{DecodeLimits, FaceEngine, Picture};
use popsys::seed::demo;
use store::face_embeddings::{EmbeddingEngine, PhotoHash};

use crate::support::Running;

const BIN: &str = env!("CARGO_BIN_EXE_idkiosk");
const TODAY: &str = "2026-11-25";
const TOKEN: &str = "warm-token-0123456789";

fn idkiosk(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("IDKIOSK_LOG", "warn")
        .env("IDKIOSK_TODAY", TODAY)
        .env_remove("IDKIOSK_CONFIG")
        .env_remove("IDKIOSK_POPSYS_TOKEN")
        .output()
        .expect("idkiosk runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_keeps_the_listed_historical_embeddings_once() {
    let test = "idkiosk cli center_faces_cli::warm_keeps_the_listed_historical_embeddings_once";
    let Some(engine) = crate::support::demo_face_engine(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let p = |f: &str| dir.path().join(f).display().to_string();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/demo");
    let popsys_db = format!("sqlite://{}", p("popsys.db"));
    let seeded = idkiosk(&[
        "popsys",
        "seed",
        "--db",
        &popsys_db,
        "--citizens",
        "10",
        "--config",
        &format!("{config}/popsys.toml"),
        "--key-file",
        &p("popsys.keys"),
    ]);
    assert!(seeded.status.success(), "{seeded:?}");
    let (mut popsys, popsys_url) = {
        let mut command = Command::new(BIN);
        command
            .args([
                "popsys",
                "serve",
                "--config",
                &format!("{config}/popsys.toml"),
            ])
            .args(["--listen", "127.0.0.1:0", "--db", &popsys_db])
            .args(["--key-file", &p("popsys.keys")])
            .args(["--client-tokens", &format!("center={TOKEN}")])
            .env("IDKIOSK_LOG", "warn")
            .env("IDKIOSK_TODAY", TODAY)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let mut child = command.spawn().expect("popsys starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let running = Running(child);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("popsys prints its URL");
        (running, line.trim().to_owned())
    };
    let key_file = p("master.keys");
    store::FileKeyProvider::create(std::path::Path::new(&key_file)).expect("a key file");
    let database = format!("sqlite://{}", p("center.db"));
    // The center's database, as its first start leaves it.
    store::Store::connect(&database)
        .await
        .unwrap()
        .close()
        .await;
    let ids = dir.path().join("expiring.txt");
    std::fs::write(
        &ids,
        format!(
            "# cards expiring by 2027-05\n{}\n{}\n\n{}\n320104200012100045\n",
            demo::RENEWAL_IN_WINDOW,
            demo::LONG_TERM,
            demo::NO_HISTORY_PHOTO
        ),
    )
    .unwrap();
    let ids_arg = ids.display().to_string();
    let warm_into = |database: &str, key_file: &str| {
        idkiosk(&[
            "center",
            "faces",
            "warm",
            "--ids",
            &ids_arg,
            "--config",
            &format!("{config}/center.toml"),
            "--popsys",
            &popsys_url,
            "--popsys-token",
            TOKEN,
            "--database",
            database,
            "--key-file",
            key_file,
        ])
    };
    let warm = |key_file: &str| warm_into(&database, key_file);

    let first = warm(&key_file);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr),
    );
    println!("{stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        "described 2, already kept 0, no historical photo 1, invalid 1, failed 0"
    );
    assert_eq!(first.status.code(), Some(1), "a bad line is a failure");
    assert!(stderr.contains("invalid: line 6"), "{stderr}");
    assert!(
        !stderr.contains("320104200012100045"),
        "the number is not printed"
    );

    // Kept under the engine's key and the photo's hash, sealed by the key file.
    let keys: Arc<dyn store::KeyProvider> =
        Arc::new(store::FileKeyProvider::open(std::path::Path::new(&key_file)).unwrap());
    let store = store::Store::connect(&database)
        .await
        .unwrap()
        .with_cipher(Arc::new(store::EnvelopeCipher::new(keys)));
    let key = EmbeddingEngine {
        name: engine.name(),
        version: engine.version(),
    };
    for id in [demo::RENEWAL_IN_WINDOW, demo::LONG_TERM] {
        let photo = demo::historical_photo(id).unwrap().expect("a demo photo");
        let kept = store
            .face_embedding(&PhotoHash::of(&photo), key)
            .await
            .unwrap()
            .expect("kept");
        let described = engine
            .describe(
                &Picture::from_bytes("historical_photo", &photo, &DecodeLimits::default()).unwrap(),
            )
            .unwrap()
            .embedding;
        assert_eq!(kept, described.0, "{id}: the embedding step 7 computes");
    }
    store.close().await;

    let second = warm(&key_file);
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        "described 0, already kept 2, no historical photo 1, invalid 1, failed 0"
    );

    let no_database = warm_into(&format!("sqlite://{}", p("elsewhere.db")), &key_file);
    assert_eq!(no_database.status.code(), Some(2), "{no_database:?}");
    assert!(!dir.path().join("elsewhere.db").exists(), "not created");

    let missing = warm(&p("other.keys"));
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("does not exist"),
        "{missing:?}"
    );
    popsys.stop();
}

//! The schema's version on both backends: `store contract (schema): <backend> ok (<n> checks)`.
//! Opening a database migrates it to this binary's schema and says so; a database a newer
//! idkiosk migrated is refused with a message that says what to do, and nothing in it changes.

use std::sync::Arc;

use store::testing::{self, TestDatabase};
use store::{Store, StoreError};

super::checks!(
    SCHEMA_CHECKS:
    a_database_migrated_by_a_newer_binary_is_refused_and_left_alone,
    opening_a_current_database_again_changes_nothing,
);

async fn run_schema_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks("store contract (schema)", SCHEMA_CHECKS, backend, admin_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_schema_sqlite() {
    run_schema_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_schema_postgres() {
    if let Some(url) = testing::postgres_url("store contract (schema)") {
        run_schema_suite("postgres", Some(url)).await;
    }
}

/// A version no binary of today carries (sqlx versions are the migration files' numbers).
const FUTURE: i64 = 9_999;

async fn a_database_migrated_by_a_newer_binary_is_refused_and_left_alone(db: Arc<TestDatabase>) {
    let sealed = if db.url().starts_with("sqlite:") {
        "X'00'"
    } else {
        "'\\x00'::bytea"
    };
    super::behind_the_store(
        &db,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES ({FUTURE}, 'from a newer idkiosk', TRUE, {sealed}, 0)"
        ),
    )
    .await;
    let refused = Store::connect(&db.url()).await;
    match refused {
        Err(err @ StoreError::NewerSchema { database, binary }) => {
            assert_eq!(database, FUTURE);
            assert!((18..FUTURE).contains(&binary), "{binary}");
            let message = err.to_string();
            assert!(
                message.starts_with(&format!(
                    "the database's schema is at migration {FUTURE}, newer than this idkiosk \
                     knows (up to {binary})"
                )),
                "{message}"
            );
            assert!(message.contains("run the newer idkiosk"), "{message}");
        }
        other => panic!("a newer schema was opened: {:?}", other.map(|_| ())),
    }
    // Nothing was migrated or removed: the newer binary's row is still there, alone above ours.
    assert_eq!(
        super::behind_the_store(
            &db,
            &format!(
                "UPDATE _sqlx_migrations SET description = description WHERE version >= {FUTURE}"
            )
        )
        .await,
        1
    );
}

async fn opening_a_current_database_again_changes_nothing(db: Arc<TestDatabase>) {
    let before = super::behind_the_store(
        &db,
        "UPDATE _sqlx_migrations SET description = description WHERE success",
    )
    .await;
    let again = Store::connect(&db.url())
        .await
        .expect("a current database opens");
    again.close().await;
    let after = super::behind_the_store(
        &db,
        "UPDATE _sqlx_migrations SET description = description WHERE success",
    )
    .await;
    assert_eq!(before, after);
    let backend = if db.url().starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let files = std::fs::read_dir(format!(
        "{}/migrations/{backend}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .filter(|entry| entry.as_ref().unwrap().path().extension() == Some(std::ffi::OsStr::new("sql")))
    .count();
    assert_eq!(before, files as u64, "every migration file is applied once");
}

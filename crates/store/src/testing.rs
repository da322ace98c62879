//! Fresh databases for tests, on either backend: a temporary SQLite file, or a new PostgreSQL
//! database (uniquely named, so parallel runs never collide) on the server named by
//! `IDKIOSK_TEST_PG_URL` (set by `scripts/test.sh` or `eval "$(scripts/dev-pg.sh)"`).
//!
//! The policy when PostgreSQL, or anything else a test needs from the machine (the dlib models,
//! the Noto CJK fonts, ffmpeg), is missing is decided here, once, for every crate's tests
//! ([`require`]): with `CI` set the test fails; otherwise it reports on the terminal what was
//! skipped and why.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::{Backend, Store, StoreError};

/// The environment variable naming the PostgreSQL server for tests.
pub const PG_URL_VAR: &str = "IDKIOSK_TEST_PG_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A store on a database made for one test; [`TestDatabase::finish`] removes it.
pub struct TestDatabase {
    store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    Postgres { admin_url: String, name: String },
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "idkiosk_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes a line straight to the terminal, past the test harness's output capture, so a run
/// always shows which backends were exercised or skipped.
pub fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// What `test` needs from the machine: `found`'s value, or `None` when it is missing outside CI
/// (reported on the terminal as `TEST: RESOURCE SKIPPED: why`; the caller skips what needs it).
///
/// # Panics
///
/// When it is missing and `CI` is set: CI cannot go green without running every test.
pub fn require<T, E: std::fmt::Display>(
    test: &str,
    resource: &str,
    found: Result<T, E>,
) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: {resource} is missing but CI is set, so it must be tested: {why}")
        }
        Err(why) => {
            report(&format!("{test}: {resource} SKIPPED: {why}"));
            None
        }
    }
}

/// `Ok(path)` when the file `path` is there, else why not (for [`require`]).
pub fn file(path: impl Into<PathBuf>, setup: &str) -> Result<PathBuf, String> {
    let path = path.into();
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} is not there (run {setup})", path.display()))
    }
}

/// The PostgreSQL server for tests, or `None` (with the reason reported) when it is not
/// configured outside CI.
///
/// # Panics
///
/// When `CI` is set and `IDKIOSK_TEST_PG_URL` is not: CI must test both backends.
pub fn postgres_url(suite: &str) -> Option<String> {
    let url = match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        _ => Err(format!(
            "{PG_URL_VAR} is not set (scripts/test.sh, or eval \"$(scripts/dev-pg.sh)\", starts \
             a private server)"
        )),
    };
    require(suite, "postgres", url)
}

/// The databases a test runs on, each fresh: SQLite always, and PostgreSQL when
/// [`postgres_url`] gives a server (outside CI a missing one is reported as skipped for `suite`;
/// under CI it fails).
///
/// # Panics
///
/// When a database cannot be created, or PostgreSQL is missing with `CI` set.
pub async fn databases(suite: &str) -> Vec<TestDatabase> {
    let mut all = vec![TestDatabase::sqlite()
        .await
        .unwrap_or_else(|err| panic!("{suite}: cannot create a SQLite test database: {err:?}"))];
    if let Some(url) = postgres_url(suite) {
        all.push(TestDatabase::postgres(&url).await.unwrap_or_else(|err| {
            panic!("{suite}: cannot create a PostgreSQL test database: {err:?}")
        }));
    }
    all
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDatabase {
    /// A store on a new SQLite file in the temporary directory.
    pub async fn sqlite() -> Result<TestDatabase, StoreError> {
        let path = std::env::temp_dir().join(format!("{}.sqlite", unique_name()));
        let store = Store::connect(&format!("sqlite://{}", path.display())).await?;
        Ok(TestDatabase {
            store,
            cleanup: Cleanup::SqliteFile(path),
        })
    }

    /// A store on a new database of the PostgreSQL server at `admin_url`.
    pub async fn postgres(admin_url: &str) -> Result<TestDatabase, StoreError> {
        let name = unique_name();
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(|source| StoreError::Connect {
                backend: Backend::Postgres,
                source,
            })?;
        let create = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(&create).execute(&mut admin).await?;
        let _ = admin.close().await;
        let store = Store::connect(&with_database(admin_url, &name)).await?;
        Ok(TestDatabase {
            store,
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// The same database once more through a second handle (as a restart or another replica).
    pub async fn reconnect(&self) -> Result<Store, StoreError> {
        Store::connect(&self.url()).await
    }

    /// The URL of this database.
    pub fn url(&self) -> String {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => format!("sqlite://{}", path.display()),
            Cleanup::Postgres { admin_url, name } => with_database(admin_url, name),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Closes the store and removes the database.
    pub async fn finish(self) {
        self.store.close().await;
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(&drop).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{file, require, with_database};

    #[test]
    fn require_gives_what_is_there_and_skips_or_fails_on_what_is_not() {
        assert_eq!(require("t", "x", Ok::<_, String>(7)), Some(7));
        let missing = std::panic::catch_unwind(|| require::<(), _>("t", "x", Err("gone")));
        if std::env::var_os("CI").is_some() {
            assert!(
                missing.is_err(),
                "under CI a missing resource fails the test"
            );
        } else {
            assert_eq!(missing.ok(), Some(None), "outside CI it is skipped");
        }
        assert!(file("/nonexistent/model.dat", "setup.sh")
            .unwrap_err()
            .contains("run setup.sh"));
        assert!(file(env!("CARGO_MANIFEST_PATH"), "setup.sh").is_ok());
    }

    #[test]
    fn replaces_the_database_name() {
        let check = |url: &str, expected: &str| assert_eq!(with_database(url, "t1"), expected);
        check("postgres://u@h:5432/idkiosk", "postgres://u@h:5432/t1");
        check("postgres://u@h:5432", "postgres://u@h:5432/t1");
        check(
            "postgres://u@h/db?sslmode=disable",
            "postgres://u@h/t1?sslmode=disable",
        );
    }
}

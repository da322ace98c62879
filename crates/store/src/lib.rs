//! The database: one [`Store`] handle over SQLite (the embedded default) and PostgreSQL (a fleet's
//! center), with methods that speak domain types. SQL lives only in this crate.
//!
//! Invariants:
//! - Both backends run the same SQL text (runtime queries, `$n` or builder placeholders), each on
//!   its own migration set (`migrations/sqlite`, `migrations/postgres`) embedded with `migrate!`
//!   and applied at [`Store::connect`]. Dates are ISO text in SQLite and `DATE` in PostgreSQL
//!   (sqlx's `time::Date` encoding on both), so comparisons agree.
//! - Every write is one transaction: a bad row leaves nothing behind.
//! - A photo-studio receipt is used at most once: [`Store::redeem_receipt`] is one conditional
//!   `UPDATE … WHERE used_on IS NULL`, safe under concurrent callers and replicas.
//! - Photo bytes pass through the [`BlobCipher`] on the way in and out (the encryption seam).
#![warn(missing_docs)]

mod blob;
pub mod blobs;
mod bulk;
pub mod crypto;
mod model;
mod rows;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use domain::id::CitizenId;
use domain::region::KioskCity;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::Date;

pub use blob::{BlobCipher, BlobError, PlainBlobs};
pub use blobs::{BlobMeta, BlobRef, BlobStore, BlobStoreError};
pub use bulk::BulkLoader;
pub use crypto::{CryptoError, EnvelopeCipher, FileKeyProvider, KeyProvider};
pub use model::{
    ApplicationStatus, CardStatus, Citizen, CitizenBundle, CitizenView, HistoryPhoto, IdCard,
    NewReceipt, PhotoReceipt, PopulationApplication, ReceiptCode, ReceiptCodeError, RedeemOutcome,
    ResidenceRegistration, RECEIPT_VALID_DAYS,
};

use rows::{CitizenRow, HistoryPhotoRow, ReceiptRow, ViewRow};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The migrations applied to a SQLite database (none before sqlx's table exists). The kiosk's
/// outbox reads its own the same way.
pub async fn sqlite_applied_migrations(pool: &SqlitePool) -> Result<Vec<i64>, sqlx::Error> {
    let exists: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'")
            .fetch_one(pool)
            .await?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
}

/// The migrations applied to a PostgreSQL database (none before sqlx's table exists).
async fn postgres_applied_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
}

/// Where a database's schema stands against this binary's ([`inspect_schema`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaState {
    /// The newest migration applied to the database (0 for an empty one).
    pub database: i64,
    /// The newest migration this binary carries.
    pub binary: i64,
    /// This binary's migrations not yet applied (run at the next start).
    pub pending: usize,
}

/// Reads the schema's version of the database at `url` without changing anything (no migration,
/// no file created): `idkiosk doctor`. A SQLite file is opened read-only.
pub async fn inspect_schema(url: &str) -> Result<SchemaState, StoreError> {
    let (migrator, applied): (&sqlx::migrate::Migrator, Vec<i64>) = if url.starts_with("sqlite:") {
        let connect = SqliteConnectOptions::from_str(url)
            .map(|o| o.read_only(true).create_if_missing(false))
            .map_err(cannot_open(Backend::Sqlite))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect)
            .await
            .map_err(cannot_open(Backend::Sqlite))?;
        let applied = sqlite_applied_migrations(&pool).await?;
        pool.close().await;
        (&SQLITE_MIGRATIONS, applied)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(cannot_open(Backend::Postgres))?;
        let applied = postgres_applied_migrations(&pool).await?;
        pool.close().await;
        (&POSTGRES_MIGRATIONS, applied)
    } else {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    };
    Ok(SchemaState::of(migrator, &applied))
}

impl SchemaState {
    /// The state of a database whose `_sqlx_migrations` holds `applied`, against `migrator`.
    fn of(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> SchemaState {
        SchemaState {
            database: applied.iter().max().copied().unwrap_or(0),
            binary: migrator.iter().map(|m| m.version).max().unwrap_or(0),
            pending: migrator
                .iter()
                .filter(|m| !applied.contains(&m.version))
                .count(),
        }
    }
}

/// The error of a database that cannot be opened or reached.
fn cannot_open(backend: Backend) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Connect { backend, source }
}

/// Before migrating: a database migrated by a newer binary is refused with
/// [`StoreError::NewerSchema`] (sqlx would only say a migration is missing), and the migrations
/// about to run are logged, so an upgrade says what it changes. `applied`: the versions in the
/// database's `_sqlx_migrations` (empty for a new database). The kiosk's outbox uses it too.
pub fn check_schema_version(
    migrator: &sqlx::migrate::Migrator,
    applied: &[i64],
) -> Result<(), StoreError> {
    let state = SchemaState::of(migrator, applied);
    if state.database > state.binary {
        return Err(StoreError::NewerSchema {
            database: state.database,
            binary: state.binary,
        });
    }
    if state.pending > 0 && !applied.is_empty() {
        let pending: Vec<String> = migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{:04} {}", m.version, m.description))
            .collect();
        tracing::info!(
            from = state.database,
            to = state.binary,
            migrations = %pending.join(", "),
            "upgrading the database schema"
        );
    }
    Ok(())
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no backend the store speaks.
    #[error("unsupported database URL {0:?}: use sqlite://PATH, sqlite::memory: or postgres://…")]
    UnsupportedUrl(String),
    /// The database could not be opened or reached.
    #[error("cannot open the {backend} database")]
    Connect {
        /// Which backend.
        backend: Backend,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The schema migrations failed.
    #[error("cannot migrate the database schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer idkiosk: this binary does not know its schema and
    /// changes nothing in it.
    #[error(
        "the database's schema is at migration {database}, newer than this idkiosk knows (up to \
         {binary}): run the newer idkiosk that upgraded it, or restore the backup taken before \
         the upgrade"
    )]
    NewerSchema {
        /// The newest migration applied to the database.
        database: i64,
        /// The newest migration this binary carries.
        binary: i64,
    },
    /// A write broke a rule of the schema (a duplicate key, a row for an unknown citizen, a value
    /// out of range); nothing of that write was kept.
    #[error("rejected by the database: {0}")]
    Rejected(String),
    /// A stored value is not one the schema allows (the data was changed outside the store).
    #[error("stored value {value:?} in {column} is invalid: {reason}")]
    Corrupt {
        /// Table and column.
        column: &'static str,
        /// The value found.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A move of an application's journey not allowed from its state (named in the message).
    #[error(transparent)]
    Transition(domain::journey::TransitionError),
    /// No application with this number.
    #[error("no application {0}")]
    UnknownApplication(String),
    /// A sealed photo could not be opened.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Any other database error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &err {
            use sqlx::error::ErrorKind;
            if matches!(
                db.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ) {
                return StoreError::Rejected(db.message().to_owned());
            }
        }
        StoreError::Database(err)
    }
}

impl StoreError {
    /// Whether the database could not be reached or is changing hands (a connection refused,
    /// cut or timed out, a server shutting down or still starting, a read-only server during a
    /// failover): a retry may succeed once a primary answers again, so callers answer "try again"
    /// (the center's 503), not an internal error. Nothing of the failed call was committed unless
    /// the connection broke during the commit itself, which is why every write is idempotent.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { source, .. } | StoreError::Database(source) => {
                sqlx_unavailable(source)
            }
            _ => false,
        }
    }
}

/// [`StoreError::is_unavailable`] for a driver error.
fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_sqlstate(&code)),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs of a server that cannot take the call now: class 08 (connection
/// exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too many
/// connections) and 25006 (a read-only transaction: a demoted or not yet promoted server).
fn unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "25006")
}

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, embedded (a file or memory).
    Sqlite,
    /// PostgreSQL, over the network.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, once per backend: the same SQL text and
/// the same code, type-checked for each driver.
macro_rules! on_pool {
    ($pool_enum:expr, |$pool:ident| $body:expr) => {
        match $pool_enum {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

// After `on_pool!`, which it uses.
pub mod audit;
pub mod compliance;
pub mod deliveries;
pub mod face_embeddings;
pub mod fleet;
pub mod journey;
pub mod lookups;
pub mod registers;
pub mod sessions;
pub mod staff;
pub mod studios;

/// The database handle: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    cipher: Arc<dyn BlobCipher>,
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections the pool opens (SQLite in memory always uses one).
    pub max_connections: u32,
    /// How long a query waits for a locked SQLite database before failing.
    pub sqlite_busy_timeout: Duration,
    /// How long a PostgreSQL call waits for a connection (a free one, or a new one while the
    /// server is unreachable) before failing as unavailable: short, so that during a failover the
    /// center answers 503 at once instead of holding the kiosk's request.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            max_connections: 8,
            sqlite_busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// Creates the SQLite file of `url` empty with mode 0600 when it does not exist yet: SQLite gives
/// its `-wal` and `-shm` the database file's mode, so all three are the owner's only whatever the
/// process's umask (issue 14). An existing file is left as it is; in-memory databases have none.
fn create_private_sqlite_file(url: &str) -> std::io::Result<()> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(());
    }
    let Ok(options) = SqliteConnectOptions::from_str(url) else {
        return Ok(()); // the connection reports the bad URL
    };
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        file.mode(0o600);
    }
    match file.open(options.get_filename()) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

const CITIZEN_COLUMNS: &str =
    "c.id_number, c.name, c.sex, c.nation_code, c.birth_date, c.address, \
     c.household_region, c.status, c.remote_area";

impl Store {
    /// Opens `sqlite://PATH` (created if missing; WAL journal, foreign keys on), `sqlite::memory:`
    /// or `postgres://…`, and applies that backend's migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            create_private_sqlite_file(url).map_err(|e| StoreError::Connect {
                backend: Backend::Sqlite,
                source: sqlx::Error::Io(e),
            })?;
        }
        let pool = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(cannot_open(Backend::Sqlite))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(options.sqlite_busy_timeout);
            // An in-memory database lives as long as its connections: keep exactly one, forever.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool_options = if in_memory {
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                SqlitePoolOptions::new().max_connections(options.max_connections)
            };
            let pool = pool_options
                .connect_with(connect)
                .await
                .map_err(cannot_open(Backend::Sqlite))?;
            let applied = sqlite_applied_migrations(&pool).await?;
            check_schema_version(&SQLITE_MIGRATIONS, &applied)?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect(url)
                .await
                .map_err(cannot_open(Backend::Postgres))?;
            let applied = postgres_applied_migrations(&pool).await?;
            check_schema_version(&POSTGRES_MIGRATIONS, &applied)?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Store {
            pool,
            cipher: Arc::new(PlainBlobs),
        })
    }

    /// The same store, sealing and opening photos with `cipher` from now on.
    pub fn with_cipher(self, cipher: Arc<dyn BlobCipher>) -> Store {
        Store { cipher, ..self }
    }

    /// The engine under this handle.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        on_pool!(&self.pool, |pool| pool.close().await)
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The single place photo bytes are turned into stored bytes (the encryption seam).
    pub(crate) fn seal(&self, jpeg: Option<&[u8]>) -> Option<Vec<u8>> {
        jpeg.map(|plain| self.cipher.seal(plain))
    }

    /// The single place stored photo bytes are turned back into a photo.
    pub(crate) fn open(&self, stored: Option<Vec<u8>>) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(stored.map(|sealed| self.cipher.open(&sealed)).transpose()?)
    }

    /// Writes citizens with everything attached to them, in one transaction: all or nothing.
    /// Returns the number of rows written. For large loads use [`Store::bulk_loader`].
    pub async fn insert_citizens(&self, bundles: &[CitizenBundle]) -> Result<u64, StoreError> {
        let mut loader = self.bulk_loader_with(false).await?;
        let rows = loader.load(bundles).await?;
        loader.finish().await?;
        Ok(rows)
    }

    /// The register record of a citizen.
    pub async fn citizen(&self, id: &CitizenId) -> Result<Option<Citizen>, StoreError> {
        let sql = format!("SELECT {CITIZEN_COLUMNS} FROM citizens c WHERE c.id_number = $1");
        let row: Option<CitizenRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Citizen::try_from).transpose()
    }

    /// Everything the scope decision needs about a citizen, for one kiosk city on one day, in one
    /// query: the record, the current card, whether a residence registration in `city` is in force
    /// on `today`, whether a historical photo exists, whether an application is in progress.
    pub async fn citizen_view(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenView>, StoreError> {
        let sql = format!(
            "SELECT {CITIZEN_COLUMNS}, \
               k.valid_from AS card_valid_from, k.valid_until AS card_valid_until, \
               k.status AS card_status, k.issuing_authority AS card_issuing_authority, \
               EXISTS (SELECT 1 FROM residence_registrations r \
                        WHERE r.id_number = c.id_number AND r.city_code = $2 \
                          AND r.valid_until >= $3) AS floating_registered, \
               EXISTS (SELECT 1 FROM history_photos h \
                        WHERE h.id_number = c.id_number) AS history_photo, \
               EXISTS (SELECT 1 FROM population_applications a \
                        WHERE a.id_number = c.id_number \
                          AND a.status IN {}) AS application_in_progress \
             FROM citizens c LEFT JOIN id_cards k ON k.id_number = c.id_number \
             WHERE c.id_number = $1",
            model::IN_PROGRESS_SQL
        );
        let row: Option<ViewRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(city.code())
            .bind(today)
            .fetch_optional(pool)
            .await)?;
        row.map(CitizenView::try_from).transpose()
    }

    /// The most recent historical ID photo of a citizen.
    pub async fn history_photo(&self, id: &CitizenId) -> Result<Option<HistoryPhoto>, StoreError> {
        let row: Option<HistoryPhotoRow> = on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT taken_on, photo FROM history_photos WHERE id_number = $1 \
             ORDER BY taken_on DESC LIMIT 1"
        )
        .bind(id.as_str())
        .fetch_optional(pool)
        .await)?;
        row.map(|row| {
            Ok(HistoryPhoto {
                taken_on: row.taken_on,
                jpeg: self.open(row.photo)?,
            })
        })
        .transpose()
    }

    /// Stores (or replaces) the image of a historical photo taken on `taken_on`.
    pub async fn put_history_photo(
        &self,
        id: &CitizenId,
        taken_on: Date,
        jpeg: &[u8],
    ) -> Result<(), StoreError> {
        let sealed = self.seal(Some(jpeg));
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO history_photos (id_number, taken_on, photo) VALUES ($1, $2, $3) \
             ON CONFLICT (id_number, taken_on) DO UPDATE SET photo = excluded.photo"
        )
        .bind(id.as_str())
        .bind(taken_on)
        .bind(sealed)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// A photo-studio receipt by its code, whoever it belongs to (staff and tests; the kiosk path
    /// goes through [`Store::redeem_receipt`], which checks the owner).
    pub async fn photo_receipt(
        &self,
        code: &ReceiptCode,
    ) -> Result<Option<PhotoReceipt>, StoreError> {
        let row: Option<ReceiptRow> = on_pool!(&self.pool, |pool| {
            sqlx::query_as(
            "SELECT code, id_number, photo, created_on, used_on FROM photo_receipts WHERE code = $1"
        )
        .bind(code.as_str())
        .fetch_optional(pool)
        .await
        })?;
        row.map(|row| self.receipt_from_row(row)).transpose()
    }

    /// Marks the receipt `code` of citizen `id` used on `today`, if it exists for that citizen,
    /// is unused and has not expired ([`RECEIPT_VALID_DAYS`]). One conditional update: of any
    /// number of concurrent callers exactly one gets [`RedeemOutcome::Redeemed`].
    pub async fn redeem_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<RedeemOutcome, StoreError> {
        let earliest_created = today
            .checked_sub(time::Duration::days(i64::from(RECEIPT_VALID_DAYS)))
            .unwrap_or(Date::MIN);
        let updated: Option<ReceiptRow> = on_pool!(&self.pool, |pool| sqlx::query_as(
            "UPDATE photo_receipts SET used_on = $1 \
             WHERE code = $2 AND id_number = $3 AND used_on IS NULL \
               AND created_on >= $4 AND created_on <= $1 \
             RETURNING code, id_number, photo, created_on, used_on"
        )
        .bind(today)
        .bind(code.as_str())
        .bind(id.as_str())
        .bind(earliest_created)
        .fetch_optional(pool)
        .await)?;
        if let Some(row) = updated {
            return Ok(RedeemOutcome::Redeemed(self.receipt_from_row(row)?));
        }
        // Not updated: say why, from the row as it is now.
        Ok(match self.photo_receipt(code).await? {
            Some(receipt) if receipt.id == *id => match receipt.used_on {
                Some(used_on) => RedeemOutcome::AlreadyUsed { used_on },
                None if receipt.created_on < earliest_created => RedeemOutcome::Expired {
                    last_valid_day: receipt.last_valid_day(),
                },
                // Made after `today` (a clock far behind): not usable yet, so not found.
                None => RedeemOutcome::NotFound,
            },
            _ => RedeemOutcome::NotFound,
        })
    }

    /// How many citizens the register holds.
    pub async fn count_citizens(&self) -> Result<u64, StoreError> {
        let count: i64 = on_pool!(&self.pool, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM citizens"
        )
        .fetch_one(pool)
        .await)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn receipt_from_row(&self, row: ReceiptRow) -> Result<PhotoReceipt, StoreError> {
        Ok(PhotoReceipt {
            code: ReceiptCode::parse(&row.code).map_err(|err| StoreError::Corrupt {
                column: "photo_receipts.code",
                value: row.code.clone(),
                reason: err.to_string(),
            })?,
            id: rows::citizen_id("photo_receipts.id_number", &row.id_number)?,
            jpeg: self.open(row.photo)?,
            created_on: row.created_on,
            used_on: row.used_on,
        })
    }
}

#[cfg(test)]
mod unavailable_tests {
    use super::*;

    fn check(err: StoreError, unavailable: bool) {
        assert_eq!(err.is_unavailable(), unavailable, "{err:?}");
    }

    #[test]
    fn a_lost_or_refused_connection_is_unavailable_and_a_refused_write_is_not() {
        let io = |kind| sqlx::Error::Io(std::io::Error::new(kind, "cut"));
        check(
            StoreError::Database(io(std::io::ErrorKind::UnexpectedEof)),
            true,
        );
        check(
            StoreError::Database(io(std::io::ErrorKind::ConnectionReset)),
            true,
        );
        check(StoreError::Database(sqlx::Error::PoolTimedOut), true);
        check(
            StoreError::Connect {
                backend: Backend::Postgres,
                source: io(std::io::ErrorKind::ConnectionRefused),
            },
            true,
        );
        check(StoreError::Database(sqlx::Error::RowNotFound), false);
        check(StoreError::Database(sqlx::Error::PoolClosed), false);
        check(StoreError::Rejected("duplicate key".into()), false);
        check(StoreError::UnknownApplication("x".into()), false);
    }

    #[test]
    fn sqlstates_of_a_server_changing_hands_are_unavailable() {
        for code in [
            "08006", "08001", "57P01", "57P02", "57P03", "53300", "25006",
        ] {
            assert!(unavailable_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "22003"] {
            assert!(!unavailable_sqlstate(code), "{code}");
        }
    }
}

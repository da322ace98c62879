//! The kiosk's durable local store (SQLite): the session state written before every transition is
//! acted on, the captures of the running session, and the queue of what the center must receive.
//! Everything personal in it is sealed by a [`BlobCipher`] (AES-256-GCM envelope encryption in a
//! deployment): the snapshot holds the ID number and mobile, the captures are biometrics.
//!
//! Invariants:
//! - The database file (and so its `-wal` and `-shm`) is created 0600, its folder 0700.
//! - [`Outbox::save_state`] is one statement on a `synchronous = FULL` WAL database: after it
//!   returns, a kill -9 finds the state on restart.
//! - A queued message is delivered until the center acknowledges it, in queue order per session,
//!   and is never dropped because the center is down; the center dedups by session id.
//! - A capture stays until the message that sends it is acknowledged, then it is deleted; captures
//!   no message refers to are deleted when the session ends (retention).

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use domain::session::{SessionOutcome, Snapshot};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use store::BlobCipher;

use crate::center_api::{ApplicationRecord, FingerQuality};

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed.
    #[error("outbox database: {0}")]
    Database(#[from] sqlx::Error),
    /// A sealed value could not be opened (wrong key, corrupted file).
    #[error("outbox value cannot be opened: {0}")]
    Sealed(String),
    /// A value could not be written as JSON.
    #[error("outbox value cannot be written: {0}")]
    Encode(String),
    /// The outbox file was migrated by a newer idkiosk (a downgrade): nothing in it is changed.
    #[error("outbox: {0}")]
    NewerSchema(String),
}

/// What the agent keeps beside the state machine's snapshot, restored after a crash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    /// The state machine (`None`: idle, nothing to resume).
    pub snapshot: Option<Snapshot>,
    /// The session the agent is working for (set at start, cleared after it ended).
    pub session_id: Option<String>,
    /// The applicant's ID number once typed (the photo system needs it with the receipt).
    pub applicant_id: Option<String>,
    /// The date the session started (Asia/Shanghai), for parsing numbers again after a crash.
    pub today: Option<String>,
    /// The fingers enrolled at step 9.
    pub fingers: Vec<FingerQuality>,
    /// Segments of video recorded so far (a restart appends one).
    pub video_segments: u32,
    /// The bureau's payment methods, from the scope answer (empty: not yet told).
    #[serde(default)]
    pub payment_methods: Vec<domain::session::PaymentMethod>,
    /// The step of the running session (`None`: none runs), kept beside the snapshot so that an
    /// agent of another version, which cannot read the snapshot, can still end the session
    /// ([`Outbox::salvage_state`]).
    #[serde(default)]
    pub running_step: Option<u8>,
}

/// What can still be read of a saved state that [`Outbox::load_state`] cannot read as a whole
/// (written by another version of the agent): the session that was running, if one was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalvagedSession {
    /// The session's id.
    pub session_id: String,
    /// The step it was at.
    pub step: u8,
}

/// A message for the center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Upload the capture `kind` of the session.
    Blob {
        /// `live_photo`, `signature`, `fingerprint_1`, …, `video`.
        kind: String,
    },
    /// File the application.
    Application(ApplicationRecord),
    /// Record the session's end.
    End(SessionOutcome),
}

/// A queued message.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// Queue position.
    pub seq: i64,
    /// The session it belongs to.
    pub session_id: String,
    /// The message.
    pub message: Message,
    /// Delivery attempts so far.
    pub attempts: i64,
}

/// The kiosk's outbox database.
#[derive(Clone)]
pub struct Outbox {
    pool: SqlitePool,
    cipher: Arc<dyn BlobCipher>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

/// The outbox's schema, `migrations/` of this crate. Its first migration adopts an outbox file
/// created before there were migrations.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Creates `dir` and its missing parents with mode 0700 (an existing folder is left as it is).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

impl Outbox {
    /// Opens (creating) the outbox at `path`.
    pub async fn open(path: &Path, cipher: Arc<dyn BlobCipher>) -> Result<Outbox, OutboxError> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(sqlx::Error::Io)?;
        }
        // SQLite gives the -wal and -shm the database file's mode: create it 0600 first.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(sqlx::Error::Io(e).into()),
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let applied = store::sqlite_applied_migrations(&pool).await?;
        if let Err(err) = store::check_schema_version(&MIGRATIONS, &applied) {
            pool.close().await;
            return Err(OutboxError::NewerSchema(err.to_string()));
        }
        MIGRATIONS.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Outbox { pool, cipher })
    }

    fn seal<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, OutboxError> {
        let json = serde_json::to_vec(value).map_err(|e| OutboxError::Encode(e.to_string()))?;
        Ok(self.cipher.seal(&json))
    }

    fn open_sealed<T: for<'de> Deserialize<'de>>(&self, sealed: &[u8]) -> Result<T, OutboxError> {
        let plain = self
            .cipher
            .open(sealed)
            .map_err(|e| OutboxError::Sealed(e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|e| OutboxError::Sealed(e.to_string()))
    }

    /// The state saved last (default when none).
    pub async fn load_state(&self) -> Result<AgentState, OutboxError> {
        let row = sqlx::query("SELECT sealed FROM agent_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => self.open_sealed(&row.get::<Vec<u8>, _>(0)),
            None => Ok(AgentState::default()),
        }
    }

    /// The running session of a saved state that opens but does not parse as this version's
    /// [`AgentState`]: its `session_id` and `running_step` fields, if both are there. `None` when
    /// the state does not open at all (another key, damaged) or no session was running.
    pub async fn salvage_state(&self) -> Result<Option<SalvagedSession>, OutboxError> {
        let Some(row) = sqlx::query("SELECT sealed FROM agent_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let Ok(state) = self.open_sealed::<serde_json::Value>(&row.get::<Vec<u8>, _>(0)) else {
            return Ok(None);
        };
        let session_id = state.get("session_id").and_then(|v| v.as_str());
        let step = state.get("running_step").and_then(|v| v.as_u64());
        Ok(match (session_id, step) {
            (Some(session_id), Some(step @ 1..=12)) => Some(SalvagedSession {
                session_id: session_id.to_owned(),
                step: step as u8,
            }),
            _ => None,
        })
    }

    /// Saves the state; durable when it returns.
    pub async fn save_state(&self, state: &AgentState) -> Result<(), OutboxError> {
        sqlx::query(
            "INSERT INTO agent_state (id, sealed, updated_at) VALUES (1, $1, CURRENT_TIMESTAMP)
             ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
        )
        .bind(self.seal(state)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps a capture of the session (replacing one of the same kind).
    pub async fn put_capture(
        &self,
        session_id: &str,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(), OutboxError> {
        sqlx::query(
            "INSERT INTO captures (session_id, kind, sealed) VALUES ($1, $2, $3)
             ON CONFLICT (session_id, kind) DO UPDATE SET sealed = excluded.sealed",
        )
        .bind(session_id)
        .bind(kind)
        .bind(self.cipher.seal(bytes))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A capture of the session.
    pub async fn capture(
        &self,
        session_id: &str,
        kind: &str,
    ) -> Result<Option<Vec<u8>>, OutboxError> {
        let row = sqlx::query("SELECT sealed FROM captures WHERE session_id = $1 AND kind = $2")
            .bind(session_id)
            .bind(kind)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(
                self.cipher
                    .open(&row.get::<Vec<u8>, _>(0))
                    .map_err(|e| OutboxError::Sealed(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// The kinds of capture the session has.
    pub async fn capture_kinds(&self, session_id: &str) -> Result<Vec<String>, OutboxError> {
        let rows = sqlx::query("SELECT kind FROM captures WHERE session_id = $1 ORDER BY kind")
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    /// Queues messages for the center, all or none.
    pub async fn enqueue(&self, session_id: &str, messages: &[Message]) -> Result<(), OutboxError> {
        let mut tx = self.pool.begin().await?;
        for message in messages {
            sqlx::query("INSERT INTO outbox (session_id, sealed) VALUES ($1, $2)")
                .bind(session_id)
                .bind(self.seal(message)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The oldest message not yet acknowledged.
    pub async fn next_pending(&self) -> Result<Option<Queued>, OutboxError> {
        let row = sqlx::query(
            "SELECT seq, session_id, sealed, attempts FROM outbox
             WHERE acked_at IS NULL ORDER BY seq LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(Queued {
                seq: row.get(0),
                session_id: row.get(1),
                message: self.open_sealed(&row.get::<Vec<u8>, _>(2))?,
                attempts: row.get(3),
            })),
            None => Ok(None),
        }
    }

    /// How many messages wait for the center.
    pub async fn backlog(&self) -> Result<i64, OutboxError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Notes a failed delivery attempt.
    pub async fn note_failure(&self, seq: i64, error: &str) -> Result<(), OutboxError> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1")
            .bind(seq)
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a message delivered, with the center's answer (the application number), and deletes
    /// the capture it carried.
    pub async fn ack(&self, queued: &Queued, answer: Option<&str>) -> Result<(), OutboxError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE outbox SET acked_at = CURRENT_TIMESTAMP, answer = $2, sealed = X'' WHERE seq = $1",
        )
        .bind(queued.seq)
        .bind(answer)
        .execute(&mut *tx)
        .await?;
        if let Message::Blob { kind } = &queued.message {
            sqlx::query("DELETE FROM captures WHERE session_id = $1 AND kind = $2")
                .bind(&queued.session_id)
                .bind(kind)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The application number the center gave the session, once its application was delivered.
    pub async fn application_no(&self, session_id: &str) -> Result<Option<String>, OutboxError> {
        Ok(sqlx::query_scalar(
            "SELECT answer FROM outbox WHERE session_id = $1 AND answer IS NOT NULL
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes the session's captures that no pending message will send (the end of a session).
    pub async fn wipe_unsent_captures(&self, session_id: &str) -> Result<u64, OutboxError> {
        let pending: Vec<String> = {
            let rows =
                sqlx::query("SELECT sealed FROM outbox WHERE session_id = $1 AND acked_at IS NULL")
                    .bind(session_id)
                    .fetch_all(&self.pool)
                    .await?;
            let mut kinds = Vec::new();
            for row in rows {
                if let Message::Blob { kind } = self.open_sealed(&row.get::<Vec<u8>, _>(0))? {
                    kinds.push(kind);
                }
            }
            kinds
        };
        let mut deleted = 0;
        for kind in self.capture_kinds(session_id).await? {
            if !pending.contains(&kind) {
                deleted += sqlx::query("DELETE FROM captures WHERE session_id = $1 AND kind = $2")
                    .bind(session_id)
                    .bind(&kind)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
            }
        }
        Ok(deleted)
    }
}

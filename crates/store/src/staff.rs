//! The staff console's tables (migration `0006_staff_audit`): accounts, server-side sessions, and
//! the console's read-only queries over the center's session tables (referral queue, search by
//! application number or full ID number, deadlines).
//!
//! Invariants:
//! - Passwords never reach this module: only PHC strings (Argon2id, hashed by `center::staff`).
//! - Session tokens are stored as their SHA-256 only; a stolen database holds no usable cookie.
//! - Lockout counting is one conditional `UPDATE` each, safe across replicas; names that are not
//!   accounts are counted the same way (`staff_unknown_logins`), so they lock like accounts do.
//! - User names are case-insensitive: every lookup compares `lower(username)` with the name
//!   lower-cased here ([`normalize_username`]), and a unique index on `lower(username)` (migration
//!   `0011_staff_hardening`) keeps one account per lower-cased name.
//! - A password change or a disabled account ends every session of that account in the same
//!   transaction; a disabled account's sessions are not found even if one slipped through.
//! - No search by name: the only lookups are by application number, by full ID number, by session.

use sha2::{Digest, Sha256};

use crate::sessions::{ApplicationRecord, APPLICATION_COLUMNS};
use crate::{Store, StoreError};

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 窗口民警: referrals, applications, deadlines, reprints.
    WindowClerk,
    /// 审计员: the audit trail and its export.
    Auditor,
    /// 管理员: staff accounts and the audit trail.
    Administrator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::WindowClerk, Role::Auditor, Role::Administrator];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::WindowClerk => "window_clerk",
            Role::Auditor => "auditor",
            Role::Administrator => "administrator",
        }
    }

    /// The inverse of [`Role::as_str`].
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// Bilingual label.
    pub fn label(self) -> &'static str {
        match self {
            Role::WindowClerk => "窗口民警 Window clerk",
            Role::Auditor => "审计员 Auditor",
            Role::Administrator => "管理员 Administrator",
        }
    }
}

/// How a stored role reads back; any other text is a decoding error.
impl TryFrom<String> for Role {
    type Error = domain::codes::UnknownCode;
    fn try_from(text: String) -> Result<Role, Self::Error> {
        Role::parse(&text).ok_or(domain::codes::UnknownCode { kind: "role", text })
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffUser {
    /// Login name.
    pub username: String,
    /// What they may do.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Failures since the last success or lockout.
    pub failed_logins: i64,
    /// Unix seconds until which logins are refused.
    pub locked_until: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds when the account was disabled (`idkiosk staff disable`); `None` when enabled.
    pub disabled_at: Option<i64>,
}

/// A live staff session with its user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffSession {
    /// The user.
    pub username: String,
    /// Their role (as of now: a role change applies to open sessions).
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The CSRF token every POST of this session must carry.
    pub csrf: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last request.
    pub last_seen: i64,
    /// Unix seconds after which the session is gone.
    pub expires_at: i64,
}

/// A session that ended `referred`, for the referral queue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReferralRow {
    /// The kiosk's session id.
    pub session_id: String,
    /// The kiosk.
    pub kiosk_id: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds.
    pub ended_at: Option<i64>,
    /// The outcome JSON (`{"outcome":"referred","step":7,"reason":"face_mismatch"}`).
    pub outcome: Option<String>,
    /// The citizen's ID number, when the session got as far as step 6.
    pub id_number: Option<String>,
    /// The application number, when the session got as far as step 10.
    pub application_no: Option<String>,
}

/// The SHA-256 (hex) under which a session token is stored.
pub fn token_hash(token: &str) -> String {
    crate::audit::hex(&Sha256::digest(token.as_bytes()))
}

const USER_COLUMNS: &str =
    "username, role, password_hash, failed_logins, locked_until, created_at, disabled_at";

/// Deletes every session of the account whose lower-cased name is `$1`.
const END_SESSIONS: &str = "DELETE FROM staff_sessions WHERE username IN \
     (SELECT username FROM staff_users WHERE lower(username) = $1)";

/// A user name as every lookup compares it: ASCII lower case (what SQL `lower()` does on both
/// backends; account names are ASCII).
pub fn normalize_username(username: &str) -> String {
    username.to_ascii_lowercase()
}

/// The failure count of a name that is not an account (`staff_unknown_logins`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UnknownLogin {
    /// The lower-cased name tried.
    pub name: String,
    /// Failures since the last lock.
    pub failed_logins: i64,
    /// Unix seconds until which the name counts as locked.
    pub locked_until: Option<i64>,
}

impl Store {
    /// Creates a staff account; a duplicate name is [`StoreError::Rejected`].
    pub async fn create_staff_user(
        &self,
        username: &str,
        role: Role,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO staff_users (username, role, password_hash, failed_logins, created_at) \
             VALUES ($1, $2, $3, 0, $4)"
        )
        .bind(username)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Replaces a staff account's password hash, clears its lockout and ends all its sessions (one
    /// transaction); `false` if no such user.
    pub async fn set_staff_password(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let name = normalize_username(username);
        let done = on_pool!(&self.pool, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE staff_users SET password_hash = $2, failed_logins = 0, \
                     locked_until = NULL WHERE lower(username) = $1",
                )
                .bind(&name)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(END_SESSIONS)
                    .bind(&name)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<u64, sqlx::Error>(done)
            }
            .await
        })?;
        Ok(done == 1)
    }

    /// Disables (`true`) or enables an account; disabling ends all its sessions in the same
    /// transaction. `false` if no such user.
    pub async fn set_staff_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let name = normalize_username(username);
        let done = on_pool!(&self.pool, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE staff_users SET disabled_at = $2 WHERE lower(username) = $1",
                )
                .bind(&name)
                .bind(disabled.then_some(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if disabled {
                    sqlx::query(END_SESSIONS)
                        .bind(&name)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<u64, sqlx::Error>(done)
            }
            .await
        })?;
        Ok(done == 1)
    }

    /// How many sessions an account has open (expired ones included until they are presented).
    pub async fn staff_session_count(&self, username: &str) -> Result<i64, StoreError> {
        let name = normalize_username(username);
        let (count,): (i64,) = on_pool!(&self.pool, |pool| {
            sqlx::query_as(
            "SELECT COUNT(*) FROM staff_sessions s JOIN staff_users u ON u.username = s.username \
             WHERE lower(u.username) = $1"
        )
        .bind(&name)
        .fetch_one(pool)
        .await
        })?;
        Ok(count)
    }

    /// A staff account by name, whatever its case.
    pub async fn staff_user(&self, username: &str) -> Result<Option<StaffUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM staff_users WHERE lower(username) = $1");
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(normalize_username(username))
            .fetch_optional(pool)
            .await)?)
    }

    /// Every staff account, by name.
    pub async fn staff_users(&self) -> Result<Vec<StaffUser>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM staff_users ORDER BY username");
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)?)
    }

    /// Counts a failed login; at `max_failures` the account is locked until `now + lock_secs`
    /// and the count starts again. Returns whether the account is now locked.
    pub async fn record_staff_login_failure(
        &self,
        username: &str,
        now: i64,
        max_failures: i64,
        lock_secs: i64,
    ) -> Result<bool, StoreError> {
        let name = normalize_username(username);
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE staff_users SET failed_logins = failed_logins + 1 WHERE lower(username) = $1"
        )
        .bind(&name)
        .execute(pool)
        .await
        .map(drop))?;
        let locked = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE staff_users SET failed_logins = 0, locked_until = $2 \
             WHERE lower(username) = $1 AND failed_logins >= $3"
        )
        .bind(&name)
        .bind(now + lock_secs)
        .bind(max_failures)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(locked == 1)
    }

    /// The failure count and lock of a name that is not an account.
    pub async fn unknown_staff_login(
        &self,
        name: &str,
    ) -> Result<Option<UnknownLogin>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT name, failed_logins, locked_until FROM staff_unknown_logins WHERE name = $1"
        )
        .bind(normalize_username(name))
        .fetch_optional(pool)
        .await)?)
    }

    /// Counts a failed login of a name that is not an account, exactly like
    /// [`Store::record_staff_login_failure`]: at `max_failures` the name is "locked" until
    /// `now + lock_secs`. Returns whether it is now locked.
    pub async fn record_unknown_staff_login_failure(
        &self,
        name: &str,
        now: i64,
        max_failures: i64,
        lock_secs: i64,
    ) -> Result<bool, StoreError> {
        let name = normalize_username(name);
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO staff_unknown_logins (name, failed_logins, last_at) VALUES ($1, 1, $2) \
             ON CONFLICT (name) DO UPDATE SET failed_logins = staff_unknown_logins.failed_logins \
             + 1, last_at = excluded.last_at"
        )
        .bind(&name)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        let locked = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE staff_unknown_logins SET failed_logins = 0, locked_until = $2 \
             WHERE name = $1 AND failed_logins >= $3"
        )
        .bind(&name)
        .bind(now + lock_secs)
        .bind(max_failures)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(locked == 1)
    }

    /// Forgets the failures of unknown names last tried before `before` and not locked at it
    /// (housekeeping; the table only grows with names tried).
    pub async fn purge_unknown_staff_logins(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query(
            "DELETE FROM staff_unknown_logins WHERE last_at < $1 \
             AND (locked_until IS NULL OR locked_until < $1)"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// A successful login: the failure count and any expired lock are cleared.
    pub async fn clear_staff_login_failures(&self, username: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE staff_users SET failed_logins = 0, locked_until = NULL \
             WHERE lower(username) = $1"
        )
        .bind(normalize_username(username))
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Opens a server-side session under `token_hash` ([`token_hash`] of the cookie's token).
    pub async fn create_staff_session(
        &self,
        token_hash: &str,
        username: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO staff_sessions (token_hash, username, csrf, created_at, last_seen, \
             expires_at) VALUES ($1, $2, $3, $4, $4, $5)"
        )
        .bind(token_hash)
        .bind(username)
        .bind(csrf)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// The live session under `token_hash` at `now`, if any (an expired one is deleted).
    pub async fn staff_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<StaffSession>, StoreError> {
        let found: Option<StaffSession> = on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT u.username, u.role, s.csrf, s.created_at, s.last_seen, s.expires_at \
             FROM staff_sessions s JOIN staff_users u ON u.username = s.username \
             WHERE s.token_hash = $1 AND u.disabled_at IS NULL"
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await)?;
        match found {
            Some(session) if session.expires_at > now => Ok(Some(session)),
            Some(_) => {
                self.delete_staff_session(token_hash).await?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Moves a session's idle expiry on.
    pub async fn touch_staff_session(
        &self,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE staff_sessions SET last_seen = $2, expires_at = $3 WHERE token_hash = $1"
        )
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Ends a session (logout).
    pub async fn delete_staff_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "DELETE FROM staff_sessions WHERE token_hash = $1"
        )
        .bind(token_hash)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Sessions that ended referred to the window, newest first, at most `limit`.
    pub async fn referred_sessions(&self, limit: i64) -> Result<Vec<ReferralRow>, StoreError> {
        self.referrals_where("s.outcome LIKE $1", None, limit).await
    }

    /// One referred session by id.
    pub async fn referred_session(
        &self,
        session_id: &str,
    ) -> Result<Option<ReferralRow>, StoreError> {
        Ok(self
            .referrals_where(
                "s.outcome LIKE $1 AND s.session_id = $2",
                Some(session_id),
                1,
            )
            .await?
            .pop())
    }

    async fn referrals_where(
        &self,
        condition: &str,
        session_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ReferralRow>, StoreError> {
        let limit_param = if session_id.is_some() { "$3" } else { "$2" };
        let sql = format!(
            "SELECT s.session_id, s.kiosk_id, s.started_at, s.ended_at, s.outcome, \
               r.id_number, a.application_no \
             FROM center_sessions s \
             LEFT JOIN center_receipts r ON r.session_id = s.session_id \
             LEFT JOIN center_applications a ON a.session_id = s.session_id \
             WHERE {condition} \
             ORDER BY s.ended_at DESC, s.session_id LIMIT {limit_param}"
        );
        let pattern = "%\"outcome\":\"referred\"%";
        Ok(on_pool!(&self.pool, |pool| {
            let mut query = sqlx::query_as(&sql).bind(pattern);
            if let Some(session_id) = session_id {
                query = query.bind(session_id);
            }
            query.bind(limit).fetch_all(pool).await
        })?)
    }

    /// The applications of a citizen by full ID number, newest first.
    pub async fn applications_of_citizen(
        &self,
        id_number: &str,
    ) -> Result<Vec<ApplicationRecord>, StoreError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM center_applications WHERE id_number = $1 \
             ORDER BY created_at DESC"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(id_number)
            .fetch_all(pool)
            .await)?)
    }
}

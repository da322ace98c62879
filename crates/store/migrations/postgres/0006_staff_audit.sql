-- The staff console (crates/store/src/staff.rs, docs/staff.md): accounts, server-side sessions,
-- and the append-only, hash-chained audit log (crates/store/src/audit.rs). Times are unix seconds.
-- The same layout as the SQLite migration of the same number.

-- Staff accounts: Argon2id PHC strings only, never a password. failed_logins counts the failures
-- since the last success or lockout; locked_until is set when it reaches 5.
CREATE TABLE staff_users (
    username      TEXT    NOT NULL PRIMARY KEY CHECK (length(username) BETWEEN 1 AND 64),
    role          TEXT    NOT NULL CHECK (role IN ('window_clerk', 'auditor', 'administrator')),
    password_hash TEXT    NOT NULL,
    failed_logins BIGINT  NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT  NOT NULL
);

-- Server-side sessions: the cookie carries a random token; only its SHA-256 is stored here.
CREATE TABLE staff_sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    username   TEXT    NOT NULL REFERENCES staff_users (username) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX staff_sessions_expires ON staff_sessions (expires_at);

-- The audit chain: seq counts from 1 without gaps; hash = SHA-256 of the canonical entry
-- (store::audit::canonical), which includes prev_hash, the hash of entry seq - 1 (64 zeros for
-- entry 1). Only ever INSERTed.
CREATE TABLE audit_log (
    seq       BIGINT  NOT NULL PRIMARY KEY CHECK (seq >= 1),
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain's head (one row), moved in the same transaction as each append: removing the last
-- entries of the chain is detected too.
CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);

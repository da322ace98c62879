-- The kiosk outbox (kiosk::outbox). `IF NOT EXISTS` throughout: an outbox file written before the
-- outbox had migrations (the hand-written schema statements of the agent up to issue 16) already
-- has exactly these tables; this migration adopts it as version 1 and changes nothing in it.

CREATE TABLE IF NOT EXISTS agent_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);

CREATE TABLE IF NOT EXISTS captures (
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (session_id, kind));

CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    acked_at TEXT,
    answer TEXT);

CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (acked_at, seq);

-- Least knowledge for kiosks (issue 14): every lookup of a citizen by a kiosk (step 5's scope,
-- the identity before a portrait form, the portrait form itself) is recorded with the number
-- masked, and counted for the per-kiosk rate limit; a refused lookup is kept too (it raises the
-- fleet view's alert). Same layout as the PostgreSQL migration.
CREATE TABLE center_lookups (
    lookup_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id   TEXT    NOT NULL,
    session_id TEXT,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('scope', 'identity', 'portrait_form')),
    -- 320104********0044: never the number in full
    id_masked  TEXT    NOT NULL,
    refused    INTEGER NOT NULL DEFAULT 0 CHECK (refused IN (0, 1)),
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX center_lookups_by_kiosk ON center_lookups (kiosk_id, at);
CREATE INDEX center_lookups_by_time ON center_lookups (at);

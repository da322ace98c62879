-- Photo studios (照相馆) that upload certified photos with their receipts (popsys, issue 13), and
-- which studio made which receipt. A studio authenticates with a secret of its own; only its
-- SHA-256 is kept (the secret is 32 random bytes, so a plain hash suffices). Same layout as the
-- PostgreSQL migration.

CREATE TABLE photo_studios (
    studio_id     TEXT    NOT NULL PRIMARY KEY CHECK (length(studio_id) BETWEEN 1 AND 32),
    name          TEXT    NOT NULL,
    secret_sha256 BLOB    NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    INTEGER NOT NULL
) STRICT;

-- The receipts a studio uploaded (the seed's receipts have no row here).
CREATE TABLE photo_studio_receipts (
    code        TEXT    NOT NULL PRIMARY KEY REFERENCES photo_receipts (code),
    studio_id   TEXT    NOT NULL REFERENCES photo_studios (studio_id),
    uploaded_at INTEGER NOT NULL
) STRICT;
CREATE INDEX photo_studio_receipts_by_studio ON photo_studio_receipts (studio_id);

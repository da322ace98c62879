-- Upload quotas (issue 14, item 6): the bytes a session and a kiosk's day have uploaded, charged
-- before a blob is stored by one conditional upsert, so two uploads racing cannot both pass the
-- limit. `scope` is `session:<session id>` or `kiosk:<kiosk id>:<YYYY-MM-DD>` (Asia/Shanghai).
-- Same layout as the SQLite migration.
CREATE TABLE center_blob_usage (
    scope      TEXT   NOT NULL PRIMARY KEY,
    bytes      BIGINT NOT NULL CHECK (bytes >= 0),
    updated_at BIGINT NOT NULL
);

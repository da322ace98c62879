-- Staff accounts hardened (issue 14, docs/staff.md): user names are case-insensitive (one account
-- per lower-cased name; lookups compare lower(username)), an account can be disabled (its sessions
-- end and no login succeeds), and failed logins of names that are not accounts are counted and
-- "locked" like an account's, so a refusal never tells whether a name exists.
-- Same layout as the SQLite migration of the same number. A database holding two accounts
-- that differ only in case fails here: rename one first.

CREATE UNIQUE INDEX staff_users_username_lower ON staff_users (lower(username));

ALTER TABLE staff_users ADD COLUMN disabled_at BIGINT;

-- name: the lower-cased name tried; rows are kept while locked and reset by the next failure
-- after the lock.
CREATE TABLE staff_unknown_logins (
    name          TEXT    NOT NULL PRIMARY KEY,
    failed_logins BIGINT  NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    last_at       BIGINT  NOT NULL
);
CREATE INDEX staff_unknown_logins_last_at ON staff_unknown_logins (last_at);

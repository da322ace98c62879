-- The fleet (crates/store/src/fleet.rs, docs/fleet.md): kiosk certificates issued by the center's
-- CA and their revocation, each kiosk's last heartbeat, and the versioned remote configuration.
-- Times are unix seconds. The same layout as the PostgreSQL migration of the same number.

-- One row per client certificate issued at enrolment; a certificate whose serial is not here, or
-- whose revoked_at is set, is refused on every request.
CREATE TABLE fleet_certificates (
    serial     TEXT    NOT NULL PRIMARY KEY CHECK (length(serial) BETWEEN 1 AND 64),
    kiosk_id   TEXT    NOT NULL CHECK (length(kiosk_id) BETWEEN 1 AND 64),
    issued_at  INTEGER NOT NULL,
    not_after  INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE INDEX fleet_certificates_kiosk ON fleet_certificates (kiosk_id);

-- The last heartbeat of each kiosk: device health as JSON (no personal data), software version,
-- outbox backlog.
CREATE TABLE fleet_heartbeats (
    kiosk_id         TEXT    NOT NULL PRIMARY KEY CHECK (length(kiosk_id) BETWEEN 1 AND 64),
    received_at      INTEGER NOT NULL,
    software_version TEXT    NOT NULL,
    outbox_backlog   INTEGER NOT NULL CHECK (outbox_backlog >= 0),
    devices          TEXT    NOT NULL,
    config_version   INTEGER
);

-- Remote configuration: every version kept; the version number is allocated here.
CREATE TABLE fleet_configs (
    version    INTEGER PRIMARY KEY AUTOINCREMENT,
    config     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL
);

-- The application's journey after the kiosk and its SMS notices (issue 17, docs/domain.md
-- section 10, store::journey). Same layout as the PostgreSQL migration of the same number.

-- Where each application stands. Existing rows: 'accepted' when the population system took the
-- delivery, 'rejected' when it refused it, 'submitted' otherwise (referred applications too:
-- they never leave the center, and nothing moves them).
ALTER TABLE center_applications ADD COLUMN journey_state TEXT NOT NULL DEFAULT 'submitted'
    CHECK (journey_state IN ('submitted', 'accepted', 'rejected', 'in_production', 'ready',
                             'collected', 'returned', 'cancelled'));
UPDATE center_applications SET journey_state = 'accepted'
 WHERE application_no IN (SELECT application_no FROM center_deliveries WHERE state = 'delivered');
UPDATE center_applications SET journey_state = 'rejected'
 WHERE application_no IN (SELECT application_no FROM center_deliveries WHERE state = 'rejected');
CREATE INDEX center_applications_journey ON center_applications (journey_state);

-- Every move, with its time and actor ('popsys', 'system', or a staff user name). A state is
-- left at most once: two racing moves from one state cannot both be kept.
CREATE TABLE center_application_transitions (
    id             INTEGER NOT NULL PRIMARY KEY,
    application_no TEXT    NOT NULL REFERENCES center_applications (application_no),
    from_state     TEXT    NOT NULL,
    to_state       TEXT    NOT NULL,
    actor          TEXT    NOT NULL CHECK (length(actor) > 0),
    reason         TEXT,
    at             INTEGER NOT NULL,
    UNIQUE (application_no, from_state)
) STRICT;

-- The SMS outbox: at most one notice of a kind per application, written in the transaction of
-- the move that causes it; the sender claims due rows with a lease.
CREATE TABLE center_sms_outbox (
    id              INTEGER NOT NULL PRIMARY KEY,
    application_no  TEXT    NOT NULL REFERENCES center_applications (application_no),
    kind            TEXT    NOT NULL CHECK (kind IN ('accepted', 'ready', 'rejected', 'overdue')),
    mobile          TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    -- 'pending' (to send or retry), 'sent', 'failed' (refused for good; staff see it)
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    leased_until    INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    message_id      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (application_no, kind)
) STRICT;
CREATE INDEX center_sms_outbox_due ON center_sms_outbox (state, next_attempt_at);

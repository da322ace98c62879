-- One citizen, one application (issue 13): the scope decision bound to its session, at most one
-- live application per citizen, and the outbox that delivers each completed application to the
-- population system exactly once. The same layout as the SQLite migration of the same number.

-- Step 5: what the center decided for this session. The application of step 10 must match it
-- (citizen, business, household) and is decided again on the record of that moment.
CREATE TABLE center_scope_decisions (
    session_id TEXT    NOT NULL PRIMARY KEY REFERENCES center_sessions (session_id),
    id_number  TEXT    NOT NULL CHECK (length(id_number) = 18),
    business   TEXT    NOT NULL CHECK (business IN ('expiry_renewal', 'lost', 'damaged')),
    household  TEXT    NOT NULL CHECK (household IN ('local', 'province')),
    -- the card read at step 3 (renewals), JSON {"id","valid_from","valid_until"}
    card       TEXT,
    -- 'accept' or the refusal's reason code
    reason     TEXT    NOT NULL,
    decided_at BIGINT  NOT NULL
);

-- Databases made before this migration may hold several live applications of one citizen (the
-- bug this fixes): all but the newest are set aside as referred, so the constraint can hold.
UPDATE center_applications SET status = 'referred'
 WHERE status IN ('accepted', 'completed')
   AND application_no NOT IN (SELECT MAX(application_no) FROM center_applications
                               WHERE status IN ('accepted', 'completed') GROUP BY id_number);

-- At most one live application per citizen: two kiosks racing for one citizen get one.
CREATE UNIQUE INDEX center_applications_one_live ON center_applications (id_number)
 WHERE status IN ('accepted', 'completed');

-- The delivery outbox: a row is written in the transaction that completes the application, and
-- the delivery worker sends it to the population system until it is acknowledged. The session id
-- is the population system's idempotency key, so a retry never creates a second application.
CREATE TABLE center_deliveries (
    application_no  TEXT    NOT NULL PRIMARY KEY REFERENCES center_applications (application_no),
    -- 'pending' (to send or retry), 'delivered', 'rejected' (refused by the population system)
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'rejected')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    -- a worker's claim on the row until this time, so two replicas do not send it at once
    leased_until    BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT,
    -- the population system's own reference for the application, once delivered
    reference       TEXT,
    lost_reported   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX center_deliveries_due ON center_deliveries (state, next_attempt_at);

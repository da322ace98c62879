-- The center's session tables (crates/store/src/sessions.rs): what each step of a kiosk session
-- decided, the applications, their payments and the documents printed. Every table is keyed by the
-- kiosk's session id, the idempotency key: a repeated call finds the first answer here and changes
-- nothing. Times are unix seconds (INTEGER); calendar dates are ISO text; booleans 0/1; STRICT. The
-- same layout as the PostgreSQL migration of the same number.

CREATE TABLE center_sessions (
    session_id TEXT   NOT NULL PRIMARY KEY CHECK (length(session_id) BETWEEN 1 AND 64),
    kiosk_id   TEXT   NOT NULL,
    started_at INTEGER NOT NULL,
    -- domain::session::SessionOutcome as JSON; the first /end wins.
    outcome    TEXT,
    ended_at   INTEGER
) STRICT;

-- Step 6: the receipt scanned and the certified photo fetched (sealed by the store's BlobCipher).
CREATE TABLE center_receipts (
    session_id   TEXT    NOT NULL PRIMARY KEY REFERENCES center_sessions (session_id),
    id_number    TEXT    NOT NULL CHECK (length(id_number) = 18),
    receipt_code TEXT    NOT NULL,
    found        INTEGER NOT NULL CHECK (found IN (0, 1)),
    photo        BLOB,
    created_at   INTEGER NOT NULL
) STRICT;

-- Step 7: both scores, the thresholds applied, the engine and its version.
CREATE TABLE center_face_scores (
    session_id           TEXT             NOT NULL PRIMARY KEY REFERENCES center_sessions (session_id),
    certified_vs_history REAL             NOT NULL,
    live_vs_history      REAL             NOT NULL,
    certified_distance   REAL             NOT NULL,
    live_distance        REAL             NOT NULL,
    certified_threshold  REAL             NOT NULL,
    live_threshold       REAL             NOT NULL,
    passed               INTEGER          NOT NULL CHECK (passed IN (0, 1)),
    engine               TEXT             NOT NULL,
    engine_version       TEXT             NOT NULL,
    created_at           INTEGER          NOT NULL
) STRICT;

-- Steps 7–10: live photo, signature, fingerprint templates and images, video; bytes sealed by the
-- store's BlobCipher. The first upload of a kind wins.
CREATE TABLE center_session_blobs (
    session_id TEXT   NOT NULL REFERENCES center_sessions (session_id),
    kind       TEXT   NOT NULL,
    bytes      BLOB   NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, kind)
) STRICT;

-- Application numbers: one counter row per city and day, bumped in the same transaction as the
-- application insert, so any number of replicas allocate without collisions.
CREATE TABLE center_application_sequences (
    city_code TEXT   NOT NULL CHECK (length(city_code) = 6),
    day       TEXT   NOT NULL CHECK (length(day) = 8),
    last_seq  INTEGER NOT NULL,
    PRIMARY KEY (city_code, day)
) STRICT;

-- Step 10: the application (受理), one per session; a receipt serves one application only.
CREATE TABLE center_applications (
    application_no TEXT    NOT NULL PRIMARY KEY CHECK (length(application_no) = 18),
    session_id     TEXT    NOT NULL UNIQUE REFERENCES center_sessions (session_id),
    kiosk_id       TEXT    NOT NULL,
    city_code      TEXT    NOT NULL,
    id_number      TEXT    NOT NULL CHECK (length(id_number) = 18),
    name           TEXT    NOT NULL,
    nation_code    TEXT    NOT NULL,
    address        TEXT    NOT NULL,
    business       TEXT    NOT NULL CHECK (business IN ('expiry_renewal', 'lost', 'damaged')),
    household      TEXT    NOT NULL CHECK (household IN ('local', 'province')),
    receipt_code   TEXT    NOT NULL UNIQUE,
    mobile         TEXT    NOT NULL,
    fee_cny        INTEGER NOT NULL,
    validity       TEXT    NOT NULL,
    accepted_on    TEXT    NOT NULL CHECK (length(accepted_on) = 10),
    issue_by       TEXT    NOT NULL CHECK (length(issue_by) = 10),
    remote_area    INTEGER NOT NULL CHECK (remote_area IN (0, 1)),
    -- [{"position":"right_index","quality":81}, …]
    fingers        TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('accepted', 'completed', 'referred')),
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX center_applications_accepted_on ON center_applications (accepted_on);

-- Step 11: payments, one per application and attempt; out_trade_no derives from both. No foreign
-- key to the application: reconciliation must be able to see a payment without one.
CREATE TABLE center_payments (
    out_trade_no   TEXT    NOT NULL PRIMARY KEY,
    application_no TEXT    NOT NULL,
    session_id     TEXT    NOT NULL,
    attempt        INTEGER NOT NULL CHECK (attempt BETWEEN 1 AND 99),
    method         TEXT    NOT NULL CHECK (method IN ('wechat', 'unionpay')),
    amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
    state          TEXT    NOT NULL CHECK (state IN ('SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR')),
    code_url       TEXT,
    expires_at     INTEGER NOT NULL,
    transaction_id TEXT,
    paid_fen       INTEGER,
    paid_at        INTEGER,
    -- the POS result the kiosk reported (UnionPay), JSON
    pos_result     TEXT,
    -- paid, but the application cannot go on: the money must go back (POS void or refund)
    void_required  INTEGER NOT NULL DEFAULT 0 CHECK (void_required IN (0, 1)),
    voided_at      INTEGER,
    void_result    TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (session_id, attempt)
) STRICT;
CREATE INDEX center_payments_application ON center_payments (application_no);
CREATE INDEX center_payments_created_at ON center_payments (created_at);
CREATE INDEX center_payments_paid_at ON center_payments (paid_at);

-- Step 12: which documents were rendered for a session (the PDF itself is re-rendered on demand,
-- byte for byte the same).
CREATE TABLE center_documents (
    session_id     TEXT   NOT NULL REFERENCES center_sessions (session_id),
    kind           TEXT   NOT NULL,
    application_no TEXT   NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT   NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (session_id, kind)
) STRICT;

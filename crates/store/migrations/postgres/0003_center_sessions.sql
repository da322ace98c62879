-- The center's session tables (crates/store/src/sessions.rs): what each step of a kiosk session
-- decided, the applications, their payments and the documents printed. Every table is keyed by the
-- kiosk's session id, the idempotency key: a repeated call finds the first answer here and changes
-- nothing. Times are unix seconds (BIGINT); calendar dates are DATE. The same layout as the SQLite
-- migration of the same number.

CREATE TABLE center_sessions (
    session_id TEXT   NOT NULL PRIMARY KEY CHECK (length(session_id) BETWEEN 1 AND 64),
    kiosk_id   TEXT   NOT NULL,
    started_at BIGINT NOT NULL,
    -- domain::session::SessionOutcome as JSON; the first /end wins.
    outcome    TEXT,
    ended_at   BIGINT
);

-- Step 6: the receipt scanned and the certified photo fetched (sealed by the store's BlobCipher).
CREATE TABLE center_receipts (
    session_id   TEXT    NOT NULL PRIMARY KEY REFERENCES center_sessions (session_id),
    id_number    TEXT    NOT NULL CHECK (length(id_number) = 18),
    receipt_code TEXT    NOT NULL,
    found        BOOLEAN NOT NULL,
    photo        BYTEA,
    created_at   BIGINT  NOT NULL
);

-- Step 7: both scores, the thresholds applied, the engine and its version.
CREATE TABLE center_face_scores (
    session_id           TEXT             NOT NULL PRIMARY KEY REFERENCES center_sessions (session_id),
    certified_vs_history DOUBLE PRECISION NOT NULL,
    live_vs_history      DOUBLE PRECISION NOT NULL,
    certified_distance   DOUBLE PRECISION NOT NULL,
    live_distance        DOUBLE PRECISION NOT NULL,
    certified_threshold  DOUBLE PRECISION NOT NULL,
    live_threshold       DOUBLE PRECISION NOT NULL,
    passed               BOOLEAN          NOT NULL,
    engine               TEXT             NOT NULL,
    engine_version       TEXT             NOT NULL,
    created_at           BIGINT           NOT NULL
);

-- Steps 7–10: live photo, signature, fingerprint templates and images, video; bytes sealed by the
-- store's BlobCipher. The first upload of a kind wins.
CREATE TABLE center_session_blobs (
    session_id TEXT   NOT NULL REFERENCES center_sessions (session_id),
    kind       TEXT   NOT NULL,
    bytes      BYTEA  NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, kind)
);

-- Application numbers: one counter row per city and day, bumped in the same transaction as the
-- application insert, so any number of replicas allocate without collisions.
CREATE TABLE center_application_sequences (
    city_code TEXT   NOT NULL CHECK (length(city_code) = 6),
    day       TEXT   NOT NULL CHECK (length(day) = 8),
    last_seq  BIGINT NOT NULL,
    PRIMARY KEY (city_code, day)
);

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
    fee_cny        BIGINT  NOT NULL,
    validity       TEXT    NOT NULL,
    accepted_on    DATE    NOT NULL,
    issue_by       DATE    NOT NULL,
    remote_area    BOOLEAN NOT NULL,
    -- [{"position":"right_index","quality":81}, …]
    fingers        TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('accepted', 'completed', 'referred')),
    created_at     BIGINT  NOT NULL
);
CREATE INDEX center_applications_accepted_on ON center_applications (accepted_on);

-- Step 11: payments, one per application and attempt; out_trade_no derives from both. No foreign
-- key to the application: reconciliation must be able to see a payment without one.
CREATE TABLE center_payments (
    out_trade_no   TEXT    NOT NULL PRIMARY KEY,
    application_no TEXT    NOT NULL,
    session_id     TEXT    NOT NULL,
    attempt        BIGINT  NOT NULL CHECK (attempt BETWEEN 1 AND 99),
    method         TEXT    NOT NULL CHECK (method IN ('wechat', 'unionpay')),
    amount_fen     BIGINT  NOT NULL CHECK (amount_fen > 0),
    state          TEXT    NOT NULL CHECK (state IN ('SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR')),
    code_url       TEXT,
    expires_at     BIGINT  NOT NULL,
    transaction_id TEXT,
    paid_fen       BIGINT,
    paid_at        BIGINT,
    -- the POS result the kiosk reported (UnionPay), JSON
    pos_result     TEXT,
    -- paid, but the application cannot go on: the money must go back (POS void or refund)
    void_required  BOOLEAN NOT NULL DEFAULT FALSE,
    voided_at      BIGINT,
    void_result    TEXT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    UNIQUE (session_id, attempt)
);
CREATE INDEX center_payments_application ON center_payments (application_no);
CREATE INDEX center_payments_created_at ON center_payments (created_at);
CREATE INDEX center_payments_paid_at ON center_payments (paid_at);

-- Step 12: which documents were rendered for a session (the PDF itself is re-rendered on demand,
-- byte for byte the same).
CREATE TABLE center_documents (
    session_id     TEXT   NOT NULL REFERENCES center_sessions (session_id),
    kind           TEXT   NOT NULL,
    application_no TEXT   NOT NULL,
    size           BIGINT NOT NULL,
    sha256         TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (session_id, kind)
);

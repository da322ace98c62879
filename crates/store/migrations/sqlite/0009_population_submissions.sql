-- The population system's write interfaces (popsys, issue 13): the applications a kiosk center
-- submits, each once (the center's session id is the idempotency key), with the cropped ID
-- photo, the two fingerprint templates, the signature (all sealed by the store's BlobCipher) and
-- the payment reference. Accepting one also writes its `population_applications` row, so the
-- step-5 question "an application is in progress" sees it. Same layout as the PostgreSQL migration.

CREATE TABLE population_submissions (
    idempotency_key    TEXT    NOT NULL PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 64),
    application_number TEXT    NOT NULL UNIQUE REFERENCES population_applications (application_number),
    id_number          TEXT    NOT NULL REFERENCES citizens (id_number),
    business           TEXT    NOT NULL CHECK (business IN ('expiry_renewal', 'lost', 'damaged')),
    household          TEXT    NOT NULL CHECK (household IN ('local', 'province')),
    acceptance_unit    TEXT    NOT NULL CHECK (length(acceptance_unit) > 0),
    photo              BLOB    NOT NULL,
    -- [{"position":"right_index","quality":81}, …], in the order of the templates
    fingers            TEXT    NOT NULL,
    template_1         BLOB    NOT NULL,
    template_2         BLOB    NOT NULL,
    signature          BLOB    NOT NULL,
    mobile             TEXT    NOT NULL CHECK (length(mobile) = 11),
    fee_fen            INTEGER NOT NULL CHECK (fee_fen > 0),
    payment_method     TEXT    NOT NULL CHECK (payment_method IN ('wechat', 'unionpay')),
    payment_reference  TEXT    NOT NULL CHECK (length(payment_reference) > 0),
    issue_by           TEXT    NOT NULL CHECK (length(issue_by) = 10),
    received_on        TEXT    NOT NULL CHECK (length(received_on) = 10),
    received_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX population_submissions_by_id_number ON population_submissions (id_number);

-- When a card was reported lost, and by which application (the card's status says reported_lost).
CREATE TABLE card_loss_reports (
    id_number          TEXT NOT NULL PRIMARY KEY REFERENCES citizens (id_number),
    reported_on        TEXT NOT NULL CHECK (length(reported_on) = 10),
    application_number TEXT NOT NULL
) STRICT;

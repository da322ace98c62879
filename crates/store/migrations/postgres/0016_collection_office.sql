-- Where each application's card is handed over, and how it was (issue 17, store::journey).
-- Same layout as the SQLite migration of the same number.

-- The collection office (the code of a [[center.collection_offices]] table) chosen at the center
-- from the kiosk that took the application. NULL for rows from before: the default office.
ALTER TABLE center_applications ADD COLUMN collection_office TEXT
    CHECK (collection_office IS NULL OR length(collection_office) BETWEEN 1 AND 16);
CREATE INDEX center_applications_office ON center_applications (collection_office);

-- The hand-over at the window, written in the transaction of the move to 'collected'. A proxy's
-- ID number and name are sealed by the store's cipher (encrypted at rest, like photos); the
-- move's reason and the audit entry carry them masked only.
CREATE TABLE center_collections (
    application_no  TEXT    NOT NULL PRIMARY KEY REFERENCES center_applications (application_no),
    method          TEXT    NOT NULL CHECK (method IN ('face', 'by_eye')),
    face_score      DOUBLE PRECISION,
    collector       TEXT    NOT NULL CHECK (collector IN ('applicant', 'proxy')),
    proxy_id_number BYTEA,
    proxy_name      BYTEA,
    clerk           TEXT    NOT NULL CHECK (length(clerk) > 0),
    at              BIGINT  NOT NULL,
    CHECK ((collector = 'proxy') = (proxy_id_number IS NOT NULL AND proxy_name IS NOT NULL))
);

-- The reference population system's tables (popsys); the same layout as the SQLite migration
-- with native types (DATE, BOOLEAN, BYTEA). The center's own tables (applications, payments,
-- audit) come in later migrations; the name `applications` is left free for them.

CREATE TABLE citizens (
    id_number        TEXT    NOT NULL PRIMARY KEY CHECK (length(id_number) = 18),
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    sex              TEXT    NOT NULL CHECK (sex IN ('male', 'female')),
    nation_code      TEXT    NOT NULL CHECK (length(nation_code) = 2),
    birth_date       DATE    NOT NULL,
    address          TEXT    NOT NULL,
    household_region TEXT    NOT NULL CHECK (length(household_region) = 6),
    status           TEXT    NOT NULL CHECK (status IN ('normal', 'cancelled', 'deceased', 'moved_out')),
    remote_area      BOOLEAN NOT NULL DEFAULT FALSE
);

-- The citizen's current card. valid_until NULL means long-term (长期).
CREATE TABLE id_cards (
    id_number         TEXT NOT NULL PRIMARY KEY REFERENCES citizens (id_number),
    valid_from        DATE NOT NULL,
    valid_until       DATE CHECK (valid_until IS NULL OR valid_until > valid_from),
    status            TEXT NOT NULL CHECK (status IN ('valid', 'reported_lost', 'in_production')),
    issuing_authority TEXT NOT NULL
);

-- Floating-population (residence) registrations (居住登记), one per citizen and city.
CREATE TABLE residence_registrations (
    id_number   TEXT NOT NULL REFERENCES citizens (id_number),
    city_code   TEXT NOT NULL CHECK (length(city_code) = 6),
    valid_until DATE NOT NULL,
    PRIMARY KEY (id_number, city_code)
);

-- Photo-studio receipts (照片回执): single use, bound to one ID number. `photo` holds bytes sealed
-- by the store's BlobCipher; NULL until a studio photo exists (demo data).
CREATE TABLE photo_receipts (
    code       TEXT  NOT NULL PRIMARY KEY CHECK (length(code) BETWEEN 8 AND 32),
    id_number  TEXT  NOT NULL REFERENCES citizens (id_number),
    photo      BYTEA,
    created_on DATE  NOT NULL,
    used_on    DATE
);
CREATE INDEX photo_receipts_by_id_number ON photo_receipts (id_number);

-- Historical ID photos (历史证件照片). `photo` sealed by the BlobCipher; NULL = the record exists
-- but its image has not been loaded (demo data before the face work).
CREATE TABLE history_photos (
    id_number TEXT  NOT NULL REFERENCES citizens (id_number),
    taken_on  DATE  NOT NULL,
    photo     BYTEA,
    PRIMARY KEY (id_number, taken_on)
);

-- Card applications the population system knows about (受理中的申请).
CREATE TABLE population_applications (
    application_number TEXT NOT NULL PRIMARY KEY,
    id_number          TEXT NOT NULL REFERENCES citizens (id_number),
    status             TEXT NOT NULL CHECK (status IN ('accepted', 'in_production', 'ready', 'collected', 'withdrawn')),
    applied_on         DATE NOT NULL
);
CREATE INDEX population_applications_by_id_number ON population_applications (id_number);

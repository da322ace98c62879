-- The reference population system's tables (popsys). Dates are ISO text 'YYYY-MM-DD' (sqlx's
-- encoding of time::Date), compared as text; booleans are 0/1. STRICT so a wrong type is refused.
-- Rowid tables (not WITHOUT ROWID): rows append in insertion order and only the small key indexes
-- take random inserts, which keeps bulk seeding of a million random ID numbers fast.
-- The center's own tables (applications, payments, audit) come in later migrations; the name
-- `applications` is left free for them, hence `population_applications` here.

CREATE TABLE citizens (
    id_number        TEXT    NOT NULL PRIMARY KEY CHECK (length(id_number) = 18),
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    sex              TEXT    NOT NULL CHECK (sex IN ('male', 'female')),
    nation_code      TEXT    NOT NULL CHECK (length(nation_code) = 2),
    birth_date       TEXT    NOT NULL CHECK (length(birth_date) = 10),
    address          TEXT    NOT NULL,
    household_region TEXT    NOT NULL CHECK (length(household_region) = 6),
    status           TEXT    NOT NULL CHECK (status IN ('normal', 'cancelled', 'deceased', 'moved_out')),
    remote_area      INTEGER NOT NULL DEFAULT 0 CHECK (remote_area IN (0, 1))
) STRICT;

-- The citizen's current card. valid_until NULL means long-term (长期).
CREATE TABLE id_cards (
    id_number         TEXT NOT NULL PRIMARY KEY REFERENCES citizens (id_number),
    valid_from        TEXT NOT NULL CHECK (length(valid_from) = 10),
    valid_until       TEXT CHECK (valid_until IS NULL OR (length(valid_until) = 10 AND valid_until > valid_from)),
    status            TEXT NOT NULL CHECK (status IN ('valid', 'reported_lost', 'in_production')),
    issuing_authority TEXT NOT NULL
) STRICT;

-- Floating-population (residence) registrations (居住登记), one per citizen and city.
CREATE TABLE residence_registrations (
    id_number   TEXT NOT NULL REFERENCES citizens (id_number),
    city_code   TEXT NOT NULL CHECK (length(city_code) = 6),
    valid_until TEXT NOT NULL CHECK (length(valid_until) = 10),
    PRIMARY KEY (id_number, city_code)
) STRICT;

-- Photo-studio receipts (照片回执): single use, bound to one ID number. `photo` holds bytes sealed
-- by the store's BlobCipher; NULL until a studio photo exists (demo data).
CREATE TABLE photo_receipts (
    code       TEXT NOT NULL PRIMARY KEY CHECK (length(code) BETWEEN 8 AND 32),
    id_number  TEXT NOT NULL REFERENCES citizens (id_number),
    photo      BLOB,
    created_on TEXT NOT NULL CHECK (length(created_on) = 10),
    used_on    TEXT CHECK (used_on IS NULL OR length(used_on) = 10)
) STRICT;
CREATE INDEX photo_receipts_by_id_number ON photo_receipts (id_number);

-- Historical ID photos (历史证件照片). `photo` sealed by the BlobCipher; NULL = the record exists
-- but its image has not been loaded (demo data before the face work).
CREATE TABLE history_photos (
    id_number TEXT NOT NULL REFERENCES citizens (id_number),
    taken_on  TEXT NOT NULL CHECK (length(taken_on) = 10),
    photo     BLOB,
    PRIMARY KEY (id_number, taken_on)
) STRICT;

-- Card applications the population system knows about (受理中的申请).
CREATE TABLE population_applications (
    application_number TEXT NOT NULL PRIMARY KEY,
    id_number          TEXT NOT NULL REFERENCES citizens (id_number),
    status             TEXT NOT NULL CHECK (status IN ('accepted', 'in_production', 'ready', 'collected', 'withdrawn')),
    applied_on         TEXT NOT NULL CHECK (length(applied_on) = 10)
) STRICT;
CREATE INDEX population_applications_by_id_number ON population_applications (id_number);

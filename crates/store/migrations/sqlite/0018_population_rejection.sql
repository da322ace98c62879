-- The reference population system can refuse an application after accepting it (issue 17,
-- `idkiosk popsys produce --to rejected --reason …`): status 'rejected' with its reason. Same
-- meaning as the PostgreSQL migration of the same number.
--
-- SQLite cannot change a CHECK, so the table is rebuilt under its own name. population_submissions
-- refers to it: the foreign keys are checked at commit (defer_foreign_keys), by which time every
-- row is back (dropping the table counts its children as orphans; putting each parent row back
-- counts them again as found).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE population_applications_before AS
    SELECT application_number, id_number, status, applied_on FROM population_applications;
DROP TABLE population_applications;
CREATE TABLE population_applications (
    application_number TEXT NOT NULL PRIMARY KEY,
    id_number          TEXT NOT NULL REFERENCES citizens (id_number),
    status             TEXT NOT NULL CHECK (status IN ('accepted', 'in_production', 'ready',
                                                       'collected', 'withdrawn', 'rejected')),
    applied_on         TEXT NOT NULL CHECK (length(applied_on) = 10),
    -- Why it was refused (sent to the citizen in the rejection SMS); only for 'rejected'.
    rejection_reason   TEXT CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)
                                   AND length(rejection_reason) BETWEEN 1 AND 200)
) STRICT;
INSERT INTO population_applications (application_number, id_number, status, applied_on)
SELECT application_number, id_number, status, applied_on FROM population_applications_before;
DROP TABLE population_applications_before;
CREATE INDEX population_applications_by_id_number ON population_applications (id_number);

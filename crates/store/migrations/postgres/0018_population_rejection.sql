-- The reference population system can refuse an application after accepting it (issue 17,
-- `idkiosk popsys produce --to rejected --reason …`): status 'rejected' with its reason. Same
-- meaning as the SQLite migration of the same number.
ALTER TABLE population_applications DROP CONSTRAINT population_applications_status_check;
ALTER TABLE population_applications ADD CONSTRAINT population_applications_status_check
    CHECK (status IN ('accepted', 'in_production', 'ready', 'collected', 'withdrawn', 'rejected'));
-- Why it was refused (shown to the citizen in the rejection SMS); only for 'rejected'.
ALTER TABLE population_applications ADD COLUMN rejection_reason TEXT
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)
           AND length(rejection_reason) BETWEEN 1 AND 200);

-- The staff console's lookups (crates/store/src/staff.rs) without full scans at a province's scale:
-- search by full ID number, the deadlines list (issue_by), the referral queue (newest ended first).
-- The same text on both backends.

CREATE INDEX center_applications_id_number ON center_applications (id_number);
CREATE INDEX center_applications_issue_by ON center_applications (issue_by);
CREATE INDEX center_sessions_ended_at ON center_sessions (ended_at);

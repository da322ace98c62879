-- An application whose journey has ended (rejected, collected, returned, cancelled) is no longer
-- live: its citizen may apply again (issue 17; found by walking the demo: a citizen whose card
-- was collected, or whose application was rejected, was refused at step 5 for ever as
-- "application_in_progress"). The one-live-application index takes the journey into account.
DROP INDEX center_applications_one_live;
CREATE UNIQUE INDEX center_applications_one_live ON center_applications (id_number)
 WHERE status IN ('accepted', 'completed')
   AND journey_state NOT IN ('rejected', 'collected', 'returned', 'cancelled');

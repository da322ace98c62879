-- Step 7's liveness check (issue 20): the live photo's passive liveness score (0–1), the bar it
-- was judged against and the engine, stored with the face scores. NULL when no liveness engine
-- ran (older rows, models missing). Same layout as the PostgreSQL migration.
ALTER TABLE center_face_scores ADD COLUMN liveness_score REAL;
ALTER TABLE center_face_scores ADD COLUMN liveness_threshold REAL;
ALTER TABLE center_face_scores ADD COLUMN liveness_engine TEXT;

-- The GIS workspace: each run's progress points (its loss curve), how a study area was made, and the
-- project's saved map view (in project_meta under 'map_view').
CREATE TABLE run_progress (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  iteration   INTEGER NOT NULL,
  phase       TEXT NOT NULL,
  objective   REAL,
  losses_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(losses_json)),
  at          TEXT NOT NULL
) STRICT;
CREATE INDEX run_progress_run ON run_progress(run_id, id);

ALTER TABLE study_areas ADD COLUMN origin TEXT NOT NULL DEFAULT 'drawn' CHECK (origin IN ('drawn', 'catchment'));
ALTER TABLE study_areas ADD COLUMN gauge_code TEXT;
ALTER TABLE study_areas ADD COLUMN cells INTEGER;
ALTER TABLE study_areas ADD COLUMN area_km2 REAL;

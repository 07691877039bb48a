-- Issue 18: sweeps. A sweep is a parent run (method 'sweep') with one child run per combination of
-- its grid values, seeds and datasets. The children point at their parent (runs.parent_id) with their
-- place in the sweep (runs.sweep_index, unique per parent: a child is recorded once). The sweep's spec
-- (its queue URL without the password) lives in `sweeps`; what each child was built from (grid values,
-- seed, dataset) and where it ran (the worker) in `sweep_children`.

ALTER TABLE runs ADD COLUMN parent_id INTEGER REFERENCES runs(id) ON DELETE CASCADE;
ALTER TABLE runs ADD COLUMN sweep_index INTEGER;
CREATE UNIQUE INDEX runs_sweep_child ON runs(parent_id, sweep_index) WHERE parent_id IS NOT NULL;

CREATE TABLE sweeps (
  run_id     INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  spec_json  TEXT NOT NULL CHECK (json_valid(spec_json)),
  queue      TEXT,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE sweep_children (
  sweep_id    INTEGER NOT NULL REFERENCES sweeps(run_id) ON DELETE CASCADE,
  idx         INTEGER NOT NULL,
  run_id      INTEGER NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
  values_json TEXT NOT NULL CHECK (json_valid(values_json)),
  seed        INTEGER NOT NULL,
  dataset     TEXT,
  worker      TEXT,
  recorded_at TEXT,
  PRIMARY KEY (sweep_id, idx)
) STRICT;

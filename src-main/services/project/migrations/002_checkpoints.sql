-- The latest checkpoint of each run (replaced in one transaction each time), so a run cut off by a
-- crash or kill resumes from its last completed iteration.
CREATE TABLE run_checkpoints (
  run_id     INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  iteration  INTEGER NOT NULL,
  state_json TEXT NOT NULL CHECK (json_valid(state_json)),
  saved_at   TEXT NOT NULL
) STRICT;

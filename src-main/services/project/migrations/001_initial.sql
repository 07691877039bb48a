-- Fieldcal project schema, version 1.
-- Times are ISO 8601 UTC strings; JSON columns hold objects validated by the services that write them.

CREATE TABLE project_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE datasets (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('raster', 'stack', 'netcdf', 'gauges', 'vector', 'lumped')),
  source_path TEXT NOT NULL,
  crs         TEXT,
  grid_json   TEXT CHECK (grid_json IS NULL OR json_valid(grid_json)),
  time_start  TEXT,
  time_end    TEXT,
  steps       INTEGER,
  size_bytes  INTEGER,
  checksum    TEXT,
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE layers (
  id         INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  visible    INTEGER NOT NULL DEFAULT 1 CHECK (visible IN (0, 1)),
  opacity    REAL NOT NULL DEFAULT 1 CHECK (opacity BETWEEN 0 AND 1),
  z_order    INTEGER NOT NULL DEFAULT 0,
  style_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(style_json))
) STRICT;
CREATE INDEX layers_dataset ON layers(dataset_id);

CREATE TABLE gauges (
  id          INTEGER PRIMARY KEY,
  dataset_id  INTEGER REFERENCES datasets(id) ON DELETE CASCADE,
  code        TEXT NOT NULL UNIQUE,
  name        TEXT,
  x           REAL NOT NULL,
  y           REAL NOT NULL,
  crs         TEXT,
  area_km2    REAL CHECK (area_km2 IS NULL OR area_km2 > 0),
  cell_row    INTEGER,
  cell_col    INTEGER
) STRICT;

CREATE TABLE study_areas (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  geometry_json TEXT NOT NULL CHECK (json_valid(geometry_json)),
  crs           TEXT NOT NULL,
  grid_json     TEXT CHECK (grid_json IS NULL OR json_valid(grid_json)),
  created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  method        TEXT NOT NULL,
  options_json  TEXT NOT NULL CHECK (json_valid(options_json)),
  status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  seed          INTEGER NOT NULL,
  study_area_id INTEGER REFERENCES study_areas(id) ON DELETE SET NULL,
  created_at    TEXT NOT NULL,
  started_at    TEXT,
  finished_at   TEXT,
  error         TEXT
) STRICT;
CREATE INDEX runs_status ON runs(status);

CREATE TABLE run_metrics (
  id      INTEGER PRIMARY KEY,
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  period  TEXT NOT NULL,
  target  TEXT NOT NULL,
  metric  TEXT NOT NULL,
  value   REAL,
  UNIQUE (run_id, period, target, metric)
) STRICT;

CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL,
  path       TEXT NOT NULL,
  size_bytes INTEGER,
  checksum   TEXT,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX artifacts_run ON artifacts(run_id);

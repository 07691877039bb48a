-- Issue 15: datasets assembled for the models (`datasets.assemble`, kind 'model': a folder with a
-- fieldcal-dataset.json manifest). SQLite cannot alter a CHECK constraint, so `datasets` is rebuilt.
-- Foreign keys stay on while migrations run (a DROP of a parent would cascade into its children), so
-- the two tables that reference it (layers, gauges) are rebuilt with it: new tables are filled first,
-- the old children are dropped before the old parent, and renaming the new parent rewrites the new
-- children's REFERENCES clauses (SQLite >= 3.26). Ids, rows and ON DELETE CASCADE are kept.

CREATE TABLE datasets_v5 (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('raster', 'stack', 'netcdf', 'gauges', 'vector', 'lumped', 'model')),
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
INSERT INTO datasets_v5 (id, name, kind, source_path, crs, grid_json, time_start, time_end, steps, size_bytes, checksum, created_at)
  SELECT id, name, kind, source_path, crs, grid_json, time_start, time_end, steps, size_bytes, checksum, created_at FROM datasets;

CREATE TABLE layers_v5 (
  id         INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets_v5(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  visible    INTEGER NOT NULL DEFAULT 1 CHECK (visible IN (0, 1)),
  opacity    REAL NOT NULL DEFAULT 1 CHECK (opacity BETWEEN 0 AND 1),
  z_order    INTEGER NOT NULL DEFAULT 0,
  style_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(style_json))
) STRICT;
INSERT INTO layers_v5 (id, dataset_id, name, visible, opacity, z_order, style_json)
  SELECT id, dataset_id, name, visible, opacity, z_order, style_json FROM layers;

CREATE TABLE gauges_v5 (
  id          INTEGER PRIMARY KEY,
  dataset_id  INTEGER REFERENCES datasets_v5(id) ON DELETE CASCADE,
  code        TEXT NOT NULL UNIQUE,
  name        TEXT,
  x           REAL NOT NULL,
  y           REAL NOT NULL,
  crs         TEXT,
  area_km2    REAL CHECK (area_km2 IS NULL OR area_km2 > 0),
  cell_row    INTEGER,
  cell_col    INTEGER
) STRICT;
INSERT INTO gauges_v5 (id, dataset_id, code, name, x, y, crs, area_km2, cell_row, cell_col)
  SELECT id, dataset_id, code, name, x, y, crs, area_km2, cell_row, cell_col FROM gauges;

DROP TABLE gauges;
DROP TABLE layers;
DROP TABLE datasets;
ALTER TABLE datasets_v5 RENAME TO datasets;
ALTER TABLE layers_v5 RENAME TO layers;
ALTER TABLE gauges_v5 RENAME TO gauges;
CREATE INDEX layers_dataset ON layers(dataset_id);

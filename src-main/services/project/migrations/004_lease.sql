-- One writer per project: every process writing to the project holds a row here, refreshed by a
-- heartbeat while it is open and deleted on close. An 'owner' (the app, `fieldcal serve`, a CLI job
-- host) is alone at a time; a 'recorder' (a CLI command appending its one run) may sit beside it.
-- A row whose heartbeat is older than its ttl_ms, or whose process is gone (same host), is dead.
CREATE TABLE project_writers (
  owner_id     TEXT PRIMARY KEY,
  role         TEXT NOT NULL CHECK (role IN ('owner', 'recorder')),
  pid          INTEGER NOT NULL,
  hostname     TEXT NOT NULL,
  since        TEXT NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  ttl_ms       INTEGER NOT NULL CHECK (ttl_ms > 0)
) STRICT;

-- Files being written outside the runs folder (export destinations): their temporary siblings are
-- removed on the next open once the writer is dead.
CREATE TABLE pending_writes (
  path     TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  at       TEXT NOT NULL
) STRICT;

-- The writer that last queued or started a run: a run is interrupted only when that writer is dead.
ALTER TABLE runs ADD COLUMN owner_id TEXT;

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FIELDCAL_APP_ID, ProjectStore } from '../../../../src-main/services/project/store';
import { MIGRATIONS } from '../../../../src-main/services/project/migrations';
import { tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** A project file as schema 4 wrote it (the migrations before 005, run as the store runs them). */
function schema4Project(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`application_id = ${FIELDCAL_APP_ID}`);
  for (const m of MIGRATIONS.filter((x) => x.version <= 4)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  db.prepare("INSERT INTO project_meta (key, value) VALUES ('name', 'old')").run();
  const now = '2026-01-01T00:00:00Z';
  const ds = db.prepare(
    'INSERT INTO datasets (id, name, kind, source_path, crs, grid_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  ds.run(7, 'flwdir', 'raster', '/data/flwdir.tif', 'EPSG:2154', '{"rows":2}', now);
  ds.run(9, 'gauges', 'gauges', '/data/lez', null, null, now);
  db.prepare('INSERT INTO layers (id, dataset_id, name, opacity, z_order) VALUES (3, 7, ?, 0.5, 2)').run(
    'flow',
  );
  db.prepare(
    "INSERT INTO gauges (id, dataset_id, code, x, y, area_km2) VALUES (4, 9, 'Y3204040', 1, 2, 169)",
  ).run();
  expect(() => ds.run(10, 'm', 'model', '/m', null, null, now)).toThrow(/CHECK/);
  db.close();
}

describe('migration 005 (the model dataset kind)', () => {
  it('widens datasets.kind on a schema-4 project, keeping rows, ids, layers, gauges and their cascades', () => {
    const path = join(tmp.dir, 'old.fieldcal');
    schema4Project(path);
    const s = ProjectStore.open({ path });
    expect(s.schemaVersion).toBeGreaterThanOrEqual(5);
    expect(s.datasets.list().map((d) => [d.id, d.name, d.kind, d.grid])).toEqual([
      [7, 'flwdir', 'raster', { rows: 2 }],
      [9, 'gauges', 'gauges', null],
    ]);
    expect(s.layers.list().map((l) => [l.id, l.datasetId, l.opacity])).toEqual([[3, 7, 0.5]]);
    expect(s.db.prepare('SELECT id, dataset_id, code FROM gauges').all()).toEqual([
      { id: 4, dataset_id: 9, code: 'Y3204040' },
    ]);
    expect(s.db.pragma('foreign_key_check')).toEqual([]);
    // the new kind is accepted, a wrong one still refused
    const m = s.datasets.add({
      name: 'lez-model',
      kind: 'model',
      sourcePath: '/x/lez-model',
      crs: 'EPSG:2154',
      grid: null,
      timeStart: null,
      timeEnd: null,
      steps: null,
      sizeBytes: null,
      checksum: null,
    });
    expect(m.kind).toBe('model');
    expect(() =>
      s.db
        .prepare(
          "INSERT INTO datasets (name, kind, source_path, created_at) VALUES ('b', 'bogus', '/b', 'now')",
        )
        .run(),
    ).toThrow(/CHECK/);
    // the children still reference datasets (cascade on delete, refused orphans)
    const fks = s.db.prepare('SELECT "table" FROM pragma_foreign_key_list(\'layers\')').all();
    expect(fks).toEqual([{ table: 'datasets' }]);
    expect(() => s.db.prepare("INSERT INTO layers (dataset_id, name) VALUES (999, 'x')").run()).toThrow(
      /FOREIGN KEY/,
    );
    expect(s.datasets.remove(7)).toBe(true);
    expect(s.layers.list()).toEqual([]);
    expect(s.datasets.remove(9)).toBe(true);
    expect(s.db.prepare('SELECT COUNT(*) AS n FROM gauges').get()).toEqual({ n: 0 });
    expect(s.db.prepare("SELECT name FROM sqlite_master WHERE name LIKE '%_v5'").all()).toEqual([]);
    s.close();
  });
});

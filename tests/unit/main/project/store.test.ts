import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FieldcalError } from '../../../../src-shared/ipc';
import { FIELDCAL_APP_ID, ProjectStore } from '../../../../src-main/services/project/store';
import { LATEST_SCHEMA_VERSION } from '../../../../src-main/services/project/migrations';
import { fileSha256, tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function expectCode(fn: () => unknown, code: string): FieldcalError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FieldcalError);
    expect((err as FieldcalError).code).toBe(code);
    return err as FieldcalError;
  }
  throw new Error(`expected ${code}`);
}

describe('project store', () => {
  it('creates a WAL project with foreign keys, the latest schema and its tables', () => {
    const path = join(tmp.dir, 'a.fieldcal');
    const s = ProjectStore.create({ path, name: 'Lez study' });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(s.db.pragma('application_id', { simple: true })).toBe(FIELDCAL_APP_ID);
    expect(s.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    const tables = (
      s.db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all() as Array<{
        name: string;
      }>
    ).map((r) => r.name);
    expect(tables).toEqual([
      'artifacts',
      'datasets',
      'gauges',
      'layers',
      'pending_writes',
      'project_meta',
      'project_writers',
      'run_checkpoints',
      'run_metrics',
      'run_progress',
      'runs',
      'study_areas',
      'sweep_children',
      'sweeps',
    ]);
    expect(s.info()).toMatchObject({
      name: 'Lez study',
      schemaVersion: LATEST_SCHEMA_VERSION,
      counts: { datasets: 0, runs: 0 },
    });
    s.close();
    // reopening keeps everything
    const again = ProjectStore.open({ path });
    expect(again.info().name).toBe('Lez study');
    again.close();
    expectCode(() => ProjectStore.create({ path }), 'CONFLICT');
  });

  it('stores datasets, layers, runs, metrics and artifacts, cascading deletes', () => {
    const s = ProjectStore.create({ path: join(tmp.dir, 'b.fieldcal') });
    const d = s.datasets.add({
      name: 'prcp',
      kind: 'stack',
      sourcePath: '/data/prcp',
      crs: 'EPSG:2154',
      grid: { rows: 14, cols: 27 },
      timeStart: '2012-08-01',
      timeEnd: '2013-07-31',
      steps: 365,
      sizeBytes: 1000,
      checksum: 'abc',
    });
    const l = s.layers.add({ datasetId: d.id, name: 'Rainfall' });
    expect(s.layers.update(l.id, { visible: false, opacity: 0.4 })).toMatchObject({
      visible: false,
      opacity: 0.4,
    });
    s.gauges.add({
      datasetId: d.id,
      code: 'Y3204040',
      name: null,
      x: 772_363,
      y: 6_274_166,
      crs: 'EPSG:2154',
      areaKm2: 169,
      cellRow: null,
      cellCol: null,
    });
    const run = s.runs.create({ name: 'r', method: 'hda-pr', options: { epochs: 3 }, seed: 42 });
    expect(run.status).toBe('queued');
    s.runs.setStatus(run.id, 'running');
    s.runs.addMetrics(run.id, [
      { period: 'train', target: 'Y3204040', metric: 'nse', value: 0.86 },
      { period: 'train', target: 'Y3204040', metric: 'kge', value: Number.NaN },
    ]);
    s.runs.addArtifact({
      runId: run.id,
      kind: 'parameter',
      path: '/x/cp.tif',
      sizeBytes: 10,
      checksum: null,
    });
    const done = s.runs.setStatus(run.id, 'succeeded');
    expect(done.finishedAt).not.toBeNull();
    expect(s.runs.detail(run.id)).toMatchObject({
      metrics: [
        { metric: 'nse', value: 0.86 },
        { metric: 'kge', value: null },
      ],
      artifacts: [{ kind: 'parameter', path: '/x/cp.tif' }],
    });
    expectCode(() => s.runs.setStatus(run.id, 'running'), 'CONFLICT');
    expect(s.info().counts).toEqual({ datasets: 1, layers: 1, gauges: 1, studyAreas: 0, runs: 1 });
    expect(s.datasets.remove(d.id)).toBe(true);
    expect(s.info().counts).toMatchObject({ datasets: 0, layers: 0, gauges: 0 });
    // a failing write inside a transaction leaves nothing behind
    expect(() =>
      s.transaction(() => {
        s.runs.create({ name: 'half', method: 'x', options: {}, seed: 1 });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.runs.list().map((r) => r.name)).toEqual(['r']);
    s.close();
  });

  it('marks runs left running as interrupted when reopened', () => {
    const path = join(tmp.dir, 'c.fieldcal');
    const s = ProjectStore.create({ path });
    const r = s.runs.create({ name: 'r', method: 'dpl', options: {}, seed: 1 });
    s.runs.setStatus(r.id, 'running');
    s.close();
    const again = ProjectStore.open({ path });
    expect(again.runs.get(r.id)).toMatchObject({ status: 'interrupted' });
    again.close();
  });

  it('refuses a non-SQLite file, untouched', () => {
    for (const [name, bytes] of [
      ['text.fieldcal', Buffer.from('hello, this is not a database\n'.repeat(20))],
      ['empty.fieldcal', Buffer.alloc(0)],
      ['tiff.fieldcal', readFileSync(new URL('../../../../package.json', import.meta.url))],
    ] as const) {
      const path = join(tmp.dir, name);
      writeFileSync(path, bytes);
      const before = fileSha256(path);
      const e = expectCode(() => ProjectStore.open({ path }), 'PROJECT_NOT_SQLITE');
      expect(e.message).toContain(path);
      expect(fileSha256(path)).toBe(before);
      expect(existsSync(`${path}-wal`)).toBe(false);
    }
  });

  it('refuses a newer-schema file, untouched', () => {
    const path = join(tmp.dir, 'new.fieldcal');
    ProjectStore.create({ path }).close();
    const db = new Database(path);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    db.pragma('journal_mode = DELETE');
    db.close();
    const before = fileSha256(path);
    const mtime = statSync(path).mtimeMs;
    const e = expectCode(() => ProjectStore.open({ path }), 'PROJECT_NEWER_SCHEMA');
    expect(e.details).toMatchObject({
      schemaVersion: LATEST_SCHEMA_VERSION + 1,
      supported: LATEST_SCHEMA_VERSION,
    });
    expect(fileSha256(path)).toBe(before);
    expect(statSync(path).mtimeMs).toBe(mtime);
  });

  it('refuses a corrupt project and a foreign SQLite file, untouched', () => {
    const good = join(tmp.dir, 'good.fieldcal');
    const s = ProjectStore.create({ path: good });
    for (let i = 0; i < 200; i++)
      s.runs.create({ name: `r${i}`, method: 'x', options: { pad: 'y'.repeat(500) }, seed: i });
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    s.db.pragma('journal_mode = DELETE');
    s.close();
    const bad = join(tmp.dir, 'bad.fieldcal');
    copyFileSync(good, bad);
    const bytes = readFileSync(bad);
    // overwrite pages 2.. with garbage, keeping the 100-byte header intact
    for (let i = 4096; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(bad, bytes);
    const before = fileSha256(bad);
    const e = expectCode(() => ProjectStore.open({ path: bad }), 'PROJECT_CORRUPT');
    expect(e.message).toContain(bad);
    expect(fileSha256(bad)).toBe(before);

    const foreign = join(tmp.dir, 'other.sqlite');
    const db = new Database(foreign);
    db.exec('CREATE TABLE t (x)');
    db.close();
    const fBefore = fileSha256(foreign);
    expectCode(() => ProjectStore.open({ path: foreign }), 'PROJECT_NOT_FIELDCAL');
    expect(fileSha256(foreign)).toBe(fBefore);
    expectCode(() => ProjectStore.open({ path: join(tmp.dir, 'missing.fieldcal') }), 'NOT_FOUND');
  });

  it('keeps every committed row when a writer is killed with SIGKILL mid-transaction', async () => {
    const path = join(tmp.dir, 'kill.fieldcal');
    ProjectStore.create({ path }).close();
    const committed = 25;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './scripts/raw-loader.mjs',
        'tests/helpers/killWriter.ts',
        path,
        String(committed),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('in transaction')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${out}`)));
    });
    // the open transaction has spilled pages into the WAL
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(1_000_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(child.signalCode).toBe('SIGKILL');

    const s = ProjectStore.open({ path });
    expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const runs = s.runs.list();
    expect(runs.map((r) => r.name)).toEqual(Array.from({ length: committed }, (_, i) => `committed-${i}`));
    expect(runs.every((r) => s.runs.metrics(r.id).length === 1)).toBe(true);
    s.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FieldcalError, type JobProgress, type RunRecord } from '../../../../src-shared/ipc';
import { AppEvents } from '../../../../src-main/services/events';
import { JobHost } from '../../../../src-main/services/jobs/host';
import { parseJobSpec } from '../../../../src-main/services/jobs/specs';
import { ProjectStore } from '../../../../src-main/services/project/store';

const dir = mkdtempSync(join(tmpdir(), 'fieldcal-jobs-'));
let store: ProjectStore;
let host: JobHost;
const events = new AppEvents();
const seen: Array<[string, unknown]> = [];
const small = { rows: 6, cols: 8, seed: 2, years: { warmup: 1, train: 1, valid: 1, test: 1 } };

beforeAll(() => {
  store = ProjectStore.create({ path: join(dir, 'p.fieldcal') });
  host = new JobHost(store, events);
  events.onAny((k, p) => seen.push([k, p]));
});
afterAll(async () => {
  await host.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function refusal(spec: unknown): FieldcalError {
  try {
    host.submit(spec, { outDir: dir });
  } catch (e) {
    return e as FieldcalError;
  }
  throw new Error('accepted');
}

describe('job specs', () => {
  it('fill their defaults (the paper-size twin) and are stored with the run', () => {
    const s = parseJobSpec({ kind: 'twin', method: 'sce-ua' });
    if (s.kind !== 'twin') throw new Error('kind');
    expect(s.twin).toMatchObject({
      rows: 17,
      cols: 24,
      years: { warmup: 1, train: 2, valid: 2, test: 1 },
      noise: 0.05,
    });
    expect(s.options).toMatchObject({ maxRuns: 2000, transfer: 'sigmoid' });
  });

  it('are refused before the job starts, with typed errors naming the field, and nothing is recorded', () => {
    const cases: Array<[unknown, string]> = [
      [{ kind: 'twin', method: 'ann', extra: 1 }, 'extra'],
      [{ kind: 'twin', method: 'annealing' }, 'method'],
      [{ kind: 'twin', method: 'ann', twin: { rows: 17, colz: 3 } }, 'twin.colz'],
      [{ kind: 'twin', method: 'ann', twin: { years: { train: 0 } } }, 'twin.years.train'],
      [{ kind: 'twin', method: 'dpl', options: { epochs: -2 } }, 'options.epochs'],
      [{ kind: 'twin', method: 'sce-ua', options: { maxruns: 10 } }, 'options.maxruns'],
      [{ kind: 'twin', method: 'ann', twin: { calibrated: ['b', 'X1'] } }, 'twin.calibrated.1'],
      [{ kind: 'twin', method: 'ann', twin: { bounds: { d2: { lower: 1, upper: 0.5 } } } }, 'twin.bounds.d2'],
      [{ kind: 'twin', method: 'ann', twin: { bounds: { b: { lower: 0, upper: 3 } } } }, 'twin.bounds.b'],
      [{ kind: 'gridded', method: 'ann' }, 'dataset'],
      [
        { kind: 'gridded', method: 'ann', dataset: { path: 'x', start: '2012-01-01', end: '2011-01-01' } },
        'dataset.end',
      ],
      [
        {
          kind: 'gridded',
          method: 'ann',
          dataset: { path: 'x', start: '2012-01-01', end: '2013-01-01' },
          split: { warmup: 1, train: 0, valid: 0, test: 1 },
        },
        'split.train',
      ],
      [{ kind: 'lumpy', method: 'ann' }, 'kind'],
      [{ kind: 'lumped', method: 'ann' }, 'dataset'],
    ];
    for (const [spec, field] of cases) {
      const e = refusal(spec);
      expect(e).toBeInstanceOf(FieldcalError);
      expect(e.code).toBe('VALIDATION');
      expect(String(e.details?.field), JSON.stringify(spec)).toBe(field);
    }
    expect(store.runs.list()).toEqual([]);
  });
});

describe('job host', () => {
  it('runs jobs in worker threads one after the other, streaming progress events, and records them', async () => {
    const progress: JobProgress[] = [];
    const off = host.onProgress((p) => progress.push(p));
    const a = host.submit(
      { kind: 'twin', method: 'ann', twin: small, threads: 1, options: { iterations: 6, validEvery: 3 } },
      { outDir: (id) => join(dir, `run-${id}`) },
    );
    const b = host.submit(
      { kind: 'twin', method: 'gradient', twin: small, threads: 1, options: { iterations: 3 } },
      { outDir: (id) => join(dir, `run-${id}`) },
    );
    // one at a time: the second waits in the queue
    expect(store.runs.get(a.id).status).toBe('running');
    expect(store.runs.get(b.id).status).toBe('queued');
    expect((await host.wait(a.id)).status).toBe('succeeded');
    expect((await host.wait(b.id)).status).toBe('succeeded');
    off();
    expect(progress.some((p) => p.runId === a.id && p.phase === 'calibrating' && p.objective! > 0)).toBe(
      true,
    );
    expect(progress.some((p) => p.runId === b.id)).toBe(true);
    expect(seen.some(([k, p]) => k === 'jobs.onProgress' && (p as JobProgress).runId === a.id)).toBe(true);
    // each status change reaches the event bus: running, then succeeded, in that order per run
    for (const id of [a.id, b.id]) {
      const statuses = seen
        .filter(([k, p]) => k === 'jobs.onStatus' && (p as RunRecord).id === id)
        .map(([, p]) => (p as RunRecord).status);
      expect(statuses).toEqual(['running', 'succeeded']);
    }
    // checkpoints of the resumable method are in the project
    expect(store.runs.checkpoint(a.id)!.iteration).toBe(6);
    expect(store.runs.metrics(a.id).length).toBeGreaterThan(20);
    // a finished run does not resume
    expect(() => host.resume(a.id)).toThrow(/only interrupted runs resume/);
  }, 120_000);

  it('keeps only the last results in memory (the project keeps everything)', async () => {
    const lean = new JobHost(store, undefined, 1, 1);
    const opts = { outDir: (id: number) => join(dir, `run-${id}`) };
    const job = { kind: 'twin', method: 'gradient', twin: small, threads: 1, options: { iterations: 2 } };
    const a = lean.submit(job, opts);
    const b = lean.submit(job, opts);
    expect((await lean.wait(a.id)).status).toBe('succeeded');
    expect(lean.result(a.id)?.evaluation?.periods.test.spatialRmse).toBeGreaterThan(0);
    expect((await lean.wait(b.id)).status).toBe('succeeded');
    expect(lean.result(b.id)?.evaluation?.periods.test.spatialRmse).toBeGreaterThan(0);
    expect(lean.result(a.id)).toBeUndefined();
    expect(store.runs.metrics(a.id).length).toBeGreaterThan(0);
    await lean.close();
  }, 120_000);

  it('cancels a running job at its next iteration, keeping what it learnt so far', async () => {
    const run = host.submit(
      { kind: 'twin', method: 'dpl', twin: small, threads: 1, options: { epochs: 500, batchCells: 16 } },
      { outDir: (id) => join(dir, `run-${id}`) },
    );
    await new Promise<void>((res) => {
      const off = host.onProgress((p) => {
        if (p.runId === run.id && p.phase === 'calibrating') {
          off();
          res();
        }
      });
    });
    expect(host.cancel(run.id)).toBe(true);
    const done = await host.wait(run.id);
    expect(done.status).toBe('cancelled');
    const epochs = host.result(run.id)!.info.epochs as number;
    expect(epochs).toBeGreaterThanOrEqual(1);
    expect(epochs).toBeLessThan(500);
    expect(store.runs.artifacts(run.id).some((a) => a.kind === 'parameter-geotiff')).toBe(true);
  }, 120_000);

  it('marks a job that fails as failed with its message', async () => {
    const run = host.submit(
      {
        kind: 'twin',
        method: 'dpl',
        twin: { ...small, years: { warmup: 0, train: 1, valid: 1, test: 1 } },
        threads: 1,
        options: { window: 400 },
      },
      { outDir: (id) => join(dir, `run-${id}`) },
    );
    const done = await host.wait(run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/VALIDATION: training period is shorter than one 400-step window/);
  }, 60_000);
});

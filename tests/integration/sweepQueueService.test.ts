import { resolve } from 'node:path';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src-shared/ipc';
import type { SweepRecord } from '../../src-shared/types/sweep';
import { dispatch } from '../../src-main/ipc/dispatch';
import { startQueueWorker, type QueueWorkerHandle } from '../../src-main/services/jobs/queue';
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis';
import { testServices } from '../helpers/services';

/**
 * jobs.sweep with `queue`: the coordinator (the jobs service) hands the children to the BullMQ
 * executor, a `fieldcal worker` (here in-process) runs them, and the coordinator records them: the
 * same results as the same sweep run locally, the worker named in the table, no password recorded.
 */
const FIX = resolve('tests/fixtures/camels-fr');
const world = testServices('server');
let redis: TestRedis;
let worker: QueueWorkerHandle;
const call = async <T>(service: string, method: string, arg: unknown): Promise<T> => {
  const r = (await dispatch(world.services.impls, service as never, method as never, arg as never)) as
    { ok: true; value: T } | { ok: false; error: { code: string; message: string } };
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value;
};
const spec = {
  name: 'two basins',
  base: {
    kind: 'lumped',
    method: 'gradient',
    dataset: { path: 'x', columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd' } },
    period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2002-12-31' },
  },
  datasets: { folder: FIX, pattern: 'X0*.csv' },
};
async function ended(id: number): Promise<SweepRecord> {
  for (;;) {
    const rec = await call<SweepRecord>('jobs', 'sweepGet', { id });
    if (!['queued', 'running'].includes(rec.status)) return rec;
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe.skipIf(!hasRedis)('a sweep on a BullMQ queue through the jobs service', () => {
  beforeAll(async () => {
    redis = await startRedis();
    worker = await startQueueWorker({ url: redis.url, concurrency: 2, name: 'worker-a' });
    await call('project', 'create', { path: join(world.dir, 'q.fieldcal') });
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    world.cleanup();
    await redis?.stop();
  });

  it(
    'records the children a worker ran, as the local sweep does, without the password',
    { timeout: 180_000 },
    async () => {
      const started = await call<SweepRecord>('jobs', 'sweep', { spec: { ...spec, queue: redis.url } });
      expect(started.queue).not.toContain(redis.password);
      const q = await ended(started.id);
      expect(q.status).toBe('succeeded');
      expect(q.rows.map((r) => r.worker)).toEqual(['worker-a', 'worker-a']);
      const local = await ended((await call<SweepRecord>('jobs', 'sweep', { spec })).id);
      expect(local.rows.map((r) => r.worker)).toEqual(['local', 'local']);
      expect(q.rows.map((r) => r.metrics)).toEqual(local.rows.map((r) => r.metrics));
      expect(q.winner).toBe(local.winner);
      for (const r of q.rows) {
        const d = await call<RunDetail>('jobs', 'get', { id: r.runId });
        expect(d.status).toBe('succeeded');
        expect(d.metrics.map((m) => m.target)).toEqual([
          r.dataset!.replace(/^.*\/|\.csv$/g, ''),
          r.dataset!.replace(/^.*\/|\.csv$/g, ''),
        ]);
        expect(d.artifacts.filter((a) => a.kind === 'result')).toHaveLength(1);
      }
      const parent = await call<RunDetail>('jobs', 'get', { id: started.id });
      expect(JSON.stringify(parent)).not.toContain(redis.password);
    },
  );
});

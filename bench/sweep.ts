import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobHost } from '../src-main/services/jobs/host';
import type { JobSpec } from '../src-main/services/jobs/specs';
import type { SweepChildEvent, SweepChildTask } from '../src-main/services/jobs/sweepExecutor';
import { QueueSweepExecutor } from '../src-main/services/jobs/queue/executor';
import { ProjectStore } from '../src-main/services/project/store';
import { SweepCoordinator } from '../src-main/services/jobs/sweep';
import { LocalSweepExecutor } from '../src-main/services/jobs/localSweepExecutor';
import { sweepSpecSchema } from '../src-shared/types/sweep';
import { hasRedis, startRedis } from '../tests/helpers/redis';
import { machine } from './stats';

const CLI = ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'src-main/cli/index.ts'];
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);

/** Tiny twin children: 4 x 5 cells, 1-year periods, gradient with 2 iterations, one seed each. */
const specs = (n: number): JobSpec[] =>
  Array.from(
    { length: n },
    (_, i) =>
      ({
        kind: 'twin',
        method: 'gradient',
        seed: i + 1,
        threads: 1,
        twin: { rows: 4, cols: 5, seed: 2, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
        options: { iterations: 2 },
      }) as unknown as JobSpec,
  );

function worker(url: string, name: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, [...CLI, 'worker', '--queue', url, '--name', name, '--json'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    p.stdout!.once('data', () => resolve(p));
    p.once('exit', (c) => reject(new Error(`worker exited with ${c}`)));
  });
}

/**
 * Sweep children through the BullMQ queue (issue 18) with 1, 2 and 3 `fieldcal worker` processes
 * on a private redis-server, against the same children on the local job host (one at a time):
 * children per minute, and per child the time beyond its own compute (`seconds` measured inside
 * the job thread): pickup (queued → a free worker started it, for the children that found a free
 * worker), and start + transfer (started → result at the coordinator, minus the compute: thread
 * start-up, which the local host pays too, plus the queue's round trips). FIELDCAL_BENCH_CHILDREN
 * (default 6) changes the number of children per run.
 */
export async function sweepBench(): Promise<Record<string, unknown>> {
  if (!hasRedis) throw new Error('redis-server is not installed: scripts/setup.sh --test installs it');
  const n = Number(process.env.FIELDCAL_BENCH_CHILDREN ?? 6);
  const dir = mkdtempSync(join(tmpdir(), 'fieldcal-bench-sweep-'));
  const redis = await startRedis();
  const out: Record<string, unknown> = {
    machine: machine(),
    children: n,
    child: 'twin 4 x 5, 1-year periods, gradient 2 iterations',
  };
  try {
    // the local job host, one child at a time: wall per child beyond its own compute
    mkdirSync(join(dir, 'local'), { recursive: true });
    const store = ProjectStore.create({ path: join(dir, 'local', 'p.fieldcal'), name: 'bench' });
    const host = new JobHost(store, undefined, 1);
    const t0 = performance.now();
    const localBeyond: number[] = [];
    for (const [i, spec] of specs(n).entries()) {
      const s = performance.now();
      const run = host.submit(spec, { outDir: join(dir, 'local', `c${i}`) });
      await host.wait(run.id);
      localBeyond.push(performance.now() - s - host.result(run.id)!.seconds * 1000);
    }
    const localWall = (performance.now() - t0) / 1000;
    await host.close();
    store.close();
    out.local = {
      wallSeconds: +localWall.toFixed(2),
      childrenPerMinute: +((n / localWall) * 60).toFixed(1),
      beyondComputeMsPerChild: Math.round(mean(localBeyond)),
    };
    for (const workers of [1, 2, 3]) {
      const procs = await Promise.all(
        Array.from({ length: workers }, (_, k) => worker(redis.url, `w${k + 1}`)),
      );
      const ex = await QueueSweepExecutor.connect(redis.url, { namespace: `bench-${workers}` });
      const started = new Map<string, number>();
      const ended = new Map<string, number>();
      const results = new Map<string, Extract<SweepChildEvent, { type: 'result' }>>();
      const all = new Promise<void>((resolve) =>
        ex.onEvent((e) => {
          if (e.type === 'started') started.set(e.key, performance.now());
          if (e.type === 'result' || e.type === 'error') {
            ended.set(e.key, performance.now());
            if (e.type === 'result') results.set(e.key, e);
            if (ended.size === n) resolve();
          }
        }),
      );
      const children: SweepChildTask[] = specs(n).map((spec, i) => ({
        key: `${workers}:${i}`,
        sweepId: workers,
        index: i,
        runId: i + 1,
        spec,
        outDir: join(dir, `q${workers}`, `c${i}`),
      }));
      const t = performance.now();
      await ex.submit(children);
      await all;
      const wall = (performance.now() - t) / 1000;
      const keys = children.map((c) => c.key);
      const pickup = keys
        .map((k) => (started.get(k) ?? t) - t)
        .sort((a, b) => a - b)
        .slice(0, workers);
      const transfer = keys.map(
        (k) => ended.get(k)! - started.get(k)! - (results.get(k)?.result.seconds ?? 0) * 1000,
      );
      const beyond = mean(pickup) + mean(transfer);
      out[`workers${workers}`] = {
        wallSeconds: +wall.toFixed(2),
        childrenPerMinute: +((n / wall) * 60).toFixed(1),
        failed: n - results.size,
        pickupMs: Math.round(mean(pickup)),
        startAndTransferMs: Math.round(mean(transfer)),
        beyondComputeMsPerChild: Math.round(beyond),
        queueOverheadMsPerChild: Math.round(
          beyond - (out.local as { beyondComputeMsPerChild: number }).beyondComputeMsPerChild,
        ),
        byWorker: Object.fromEntries(
          [...new Set([...results.values()].map((r) => r.worker))].map((w) => [
            w,
            [...results.values()].filter((r) => r.worker === w).length,
          ]),
        ),
      };
      await ex.close();
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(
        procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
      );
    }
    out.lambdaGrid = await lambdaGrid(join(dir, 'lambda'), out);
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** Sun, Pan & Duan (2024, section 2.2): the grid searched for GAN-PO's λl and λr, 200 epochs each. */
const LAMBDA_L1 = [0.5, 1, 10, 20, 30, 40];
const LAMBDA_RANGE = [0.1, 0.5, 1, 1.5, 2];
const FULL_EPOCHS = 200;

/** Longest-processing-time-first schedule of jobs on `w` identical workers: the makespan (s). */
function lptMakespan(seconds: number[], w: number): number {
  const load = Array<number>(w).fill(0);
  for (const s of [...seconds].sort((a, b) => b - a)) {
    const k = load.indexOf(Math.min(...load));
    load[k]! += s;
  }
  return Math.max(...load);
}

/**
 * The GAN-PO paper's λl × λr grid (6 × 5 = 30 children) on its twin (24 × 17 cells, 2009-2010
 * training) as one sweep on the local job host, 2 children at a time, each for
 * FIELDCAL_BENCH_LAMBDA_EPOCHS (default 2) epochs. From each child's progress events: its set-up and
 * evaluation time (`fixedSeconds`) and its seconds per epoch; projected to the paper's 200 epochs,
 * the grid's total compute and its wall time on W = 1, 2, 3, 4, 8 workers (one per machine like
 * this one: an LPT schedule of the children plus the queue's measured overhead per child), next to
 * this machine's measured wall for the short grid.
 */
async function lambdaGrid(dir: string, queue: Record<string, unknown>): Promise<Record<string, unknown>> {
  const epochs = Number(process.env.FIELDCAL_BENCH_LAMBDA_EPOCHS ?? 2);
  if (!(epochs >= 2)) throw new Error('FIELDCAL_BENCH_LAMBDA_EPOCHS must be at least 2');
  mkdirSync(dir, { recursive: true });
  const store = ProjectStore.create({ path: join(dir, 'p.fieldcal'), name: 'lambda' });
  const executor = new LocalSweepExecutor(store, undefined, 2);
  const coordinator = new SweepCoordinator(store, executor, { outDir: (id) => join(dir, `run-${id}`) });
  const started = new Map<number, number>();
  const epochAt = new Map<number, number[]>();
  coordinator.onChild((e) => {
    if (e.type === 'started') started.set(e.index, performance.now());
    if (e.type === 'progress' && e.progress.phase === 'calibrating' && e.progress.iteration > 0) {
      const t = epochAt.get(e.index) ?? [];
      t[e.progress.iteration - 1] = performance.now();
      epochAt.set(e.index, t);
    }
  });
  const spec = sweepSpecSchema.parse({
    name: 'GAN-PO lambda grid',
    // the discriminator from the first epoch: the epochs measured are adversarial ones (the dearer kind)
    base: {
      kind: 'twin',
      method: 'gan-po',
      threads: 1,
      twin: { layout: 'paper' },
      options: { epochs, pretrainEpochs: 0 },
    },
    grid: { 'options.lambdaL1': LAMBDA_L1, 'options.lambdaRange': LAMBDA_RANGE },
    select: { metric: 'medianCellKge', period: 'valid', mode: 'max' },
    concurrency: 2,
  });
  const t0 = performance.now();
  const run = await coordinator.start(spec);
  const rec = await run.done;
  const wall = (performance.now() - t0) / 1000;
  await executor.close();
  store.close();
  const children = rec.rows.map((r) => {
    const t = epochAt.get(r.index) ?? [];
    // seconds per epoch: between the first and the last epoch's progress point
    const perEpoch = t.length >= 2 ? (t[t.length - 1]! - t[0]!) / 1000 / (t.length - 1) : Number.NaN;
    const seconds = r.seconds ?? Number.NaN;
    return {
      lambdaL1: r.values['options.lambdaL1'],
      lambdaRange: r.values['options.lambdaRange'],
      status: r.status,
      seconds,
      perEpoch,
      fixed: seconds - epochs * perEpoch,
      valid: r.metrics['valid.medianCellKge'] ?? null,
    };
  });
  const ok = children.filter((c) => Number.isFinite(c.perEpoch) && Number.isFinite(c.fixed));
  const full = ok.map((c) => c.fixed + FULL_EPOCHS * c.perEpoch);
  const overheadMs =
    (queue.workers3 as { queueOverheadMsPerChild?: number } | undefined)?.queueOverheadMsPerChild ?? 0;
  const winner = rec.rows.find((r) => r.index === rec.winner);
  return {
    children: rec.children,
    succeeded: rec.rows.filter((r) => r.status === 'succeeded').length,
    epochs,
    concurrency: 2,
    measuredWallSeconds: +wall.toFixed(1),
    measuredChildSecondsSum: +children.reduce((s, c) => s + c.seconds, 0).toFixed(1),
    medianSecondsPerEpoch: +median(ok.map((c) => c.perEpoch)).toFixed(3),
    medianFixedSeconds: +median(ok.map((c) => c.fixed)).toFixed(2),
    winner: winner
      ? {
          lambdaL1: winner.values['options.lambdaL1'],
          lambdaRange: winner.values['options.lambdaRange'],
          validMedianCellKge: winner.metrics['valid.medianCellKge'],
        }
      : null,
    projectedAtFullEpochs: {
      epochs: FULL_EPOCHS,
      totalComputeHours: +(full.reduce((s, x) => s + x, 0) / 3600).toFixed(2),
      queueOverheadMsPerChild: overheadMs,
      wallHoursByWorkers: Object.fromEntries(
        [1, 2, 3, 4, 8].map((w) => [
          w,
          +((lptMakespan(full, w) + (overheadMs / 1000) * Math.ceil(full.length / w)) / 3600).toFixed(2),
        ]),
      ),
    },
    table: children.map((c) => ({
      ...c,
      seconds: +c.seconds.toFixed(2),
      perEpoch: +c.perEpoch.toFixed(3),
      fixed: +c.fixed.toFixed(2),
    })),
  };
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : Number.NaN;
};

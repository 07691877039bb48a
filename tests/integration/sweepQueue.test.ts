import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { FieldcalError } from '../../src-shared/ipc';
import type { SweepRecord } from '../../src-shared/types/sweep';
import { JobHost } from '../../src-main/services/jobs/host';
import type { JobSpec } from '../../src-main/services/jobs/specs';
import type { SweepChildEvent, SweepChildTask } from '../../src-main/services/jobs/sweepExecutor';
import { QueueSweepExecutor } from '../../src-main/services/jobs/queue/executor';
import { QUEUE_NAME, checkpointFile, jobIdOf } from '../../src-main/services/jobs/queue/protocol';
import { ProjectStore } from '../../src-main/services/project/store';
import { runCli } from '../helpers/cli';
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis';

const CLI = ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'src-main/cli/index.ts'];
const dir = mkdtempSync(join(tmpdir(), 'fieldcal-sweep-queue-'));
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

interface WorkerProc {
  name: string;
  proc: ChildProcess;
  log: string[];
}

/** `fieldcal worker` from source, resolved once it listens (its --json line). */
function startWorkerProc(url: string, name: string): Promise<WorkerProc> {
  const proc = spawn(
    process.execPath,
    [...CLI, 'worker', '--queue', url, '--name', name, '--lock-ms', '2000', '--json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const w: WorkerProc = { name, proc, log: [] };
  proc.stderr!.on('data', (d: Buffer) => w.log.push(...d.toString().split('\n').filter(Boolean)));
  return new Promise((resolve, reject) => {
    proc.stdout!.once('data', () => resolve(w));
    proc.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}: ${w.log.join('\n')}`)));
  });
}

/** Collects an executor's events; `final(key)` resolves with the child's result or error. */
function collect(ex: QueueSweepExecutor) {
  const events: SweepChildEvent[] = [];
  const waiters = new Map<string, (e: SweepChildEvent) => void>();
  ex.onEvent((e) => {
    events.push(e);
    if (e.type === 'result' || e.type === 'error') waiters.get(e.key)?.(e);
  });
  const final = (key: string) =>
    new Promise<SweepChildEvent>((resolve) => {
      const seen = events.find((e) => e.key === key && (e.type === 'result' || e.type === 'error'));
      if (seen) resolve(seen);
      else waiters.set(key, resolve);
    });
  return { events, final };
}

const twin = (rows: number, cols: number, seed: number, method: string, options: Record<string, unknown>) =>
  ({
    kind: 'twin',
    method,
    seed,
    threads: 1,
    twin: { rows, cols, seed: 2, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
    options,
  }) as unknown as JobSpec;

/** The same specs on the local job host (a project in `sub`): metrics and parameter GeoTIFF checksums per spec. */
async function runLocally(sub: string, specs: JobSpec[]) {
  mkdirSync(join(dir, sub), { recursive: true });
  const store = ProjectStore.create({ path: join(dir, sub, 'p.fieldcal'), name: 'local' });
  const host = new JobHost(store, undefined, 1);
  const out = [];
  for (const [i, spec] of specs.entries()) {
    const run = host.submit(spec, { outDir: join(dir, sub, `c${i}`) });
    const rec = await host.wait(run.id);
    expect(rec.status, rec.error ?? '').toBe('succeeded');
    const r = host.result(run.id)!;
    out.push({
      metrics: r.metrics,
      tifs: Object.fromEntries(
        r.artifacts.filter((a) => a.kind === 'parameter-geotiff').map((a) => [basename(a.path), sha(a.path)]),
      ),
    });
  }
  await host.close();
  store.close();
  return out;
}

/**
 * Calls `then` once with the iteration of the child's checkpoint file in `outDir` (a worker writes it
 * atomically: old or new) as soon as it holds `iteration` or later, read every 2 ms (the queue's
 * events may lag behind a child that runs fast); returns the timer to clear.
 */
function onCheckpoint(outDir: string, iteration: number, then: (at: number) => void): NodeJS.Timeout {
  const file = checkpointFile(outDir);
  const watch = setInterval(() => {
    let at = 0;
    try {
      at = (JSON.parse(readFileSync(file, 'utf8')) as { iteration: number }).iteration;
    } catch {
      return;
    }
    if (at < iteration) return;
    clearInterval(watch);
    then(at);
  }, 2);
  return watch;
}

const tifsOf = (e: Extract<SweepChildEvent, { type: 'result' }>) =>
  Object.fromEntries(
    e.result.artifacts
      .filter((a) => a.kind === 'parameter-geotiff')
      .map((a) => [basename(a.path), sha(a.path)]),
  );

describe.skipIf(!hasRedis)('sweep children on a BullMQ queue (real redis-server)', () => {
  let redis: TestRedis;
  const workers: WorkerProc[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const w of workers)
      if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a URL without a password, a wrong password and a non-loopback host with typed errors', async () => {
    const noPw = `redis://127.0.0.1:${redis.port}/0`;
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as FieldcalError;
      }
      throw new Error('not refused');
    };
    const e1 = err(() => new QueueSweepExecutor(noPw, { env: {} }));
    expect(e1).toBeInstanceOf(FieldcalError);
    expect(e1.code).toBe('VALIDATION');
    expect(e1.details?.field).toBe('queue');
    expect(e1.message).toMatch(/no password/);
    // insecure allowed by the user: the server itself still asks for a password
    await expect(
      QueueSweepExecutor.connect(noPw, { env: { FIELDCAL_QUEUE_INSECURE: '1' } }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    const wrong = `redis://:not-${redis.password}@127.0.0.1:${redis.port}/0`;
    const e2 = await QueueSweepExecutor.connect(wrong, { env: {} }).catch((e: FieldcalError) => e);
    expect(e2).toBeInstanceOf(FieldcalError);
    expect((e2 as FieldcalError).code).toBe('UNAUTHORIZED');
    expect((e2 as FieldcalError).message).not.toContain(redis.password);
    const e3 = err(() => new QueueSweepExecutor(`redis://:secret@10.20.30.40:${redis.port}/0`, { env: {} }));
    expect(e3.code).toBe('VALIDATION');
    expect(e3.message).toMatch(/not on this machine/);
    expect(e3.message).not.toContain('secret');
    // the CLI says the same and exits 1
    const cli = runCli(['worker', '--queue', noPw], { FIELDCAL_QUEUE_INSECURE: '' });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/queue: .*no password.*\[VALIDATION\]/);
    const ok = await QueueSweepExecutor.connect(redis.url);
    expect(ok.where).toBe(`redis://:***@127.0.0.1:${redis.port}/0`);
    await ok.close();
  });

  it('fails a malformed job with a clear error and the worker takes the next one', async () => {
    workers.push(await startWorkerProc(redis.url, 'w1'));
    const ex = await QueueSweepExecutor.connect(redis.url, { namespace: 'malformed' });
    const { final } = collect(ex);
    const q = new Queue(QUEUE_NAME, {
      connection: { host: '127.0.0.1', port: redis.port, password: redis.password },
    });
    await q.add('child', { hello: 'world' }, { jobId: jobIdOf('9:0', 'malformed') });
    await q.add(
      'child',
      {
        key: '9:1',
        sweepId: 9,
        index: 1,
        runId: 1,
        outDir: join(dir, 'm1'),
        spec: { kind: 'twin', method: 'no-such' },
      },
      { jobId: jobIdOf('9:1', 'malformed') },
    );
    await q.close();
    const bad = await final('9:0');
    expect(bad).toMatchObject({ type: 'error', worker: 'w1', error: { code: 'VALIDATION' } });
    expect((bad as Extract<SweepChildEvent, { type: 'error' }>).error.message).toMatch(
      /malformed sweep child: key: /,
    );
    const badSpec = await final('9:1');
    expect(badSpec).toMatchObject({ type: 'error', error: { code: 'VALIDATION' } });
    expect((badSpec as Extract<SweepChildEvent, { type: 'error' }>).error.message).toMatch(/method/);
    // a child whose data differ from the coordinator's is refused, naming the file
    const dataFile = join(dir, 'data.txt');
    rmSync(dataFile, { force: true });
    const checksumChild: SweepChildTask = {
      key: '9:2',
      sweepId: 9,
      index: 2,
      runId: 3,
      outDir: join(dir, 'm2'),
      spec: twin(4, 5, 1, 'gradient', { iterations: 2 }),
      dataChecksums: { [dataFile]: 'a'.repeat(64) },
    };
    // the worker is still alive and runs a good child
    const good: SweepChildTask = {
      ...checksumChild,
      key: '9:3',
      index: 3,
      runId: 4,
      outDir: join(dir, 'm3'),
      dataChecksums: undefined,
    };
    await ex.submit([checksumChild, good]);
    const refused = (await final('9:2')) as Extract<SweepChildEvent, { type: 'error' }>;
    expect(refused.error.code).toBe('INCONSISTENT_DATA');
    expect(refused.error.message).toContain(dataFile);
    const done = await final('9:3');
    expect(done.type).toBe('result');
    expect(workers[0]!.proc.exitCode).toBeNull();
    // handing the same children over again queues nothing: the finished ones are reported again (once per executor)
    await ex.submit([good]);
    expect(await ex.pending(9)).toEqual([]);
    await ex.close();
  });

  it('runs 4 twin children on 3 worker processes to the local host’s metrics and byte-identical GeoTIFFs', async () => {
    workers.push(await startWorkerProc(redis.url, 'w2'), await startWorkerProc(redis.url, 'w3'));
    const specs = [
      twin(4, 5, 1, 'gradient', { iterations: 2 }),
      twin(5, 4, 2, 'gradient', { iterations: 3 }),
      twin(4, 4, 3, 'gradient', { iterations: 2 }),
      twin(5, 5, 4, 'gradient', { iterations: 3 }),
    ];
    const local = await runLocally('local-b', specs);
    const ex = await QueueSweepExecutor.connect(redis.url, { namespace: 'b' });
    const { events, final } = collect(ex);
    const children: SweepChildTask[] = specs.map((spec, i) => ({
      key: `1:${i}`,
      sweepId: 1,
      index: i,
      runId: 10 + i,
      spec,
      outDir: join(dir, 'queue-b', `c${i}`),
    }));
    await ex.submit(children);
    const results = (await Promise.all(children.map((c) => final(c.key)))) as Array<
      Extract<SweepChildEvent, { type: 'result' }>
    >;
    for (const [i, r] of results.entries()) {
      expect(r.type, JSON.stringify(r)).toBe('result');
      expect(r.result.cancelled).toBe(false);
      expect(r.result.metrics).toEqual(local[i]!.metrics);
      expect(Object.keys(tifsOf(r)).length).toBeGreaterThan(0);
      expect(tifsOf(r)).toEqual(local[i]!.tifs);
      // the recorded checksums are the files' own
      for (const a of r.result.artifacts) expect(a.checksum).toBe(sha(a.path));
    }
    expect(new Set(results.map((r) => r.worker)).size).toBeGreaterThanOrEqual(1);
    for (const c of children)
      expect(
        events.filter((e) => e.key === c.key && (e.type === 'result' || e.type === 'error')),
      ).toHaveLength(1);
    expect(await ex.pending(1)).toEqual([]);
    await ex.close();
  });

  it('gives a child of a worker killed with SIGKILL to another, which resumes from its checkpoint to the undisturbed result', async () => {
    // long enough (seconds after the kill point) that a coordinator lagging under load still sees it running
    const spec = twin(6, 8, 7, 'ann', { iterations: 900, validEvery: 10 });
    const [ref] = await runLocally('local-c', [spec]);
    const ex = await QueueSweepExecutor.connect(redis.url, { namespace: 'c' });
    const { events, final } = collect(ex);
    const child: SweepChildTask = {
      key: '2:0',
      sweepId: 2,
      index: 0,
      runId: 20,
      spec,
      outDir: join(dir, 'queue-c'),
    };
    // one worker takes the child: w2 and w3 stop (SIGTERM: they finish nothing and take nothing more)
    for (const w of workers.slice(1)) {
      const gone = new Promise((resolve) => w.proc.once('exit', resolve));
      w.proc.kill('SIGTERM');
      await gone;
    }
    const first = workers[0]!;
    let killed = null as WorkerProc | null;
    let killedAt = 0;
    // the worker is SIGKILLed once the child has run 40 iterations: its checkpoint in the shared folder is
    // watched directly (the queue's events may lag behind a child that runs fast), and what it holds then
    // is what the next worker resumes from (written atomically: old or new)
    const watch = onCheckpoint(child.outDir, 40, (at) => {
      first.proc.kill('SIGKILL');
      killed = first;
      killedAt = at;
      // another worker takes it over once the lock of the killed one has expired
      void startWorkerProc(redis.url, 'w4').then((w) => workers.push(w));
    });
    await ex.submit([child]);
    // a restarted coordinator finds the child still pending
    expect(await ex.pending(2)).toEqual(['2:0']);
    const r = (await final(child.key)) as Extract<SweepChildEvent, { type: 'result' }>;
    clearInterval(watch);
    expect(killed, 'a worker was killed mid-child').not.toBeNull();
    expect(r.type, JSON.stringify(r)).toBe('result');
    expect(r.worker).not.toBe(killed!.name);
    const starts = events.filter((e) => e.type === 'started' && e.key === child.key);
    expect(starts.length).toBe(2);
    // the second worker resumed from the checkpoint the first left (not from iteration 0)
    const taker = workers.find((w) => w.name === r.worker)!;
    const line = taker.log.find((l) => l.includes('child 2:0') && l.includes('resumes from iteration'));
    expect(line, taker.log.join('\n')).toBeDefined();
    const from = Number(/resumes from iteration (\d+)/.exec(line!)![1]);
    expect(from).toBeGreaterThanOrEqual(killedAt);
    expect(from).toBeLessThan(900);
    expect(r.result.metrics).toEqual(ref!.metrics);
    expect(tifsOf(r)).toEqual(ref!.tifs);
    expect(existsSync(checkpointFile(child.outDir))).toBe(false);
    expect(
      events.filter((e) => e.key === child.key && (e.type === 'result' || e.type === 'error')),
    ).toHaveLength(1);
    // a coordinator started afterwards re-attaches: nothing pending, the finished child reported once
    const again = await QueueSweepExecutor.connect(redis.url, { namespace: 'c' });
    const later = collect(again);
    expect(await again.pending(2)).toEqual([]);
    expect(later.events.filter((e) => e.type === 'result' && e.key === child.key)).toHaveLength(1);
    expect((later.events[0] as Extract<SweepChildEvent, { type: 'result' }>).result.metrics).toEqual(
      ref!.metrics,
    );
    await again.close();
    await ex.close();
  });

  it('stops a child whose lock its worker lost (a stalled process) and runs it once more from its checkpoint to the undisturbed result', async () => {
    const spec = twin(6, 8, 7, 'ann', { iterations: 900, validEvery: 10 });
    const [ref] = await runLocally('local-d', [spec]);
    // one worker: the one the SIGKILL test started, or a fresh one
    const alive = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
    const w = alive[0] ?? (await startWorkerProc(redis.url, 'w5'));
    if (!alive.length) workers.push(w);
    for (const other of alive.slice(1)) {
      const gone = new Promise((resolve) => other.proc.once('exit', resolve));
      other.proc.kill('SIGTERM');
      await gone;
    }
    const ex = await QueueSweepExecutor.connect(redis.url, { namespace: 'd' });
    const { events, final } = collect(ex);
    const child: SweepChildTask = {
      key: '3:0',
      sweepId: 3,
      index: 0,
      runId: 30,
      spec,
      outDir: join(dir, 'queue-d'),
    };
    // what a worker stalled past its lock time looks like to the queue: its lock key is gone, so its
    // next renewal fails and the stalled-job check gives the child out again
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const lockKey = `bull:${QUEUE_NAME}:${jobIdOf(child.key, 'd')}:lock`;
    let droppedAt = 0;
    const watch = onCheckpoint(child.outDir, 40, (at) => {
      droppedAt = at;
      void client.del(lockKey);
    });
    await ex.submit([child]);
    const r = (await final(child.key)) as Extract<SweepChildEvent, { type: 'result' }>;
    clearInterval(watch);
    client.disconnect();
    expect(droppedAt, 'the lock was dropped mid-child').toBeGreaterThan(0);
    expect(r.type, JSON.stringify(r)).toBe('result');
    // the first run stopped when its renewal failed; the child ran again from the checkpoint
    expect(
      w.log.some((l) => l.includes('child 3:0 stopped: its lock was lost')),
      w.log.join('\n'),
    ).toBe(true);
    // taken twice, as the worker's own log says (the queue's event stream may lag or start late)
    expect(w.log.filter((l) => l.includes('child 3:0 (run')).length, w.log.join('\n')).toBe(2);
    const line = w.log.find((l) => l.includes('child 3:0') && l.includes('resumes from iteration'));
    expect(line, w.log.join('\n')).toBeDefined();
    expect(Number(/resumes from iteration (\d+)/.exec(line!)![1])).toBeGreaterThanOrEqual(droppedAt);
    expect(r.result.metrics).toEqual(ref!.metrics);
    expect(tifsOf(r)).toEqual(ref!.tifs);
    expect(
      events.filter((e) => e.key === child.key && (e.type === 'result' || e.type === 'error')),
    ).toHaveLength(1);
    await ex.close();
  });

  it('runs a small sweep end to end with `fieldcal sweep --queue` to the local sweep’s table', async () => {
    // the workers the earlier tests left alive, or one of its own
    const alive = () => workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
    if (!alive().length) workers.push(await startWorkerProc(redis.url, 'w5'));
    const names = alive().map((w) => w.name);
    const config = join(dir, 'sweep.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'queue e2e',
        base: {
          kind: 'twin',
          method: 'gradient',
          threads: 1,
          twin: { rows: 4, cols: 5, seed: 2, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
        },
        grid: { 'options.iterations': [2, 3] },
        seeds: [1, 2],
        select: { metric: 'spatialRmse', period: 'valid', mode: 'min' },
      }),
    );
    const sweep = (project: string, queue?: string) => {
      const r = spawnSync(
        process.execPath,
        [
          ...CLI,
          'sweep',
          '--config',
          config,
          '--project',
          project,
          '--json',
          ...(queue ? ['--queue', queue] : []),
        ],
        { encoding: 'utf8', timeout: 300_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as SweepRecord;
    };
    const local = sweep(join(dir, 'sweep-local.fieldcal'));
    const queued = sweep(join(dir, 'sweep-queue.fieldcal'), redis.url);
    expect(queued.status).toBe('succeeded');
    expect(queued.children).toBe(4);
    expect(queued.done).toBe(4);
    expect(queued.queue).toBe(`redis://:***@127.0.0.1:${redis.port}/0`);
    expect(queued.rows.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    for (const [i, row] of queued.rows.entries()) {
      expect(row.status).toBe('succeeded');
      expect(names).toContain(row.worker);
      expect(row.metrics).toEqual(local.rows[i]!.metrics);
      expect(row.values).toEqual(local.rows[i]!.values);
    }
    // the winner is a child index: the same child wins
    expect(queued.winner).not.toBeNull();
    expect(queued.winner).toBe(local.winner);
  });
});

describe.skipIf(hasRedis)('sweep queue without Redis', () => {
  it.skip('redis-server is not installed: run scripts/setup.sh --test (installs it as root)', () =>
    undefined);
});

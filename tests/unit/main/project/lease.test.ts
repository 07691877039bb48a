import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FieldcalError } from '../../../../src-shared/ipc';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { JobHost } from '../../../../src-main/services/jobs/host';
import { recordedRun } from '../../../../src-main/cli/record';
import { fileSha256, tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
const children: ChildProcessWithoutNullStreams[] = [];
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  tmp.cleanup();
});

function caught(fn: () => unknown): FieldcalError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FieldcalError);
    return err as FieldcalError;
  }
  throw new Error('expected a FieldcalError');
}

/** Starts tests/helpers/leaseHolder.ts on the project; resolves with the id of the run it holds running. */
async function holder(
  path: string,
  role: 'owner' | 'recorder',
): Promise<{ child: ChildProcessWithoutNullStreams; runId: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'tests/helpers/leaseHolder.ts', path, role],
    // the child's lease lives 2 s without a heartbeat (its pid is checked besides)
    { env: { ...process.env, FIELDCAL_LEASE_TTL_MS: '2000' } },
  );
  children.push(child);
  let out = '';
  let err = '';
  const runId = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`holder exited early (${code}): ${out} ${err}`)));
  });
  return { child, runId };
}

async function sigkill(child: ChildProcessWithoutNullStreams): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  expect(child.signalCode).toBe('SIGKILL');
}

/** A run's status read without opening the project (no lease, no side effects). */
function statusOf(path: string, runId: number): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string }).status;
  } finally {
    db.close();
  }
}

describe('one writer per project', () => {
  it('refuses a second process while the owner lives, naming it; after a SIGKILL the project opens and its run is interrupted', async () => {
    const path = join(tmp.dir, 'two.fieldcal');
    ProjectStore.create({ path }).close();
    const { child, runId } = await holder(path, 'owner');
    const orphan = join(tmp.dir, 'two-runs', `run-${runId}`, '.params.tif.0123456789ab.tmp');
    expect(existsSync(orphan)).toBe(true);

    const e = caught(() => ProjectStore.open({ path }));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toContain(`pid ${child.pid} on host ${hostname()}`);
    const owner = e.details!.owner as { pid: number; hostname: string; since: string; role: string };
    expect(owner).toMatchObject({ pid: child.pid, hostname: hostname(), role: 'owner' });
    expect(e.message).toContain(`since ${owner.since}`);
    expect(Date.parse(owner.since)).toBeGreaterThan(Date.now() - 120_000);
    // nothing was changed by the refused open: the owner's run is still running, its file still there
    expect(statusOf(path, runId)).toBe('running');
    expect(existsSync(orphan)).toBe(true);

    await sigkill(child);
    const s = ProjectStore.open({ path });
    try {
      expect(s.runs.get(runId)).toMatchObject({
        status: 'interrupted',
        error: 'process ended while the run was active',
      });
      // the dead writer's temporary file is gone, and said so
      expect(existsSync(orphan)).toBe(false);
      expect(s.orphansRemoved).toEqual([orphan]);
      expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
      // the dead writer's lease row was replaced by ours
      expect(s.lease.writers().map((w) => w.pid)).toEqual([process.pid]);
    } finally {
      s.close();
    }
    // released on close: nobody holds it any more
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM project_writers').get()).toEqual({ n: 0 });
    db.close();
  }, 60_000);

  it('takes over a lease whose heartbeat expired (a writer on another host that stopped beating)', async () => {
    const path = join(tmp.dir, 'remote.fieldcal');
    const s = ProjectStore.create({ path });
    const run = s.runs.create({ name: 'remote', method: 'ann', options: {}, seed: 1 });
    s.runs.setStatus(run.id, 'running');
    s.close();
    // a writer on another machine (its pid cannot be checked from here), last heartbeat now, ttl 400 ms
    const db = new Database(path);
    db.prepare(
      "INSERT INTO project_writers VALUES ('remote-1', 'owner', 4242, 'other-host', '2026-01-01T00:00:00.000Z', ?, 400)",
    ).run(Date.now());
    db.prepare("UPDATE runs SET owner_id = 'remote-1' WHERE id = ?").run(run.id);
    db.close();

    const e = caught(() => ProjectStore.open({ path }));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toContain('pid 4242 on host other-host (since 2026-01-01T00:00:00.000Z)');
    expect(statusOf(path, run.id)).toBe('running');

    await new Promise((r) => setTimeout(r, 600));
    const again = ProjectStore.open({ path });
    try {
      expect(again.runs.get(run.id).status).toBe('interrupted');
    } finally {
      again.close();
    }
  });

  it('lets a CLI recorder append beside the owner, never marks its live run interrupted, and refuses to resume it', async () => {
    const path = join(tmp.dir, 'rec.fieldcal');
    ProjectStore.create({ path }).close();
    const { child, runId } = await holder(path, 'recorder');
    const tmpFile = join(tmp.dir, 'rec-runs', `run-${runId}`, '.params.tif.0123456789ab.tmp');

    const s = ProjectStore.open({ path });
    const host = new JobHost(s);
    try {
      // the recorder is alive: its run goes on, and a file it may be writing is left alone
      expect(s.runs.get(runId).status).toBe('running');
      expect(existsSync(tmpFile)).toBe(true);
      expect(s.liveRunOwner(runId)).toMatchObject({ pid: child.pid, role: 'recorder' });
      const e = caught(() => host.resume(runId));
      expect(e.code).toBe('CONFLICT');
      expect(e.message).toContain(`run ${runId} belongs to a live Fieldcal process (pid ${child.pid}`);
      expect(s.runs.get(runId).status).toBe('running');
    } finally {
      await host.close();
      s.close();
    }

    await sigkill(child);
    const after = ProjectStore.open({ path });
    try {
      expect(after.runs.get(runId).status).toBe('interrupted');
      expect(after.liveRunOwner(runId)).toBeNull();
      expect(existsSync(tmpFile)).toBe(false);
    } finally {
      after.close();
    }
  }, 60_000);

  it('records a CLI run (`evaluate --project`) while another process owns the project, leaving the owner run alone', async () => {
    const path = join(tmp.dir, 'serve.fieldcal');
    ProjectStore.create({ path }).close();
    const { child, runId } = await holder(path, 'owner');
    const result = join(tmp.dir, 'result.json');
    const { runId: recorded } = await recordedRun(
      { path, create: false },
      { name: 'cli evaluate', method: 'evaluate', options: {}, seed: 1 },
      async () => {
        writeFileSync(result, '{"nse":0.5}');
        return 0.5;
      },
      (nse) => ({
        metrics: [{ period: 'test', target: 'Q', metric: 'nse', value: nse }],
        files: [{ kind: 'result', path: result }],
      }),
    );
    expect(recorded).toBe(runId + 1);
    // the owner still holds the project, its run untouched; the recorded run is complete
    expect(caught(() => ProjectStore.open({ path })).code).toBe('CONFLICT');
    expect(statusOf(path, runId)).toBe('running');
    expect(statusOf(path, recorded!)).toBe('succeeded');
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT value FROM run_metrics WHERE run_id = ?').pluck().get(recorded)).toBe(0.5);
    expect(db.prepare('SELECT checksum FROM artifacts WHERE run_id = ?').pluck().get(recorded)).toBe(
      fileSha256(result),
    );
    // the recorder's lease was released when it finished: only the owner is left
    expect(db.prepare('SELECT pid FROM project_writers').pluck().all()).toEqual([child.pid]);
    db.close();
    await sigkill(child);
  }, 60_000);

  it('refreshes its heartbeat while open and deletes its row on close', async () => {
    const path = join(tmp.dir, 'beat.fieldcal');
    ProjectStore.create({ path }).close();
    const s = ProjectStore.open({ path, lease: { ttlMs: 400, heartbeatMs: 20 } });
    const beat = () => s.lease.writers().find((w) => w.owner_id === s.lease.ownerId)!;
    const first = beat();
    expect(first).toMatchObject({ pid: process.pid, hostname: hostname(), role: 'owner', ttl_ms: 400 });
    await new Promise((r) => setTimeout(r, 150));
    // several beats later: younger than the lifetime, newer than at open
    expect(beat().heartbeat_ms).toBeGreaterThan(first.heartbeat_ms);
    expect(Date.now() - beat().heartbeat_ms).toBeLessThan(400);
    s.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM project_writers').pluck().get()).toBe(0);
    db.close();
  });

  it('leaves the temporary files of unfinished queue-sweep children to their workers, and cleans them once finished', () => {
    const path = join(tmp.dir, 'q.fieldcal');
    const s = ProjectStore.create({ path });
    const runs = join(tmp.dir, 'q-runs');
    const sweep = s.runs.createSweep({ name: 'q', spec: {}, queue: 'redis://127.0.0.1:6379', seed: 1 });
    const child = (index: number) => {
      const outDir = join(runs, `run-${sweep.id}`, `child-${index}`);
      mkdirSync(outDir, { recursive: true });
      const run = s.runs.createChild(sweep.id, index, {
        name: `q #${index}`,
        method: 'ann',
        options: { spec: {}, outDir },
        seed: 1,
        values: {},
        dataset: null,
      });
      const temp = join(outDir, '.Ws.tif.0123456789ab.tmp');
      writeFileSync(temp, 'a worker writing');
      return { run, temp };
    };
    // child 0 runs on a queue worker (its coordinator was killed); child 1 finished
    const [running, done] = [child(0), child(1)];
    s.runs.setStatus(running.run.id, 'running');
    s.runs.setStatus(done.run.id, 'running');
    s.runs.setStatus(done.run.id, 'succeeded');
    // a local run's leftover beside them, which is the project's own
    mkdirSync(join(runs, 'run-9'), { recursive: true });
    const local = join(runs, 'run-9', '.params.tif.a1b2c3d4e5f6.tmp');
    writeFileSync(local, 'half a file');
    s.close();

    const again = ProjectStore.open({ path });
    try {
      expect(again.orphansRemoved.sort()).toEqual([done.temp, local].sort());
      expect(readFileSync(running.temp, 'utf8')).toBe('a worker writing');
      // marked interrupted (its coordinator is dead), and still left alone; then the re-attached
      // coordinator queues it again and records it finished: its folder is the project's again
      expect(again.runs.get(running.run.id).status).toBe('interrupted');
      for (const st of ['queued', 'running', 'succeeded'] as const) again.runs.setStatus(running.run.id, st);
    } finally {
      again.close();
    }
    const third = ProjectStore.open({ path });
    try {
      expect(third.orphansRemoved).toEqual([running.temp]);
    } finally {
      third.close();
    }
  });

  it('removes temporary files of a dead export on the next open, and nothing else', () => {
    const path = join(tmp.dir, 'exp.fieldcal');
    ProjectStore.create({ path }).close();
    const dest = join(tmp.dir, 'exports');
    mkdirSync(dest);
    const orphan = join(dest, '.lez.tif.a1b2c3d4e5f6.tmp');
    writeFileSync(orphan, 'partial');
    const keep = [join(dest, 'lez.tif'), join(dest, 'notes.tmp'), join(dest, '.lez.tif.nothex123456.tmp')];
    for (const k of keep) writeFileSync(k, 'user data');
    // what copyArtifact records before writing, left behind by a writer that was killed
    const db = new Database(path);
    db.prepare("INSERT INTO pending_writes VALUES (?, 'dead-writer', '2026-01-01T00:00:00.000Z')").run(
      join(dest, 'lez.tif'),
    );
    db.close();

    const s = ProjectStore.open({ path });
    try {
      expect(s.orphansRemoved).toEqual([orphan]);
      expect(existsSync(orphan)).toBe(false);
      for (const k of keep) expect(readFileSync(k, 'utf8')).toBe('user data');
      expect(s.db.prepare('SELECT count(*) AS n FROM pending_writes').get()).toEqual({ n: 0 });
    } finally {
      s.close();
    }
  });

  it('refuses a project path holding a NUL byte, leaving the SQLite file it names untouched', () => {
    const other = join(tmp.dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);');
    db.close();
    const before = fileSha256(other);
    for (const call of [
      () => ProjectStore.create({ path: `${other}\u0000.fieldcal` }),
      () => ProjectStore.open({ path: `${other}\u0000.fieldcal` }),
    ]) {
      const e = caught(call);
      expect(e.code).toBe('VALIDATION');
      expect(e.message).toContain('NUL byte');
      expect(e.details).toMatchObject({ field: 'path' });
    }
    expect(fileSha256(other)).toBe(before);
  });
});

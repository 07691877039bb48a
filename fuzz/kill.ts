// SIGKILL fuzzer: kills a process writing to a project at seeded random moments across a run, a
// resume and an export (fuzz/killChild.ts), and after each kill opens the project as the next
// process would. Every time: SQLite's integrity_check is ok, no run is left running or queued, no
// atomic-write temporary file is left anywhere under the folder, and every artifact of a succeeded
// run still matches its recorded checksum. At the end every interrupted run is resumed to its end
// and must give the parameter GeoTIFFs of an uninterrupted run with the same seed, byte for byte.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ProjectStore } from '../src-main/services/project/store';
import { rng } from './fileHarness';
import type { FuzzReport } from './registry';

const CHILD = ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'fuzz/killChild.ts'];
const ATOMIC_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;
/** A child that neither finishes nor can be killed within this long is a hang. */
const CHILD_LIMIT_MS = 300_000;

type Mode = 'run' | 'resume' | 'export';

/** Starts the child; resolves once it says `started`, with a promise of its end. */
function start(mode: Mode, project: string, exportDir: string) {
  const child = spawn(process.execPath, [...CHILD, mode, project, exportDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })),
  );
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const started = new Promise<boolean>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('started')) resolve(true);
    });
    void ended.then(() => resolve(false));
  });
  return { child, started, ended };
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every atomic-write temporary file under `dir`. */
function temps(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (ATOMIC_TEMP.test(e.name)) found.push(full);
    }
  };
  walk(dir);
  return found;
}

/** Parameter GeoTIFF checksums of a run, by file name. */
function tifSums(store: ProjectStore, runId: number): Record<string, string> {
  return Object.fromEntries(
    store.runs
      .artifacts(runId)
      .filter((a) => a.kind === 'parameter-geotiff')
      .map((a) => [basename(a.path), a.checksum ?? '']),
  );
}

/** Opens the project as the next process would and lists what is wrong with it (nothing, when all holds). */
function checkAfterKill(
  dir: string,
  project: string,
): { problems: string[]; removed: number; interrupted: number } {
  const problems: string[] = [];
  const store = ProjectStore.open({ path: project });
  try {
    const check = store.db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') problems.push(`integrity_check: ${String(check)}`);
    const runs = store.runs.list();
    for (const r of runs)
      if (r.status === 'running' || r.status === 'queued') problems.push(`run ${r.id} left ${r.status}`);
    for (const r of runs.filter((x) => x.status === 'succeeded'))
      for (const a of store.runs.artifacts(r.id)) {
        let actual: string;
        try {
          actual = sha256(a.path);
        } catch {
          actual = 'missing';
        }
        if (a.checksum && actual !== a.checksum)
          problems.push(`artifact ${a.path}: ${actual} != ${a.checksum}`);
      }
    const left = temps(dir);
    if (left.length) problems.push(`orphan temporary files after open: ${left.join(', ')}`);
    return {
      problems,
      removed: store.orphansRemoved.length,
      interrupted: runs.filter((r) => r.status === 'interrupted').length,
    };
  } finally {
    store.close();
  }
}

/**
 * `count` kills at seeded moments, cycling run → resume → export. A child that ends before its
 * kill counts as `finished`. `crashes`: kills after which the project broke an invariant (listed
 * in `problems`); `hangs`: children that did not end within the limit.
 */
export async function killFuzz(count: number, seed: number): Promise<FuzzReport> {
  const r = rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'fieldcal-kill-'));
  const project = join(dir, 'kill.fieldcal');
  const exportDir = join(dir, 'exports');
  mkdirSync(exportDir);
  let peak = process.memoryUsage().rss;
  const report = {
    inputs: count,
    crashes: 0,
    hangs: 0,
    peakRssMB: 0,
    killed: { run: 0, resume: 0, export: 0 },
    finishedBeforeKill: 0,
    orphansRemoved: 0,
    interruptedAfterKill: 0,
    resumedRuns: 0,
    sameAsUninterrupted: 0,
    problems: [] as string[],
  };
  const fail = (what: string) => {
    report.crashes++;
    if (report.problems.length < 20) report.problems.push(what);
  };
  /** Runs a child to its end, or kills it `killAfterMs` after it started its work; how long the work ran. */
  const once = async (mode: Mode, killAfterMs: number | null): Promise<number> => {
    const c = start(mode, project, exportDir);
    const t0 = Date.now();
    const limit = setTimeout(() => c.child.kill('SIGKILL'), CHILD_LIMIT_MS);
    try {
      if (!(await c.started)) {
        const e = await c.ended;
        fail(`${mode} child ended before starting (${e.code ?? e.signal}): ${e.err.slice(-400)}`);
        return 0;
      }
      const tWork = Date.now();
      if (killAfterMs !== null) {
        await Promise.race([new Promise((res) => setTimeout(res, killAfterMs)), c.ended]);
        if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      }
      const e = await c.ended;
      peak = Math.max(peak, process.memoryUsage().rss);
      if (e.signal === 'SIGKILL' && killAfterMs !== null && Date.now() - t0 < CHILD_LIMIT_MS)
        report.killed[mode]++;
      else if (e.code === 0) report.finishedBeforeKill += killAfterMs !== null ? 1 : 0;
      else if (Date.now() - t0 >= CHILD_LIMIT_MS) report.hangs++;
      else fail(`${mode} child failed (${e.code ?? e.signal}): ${e.err.slice(-400)}`);
      return Date.now() - tWork;
    } finally {
      clearTimeout(limit);
    }
  };

  try {
    ProjectStore.create({ path: project }).close();
    // the reference: one uninterrupted run (run 1), whose duration (from its start line) scales the kill moments
    const span = Math.max(1000, await once('run', null));
    const ref = ProjectStore.open({ path: project });
    const refSums = tifSums(ref, 1);
    const refStatus = ref.runs.get(1).status;
    ref.close();
    if (refStatus !== 'succeeded' || Object.keys(refSums).length === 0)
      fail(`reference run ended ${refStatus} with ${Object.keys(refSums).length} parameter GeoTIFFs`);

    const modes: Mode[] = ['run', 'resume', 'export'];
    for (let i = 0; i < count; i++) {
      const mode = modes[i % 3]!;
      // anywhere in the work: exports are short, runs and resumes take about the reference's time
      const at = Math.floor(r() * (mode === 'export' ? 400 : span));
      await once(mode, at);
      const after = checkAfterKill(dir, project);
      report.orphansRemoved += after.removed;
      report.interruptedAfterKill += after.interrupted > 0 ? 1 : 0;
      for (const p of after.problems) fail(`kill ${i} (${mode} at ${at} ms): ${p}`);
    }

    // every interrupted run resumed to its end gives the uninterrupted run's parameters
    await once('resume', null);
    const end = ProjectStore.open({ path: project });
    try {
      for (const run of end.runs.list()) {
        if (run.id === 1) continue;
        if (run.status !== 'succeeded') {
          fail(`run ${run.id} is ${run.status} after the final resume`);
          continue;
        }
        report.resumedRuns++;
        const sums = tifSums(end, run.id);
        if (JSON.stringify(sums) === JSON.stringify(refSums)) report.sameAsUninterrupted++;
        else fail(`run ${run.id}: parameter GeoTIFFs differ from the uninterrupted run`);
      }
      if (end.db.pragma('integrity_check', { simple: true }) !== 'ok') fail('final integrity_check');
    } finally {
      end.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report.peakRssMB = Math.round(peak / 2 ** 20);
  return report;
}

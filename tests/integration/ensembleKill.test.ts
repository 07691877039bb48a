import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensembleDir,
  generateEnsemble,
  MANIFEST,
  openEnsemble,
  PARAMS_FILE,
  TARGET_FILE,
} from '../../src-main/services/surrogate/ensemble';
import { tempDir } from '../helpers/tmp';
import { smallProblem, vicRun } from '../unit/main/surrogate/ensembleFixture';
import { KILL_GRID, KILL_SPEC } from './ensembleKillSpec';

const CHILD = ['--import', 'tsx', 'tests/integration/ensembleChild.ts'];
const tmp = tempDir('fieldcal-ensemble-kill-');
afterAll(tmp.cleanup);

/** Mulberry32 (public domain): the seeded moments of the kills. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs the child on `dir`; with `killAt`, sends SIGKILL `delayMs` after it reports member `killAt`
 * stored (a moment inside the next member's run or write). Resolves with the last member it
 * reported, its model runs when it finished, and how it ended.
 */
function child(dir: string, kill?: { killAt: number; delayMs: number }) {
  const c = spawn(process.execPath, [...CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let last = 0;
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  c.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const m of out.matchAll(/complete (\d+)/g)) last = Math.max(last, Number(m[1]));
    if (kill && last >= kill.killAt && !c.killed) setTimeout(() => c.kill('SIGKILL'), kill.delayMs);
  });
  return new Promise<{ last: number; calls: number | null; signal: NodeJS.Signals | null; err: string }>(
    (resolve) =>
      c.on('exit', (_code, signal) => {
        const done = /done (\d+)/.exec(out);
        resolve({ last, calls: done ? Number(done[1]) : null, signal, err });
      }),
  );
}

describe('ensemble generation killed with SIGKILL', () => {
  it('loses at most the member in flight and resumes to the bytes of an uninterrupted generation', async () => {
    const pr = smallProblem(...KILL_GRID);
    const N = KILL_SPEC.members;
    // the uninterrupted reference, in this process
    const ref = await generateEnsemble(pr, KILL_SPEC, vicRun(pr).run, { dir: join(tmp.dir, 'ref') });
    expect(ref.manifest.complete).toBe(N);

    const parent = join(tmp.dir, 'killed');
    const dir = ensembleDir(parent, pr, KILL_SPEC);
    const r = rng(20261201);
    let complete = 0;
    // two kills at seeded moments (the second during the resumed generation), then a resume to the end
    for (let kill = 0; kill < 2; kill++) {
      const killAt = complete + 2 + Math.floor(r() * ((N - complete) / 2 - 2));
      const delayMs = Math.floor(r() * 8);
      const res = await child(parent, { killAt, delayMs });
      expect(res.signal, `kill ${kill} (after member ${killAt} + ${delayMs} ms): ${res.err}`).toBe('SIGKILL');
      const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as { complete: number };
      // every member the child reported stored is counted; at most the one in flight is lost
      expect(m.complete).toBeGreaterThanOrEqual(res.last);
      expect(m.complete).toBeLessThanOrEqual(res.last + 1);
      expect(m.complete).toBeLessThan(N);
      expect(m.complete).toBeGreaterThan(complete);
      // what is stored already equals the reference
      const ens = openEnsemble(dir);
      for (const k of [0, m.complete - 1]) {
        expect(ens.params(k)).toEqual(ref.params(k));
        expect(ens.target(k, 0, pr.steps)).toEqual(ref.target(k, 0, pr.steps));
      }
      complete = m.complete;
    }
    const fin = await child(parent);
    expect(fin.signal, fin.err).toBeNull();
    // the resume ran only the members not stored
    expect(fin.calls).toBe(N - complete);
    for (const f of [PARAMS_FILE, TARGET_FILE])
      expect(readFileSync(join(dir, f)).equals(readFileSync(join(ref.dir, f))), f).toBe(true);
    expect(openEnsemble(dir).manifest.complete).toBe(N);
    // no atomic-write temporary left beside the manifest
    expect(readdirSync(dir).sort()).toEqual([MANIFEST, PARAMS_FILE, TARGET_FILE].sort());
    // and asked once more, nothing runs
    const again = await child(parent);
    expect(again.calls).toBe(0);
  });
});

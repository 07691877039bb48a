import { afterAll, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { FieldcalError } from '../../../../src-shared/ipc';
import {
  ensembleDir,
  EnsembleWaitCancelled,
  generateEnsemble,
  LOCK,
  LOCK_STALE_MS,
  MANIFEST,
  openEnsemble,
  PARAMS_FILE,
  TARGET_FILE,
} from '../../../../src-main/services/surrogate/ensemble';
import { makeSampler } from '../../../../src-main/services/surrogate/samplers';
import type { EnsembleSpec } from '../../../../src-main/services/surrogate/types';
import { tempDir } from '../../../helpers/tmp';
import { smallProblem, vicRun } from './ensembleFixture';

// every positioned read the reader makes, to check it reads the window asked and nothing more
const reads: Array<{ length: number; position: number }> = [];
vi.mock('node:fs', async (importOriginal) => {
  const orig = await importOriginal<typeof fs>();
  return {
    ...orig,
    readSync: (fd: number, buf: NodeJS.ArrayBufferView, off: number, len: number, pos: number) => {
      reads.push({ length: len, position: pos });
      return orig.readSync(fd, buf, off, len, pos);
    },
  };
});

const tmp = tempDir('fieldcal-ensemble-');
afterAll(tmp.cleanup);

const pr = smallProblem(3, 4, 120); // 11 cells, 120 steps
const spec: EnsembleSpec = {
  members: 10,
  sampler: 'uniform-cell',
  seed: 4,
  split: { train: 5, valid: 3, test: 2 },
};
const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FieldcalError);
    return `${(e as FieldcalError).code} ${(e as Error).message}`;
  }
  return 'no error';
};

describe('perturbed-parameter ensembles', () => {
  const parent = join(tmp.dir, 'a');
  const model = vicRun(pr);

  it('stores every member: its parameter fields as drawn, its target as the model gives it (Float32)', async () => {
    const seen: number[] = [];
    const ens = await generateEnsemble(pr, spec, model.run, { dir: parent, progress: (k) => seen.push(k) });
    expect(model.calls()).toBe(10);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ens.dir).toBe(ensembleDir(parent, pr, spec));
    expect(ens.manifest).toMatchObject({
      complete: 10,
      cells: 11,
      steps: 120,
      target: 'ET',
      spec,
      modelKey: 'vic3l-test',
    });
    expect(ens.members('train')).toEqual([0, 1, 2, 3, 4]);
    expect(ens.members('valid')).toEqual([5, 6, 7]);
    expect(ens.members('test')).toEqual([8, 9]);
    // sizes: 10 members x 7 parameters x 11 cells x 8 bytes; 10 x 120 steps x 11 cells x 4 bytes
    expect(fs.statSync(join(ens.dir, PARAMS_FILE)).size).toBe(10 * 7 * 11 * 8);
    expect(fs.statSync(join(ens.dir, TARGET_FILE)).size).toBe(10 * 120 * 11 * 4);

    // member 6 again: the drawn fields, and the model re-run on them gives the stored target
    const draw = makeSampler({ ...spec, cells: 11, lower: pr.lower, upper: pr.upper });
    const p6 = ens.params(6);
    expect(p6).toEqual(draw(6));
    const rerun = model.run(p6) as Float64Array;
    const stored = ens.target(6, 0, 120);
    expect(stored).toHaveLength(120 * 11);
    expect(Array.from(stored)).toEqual(Array.from(rerun, Math.fround));
    // the values are vic3l's ET, not zeros: positive somewhere, never above PET
    expect(Math.max(...stored)).toBeGreaterThan(0.5);
    for (let i = 0; i < stored.length; i++) expect(stored[i]!).toBeLessThanOrEqual(pr.forcing.PET[i]! + 1e-6);
    // and the bytes on disk at member 6's offset are that target in Float32
    const raw = fs.readFileSync(join(ens.dir, TARGET_FILE));
    const onDisk = new Float32Array(raw.buffer, raw.byteOffset + 6 * 120 * 11 * 4, 120 * 11);
    expect(Array.from(onDisk)).toEqual(Array.from(Float32Array.from(rerun)));
  });

  it('reads a window of steps with one positioned read of exactly that window', () => {
    const ens = openEnsemble(ensembleDir(parent, pr, spec));
    const whole = ens.target(3, 0, 120);
    reads.length = 0;
    const win = ens.target(3, 40, 47);
    expect(reads).toEqual([{ length: 7 * 11 * 4, position: (3 * 120 + 40) * 11 * 4 }]);
    expect(Array.from(win)).toEqual(Array.from(whole.subarray(40 * 11, 47 * 11)));
    reads.length = 0;
    ens.params(9);
    expect(reads).toEqual([{ length: 7 * 11 * 8, position: 9 * 7 * 11 * 8 }]);
    expect(ens.target(3, 5, 5)).toHaveLength(0);
  });

  it('asked again, returns the stored ensemble without running the model; another key is another folder', async () => {
    const before = model.calls();
    const again = await generateEnsemble(pr, spec, model.run, { dir: parent });
    expect(model.calls()).toBe(before);
    expect(again.dir).toBe(ensembleDir(parent, pr, spec));
    expect(again.params(2)).toEqual(openEnsemble(again.dir).params(2));
    const other = { ...spec, seed: 5 };
    const lhs = { ...spec, sampler: 'lhs' as const };
    const otherData = { ...pr, dataKey: 'other-forcing' };
    const dirs = new Set([
      again.dir,
      ensembleDir(parent, pr, other),
      ensembleDir(parent, pr, lhs),
      ensembleDir(parent, otherData, spec),
    ]);
    expect(dirs.size).toBe(4);
    const o = await generateEnsemble(pr, other, model.run, { dir: parent });
    expect(model.calls()).toBe(before + 10);
    expect(o.params(0)[0]).not.toEqual(again.params(0)[0]);
    expect(fs.readdirSync(parent).sort()).toEqual(
      [again.dir, o.dir].map((d) => d.slice(parent.length + 1)).sort(),
    );
  });

  it('cancelled, keeps what it stored; asked again, runs only the rest, to the same bytes as one go', async () => {
    const dir = join(tmp.dir, 'cancelled');
    const m = vicRun(pr);
    const part = await generateEnsemble(pr, spec, m.run, { dir, cancelled: () => m.calls() >= 4 });
    expect(part.manifest.complete).toBe(4);
    expect(code(() => part.target(4, 0, 1))).toMatch(
      /^VALIDATION member 4 is not stored \(4 of 10 complete\)/,
    );
    const whole = await generateEnsemble(pr, spec, m.run, { dir });
    expect(m.calls()).toBe(10);
    expect(whole.manifest.complete).toBe(10);
    const ref = ensembleDir(parent, pr, spec);
    for (const f of [PARAMS_FILE, TARGET_FILE])
      expect(fs.readFileSync(join(whole.dir, f)).equals(fs.readFileSync(join(ref, f)))).toBe(true);
  });

  it('two generations of one ensemble at once (a sweep’s children): one runs the model, the other waits and reads it', async () => {
    const dir = join(tmp.dir, 'together');
    const m = vicRun(pr);
    // asynchronous as the model pool: the two interleave at every member
    const run = async (f: Float64Array[]) => {
      await new Promise((r) => setTimeout(r, 2));
      return m.run(f);
    };
    const [a, b] = await Promise.all([
      generateEnsemble(pr, spec, run, { dir }),
      generateEnsemble(pr, spec, run, { dir }),
    ]);
    // without the lock both ran every member (20 calls)
    expect(m.calls()).toBe(10);
    expect([a.manifest.complete, b.manifest.complete]).toEqual([10, 10]);
    const ref = ensembleDir(parent, pr, spec);
    for (const f of [PARAMS_FILE, TARGET_FILE])
      expect(fs.readFileSync(join(a.dir, f)).equals(fs.readFileSync(join(ref, f)))).toBe(true);
    expect(fs.existsSync(join(a.dir, LOCK))).toBe(false);
  });

  it('a lock left by a killed process or an abandoned one is taken over; a live one is waited for', async () => {
    const host = hostname();
    const dir = join(tmp.dir, 'locked');
    const ensDir = ensembleDir(dir, pr, spec);
    fs.mkdirSync(ensDir, { recursive: true });
    const lock = join(ensDir, LOCK);
    // a process of this host that has ended: its id is free
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.writeFileSync(lock, `${host} ${gone} 0123456789abcdef\n`);
    const m = vicRun(pr);
    expect((await generateEnsemble(pr, spec, m.run, { dir })).manifest.complete).toBe(10);
    expect(m.calls()).toBe(10);
    expect(fs.existsSync(lock)).toBe(false);

    // waited for, and the wait cancelled (nothing stored yet: EnsembleWaitCancelled, which a
    // surrogate run takes as its cancellation): held by a running process (this one: another
    // worker thread's), by the same id on another machine, or unreadable
    const waits = async (name: string, place: (lockPath: string) => void) => {
      const other = join(tmp.dir, name);
      const otherDir = ensembleDir(other, pr, spec);
      fs.mkdirSync(otherDir, { recursive: true });
      place(join(otherDir, LOCK));
      let asked = 0;
      const r = await generateEnsemble(pr, spec, m.run, { dir: other, cancelled: () => ++asked > 3 }).catch(
        (e: Error) => e,
      );
      expect(r, name).toBeInstanceOf(EnsembleWaitCancelled);
      expect(asked, name).toBe(4);
      return join(otherDir, LOCK);
    };
    const live = await waits('locked-live', (p) =>
      fs.writeFileSync(p, `${host} ${process.pid} fedcba9876543210\n`),
    );
    await waits('locked-elsewhere', (p) => fs.writeFileSync(p, `another-host ${gone} fedcba9876543210\n`));
    await waits('locked-unreadable', (p) => fs.mkdirSync(p));
    expect(m.calls()).toBe(10);
    expect(fs.readFileSync(live, 'utf8')).toBe(`${host} ${process.pid} fedcba9876543210\n`);
    // unrefreshed for longer than LOCK_STALE_MS (a terminated worker thread): taken over
    const old = new Date(Date.now() - LOCK_STALE_MS - 5_000);
    fs.utimesSync(live, old, old);
    expect(
      (await generateEnsemble(pr, spec, m.run, { dir: join(tmp.dir, 'locked-live') })).manifest.complete,
    ).toBe(10);
    expect(m.calls()).toBe(20);
    expect(fs.existsSync(live)).toBe(false);
  });

  it('sobol and lhs ensembles store their samplers draws', async () => {
    for (const sampler of ['sobol', 'lhs'] as const) {
      const s = { ...spec, sampler, members: 8, split: { train: 4, valid: 2, test: 2 } };
      const ens = await generateEnsemble(pr, s, vicRun(pr).run, { dir: join(tmp.dir, 'qmc') });
      const draw = makeSampler({ ...s, cells: 11, lower: pr.lower, upper: pr.upper });
      for (const k of [0, 7]) expect(ens.params(k)).toEqual(draw(k));
    }
  });

  it('refuses bad requests, bad model output and damaged folders, naming what is wrong', async () => {
    const fail = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        expect(e).toBeInstanceOf(FieldcalError);
        return `${(e as FieldcalError).code} ${(e as Error).message}`;
      }
      return 'no error';
    };
    const dir = join(tmp.dir, 'bad');
    const run = vicRun(pr).run;
    expect(
      await fail(generateEnsemble(pr, { ...spec, split: { train: 5, valid: 3, test: 3 } }, run, { dir })),
    ).toMatch(/^VALIDATION split 5 \/ 3 \/ 3 does not sum to 10 members/);
    expect(await fail(generateEnsemble({ ...pr, lower: [0] }, spec, run, { dir }))).toMatch(
      /^VALIDATION 7 parameters but 1 lower/,
    );
    expect(
      await fail(
        generateEnsemble({ ...pr, forcing: { P: pr.forcing.P, PET: new Float64Array(3) } }, spec, run, {
          dir,
        }),
      ),
    ).toMatch(/^VALIDATION forcing PET holds 3 values, expected 120 x 11/);
    expect(await fail(generateEnsemble(pr, spec, () => new Float64Array(5), { dir }))).toMatch(
      /^INTERNAL the model run of member 0 gave 5 values, expected 120 x 11/,
    );
    expect(code(() => openEnsemble(join(tmp.dir, 'nothing')))).toMatch(/^NOT_FOUND .* holds no ensemble/);
    // a damaged ensemble: the target file cut short, then the manifest broken
    const ens = openEnsemble(ensembleDir(parent, pr, spec));
    const copy = join(tmp.dir, 'damaged');
    fs.cpSync(ens.dir, copy, { recursive: true });
    fs.truncateSync(join(copy, TARGET_FILE), 1000);
    expect(code(() => openEnsemble(copy))).toMatch(
      /^INCONSISTENT_DATA .*target\.f32 holds 1000 bytes, expected 52800/,
    );
    fs.writeFileSync(join(copy, MANIFEST), JSON.stringify({ ...ens.manifest, cells: -1 }));
    expect(code(() => openEnsemble(copy))).toMatch(/^INVALID_FILE .*ensemble\.json: cells:/);
    expect(code(() => ens.target(2, 100, 121))).toMatch(
      /^VALIDATION steps \[100, 121\) are outside 0 .. 120/,
    );
  });
});

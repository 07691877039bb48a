import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, open, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { FieldcalError } from '../../../src-shared/ipc';
import { writeFileAtomic } from '../common/atomicFile';
import { pidAlive } from '../common/pid';
import { sha256 } from '../common/checksum';
import { makeSampler } from './samplers';
import {
  SAMPLERS,
  type Ensemble,
  type EnsembleManifest,
  type EnsembleSpec,
  type ModelRun,
  type SurrogateProblem,
} from './types';

/**
 * Perturbed-parameter ensembles (issue 17; the GAN-PO paper's 400 runs, Sun, Pan & Duan 2024):
 * N members' parameter fields drawn within the bounds (samplers.ts), each run through the model,
 * stored in a folder named by a hash of what defines them:
 * - `ensemble.json`: the manifest (EnsembleManifest), rewritten atomically after every member;
 * - `params.f64`: Float64 little-endian, member-major [members][parameters][cells];
 * - `target.f32`: Float32 little-endian, member-major [members][steps][cells] (step-major within a
 *   member: one member, or one window of its steps, is one contiguous read).
 * Both files are sized for every member at creation; member m is written in place with positioned
 * writes, flushed, and only then counted in `complete`: a process killed during generation loses at
 * most the member in flight, and asking again continues from `complete`.
 * - `ensemble.lock`: held while a process (or a worker thread: a local sweep's children) generates
 *   or continues the ensemble; a second one waits, then finds it complete or continues it.
 */

export const MANIFEST = 'ensemble.json';
export const LOCK = 'ensemble.lock';
export const PARAMS_FILE = 'params.f64';
export const TARGET_FILE = 'target.f32';

export interface GenerateOptions {
  /** Folder the ensemble's own folder (named by `ensembleKey`) is made in, e.g. the project's `ensembles/`. */
  dir: string;
  /** After every stored member: members complete, and the total. */
  progress?: (complete: number, members: number) => void;
  /** Checked before every member: true stops the generation there (what is stored stays, to continue later). */
  cancelled?: () => boolean;
}

const manifestSchema = z.object({
  format: z.literal('fieldcal-ensemble'),
  version: z.literal(1),
  spec: z.object({
    members: z.number().int().positive(),
    sampler: z.enum(SAMPLERS),
    seed: z.number().int(),
    split: z.object({
      train: z.number().int().nonnegative(),
      valid: z.number().int().nonnegative(),
      test: z.number().int().nonnegative(),
    }),
  }),
  parameters: z.array(z.string()).min(1),
  lower: z.array(z.number()),
  upper: z.array(z.number()),
  target: z.string(),
  cells: z.number().int().positive(),
  steps: z.number().int().positive(),
  modelKey: z.string(),
  dataKey: z.string(),
  complete: z.number().int().nonnegative(),
  createdAt: z.string(),
  seconds: z.number().nonnegative().optional(),
});

/** What defines an ensemble's content: the manifest less its progress and date. */
function identity(m: Omit<EnsembleManifest, 'complete' | 'createdAt' | 'format' | 'version'>) {
  return {
    format: 'fieldcal-ensemble',
    version: 1,
    spec: {
      members: m.spec.members,
      sampler: m.spec.sampler,
      seed: m.spec.seed,
      split: { train: m.spec.split.train, valid: m.spec.split.valid, test: m.spec.split.test },
    },
    parameters: [...m.parameters],
    lower: [...m.lower],
    upper: [...m.upper],
    target: m.target,
    cells: m.cells,
    steps: m.steps,
    modelKey: m.modelKey,
    dataKey: m.dataKey,
  };
}

function identityOf(problem: SurrogateProblem, spec: EnsembleSpec) {
  return identity({
    spec,
    parameters: problem.parameters,
    lower: problem.lower,
    upper: problem.upper,
    target: problem.target,
    cells: problem.cells,
    steps: problem.steps,
    modelKey: problem.modelKey,
    dataKey: problem.dataKey,
  });
}

/**
 * The ensemble's key: SHA-256 (first 16 hex digits) of its spec, parameters, bounds, target,
 * sizes, model and data keys. The same request gives the same folder; any difference another.
 */
export function ensembleKey(problem: SurrogateProblem, spec: EnsembleSpec): string {
  return sha256(new TextEncoder().encode(JSON.stringify(identityOf(problem, spec)))).slice(0, 16);
}

/** The folder of an ensemble under `parent`. */
export const ensembleDir = (parent: string, problem: SurrogateProblem, spec: EnsembleSpec): string =>
  join(parent, `ensemble-${ensembleKey(problem, spec)}`);

/** Checks a problem and a spec; typed errors name the field. */
export function checkEnsembleRequest(problem: SurrogateProblem, spec: EnsembleSpec): void {
  const fail = (field: string, message: string): never => {
    throw new FieldcalError('VALIDATION', message, { field });
  };
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!posInt(problem.rows) || !posInt(problem.cols))
    fail('rows', `grid ${problem.rows} x ${problem.cols} is not a positive size`);
  if (!posInt(problem.cells)) fail('cells', `cells must be a positive integer (got ${problem.cells})`);
  if (!posInt(problem.steps)) fail('steps', `steps must be a positive integer (got ${problem.steps})`);
  if (problem.mask.length !== problem.rows * problem.cols)
    fail('mask', `mask has ${problem.mask.length} cells, grid ${problem.rows} x ${problem.cols}`);
  const active = problem.mask.reduce((a, b) => a + (b ? 1 : 0), 0);
  if (active !== problem.cells)
    fail('mask', `mask has ${active} active cells, problem says ${problem.cells}`);
  for (const [name, a] of Object.entries(problem.forcing))
    if (a && a.length !== problem.steps * problem.cells)
      fail(
        `forcing.${name}`,
        `forcing ${name} holds ${a.length} values, expected ${problem.steps} x ${problem.cells}`,
      );
  const P = problem.parameters.length;
  if (P === 0) fail('parameters', 'no parameter to perturb');
  if (problem.lower.length !== P || problem.upper.length !== P)
    fail(
      'bounds',
      `${P} parameters but ${problem.lower.length} lower and ${problem.upper.length} upper bounds`,
    );
  if (!problem.target) fail('target', 'the target is not named');
  if (!posInt(spec.members)) fail('members', `members must be a positive integer (got ${spec.members})`);
  if (!SAMPLERS.includes(spec.sampler)) fail('sampler', `unknown sampler ${String(spec.sampler)}`);
  if (!Number.isSafeInteger(spec.seed)) fail('seed', `seed must be an integer (got ${spec.seed})`);
  const { train, valid, test } = spec.split ?? {};
  if (![train, valid, test].every((v) => Number.isInteger(v) && v! >= 0))
    fail('split', 'split train / valid / test must be non-negative integers');
  if (train! + valid! + test! !== spec.members)
    fail('split', `split ${train} / ${valid} / ${test} does not sum to ${spec.members} members`);
}

/** Bytes of one member in each file. */
const paramBytes = (m: EnsembleManifest) => m.parameters.length * m.cells * 8;
const targetBytes = (m: EnsembleManifest) => m.steps * m.cells * 4;

/** Reads exactly `length` bytes at `position` (a positioned read; loops over short reads). */
function readAt(path: string, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, position + got);
      if (n === 0)
        throw new FieldcalError('INCONSISTENT_DATA', `${path} ends at byte ${position + got}`, { path });
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** The members of a split, in order: train first, then validation, then test. */
function splitMembers(m: EnsembleManifest, split: 'train' | 'valid' | 'test'): number[] {
  const { train, valid, test } = m.spec.split;
  const [a, n] = split === 'train' ? [0, train] : split === 'valid' ? [train, valid] : [train + valid, test];
  return Array.from({ length: n }, (_, i) => a + i);
}

function readManifest(dir: string): EnsembleManifest {
  const path = join(dir, MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new FieldcalError(
      missing ? 'NOT_FOUND' : 'INVALID_FILE',
      missing ? `${dir} holds no ensemble (no ${MANIFEST})` : `${path} is not JSON: ${(e as Error).message}`,
      { path },
    );
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: ${issue.path.join('.') || 'manifest'}: ${issue.message}`,
      {
        path,
        field: issue.path.join('.'),
      },
    );
  }
  const m = parsed.data as EnsembleManifest;
  const P = m.parameters.length;
  const { train, valid, test } = m.spec.split;
  if (
    m.lower.length !== P ||
    m.upper.length !== P ||
    train + valid + test !== m.spec.members ||
    m.complete > m.spec.members
  )
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: bounds, split or complete disagree with the members and parameters`,
      {
        path,
      },
    );
  return m;
}

/**
 * Opens a stored ensemble (the folder holding `ensemble.json`). Reads are bounded: `params` reads
 * one member's fields, `target` one window of one member's steps, each a positioned read.
 */
export function openEnsemble(dir: string): Ensemble {
  const manifest = readManifest(dir);
  const files: Array<[string, number]> = [
    [join(dir, PARAMS_FILE), paramBytes(manifest)],
    [join(dir, TARGET_FILE), targetBytes(manifest)],
  ];
  for (const [path, per] of files) {
    let size: number;
    try {
      const fd = openSync(path, 'r');
      size = fstatSync(fd).size;
      closeSync(fd);
    } catch {
      throw new FieldcalError('NOT_FOUND', `${path} is missing: the ensemble is incomplete`, { path });
    }
    if (size !== per * manifest.spec.members)
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${path} holds ${size} bytes, expected ${per * manifest.spec.members} (${manifest.spec.members} members of ${per})`,
        { path },
      );
  }
  const stored = (member: number) => {
    if (!Number.isInteger(member) || member < 0 || member >= manifest.complete)
      throw new FieldcalError(
        'VALIDATION',
        `member ${member} is not stored (${manifest.complete} of ${manifest.spec.members} complete)`,
        { field: 'member', path: dir },
      );
  };
  const { cells, steps } = manifest;
  return {
    dir,
    manifest,
    members: (split) => splitMembers(manifest, split),
    params(member) {
      stored(member);
      const per = paramBytes(manifest);
      const buf = readAt(files[0]![0], per, member * per);
      const all = new Float64Array(buf.buffer, buf.byteOffset, per / 8);
      return manifest.parameters.map((_, p) => Float64Array.from(all.subarray(p * cells, (p + 1) * cells)));
    },
    target(member, t0, t1) {
      stored(member);
      if (!(Number.isInteger(t0) && Number.isInteger(t1) && t0 >= 0 && t1 >= t0 && t1 <= steps))
        throw new FieldcalError('VALIDATION', `steps [${t0}, ${t1}) are outside 0 .. ${steps}`, {
          field: 't0',
        });
      const n = (t1 - t0) * cells;
      if (n === 0) return new Float64Array(0);
      const buf = readAt(files[1]![0], n * 4, member * targetBytes(manifest) + t0 * cells * 4);
      return Float64Array.from(new Float32Array(buf.buffer, buf.byteOffset, n));
    },
  };
}

/** Writes all of `bytes` at `position` (a positioned write; loops over short writes). */
async function writeAt(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often a held lock's time is refreshed, and after how long unrefreshed it counts as abandoned. */
export const LOCK_REFRESH_MS = 2_000;
export const LOCK_STALE_MS = 30_000;

/** A wait for another generation's lock that was cancelled before that one stored anything. */
export class EnsembleWaitCancelled extends Error {}

/**
 * How long a held lock may go unrefreshed before it counts as abandoned: LOCK_STALE_MS, or four
 * times the mean member's time of the ensemble as stored (a holder running a long member on its own
 * thread, e.g. LocalSimulator, cannot refresh meanwhile), whichever is longer.
 */
function staleAfter(dir: string): number {
  try {
    const m = readManifest(dir);
    if (m.complete > 0 && m.seconds) return Math.max(LOCK_STALE_MS, (4000 * m.seconds) / m.complete);
  } catch {
    // none yet, or unreadable: the plain time
  }
  return LOCK_STALE_MS;
}

/** Milliseconds since the file was last modified (0 when it cannot be read: taken as fresh). */
function ageOf(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Takes `dir`'s generation lock: `ensemble.lock`, created exclusively, holding its holder's host
 * name, process id and a random token; the holder refreshes its modification time every
 * LOCK_REFRESH_MS. Another generation waits while it is held, and takes it over when its process
 * is gone (checked on the same host only: a shared runs folder may be written from other machines
 * or containers) or neither it nor the manifest changed for `staleAfter` (a terminated worker
 * thread: a queue worker that lost its job). Without it, two generations of one ensemble (two
 * processes, or a local sweep's children in one) ran the same members twice and one removed the
 * other's manifest temporary between its write and its rename, failing that run. A lock that
 * exists but cannot be read is waited for as held. Returns the release and whether the lock was
 * taken over from an idle holder that may still be running, or null when `cancelled` turned true
 * while waiting.
 */
async function lockEnsemble(
  dir: string,
  cancelled?: () => boolean,
): Promise<{ release: () => void; fromIdle: boolean } | null> {
  const path = join(dir, LOCK);
  let fromIdle = false;
  const token = `${hostname()} ${process.pid} ${randomBytes(8).toString('hex')}\n`;
  for (;;) {
    try {
      await writeFile(path, token, { flag: 'wx' });
      const beat = setInterval(() => {
        const now = new Date();
        utimes(path, now, now).catch(() => undefined);
      }, LOCK_REFRESH_MS);
      beat.unref();
      const release = () => {
        clearInterval(beat);
        // only our own: a lock taken over from us is the other holder's
        if (readLock(path) === token) rmSync(path, { force: true });
      };
      return { release, fromIdle };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new FieldcalError('IO', `Cannot create ${path}: ${(e as Error).message}`, { path });
    }
    const text = readLock(path);
    if (text === null) continue; // released meanwhile
    if (text !== undefined) {
      // an empty file: its holder is between creating and writing it
      const [host, pidText] = text.trim().split(' ');
      const pid = Number(pidText);
      const gone = host === hostname() && Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
      const idle = Math.min(ageOf(path), ageOf(join(dir, MANIFEST)) || Infinity);
      if (gone || (idle > LOCK_STALE_MS && idle > staleAfter(dir))) {
        // the one judged, not one another waiter took over meanwhile (a narrow race left: both
        // generate the same bytes, as before the lock)
        if (readLock(path) === text) rmSync(path, { force: true });
        fromIdle = !gone;
        continue;
      }
    }
    if (cancelled?.()) return null;
    await sleep(100);
  }
}

/** The lock's text; null when there is none, undefined when it exists but cannot be read. */
function readLock(path: string): string | null | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
}

/** Atomic-write temporaries of the manifest left by a killed process. */
const MANIFEST_TEMP = /^\.ensemble\.json\.[0-9a-f]{12}\.tmp$/;

const writeManifest = (dir: string, m: EnsembleManifest) =>
  writeFileAtomic(join(dir, MANIFEST), (tmp) => writeFile(tmp, `${JSON.stringify(m, null, 2)}\n`));

/**
 * Generates (or reuses, or continues) the ensemble of `spec` for `problem` under `opts.dir`:
 * a stored complete ensemble with the same key is returned without running the model; a partial
 * one continues from its `complete`; otherwise members 0 .. N-1 are drawn, run one after another
 * through `run`, and stored. A cancelled generation returns the ensemble as far as it got
 * (`manifest.complete` < members).
 */
export async function generateEnsemble(
  problem: SurrogateProblem,
  spec: EnsembleSpec,
  run: ModelRun,
  opts: GenerateOptions,
): Promise<Ensemble> {
  checkEnsembleRequest(problem, spec);
  const dir = ensembleDir(opts.dir, problem, spec);
  // complete: opened without the lock (the manifest is replaced atomically; a read-only copy works)
  if (existsSync(join(dir, MANIFEST)) && readManifest(dir).complete === spec.members)
    return generateLocked(dir, problem, spec, run, opts);
  await mkdir(dir, { recursive: true });
  const lock = await lockEnsemble(dir, opts.cancelled);
  if (!lock) {
    // cancelled while another generation held it: as far as that one got
    if (existsSync(join(dir, MANIFEST))) return openEnsemble(dir);
    throw new EnsembleWaitCancelled(`${dir}: cancelled while another process generated this ensemble`);
  }
  try {
    return await generateLocked(dir, problem, spec, run, opts, lock.fromIdle);
  } finally {
    lock.release();
  }
}

async function generateLocked(
  dir: string,
  problem: SurrogateProblem,
  spec: EnsembleSpec,
  run: ModelRun,
  opts: GenerateOptions,
  fromIdle = false,
): Promise<Ensemble> {
  const want = identityOf(problem, spec);
  let manifest: EnsembleManifest;
  if (existsSync(join(dir, MANIFEST))) {
    manifest = readManifest(dir);
    if (JSON.stringify(identity(manifest)) !== JSON.stringify(want))
      throw new FieldcalError('CONFLICT', `${dir} holds another ensemble than the one asked for`, {
        path: dir,
      });
    // the stored members must be there (files of the declared size) before continuing after them
    const stored = openEnsemble(dir);
    if (manifest.complete === spec.members) return stored;
    // a killed process's; after taking over an idle holder that may still write, only old ones
    for (const f of readdirSync(dir))
      if (MANIFEST_TEMP.test(f) && (!fromIdle || ageOf(join(dir, f)) > LOCK_STALE_MS))
        rmSync(join(dir, f), { force: true });
  } else {
    manifest = { ...want, complete: 0, createdAt: new Date().toISOString() } as EnsembleManifest;
  }
  const P = problem.parameters.length;
  const { cells, steps } = problem;
  const perParams = P * cells * 8;
  const perTarget = steps * cells * 4;
  const files = await Promise.all(
    [
      [PARAMS_FILE, perParams],
      [TARGET_FILE, perTarget],
    ].map(async ([name, per]) => {
      const path = join(dir, name as string);
      const fh = await open(path, existsSync(path) ? 'r+' : 'w+');
      // sized for every member (sparse until written); members are written in place
      if ((await fh.stat()).size !== (per as number) * spec.members)
        await fh.truncate((per as number) * spec.members);
      return fh;
    }),
  );
  const [paramsFh, targetFh] = files as [(typeof files)[0], (typeof files)[0]];
  try {
    if (manifest.complete === 0) await writeManifest(dir, manifest);
    const draw = makeSampler({
      sampler: spec.sampler,
      seed: spec.seed,
      members: spec.members,
      cells,
      lower: problem.lower,
      upper: problem.upper,
    });
    const target = new Float32Array(steps * cells);
    const fieldsBuf = new Float64Array(P * cells);
    for (let m = manifest.complete; m < spec.members; m++) {
      if (opts.cancelled?.()) break;
      const t = performance.now();
      const fields = draw(m);
      const out = await run(fields.map((f) => Float64Array.from(f)));
      if (!out || out.length !== steps * cells)
        throw new FieldcalError(
          'INTERNAL',
          `the model run of member ${m} gave ${out?.length ?? 0} values, expected ${steps} x ${cells}`,
          { member: m },
        );
      target.set(out);
      fields.forEach((f, p) => fieldsBuf.set(f, p * cells));
      await writeAt(paramsFh, new Uint8Array(fieldsBuf.buffer), m * perParams);
      await writeAt(targetFh, new Uint8Array(target.buffer), m * perTarget);
      await paramsFh.datasync();
      await targetFh.datasync();
      manifest = {
        ...manifest,
        complete: m + 1,
        seconds: (manifest.seconds ?? 0) + (performance.now() - t) / 1000,
      };
      await writeManifest(dir, manifest);
      opts.progress?.(m + 1, spec.members);
    }
  } finally {
    await Promise.all(files.map((f) => f.close()));
  }
  return openEnsemble(dir);
}

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import { writeFileAtomic } from '../common/atomicFile';
import { sha256 } from '../common/checksum';
import type { Standardisation } from './data';
import type { TrainSettings } from './train';
import type { SurrogateKind, SurrogateProblem } from './types';

/** The manifest of a saved surrogate (`surrogate.json`, beside `weights.bin`). */
export interface SurrogateManifest {
  format: 'fieldcal-surrogate';
  version: 1;
  kind: Exclude<SurrogateKind, 'physics'>;
  /** The network's architecture settings (kind-specific). */
  config: Record<string, number | number[]>;
  settings: TrainSettings;
  stats: Standardisation;
  problem: {
    parameters: string[];
    lower: number[];
    upper: number[];
    target: string;
    modelKey: string;
    dataKey: string;
    rows: number;
    cols: number;
    cells: number;
    steps: number;
    forcing: string[];
  };
  weights: { shapes: number[][]; bytes: number; sha256: string };
  createdAt: string;
}

export const MANIFEST = 'surrogate.json';
export const WEIGHTS = 'weights.bin';

/** The problem facts a saved surrogate records (and checks on load). */
export function problemFacts(p: SurrogateProblem, forcing: string[]): SurrogateManifest['problem'] {
  return {
    parameters: [...p.parameters],
    lower: [...p.lower],
    upper: [...p.upper],
    target: p.target,
    modelKey: p.modelKey,
    dataKey: p.dataKey,
    rows: p.rows,
    cols: p.cols,
    cells: p.cells,
    steps: p.steps,
    forcing,
  };
}

/** Writes weights then the manifest naming their checksum (both atomic: a torn save is detected on load). */
export async function writeSurrogate(
  dir: string,
  m: Omit<SurrogateManifest, 'weights' | 'createdAt' | 'format' | 'version'>,
  weights: Float32Array[],
  shapes: number[][],
): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const all = new Float32Array(weights.reduce((s, w) => s + w.length, 0));
  let o = 0;
  for (const w of weights) {
    all.set(w, o);
    o += w.length;
  }
  const bytes = new Uint8Array(all.buffer);
  await writeFileAtomic(join(dir, WEIGHTS), (tmp) => fsp.writeFile(tmp, bytes));
  const manifest: SurrogateManifest = {
    format: 'fieldcal-surrogate',
    version: 1,
    ...m,
    weights: { shapes, bytes: bytes.byteLength, sha256: sha256(bytes) },
    createdAt: new Date().toISOString(),
  };
  await writeFileAtomic(join(dir, MANIFEST), (tmp) => fsp.writeFile(tmp, JSON.stringify(manifest, null, 1)));
}

/** Reads a saved surrogate's manifest and weights, checking the checksum. */
export async function readSurrogate(
  dir: string,
): Promise<{ manifest: SurrogateManifest; weights: Float32Array[] }> {
  const mpath = join(dir, MANIFEST);
  let manifest: SurrogateManifest;
  try {
    manifest = JSON.parse(await fsp.readFile(mpath, 'utf8')) as SurrogateManifest;
  } catch (err) {
    const code = (err as { code?: string }).code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_FILE';
    throw new FieldcalError(code, `${mpath} cannot be read: ${(err as Error).message}`, { path: mpath });
  }
  if (manifest?.format !== 'fieldcal-surrogate' || manifest.version !== 1 || !manifest.weights?.shapes)
    throw new FieldcalError('INVALID_FILE', `${mpath} is not a fieldcal surrogate manifest (version 1)`, {
      path: mpath,
    });
  const wpath = join(dir, WEIGHTS);
  let buf: Buffer;
  try {
    buf = await fsp.readFile(wpath);
  } catch (err) {
    throw new FieldcalError('INVALID_FILE', `${wpath} cannot be read: ${(err as Error).message}`, {
      path: wpath,
    });
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.byteLength !== manifest.weights.bytes || sha256(bytes) !== manifest.weights.sha256)
    throw new FieldcalError('INVALID_FILE', `${wpath} does not match the checksum in ${MANIFEST}`, {
      path: wpath,
    });
  const all = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(all.buffer).set(bytes);
  let o = 0;
  const weights = manifest.weights.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = all.slice(o, o + n);
    o += n;
    return w;
  });
  if (o !== all.length)
    throw new FieldcalError('INVALID_FILE', `${wpath} holds ${all.length} values, the shapes ${o}`, {
      path: wpath,
    });
  return { manifest, weights };
}

/** Refuses a saved surrogate made for another problem (grid, parameters, target, model or data). */
export function checkManifestProblem(
  dir: string,
  m: SurrogateManifest,
  p: SurrogateProblem,
  forcing: string[],
): void {
  const want = problemFacts(p, forcing);
  for (const k of [
    'parameters',
    'target',
    'modelKey',
    'dataKey',
    'rows',
    'cols',
    'cells',
    'forcing',
  ] as const)
    if (JSON.stringify(m.problem[k]) !== JSON.stringify(want[k]))
      throw new FieldcalError(
        'VALIDATION',
        `surrogate in ${dir} was trained for ${k} ${JSON.stringify(m.problem[k])}, the problem has ${JSON.stringify(want[k])}`,
        { path: dir, field: k },
      );
}

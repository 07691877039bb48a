import { FieldcalError } from '../../../src-shared/ipc';
import type { Sampler } from './types';

/**
 * Seeded draws of ensemble members' parameter fields within the bounds (issue 17).
 *
 * What a point is: every sampler draws, for each active cell, the cell's parameter vector in every
 * member, and each cell is drawn independently of the others (fields are spatially uncorrelated,
 * as in the GAN-PO paper's per-cell uniform perturbations; Sun, Pan & Duan 2024). They differ in
 * how the N members' vectors at one cell fill the P-dimensional parameter box:
 * - `uniform-cell` (the paper's): independent uniform draws per member, cell and parameter.
 * - `lhs`: at every cell, the N members form a Latin hypercube (McKay, Beckman & Conover 1979): for
 *   each parameter the N values fall one in each of the N equal strata of [lower, upper], the
 *   stratum of a member given by a seeded permutation per (cell, parameter), jittered uniformly
 *   inside its stratum.
 * - `sobol`: at every cell, the N members are the first N points of a P-dimensional Sobol sequence
 *   (Sobol' 1967; Joe & Kuo 2008 direction numbers, Gray-code order), scrambled independently per
 *   cell and parameter by a random linear matrix scramble plus a random digital shift (Matoušek
 *   1998; Owen 2003): each cell's members keep the net's stratification (the first 2^k members
 *   fall one in each of the 2^k equal intervals of every parameter), and cells differ.
 * Every value is a pure function of (seed, member, cell, parameter), so one member's fields are
 * drawn without the others (a resumed generation draws the same fields).
 */

/** A 32-bit integer mix (lowbias32, C. Wellons' hash-prospector): full avalanche, a bijection. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit hash of a seed and up to four counters (counter-based generator: no state to carry). */
function hash(seed: number, a: number, b: number, c: number, d: number): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(a + 1, 0x85ebca6b));
  h = mix32(h ^ Math.imul(b + 1, 0xc2b2ae35));
  h = mix32(h ^ Math.imul(c + 1, 0x27d4eb2f));
  return mix32(h ^ Math.imul(d + 1, 0x165667b1));
}

/** A uniform number in [0, 1) with 53 random bits from the hash of (seed, stream, a, b, c). */
function uniform(seed: number, stream: number, a: number, b: number, c: number): number {
  const hi = hash(seed, stream, a, b, c) >>> 5; // 27 bits
  const lo = hash(seed ^ 0x5bd1e995, stream, a, b, c) >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}

/**
 * A seeded pseudo-random permutation of [0, l) evaluated at one index (Kensler 2013, "Correlated
 * Multi-Jittered Sampling", Pixar tech memo 13-01, listing 3): a hash that is a bijection on the
 * next power of two, cycle-walked into [0, l).
 */
export function kenslerPermute(i: number, l: number, p: number): number {
  let w = l - 1;
  w |= w >>> 1;
  w |= w >>> 2;
  w |= w >>> 4;
  w |= w >>> 8;
  w |= w >>> 16;
  p >>>= 0;
  do {
    i ^= p;
    i = Math.imul(i, 0xe170893d);
    i ^= p >>> 16;
    i ^= (i & w) >>> 4;
    i ^= p >>> 8;
    i = Math.imul(i, 0x0929eb3f);
    i ^= p >>> 23;
    i ^= (i & w) >>> 1;
    i = Math.imul(i, 1 | (p >>> 27));
    i = Math.imul(i, 0x6935fa69);
    i ^= (i & w) >>> 11;
    i = Math.imul(i, 0x74dcb303);
    i ^= (i & w) >>> 2;
    i = Math.imul(i, 0x9e501cc3);
    i ^= (i & w) >>> 2;
    i = Math.imul(i, 0xc860a3df);
    i &= w;
    i ^= i >>> 5;
    i >>>= 0;
  } while (i >= l);
  return (i + p) % l;
}

/**
 * Joe & Kuo's direction numbers for dimensions 2..21 (S. Joe and F. Y. Kuo, "Constructing Sobol
 * sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30, 2635-2654, 2008;
 * file new-joe-kuo-6.21201, https://web.maths.unsw.edu.au/~fkuo/sobol/): per dimension its
 * primitive polynomial's degree s, the coefficients a (bits of the middle terms) and the initial
 * m_1..m_s. Dimension 1 is van der Corput's (all m = 1).
 */
const JOE_KUO: ReadonlyArray<readonly [number, number, readonly number[]]> = [
  [1, 0, [1]],
  [2, 1, [1, 3]],
  [3, 1, [1, 3, 1]],
  [3, 2, [1, 1, 1]],
  [4, 1, [1, 1, 3, 3]],
  [4, 4, [1, 3, 5, 13]],
  [5, 2, [1, 1, 5, 5, 17]],
  [5, 4, [1, 1, 5, 5, 5]],
  [5, 7, [1, 1, 7, 11, 19]],
  [5, 11, [1, 1, 5, 1, 1]],
  [5, 13, [1, 1, 1, 3, 11]],
  [5, 14, [1, 3, 5, 5, 31]],
  [6, 1, [1, 3, 3, 9, 7, 49]],
  [6, 13, [1, 1, 1, 15, 21, 21]],
  [6, 16, [1, 3, 1, 13, 27, 49]],
  [6, 19, [1, 1, 1, 15, 7, 5]],
  [6, 22, [1, 3, 1, 15, 13, 25]],
  [6, 25, [1, 1, 5, 5, 19, 61]],
  [7, 1, [1, 3, 7, 11, 23, 15, 103]],
  [7, 4, [1, 3, 7, 13, 13, 15, 69]],
];

/** Dimensions (parameters) the embedded direction numbers cover. */
export const SOBOL_MAX_DIMS = JOE_KUO.length + 1;
const BITS = 32;

/** Direction numbers V_1..V_32 of one dimension (0-based), as 32-bit integers (MSB = first binary digit). */
function directions(dim: number): Uint32Array {
  const v = new Uint32Array(BITS);
  if (dim === 0) {
    for (let k = 0; k < BITS; k++) v[k] = 2 ** (BITS - 1 - k);
    return v;
  }
  const [s, a, m] = JOE_KUO[dim - 1]!;
  for (let k = 0; k < s; k++) v[k] = (m[k]! * 2 ** (BITS - 1 - k)) >>> 0;
  // V_k = V_{k-s} ^ (V_{k-s} >> s) ^ XOR_{i=1}^{s-1} a_i V_{k-i} (Joe & Kuo 2008, eq. 2, as in their sobol.cc)
  for (let k = s; k < BITS; k++) {
    let x = v[k - s]! ^ (v[k - s]! >>> s);
    for (let i = 1; i < s; i++) if ((a >>> (s - 1 - i)) & 1) x ^= v[k - i]!;
    v[k] = x >>> 0;
  }
  return v;
}

/** The `index`-th point's digits in one dimension (Gray-code order, as Joe & Kuo's sobol.cc): XOR of V_k over the bits of gray(index). */
function sobolDigits(v: Uint32Array, index: number): number {
  let g = index ^ Math.floor(index / 2);
  let x = 0;
  for (let k = 0; g > 0; k++, g = Math.floor(g / 2)) if (g & 1) x ^= v[k]!;
  return x >>> 0;
}

function checkDims(dims: number): void {
  if (!Number.isInteger(dims) || dims < 1 || dims > SOBOL_MAX_DIMS)
    throw new FieldcalError(
      'VALIDATION',
      `Sobol sampling covers 1 to ${SOBOL_MAX_DIMS} parameters (Joe & Kuo direction numbers embedded); got ${dims}`,
      { field: 'parameters' },
    );
}

/** The first `n` points of the unscrambled Sobol sequence in `dims` dimensions, row-major [n x dims]. */
export function sobolPoints(n: number, dims: number): Float64Array {
  checkDims(dims);
  const out = new Float64Array(n * dims);
  for (let d = 0; d < dims; d++) {
    const v = directions(d);
    for (let i = 0; i < n; i++) out[i * dims + d] = sobolDigits(v, i) / 2 ** BITS;
  }
  return out;
}

/** Bit parity of a 32-bit integer. */
function parity(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}

/**
 * Direction numbers scrambled by a random lower-triangular binary matrix with unit diagonal
 * (Matoušek 1998, "On the L2-discrepancy for anchored boxes", J. Complexity 14; the linear matrix
 * scramble of Owen 2003): output digit i = XOR over j <= i of L_ij times input digit j.
 */
function scrambledDirections(v: Uint32Array, bits: number, key: (row: number) => number): Uint32Array {
  const rows = new Uint32Array(BITS);
  for (let i = 0; i < BITS; i++) {
    // row i covers digits 0..i (bits 31..31-i); digit i itself is 1
    const below = i === 0 ? 0 : (key(i) >>> (BITS - i)) << (BITS - i);
    rows[i] = (below | (1 << (BITS - 1 - i))) >>> 0;
  }
  const out = new Uint32Array(bits);
  for (let k = 0; k < bits; k++) {
    let y = 0;
    for (let i = 0; i < BITS; i++) if (parity(rows[i]! & v[k]!)) y |= 1 << (BITS - 1 - i);
    out[k] = y >>> 0;
  }
  return out;
}

export interface SamplerSetup {
  sampler: Sampler;
  seed: number;
  members: number;
  cells: number;
  lower: readonly number[];
  upper: readonly number[];
}

/** Checks a sampler's setup; typed errors name the field. */
function checkSetup(s: SamplerSetup): void {
  const fail = (field: string, message: string): never => {
    throw new FieldcalError('VALIDATION', message, { field });
  };
  if (!['uniform-cell', 'sobol', 'lhs'].includes(s.sampler))
    fail('sampler', `unknown sampler ${String(s.sampler)} (uniform-cell, sobol or lhs)`);
  if (!Number.isSafeInteger(s.seed)) fail('seed', `seed must be an integer (got ${s.seed})`);
  if (!Number.isInteger(s.members) || s.members < 1 || s.members > 2 ** 31)
    fail('members', `members must be a positive integer (got ${s.members})`);
  if (!Number.isInteger(s.cells) || s.cells < 1)
    fail('cells', `cells must be a positive integer (got ${s.cells})`);
  if (s.lower.length !== s.upper.length || s.lower.length === 0)
    fail('lower', `bounds hold ${s.lower.length} lower and ${s.upper.length} upper values`);
  s.lower.forEach((lo, p) => {
    const hi = s.upper[p]!;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
      fail(`bounds[${p}]`, `bounds of parameter ${p} reversed, empty or not finite (${lo} .. ${hi})`);
  });
  if (s.sampler === 'sobol') checkDims(s.lower.length);
}

/**
 * The sampler of a setup: member index → one field per parameter (cells values each), within
 * [lower, upper]. Same setup, same fields, in any order of members.
 */
export function makeSampler(setup: SamplerSetup): (member: number) => Float64Array[] {
  checkSetup(setup);
  const { members: n, cells, lower, upper } = setup;
  const P = lower.length;
  // seeds above 32 bits fold their high part in
  const seed = (setup.seed >>> 0) ^ mix32(Math.floor(setup.seed / 2 ** 32) >>> 0);
  const unit = (p: number, c: number, member: number): number => {
    if (setup.sampler === 'uniform-cell') return uniform(seed, 1, member, c, p);
    if (setup.sampler === 'lhs') {
      const stratum = kenslerPermute(member, n, hash(seed, 2, c, p, 0));
      return (stratum + uniform(seed, 3, member, c, p)) / n;
    }
    return sobolUnit(p, c, member);
  };
  // Sobol: per (cell, parameter) the scrambled direction numbers the members' indices need, and a digital shift
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scrambled: Uint32Array[] = [];
  const shifts = new Uint32Array(setup.sampler === 'sobol' ? cells * P : 0);
  if (setup.sampler === 'sobol') {
    const base = Array.from({ length: P }, (_, d) => directions(d));
    for (let c = 0; c < cells; c++)
      for (let p = 0; p < P; p++) {
        scrambled.push(scrambledDirections(base[p]!, bits, (row) => hash(seed, 4, c, p, row)));
        shifts[c * P + p] = hash(seed, 5, c, p, 0);
      }
  }
  function sobolUnit(p: number, c: number, member: number): number {
    const x = sobolDigits(scrambled[c * P + p]!, member) ^ shifts[c * P + p]!;
    return (x >>> 0) / 2 ** BITS;
  }
  return (member: number) => {
    if (!Number.isInteger(member) || member < 0 || member >= n)
      throw new FieldcalError('VALIDATION', `member ${member} is outside 0 .. ${n - 1}`, { field: 'member' });
    return lower.map((lo, p) => {
      const hi = upper[p]!;
      const f = new Float64Array(cells);
      for (let c = 0; c < cells; c++) f[c] = Math.min(hi, Math.max(lo, lo + unit(p, c, member) * (hi - lo)));
      return f;
    });
  };
}

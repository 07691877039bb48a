import { FieldcalError } from '../../../../src-shared/ipc';
import { mulberry32 } from '../random';
import { z } from 'zod';

/**
 * SCE-UA settings with the standard values of Duan, Sorooshian & Gupta (1994, J. Hydrol. 158):
 * m = 2n + 1 points per complex, q = n + 1 per sub-complex, alpha = 1, beta = 2n + 1; stop after
 * `maxRuns` model runs (2000 as in Sun et al. 2024), when the best objective changed by less than
 * `pcento` (1 %) over `kstop` (10) shuffling loops, or when the population has shrunk below `peps`
 * of the parameter ranges.
 */
export const sceUaOptionsSchema = z.strictObject({
  complexes: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(2)
    .describe('Complexes evolved in parallel and shuffled every loop'),
  maxRuns: z
    .number()
    .int()
    .min(10)
    .max(1_000_000)
    .default(2000)
    .describe('Maximum model runs of one SCE-UA pass (Sun et al. 2024: 2000)'),
  kstop: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe("Shuffling loops over which the best objective's change is compared with pcento (10)"),
  pcento: z
    .number()
    .min(0)
    .max(1)
    .default(0.01)
    .describe('Stop when the best objective changed by less than this fraction over kstop loops (1 %)'),
  peps: z
    .number()
    .min(0)
    .max(1)
    .default(0.001)
    .describe('Stop when the population has shrunk below this fraction of the parameter ranges'),
  seed: z.number().int().default(1969).describe("Seed of the search's random draws"),
});
export type SceUaOptions = z.output<typeof sceUaOptionsSchema>;

export interface SceUaResult {
  best: Float64Array;
  objective: number;
  /** Model runs, every one counted (speculative ones too). */
  runs: number;
  /** Of `runs`, the speculative contractions whose result the search did not need (0 without speculation). */
  speculativeRuns: number;
  loops: number;
  stop: 'maxRuns' | 'objective-converged' | 'population-converged';
  history: number[];
}

/**
 * Shuffled Complex Evolution (Duan, Sorooshian & Gupta 1992, Water Resour. Res. 28; 1994,
 * J. Hydrol. 158): minimises `f` over the box [lower, upper]. Complexes evolve by the competitive
 * complex evolution step (reflection, contraction, random point) and are shuffled each loop.
 * Runs {@link sceUaBatch} with one evaluation per call.
 */
export function sceUa(
  f: (x: Float64Array) => number,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  options: Partial<SceUaOptions> = {},
  onLoop?: (loop: number, best: number, runs: number) => void,
): SceUaResult {
  return sceUaBatch((xs) => xs.map(f), lower, upper, options, onLoop);
}

/** How {@link sceUaBatch} hands its points over (never which points the search visits). */
export interface SceUaBatching {
  /**
   * Evaluate each complex's contraction point in the same batch as its reflection, before knowing
   * whether the reflection succeeds: one call per CCE step instead of two or three, at the cost of
   * model runs whose result is not needed (`SceUaResult.speculativeRuns`; they count against
   * `maxRuns` like every run). The contraction point depends on no random draw, so the search visits
   * the same points and takes the same decisions as without speculation, as long as the run budget
   * does not end it.
   */
  speculative?: boolean;
}

/**
 * SCE-UA with its independent evaluations handed over together to `fb` (which returns one
 * objective per point): the initial population in one batch, and the complexes evolved in
 * lockstep, so each CCE stage (reflection, then contraction, then random point) evaluates one
 * point per complex in one batch. The complexes are independent within a shuffling loop (Duan et
 * al. 1994, CCE step), so this is the same algorithm as evolving them one after another; only the
 * order in which the random numbers are drawn differs (complex by complex within a step).
 * `batching.speculative` also hands each contraction over with its reflection.
 */
export function sceUaBatch(
  fb: (xs: Float64Array[]) => ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  options: Partial<SceUaOptions> = {},
  onLoop?: (loop: number, best: number, runs: number) => void,
  batching: SceUaBatching = {},
): SceUaResult {
  const g = sceUaSearch(lower, upper, options, onLoop, batching);
  let r = g.next();
  while (!r.done) r = g.next(fb(r.value));
  return r.value;
}

/** One of the searches {@link sceUaLockstep} runs together. */
export interface SceUaRun {
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  options?: Partial<SceUaOptions>;
  onLoop?: (loop: number, best: number, runs: number) => void;
}

/**
 * Several independent SCE-UA searches (restarts from other seeds, other boxes) in lockstep: each
 * call of `fb` holds the pending batch of every search still running, so a batched objective fills
 * more lanes per call. Each search visits the same points as {@link sceUaBatch} alone with the
 * same options; results in the order of `runs`.
 */
export function sceUaLockstep(
  fb: (xs: Float64Array[]) => ArrayLike<number>,
  runs: readonly SceUaRun[],
  batching: SceUaBatching = {},
): SceUaResult[] {
  const gs = runs.map((r) => sceUaSearch(r.lower, r.upper, r.options ?? {}, r.onLoop, batching));
  const states = gs.map((g) => g.next());
  for (;;) {
    const open = states.flatMap((s, k) => (s.done ? [] : [k]));
    if (open.length === 0) break;
    const xs = open.flatMap((k) => states[k]!.value as Float64Array[]);
    const v = fb(xs);
    let at = 0;
    for (const k of open) {
      const n = (states[k]!.value as Float64Array[]).length;
      states[k] = gs[k]!.next(Array.from({ length: n }, (_, i) => v[at + i]!));
      at += n;
    }
  }
  return states.map((s) => s.value as SceUaResult);
}

/**
 * The search itself, as a generator: it yields each batch of points to evaluate (never empty,
 * within the run budget) and takes their objectives back. Bounds and options are checked when it
 * is created, before the first point.
 */
function sceUaSearch(
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  options: Partial<SceUaOptions>,
  onLoop: ((loop: number, best: number, runs: number) => void) | undefined,
  batching: SceUaBatching,
): Generator<Float64Array[], SceUaResult, ArrayLike<number>> {
  const o = sceUaOptionsSchema.parse(options);
  const n = lower.length;
  if (upper.length !== n || n === 0)
    throw new FieldcalError('VALIDATION', 'bounds must be two arrays of the same, non-zero length', {
      field: 'bounds',
    });
  for (let i = 0; i < n; i++) {
    if (!(upper[i]! > lower[i]!))
      throw new FieldcalError(
        'VALIDATION',
        `bounds of parameter ${i} are reversed or empty (${lower[i]} .. ${upper[i]})`,
        { field: `bounds[${i}]` },
      );
  }
  return search(lower, upper, o, onLoop, batching.speculative === true);
}

function* search(
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  o: SceUaOptions,
  onLoop: ((loop: number, best: number, runs: number) => void) | undefined,
  speculative: boolean,
): Generator<Float64Array[], SceUaResult, ArrayLike<number>> {
  const n = lower.length;
  const rand = mulberry32(o.seed);
  const m = 2 * n + 1;
  const q = n + 1;
  const beta = 2 * n + 1;
  const nc = o.complexes;
  const s = nc * m;
  let runs = 0;
  let speculativeRuns = 0;
  // evaluates as many of xs as the run budget allows (the rest get no value: undefined)
  function* evaluate(
    xs: Float64Array[],
  ): Generator<Float64Array[], (number | undefined)[], ArrayLike<number>> {
    const k = Math.min(xs.length, o.maxRuns - runs);
    if (k <= 0) return xs.map(() => undefined);
    const v = yield xs.slice(0, k);
    runs += k;
    return xs.map((_, i) =>
      i < k ? (Number.isFinite(v[i]!) ? v[i]! : Number.POSITIVE_INFINITY) : undefined,
    );
  }
  const randomPoint = (lo: ArrayLike<number>, hi: ArrayLike<number>) =>
    Float64Array.from({ length: n }, (_, i) => lo[i]! + rand() * (hi[i]! - lo[i]!));

  let pop = Array.from({ length: s }, () => randomPoint(lower, upper));
  let fit = (yield* evaluate(pop)).map((v) => v ?? Number.POSITIVE_INFINITY);
  const history: number[] = [];
  let loops = 0;
  let stop: SceUaResult['stop'] = 'maxRuns';
  const sortPop = () => {
    const idx = fit.map((_, i) => i).sort((a, b) => fit[a]! - fit[b]!);
    pop = idx.map((i) => pop[i]!);
    fit = idx.map((i) => fit[i]!);
  };
  sortPop();
  while (runs < o.maxRuns) {
    loops++;
    // partition: point k goes to complex k mod nc
    const members = Array.from({ length: nc }, (_, c) => Array.from({ length: m }, (_, k) => c + nc * k));
    const cx = members.map((mc) => mc.map((i) => pop[i]!));
    const cf = members.map((mc) => mc.map((i) => fit[i]!));
    for (let step = 0; step < beta && runs < o.maxRuns; step++) {
      // each complex: choose q points with the trapezoidal probability 2(m + 1 - k) / (m (m + 1)),
      // its centroid without the worst, the reflection of the worst (or a random point in the
      // complex's box when the reflection leaves the bounds)
      const plan = cx.map((px, c) => {
        const pf = cf[c]!;
        const chosen: number[] = [];
        while (chosen.length < q) {
          const u = rand();
          const k = Math.floor(m + 0.5 - Math.sqrt((m + 0.5) ** 2 - m * (m + 1) * u));
          if (k < m && !chosen.includes(k)) chosen.push(k);
        }
        chosen.sort((a, b) => pf[a]! - pf[b]!);
        const worst = chosen[q - 1]!;
        const centroid = new Float64Array(n);
        for (let j = 0; j < q - 1; j++)
          for (let i = 0; i < n; i++) centroid[i]! += px[chosen[j]!]![i]! / (q - 1);
        // H: the smallest box holding the complex, where random points are drawn (Duan et al. 1994, CCE steps iv-v)
        // (drawn from only where a point is needed there: the complex is unchanged within the step)
        const box = () => {
          const lo = Float64Array.from({ length: n }, (_, i) => Math.min(...px.map((v) => v[i]!)));
          const hi = Float64Array.from({ length: n }, (_, i) => Math.max(...px.map((v) => v[i]!)));
          return randomPoint(lo, hi);
        };
        let x = Float64Array.from(centroid, (v, i) => 2 * v - px[worst]![i]!);
        if (x.some((v, i) => v < lower[i]! || v > upper[i]!)) x = box();
        // the contraction point, halfway between the centroid and the worst point (no random draw)
        const xc = Float64Array.from(centroid, (v, i) => (v + px[worst]![i]!) / 2);
        return { worst, box, x, xc, fc: undefined as number | undefined, f: Number.NaN, done: false };
      });
      // reflection, then contraction, then a random point: each stage one batch over the complexes
      // still worse than their worst point (speculative: the contractions ride with the reflections)
      for (let stage = 0; stage < 3; stage++) {
        const open = plan.map((_, c) => c).filter((c) => !plan[c]!.done);
        if (open.length === 0) break;
        if (stage > 0)
          for (const c of open) {
            const pl = plan[c]!;
            pl.x = stage === 1 ? pl.xc : pl.box();
          }
        let values: (number | undefined)[];
        if (stage === 1 && speculative) {
          values = open.map((c) => plan[c]!.fc);
          for (const v of values) if (v !== undefined) speculativeRuns--;
        } else {
          const xs = open.map((c) => plan[c]!.x);
          const extra = stage === 0 && speculative ? open.map((c) => plan[c]!.xc) : [];
          const v = yield* evaluate([...xs, ...extra]);
          extra.forEach((_, k) => {
            const fc = v[xs.length + k];
            plan[open[k]!]!.fc = fc;
            if (fc !== undefined) speculativeRuns++;
          });
          values = v.slice(0, xs.length);
        }
        open.forEach((c, k) => {
          const pl = plan[c]!;
          const v = values[k];
          // out of run budget: this complex's step is dropped
          if (v === undefined) {
            pl.done = true;
            pl.f = Number.NaN;
            return;
          }
          pl.f = v;
          if (stage === 2 || v <= cf[c]![pl.worst]!) pl.done = true;
        });
      }
      plan.forEach((pl, c) => {
        if (Number.isNaN(pl.f)) return;
        cx[c]![pl.worst] = pl.x;
        cf[c]![pl.worst] = pl.f;
        // keep the complex sorted
        const order = cf[c]!.map((_, i) => i).sort((a, b) => cf[c]![a]! - cf[c]![b]!);
        cx[c] = order.map((i) => cx[c]![i]!);
        cf[c] = order.map((i) => cf[c]![i]!);
      });
    }
    members.forEach((mc, c) =>
      mc.forEach((i, k) => {
        pop[i] = cx[c]![k]!;
        fit[i] = cf[c]![k]!;
      }),
    );
    // shuffle: all complexes back into one sorted population
    sortPop();
    history.push(fit[0]!);
    onLoop?.(loops, fit[0]!, runs);
    // stopping rules
    if (history.length > o.kstop) {
      const old = history[history.length - 1 - o.kstop]!;
      const change = Math.abs(old - fit[0]!) / Math.max(1e-12, (Math.abs(old) + Math.abs(fit[0]!)) / 2);
      if (change < o.pcento) {
        stop = 'objective-converged';
        break;
      }
    }
    let gnrng = 0;
    for (let i = 0; i < n; i++) {
      const vals = pop.map((p) => p[i]!);
      gnrng += Math.log((Math.max(...vals) - Math.min(...vals)) / (upper[i]! - lower[i]!) + 1e-300);
    }
    if (Math.exp(gnrng / n) < o.peps) {
      stop = 'population-converged';
      break;
    }
  }
  return { best: pop[0]!, objective: fit[0]!, runs, speculativeRuns, loops, stop, history };
}

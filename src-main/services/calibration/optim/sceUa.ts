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
  complexes: z.number().int().min(1).max(50).default(2),
  maxRuns: z.number().int().min(10).max(1_000_000).default(2000),
  kstop: z.number().int().min(1).max(100).default(10),
  pcento: z.number().min(0).max(1).default(0.01),
  peps: z.number().min(0).max(1).default(0.001),
  seed: z.number().int().default(1969),
});
export type SceUaOptions = z.output<typeof sceUaOptionsSchema>;

export interface SceUaResult {
  best: Float64Array;
  objective: number;
  runs: number;
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

/**
 * SCE-UA with its independent evaluations handed over together to `fb` (which returns one
 * objective per point): the initial population in one batch, and the complexes evolved in
 * lockstep, so each CCE stage (reflection, then contraction, then random point) evaluates one
 * point per complex in one batch. The complexes are independent within a shuffling loop (Duan et
 * al. 1994, CCE step), so this is the same algorithm as evolving them one after another; only the
 * order in which the random numbers are drawn differs (complex by complex within a step).
 */
export function sceUaBatch(
  fb: (xs: Float64Array[]) => ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  options: Partial<SceUaOptions> = {},
  onLoop?: (loop: number, best: number, runs: number) => void,
): SceUaResult {
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
  const rand = mulberry32(o.seed);
  const m = 2 * n + 1;
  const q = n + 1;
  const beta = 2 * n + 1;
  const nc = o.complexes;
  const s = nc * m;
  let runs = 0;
  // evaluates as many of xs as the run budget allows (the rest get no value: undefined)
  const evaluate = (xs: Float64Array[]): (number | undefined)[] => {
    const k = Math.min(xs.length, o.maxRuns - runs);
    if (k <= 0) return xs.map(() => undefined);
    const v = fb(xs.slice(0, k));
    runs += k;
    return xs.map((_, i) =>
      i < k ? (Number.isFinite(v[i]!) ? v[i]! : Number.POSITIVE_INFINITY) : undefined,
    );
  };
  const randomPoint = (lo: ArrayLike<number>, hi: ArrayLike<number>) =>
    Float64Array.from({ length: n }, (_, i) => lo[i]! + rand() * (hi[i]! - lo[i]!));

  let pop = Array.from({ length: s }, () => randomPoint(lower, upper));
  let fit = evaluate(pop).map((v) => v ?? Number.POSITIVE_INFINITY);
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
        const lo = Float64Array.from({ length: n }, (_, i) => Math.min(...px.map((v) => v[i]!)));
        const hi = Float64Array.from({ length: n }, (_, i) => Math.max(...px.map((v) => v[i]!)));
        let x = Float64Array.from(centroid, (v, i) => 2 * v - px[worst]![i]!);
        if (x.some((v, i) => v < lower[i]! || v > upper[i]!)) x = randomPoint(lo, hi);
        return { worst, centroid, lo, hi, x, f: Number.NaN, done: false };
      });
      // reflection, then contraction halfway between the centroid and the worst point, then a
      // random point: each stage one batch over the complexes still worse than their worst point
      for (let stage = 0; stage < 3; stage++) {
        const open = plan.map((_, c) => c).filter((c) => !plan[c]!.done);
        if (stage > 0) {
          for (const c of open) {
            const pl = plan[c]!;
            pl.x =
              stage === 1
                ? Float64Array.from(pl.centroid, (v, i) => (v + cx[c]![pl.worst]![i]!) / 2)
                : randomPoint(pl.lo, pl.hi);
          }
        }
        const values = evaluate(open.map((c) => plan[c]!.x));
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
  return { best: pop[0]!, objective: fit[0]!, runs, loops, stop, history };
}

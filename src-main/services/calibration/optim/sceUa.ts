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
 */
export function sceUa(
  f: (x: Float64Array) => number,
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
  const s = o.complexes * m;
  let runs = 0;
  const evaluate = (x: Float64Array) => {
    runs++;
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  const randomPoint = (lo: ArrayLike<number>, hi: ArrayLike<number>) =>
    Float64Array.from({ length: n }, (_, i) => lo[i]! + rand() * (hi[i]! - lo[i]!));

  let pop = Array.from({ length: s }, () => randomPoint(lower, upper));
  let fit = pop.map(evaluate);
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
    // partition: point k goes to complex k mod p
    for (let c = 0; c < o.complexes; c++) {
      const members = Array.from({ length: m }, (_, k) => c + o.complexes * k);
      const cx = members.map((i) => pop[i]!);
      const cf = members.map((i) => fit[i]!);
      for (let step = 0; step < beta && runs < o.maxRuns; step++) {
        // choose q points with the trapezoidal probability 2(m + 1 - k) / (m (m + 1))
        const chosen: number[] = [];
        while (chosen.length < q) {
          const u = rand();
          const k = Math.floor(m + 0.5 - Math.sqrt((m + 0.5) ** 2 - m * (m + 1) * u));
          if (k < m && !chosen.includes(k)) chosen.push(k);
        }
        chosen.sort((a, b) => cf[a]! - cf[b]!);
        const worst = chosen[q - 1]!;
        const centroid = new Float64Array(n);
        for (let j = 0; j < q - 1; j++)
          for (let i = 0; i < n; i++) centroid[i]! += cx[chosen[j]!]![i]! / (q - 1);
        // reflection
        // H: the smallest box holding the complex, where random points are drawn (Duan et al. 1994, CCE steps iv-v)
        const lo = Float64Array.from({ length: n }, (_, i) => Math.min(...cx.map((p) => p[i]!)));
        const hi = Float64Array.from({ length: n }, (_, i) => Math.max(...cx.map((p) => p[i]!)));
        let xNew = Float64Array.from(centroid, (v, i) => 2 * v - cx[worst]![i]!);
        if (xNew.some((v, i) => v < lower[i]! || v > upper[i]!)) xNew = randomPoint(lo, hi);
        let fNew = evaluate(xNew);
        if (fNew > cf[worst]!) {
          // contraction halfway between the centroid and the worst point
          xNew = Float64Array.from(centroid, (v, i) => (v + cx[worst]![i]!) / 2);
          fNew = evaluate(xNew);
          if (fNew > cf[worst]!) {
            xNew = randomPoint(lo, hi);
            fNew = evaluate(xNew);
          }
        }
        cx[worst] = xNew;
        cf[worst] = fNew;
        // keep the complex sorted
        const order = cf.map((_, i) => i).sort((a, b) => cf[a]! - cf[b]!);
        const sx = order.map((i) => cx[i]!);
        const sf = order.map((i) => cf[i]!);
        sx.forEach((v, i) => (cx[i] = v));
        sf.forEach((v, i) => (cf[i] = v));
      }
      members.forEach((i, k) => {
        pop[i] = cx[k]!;
        fit[i] = cf[k]!;
      });
    }
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

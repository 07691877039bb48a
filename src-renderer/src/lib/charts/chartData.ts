import type { Hydrograph, ProgressPoint } from '../../../../src-shared/ipc';

/** Seconds since 1970 of a YYYY-MM-DD day at 00:00 UTC (uPlot's time axis). */
export const daySeconds = (d: string): number => Date.parse(`${d}T00:00:00Z`) / 1000;

/** A typed array as uPlot data: NaN (missing) becomes null, so lines break there. */
export function nullable(a: ArrayLike<number>): Array<number | null> {
  const out = new Array<number | null>(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    out[i] = Number.isFinite(v) ? v : null;
  }
  return out;
}

/** Largest finite value (0 when none). */
export function finiteMax(...series: Array<ArrayLike<number | null>>): number {
  let m = 0;
  for (const s of series)
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      if (v !== null && v !== undefined && Number.isFinite(v) && v > m) m = v;
    }
  return m;
}

/** The hydrograph's uPlot data: x (seconds), observed, each run's simulation, then rainfall when known. */
export function hydrographData(h: Hydrograph): {
  data: Array<Array<number | null>>;
  labels: string[];
  qMax: number;
  rainMax: number;
} {
  const x = h.dates.map(daySeconds);
  const obs = nullable(h.observed);
  const sims = h.simulated.map((s) => nullable(s.values));
  const rain = h.rainfall ? nullable(h.rainfall) : null;
  return {
    data: [x, obs, ...sims, ...(rain ? [rain] : [])],
    labels: ['observed', ...h.simulated.map((s) => s.name), ...(rain ? ['rainfall'] : [])],
    qMax: finiteMax(obs, ...sims),
    rainMax: rain ? finiteMax(rain) : 0,
  };
}

/** First and last index holding a finite value, or null. */
function finiteSpan(a: ArrayLike<number>): [number, number] | null {
  let i0 = -1;
  let i1 = -1;
  for (let i = 0; i < a.length; i++)
    if (Number.isFinite(a[i]!)) {
      if (i0 < 0) i0 = i;
      i1 = i;
    }
  return i0 < 0 ? null : [i0, i1];
}

/**
 * The dates a hydrograph opens on: where the runs simulated, else where rainfall is known (the
 * model's forcing period), else the observed record; null when nothing is known. The whole record
 * stays one double-click away.
 */
export function hydrographWindow(h: Hydrograph): [string, string] | null {
  const spans = h.simulated.map((s) => finiteSpan(s.values)).filter((x): x is [number, number] => x !== null);
  const rain = h.rainfall ? finiteSpan(h.rainfall) : null;
  const span = spans.length
    ? ([Math.min(...spans.map((x) => x[0])), Math.max(...spans.map((x) => x[1]))] as [number, number])
    : (rain ?? finiteSpan(h.observed));
  return span ? [h.dates[span[0]]!, h.dates[span[1]]!] : null;
}

/** Loss terms that are counters, not losses (sce-ua's loop, the gradient method's evaluations). */
const COUNTERS = new Set(['loop', 'evaluations']);

/**
 * A run's loss curve as uPlot data: x = iteration (one point per iteration, the last recorded
 * wins: a resumed run repeats the iterations after its checkpoint), then the objective, the
 * validation score (`losses.valid`) when present, and each other loss term (GAN-PO's d, g_adv,
 * g_l1, g_range, valid_kge ...). `terms` names the series drawn on the right-hand axis.
 */
export function lossData(points: readonly ProgressPoint[]): {
  data: Array<Array<number | null>>;
  labels: string[];
  terms: Set<string>;
} {
  const byIter = new Map<number, ProgressPoint>();
  for (const p of points)
    if (p.objective !== null || Object.keys(p.losses).length) byIter.set(p.iteration, p);
  const rows = [...byIter.values()].sort((a, b) => a.iteration - b.iteration);
  const keys: string[] = [];
  for (const p of rows)
    for (const k of Object.keys(p.losses)) if (!keys.includes(k) && !COUNTERS.has(k)) keys.push(k);
  const other = keys.filter((k) => k !== 'valid');
  const labels = ['objective', ...(keys.includes('valid') ? ['valid'] : []), ...other];
  const data: Array<Array<number | null>> = [rows.map((p) => p.iteration), rows.map((p) => p.objective)];
  for (const k of labels.slice(1))
    data.push(rows.map((p) => (Number.isFinite(p.losses[k]) ? p.losses[k]! : null)));
  return { data, labels, terms: new Set(other) };
}

/** Tick steps of an iteration axis: whole numbers only, 1, 2 and 5 times a power of ten. */
export const WHOLE_STEPS: number[] = Array.from({ length: 9 }, (_, k) =>
  [1, 2, 5].map((m) => m * 10 ** k),
).flat();

/**
 * The range of an iteration axis: the data's, and a lone point (a run one epoch in) padded by one on
 * each side, where uPlot's own padding would put fractional iterations on the axis.
 */
export function iterationRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  return min === max ? [min - 1, max + 1] : [min, max];
}

/** Colours of successive simulated series (Okabe–Ito, colour-blind safe). */
export const SERIES_COLOURS = ['#e69f00', '#0072b2', '#009e73', '#d55e00', '#cc79a7', '#56b4e9', '#f0e442'];

/**
 * The points a run's loss curve plots. A basins (KGSSL) run trains more than one network: the main
 * one (phase `calibrating`), then per imputation fold, the attribute baseline and a GR4J calibration
 * per basin; their progress restarts at iteration 1 and would zig-zag over the main curve, so only
 * the main training is plotted (the other phases show in the jobs bar), without the tensor count.
 */
export function curvePoints(points: readonly ProgressPoint[], kind: unknown): readonly ProgressPoint[] {
  if (kind !== 'basins') return points;
  // numTensors rides along as a leak check (it stays flat), not a loss term to plot
  return points
    .filter((p) => p.phase === 'calibrating')
    .map((p) => {
      const { numTensors: _n, ...losses } = p.losses ?? {};
      return { ...p, losses };
    });
}

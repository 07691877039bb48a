import { eofScores } from './eof';
import { cellMaps, rmseChange } from './maps';
import { nativeKernels } from './native';
import { binary, fssBinaryScales, gaussianKernel, percentiles as percentilesOf, ssim } from './spatial';

/** The GAN-PO paper's evaluation table for a run against its default-parameter simulation (Sun et al. 2024, section 3.4). */
export interface SummaryTable {
  cells: number;
  pctCcAbove075: number;
  pctKgeAbove06: number;
  pctRmseReduced: number;
  meanEof: number;
  meanSsim: number;
  /** FSS per percentile (50, 75, 90, 95), one value per window size, averaged over steps. */
  fss: Record<string, Array<{ scale: number; fss: number }>>;
}

export interface GridShape {
  rows: number;
  cols: number;
  /** Active cells (1) of the rows x cols grid; null = all. */
  mask: Uint8Array | null;
}

/**
 * Computes the summary table from observed, calibrated and default-parameter fields stored
 * step-major over the full rows x cols grid. Inactive cells are excluded from the percentages and
 * the EOF score and set to the observed value's spatial mean for SSIM/FSS, which need full fields;
 * the same fill in both fields leaves those cells neutral in FSS and in SSIM's structure terms.
 */
export function summaryTable(opts: {
  obs: ArrayLike<number>;
  sim: ArrayLike<number>;
  simDefault: ArrayLike<number>;
  steps: number;
  grid: GridShape;
  percentiles?: number[];
  scales?: number[];
}): SummaryTable {
  const { obs, sim, simDefault, steps, grid } = opts;
  const cells = grid.rows * grid.cols;
  const active = (c: number) => !grid.mask || grid.mask[c] === 1;
  const cal = cellMaps(obs, sim, steps, cells, grid.mask);
  const def = cellMaps(obs, simDefault, steps, cells, grid.mask, 'rmse');
  const delta = rmseChange(def.rmse, cal.rmse);
  let n = 0;
  let ccOk = 0;
  let kgeOk = 0;
  let reduced = 0;
  for (let c = 0; c < cells; c++) {
    if (!active(c)) continue;
    n++;
    if (cal.cc[c]! > 0.75) ccOk++;
    if (cal.kge[c]! > 0.6) kgeOk++;
    if (delta[c]! > 0) reduced++;
  }
  const idx = Int32Array.from({ length: cells }, (_, c) => c).filter(active);
  const pick = (a: ArrayLike<number>) => {
    if (idx.length === cells)
      return a.length === steps * cells ? a : Float64Array.from({ length: steps * cells }, (_, i) => a[i]!);
    const out = new Float64Array(steps * idx.length);
    for (let t = 0; t < steps; t++)
      for (let j = 0; j < idx.length; j++) out[t * idx.length + j] = a[t * cells + idx[j]!]!;
    return out;
  };
  const eof = eofScores(pick(obs), pick(sim), steps, idx.length);
  const percentiles = opts.percentiles ?? [50, 75, 90, 95];
  const scales = opts.scales ?? [1, 3, 5, 9, 15];
  const { ssim: ssims, fss: fssSteps } = stepSpatial(obs, sim, steps, grid, percentiles, scales);
  const ssimValid = Array.from(ssims).filter(Number.isFinite);
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : Number.NaN);
  // each percentile and window size averaged over the steps where it is defined, in step order
  const fss: SummaryTable['fss'] = {};
  const P = percentiles.length;
  const S = scales.length;
  for (const [i, p] of percentiles.entries())
    fss[String(p)] = scales.map((scale, j) => {
      const acc: number[] = [];
      for (let t = 0; t < steps; t++) {
        const f = fssSteps[(t * P + i) * S + j]!;
        if (Number.isFinite(f)) acc.push(f);
      }
      return { scale, fss: mean(acc) };
    });
  const eofValid = Array.from(eof).filter(Number.isFinite);
  return {
    cells: n,
    pctCcAbove075: (100 * ccOk) / n,
    pctKgeAbove06: (100 * kgeOk) / n,
    pctRmseReduced: (100 * reduced) / n,
    meanEof: mean(eofValid),
    meanSsim: mean(ssimValid),
    fss,
  };
}

/**
 * SSIM ({@link stepSsim}) and FSS at every step: FSS (Roberts & Lean 2008) of the filled fields
 * thresholded at each field's own percentiles, at every window size; fss[(t P + i) S + j] for step
 * t, percentile i and window j (NaN where undefined). On the addon's kernel (native/src/fields.cc,
 * the same operations threaded across steps) where present, else in JavaScript; each step is
 * computed on its own, so the values do not depend on the thread count.
 */
export function stepSpatial(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  steps: number,
  grid: GridShape,
  percentiles: number[],
  scales: number[],
): { ssim: Float64Array; fss: Float64Array } {
  const P = percentiles.length;
  const S = scales.length;
  const fss = new Float64Array(steps * P * S).fill(Number.NaN);
  const cells = grid.rows * grid.cols;
  const native = nativeKernels();
  if (native && steps > 0 && cells > 0 && scales.every((s) => Number.isInteger(s) && s >= 0)) {
    const ssimOut = new Float64Array(steps);
    const f64 = (a: ArrayLike<number>) => (a instanceof Float64Array ? a : Float64Array.from(a));
    native.stepSpatial(
      f64(obs).subarray(0, steps * cells),
      f64(sim).subarray(0, steps * cells),
      steps,
      grid.rows,
      grid.cols,
      grid.mask,
      gaussianKernel(SSIM_SIGMA),
      ssimWindow(grid),
      Float64Array.from(percentiles),
      Float64Array.from(scales),
      ssimOut,
      fss,
    );
    return { ssim: ssimOut, fss };
  }
  const ssimSteps = stepSsim(obs, sim, steps, grid, (t, o, s) => {
    // thresholds once per percentile and field, then every window size on the same binary fields
    const to = percentilesOf(o, percentiles);
    const ts = percentilesOf(s, percentiles);
    for (let i = 0; i < P; i++) {
      const values = fssBinaryScales(binary(o, to[i]!), binary(s, ts[i]!), grid.rows, grid.cols, scales);
      fss.set(values, (t * P + i) * S);
    }
  });
  return { ssim: ssimSteps, fss };
}

/** SSIM's Gaussian σ (Wang et al. 2004; scikit-image's gaussian_weights=True). */
const SSIM_SIGMA = 1.5;

/** scikit-image's 7-cell window, or the largest odd size the grid allows. */
function ssimWindow(grid: GridShape): number {
  const side = Math.min(7, grid.rows, grid.cols);
  return side % 2 ? side : side - 1;
}

/**
 * SSIM of every step's simulated field against the observed one (Wang et al. 2004, scikit-image's
 * Gaussian-weighted 7-cell window or the largest odd size the grid allows, data range of the
 * observed field), NaN for a uniform observed field. Inactive and missing cells take the observed
 * field's spatial mean in both fields; `each` sees the filled fields of every step.
 */
export function stepSsim(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  steps: number,
  grid: GridShape,
  each?: (t: number, o: Float64Array, s: Float64Array) => void,
): Float64Array {
  const cells = grid.rows * grid.cols;
  const active = (c: number) => !grid.mask || grid.mask[c] === 1;
  const win = ssimWindow(grid);
  const out = new Float64Array(steps).fill(Number.NaN);
  for (let t = 0; t < steps; t++) {
    const o = new Float64Array(cells);
    const s = new Float64Array(cells);
    let mean = 0;
    let n = 0;
    for (let c = 0; c < cells; c++)
      if (active(c)) {
        mean += obs[t * cells + c]!;
        n++;
      }
    mean /= n;
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = 0; c < cells; c++) {
      o[c] = active(c) && Number.isFinite(obs[t * cells + c]!) ? obs[t * cells + c]! : mean;
      s[c] = active(c) && Number.isFinite(sim[t * cells + c]!) ? sim[t * cells + c]! : mean;
      if (active(c)) {
        lo = Math.min(lo, o[c]!);
        hi = Math.max(hi, o[c]!);
      }
    }
    if (hi > lo)
      out[t] = ssim(o, s, grid.rows, grid.cols, { dataRange: hi - lo, sigma: SSIM_SIGMA, winSize: win });
    each?.(t, o, s);
  }
  return out;
}

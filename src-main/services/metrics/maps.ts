import { cc, kge, rmse } from './series';

/**
 * Per-cell metric maps from gridded series stored step-major (steps x cells): each cell's series
 * compared on its own, missing values excluded cell by cell; inactive cells (mask 0) are NaN.
 * `only: 'rmse'` skips CC and KGE (left NaN) where a caller needs the RMSE map alone.
 */
export function cellMaps(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  steps: number,
  cells: number,
  mask: Uint8Array | null = null,
  only: 'all' | 'rmse' = 'all',
) {
  const out = {
    rmse: new Float64Array(cells),
    cc: new Float64Array(cells),
    kge: new Float64Array(cells),
    n: new Int32Array(cells),
  };
  // series gathered a block of cells at a time (cell-major), reading each step's row once
  const BLOCK = 256;
  const o = new Float64Array(BLOCK * steps);
  const s = new Float64Array(BLOCK * steps);
  for (let c0 = 0; c0 < cells; c0 += BLOCK) {
    const c1 = Math.min(cells, c0 + BLOCK);
    for (let t = 0; t < steps; t++) {
      const base = t * cells;
      for (let c = c0; c < c1; c++) {
        o[(c - c0) * steps + t] = obs[base + c]!;
        s[(c - c0) * steps + t] = sim[base + c]!;
      }
    }
    for (let c = c0; c < c1; c++) {
      if (mask && !mask[c]) {
        out.rmse[c] = out.cc[c] = out.kge[c] = Number.NaN;
        continue;
      }
      const oc = o.subarray((c - c0) * steps, (c - c0 + 1) * steps);
      const sc = s.subarray((c - c0) * steps, (c - c0 + 1) * steps);
      const r = rmse(oc, sc);
      out.rmse[c] = r.value;
      out.cc[c] = only === 'all' ? cc(oc, sc).value : Number.NaN;
      out.kge[c] = only === 'all' ? kge(oc, sc).value : Number.NaN;
      out.n[c] = r.n;
    }
  }
  return out;
}

/** Relative RMSE change against the default-parameter run: Δ = (RMSE_default - RMSE_calibrated) / RMSE_default (Sun et al. 2024, eq. 7). */
export function rmseChange(rmseDefault: ArrayLike<number>, rmseCalibrated: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: rmseDefault.length }, (_, i) => {
    const d = rmseDefault[i]!;
    return d > 0 ? (d - rmseCalibrated[i]!) / d : Number.NaN;
  });
}

/** Spatial RMSE at each step over the active cells (the per-step term of Dembélé et al. 2020's bias-accounting objective). */
export function stepRmse(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  steps: number,
  cells: number,
  mask: Uint8Array | null = null,
): Float64Array {
  const out = new Float64Array(steps);
  for (let t = 0; t < steps; t++) {
    let e = 0;
    let n = 0;
    for (let c = 0; c < cells; c++) {
      if (mask && !mask[c]) continue;
      const o = obs[t * cells + c]!;
      const s = sim[t * cells + c]!;
      if (!Number.isFinite(o) || !Number.isFinite(s)) continue;
      e += (s - o) ** 2;
      n++;
    }
    out[t] = n ? Math.sqrt(e / n) : Number.NaN;
  }
  return out;
}

/**
 * Spatial pattern metrics on 2-D fields (row-major, rows x cols). Missing cells (NaN) are handled
 * as each definition's reference implementation does, stated per function.
 */

/** Percentile with linear interpolation between order statistics (numpy's default method). */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileSorted(sortedFinite(values), p);
}

/** The finite values, sorted ascending (a typed-array sort: numeric, fast). */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) out[n++] = values[i]!;
  return out.subarray(0, n).sort();
}

/**
 * Percentiles (numpy's linear method, as {@link percentile}) of the finite values, from the order
 * statistics they need (Hoare's selection, Hoare 1961) instead of a full sort: the same values.
 */
export function percentiles(values: ArrayLike<number>, ps: number[]): number[] {
  const v = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) v[n++] = values[i]!;
  if (n === 0) return ps.map(() => Number.NaN);
  const need = new Set<number>();
  for (const p of ps) {
    const pos = (p / 100) * (n - 1);
    need.add(Math.floor(pos));
    need.add(Math.min(Math.floor(pos) + 1, n - 1));
  }
  // select in increasing order: everything left of a selected rank is below it
  let from = 0;
  for (const k of [...need].sort((a, b) => a - b)) {
    select(v, from, n - 1, k);
    from = k;
  }
  return ps.map((p) => {
    const pos = (p / 100) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    return v[lo]! + (pos - lo) * (v[hi]! - v[lo]!);
  });
}

/** Moves the k-th smallest of v[left..right] to v[k], smaller ones before it, larger after (quickselect, median-of-three pivot). */
function select(v: Float64Array, left: number, right: number, k: number): void {
  while (right > left) {
    const mid = (left + right) >> 1;
    // median of three as pivot, kept at v[mid]
    if (v[mid]! < v[left]!) swap(v, mid, left);
    if (v[right]! < v[left]!) swap(v, right, left);
    if (v[right]! < v[mid]!) swap(v, right, mid);
    const pivot = v[mid]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (v[i]! < pivot) i++;
      while (v[j]! > pivot) j--;
      if (i <= j) {
        swap(v, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

function swap(v: Float64Array, i: number, j: number): void {
  const t = v[i]!;
  v[i] = v[j]!;
  v[j] = t;
}

/** Percentile of values already sorted by {@link sortedFinite}. */
export function percentileSorted(v: Float64Array, p: number): number {
  if (v.length === 0) return Number.NaN;
  const pos = (p / 100) * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo]! + (pos - lo) * (v[hi]! - v[lo]!);
}

/**
 * Box mean over a size x size window with zeros outside the field (scipy.ndimage.uniform_filter,
 * mode "constant", cval 0); for even sizes the window starts size/2 before the cell as scipy's
 * origin 0 does. Computed from a summed-area table: O(1) per cell whatever the window.
 */
export function boxFilter(x: Float64Array, rows: number, cols: number, size: number): Float64Array {
  if (size <= 1) return Float64Array.from(x);
  const w = cols + 1;
  const sat = new Float64Array((rows + 1) * w);
  for (let r = 0; r < rows; r++) {
    let run = 0;
    for (let c = 0; c < cols; c++) {
      run += x[r * cols + c]!;
      sat[(r + 1) * w + c + 1] = sat[r * w + c + 1]! + run;
    }
  }
  const before = Math.floor(size / 2);
  const area = size * size;
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const r0 = Math.max(0, r - before);
    const r1 = Math.min(rows, r - before + size);
    for (let c = 0; c < cols; c++) {
      const c0 = Math.max(0, c - before);
      const c1 = Math.min(cols, c - before + size);
      out[r * cols + c] =
        (sat[r1 * w + c1]! - sat[r0 * w + c1]! - sat[r1 * w + c0]! + sat[r0 * w + c0]!) / area;
    }
  }
  return out;
}

/**
 * Fractions skill score (Roberts & Lean 2008), as pysteps computes it: binary fields I = (X ≥ thr)
 * (missing cells count as below), neighbourhood fractions by a box mean of `scale` cells, then
 * FSS = 1 - Σ(Sf - So)² / (ΣSf² + ΣSo²). NaN when neither field reaches its threshold.
 */
export function fss(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  rows: number,
  cols: number,
  thrObs: number,
  thrSim: number,
  scale: number,
): number {
  return fssBinary(binary(obs, thrObs), binary(sim, thrSim), rows, cols, scale);
}

/** Exceedance field I = (X ≥ thr), missing cells as 0. */
export function binary(x: ArrayLike<number>, thr: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! >= thr ? 1 : 0;
  return out;
}

/** FSS of two exceedance fields at one window size (see {@link fss}). */
export function fssBinary(
  io: Float64Array,
  is: Float64Array,
  rows: number,
  cols: number,
  scale: number,
): number {
  const so = boxFilter(io, rows, cols, scale);
  const sf = boxFilter(is, rows, cols, scale);
  let num = 0;
  let den = 0;
  for (let i = 0; i < so.length; i++) {
    num += (sf[i]! - so[i]!) ** 2;
    den += sf[i]! ** 2 + so[i]! ** 2;
  }
  return den === 0 ? Number.NaN : 1 - num / den;
}

/** Summed-area table of a rows x cols field, (rows + 1) x (cols + 1) with a zero first row and column. */
function summedArea(x: Float64Array, rows: number, cols: number): Float64Array {
  const w = cols + 1;
  const sat = new Float64Array((rows + 1) * w);
  for (let r = 0; r < rows; r++) {
    let run = 0;
    for (let c = 0; c < cols; c++) {
      run += x[r * cols + c]!;
      sat[(r + 1) * w + c + 1] = sat[r * w + c + 1]! + run;
    }
  }
  return sat;
}

/**
 * {@link fssBinary} at several window sizes, each field's summed-area table built once: the same
 * box means as {@link boxFilter}, so the same values.
 */
export function fssBinaryScales(
  io: Float64Array,
  is: Float64Array,
  rows: number,
  cols: number,
  scales: number[],
): number[] {
  const to = summedArea(io, rows, cols);
  const ts = summedArea(is, rows, cols);
  const w = cols + 1;
  return scales.map((size) => {
    let num = 0;
    let den = 0;
    if (size <= 1) {
      for (let i = 0; i < io.length; i++) {
        num += (is[i]! - io[i]!) ** 2;
        den += is[i]! ** 2 + io[i]! ** 2;
      }
    } else {
      const before = Math.floor(size / 2);
      const area = size * size;
      for (let r = 0; r < rows; r++) {
        const r0 = Math.max(0, r - before) * w;
        const r1 = Math.min(rows, r - before + size) * w;
        for (let c = 0; c < cols; c++) {
          const c0 = Math.max(0, c - before);
          const c1 = Math.min(cols, c - before + size);
          const so = (to[r1 + c1]! - to[r0 + c1]! - to[r1 + c0]! + to[r0 + c0]!) / area;
          const sf = (ts[r1 + c1]! - ts[r0 + c1]! - ts[r1 + c0]! + ts[r0 + c0]!) / area;
          num += (sf - so) ** 2;
          den += sf ** 2 + so ** 2;
        }
      }
    }
    return den === 0 ? Number.NaN : 1 - num / den;
  });
}

/**
 * FSS at a percentile threshold: each field is thresholded at its own percentile, which removes
 * bias from the comparison (Roberts & Lean 2008, section 5).
 */
export function fssPercentile(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  rows: number,
  cols: number,
  pct: number,
  scale: number,
): number {
  return fss(obs, sim, rows, cols, percentile(obs, pct), percentile(sim, pct), scale);
}

/** 1-D Gaussian weights of scipy.ndimage.gaussian_filter1d: radius int(truncate σ + 0.5), normalised. */
export function gaussianKernel(sigma: number, truncate = 3.5): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const w = new Float64Array(2 * radius + 1);
  let t = 0;
  for (let i = -radius; i <= radius; i++) {
    w[i + radius] = Math.exp((-0.5 * i * i) / (sigma * sigma));
    t += w[i + radius]!;
  }
  for (let i = 0; i < w.length; i++) w[i]! /= t;
  return w;
}

/** scipy's "reflect" boundary (d c b a | a b c d | d c b a). */
function reflect(i: number, n: number): number {
  const period = 2 * n;
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - 1 - k;
  return k;
}

/**
 * Separable Gaussian smoothing with reflected edges (skimage.filters.gaussian, mode "reflect"). The
 * reflected indices come from a table and both passes run along rows, tap by tap; every output
 * still sums its taps in kernel order from 0, so the values are those of a per-cell loop.
 */
export function gaussianFilter(x: Float64Array, rows: number, cols: number, sigma: number): Float64Array {
  const w = gaussianKernel(sigma);
  const taps = w.length;
  const rad = (taps - 1) / 2;
  const cmap = Int32Array.from({ length: cols + 2 * rad }, (_, i) => reflect(i - rad, cols));
  const rmap = Int32Array.from({ length: rows + 2 * rad }, (_, i) => reflect(i - rad, rows));
  const tmp = new Float64Array(x.length);
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let k = 0; k < taps; k++) {
      const wk = w[k]!;
      const sh = k - rad;
      // cells whose tap k falls inside the row read it directly, the rest through the table
      const lo = Math.min(cols, Math.max(0, -sh));
      const hi = Math.max(lo, Math.min(cols, cols - sh));
      for (let c = 0; c < lo; c++) tmp[o + c]! += wk * x[o + cmap[c + k]!]!;
      for (let c = lo; c < hi; c++) tmp[o + c]! += wk * x[o + c + sh]!;
      for (let c = hi; c < cols; c++) tmp[o + c]! += wk * x[o + cmap[c + k]!]!;
    }
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let k = 0; k < taps; k++) {
      const wk = w[k]!;
      const src = rmap[r + k]! * cols;
      for (let c = 0; c < cols; c++) out[o + c]! += wk * tmp[src + c]!;
    }
  }
  return out;
}

export interface SsimOptions {
  /** Range of the data (max - min of the observations, as usually chosen). */
  dataRange: number;
  sigma?: number;
  /** Only sets the border cropped from the mean, (winSize - 1) / 2 cells, as in scikit-image. */
  winSize?: number;
  /** Scale covariances by NP/(NP - 1), NP = winSize² (scikit-image's default); off by default, as in Wang et al. 2004. */
  sampleCovariance?: boolean;
}

/**
 * Mean structural similarity (Wang et al. 2004) with Gaussian weights, as scikit-image's
 * structural_similarity(gaussian_weights=True) computes it: local means, variances and covariance
 * by Gaussian smoothing, C1 = (0.01 L)², C2 = (0.03 L)², the SSIM map averaged after cropping
 * (winSize - 1)/2 cells at each edge. Fields must be complete (fill or mask missing cells first).
 */
export function ssim(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  rows: number,
  cols: number,
  opts: SsimOptions,
): number {
  const sigma = opts.sigma ?? 1.5;
  const win = opts.winSize ?? 2 * Math.floor(3.5 * sigma + 0.5) + 1;
  const np = win * win;
  const covNorm = (opts.sampleCovariance ?? false) ? np / (np - 1) : 1;
  const x = Float64Array.from(obs);
  const y = Float64Array.from(sim);
  const n = rows * cols;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const [ux, uy, uxx, uyy, uxy] = [x, y, xx, yy, xy].map((a) => gaussianFilter(a, rows, cols, sigma)) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const c1 = (0.01 * opts.dataRange) ** 2;
  const c2 = (0.03 * opts.dataRange) ** 2;
  const pad = (win - 1) / 2;
  let t = 0;
  let k = 0;
  for (let r = pad; r < rows - pad; r++) {
    for (let c = pad; c < cols - pad; c++) {
      const i = r * cols + c;
      const vx = covNorm * (uxx[i]! - ux[i]! * ux[i]!);
      const vy = covNorm * (uyy[i]! - uy[i]! * uy[i]!);
      const vxy = covNorm * (uxy[i]! - ux[i]! * uy[i]!);
      t +=
        ((2 * ux[i]! * uy[i]! + c1) * (2 * vxy + c2)) / ((ux[i]! ** 2 + uy[i]! ** 2 + c1) * (vx + vy + c2));
      k++;
    }
  }
  return k === 0 ? Number.NaN : t / k;
}

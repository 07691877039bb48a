import { gaussianFilter } from '../../metrics/spatial';

/** Zero mean, unit variance (population standard deviation; a constant field stays centred). */
export function standardise(f: Float64Array): Float64Array {
  const n = f.length;
  const mean = f.reduce((a, b) => a + b, 0) / n;
  let v = 0;
  for (const x of f) v += (x - mean) ** 2;
  const sd = Math.sqrt(v / n) || 1;
  return Float64Array.from(f, (x) => (x - mean) / sd);
}

/** A standardised, spatially correlated Gaussian field (white noise smoothed at `sigma` cells). */
export function correlatedField(
  rows: number,
  cols: number,
  sigma: number,
  gauss: () => number,
): Float64Array {
  const white = Float64Array.from({ length: rows * cols }, gauss);
  const f = gaussianFilter(white, rows, cols, sigma);
  return standardise(f);
}

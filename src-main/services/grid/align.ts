import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { transformer } from '../rasters/crs';

export type ResampleMethod = 'nearest' | 'bilinear' | 'average';

/** Values of a source raster on a target grid, and how they got there. */
export interface Aligned {
  values: Float64Array;
  method: ResampleMethod;
  reprojected: boolean;
}

/** The default method: area-weighted average when the target cells are coarser, nearest otherwise. */
export function defaultMethod(src: Grid, dst: Grid): ResampleMethod {
  return dst.dx * dst.dy > src.dx * src.dy * 1.000001 ? 'average' : 'nearest';
}

/**
 * Resamples a field (NaN = missing) from its grid onto a model grid, reprojecting with proj4 when
 * the CRSs differ. Nearest and bilinear (renormalised over valid neighbours, as GDAL does with
 * nodata) sample at target cell centres; average is the exact area-weighted mean of overlapping
 * source cells in the same CRS, and the mean over a sub-sampling of each target cell otherwise.
 */
export function alignToGrid(
  src: Grid,
  values: ArrayLike<number>,
  dst: Grid,
  method: ResampleMethod = defaultMethod(src, dst),
): Aligned {
  if (values.length !== src.rows * src.cols) {
    throw new FieldcalError('VALIDATION', `${values.length} values for a ${src.cols} x ${src.rows} grid`, {
      field: 'values',
    });
  }
  if (!src.crs || !dst.crs) {
    if (src.crs !== dst.crs)
      throw new FieldcalError('VALIDATION', 'Cannot align: one grid has no CRS; set the project CRS', {
        field: 'crs',
      });
  }
  const same = (src.crs ?? '') === (dst.crs ?? '');
  const toSrc = same ? null : transformer(dst.crs!, src.crs!);
  const out = new Float64Array(dst.rows * dst.cols).fill(Number.NaN);
  const at = (r: number, c: number) =>
    r >= 0 && r < src.rows && c >= 0 && c < src.cols ? values[r * src.cols + c]! : Number.NaN;
  const nearest = (x: number, y: number) =>
    at(Math.floor((src.y0 - y) / src.dy), Math.floor((x - src.x0) / src.dx));

  for (let r = 0; r < dst.rows; r++) {
    for (let c = 0; c < dst.cols; c++) {
      const i = r * dst.cols + c;
      if (dst.mask && !dst.mask[i]) continue;
      const cx = dst.x0 + (c + 0.5) * dst.dx;
      const cy = dst.y0 - (r + 0.5) * dst.dy;
      if (method === 'average') {
        out[i] = same
          ? overlapMean(src, at, dst.x0 + c * dst.dx, dst.y0 - r * dst.dy, dst.dx, dst.dy)
          : sampledMean(src, nearest, toSrc!, dst, r, c);
        continue;
      }
      const [x, y] = toSrc ? toSrc(cx, cy) : [cx, cy];
      if (method === 'nearest') {
        out[i] = nearest(x, y);
        continue;
      }
      // bilinear between the four surrounding source cell centres
      const fc = (x - src.x0) / src.dx - 0.5;
      const fr = (src.y0 - y) / src.dy - 0.5;
      const c0 = Math.floor(fc);
      const r0 = Math.floor(fr);
      const wx = fc - c0;
      const wy = fr - r0;
      let sum = 0;
      let wsum = 0;
      for (const [dr, dc, w] of [
        [0, 0, (1 - wx) * (1 - wy)],
        [0, 1, wx * (1 - wy)],
        [1, 0, (1 - wx) * wy],
        [1, 1, wx * wy],
      ] as const) {
        const v = at(r0 + dr, c0 + dc);
        if (w > 0 && !Number.isNaN(v)) {
          sum += w * v;
          wsum += w;
        }
      }
      out[i] = wsum > 0 ? sum / wsum : Number.NaN;
    }
  }
  return { values: out, method, reprojected: !same };
}

/** Exact area-weighted mean over source cells overlapping the rectangle (left, top, w, h). */
function overlapMean(
  src: Grid,
  at: (r: number, c: number) => number,
  left: number,
  top: number,
  w: number,
  h: number,
): number {
  const c0 = Math.floor((left - src.x0) / src.dx);
  const c1 = Math.ceil((left + w - src.x0) / src.dx) - 1;
  const r0 = Math.floor((src.y0 - top) / src.dy);
  const r1 = Math.ceil((src.y0 - (top - h)) / src.dy) - 1;
  let sum = 0;
  let wsum = 0;
  for (let r = r0; r <= r1; r++) {
    const oy = Math.min(top, src.y0 - r * src.dy) - Math.max(top - h, src.y0 - (r + 1) * src.dy);
    if (oy <= 0) continue;
    for (let c = c0; c <= c1; c++) {
      const ox = Math.min(left + w, src.x0 + (c + 1) * src.dx) - Math.max(left, src.x0 + c * src.dx);
      const v = at(r, c);
      if (ox <= 0 || Number.isNaN(v)) continue;
      sum += ox * oy * v;
      wsum += ox * oy;
    }
  }
  return wsum > 0 ? sum / wsum : Number.NaN;
}

/** Mean of nearest source values at n x n points spread over a target cell (reprojected case). */
function sampledMean(
  src: Grid,
  nearest: (x: number, y: number) => number,
  toSrc: (x: number, y: number) => [number, number],
  dst: Grid,
  r: number,
  c: number,
): number {
  const n = 8;
  let sum = 0;
  let k = 0;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const [x, y] = toSrc(dst.x0 + (c + (b + 0.5) / n) * dst.dx, dst.y0 - (r + (a + 0.5) / n) * dst.dy);
      const v = nearest(x, y);
      if (!Number.isNaN(v)) {
        sum += v;
        k++;
      }
    }
  }
  return k > 0 ? sum / k : Number.NaN;
}

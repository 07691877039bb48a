import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { transformer } from '../rasters/crs';
import type { CurvilinearGeometry } from '../rasters/stack';

export type { CurvilinearGeometry };

/** How a curvilinear field lands on a regular grid: the source cell of each target cell, or -1. */
export interface CurvilinearPlan {
  target: Grid;
  method: 'nearest';
  /** For target cell i (row-major, north row first): the source cell index, -1 when none is near enough. */
  source: Int32Array;
  /** Target cells that received a source cell. */
  covered: number;
}

/** Options: `maxDistance` in target-CRS units overrides the per-cell limit of `distanceFactor` × the source's local spacing. */
export interface CurvilinearOptions {
  maxDistance?: number;
  /** Default 0.75: a target cell centre more than 0.75 local source spacings from every source centre gets no value. */
  distanceFactor?: number;
}

function median(v: number[]): number {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
}

/**
 * Plans nearest-neighbour resampling of a curvilinear field onto a regular grid in any CRS: the source
 * cell centres are projected into the target CRS (proj4), put in a uniform bucket index, and each
 * target cell centre takes the value of the nearest source centre (Euclidean distance in the target
 * CRS) when it lies within the source's local spacing × `distanceFactor` (the largest distance to its
 * four neighbours; 0.75 covers the half diagonal, 0.707, of a square cell). Outside: no value (NaN).
 * Plan once per source and grid, then `applyCurvilinear` each step.
 */
export function planCurvilinear(
  src: CurvilinearGeometry,
  target: Grid,
  opts: CurvilinearOptions = {},
): CurvilinearPlan {
  const { rows, cols, lat, lon } = src;
  const n = rows * cols;
  if (!(rows >= 1 && cols >= 1 && lat.length === n && lon.length === n))
    throw new FieldcalError(
      'VALIDATION',
      `curvilinear coordinates hold ${lat.length} latitudes and ${lon.length} longitudes for ${rows} x ${cols} cells`,
      { rows, cols },
    );
  if (!target.crs)
    throw new FieldcalError('VALIDATION', 'the model grid has no CRS to place a curvilinear field on', {
      field: 'crs',
    });
  if (!(target.rows >= 1 && target.cols >= 1 && target.dx > 0 && target.dy > 0))
    throw new FieldcalError('VALIDATION', 'the model grid is empty or has a non-positive cell size', {
      field: 'grid',
    });
  const geographicTarget = /^EPSG:4326$/i.test(target.crs.trim());
  const fwd = transformer('EPSG:4326', target.crs);
  // longitudes 0..360 are brought next to a geographic target's longitudes
  const midLon = target.x0 + (target.cols * target.dx) / 2;
  const px = new Float64Array(n).fill(Number.NaN);
  const py = new Float64Array(n).fill(Number.NaN);
  for (let k = 0; k < n; k++) {
    let lo = lon[k]!;
    const la = lat[k]!;
    if (!(Number.isFinite(lo) && Number.isFinite(la) && Math.abs(la) <= 90)) continue;
    lo = ((((lo + 180) % 360) + 360) % 360) - 180;
    if (geographicTarget) {
      while (lo - midLon > 180) lo -= 360;
      while (midLon - lo > 180) lo += 360;
      px[k] = lo;
      py[k] = la;
      continue;
    }
    try {
      const [x, y] = fwd(lo, la);
      if (Number.isFinite(x) && Number.isFinite(y)) {
        px[k] = x;
        py[k] = y;
      }
    } catch {
      // a point the projection cannot reach has no position
    }
  }
  // each source cell's reach: distanceFactor × the largest distance to its row and column neighbours
  const factor = opts.distanceFactor ?? 0.75;
  const reach = new Float64Array(n).fill(Number.NaN);
  const spacings: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c;
      if (Number.isNaN(px[k]!)) continue;
      let far = 0;
      for (const [dr, dc] of [
        [0, 1],
        [0, -1],
        [1, 0],
        [-1, 0],
      ] as const) {
        const rr = r + dr;
        const cc = c + dc;
        if (rr < 0 || rr >= rows || cc < 0 || cc >= cols) continue;
        const j = rr * cols + cc;
        const d = Math.hypot(px[j]! - px[k]!, py[j]! - py[k]!);
        if (Number.isFinite(d)) far = Math.max(far, d);
      }
      if (far > 0) {
        reach[k] = opts.maxDistance ?? factor * far;
        if (spacings.length < 4096 || k % 97 === 0) spacings.push(far);
      } else if (opts.maxDistance !== undefined) reach[k] = opts.maxDistance;
    }
  }
  const source = new Int32Array(target.rows * target.cols).fill(-1);
  let maxReach = 0;
  for (const v of reach) if (v > maxReach) maxReach = v;
  const valid: number[] = [];
  for (let k = 0; k < n; k++) if (reach[k]! > 0) valid.push(k);
  if (valid.length === 0 || !(maxReach > 0)) return { target, method: 'nearest', source, covered: 0 };
  // uniform buckets of about one source spacing
  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const k of valid) {
    xmin = Math.min(xmin, px[k]!);
    xmax = Math.max(xmax, px[k]!);
    ymin = Math.min(ymin, py[k]!);
    ymax = Math.max(ymax, py[k]!);
  }
  const spacing = median(spacings);
  let bin = Number.isFinite(spacing) && spacing > 0 ? spacing : maxReach;
  // no more buckets than about 4 per point
  const area = Math.max(xmax - xmin, bin) * Math.max(ymax - ymin, bin);
  if (area / (bin * bin) > 4 * valid.length) bin = Math.sqrt(area / (4 * valid.length));
  const nbx = Math.max(1, Math.ceil((xmax - xmin) / bin) + 1);
  const nby = Math.max(1, Math.ceil((ymax - ymin) / bin) + 1);
  const bucketOf = (x: number, y: number) =>
    Math.min(nby - 1, Math.floor((y - ymin) / bin)) * nbx + Math.min(nbx - 1, Math.floor((x - xmin) / bin));
  const start = new Int32Array(nbx * nby + 1);
  for (const k of valid) start[bucketOf(px[k]!, py[k]!) + 1]!++;
  for (let i = 0; i < nbx * nby; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, nbx * nby);
  const members = new Int32Array(valid.length);
  for (const k of valid) members[fill[bucketOf(px[k]!, py[k]!)]!++] = k;
  const rings = Math.ceil(maxReach / bin) + 1;
  let covered = 0;
  for (let r = 0; r < target.rows; r++) {
    const y = target.y0 - (r + 0.5) * target.dy;
    const by = Math.floor((y - ymin) / bin);
    if (by < -rings || by >= nby + rings) continue;
    for (let c = 0; c < target.cols; c++) {
      const x = target.x0 + (c + 0.5) * target.dx;
      const bx = Math.floor((x - xmin) / bin);
      if (bx < -rings || bx >= nbx + rings) continue;
      let best = -1;
      let bestD = Infinity;
      for (let ring = 0; ring <= rings; ring++) {
        // every point of ring `ring` is at least (ring - 1) * bin away
        if ((ring - 1) * bin > Math.min(bestD, maxReach)) break;
        for (let j = by - ring; j <= by + ring; j++) {
          if (j < 0 || j >= nby) continue;
          const edge = j === by - ring || j === by + ring;
          for (let i = bx - ring; i <= bx + ring; i += edge ? 1 : 2 * ring || 1) {
            if (i < 0 || i >= nbx) continue;
            const b = j * nbx + i;
            for (let m = start[b]!; m < start[b + 1]!; m++) {
              const k = members[m]!;
              const d = Math.hypot(px[k]! - x, py[k]! - y);
              // ties go to the lower source index, whatever the bucket order
              if (d < bestD || (d === bestD && k < best)) {
                bestD = d;
                best = k;
              }
            }
          }
        }
      }
      if (best >= 0 && bestD <= reach[best]!) {
        source[r * target.cols + c] = best;
        covered++;
      }
    }
  }
  return { target, method: 'nearest', source, covered };
}

/** One step of a curvilinear field on the plan's regular grid (NaN where no source cell is near enough). */
export function applyCurvilinear(plan: CurvilinearPlan, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(plan.source.length);
  for (let i = 0; i < out.length; i++) {
    const k = plan.source[i]!;
    out[i] = k >= 0 ? values[k]! : Number.NaN;
  }
  return out;
}

/** `planCurvilinear` then `applyCurvilinear` for a single field. */
export function resampleCurvilinear(
  src: CurvilinearGeometry,
  values: ArrayLike<number>,
  target: Grid,
  opts: CurvilinearOptions = {},
): Float64Array {
  if (values.length !== src.rows * src.cols)
    throw new FieldcalError(
      'VALIDATION',
      `a curvilinear field of ${values.length} values for ${src.rows} x ${src.cols} cells`,
      { rows: src.rows, cols: src.cols },
    );
  return applyCurvilinear(planCurvilinear(src, target, opts), values);
}

import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { flowAccumulation, upstreamMask, type FlowDirections } from './flowdir';

/** A gauge to place on the flow network: position in the grid's CRS and declared drained area. */
export interface GaugeSite {
  code: string;
  x: number;
  y: number;
  areaKm2: number | null;
}

/** Where a gauge landed: its cell, the drained area there and how far it moved. */
export interface SnappedGauge extends GaugeSite {
  row: number;
  col: number;
  drainedKm2: number;
  areaError: number | null;
  movedCells: number;
}

/** Cell area in km² of a projected grid in metres. */
export const cellAreaKm2 = (g: Grid): number => (g.dx * g.dy) / 1e6;

/**
 * Snaps each gauge to the cell, within `radiusCells` of its position, whose drained area best
 * matches the declared area (as in smash's mesh generation: least relative area error,
 * then least distance). Without a declared area the cell of largest accumulation is taken.
 */
export function snapGauges(
  f: FlowDirections,
  acc: Float64Array,
  gauges: GaugeSite[],
  radiusCells = 2,
): SnappedGauge[] {
  const g = f.grid;
  const ca = cellAreaKm2(g);
  return gauges.map((s) => {
    const c0 = Math.floor((s.x - g.x0) / g.dx);
    const r0 = Math.floor((g.y0 - s.y) / g.dy);
    if (r0 < 0 || r0 >= g.rows || c0 < 0 || c0 >= g.cols) {
      throw new FieldcalError(
        'VALIDATION',
        `Gauge ${s.code} at (${s.x}, ${s.y}) is outside the flow-direction grid`,
        { gauge: s.code, x: s.x, y: s.y },
      );
    }
    let best: SnappedGauge | null = null;
    let bestScore = Infinity;
    let bestDist = Infinity;
    for (let r = r0 - radiusCells; r <= r0 + radiusCells; r++) {
      for (let c = c0 - radiusCells; c <= c0 + radiusCells; c++) {
        if (r < 0 || r >= g.rows || c < 0 || c >= g.cols) continue;
        const i = r * g.cols + c;
        if (f.dir[i]! < 0 && acc[i]! <= 1) continue;
        const drained = acc[i]! * ca;
        const score = s.areaKm2 ? Math.abs(drained - s.areaKm2) / s.areaKm2 : -drained;
        const dist = Math.hypot(r - r0, c - c0);
        if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && dist < bestDist)) {
          bestScore = score;
          bestDist = dist;
          best = {
            ...s,
            row: r,
            col: c,
            drainedKm2: drained,
            areaError: s.areaKm2 ? score : null,
            movedCells: dist,
          };
        }
      }
    }
    if (!best) throw new FieldcalError('VALIDATION', `No flow cell near gauge ${s.code}`, { gauge: s.code });
    return best;
  });
}

/** The model grid of a catchment: cropped to the cells upstream of the outlet gauges, with its mask. */
export interface Catchment {
  grid: Grid;
  /** Gauges with row/col on the cropped grid. */
  gauges: SnappedGauge[];
  /** Flow directions on the cropped grid (index 0..7, -1 outside). */
  dir: Int8Array;
  cells: number;
}

/**
 * Delineates the catchment draining to the given gauges on a D8 network and crops the grid to it.
 * Every gauge is snapped first; the mask is the union of the cells upstream of each.
 */
export function delineateCatchment(f: FlowDirections, gauges: GaugeSite[], radiusCells = 2): Catchment {
  const acc = flowAccumulation(f);
  const snapped = snapGauges(f, acc, gauges, radiusCells);
  const g = f.grid;
  const union = new Uint8Array(g.rows * g.cols);
  for (const s of snapped) {
    const m = upstreamMask(f, s.row * g.cols + s.col);
    for (let i = 0; i < m.length; i++) union[i] = union[i]! | m[i]!;
  }
  let rMin = g.rows,
    rMax = -1,
    cMin = g.cols,
    cMax = -1;
  for (let i = 0; i < union.length; i++) {
    if (!union[i]) continue;
    const r = Math.floor(i / g.cols),
      c = i % g.cols;
    rMin = Math.min(rMin, r);
    rMax = Math.max(rMax, r);
    cMin = Math.min(cMin, c);
    cMax = Math.max(cMax, c);
  }
  const rows = rMax - rMin + 1;
  const cols = cMax - cMin + 1;
  const mask = new Uint8Array(rows * cols);
  const dir = new Int8Array(rows * cols).fill(-1);
  let cells = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const src = (r + rMin) * g.cols + (c + cMin);
      if (union[src]) {
        mask[r * cols + c] = 1;
        dir[r * cols + c] = f.dir[src]!;
        cells++;
      }
    }
  }
  return {
    grid: {
      crs: g.crs,
      x0: g.x0 + cMin * g.dx,
      y0: g.y0 - rMin * g.dy,
      dx: g.dx,
      dy: g.dy,
      rows,
      cols,
      mask,
    },
    gauges: snapped.map((s) => ({ ...s, row: s.row - rMin, col: s.col - cMin })),
    dir,
    cells,
  };
}

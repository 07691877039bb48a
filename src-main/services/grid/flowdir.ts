import { FieldcalError, type Grid } from '../../../src-shared/ipc';

/** Neighbour offsets [dRow, dCol] for direction index 0..7 = N, NE, E, SE, S, SW, W, NW. */
export const D8_OFFSETS: ReadonlyArray<readonly [number, number]> = [
  [-1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
  [1, 0],
  [1, -1],
  [0, -1],
  [-1, -1],
];

/** D8 code conventions: smash 1..8 clockwise from north; ESRI powers of two clockwise from east. */
export type D8Convention = 'smash' | 'esri';
const ESRI_TO_INDEX = new Map([
  [64, 0],
  [128, 1],
  [1, 2],
  [2, 3],
  [4, 4],
  [8, 5],
  [16, 6],
  [32, 7],
]);

/** Flow directions decoded to indices 0..7 (-1: no direction, i.e. nodata, sink or unknown code). */
export interface FlowDirections {
  grid: Grid;
  dir: Int8Array;
  convention: D8Convention;
}

/**
 * Decodes a D8 raster. `auto` picks ESRI when any code above 8 appears (smash codes stop at 8).
 * Unknown codes are reported, not silently dropped.
 */
export function decodeD8(
  grid: Grid,
  raw: ArrayLike<number>,
  convention: D8Convention | 'auto' = 'auto',
  source = 'flow directions',
): FlowDirections {
  let conv: D8Convention = convention === 'auto' ? 'smash' : convention;
  if (convention === 'auto') {
    for (let i = 0; i < raw.length; i++)
      if (raw[i]! > 8 && ESRI_TO_INDEX.has(raw[i]!)) {
        conv = 'esri';
        break;
      }
  }
  const dir = new Int8Array(raw.length).fill(-1);
  let unknown = 0;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    if (Number.isNaN(v) || v <= 0) continue;
    const d =
      conv === 'smash' ? (Number.isInteger(v) && v >= 1 && v <= 8 ? v - 1 : undefined) : ESRI_TO_INDEX.get(v);
    if (d === undefined) unknown++;
    else dir[i] = d;
  }
  if (unknown > 0.01 * raw.length) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${source}: ${unknown} cells hold codes that are not ${conv} D8 directions`,
      { file: source, convention: conv, unknown },
    );
  }
  return { grid, dir, convention: conv };
}

/** Index of the cell a cell drains to, or -1 at the edge, a sink or nodata. */
export function downstream(f: FlowDirections, i: number): number {
  const d = f.dir[i]!;
  if (d < 0) return -1;
  const { rows, cols } = f.grid;
  const r = Math.floor(i / cols) + D8_OFFSETS[d]![0];
  const c = (i % cols) + D8_OFFSETS[d]![1];
  return r >= 0 && r < rows && c >= 0 && c < cols ? r * cols + c : -1;
}

/**
 * Flow accumulation: number of cells draining through each cell, itself included (O'Callaghan &
 * Mark 1984), by a topological pass from the ridges. Cells on a loop are reported.
 */
export function flowAccumulation(f: FlowDirections): Float64Array {
  const n = f.dir.length;
  const down = new Int32Array(n);
  const indeg = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    down[i] = downstream(f, i);
    if (down[i]! >= 0) indeg[down[i]!]!++;
  }
  const acc = new Float64Array(n).fill(1);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue[tail++] = i;
  while (head < tail) {
    const i = queue[head++]!;
    const j = down[i]!;
    if (j < 0) continue;
    acc[j]! += acc[i]!;
    if (--indeg[j]! === 0) queue[tail++] = j;
  }
  if (tail < n) {
    throw new FieldcalError(
      'INVALID_FILE',
      `Flow directions contain loops (${n - tail} cells never drain out)`,
      { cellsInLoops: n - tail },
    );
  }
  return acc;
}

/** Mask of the cells draining to `outlet` (outlet included). */
export function upstreamMask(f: FlowDirections, outlet: number): Uint8Array {
  const n = f.dir.length;
  const { cols } = f.grid;
  const mask = new Uint8Array(n);
  const stack = [outlet];
  mask[outlet] = 1;
  while (stack.length) {
    const i = stack.pop()!;
    const r = Math.floor(i / cols);
    const c = i % cols;
    for (let d = 0; d < 8; d++) {
      const rr = r - D8_OFFSETS[d]![0];
      const cc = c - D8_OFFSETS[d]![1];
      if (rr < 0 || rr >= f.grid.rows || cc < 0 || cc >= cols) continue;
      const j = rr * cols + cc;
      // the neighbour in the opposite direction flows into i when its direction is d
      if (!mask[j] && f.dir[j] === d) {
        mask[j] = 1;
        stack.push(j);
      }
    }
  }
  return mask;
}

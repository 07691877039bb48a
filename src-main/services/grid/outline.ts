import { FieldcalError, type Grid } from '../../../src-shared/ipc';

type Position = [number, number];

/** A GeoJSON Polygon or MultiPolygon (RFC 7946: outer rings counter-clockwise, holes clockwise). */
export type OutlineGeometry =
  { type: 'Polygon'; coordinates: Position[][] } | { type: 'MultiPolygon'; coordinates: Position[][][] };

// Directions on the lattice of cell corners, as [dCol, dRow] (rows grow downwards).
const DIRS: ReadonlyArray<readonly [number, number]> = [
  [1, 0], // east
  [0, -1], // north
  [-1, 0], // west
  [0, 1], // south
];
const dirIndex = (dc: number, dr: number) => DIRS.findIndex(([c, r]) => c === dc && r === dr);

/** Twice the signed area of a lattice ring with y up (shoelace formula); > 0 counter-clockwise. */
function signedArea2(ring: Array<[number, number]>): number {
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [c0, r0] = ring[i]!;
    const [c1, r1] = ring[i + 1]!;
    s += c0 * -r1 - c1 * -r0;
  }
  return s;
}

/** Even-odd test of a point (col, row) against one lattice ring. */
function insideRing(c: number, r: number, ring: Array<[number, number]>): boolean {
  let odd = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [ci, ri] = ring[i]!;
    const [cj, rj] = ring[j]!;
    if (ri > r !== rj > r && c < ((cj - ci) * (r - ri)) / (rj - ri) + ci) odd = !odd;
  }
  return odd;
}

/**
 * The outline of the cells of a mask as a GeoJSON polygon in the grid's CRS: the union of the
 * cells, traced along their edges. Every boundary edge is directed with the inside on its left,
 * edges are chained into closed rings (at a corner where two cells touch only diagonally the
 * tightest left turn is taken, so such cells give separate rings that touch at a point), collinear
 * corners are dropped, counter-clockwise rings are outer rings and clockwise rings are holes, each
 * hole given to the smallest outer ring around it. A cell's centre is inside the result exactly
 * when the cell is in the mask.
 */
export function maskOutline(grid: Grid, mask: ArrayLike<number>): OutlineGeometry {
  const { rows, cols } = grid;
  if (mask.length !== rows * cols)
    throw new FieldcalError('VALIDATION', `${mask.length} mask values for a ${cols} x ${rows} grid`, {
      field: 'mask',
    });
  const on = (r: number, c: number) => r >= 0 && r < rows && c >= 0 && c < cols && mask[r * cols + c]! > 0;
  const W = cols + 1;
  // outgoing boundary edges per corner: bit k set = an edge leaves towards DIRS[k]
  const out = new Uint8Array((rows + 1) * W);
  let edges = 0;
  const add = (c: number, r: number, d: number) => {
    out[r * W + c]! |= 1 << d;
    edges++;
  };
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!on(r, c)) continue;
      if (!on(r + 1, c)) add(c, r + 1, 0); // bottom edge, eastwards
      if (!on(r, c + 1)) add(c + 1, r + 1, 1); // right edge, northwards
      if (!on(r - 1, c)) add(c + 1, r, 2); // top edge, westwards
      if (!on(r, c - 1)) add(c, r, 3); // left edge, southwards
    }
  }
  if (edges === 0)
    throw new FieldcalError('VALIDATION', 'The mask holds no cell to outline', { field: 'mask' });

  const rings: Array<Array<[number, number]>> = [];
  for (let start = 0; start < out.length; start++) {
    while (out[start]) {
      const c0 = start % W;
      const r0 = Math.floor(start / W);
      const d0 = Math.log2(out[start]! & -out[start]!);
      let d = d0;
      const ring: Array<[number, number]> = [[c0, r0]];
      let c = c0;
      let r = r0;
      for (;;) {
        out[r * W + c]! &= ~(1 << d);
        c += DIRS[d]![0];
        r += DIRS[d]![1];
        ring.push([c, r]);
        const atStart = c === c0 && r === r0;
        // the first edge counts as free at the start corner: the ring closes when the rule picks it
        const here = out[r * W + c]! | (atStart ? 1 << d0 : 0);
        // left turn first, then straight on, then right (never back)
        const [dc, dr] = DIRS[d]!;
        const next = [dirIndex(dr, -dc), d, dirIndex(-dr, dc)].find((k) => here & (1 << k));
        if (next === undefined)
          throw new FieldcalError('INTERNAL', `Outline tracing lost its way at corner (${c}, ${r})`, {
            col: c,
            row: r,
          });
        if (atStart && next === d0) break;
        d = next;
      }
      rings.push(simplify(ring));
    }
  }

  const outers = rings.filter((ring) => signedArea2(ring) > 0);
  const holes = rings.filter((ring) => signedArea2(ring) < 0);
  const polys: Array<Array<Array<[number, number]>>> = outers.map((o) => [o]);
  const areas = outers.map((o) => signedArea2(o));
  for (const h of holes) {
    // the cell on the right of the hole's first edge is outside the mask, inside the hole
    const [c0, r0] = h[0]!;
    const [c1, r1] = h[1]!;
    const dc = Math.sign(c1 - c0);
    const dr = Math.sign(r1 - r0);
    // right of direction (dc, dr) with y up is (dr, -dc) in [col, row]; the cell centre half a step in
    const pc = c0 + dc * 0.5 + -dr * 0.5;
    const pr = r0 + dr * 0.5 + dc * 0.5;
    let best = -1;
    for (let k = 0; k < outers.length; k++) {
      if (insideRing(pc, pr, outers[k]!) && (best < 0 || areas[k]! < areas[best]!)) best = k;
    }
    if (best < 0)
      throw new FieldcalError('INTERNAL', 'Outline tracing found a hole outside every outer ring', {});
    polys[best]!.push(h);
  }
  const toXY = ([c, r]: [number, number]): Position => [grid.x0 + c * grid.dx, grid.y0 - r * grid.dy];
  const coords = polys.map((p) => p.map((ring) => ring.map(toXY)));
  return coords.length === 1
    ? { type: 'Polygon', coordinates: coords[0]! }
    : { type: 'MultiPolygon', coordinates: coords };
}

/** Drops the corners where a closed ring goes straight on; the ring stays closed. */
function simplify(ring: Array<[number, number]>): Array<[number, number]> {
  const pts = ring.slice(0, -1);
  const n = pts.length;
  const keep = pts.filter((p, i) => {
    const a = pts[(i - 1 + n) % n]!;
    const b = pts[(i + 1) % n]!;
    return (p[0] - a[0]) * (b[1] - p[1]) - (p[1] - a[1]) * (b[0] - p[0]) !== 0;
  });
  return [...keep, keep[0]!];
}

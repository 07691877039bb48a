import { describe, expect, it } from 'vitest';
import { maskOutline } from '../../../../src-main/services/grid/outline';
import { cellsInside } from '../../../../src-main/services/grid/studyArea';
import type { Grid } from '../../../../src-shared/ipc';

const grid = (rows: number, cols: number): Grid => ({
  crs: 'EPSG:2154',
  x0: 700000,
  y0: 6300000,
  dx: 1000,
  dy: 500,
  rows,
  cols,
  mask: null,
});

/** Twice the signed area of a ring, counter-clockwise positive (shoelace formula). */
const area2 = (ring: number[][]) =>
  ring.slice(0, -1).reduce((s, [x0, y0], i) => s + x0! * ring[i + 1]![1]! - ring[i + 1]![0]! * y0!, 0);

/** A seeded linear congruential generator (Numerical Recipes constants). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('mask outline', () => {
  it('traces a square with a hole as one polygon: outer ring counter-clockwise, hole clockwise', () => {
    const g = grid(3, 3);
    const o = maskOutline(g, [1, 1, 1, 1, 0, 1, 1, 1, 1]);
    expect(o.type).toBe('Polygon');
    const rings = o.coordinates as number[][][];
    expect(rings).toHaveLength(2);
    // outer: the 3 km x 1.5 km box, 4 corners + closing point; hole: the middle cell
    expect(rings[0]).toHaveLength(5);
    expect(area2(rings[0]!) / 2).toBe(3000 * 1500);
    expect(area2(rings[1]!) / 2).toBe(-1000 * 500);
    for (const r of rings) expect(r[0]).toEqual(r[r.length - 1]);
  });

  it('splits cells that touch only at a corner into separate polygons', () => {
    const o = maskOutline(grid(2, 2), [1, 0, 0, 1]);
    expect(o.type).toBe('MultiPolygon');
    expect(o.coordinates).toHaveLength(2);
    const o2 = maskOutline(grid(2, 2), [0, 1, 1, 0]);
    expect(o2.coordinates).toHaveLength(2);
  });

  it('gives back exactly the mask through cellsInside on random masks, holes and islands included', () => {
    const rand = lcg(7);
    for (let t = 0; t < 40; t++) {
      const rows = 3 + Math.floor(rand() * 12);
      const cols = 3 + Math.floor(rand() * 12);
      const p = 0.3 + rand() * 0.5;
      const mask: number[] = Array.from({ length: rows * cols }, () => (rand() < p ? 1 : 0));
      if (!mask.some((v) => v)) mask[0] = 1;
      const g = grid(rows, cols);
      const o = maskOutline(g, mask);
      const back = cellsInside(g, o, 'EPSG:2154');
      expect(Array.from(back), `mask ${t}`).toEqual(mask);
      // the area of the rings is the area of the cells
      const polys = (o.type === 'Polygon' ? [o.coordinates] : o.coordinates) as number[][][][];
      const a = polys.flat().reduce((s, r) => s + area2(r) / 2, 0);
      expect(a).toBe(mask.reduce((s, v) => s + v, 0) * g.dx * g.dy);
    }
  });

  it('refuses an empty or mis-sized mask', () => {
    expect(() => maskOutline(grid(2, 2), [0, 0, 0, 0])).toThrow(/no cell/);
    expect(() => maskOutline(grid(2, 2), [1, 0, 0])).toThrow(/3 mask values/);
  });
});

import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Grid } from '../../../../src-shared/ipc';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gridOfRaster } from '../../../../src-main/services/rasters/stack';
import { decodeD8, flowAccumulation, upstreamMask } from '../../../../src-main/services/grid/flowdir';
import { delineateCatchment } from '../../../../src-main/services/grid/catchment';
import {
  m3sToMm,
  mmToM3s,
  readGaugeCsv,
  readSmashGauges,
  seriesWindow,
} from '../../../../src-main/services/grid/gauges';
import { tempDir } from '../../../helpers/tmp';

const LEZ = 'resources/sample-data/lez';

async function franceFlowdir() {
  const r = await GeoTiffRaster.open(join(LEZ, 'France_flwdir.tif'));
  const grid = gridOfRaster(r.info);
  const f = decodeD8(grid, await r.readBandValues(0));
  await r.close();
  return f;
}

describe('D8 catchments on real flow directions', () => {
  it('delineates the Lez at Y3204040 with 172 ± 5 cells (smash: 172), snapped to the outlet', async () => {
    const f = await franceFlowdir();
    expect(f.convention).toBe('smash');
    expect(f.grid.crs).toBe('EPSG:2154');
    const gauges = await readSmashGauges(LEZ);
    const outlet = gauges.find((g) => g.code === 'Y3204040')!;
    const c = delineateCatchment(f, [outlet]);
    expect(Math.abs(c.cells - 172)).toBeLessThanOrEqual(5);
    const g = c.gauges[0]!;
    // snapped where the drained area matches the declared 169 km² within 2 %
    expect(Math.abs(g.drainedKm2 - 169) / 169).toBeLessThan(0.02);
    // the gauge cell is the outlet: every active cell drains through it, and it drains out of the mask
    const idx = g.row * c.grid.cols + g.col;
    expect(c.grid.mask![idx]).toBe(1);
    const local = { grid: c.grid, dir: c.dir, convention: f.convention };
    expect(upstreamMask(local, idx).reduce((a, b) => a + b, 0)).toBe(c.cells);
    // the cropped grid sits on the Lez forcing grid (same origin and 1 km cells)
    expect(c.grid).toMatchObject({ x0: 761000, y0: 6302000, dx: 1000, dy: 1000 });
    expect(c.grid.rows).toBeLessThanOrEqual(27);
    expect(c.grid.cols).toBeLessThanOrEqual(14);
  });

  it('nests the upstream gauges inside the outlet catchment', async () => {
    const f = await franceFlowdir();
    const gauges = await readSmashGauges(LEZ);
    const all = delineateCatchment(f, gauges);
    const outletOnly = delineateCatchment(
      f,
      gauges.filter((g) => g.code === 'Y3204040'),
    );
    expect(all.cells).toBe(outletOnly.cells);
    const areas = Object.fromEntries(all.gauges.map((g) => [g.code, g.drainedKm2]));
    expect(areas.Y3204040!).toBeGreaterThan(areas.Y3204030!);
    expect(areas.Y3204030!).toBeGreaterThan(areas.Y3204010!);
  });

  it('reads ESRI codes and agrees with the same network in smash codes', () => {
    // 3 x 3: everything drains to the bottom-middle cell, which drains south out of the grid
    const grid: Grid = { crs: null, x0: 0, y0: 3, dx: 1, dy: 1, rows: 3, cols: 3, mask: null };
    const smash = [4, 5, 6, 4, 5, 6, 3, 5, 7];
    const esri = [2, 4, 8, 2, 4, 8, 1, 4, 16];
    const a = decodeD8(grid, smash);
    const b = decodeD8(grid, esri);
    expect(b.convention).toBe('esri');
    expect(Array.from(b.dir)).toEqual(Array.from(a.dir));
    const acc = flowAccumulation(a);
    expect(Array.from(acc)).toEqual([1, 1, 1, 1, 4, 1, 1, 9, 1]);
  });

  it('refuses loops and gauges outside the grid', () => {
    const grid: Grid = { crs: null, x0: 0, y0: 1, dx: 1, dy: 1, rows: 1, cols: 2, mask: null };
    expect(() => flowAccumulation(decodeD8(grid, [3, 7]))).toThrow(/loops/);
    const ok = decodeD8(grid, [3, 3]);
    expect(() => delineateCatchment(ok, [{ code: 'X', x: 50, y: 50, areaKm2: 1 }])).toThrow(/outside/);
  });
});

describe('gauges', () => {
  it('imports the smash gauge folder with missing values as NaN', async () => {
    const gauges = await readSmashGauges(LEZ);
    expect(gauges.map((g) => [g.code, g.areaKm2])).toEqual([
      ['Y3204040', 169],
      ['Y3204030', 143],
      ['Y3204010', 113],
    ]);
    const q = gauges[0]!.series!;
    expect(q.start.toISOString()).toBe('1958-08-01T00:00:00.000Z');
    const year = seriesWindow(q, new Date('2012-08-01T00:00:00Z'), new Date('2013-07-31T00:00:00Z'));
    expect(year).toHaveLength(365);
    // PROVENANCE.md: in 2012-08-01 .. 2013-07-31 Y3204040 has 4 missing days, the others none
    expect(year.filter(Number.isNaN)).toHaveLength(4);
    for (const g of gauges.slice(1)) {
      expect(
        seriesWindow(g.series!, new Date('2012-08-01T00:00:00Z'), new Date('2013-07-31T00:00:00Z')).filter(
          Number.isNaN,
        ),
      ).toHaveLength(0);
    }
  });

  it('reads generic CSVs (header detection, separators, missing markers, hourly) and refuses text among numbers', async () => {
    const tmp = tempDir();
    const a = join(tmp.dir, 'a.csv');
    writeFileSync(a, 'date;Q\n2020-01-01;1.5\n2020-01-02;\n2020-01-03;-99\n2020-01-05;NaN\n2020-01-06;2\n');
    const s = await readGaugeCsv(a);
    expect(s.stepSeconds).toBe(86400);
    expect(s.gaps).toBe(1);
    expect(Array.from(s.values).map((v) => (Number.isNaN(v) ? null : v))).toEqual([
      1.5,
      null,
      null,
      null,
      null,
      2,
    ]);
    const h = join(tmp.dir, 'h.csv');
    writeFileSync(h, '2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 02:00,-9999\n');
    expect((await readGaugeCsv(h)).stepSeconds).toBe(3600);
    const bad = join(tmp.dir, 'bad.csv');
    writeFileSync(bad, 'date,Q\n2020-01-01,1\n2020-01-02,abc\n');
    await expect(readGaugeCsv(bad)).rejects.toMatchObject({
      code: 'INVALID_FILE',
      details: { file: bad, line: 3 },
    });
    const dup = join(tmp.dir, 'dup.csv');
    writeFileSync(dup, '2020-01-01,1\n2020-01-01,2\n');
    await expect(readGaugeCsv(dup)).rejects.toMatchObject({ code: 'INVALID_FILE' });
    tmp.cleanup();
  });

  it('converts m³/s and mm per step through the drained area', () => {
    // 1 m³/s over 1 day on 86.4 km² is 1 mm
    expect(m3sToMm(1, 86400, 86.4)).toBeCloseTo(1, 12);
    expect(mmToM3s(m3sToMm(3.7, 3600, 169), 3600, 169)).toBeCloseTo(3.7, 12);
  });
});

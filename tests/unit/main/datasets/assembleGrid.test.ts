// Issue 15, Build 1: the model grid is built from a chosen raster, a study area or the catchment.
// The Lez parts (forcing and descriptors on a 14 x 27 window of France's 1 km flow directions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import type { AssembleSpecInput } from '../../../../src-shared/types/assemble';
import { assembleDataset, type AssembleResult } from '../../../../src-main/services/datasets/assemble';
import { gdalCells } from '../../../helpers/assemble';
import { tempDir } from '../../../helpers/tmp';

const LEZ = 'resources/sample-data/lez';
// the Lez window as gdalinfo reads resources/sample-data/lez/descriptor/slope.tif
const WINDOW = { x0: 761000, y0: 6302000, dx: 1000, cols: 14, rows: 27 };
let tmp: ReturnType<typeof tempDir>;
let byCatchment: AssembleResult;

const spec = (over: Partial<AssembleSpecInput> = {}): AssembleSpecInput => ({
  name: 'lez-grid',
  out: join(tmp.dir, `out-${Math.random().toString(36).slice(2)}`),
  start: '2012-08-01',
  end: '2012-08-03',
  crs: 'EPSG:2154',
  forcing: [
    { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') }, units: 'mm' },
    { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') }, units: 'mm' },
  ],
  descriptors: [{ name: 'slope', path: join(LEZ, 'descriptor', 'slope.tif') }],
  flowdir: { path: join(LEZ, 'France_flwdir.tif') },
  gauges: { format: 'smash', path: LEZ },
  ...over,
});

/** A GeoJSON polygon of the box x0..x1, y0..y1 (EPSG:2154). */
const box = (x0: number, y0: number, x1: number, y1: number) => ({
  type: 'Polygon',
  coordinates: [
    [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
      [x0, y0],
    ],
  ],
});

async function refusal(s: AssembleSpecInput): Promise<FieldcalError> {
  const e = await assembleDataset(s).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(FieldcalError);
  expect(existsSync(s.out!)).toBe(false);
  return e as FieldcalError;
}

beforeAll(async () => {
  tmp = tempDir();
  byCatchment = await assembleDataset(spec());
}, 60_000);
afterAll(() => tmp?.cleanup());

describe('the model grid', () => {
  it("from a raster without gauges: the raster's grid, its forcing on it, flow directions equal GDAL's reading", async () => {
    const r = await assembleDataset(
      spec({ grid: { from: 'raster', path: join(LEZ, 'descriptor', 'slope.tif') }, gauges: undefined }),
    );
    expect(r.manifest.grid).toEqual({ ...WINDOW, dy: 1000 });
    const align = Object.fromEntries(r.manifest.inputs.map((i) => [i.role, i.align]));
    expect(align).toMatchObject({
      'forcing.prcp': 'same-grid',
      'descriptor.slope': 'same-grid',
      flowdir: 'window',
    });
    // every 5th cell of the window: the written code is France's at the same coordinates
    const cells = Array.from({ length: WINDOW.rows * WINDOW.cols }, (_, i) => i).filter((i) => i % 5 === 0);
    const px = cells.map((i) => [i % WINDOW.cols, Math.floor(i / WINDOW.cols)] as const);
    const xy = px.map(([c, rr]) => [WINDOW.x0 + (c + 0.5) * 1000, WINDOW.y0 - (rr + 0.5) * 1000] as const);
    expect(gdalCells(join(r.path, 'flowdir.tif'), px)).toEqual(
      gdalCells(join(LEZ, 'France_flwdir.tif'), xy, { geoloc: true }),
    );
  }, 60_000);

  it('from a raster or a study area holding the catchment, with gauges: cut to the catchment, as from the catchment', async () => {
    expect(byCatchment.manifest.grid).toMatchObject({ cols: 14, rows: 26 });
    const fromRaster = await assembleDataset(
      spec({ grid: { from: 'raster', path: join(LEZ, 'descriptor', 'slope.tif') } }),
    );
    const fromArea = await assembleDataset(
      spec({
        grid: {
          from: 'study-area',
          geometry: box(750_000, 6_260_000, 790_000, 6_310_000),
          crs: 'EPSG:2154',
          cellSize: 1000,
        },
      }),
    );
    for (const r of [fromRaster, fromArea]) {
      expect(r.manifest.grid).toEqual(byCatchment.manifest.grid);
      expect(Array.from(r.grid.mask!)).toEqual(Array.from(byCatchment.grid.mask!));
    }
  }, 60_000);

  it('a study area that cuts the catchment is refused, saying how many cells fall outside', async () => {
    // the window's northern half only
    const e = await refusal(
      spec({
        grid: {
          from: 'study-area',
          geometry: box(WINDOW.x0, WINDOW.y0 - 13_000, WINDOW.x0 + 14_000, WINDOW.y0),
          crs: 'EPSG:2154',
          cellSize: 1000,
        },
      }),
    );
    expect(e.details?.field).toBe('grid.geometry');
    const cells = byCatchment.grid.mask!.reduce((a, b) => a + b, 0);
    expect(e.message).toMatch(new RegExp(`leaves \\d+ of the catchment's ${cells} cells outside`));
  }, 60_000);

  it("a study area at 500 m (off the flow directions' 1 km lattice) is refused, naming the cell size", async () => {
    const e = await refusal(
      spec({
        grid: {
          from: 'study-area',
          geometry: box(750_000, 6_260_000, 790_000, 6_310_000),
          crs: 'EPSG:2154',
          cellSize: 500,
        },
      }),
    );
    expect(e.details?.field).toBe('grid.cellSize');
    expect(e.message).toMatch(/lattice/);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceContainer } from '../../../../src-main/services';
import { testServices } from '../../../helpers/services';
import { gdalXyz, hasGdal } from '../../../helpers/gdal';
import { sha256File } from '../../../../src-main/services/project/services';
import { cellsInside } from '../../../../src-main/services/grid/studyArea';
import { decodeD8, upstreamMask } from '../../../../src-main/services/grid/flowdir';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gridOfRaster } from '../../../../src-main/services/rasters/stack';
import { FieldcalError, type GaugeRecord, type Grid } from '../../../../src-shared/ipc';

const LEZ = 'resources/sample-data/lez';
let world: ReturnType<typeof testServices>;
let services: ServiceContainer;
let gauges: GaugeRecord[];
const byCode = (code: string) => gauges.find((g) => g.code === code)!;

/** gauge_attributes.csv as code -> {x, y, area}. */
function attributes(): Map<string, { x: number; y: number; area: number }> {
  const lines = readFileSync(join(LEZ, 'gauge_attributes.csv'), 'utf8').trim().split('\n').slice(1);
  return new Map(
    lines.map((l) => {
      const [code, x, y, area] = l.split(',');
      return [code!, { x: Number(x), y: Number(y), area: Number(area) }];
    }),
  );
}

beforeAll(async () => {
  world = testServices('cli');
  services = world.services;
  // the smash folder copied, so that runs and a folder without prcp can sit beside it
  cpSync(LEZ, join(world.dir, 'lez'), { recursive: true });
  await services.impls.project.create({ path: join(world.dir, 'lez.fieldcal'), crs: 'EPSG:2154' });
  await services.impls.datasets.import({ path: join(world.dir, 'lez') });
  gauges = await services.impls.gauges.list({});
});
afterAll(() => world.cleanup());

describe('gauges service', () => {
  it('lists the gauges of the project with their position in lon/lat', () => {
    const attrs = attributes();
    expect(gauges.map((g) => g.code).sort()).toEqual([...attrs.keys()].sort());
    for (const g of gauges) {
      const a = attrs.get(g.code)!;
      expect(g).toMatchObject({ x: a.x, y: a.y, areaKm2: a.area, crs: 'EPSG:2154' });
      // the Lez gauges lie north of Montpellier (about 3.85 E, 43.65 N)
      expect(g.lon!).toBeGreaterThan(3.7);
      expect(g.lon!).toBeLessThan(4.0);
      expect(g.lat!).toBeGreaterThan(43.55);
      expect(g.lat!).toBeLessThan(43.8);
    }
    // Lambert-93 is conformal with its origin at (3 E, 46.5 N) = (700000, 6600000): east of 3 E means x > 700 km
    expect(byCode('Y3204040').lon!).toBeGreaterThan(3);
  });

  it('gives the observed discharge of the qobs CSV on daily dates, NaN where missing', async () => {
    const h = await services.impls.gauges.hydrograph({ gaugeId: byCode('Y3204040').id });
    const lines = readFileSync(join(LEZ, 'qobs/Y3204040.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('19580801');
    expect(h.units).toBe('m3/s');
    expect(h.dates.length).toBe(lines.length - 1);
    expect(h.observed.length).toBe(lines.length - 1);
    expect(h.dates[0]).toBe('1958-08-01');
    expect(h.dates[1]).toBe('1958-08-02');
    // 1960 is a leap year: 1958-08-01 + 577 days = 1960-02-29
    expect(h.dates[577]).toBe('1960-02-29');
    let compared = 0;
    for (let i = 1; i < lines.length; i += 97) {
      const v = Number(lines[i]);
      if (v < 0) expect(h.observed[i - 1]).toBeNaN();
      else expect(h.observed[i - 1]).toBe(Math.fround(v));
      compared++;
    }
    expect(compared).toBeGreaterThan(200);
    const k = h.dates.indexOf('2012-11-02');
    expect(h.observed[k]).toBe(Math.fround(Number(lines[k + 1])));
    expect(h.simulated).toEqual([]);
  });

  it.skipIf(!hasGdal)(
    'averages the prcp of the catchment cells: equal to a hand computation with GDAL',
    async () => {
      const g = byCode('Y3204040');
      const h = await services.impls.gauges.hydrograph({ gaugeId: g.id });
      expect(h.rainfall).not.toBeNull();
      const rain = h.rainfall!;
      // the prcp stack covers 2012-08-01 .. 2013-07-31: values there, NaN elsewhere
      const first = h.dates.indexOf('2012-08-01');
      const last = h.dates.indexOf('2013-07-31');
      expect(Number.isNaN(rain[first - 1]!)).toBe(true);
      expect(Number.isNaN(rain[last + 1]!)).toBe(true);
      for (let k = first; k <= last; k++) expect(Number.isFinite(rain[k]!)).toBe(true);

      // hand computation: the catchment mask from the D8 raster, then GDAL's values at those cells
      const mask = await fullMask(g.x, g.y, g.areaKm2!);
      // the wettest day of the stack over the catchment
      let k = first;
      for (let i = first; i <= last; i++) if (rain[i]! > rain[k]!) k = i;
      const [yy, mm, dd] = h.dates[k]!.split('-');
      const xyz = gdalXyz(join(LEZ, `prcp/${yy}/${mm}/${yy}${mm}${dd}0000_PT.tif`));
      let sum = 0;
      let n = 0;
      for (const line of xyz) {
        const [x, y, v] = line.trim().split(/\s+/).map(Number) as [number, number, number];
        const col = Math.floor((x - mask.grid.x0) / mask.grid.dx);
        const row = Math.floor((mask.grid.y0 - y) / mask.grid.dy);
        if (mask.mask[row * mask.grid.cols + col]) {
          sum += v;
          n++;
        }
      }
      expect(n).toBe(mask.cells);
      expect(sum / n).toBeGreaterThan(10);
      expect(rain[k]).toBeCloseTo(sum / n, 4);
    },
  );

  it('has no rainfall when the folder has no prcp stack, and refuses unknown gauges and runs', async () => {
    const bare = join(world.dir, 'bare');
    cpSync(LEZ, bare, {
      recursive: true,
      filter: (src) => !/[/\\](prcp|pet)([/\\]|$)/.test(src),
    });
    writeFileSync(join(bare, 'gauge_attributes.csv'), 'code,x,y,area\nBARE1,772330,6274127,169\n');
    writeFileSync(join(bare, 'qobs', 'BARE1.csv'), '20120801\n1.5\n-99\n2.25\n');
    await services.impls.datasets.import({ path: bare });
    const list = await services.impls.gauges.list({});
    const bareGauge = list.find((x) => x.code === 'BARE1')!;
    const h = await services.impls.gauges.hydrograph({ gaugeId: bareGauge.id });
    expect(h.rainfall).toBeNull();
    expect(h.dates).toEqual(['2012-08-01', '2012-08-02', '2012-08-03']);
    expect(Array.from(h.observed)).toEqual([1.5, Number.NaN, 2.25]);

    await expect(services.impls.gauges.hydrograph({ gaugeId: 9999 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      services.impls.gauges.hydrograph({ gaugeId: bareGauge.id, runIds: [4242] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', details: { what: 'run', id: 4242 } });
    rmSync(join(bare, 'qobs', 'BARE1.csv'));
    const err = await Promise.resolve(services.impls.gauges.hydrograph({ gaugeId: bareGauge.id })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FieldcalError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', details: { file: join(bare, 'qobs', 'BARE1.csv') } });
  });

  it("puts each run's simulated discharge on the observed dates, with its periods and scores", async () => {
    const store = services.session.require('test');
    const g = byCode('Y3204040');
    const withSim = store.runs.create({ name: 'hda-pr lez', method: 'hda-pr', options: {}, seed: 1 });
    const without = store.runs.create({ name: 'no discharge', method: 'sce-ua', options: {}, seed: 2 });
    const file = join(world.dir, 'discharge.json');
    writeFileSync(
      file,
      JSON.stringify({
        dates: ['2012-08-01', '2012-08-02', '2012-08-03', '2099-01-01'],
        gauges: { Y3204040: [1.25, null, 3.5, 9], Y3204010: [0, 0, 0, 0] },
        periods: [{ name: 'train', start: '2012-08-01', end: '2013-01-31' }],
        scores: { Y3204040: { train: { nse: 0.71, kge: 0.62 } } },
      }),
    );
    store.runs.addArtifact({
      runId: withSim.id,
      kind: 'discharge-json',
      path: file,
      sizeBytes: null,
      checksum: await sha256File(file),
    });
    const h = await services.impls.gauges.hydrograph({ gaugeId: g.id, runIds: [withSim.id, without.id] });
    expect(h.simulated).toHaveLength(1);
    const s = h.simulated[0]!;
    expect(s).toMatchObject({
      runId: withSim.id,
      name: 'hda-pr lez',
      periods: [{ name: 'train', start: '2012-08-01', end: '2013-01-31' }],
      scores: { train: { nse: 0.71, kge: 0.62 } },
    });
    expect(s.values.length).toBe(h.dates.length);
    const k = h.dates.indexOf('2012-08-01');
    expect(Array.from(s.values.subarray(k, k + 3))).toEqual([1.25, Number.NaN, 3.5]);
    expect(s.values.filter((v) => !Number.isNaN(v)).length).toBe(2);
    // without a list: every run that has one
    expect((await services.impls.gauges.hydrograph({ gaugeId: g.id })).simulated.map((x) => x.runId)).toEqual(
      [withSim.id],
    );
    // a changed artifact is refused, as copyArtifact does
    writeFileSync(file, '{"dates": []}');
    await expect(
      services.impls.gauges.hydrograph({ gaugeId: g.id, runIds: [withSim.id] }),
    ).rejects.toMatchObject({ code: 'CONFLICT', details: { file } });
  });
});

/** The upstream mask of a gauge on the whole flow-direction grid, snapped as the service does. */
async function fullMask(
  x: number,
  y: number,
  areaKm2: number,
): Promise<{ grid: Grid; mask: Uint8Array; cells: number }> {
  const { delineateCatchment } = await import('../../../../src-main/services/grid/catchment');
  const r = await GeoTiffRaster.open(join(LEZ, 'France_flwdir.tif'));
  const f = decodeD8(gridOfRaster(r.info), await r.readBandValues(0));
  await r.close();
  const c = delineateCatchment(f, [{ code: 'g', x, y, areaKm2 }]);
  const s = c.gauges[0]!;
  const rowOff = Math.round((f.grid.y0 - c.grid.y0) / f.grid.dy);
  const colOff = Math.round((c.grid.x0 - f.grid.x0) / f.grid.dx);
  const mask = upstreamMask(f, (s.row + rowOff) * f.grid.cols + s.col + colOff);
  return { grid: f.grid, mask, cells: c.cells };
}

describe('catchment study areas', () => {
  it('delineates Y3204040 with the area of gauge_attributes.csv and an outline that gives back the mask', async () => {
    const g = byCode('Y3204040');
    const declared = attributes().get('Y3204040')!.area;
    expect(declared).toBe(169);
    const a = await services.impls.studyAreas.catchment({ gaugeId: g.id });
    expect(a).toMatchObject({
      origin: 'catchment',
      gaugeCode: 'Y3204040',
      crs: 'EPSG:2154',
      name: 'Catchment Y3204040',
    });
    // 1 km cells: the area is the number of cells; within 5 % of the declared 169 km²
    expect(a.areaKm2).toBe(a.cells);
    expect(Math.abs(a.areaKm2! - declared) / declared).toBeLessThan(0.05);

    const full = await fullMask(g.x, g.y, g.areaKm2!);
    let n = 0;
    for (const v of full.mask) n += v;
    expect(a.cells).toBe(n);
    // round trip on a window of the flow-direction grid around the catchment, 3 cells of margin
    let rMin = Infinity,
      rMax = -1,
      cMin = Infinity,
      cMax = -1;
    full.mask.forEach((v, i) => {
      if (!v) return;
      const r = Math.floor(i / full.grid.cols),
        c = i % full.grid.cols;
      rMin = Math.min(rMin, r);
      rMax = Math.max(rMax, r);
      cMin = Math.min(cMin, c);
      cMax = Math.max(cMax, c);
    });
    const [r0, c0] = [rMin - 3, cMin - 3];
    const win: Grid = {
      crs: 'EPSG:2154',
      x0: full.grid.x0 + c0 * full.grid.dx,
      y0: full.grid.y0 - r0 * full.grid.dy,
      dx: full.grid.dx,
      dy: full.grid.dy,
      rows: rMax - rMin + 7,
      cols: cMax - cMin + 7,
      mask: null,
    };
    const expected = new Uint8Array(win.rows * win.cols);
    for (let r = 0; r < win.rows; r++)
      for (let c = 0; c < win.cols; c++)
        expected[r * win.cols + c] = full.mask[(r + r0) * full.grid.cols + c + c0]!;
    const back = cellsInside(win, a.geometry as { type: string }, a.crs);
    expect(Array.from(back)).toEqual(Array.from(expected));
    // closed rings, corners on the 1 km lattice
    const polys = (
      a.geometry.type === 'Polygon' ? [a.geometry.coordinates] : a.geometry.coordinates
    ) as number[][][][];
    for (const ring of polys.flat()) {
      expect(ring.length).toBeGreaterThanOrEqual(4);
      expect(ring[0]).toEqual(ring[ring.length - 1]);
      for (const [x, y] of ring) {
        expect((x! - 75000) % 1000).toBe(0);
        expect((y! - 6000000) % 1000).toBe(0);
      }
    }

    // saved in the project; a second delineation replaces it instead of adding one
    const again = await services.impls.studyAreas.catchment({ gaugeId: g.id, name: 'Lez at Lavalette' });
    expect(again.id).toBe(a.id);
    expect(again.name).toBe('Lez at Lavalette');
    const list = await services.impls.studyAreas.list({});
    expect(list.filter((x) => x.origin === 'catchment')).toHaveLength(1);
    expect(services.session.require('t').info().counts.studyAreas).toBe(list.length);
  });

  it('nests the three Lez catchments: upstream gauges drain fewer cells', async () => {
    const areas = new Map<string, number>();
    for (const code of ['Y3204010', 'Y3204030', 'Y3204040']) {
      const a = await services.impls.studyAreas.catchment({ gaugeId: byCode(code).id });
      const declared = attributes().get(code)!.area;
      expect(Math.abs(a.areaKm2! - declared) / declared).toBeLessThan(0.1);
      areas.set(code, a.cells!);
    }
    expect(areas.get('Y3204010')!).toBeLessThan(areas.get('Y3204030')!);
    expect(areas.get('Y3204030')!).toBeLessThan(areas.get('Y3204040')!);
  });

  it('refuses a catchment when the gauge folder has no flow directions', async () => {
    const list = await services.impls.gauges.list({});
    const bare = list.find((x) => x.code === 'BARE1');
    if (!bare) return; // created by the hydrograph test above
    const folder = join(world.dir, 'bare');
    rmSync(join(folder, 'France_flwdir.tif'));
    await expect(services.impls.studyAreas.catchment({ gaugeId: bare.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { file: folder, gauge: 'BARE1' },
    });
    await expect(services.impls.studyAreas.catchment({ gaugeId: 12345 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

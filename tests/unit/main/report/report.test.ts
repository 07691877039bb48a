import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openFolderStack } from '../../../../src-main/services/rasters/stack';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gridOfRaster } from '../../../../src-main/services/rasters/stack';
import { decodeD8 } from '../../../../src-main/services/grid/flowdir';
import { delineateCatchment } from '../../../../src-main/services/grid/catchment';
import { readSmashGauges, seriesWindow } from '../../../../src-main/services/grid/gauges';
import { writeGriddedReport } from '../../../../src-main/services/report/gridReport';
import { nse } from '../../../../src-main/services/metrics';

const LEZ = 'resources/sample-data/lez';
const OUT = 'test-results/report-lez-pet-persistence';

describe('run report on a small real case', () => {
  it('writes metrics, map and chart PNGs and an HTML page (Lez PET: persistence vs climatology)', async () => {
    // Real data, a standard verification baseline: "simulation" = yesterday's PET field
    // (persistence), "default" = each cell's mean PET (climatology), over the Lez catchment.
    const pet = await openFolderStack(join(LEZ, 'pet'), { crs: 'EPSG:2154' });
    const { rows, cols } = pet.grid;
    const cells = rows * cols;
    const days = 120;
    const fields: Float64Array[] = [];
    for (let t = 0; t <= days; t++) fields.push(await pet.read(t));
    const obs = new Float64Array(days * cells);
    const sim = new Float64Array(days * cells);
    for (let t = 0; t < days; t++) {
      obs.set(fields[t + 1]!, t * cells);
      sim.set(fields[t]!, t * cells);
    }
    const clim = new Float64Array(cells);
    for (let t = 0; t < days; t++) for (let c = 0; c < cells; c++) clim[c]! += obs[t * cells + c]! / days;
    const simDefault = new Float64Array(days * cells);
    for (let t = 0; t < days; t++) simDefault.set(clim, t * cells);

    const fd = await GeoTiffRaster.open(join(LEZ, 'France_flwdir.tif'));
    const flow = decodeD8(gridOfRaster(fd.info), await fd.readBandValues(0));
    await fd.close();
    const gauges = await readSmashGauges(LEZ);
    const catchment = delineateCatchment(
      flow,
      gauges.filter((g) => g.code === 'Y3204040'),
    );
    // the catchment grid starts at the forcing grid's origin: copy its mask onto the 14 x 27 grid
    expect([catchment.grid.x0, catchment.grid.y0]).toEqual([pet.grid.x0, pet.grid.y0]);
    const mask = new Uint8Array(cells);
    for (let r = 0; r < catchment.grid.rows; r++)
      for (let c = 0; c < catchment.grid.cols; c++)
        mask[r * cols + c] = catchment.grid.mask![r * catchment.grid.cols + c]!;

    const dates = pet.steps.slice(1, days + 1).map((s) => s.time);
    const q = seriesWindow(gauges[0]!.series!, dates[0]!, dates[days - 1]!);
    const qPrev = seriesWindow(gauges[0]!.series!, new Date(dates[0]!.getTime() - 86400e3), dates[days - 2]!);
    rmSync(OUT, { recursive: true, force: true });
    const r = await writeGriddedReport({
      dir: OUT,
      title: 'Lez PET: persistence against climatology',
      description:
        'Daily PET over the Lez catchment (smash demo data), 2012-08-02 .. 2012-11-29. Simulated = the previous day’s field; default = each cell’s mean.',
      obs,
      sim,
      simDefault,
      dates,
      grid: { rows, cols, mask },
      units: 'mm/day',
      mapSteps: [30, 90],
      // the maps a calibration run adds: here the Lez soil water storage descriptor stands in as a field to draw
      parameters: [
        {
          name: 'soil_water_storage',
          values: await (async () => {
            const r = await GeoTiffRaster.open(join(LEZ, 'descriptor/soil_water_storage.tif'));
            const v = await r.readBandValues(0);
            await r.close();
            return v;
          })(),
          units: 'mm',
        },
      ],
      hydrographs: [{ title: 'Y3204040 discharge: persistence', obs: q, sim: qPrev, units: 'm³/s' }],
    });
    expect(r.summary.cells).toBe(catchment.cells);
    // persistence of a smooth field beats climatology in most cells, and its pattern is near perfect
    expect(r.summary.pctRmseReduced).toBeGreaterThan(50);
    expect(r.summary.pctCcAbove075).toBeGreaterThan(90);
    expect(r.summary.meanEof).toBeLessThan(0.2);
    expect(Math.abs(r.summary.meanSsim)).toBeLessThanOrEqual(1);
    expect(nse(q, qPrev).n).toBeGreaterThanOrEqual(days - 8);
    const pngs = r.files.filter((f) => f.endsWith('.png'));
    expect(pngs.length).toBe(6 + 1 + 6 + 3);
    expect(pngs.some((f) => f.endsWith('map-parameter-soil-water-storage.png'))).toBe(true);
    for (const f of pngs) expect(readFileSync(f).subarray(1, 4).toString()).toBe('PNG');
    const html = readFileSync(r.html, 'utf8');
    for (const f of pngs) expect(html).toContain(f.split('/').pop());
    const metrics = JSON.parse(readFileSync(join(OUT, 'metrics.json'), 'utf8')) as {
      summary: { cells: number };
    };
    expect(metrics.summary.cells).toBe(catchment.cells);
    expect(existsSync(join(OUT, 'index.html'))).toBe(true);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import type { AssembleSpecInput } from '../../../../src-shared/types/assemble';
import { assembleDataset } from '../../../../src-main/services/datasets/assemble';
import { loadSmashDataset } from '../../../../src-main/services/datasets/smashDataset';
import { readAsciiGrid } from '../../../../src-main/services/rasters/asciiGrid';
import { gaugeProblemFromDataset } from '../../../../src-main/services/calibration/gauges/problem';
import { trainHdaPr } from '../../../../src-main/services/calibration/methods/hda-pr/train';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gdalAt } from '../../../helpers/assemble';
import { tempDir } from '../../../helpers/tmp';

const LEZ = 'resources/sample-data/lez';
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

const base = (over: Partial<AssembleSpecInput> = {}): AssembleSpecInput => ({
  name: 'lez',
  out: join(tmp.dir, `out-${Math.random().toString(36).slice(2)}`),
  start: '2012-08-01',
  end: '2012-09-30',
  crs: 'EPSG:2154',
  forcing: [
    { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') } },
    { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') } },
  ],
  descriptors: [{ name: 'slope', path: join(LEZ, 'descriptor', 'slope.tif') }],
  flowdir: { path: join(LEZ, 'France_flwdir.tif') },
  gauges: { format: 'smash', path: LEZ },
  ...over,
});

async function refusal(spec: AssembleSpecInput): Promise<FieldcalError> {
  try {
    await assembleDataset(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(FieldcalError);
    return e as FieldcalError;
  }
  throw new Error('expected a refusal');
}

describe('ESRI ASCII flow directions', () => {
  let asc: string;
  beforeAll(() => {
    // the France flow directions around the Lez as an ESRI ASCII grid (+ .prj), written by GDAL
    asc = join(tmp.dir, 'flwdir.asc');
    execFileSync('gdal_translate', [
      '-q',
      '-of',
      'AAIGrid',
      '-projwin',
      '755000',
      '6310000',
      '785000',
      '6270000',
      join(LEZ, 'France_flwdir.tif'),
      asc,
    ]);
  });

  it('reads values equal to GDAL, the grid from the header and the CRS from the .prj', async () => {
    const a = await readAsciiGrid(asc);
    expect(a.grid).toMatchObject({ x0: 755000, y0: 6310000, dx: 1000, dy: 1000, cols: 30, rows: 40 });
    // GDAL writes an ESRI-flavoured WKT without an EPSG code: kept as the CRS (proj4 reads it)
    expect(a.grid.crs).toMatch(/Lambert_93/);
    for (const [c, r] of [
      [0, 0],
      [12, 17],
      [29, 39],
      [7, 30],
    ] as const) {
      const g = gdalAt(asc, c, r);
      const v = a.values[r * 30 + c]!;
      if (g === -9999) expect(v).toBeNaN();
      else expect(v).toBe(g);
    }
  });

  it('refuses a bad value naming the line', async () => {
    const bad = join(tmp.dir, 'bad.asc');
    writeFileSync(bad, 'ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 10\n1 2\n3 x\n');
    await expect(readAsciiGrid(bad)).rejects.toThrow(/line 7: "x" is not a number/);
  });

  it('assembles, loads and calibrates (a short HDA-PR) end to end', async () => {
    const spec = base({ flowdir: { path: asc } });
    const r = await assembleDataset(spec);
    expect(r.manifest.inputs.find((i) => i.role === 'flowdir')).toMatchObject({
      format: 'ascii-grid',
      align: 'window',
    });
    const ds = await loadSmashDataset({
      dir: r.path,
      start: new Date('2012-08-01T00:00:00Z'),
      end: new Date('2012-09-30T00:00:00Z'),
    });
    expect(ds.net.cells).toBe(171);
    expect(ds.dates).toHaveLength(61);
    const res = trainHdaPr(gaugeProblemFromDataset(ds), {
      hidden: [],
      iterations: 5,
      learningRate: 0.01,
      seed: 1,
      warmup: 0,
    });
    expect(res.scores).toHaveLength(3);
    expect(res.objective).toBeLessThanOrEqual(res.history[0]!);
  }, 60_000);

  it('a symlinked flow-direction GeoTIFF or an .asc at the top of a smash folder is found by the loader', async () => {
    const { symlinkSync, copyFileSync } = await import('node:fs');
    const { resolve } = await import('node:path');
    for (const [name, target] of [
      ['link', resolve(LEZ, 'France_flwdir.tif')],
      ['asc', asc],
    ] as const) {
      const dir = join(tmp.dir, `smash-${name}`);
      mkdirSync(dir);
      for (const f of ['prcp', 'pet', 'descriptor', 'qobs', 'gauge_attributes.csv'])
        symlinkSync(resolve(LEZ, f), join(dir, f));
      if (name === 'link') symlinkSync(target, join(dir, 'France_flwdir.tif'));
      else {
        copyFileSync(asc, join(dir, 'flwdir.asc'));
        copyFileSync(asc.replace(/asc$/, 'prj'), join(dir, 'flwdir.prj'));
      }
      const ds = await loadSmashDataset({
        dir,
        start: new Date('2012-08-01T00:00:00Z'),
        end: new Date('2012-08-31T00:00:00Z'),
        crs: 'EPSG:2154',
      });
      expect(ds.catchment.cells, name).toBe(171);
    }
  }, 60_000);
});

describe('a forcing window smaller than the flow directions', () => {
  it('assembles and loads, values equal to GDAL at the same cells', async () => {
    // a window of the Lez prcp (itself a 14 x 27 window of France's 1200 x 1125): its last row cut off
    const win = join(tmp.dir, 'prcp-win');
    for (const f of ['201208010000_PT.tif', '201208020000_PT.tif']) {
      mkdirSync(win, { recursive: true });
      execFileSync('gdal_translate', [
        '-q',
        '-srcwin',
        '0',
        '0',
        '14',
        '26',
        join(LEZ, 'prcp', '2012', '08', f),
        join(win, f),
      ]);
    }
    const r = await assembleDataset(
      base({
        end: '2012-08-02',
        forcing: [
          { variable: 'prcp', source: { format: 'folder', path: win } },
          { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') } },
        ],
      }),
    );
    // the 14 x 26 window is exactly the catchment's box: copied as is; the France flow directions are cut to it
    expect(r.manifest.inputs.find((i) => i.role === 'forcing.prcp')!.align).toBe('same-grid');
    expect(r.manifest.inputs.find((i) => i.role === 'flowdir')!.align).toBe('window');
    expect(r.manifest.grid).toMatchObject({ cols: 14, rows: 26 });
    const ds = await loadSmashDataset({
      dir: r.path,
      start: new Date('2012-08-01T00:00:00Z'),
      end: new Date('2012-08-02T00:00:00Z'),
    });
    // every active cell's value equals GDAL's reading of the window file at the same coordinates
    const g = ds.catchment.grid;
    const src = await GeoTiffRaster.open(join(win, '201208020000_PT.tif'));
    const [sx0, , , sy0] = src.info.geoTransform;
    await src.close();
    let k = 0;
    let checked = 0;
    for (let row = 0; row < g.rows; row++)
      for (let col = 0; col < g.cols; col++) {
        if (!g.mask![row * g.cols + col]) continue;
        const c = Math.round((g.x0 - sx0) / 1000) + col;
        const rr = Math.round((sy0 - g.y0) / 1000) + row;
        if (k % 17 === 0) {
          expect(ds.P[ds.catchment.cells + k]).toBeCloseTo(
            gdalAt(join(win, '201208020000_PT.tif'), c, rr),
            5,
          );
          checked++;
        }
        k++;
      }
    expect(checked).toBeGreaterThan(5);
  }, 60_000);

  it('the loader names the stack and the uncovered rows/cols when a window misses the catchment', async () => {
    const r = await assembleDataset(base({ end: '2012-08-02' }));
    const small = join(r.path, 'prcp', '2012', '08');
    for (const f of readdirSync(small)) {
      const p = join(small, f);
      execFileSync('gdal_translate', ['-q', '-srcwin', '0', '0', '3', '3', p, `${p}.x.tif`]);
      execFileSync('mv', [`${p}.x.tif`, p]);
    }
    await expect(
      loadSmashDataset({
        dir: r.path,
        start: new Date('2012-08-01T00:00:00Z'),
        end: new Date('2012-08-02T00:00:00Z'),
      }),
    ).rejects.toThrow(
      /prcp does not cover the catchment: catchment cells fall on its rows \d+\.\.\d+, cols \d+\.\.\d+/,
    );
  }, 60_000);
});

describe('every refusal names its input, before anything is written', () => {
  it('bad units', async () => {
    const spec = base({
      forcing: [
        { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') } },
        { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') }, units: 'K' },
      ],
    });
    const e = await refusal(spec);
    expect(e.details?.field).toBe('forcing[1].units');
    expect(e.message).toMatch(/not flux units/);
    expect(existsSync(spec.out!)).toBe(false);
  });

  it('a forcing that does not cover the period', async () => {
    const spec = base({ end: '2014-01-05' });
    const e = await refusal(spec);
    expect(e.details?.field).toBe('forcing[0].source.path');
    expect(e.message).toMatch(/no prcp for 2013-08-01 and \d+ more model steps/);
    expect(existsSync(spec.out!)).toBe(false);
  });

  it('a gauge outside the grid', async () => {
    const stations = join(tmp.dir, 'stations.csv');
    writeFileSync(stations, 'id;X;Y;A\nY3204040;772330;6274127;169\nFAR;5000000;100;50\n');
    const series = join(tmp.dir, 'series');
    mkdirSync(series, { recursive: true });
    writeFileSync(join(series, 'Y3204040.csv'), 'date,q\n2012-08-01,1.5\n2012-08-02,1.2\n');
    const e = await refusal(
      base({
        gauges: { format: 'csv', stations, columns: { code: 'id', x: 'X', y: 'Y', area: 'A' }, series },
      }),
    );
    expect(e.details?.field).toBe('gauges.stations');
    expect(e.message).toMatch(/gauge FAR at \(5000000, 100\) is outside/);
  });

  it('a CRS missing', async () => {
    const spec = base();
    delete spec.crs;
    const e = await refusal(spec);
    expect(e.details?.field).toBe('descriptors[0].path');
    expect(e.message).toMatch(/no CRS/);
  });
});

describe('an interrupted assembly', () => {
  it('leaves no dataset folder, and an old dataset intact when replacing it', async () => {
    const out = join(tmp.dir, 'cut');
    let n = 0;
    await expect(assembleDataset(base({ out }), { cancelled: () => ++n > 20 })).rejects.toThrow(/cancelled/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith('.cut'))).toEqual([]);
    const first = await assembleDataset(base({ out, end: '2012-08-10' }));
    n = 0;
    await expect(
      assembleDataset(base({ out, overwrite: true }), { cancelled: () => ++n > 20 }),
    ).rejects.toThrow(/cancelled/);
    const ds = await loadSmashDataset({
      dir: out,
      start: new Date('2012-08-01T00:00:00Z'),
      end: new Date('2012-08-10T00:00:00Z'),
    });
    expect(ds.dates).toHaveLength(10);
    expect(first.manifest.end).toBe('2012-08-10T00:00:00.000Z');
  }, 60_000);

  it('a killed process leaves only a hidden temporary folder, removed by the next assembly', async () => {
    const out = join(tmp.dir, 'killed');
    // what a SIGKILL mid-write leaves: the temporary folder of a process that no longer exists
    const dead = join(tmp.dir, '.killed.assembling-999999-abc');
    mkdirSync(join(dead, 'prcp'), { recursive: true });
    expect(existsSync(out)).toBe(false);
    await assembleDataset(base({ out, end: '2012-08-03' }));
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(join(out, 'fieldcal-dataset.json'))).toBe(true);
  }, 60_000);
});

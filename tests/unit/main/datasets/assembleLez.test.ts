import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleDataset } from '../../../../src-main/services/datasets/assemble';
import { loadSmashDataset, type SmashDataset } from '../../../../src-main/services/datasets/smashDataset';
import { gaugeProblemFromDataset } from '../../../../src-main/services/calibration/gauges/problem';
import { trainHdaPr } from '../../../../src-main/services/calibration/methods/hda-pr/train';
import { tempDir } from '../../../helpers/tmp';

const LEZ = 'resources/sample-data/lez';
let tmp: ReturnType<typeof tempDir>;
let smash: SmashDataset;
let assembled: SmashDataset;
let out: string;
const stages: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  out = join(tmp.dir, 'lez-model');
  const r = await assembleDataset(
    {
      name: 'lez-model',
      out,
      step: 'daily',
      start: '2012-08-01',
      end: '2013-07-31',
      crs: 'EPSG:2154',
      forcing: [
        { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') }, units: 'mm' },
        { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') }, units: 'mm' },
      ],
      descriptors: ['drainage_density', 'karst', 'slope', 'soil_water_storage', 'urban', 'woodland'].map(
        (n) => ({ name: n, path: join(LEZ, 'descriptor', `${n}.tif`) }),
      ),
      flowdir: { path: join(LEZ, 'France_flwdir.tif') },
      gauges: { format: 'smash', path: LEZ },
    },
    { onProgress: (p) => stages.push(p.stage) },
  );
  expect(r.path).toBe(out);
  smash = await loadSmashDataset({
    dir: LEZ,
    flowdir: 'France_flwdir.tif',
    start: new Date('2012-08-01T00:00:00Z'),
    end: new Date('2013-07-31T00:00:00Z'),
    crs: 'EPSG:2154',
  });
  assembled = await loadSmashDataset({
    dir: out,
    start: new Date('2012-08-01T00:00:00Z'),
    end: new Date('2013-07-31T00:00:00Z'),
  });
}, 120_000);
afterAll(() => tmp?.cleanup());

describe('the Lez assembled from its parts (issue 15)', () => {
  it('writes the manifest, the flow directions and smash-layout stacks, the alignment recorded per input', () => {
    const m = JSON.parse(readFileSync(join(out, 'fieldcal-dataset.json'), 'utf8'));
    expect(m).toMatchObject({
      format: 'fieldcal-dataset',
      step: 'daily',
      stepSeconds: 86400,
      crs: 'EPSG:2154',
      flowdir: 'flowdir.tif',
    });
    const align = Object.fromEntries(m.inputs.map((i: { role: string; align: string }) => [i.role, i.align]));
    // the forcing and descriptors are a 14 x 27 window of France; the model grid is the catchment's box inside it
    expect(align).toMatchObject({
      flowdir: 'window',
      'forcing.prcp': 'window',
      'forcing.pet': 'window',
      'descriptor.slope': 'window',
    });
    expect(existsSync(join(out, 'prcp', '2012', '08', '201208010000_prcp.tif'))).toBe(true);
    expect(stages.at(-1)).toBe('done');
  });

  it('loads to the same catchment, forcing, descriptors and discharge as the smash-layout folder', () => {
    expect(assembled.net.cells).toBe(171);
    expect(assembled.catchment.cells).toBe(smash.catchment.cells);
    expect(Array.from(assembled.catchment.grid.mask!)).toEqual(Array.from(smash.catchment.grid.mask!));
    expect(assembled.catchment.grid.x0).toBe(smash.catchment.grid.x0);
    expect(assembled.catchment.grid.y0).toBe(smash.catchment.grid.y0);
    expect(assembled.dates.map(Number)).toEqual(smash.dates.map(Number));
    expect(assembled.stepSeconds).toBe(86400);
    // GeoTIFFs hold Float32 on both sides: equal to the bit
    expect(Array.from(assembled.P)).toEqual(Array.from(smash.P));
    expect(Array.from(assembled.E)).toEqual(Array.from(smash.E));
    expect(assembled.descriptorNames).toEqual(smash.descriptorNames);
    expect(Array.from(assembled.descriptors)).toEqual(Array.from(smash.descriptors));
    expect(assembled.gauges.map((g) => [g.code, g.cell, g.areaKm2])).toEqual(
      smash.gauges.map((g) => [g.code, g.cell, g.areaKm2]),
    );
    assembled.gauges.forEach((g, i) => expect(Array.from(g.obs)).toEqual(Array.from(smash.gauges[i]!.obs)));
  });

  it('gives the same HDA-PR result (NSE per gauge, parameters) as the smash-layout path', () => {
    // the settings of tests/unit/main/calibration/hdaPrLez.test.ts, fewer iterations
    const opts = { hidden: [16, 16], iterations: 30, learningRate: 0.003, seed: 1, warmup: 0 };
    const a = trainHdaPr(gaugeProblemFromDataset(smash), opts);
    const b = trainHdaPr(gaugeProblemFromDataset(assembled), opts);
    expect(b.scores.map((s) => [s.code, s.nse])).toEqual(a.scores.map((s) => [s.code, s.nse]));
    for (const k of Object.keys(a.params))
      expect(Array.from(b.params[k as keyof typeof b.params]!), k).toEqual(
        Array.from(a.params[k as keyof typeof a.params]!),
      );
    expect(a.objective).toBeLessThan(a.history[0]!);
  }, 120_000);
});

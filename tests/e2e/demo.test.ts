import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gdalEpsg, gdalinfoJson, hasGdal } from '../helpers/gdal';
import { tempDir } from '../helpers/tmp';

describe('the README main command: fieldcal demo', () => {
  it('calibrates the bundled Lez data and writes parameter GeoTIFFs and the report', () => {
    const tmp = tempDir('fieldcal-demo-');
    const out = join(tmp.dir, 'demo');
    // few iterations: the science is checked in tests/unit/main/calibration/hdaPrLez.test.ts
    const r = spawnSync(
      process.execPath,
      ['bin/fieldcal.mjs', 'demo', '--out', out, '--iterations', '15', '--json'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as {
      scores: Array<{ code: string; nse: number }>;
      parameters: string[];
      report: string;
    };
    expect(res.scores.map((s) => s.code)).toEqual(['Y3204040', 'Y3204030', 'Y3204010']);
    expect(res.parameters.map((p) => p.split('/').pop())).toEqual([
      'X1.tif',
      'X2.tif',
      'X3.tif',
      'X4.tif',
      'llr.tif',
    ]);
    expect(existsSync(res.report)).toBe(true);
    if (hasGdal) {
      const g = gdalinfoJson(res.parameters[0]!);
      expect(gdalEpsg(g)).toBe(2154);
      expect(g.geoTransform).toEqual([761000, 1000, 0, 6302000, 0, -1000]);
    }
    tmp.cleanup();
  }, 120_000);
});

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jobSpecSchema, type GaugesJobSpec } from '../../src-shared/ipc';
import { CN_GAUGE_BOUNDS } from '../../src-main/services/calibration/gauges/problem';
import { computeHandle } from '../../src-main/services/compute';
import { runGaugesJob } from '../../src-main/services/jobs/gaugesJob';
import { checkJobSpec, specIssues } from '../../src-main/services/jobs/specs';
import { gdalXyz, gdalinfoJson } from '../helpers/gdal';

/**
 * Inverse mapping as a gauge job on the Lez (cn-lr, woodland as the vegetation descriptor): tiny
 * settings (64 candidates, one CEM iteration, 3 epochs); its CN GeoTIFF read back through GDAL, its
 * report's inverse-mapping sections, and the structure and method refused when they do not match.
 */
const LEZ = resolve('resources/sample-data/lez');
const dir = mkdtempSync(join(tmpdir(), 'fieldcal-inverse-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  kind: 'gauges',
  seed: 3,
  dataset: { path: LEZ, start: '2012-08-01', end: '2013-07-31' },
  periods: [
    { name: 'warmup', start: '2012-08-01', end: '2012-09-30' },
    { name: 'train', start: '2012-10-01', end: '2013-03-31' },
    { name: 'test', start: '2013-04-01', end: '2013-07-31' },
  ],
};

describe('inverse-mapping gauge job (cn-lr) on the Lez', () => {
  it('refuses cn-lr with another method and inverse-mapping on gr4-lr, naming structure', () => {
    const a = specIssues(jobSpecSchema.parse({ ...base, method: 'hda-pr', structure: 'cn-lr' }));
    expect(a.issues.map((i) => i.path)).toContain('structure');
    const b = specIssues(jobSpecSchema.parse({ ...base, method: 'inverse-mapping' }));
    expect(b.issues.find((i) => i.path === 'structure')?.message).toMatch(/set structure to cn-lr/);
    expect(jobSpecSchema.parse({ ...base, method: 'hda-pr' })).toMatchObject({ structure: 'gr4-lr' });
  });

  it('runs every phase and writes CN, Ks, Smax, kg, llr GeoTIFFs within bounds, test scores and the report sections', async () => {
    const spec = checkJobSpec(
      jobSpecSchema.parse({
        ...base,
        method: 'inverse-mapping',
        structure: 'cn-lr',
        options: {
          candidates: 64,
          filters: { vegetation: { descriptor: 'woodland' } },
          cem: { iterations: 1, samples: 32 },
          network: { epochs: 3, filters: 4, latent: 8, hidden: 8 },
        },
      }),
    ) as GaugesJobSpec;
    const phases: string[] = [];
    const states: unknown[] = [];
    const out = await runGaugesJob(
      spec,
      1,
      dir,
      {
        compute: await computeHandle(),
        cancelled: () => false,
        progress: (p) => {
          if (p.phase && phases[phases.length - 1] !== p.phase) phases.push(p.phase);
        },
        checkpoint: (s) => states.push(s),
      },
      () => undefined,
    );
    expect(phases).toEqual(['candidates', 'filters', 'cem', 'network']);
    expect(states.length).toBe(2);
    const tifs = out.artifacts.filter((a) => a.kind === 'parameter-geotiff').map((a) => a.path);
    expect(tifs.map((p) => p.slice(dir.length + 1))).toEqual([
      'CN.tif',
      'Ks.tif',
      'Smax.tif',
      'kg.tif',
      'llr.tif',
    ]);
    const cn = gdalXyz(tifs[0]!)
      .map((l) => Number(l.split(/\s+/)[2]))
      .filter((v) => v !== -9999);
    expect(cn).toHaveLength(171);
    for (const v of cn) {
      expect(v).toBeGreaterThanOrEqual(CN_GAUGE_BOUNDS.lower[0]! - 1e-3);
      expect(v).toBeLessThanOrEqual(CN_GAUGE_BOUNDS.upper[0]! + 1e-3);
    }
    expect(gdalinfoJson(tifs[1]!).bands[0]!.description).toBe('Ks');
    const test = out.metrics.filter((m) => m.period === 'test' && m.metric === 'nse');
    expect(test.map((m) => m.target).sort()).toEqual(['Y3204010', 'Y3204030', 'Y3204040']);
    const html = readFileSync(join(dir, 'report', 'index.html'), 'utf8');
    expect(html).toContain('Curve Number + lr');
    expect(html).toContain('Inverse mapping: physical filters');
    expect(html).toContain('Inverse mapping: Cross-Entropy convergence');
    expect(html).toContain('Inverse mapping: network validation');
  }, 60_000);
});

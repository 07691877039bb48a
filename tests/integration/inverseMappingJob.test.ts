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
 * settings (64 candidates on 2 threads, one CEM iteration, 6 epochs); its CN GeoTIFF read back
 * through GDAL, its report's inverse-mapping sections, the structure and method refused when they
 * do not match; and a run cancelled in the network phase then resumed from its last checkpoint
 * writes byte-identical GeoTIFFs to the uninterrupted run.
 */
const LEZ = resolve('resources/sample-data/lez');
const dir = mkdtempSync(join(tmpdir(), 'fieldcal-inverse-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const EPOCHS = 6;
const options = {
  candidates: 64,
  filters: { vegetation: { descriptor: 'woodland' } },
  cem: { iterations: 1, samples: 32 },
  network: { epochs: EPOCHS, patience: EPOCHS, filters: 4, latent: 8, hidden: 8, extraPairs: 16 },
  // the network's own fields (the resume check compares networks, not the search's best candidate)
  selection: 'network',
};
/** The uninterrupted run's GeoTIFFs, by name. */
const whole = new Map<string, Buffer>();

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
        threads: 2,
        options,
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
    // one after the 64 candidates, one after the CEM iteration, one after each epoch
    expect(states.length).toBe(2 + EPOCHS);
    expect((states.at(-1) as { network: { epoch: number } }).network.epoch).toBe(EPOCHS);
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
    expect(html).toContain('Inverse mapping: selection');
    for (const p of tifs) whole.set(p.slice(dir.length + 1), readFileSync(p));
  }, 120_000);

  it('cancelled after 3 network epochs and resumed from its checkpoint, writes the same GeoTIFFs byte for byte', async () => {
    expect(whole.size).toBe(5);
    const spec = checkJobSpec(
      jobSpecSchema.parse({ ...base, method: 'inverse-mapping', structure: 'cn-lr', threads: 1, options }),
    ) as GaugesJobSpec;
    const compute = await computeHandle();
    let epochs = 0;
    let last: unknown;
    const cut = join(dir, 'cut');
    await runGaugesJob(
      spec,
      2,
      cut,
      {
        compute,
        cancelled: () => epochs >= 3,
        progress: (p) => {
          if (p.phase === 'network') epochs = p.iteration;
        },
        // the job host keeps checkpoints as JSON
        checkpoint: (s) => (last = JSON.parse(JSON.stringify(s))),
      },
      () => undefined,
    );
    const saved = last as { phase: string; network: { epoch: number } };
    expect(saved.phase).toBe('network');
    expect(saved.network.epoch).toBe(3);
    const resumed = join(dir, 'resumed');
    const phases: string[] = [];
    const seen: number[] = [];
    const out = await runGaugesJob(
      spec,
      3,
      resumed,
      {
        compute,
        cancelled: () => false,
        resume: saved,
        progress: (p) => {
          if (p.phase && phases[phases.length - 1] !== p.phase) phases.push(p.phase);
          if (p.phase === 'network') seen.push(p.iteration);
        },
      },
      () => undefined,
    );
    // the search is not run again: the network goes on from epoch 4
    expect(phases).toEqual(['filters', 'network']);
    expect(seen).toEqual([4, 5, 6]);
    const tifs = out.artifacts.filter((a) => a.kind === 'parameter-geotiff').map((a) => a.path);
    expect(tifs).toHaveLength(5);
    for (const p of tifs) {
      const name = p.slice(resumed.length + 1);
      expect(readFileSync(p).equals(whole.get(name)!), name).toBe(true);
    }
    // and the cut run's fields (best of 3 epochs) are not those of the whole run: the check can fail
    expect(readFileSync(join(cut, 'CN.tif')).equals(whole.get('CN.tif')!)).toBe(false);
  }, 120_000);

  it('a job cancelled before 4 plausible candidates exist ends cleanly as cancelled, with its GeoTIFFs and report', async () => {
    const spec = checkJobSpec(
      jobSpecSchema.parse({ ...base, method: 'inverse-mapping', structure: 'cn-lr', threads: 1, options }),
    ) as GaugesJobSpec;
    const out = await runGaugesJob(
      spec,
      4,
      join(dir, 'cancelled'),
      { compute: await computeHandle(), cancelled: () => true, progress: () => undefined },
      () => undefined,
    );
    // the host marks a run cancelled from info.cancelled (jobs/host.ts); before, this threw VALIDATION
    expect(out.info).toMatchObject({ cancelled: true, cancelledIn: 'candidates', candidates: 0 });
    expect(out.artifacts.filter((a) => a.kind === 'parameter-geotiff')).toHaveLength(5);
    const html = readFileSync(join(dir, 'cancelled', 'report', 'index.html'), 'utf8');
    expect(html).toContain('Inverse mapping: cancelled');
  }, 120_000);
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobSpecSchema, type LumpedJobSpec } from '../../src-shared/types/jobs';
import { methodOptions } from '../../src-main/services/calibration/registry';
import { computeHandle } from '../../src-main/services/compute';
import { runLumpedJob } from '../../src-main/services/jobs/lumpedJob';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const CSV = resolve('tests/fixtures/airgr-L0123001/L0123001_BasinObs.csv');
const period = { warmupStart: '1990-01-01', start: '1990-12-01', end: '1992-12-31' };
const options = {
  hidden: 4,
  epochs: 2,
  warmSteps: 60,
  windowSteps: 120,
  strideSteps: 120,
  batch: 8,
  validSteps: 100,
};
const tmp = tempDir('fieldcal-nexus-');
afterAll(() => tmp.cleanup());

describe('bucket-nexus on a basin CSV', () => {
  it('fieldcal calibrate trains it; fieldcal simulate runs the saved model to the same discharge', () => {
    const cfg = join(tmp.dir, 'run.json');
    writeFileSync(
      cfg,
      JSON.stringify({ method: 'bucket-nexus', period, options: { ...options, responses: false } }),
    );
    const out = join(tmp.dir, 'cal');
    const c = runCli(['calibrate', '--dataset', CSV, '--config', cfg, '--out', out, '--json']);
    expect(c.stderr).not.toMatch(/Error/);
    expect(c.status).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(res.model.kind).toBe('bucket-nexus');
    const nseCal = res.metrics.calibration.nse as number;
    expect(Number.isFinite(nseCal)).toBe(true);
    const simCfg = join(tmp.dir, 'sim.json');
    writeFileSync(simCfg, JSON.stringify({ period }));
    const s = runCli([
      'simulate',
      '--dataset',
      CSV,
      '--params',
      join(out, 'result.json'),
      '--config',
      simCfg,
      '--out',
      join(tmp.dir, 'sim'),
      '--json',
    ]);
    expect(s.status).toBe(0);
    const sim = JSON.parse(s.stdout.trim().split('\n').at(-1)!);
    expect(sim.metrics.simulation.nse).toBeCloseTo(nseCal, 10);
  });

  it('runs as a lumped job: progress per epoch, checkpoints, result.json with the model, response figures', async () => {
    const spec = jobSpecSchema.parse({
      kind: 'lumped',
      method: 'bucket-nexus',
      options: methodOptions('bucket-nexus', 'lumped', options),
      dataset: { path: CSV },
      period,
    }) as LumpedJobSpec;
    const progress: number[] = [];
    const checkpoints: unknown[] = [];
    const outDir = join(tmp.dir, 'job');
    const r = await runLumpedJob(spec, 1, outDir, {
      compute: await computeHandle(),
      cancelled: () => false,
      progress: (p) => progress.push(p.iteration),
      checkpoint: (c) => checkpoints.push(c),
      workDir: join(outDir, 'checkpoints'),
    });
    expect(progress).toEqual([1, 2]);
    expect(checkpoints).toHaveLength(2);
    expect(r.metrics.map((m) => m.metric)).toEqual(['nse', 'kge']);
    const res = JSON.parse(readFileSync(join(outDir, 'result.json'), 'utf8'));
    expect(res.model.weights.length).toBe(5);
    const wb = r.info.waterBalance as { closure: number };
    expect(wb.closure).toBeLessThan(1e-9);
    expect(r.info.tensorsLeaked).toBe(0);
    const figs = r.artifacts.filter((a) => a.kind === 'report-file').map((a) => a.path);
    expect(figs).toHaveLength(4);
    for (const f of figs) {
      expect(existsSync(f)).toBe(true);
      expect(readFileSync(f).subarray(1, 4).toString()).toBe('PNG');
    }
  });
});

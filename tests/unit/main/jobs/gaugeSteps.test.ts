import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jobSpecSchema, type GaugesJobSpec } from '../../../../src-shared/ipc';
import { gaugeBounds, type GaugeProblem } from '../../../../src-main/services/calibration/gauges/problem';
import { trainHdaPr } from '../../../../src-main/services/calibration/methods/hda-pr/train';
import type { MethodContext } from '../../../../src-main/services/calibration/method';
import { loadSmashDataset } from '../../../../src-main/services/datasets/smashDataset';
import { readSmashGauges, seriesWindow } from '../../../../src-main/services/grid/gauges';
import { buildNetwork } from '../../../../src-main/services/physics/routing/lr';
import { runGaugesJob } from '../../../../src-main/services/jobs/gaugesJob';
import { checkJob } from '../../../../src-main/services/jobs/preflight';
import { JobHost } from '../../../../src-main/services/jobs/host';
import { AppEvents } from '../../../../src-main/services/events';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { tempDir } from '../../../helpers/tmp';

const LEZ = resolve('resources/sample-data/lez');
let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

/** A copy of the Lez whose gauge Y3204010 has 61 days of hourly discharge (`date,q` rows). */
function lezWithHourlyGauge(): { dir: string; file: string; values: number[] } {
  const dir = join(tmp.dir, 'lez');
  cpSync(LEZ, dir, { recursive: true });
  const file = join(dir, 'qobs', 'Y3204010.csv');
  const values: number[] = [];
  const rows = ['date,q'];
  for (let h = 0; h <= 1440; h++) {
    const t = new Date(Date.UTC(2012, 7, 1) + h * 3600_000).toISOString();
    const q = Math.round((0.4 + 0.3 * Math.sin(h / 17)) * 1000) / 1000;
    values.push(q);
    rows.push(`${t.slice(0, 10)} ${t.slice(11, 16)},${q}`);
  }
  writeFileSync(file, `${rows.join('\n')}\n`);
  return { dir, file, values };
}

describe('hourly discharge is read at its own step, never windowed at another', () => {
  it('reads a dated hourly series at its step and refuses it for a daily model, naming the file', async () => {
    const { dir, file, values } = lezWithHourlyGauge();
    const hourly = await readSmashGauges(dir, 3600);
    const s = hourly.find((g) => g.code === 'Y3204010')!.series!;
    expect(s.stepSeconds).toBe(3600);
    expect(s.stepFrom).toBe('dates');
    expect(s.values).toHaveLength(1441);
    expect(s.values[1000]).toBe(values[1000]);
    // the undated smash series of the other gauges take the model's step
    expect(hourly.find((g) => g.code === 'Y3204040')!.series!.stepSeconds).toBe(3600);
    // one value per hour over two days and a half
    const w = seriesWindow(s, new Date('2012-08-03T00:00:00Z'), new Date('2012-08-05T12:00:00Z'), 3600);
    expect(w).toHaveLength(61);
    expect(w[0]).toBe(values[48]);
    await expect(readSmashGauges(dir, 86400)).rejects.toMatchObject({
      code: 'INCONSISTENT_DATA',
      message: expect.stringContaining(`${file}: observed discharge of gauge Y3204010 is hourly`),
      details: { file, seriesStep: 3600, modelStep: 86400 },
    });
    expect(() =>
      seriesWindow(s, new Date('2012-08-03T00:00:00Z'), new Date('2012-08-05T00:00:00Z'), 86400),
    ).toThrow(/is hourly .* model step is daily/);
    // the daily loader refuses it too (found when the data is loaded)
    await expect(
      loadSmashDataset({
        dir,
        start: new Date('2012-08-01T00:00:00Z'),
        end: new Date('2012-09-30T00:00:00Z'),
      }),
    ).rejects.toThrow(/Y3204010\.csv: observed discharge of gauge Y3204010 is hourly/);
  });

  it('jobs.check finds the step mismatch at submit, naming the file, before any training', async () => {
    const { dir, file } = lezWithHourlyGauge();
    const { issues } = await checkJob({
      kind: 'gauges',
      method: 'hda-pr',
      dataset: { path: dir, start: '2012-08-01', end: '2012-09-30' },
      options: { iterations: 5 },
    });
    const issue = issues.find((i) => i.path === 'gauges');
    expect(issue?.message).toContain(file);
    expect(issue?.message).toMatch(/hourly .* model step is daily/);
  });

  it('regression (issue 15): HDA-PR with 61 observations for 1441 hourly steps is refused before training', () => {
    const rows = 3;
    const cols = 3;
    const dir = new Int8Array(rows * cols).fill(-1);
    const net = buildNetwork({ rows, cols, dir, mask: null, cellSizeM: 1000 });
    const steps = 1441;
    const b = gaugeBounds(3600);
    const pb: GaugeProblem = {
      net,
      steps,
      dt: 3600,
      P: new Float64Array(steps * net.cells).fill(0.1),
      E: new Float64Array(steps * net.cells).fill(0.05),
      descriptors: Float64Array.from({ length: net.cells * 2 }, (_, i) => (i % 3) - 1),
      nDescriptors: 2,
      gauges: [{ code: 'Y3204010', cell: 4, obs: new Float64Array(61).fill(1) }],
      lower: b.lower,
      upper: b.upper,
      warmup: 0,
    };
    let iterations = 0;
    expect(() =>
      trainHdaPr(
        pb,
        { hidden: [], iterations: 3, learningRate: 0.01, seed: 1, warmup: 0 },
        () => iterations++,
      ),
    ).toThrow(/gauge Y3204010: 61 observed values for 1441 model steps of 3600 s/);
    expect(iterations).toBe(0);
  });
});

describe('a gauge job that fails after training keeps what it trained', () => {
  it('writes the learned fields (GeoTIFFs, read back by GDAL) and trained.json, and its error says why', async () => {
    const dir = join(tmp.dir, 'lez');
    cpSync(LEZ, dir, { recursive: true });
    const out = join(tmp.dir, 'run');
    // the report folder cannot be made: a file stands in its place (a failure after training)
    cpSync(join(LEZ, 'README.md'), join(out, 'report'), { recursive: true });
    const spec = jobSpecSchema.parse({
      kind: 'gauges',
      method: 'hda-pr',
      dataset: { path: dir, start: '2012-08-01', end: '2012-12-31' },
      warmup: 30,
      seed: 1,
      options: { iterations: 2, hidden: [], learningRate: 0.01 },
    }) as GaugesJobSpec;
    const iterations: number[] = [];
    const ctx = {
      compute: {} as MethodContext['compute'],
      progress: (p: { iteration: number }) => iterations.push(p.iteration),
      cancelled: () => false,
    } as MethodContext;
    const err = await runGaugesJob(spec, 7, out, ctx, () => undefined).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; details: Record<string, unknown> },
    );
    expect(iterations).toEqual([1, 2]);
    expect(err).not.toBeNull();
    expect(err!.message).toMatch(
      /after training: the learned fields are kept in .*X1\.tif, X2\.tif, X3\.tif, X4\.tif, llr\.tif, trained\.json/,
    );
    expect(err!.details.phase).toBe('evaluating');
    const kept = err!.details.keptArtifacts as Array<{ kind: string; path: string; sizeBytes: number }>;
    expect(kept.map((a) => a.kind)).toEqual([...Array(5).fill('parameter-geotiff'), 'trained-json']);
    const trained = JSON.parse(readFileSync(join(out, 'trained.json'), 'utf8')) as {
      stepSeconds: number;
      parameters: Record<string, number[]>;
    };
    expect(trained.stepSeconds).toBe(86400);
    expect(trained.parameters.X1).toHaveLength(171);
    // the first active cell of the catchment grid, as GDAL reads X1.tif, is the first trained value
    const info = JSON.parse(
      execFileSync('gdalinfo', ['-json', join(out, 'X1.tif')], { encoding: 'utf8' }),
    ) as {
      size: [number, number];
    };
    const [w, h] = info.size;
    let found: number | null = null;
    for (let r = 0; r < h && found === null; r++)
      for (let c = 0; c < w && found === null; c++) {
        const v = Number(
          execFileSync('gdallocationinfo', ['-valonly', join(out, 'X1.tif'), String(c), String(r)], {
            encoding: 'utf8',
            env: { ...process.env, GDAL_PAM_ENABLED: 'NO' },
          }).trim(),
        );
        if (v !== -9999) found = v;
      }
    expect(found).toBeCloseTo(trained.parameters.X1![0]!, 4);
    expect(existsSync(join(out, 'llr.tif'))).toBe(true);
  }, 120_000);

  it('run through the job host: the run fails with why, and its trained fields are recorded as its artifacts', async () => {
    const out = join(tmp.dir, 'run');
    cpSync(join(LEZ, 'README.md'), join(out, 'report'), { recursive: true });
    const store = ProjectStore.create({ path: join(tmp.dir, 'p.fieldcal') });
    const host = new JobHost(store, new AppEvents());
    try {
      const run = host.submit(
        {
          kind: 'gauges',
          method: 'hda-pr',
          dataset: { path: LEZ, start: '2012-08-01', end: '2012-12-31' },
          warmup: 30,
          seed: 1,
          options: { iterations: 2, hidden: [], learningRate: 0.01 },
        },
        { outDir: out },
      );
      const done = await host.wait(run.id);
      expect(done.status).toBe('failed');
      expect(done.error).toMatch(/after training: the learned fields are kept in .*X1\.tif.*trained\.json/);
      const kinds = store.runs.artifacts(run.id).map((a) => a.kind);
      expect(kinds.sort()).toEqual([...Array(5).fill('parameter-geotiff'), 'trained-json']);
    } finally {
      await host.close();
      store.close();
    }
  }, 120_000);
});

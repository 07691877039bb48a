import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { FieldcalError, type Grid, type RunMetric } from '../../../src-shared/ipc';
import { defaultSimulation, evaluateFields, toGrid, type Evaluation } from '../calibration/gridded/evaluate';
import type { MethodContext, MethodProgress } from '../calibration/method';
import { restrictProblem, targetOutput, type GriddedProblem } from '../calibration/gridded/problem';
import { cellsInside } from '../grid/studyArea';
import { LocalSimulator, type Simulator } from '../calibration/gridded/simulator';
import { loadMethodModules, runMethod } from '../calibration/registry';
import { artifactOf } from '../common/checksum';
import { computeHandle } from '../compute';
import { makeTwin } from '../calibration/twin/generate';
import {
  baseOfDataset,
  defaultSplit,
  griddedProblemFromDataset,
  periodsOf,
} from '../calibration/gridded/fromDataset';
import { stepPeriods } from '../calibration/gridded/periods';
import { loadSmashDataset } from '../datasets/smashDataset';
import { writeFileAtomic } from '../common/atomicFile';
import { exportFields } from '../rasters/writeGeoTiff';
import { writeMetricRasters } from '../calibration/gridded/metricRasters';
import { targetWindow } from '../calibration/gridded/coarse';
import { writeGriddedReport } from '../report/gridReport';
import { VIC3L } from '../physics/vic3l';
import { runGaugesJob } from './gaugesJob';
import { runLumpedJob } from './lumpedJob';
import { runBasinsJob } from './basinsJob';
import { ModelPool } from './modelPool';
import type { JobSpec } from '../../../src-shared/ipc';

/** What a job worker receives at start. */
export interface JobWorkerData {
  role: 'job';
  runId: number;
  spec: JobSpec;
  outDir: string;
  /** Int32 flag set to 1 by the host to cancel. */
  cancel: SharedArrayBuffer;
  resume: unknown;
}

/** Messages a job worker sends to its host. */
export type JobMessage =
  | {
      type: 'progress';
      progress: MethodProgress & { phase: string; etaSeconds?: number };
      /** Every iteration since the last message (progress events are throttled; the loss curve keeps them all). */
      points?: MethodProgress[];
    }
  | { type: 'checkpoint'; iteration: number; state: unknown }
  | { type: 'result'; result: JobResult }
  | { type: 'error'; error: { code: string; message: string; details?: Record<string, unknown> } };

export interface JobResult {
  cancelled: boolean;
  metrics: RunMetric[];
  artifacts: Array<{ kind: string; path: string; sizeBytes: number; checksum: string }>;
  /** The gridded evaluation (twin and gridded jobs; gauge jobs score their gauges in `metrics`). */
  evaluation?: Omit<Evaluation, 'sim'> | undefined;
  truthEvaluation?: Omit<Evaluation, 'sim'> | undefined;
  info: Record<string, unknown>;
  seconds: number;
}

/** The synthetic twin's grid: 0.25° cells over the Huaihe region (the GAN-PO paper's domain), WGS 84. */
export const twinGrid = (pr: GriddedProblem): Grid => ({
  crs: 'EPSG:4326',
  x0: 112,
  y0: 36.5,
  dx: 0.25,
  dy: 0.25,
  rows: pr.rows,
  cols: pr.cols,
  mask: pr.mask,
});

const post = (m: JobMessage) => parentPort!.postMessage(m);

/** Metrics rows of an evaluation: per period, then the test-period summary table and parameter correlations. */
export function evaluationMetrics(ev: Omit<Evaluation, 'sim'>, target = 'ET'): RunMetric[] {
  const rows: RunMetric[] = [];
  for (const [period, m] of Object.entries(ev.periods))
    for (const [metric, value] of Object.entries(m)) rows.push({ period, target, metric, value });
  const s = ev.summary;
  for (const [metric, value] of [
    ['pct_cc_above_0.75', s.pctCcAbove075],
    ['pct_kge_above_0.6', s.pctKgeAbove06],
    ['pct_rmse_reduced', s.pctRmseReduced],
    ['mean_eof', s.meanEof],
    ['mean_ssim', s.meanSsim],
  ] as const)
    rows.push({ period: 'test', target: `${target}-summary`, metric, value });
  for (const [name, r] of Object.entries(ev.parameterCorrelation ?? {}))
    rows.push({ period: 'all', target: `parameter:${name}`, metric: 'cc_with_truth', value: r });
  return rows;
}

/** Runs the job described by the worker data, posting progress, checkpoints and the result. */
export async function jobWorkerMain(d: JobWorkerData): Promise<void> {
  let sim: Simulator | null = null;
  try {
    const t0 = performance.now();
    const cancel = new Int32Array(d.cancel);
    const spec = d.spec;
    post({
      type: 'progress',
      progress: { phase: 'preparing', iteration: 0, total: 0, objective: Number.NaN },
    });
    // compute (tfjs and its backend) and plugin methods once per worker, before the problem is built
    const compute = await computeHandle();
    await loadMethodModules();
    let start = performance.now();
    let last = 0;
    let points: MethodProgress[] = [];
    let lastPhase = 'calibrating';
    const ctx: MethodContext = {
      compute,
      cancelled: () => Atomics.load(cancel, 0) === 1,
      progress: (p) => {
        // a method's own phase (e.g. 'surrogate', issue 17) or calibrating; a new phase flushes
        // the points of the previous one first, so every stored point keeps its phase
        const phase = p.phase ?? 'calibrating';
        if (phase !== lastPhase && points.length) {
          const q = points[points.length - 1]!;
          post({ type: 'progress', progress: { ...q, phase: lastPhase }, points });
          points = [];
        }
        lastPhase = phase;
        if (points.length < 10_000) points.push(p);
        const now = performance.now();
        if (now - last < 250 && p.iteration < p.total) return;
        last = now;
        const eta =
          p.iteration > 0 && p.total > 0
            ? ((now - start) / 1000 / p.iteration) * (p.total - p.iteration)
            : undefined;
        post({ type: 'progress', progress: { ...p, phase, etaSeconds: eta }, points });
        points = [];
      },
      checkpoint: (state) =>
        post({ type: 'checkpoint', iteration: (state as { iteration: number }).iteration, state }),
      resume: d.resume ?? undefined,
      workDir: join(d.outDir, 'checkpoints'),
    };
    /** A gauges, basins or lumped job's outcome, as the job host records it. */
    const postOutcome = (out: Pick<JobResult, 'metrics' | 'artifacts' | 'info'>) =>
      post({
        type: 'result',
        result: {
          cancelled: Atomics.load(cancel, 0) === 1,
          metrics: out.metrics,
          artifacts: out.artifacts,
          info: out.info,
          seconds: (performance.now() - t0) / 1000,
        },
      });
    if (spec.kind === 'gauges') {
      // gauge discharge: GR4J + lr on the dataset's catchment, the method's gauges runner
      const out = await runGaugesJob(spec, d.runId, d.outDir, ctx, (phase) => {
        // calibration starts: the ETA counts from here, not from the data loading
        if (phase === 'calibrating') start = performance.now();
        else post({ type: 'progress', progress: { phase, iteration: 0, total: 0, objective: Number.NaN } });
      });
      postOutcome(out);
      return;
    }
    if (spec.kind === 'basins') {
      // many basins learned together (issue 20): the method's basins runner on the folder
      start = performance.now();
      const out = await runBasinsJob(spec, d.runId, d.outDir, ctx);
      postOutcome(out);
      return;
    }
    if (spec.kind === 'lumped') {
      // a lumped basin: the method's lumped runner on the basin CSV, as `fieldcal calibrate` (issue 18)
      post({
        type: 'progress',
        progress: { phase: 'calibrating', iteration: 0, total: 0, objective: Number.NaN },
      });
      start = performance.now();
      const out = await runLumpedJob(spec, d.runId, d.outDir, ctx);
      postOutcome(out);
      return;
    }
    const { pr, truth, grid, dates: allDates, title, description } = await buildProblem(spec);
    sim = spec.threads === 1 ? new LocalSimulator(pr) : await ModelPool.create(pr, spec.threads || undefined);
    start = performance.now();
    // the spec's options were parsed once when the job was submitted: passed on as they are
    const r = await runMethod('gridded', spec.method, pr, spec.options, spec.seed, { ...ctx, sim });
    const cancelled = Atomics.load(cancel, 0) === 1;
    post({
      type: 'progress',
      progress: { phase: 'evaluating', iteration: 0, total: 0, objective: Number.NaN },
    });
    // what was trained is written first (one GeoTIFF per calibrated parameter, and the hidden truth):
    // a failure while evaluating or reporting keeps it and says why (issue 15)
    await mkdir(d.outDir, { recursive: true });
    const full = (a: Float64Array) => toGrid(pr, a, 1);
    const tifs = await exportFields({
      dir: d.outDir,
      grid,
      nodata: -9999,
      layout: 'per-field',
      fields: [
        ...pr.calibrated.map((name, k) => ({
          name,
          data: nanTo(full(r.fields[k]!), -9999),
          units: VIC3L.parameters.find((p) => p.name === name)!.unit,
        })),
        ...(truth ?? []).map((f, k) => ({ name: `truth_${pr.calibrated[k]!}`, data: nanTo(full(f), -9999) })),
      ],
    });
    const trainedFile = join(d.outDir, 'trained.json');
    await writeFileAtomic(trainedFile, (tmp) =>
      writeFile(
        tmp,
        `${JSON.stringify({ runId: d.runId, method: spec.method, calibrated: pr.calibrated, info: r.info }, null, 2)}\n`,
      ),
    );
    const keptAfterTraining = () =>
      Promise.all(
        [
          ...tifs.map((t) => ['parameter-geotiff', t.path] as const),
          ['trained-json', trainedFile] as const,
        ].map(([kind, path]) => artifactOf(kind, path)),
      );
    try {
      const simDefault = defaultSimulation(pr, sim);
      const { sim: et, ...evaluation } = evaluateFields(pr, sim, r.fields, simDefault, truth);
      const truthEvaluation = truth
        ? withoutSim(evaluateFields(pr, sim, truth, simDefault, truth))
        : undefined;
      // the simulated target over every period: one band per step, its date as the band description
      const simulated = await exportFields({
        dir: d.outDir,
        grid,
        nodata: -9999,
        layout: 'multiband',
        multibandName: `simulated_${pr.target.name}.tif`,
        fields: allDates.map((date, t) => ({
          name: date.toISOString().slice(0, 10),
          data: nanTo(toGrid(pr, et.subarray(t * pr.cells, (t + 1) * pr.cells), 1), -9999),
          units: targetOutput(pr.target.name).units,
        })),
      });
      // the observed target on the same bands, so the map can show observed - simulated for any day;
      // a coarse (monthly) target at its own step, with the simulation aggregated the same way beside it
      const units = targetOutput(pr.target.name).units;
      const coarse = pr.target.coarse;
      const whole = coarse ? targetWindow(pr.target, et, 0, pr.steps, pr.cells) : null;
      const coarseDate = (k: number) =>
        coarse?.dates?.[k]?.toISOString().slice(0, 7) ?? `target step ${k + 1}`;
      const observed = await exportFields({
        dir: d.outDir,
        grid,
        nodata: -9999,
        layout: 'multiband',
        multibandName: `observed_${pr.target.name}${coarse ? `_${coarse.rule === 'mean' ? 'monthly-mean' : 'monthly-sum'}` : ''}.tif`,
        fields: whole
          ? (whole.targetSteps ?? []).map((k, i) => ({
              name: coarseDate(k),
              data: nanTo(toGrid(pr, whole.obs.subarray(i * pr.cells, (i + 1) * pr.cells), 1), -9999),
              units,
            }))
          : allDates.map((date, t) => ({
              name: date.toISOString().slice(0, 10),
              data: nanTo(toGrid(pr, pr.target.obs.subarray(t * pr.cells, (t + 1) * pr.cells), 1), -9999),
              units,
            })),
      });
      if (whole)
        simulated.push(
          ...(await exportFields({
            dir: d.outDir,
            grid,
            nodata: -9999,
            layout: 'multiband',
            multibandName: `simulated_${pr.target.name}_${coarse!.rule === 'mean' ? 'monthly-mean' : 'monthly-sum'}.tif`,
            fields: (whole.targetSteps ?? []).map((k, i) => ({
              name: coarseDate(k),
              data: nanTo(toGrid(pr, whole.sim.subarray(i * pr.cells, (i + 1) * pr.cells), 1), -9999),
              units,
            })),
          })),
        );
      const [s0, s1] = pr.periods.test;
      const n = pr.cells;
      const dates = allDates.slice(s0, s1);
      // per-cell RMSE, CC, KGE and relative RMSE change over the test period, as GeoTIFFs for the map
      // compared at the target's own step (a monthly target against monthly means: gridded/coarse.ts)
      const wCal = targetWindow(pr.target, et, s0, s1, n);
      const wDef = targetWindow(pr.target, simDefault, s0, s1, n);
      const metricTifs = await writeMetricRasters({
        dir: d.outDir,
        grid,
        obs: toGrid(pr, wCal.obs, wCal.steps),
        sim: toGrid(pr, wCal.sim, wCal.steps),
        simDefault: toGrid(pr, wDef.sim, wDef.steps),
        steps: wCal.steps,
        units,
        period: 'test',
      });
      const report = await writeGriddedReport({
        dir: join(d.outDir, 'report'),
        title: `${title}: ${spec.method} on vic3l`,
        description: `${description} ${spec.method} calibrated on ${pr.periods.train[1] - pr.periods.train[0]} training steps; test period against the default-parameter run${coarse ? `, compared at the target's own step (monthly ${coarse.rule === 'mean' ? 'means' : 'sums'} of the simulation)` : ''}.`,
        obs: toGrid(pr, wCal.obs, wCal.steps),
        sim: toGrid(pr, wCal.sim, wCal.steps),
        simDefault: toGrid(pr, wDef.sim, wDef.steps),
        dates: coarse ? (wCal.targetSteps ?? []).map((k) => coarse.dates?.[k] ?? dates[0]!) : dates,
        grid,
        units,
        mapSteps: [Math.floor(wCal.steps / 2)],
        parameters: pr.calibrated.map((name, k) => ({
          name,
          values: full(r.fields[k]!),
          units: VIC3L.parameters.find((p) => p.name === name)!.unit,
        })),
      });
      const seconds = (performance.now() - t0) / 1000;
      const resultJson = join(d.outDir, 'result.json');
      await writeFileAtomic(resultJson, (tmp) =>
        writeFile(
          tmp,
          `${JSON.stringify({ runId: d.runId, spec, info: r.info, evaluation, truthEvaluation, seconds }, null, 2)}\n`,
        ),
      );
      const artifacts = await Promise.all(
        [
          ...tifs.map((t) => ['parameter-geotiff', t.path] as const),
          ['trained-json', trainedFile] as const,
          ...simulated.map((t) => ['simulation-geotiff', t.path] as const),
          ...observed.map((t) => ['observed-geotiff', t.path] as const),
          ...metricTifs.map((t) => ['metric-geotiff', t.path] as const),
          ...report.files.map((p) => [p.endsWith('index.html') ? 'report' : 'report-file', p] as const),
          ['result', resultJson] as const,
          ...surrogateFiles(r.info).map((p) => ['surrogate', p] as const),
        ].map(([kind, path]) => artifactOf(kind, path)),
      );
      post({
        type: 'result',
        result: {
          cancelled,
          metrics: evaluationMetrics(evaluation, pr.target.name),
          artifacts,
          evaluation,
          truthEvaluation,
          info: r.info,
          seconds,
        },
      });
    } catch (err) {
      // the run fails, saying why, and hands back the fields it trained (recorded as its artifacts)
      const e = err instanceof FieldcalError ? err : new FieldcalError('INTERNAL', (err as Error).message);
      const kept = await keptAfterTraining();
      throw new FieldcalError(
        e.code,
        `${e.message} (after training: the learned fields are kept in ${d.outDir}: ${kept.map((k) => basename(k.path)).join(', ')})`,
        { ...e.details, phase: 'evaluating', keptArtifacts: kept },
      );
    }
  } catch (err) {
    const e = err instanceof FieldcalError ? err : new FieldcalError('INTERNAL', (err as Error).message);
    post({ type: 'error', error: { code: e.code, message: e.message, details: e.details } });
  } finally {
    sim?.close();
  }
}

/** The files of the surrogate a gridded method trained or reused (issue 17: `info.surrogate.savedIn`). */
function surrogateFiles(info: Record<string, unknown>): string[] {
  const dir = (info.surrogate as { savedIn?: unknown } | undefined)?.savedIn;
  if (typeof dir !== 'string' || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^(surrogate\.json|weights\.bin|key\.json)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

const withoutSim = (e: Evaluation): Omit<Evaluation, 'sim'> => {
  const { sim: _sim, ...rest } = e;
  return rest;
};

/** The problem a twin or gridded job calibrates, its truth (twins), output grid and step dates. */
async function buildProblem(spec: Exclude<JobSpec, { kind: 'gauges' | 'lumped' | 'basins' }>): Promise<{
  pr: GriddedProblem;
  truth: Float64Array[] | undefined;
  grid: Grid;
  dates: Date[];
  title: string;
  description: string;
}> {
  if (spec.kind === 'twin' && !spec.dataset) {
    const twin = makeTwin({ ...spec.twin, ...(spec.periods ? { periods: spec.periods } : {}) });
    const pr = twin.problem;
    return {
      pr,
      truth: twin.truth,
      grid: twinGrid(pr),
      dates: twin.dates,
      title: `Twin experiment ${pr.rows} x ${pr.cols}${spec.twin.layout === 'paper' ? ' (GAN-PO paper layout)' : ''}`,
      description: `Identical twin on synthetic weather and ${spec.twin.layout === 'paper' ? 'soil ' : ''}descriptors (seed ${spec.twin.seed}, noise ${spec.twin.noise}).`,
    };
  }
  const ds = await loadSmashDataset({
    dir: spec.dataset!.path,
    start: new Date(`${spec.dataset!.start}T00:00:00Z`),
    end: new Date(`${spec.dataset!.end}T00:00:00Z`),
    crs: spec.dataset!.crs,
    flowdir: spec.dataset!.flowdir,
  });
  const steps = ds.dates.length;
  // named date ranges (any order, gaps allowed) or a split from the first step
  const periods = spec.periods
    ? stepPeriods(spec.periods, ds.dates)
    : periodsOf(spec.split ?? defaultSplit(steps), steps);
  const grid = { ...ds.catchment.grid, mask: ds.catchment.grid.mask };
  // a drawn study area keeps the dataset's cells whose centre lies inside it
  const keep = spec.studyArea ? cellsInside(grid, spec.studyArea.geometry, spec.studyArea.crs) : null;
  const area = (pr: GriddedProblem) => (keep ? restrictProblem(pr, keep) : pr);
  if (spec.kind === 'twin') {
    const whole = { ...baseOfDataset(ds), periods };
    const cut = area({
      ...whole,
      target: { name: 'ET', obs: new Float64Array(steps * whole.cells) },
      calibrated: [],
      lower: [],
      upper: [],
      dt: 1,
    });
    const base = {
      ...whole,
      mask: cut.mask,
      cells: cut.cells,
      forcing: cut.forcing,
      descriptors: cut.descriptors,
    };
    const twin = makeTwin({ ...spec.twin, base });
    return {
      pr: twin.problem,
      truth: twin.truth,
      grid: { ...grid, mask: twin.problem.mask },
      dates: ds.dates,
      title: `Twin experiment on ${spec.dataset!.path}`,
      description: `Identical twin on the forcing and descriptors of ${spec.dataset!.path} (seed ${spec.twin.seed}, noise ${spec.twin.noise}).`,
    };
  }
  return {
    pr: area(griddedProblemFromDataset(ds, periods, spec.calibrated, spec.bounds, spec.target)),
    truth: undefined,
    grid: { ...grid, mask: keep ? Uint8Array.from(grid.mask!, (v, i) => (v && keep[i] ? 1 : 0)) : grid.mask },
    dates: ds.dates,
    title: `Calibration on ${spec.dataset.path}`,
    description: `vic3l against the observed ${spec.target} stack of ${spec.dataset.path}, ${spec.dataset.start} .. ${spec.dataset.end}.`,
  };
}

const nanTo = (a: Float64Array, v: number) => Float64Array.from(a, (x) => (Number.isFinite(x) ? x : v));

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError, type GaugesJobSpec, type Grid, type RunMetric } from '../../../src-shared/ipc';
import {
  gaugeParameterNames,
  gaugeProblemFromDataset,
  type GaugeProblem,
} from '../calibration/gauges/problem';
import { stepPeriods } from '../calibration/gridded/periods';
import { startWorker } from './workerEntry';
import type { MethodContext } from '../calibration/method';
import { runMethod } from '../calibration/registry';
import { writeFileAtomic } from '../common/atomicFile';
import { artifactOf } from '../common/checksum';
import { loadSmashDataset, type SmashDataset } from '../datasets/smashDataset';
import { cellsInside } from '../grid/studyArea';
import { kge, nse } from '../metrics/series';
import { cutSnowCells, runGr4Lr, type Gr4LrParams } from '../physics/gr4lr';
import { runCnLr, type CnLrParams } from '../physics/cnlr';
import { ROUTING, STRUCTURES } from '../physics/registry';
import { GR4_CEMANEIGE } from '../physics/cemaneige/structure';
import { buildNetwork } from '../physics/routing/lr';
import { writeGeoTiff } from '../rasters/writeGeoTiff';
import { writeGaugesReport, type ReportSection } from '../report/gaugesReport';

/** A named period of a gauge job on the data's steps: [s0, s1), and its first and last day. */
export interface GaugePeriod {
  name: 'warmup' | 'train' | 'valid' | 'test';
  s0: number;
  s1: number;
  start: string;
  end: string;
}

/** The discharge JSON of a gauge job (artifact kind `discharge-json`). */
export interface DischargeJson {
  /** The step dates, YYYY-MM-DD. */
  dates: string[];
  /** Simulated discharge (m³/s) per gauge code and date, for every gauge of the (restricted) dataset. */
  gauges: Record<string, number[]>;
  periods: Array<{ name: string; start: string; end: string }>;
  /** NSE and KGE per gauge and scored period (train, valid, test); null where undefined (no observation). */
  scores: Record<string, Record<string, { nse: number | null; kge: number | null }>>;
  /** The gauges the method calibrated on. */
  calibrated: string[];
}

/** What the job worker posts for a finished gauge job. */
export interface GaugesJobOutput {
  metrics: RunMetric[];
  artifacts: Array<{ kind: string; path: string; sizeBytes: number; checksum: string }>;
  info: Record<string, unknown>;
}

const iso = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The named periods of a gauge job on the step dates: the spec's named date ranges (checked against
 * the data), or, without them, `warmup` steps and the rest as the calibration (train) period.
 */
export function gaugePeriods(spec: GaugesJobSpec, dates: readonly Date[]): GaugePeriod[] {
  const of = (name: GaugePeriod['name'], s0: number, s1: number): GaugePeriod => ({
    name,
    s0,
    s1,
    start: iso(dates[s0]!),
    end: iso(dates[s1 - 1]!),
  });
  if (spec.periods) {
    const p = stepPeriods(spec.periods, dates);
    return spec.periods.map((np) => of(np.name, p[np.name][0], p[np.name][1])).sort((a, b) => a.s0 - b.s0);
  }
  if (spec.warmup >= dates.length)
    throw new FieldcalError(
      'VALIDATION',
      `warmup: ${spec.warmup} steps leave none of the ${dates.length} steps of ${spec.dataset.start} .. ${spec.dataset.end} to calibrate on`,
      { field: 'warmup' },
    );
  return [...(spec.warmup > 0 ? [of('warmup', 0, spec.warmup)] : []), of('train', spec.warmup, dates.length)];
}

/**
 * A dataset cut to the catchment cells kept by a study area (`keep` over the catchment grid): the
 * flow network is rebuilt on the kept cells (flow from cells left out no longer arrives), and the
 * gauges whose cell is left out are dropped.
 */
export function restrictDataset(ds: SmashDataset, keep: Uint8Array): SmashDataset {
  const g = ds.catchment.grid;
  const mask = Uint8Array.from(g.mask!, (v, i) => (v && keep[i] ? 1 : 0));
  const newIndex = new Int32Array(ds.net.cells).fill(-1);
  const idx: number[] = [];
  let k = 0;
  for (let i = 0; i < g.mask!.length; i++) {
    if (!g.mask![i]) continue;
    if (mask[i]) {
      newIndex[k] = idx.length;
      idx.push(k);
    }
    k++;
  }
  const m = idx.length;
  if (m === 0)
    throw new FieldcalError('VALIDATION', 'the study area holds no active cell of the catchment', {
      field: 'studyArea',
    });
  const n = ds.net.cells;
  const steps = ds.dates.length;
  const sub = (a: Float64Array) => {
    const out = new Float64Array(steps * m);
    for (let t = 0; t < steps; t++) for (let j = 0; j < m; j++) out[t * m + j] = a[t * n + idx[j]!]!;
    return out;
  };
  const nd = ds.descriptorNames.length;
  const descriptors = new Float64Array(m * nd);
  idx.forEach((c, j) => descriptors.set(ds.descriptors.subarray(c * nd, (c + 1) * nd), j * nd));
  const net = buildNetwork({ rows: g.rows, cols: g.cols, dir: ds.catchment.dir, mask, cellSizeM: g.dx });
  return {
    ...ds,
    catchment: { ...ds.catchment, grid: { ...g, mask }, cells: m },
    net,
    P: sub(ds.P),
    E: sub(ds.E),
    ...(ds.T ? { T: sub(ds.T) } : {}),
    descriptors,
    gauges: ds.gauges.filter((x) => newIndex[x.cell]! >= 0).map((x) => ({ ...x, cell: newIndex[x.cell]! })),
  };
}

/** Units of the learned fields: GR4J's X1..X4 (structure table), lr's llr and CemaNeige's CTG, Kf. */
const SNOW_FIELDS = GR4_CEMANEIGE.parameters.filter((p) => p.name === 'CTG' || p.name === 'Kf');
const UNITS: Record<string, string> = Object.fromEntries(
  [...STRUCTURES.gr4!.parameters, ...STRUCTURES.cn!.parameters, ...ROUTING.lr!, ...SNOW_FIELDS].map((p) => [
    p.name,
    p.unit,
  ]),
);
const DESCRIPTIONS: Record<string, string> = Object.fromEntries(
  [...STRUCTURES.gr4!.parameters, ...STRUCTURES.cn!.parameters, ...ROUTING.lr!, ...SNOW_FIELDS].map((p) => [
    p.name,
    p.description,
  ]),
);

/** The unit of a learned field at a model step: X2 is mm per step, X4 a number of steps (structure table: daily). */
const unitAt = (name: string, dt: number): string =>
  dt === 86400
    ? (UNITS[name] ?? '')
    : name === 'X2'
      ? `mm/${dt === 3600 ? 'h' : `${dt} s`}`
      : name === 'X4'
        ? dt === 3600
          ? 'h'
          : `steps of ${dt} s`
        : (UNITS[name] ?? '');

/** A step date as the discharge JSON writes it: the day, or the day and time below a daily step. */
const stepIso = (d: Date, dt: number) => (dt < 86400 ? d.toISOString().slice(0, 16) : iso(d));

/** Values on the active cells, spread onto the full grid (NaN outside the mask). */
const onGrid = (grid: Grid, v: Float64Array): Float64Array => {
  const full = new Float64Array(grid.rows * grid.cols).fill(Number.NaN);
  let k = 0;
  for (let i = 0; i < full.length; i++) if (grid.mask![i]) full[i] = v[k++]!;
  return full;
};

/**
 * Runs a gauge-discharge job: loads the smash-layout folder over dataset.start .. end (a study area
 * keeps the cells inside it), calibrates the method's `gauges` runner on the train period at the
 * chosen gauges (the model runs from the first step; steps before train are its spin-up), then runs
 * GR4J + lr with the learned fields over every step and scores every gauge of the dataset over each
 * named period. Writes one GeoTIFF per learned field, discharge.json and result.json into `outDir`.
 */
export async function runGaugesJob(
  spec: GaugesJobSpec,
  runId: number,
  outDir: string,
  ctx: MethodContext,
  /** 'calibrating' as the method starts, 'evaluating' once it has returned. */
  onPhase: (phase: 'calibrating' | 'evaluating') => void,
): Promise<GaugesJobOutput> {
  const t0 = performance.now();
  let ds = await loadSmashDataset({
    dir: spec.dataset.path,
    start: new Date(`${spec.dataset.start}T00:00:00Z`),
    end: new Date(`${spec.dataset.end}T00:00:00Z`),
    crs: spec.dataset.crs,
    flowdir: spec.dataset.flowdir,
  });
  const all = ds.gauges.map((g) => g.code);
  if (spec.studyArea) {
    ds = restrictDataset(ds, cellsInside(ds.catchment.grid, spec.studyArea.geometry, spec.studyArea.crs));
    if (!ds.gauges.length)
      throw new FieldcalError(
        'VALIDATION',
        `studyArea: no gauge of the dataset (${all.join(', ')}) lies inside the study area`,
        { field: 'studyArea' },
      );
  }
  const periods = gaugePeriods(spec, ds.dates);
  const train = periods.find((p) => p.name === 'train')!;
  // bounds at the dataset's model step; one observation per model step is checked here, before training
  const full = gaugeProblemFromDataset(ds, undefined, 0, spec.structure);
  const present = full.gauges.map((g) => g.code);
  (spec.gauges ?? []).forEach((c, i) => {
    if (!present.includes(c))
      throw new FieldcalError(
        'VALIDATION',
        `gauges.${i}: gauge ${c} is not in the ${spec.studyArea ? 'study area' : 'catchment'} (${present.join(', ')})`,
        { field: `gauges.${i}` },
      );
  });
  const calibrated = full.gauges.filter((g) => !spec.gauges || spec.gauges.includes(g.code));
  for (const g of calibrated)
    if (!g.obs.subarray(train.s0, train.s1).some(Number.isFinite))
      throw new FieldcalError(
        'VALIDATION',
        `gauges: gauge ${g.code} has no observed discharge in the train period ${train.start} .. ${train.end}`,
        { field: 'gauges' },
      );
  // the calibration problem: the steps up to the end of train, scored from its start
  const cells = full.net.cells;
  const pr: GaugeProblem = {
    ...full,
    steps: train.s1,
    warmup: train.s0,
    P: full.P.subarray(0, train.s1 * cells),
    E: full.E.subarray(0, train.s1 * cells),
    gauges: calibrated.map((g) => ({ ...g, obs: g.obs.subarray(0, train.s1) })),
    ...(full.snow ? { snow: cutSnowCells(full.snow, train.s1) } : {}),
  };
  // X1..X4, llr, and with a daily temperature stack CemaNeige's CTG and Kf per cell
  const names = gaugeParameterNames(full);
  onPhase('calibrating');
  const r = await runMethod('gauges', spec.method, pr, spec.options, spec.seed, {
    ...ctx,
    threads: spec.threads,
    startWorker,
  });
  const cancelled = ctx.cancelled();
  onPhase('evaluating');
  for (const name of names) {
    const v = r.parameters[name];
    if (!v || v.length !== cells)
      throw new FieldcalError(
        'INTERNAL',
        `method ${spec.method} returned ${v ? `${v.length} values` : 'no field'} for ${name}, expected one per cell (${cells})`,
        { method: spec.method, parameter: name },
      );
  }
  // what was trained is written first: a failure while evaluating or reporting keeps it
  await mkdir(outDir, { recursive: true });
  const grid = ds.catchment.grid;
  const tifs: string[] = [];
  for (const name of names) {
    const path = join(outDir, `${name}.tif`);
    await writeGeoTiff({
      path,
      grid,
      nodata: -9999,
      bands: [{ data: onGrid(grid, r.parameters[name]!), description: name, units: unitAt(name, full.dt) }],
      metadata: { PARAMETER: name, DESCRIPTION: DESCRIPTIONS[name] ?? name },
    });
    tifs.push(path);
  }
  const trainedFile = join(outDir, 'trained.json');
  await writeFileAtomic(trainedFile, (tmp) =>
    writeFile(
      tmp,
      `${JSON.stringify({ runId, method: spec.method, stepSeconds: full.dt, cells, info: r.info, methodScores: r.scores, ...(full.snow ? { snow: true } : {}), parameters: Object.fromEntries(names.map((k) => [k, Array.from(r.parameters[k]!)])) })}\n`,
    ),
  );
  const kept = async () =>
    Promise.all(
      [...tifs.map((p) => ['parameter-geotiff', p] as const), ['trained-json', trainedFile] as const].map(
        ([kind, path]) => artifactOf(kind, path),
      ),
    );
  let evaluated: {
    metrics: RunMetric[];
    scores: DischargeJson['scores'];
    discharge: DischargeJson;
    dischargeFile: string;
    report: Awaited<ReturnType<typeof writeGaugesReport>>;
  };
  try {
    // the learned fields over every step of the data, at every gauge
    const q =
      spec.structure === 'cn-lr'
        ? runCnLr(full.net, r.parameters as unknown as CnLrParams, full.P, full.E, full.steps, full.dt)
        : runGr4Lr(
            full.net,
            r.parameters as unknown as Gr4LrParams,
            full.P,
            full.E,
            full.steps,
            full.dt,
            full.snow,
          );
    const series = Object.fromEntries(
      full.gauges.map((g) => [
        g.code,
        Float64Array.from({ length: full.steps }, (_, t) => q[t * cells + g.cell]!),
      ]),
    );
    const scored = periods.filter((p) => p.name !== 'warmup');
    const scores: DischargeJson['scores'] = {};
    const metrics: RunMetric[] = [];
    for (const g of full.gauges) {
      scores[g.code] = {};
      for (const p of scored) {
        const obs = g.obs.subarray(p.s0, p.s1);
        const sim = series[g.code]!.subarray(p.s0, p.s1);
        // NSE (Nash & Sutcliffe 1970) and KGE (Gupta et al. 2009) on the pairs where both are present
        const s = { nse: nse(obs, sim).value, kge: kge(obs, sim).value };
        scores[g.code]![p.name] = {
          nse: Number.isFinite(s.nse) ? s.nse : null,
          kge: Number.isFinite(s.kge) ? s.kge : null,
        };
        metrics.push(
          { period: p.name, target: g.code, metric: 'nse', value: s.nse },
          { period: p.name, target: g.code, metric: 'kge', value: s.kge },
        );
      }
    }
    const discharge: DischargeJson = {
      dates: ds.dates.map((d) => stepIso(d, full.dt)),
      gauges: Object.fromEntries(Object.entries(series).map(([c, v]) => [c, Array.from(v)])),
      periods: periods.map((p) => ({ name: p.name, start: p.start, end: p.end })),
      scores,
      calibrated: calibrated.map((g) => g.code),
    };
    const dischargeFile = join(outDir, 'discharge.json');
    await writeFileAtomic(dischargeFile, (tmp) => writeFile(tmp, `${JSON.stringify(discharge)}\n`));
    // the report: a hydrograph per gauge with its catchment rainfall, parameter maps with the outline and gauges
    const report = await writeGaugesReport({
      dir: join(outDir, 'report'),
      title: `Discharge at gauges: ${spec.method} on ${spec.structure === 'cn-lr' ? 'Curve Number' : `GR4J${full.snow ? ' + CemaNeige' : ''}`} + lr`,
      description: `${spec.method} calibrated on ${calibrated.map((g) => g.code).join(', ')} over ${train.start} .. ${train.end} (${spec.dataset.path}); every gauge scored on every named period.`,
      dates: ds.dates,
      gauges: full.gauges.map((g) => ({
        code: g.code,
        observed: g.obs,
        simulated: [{ name: spec.method, values: series[g.code]! }],
        rainfall: upstreamMean(full.net, full.P, full.steps, g.cell),
        ...gaugeXY(ds, g.code),
      })),
      periods: discharge.periods.filter((p) => p.name !== 'warmup'),
      scores: Object.fromEntries(
        Object.entries(scores).map(([code, per]) => [
          code,
          Object.fromEntries(
            Object.entries(per).map(([period, v]) => [
              period,
              { nse: v.nse ?? Number.NaN, kge: v.kge ?? Number.NaN },
            ]),
          ),
        ]),
      ),
      parameters: names.map((name) => ({
        name,
        values: onGrid(grid, r.parameters[name]!),
        units: unitAt(name, full.dt),
      })),
      grid,
      // a method's own sections (inverse-mapping: acceptance, CEM convergence, network validation)
      ...(Array.isArray(r.info.reportSections) ? { sections: r.info.reportSections as ReportSection[] } : {}),
    });
    evaluated = { metrics, scores, discharge, dischargeFile, report };
  } catch (err) {
    // the run fails, saying why, and hands back what it trained (recorded as the run's artifacts)
    const e = err instanceof FieldcalError ? err : new FieldcalError('INTERNAL', (err as Error).message);
    const artifacts = await kept();
    throw new FieldcalError(
      e.code,
      `${e.message} (after training: the learned fields are kept in ${outDir}: ${artifacts.map((a) => a.path.slice(outDir.length + 1)).join(', ')})`,
      { ...e.details, phase: 'evaluating', keptArtifacts: artifacts },
    );
  }
  const { metrics, scores, discharge, dischargeFile, report } = evaluated;
  const seconds = (performance.now() - t0) / 1000;
  const info = {
    ...r.info,
    calibrated: discharge.calibrated,
    gauges: present,
    cells,
    steps: full.steps,
    // CemaNeige per cell: on with a daily temperature stack (calibration/gauges/problem.ts)
    ...(full.snow
      ? { snow: 'CemaNeige per cell' }
      : ds.T
        ? {
            snow:
              spec.structure === 'cn-lr'
                ? 'off: cn-lr has no snow module'
                : `off: CemaNeige runs on daily steps, this dataset's are ${full.dt} s`,
          }
        : {}),
    periods: discharge.periods,
    cancelled,
  };
  const resultJson = join(outDir, 'result.json');
  await writeFileAtomic(resultJson, (tmp) =>
    writeFile(
      tmp,
      `${JSON.stringify({ runId, spec, info, scores, methodScores: r.scores, seconds }, null, 2)}\n`,
    ),
  );
  const artifacts = await Promise.all(
    [
      ...tifs.map((p) => ['parameter-geotiff', p] as const),
      ['trained-json', trainedFile] as const,
      ['discharge-json', dischargeFile] as const,
      ...report.files.map((p) => [p.endsWith('index.html') ? 'report' : 'report-file', p] as const),
      ['result', resultJson] as const,
    ].map(([kind, path]) => artifactOf(kind, path)),
  );
  return { metrics, artifacts, info };
}

/** Mean rainfall per step over the cells upstream of (and including) `outlet`, mm per step (the catchment's areal mean on equal cells). */
function upstreamMean(
  net: GaugeProblem['net'],
  P: Float64Array,
  steps: number,
  outlet: number,
): Float64Array {
  const cells: number[] = [];
  const stack = [outlet];
  while (stack.length) {
    const c = stack.pop()!;
    cells.push(c);
    for (let k = net.upStart[c]!; k < net.upStart[c + 1]!; k++) stack.push(net.up[k]!);
  }
  const out = new Float64Array(steps);
  for (let t = 0; t < steps; t++) {
    let sum = 0;
    let n = 0;
    for (const c of cells) {
      const v = P[t * net.cells + c]!;
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    out[t] = n ? sum / n : Number.NaN;
  }
  return out;
}

/** The gauge's position from the dataset, for its marker on the report's maps. */
function gaugeXY(ds: SmashDataset, code: string): { x?: number; y?: number } {
  const g = ds.catchment.gauges.find((x) => x.code === code);
  return g ? { x: g.x, y: g.y } : {};
}

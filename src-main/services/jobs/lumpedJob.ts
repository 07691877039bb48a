import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { FieldcalError, type LumpedJobSpec, type RunMetric } from '../../../src-shared/ipc';
import { lumpedProblem, parseRunConfig, type RunConfig } from '../calibration/lumped/config';
import { parameterVector, simulateLumped } from '../calibration/lumped/problem';
import type { MethodContext } from '../calibration/method';
import { runMethod } from '../calibration/registry';
import { artifactOf } from '../common/checksum';
import { writeFileAtomic } from '../common/atomicFile';
import { readHypsometry } from '../datasets/hypsometry';
import { readLumpedCsv } from '../datasets/lumpedCsv';
import { checkDatasetColumns, lumpedSource } from '../datasets/lumpedDataset';
import { kge, nse } from '../metrics/series';
import type { Issue } from './specs';

/** The basin a lumped job calibrates: its CSV's name without the extension (the metrics' target). */
export const basinOf = (spec: LumpedJobSpec): string =>
  basename(spec.dataset.path, extname(spec.dataset.path));

/**
 * The run config `fieldcal calibrate` would use on the same CSV (calibration/lumped/config.ts): the
 * job's structure, columns, hypsometry, period, seed and options. Throws a typed error naming the field.
 */
export function lumpedRunConfig(spec: LumpedJobSpec): RunConfig {
  return parseRunConfig(
    {
      // the method and its options were checked by specIssues (the method's lumped runner and strict schema)
      structure: spec.structure,
      ...(spec.dataset.columns ? { columns: spec.dataset.columns } : {}),
      ...(spec.dataset.hypsometry
        ? {
            hypsometry: {
              path: spec.dataset.hypsometry.path,
              ...(spec.dataset.hypsometry.basin ? { basin: spec.dataset.hypsometry.basin } : {}),
            },
          }
        : {}),
      period: spec.period,
      seed: spec.seed,
    },
    'lumped job',
  );
}

/**
 * Maps the field of a run config or CSV error to the job spec's path: `period.*` as it is, `columns.*`
 * and `hypsometry*` under `dataset`, a CSV column role (`date`, `P`, `PET`, `Q`, `T`) under
 * `dataset.columns` when the job maps columns (else the file is at fault: `dataset.path`).
 */
const jobField = (spec: LumpedJobSpec, field: string | undefined): string => {
  if (!field) return 'dataset.path';
  if (field.startsWith('period')) return field;
  if (field.startsWith('columns') || field.startsWith('hypsometry')) return `dataset.${field}`;
  if (['date', 'P', 'PET', 'Q', 'T'].includes(field))
    return spec.dataset.columns ? `dataset.columns.${field}` : 'dataset.path';
  return field === 'structure' ? 'structure' : 'dataset.path';
};

/** Reads the job's basin series and problem (CSV, hypsometry, period cut); typed errors name the job's field. */
async function loadProblem(spec: LumpedJobSpec) {
  const cfg = lumpedRunConfig(spec);
  // a basin CSV, or a lumped dataset's folder of one basin (its CSV needs no column mapping)
  const src = await lumpedSource(spec.dataset.path);
  checkDatasetColumns(src, cfg.columns);
  const series = await readLumpedCsv(src.csv, cfg.columns);
  let h: Float64Array | undefined;
  const hyps = spec.dataset.hypsometry;
  if (hyps) {
    try {
      h = await readHypsometry(resolve(hyps.path), hyps.basin);
    } catch (e) {
      const err = e instanceof FieldcalError ? e : new FieldcalError('IO', (e as Error).message);
      throw new FieldcalError(err.code, err.message, { ...err.details, field: 'dataset.hypsometry' });
    }
  }
  return { cfg, pr: lumpedProblem(series, cfg, h) };
}

/**
 * What a lumped job's data must hold, read before anything is recorded (a basin CSV is small): the
 * file, its columns and complete forcing, the period inside its dates, a temperature column and the
 * hypsometry for gr4-cemaneige.
 */
export async function lumpedDataIssues(spec: LumpedJobSpec): Promise<Issue[]> {
  const st = await stat(spec.dataset.path).catch(() => null);
  if (!st) return [{ path: 'dataset.path', message: `${spec.dataset.path} does not exist` }];
  if (!st.isFile()) {
    // a folder: a lumped dataset of one basin (its manifest says), else refused with the reason
    const why = await lumpedSource(spec.dataset.path).then(
      () => null,
      (e: unknown) => (e as Error).message,
    );
    if (why) return [{ path: 'dataset.path', message: why }];
  }
  try {
    await loadProblem(spec);
    return [];
  } catch (e) {
    const field = (e as FieldcalError).details?.field as string | undefined;
    return [{ path: jobField(spec, field), message: (e as Error).message }];
  }
}

/**
 * Runs a lumped job exactly as `fieldcal calibrate` does on a CSV (cli/calibrate.ts): the method's
 * `lumped` runner on the basin's problem, then the simulation with the calibrated parameters scored
 * over the period (NSE: Nash & Sutcliffe 1970; KGE: Gupta et al. 2009; metrics/series.ts), recorded
 * as `train.nse` / `train.kge` with the basin as target; `result.json` holds the parameters.
 */
export async function runLumpedJob(
  spec: LumpedJobSpec,
  runId: number,
  outDir: string,
  ctx: MethodContext,
): Promise<{
  metrics: RunMetric[];
  artifacts: Array<{ kind: string; path: string; sizeBytes: number; checksum: string }>;
  info: Record<string, unknown>;
}> {
  let loaded: Awaited<ReturnType<typeof loadProblem>>;
  try {
    loaded = await loadProblem(spec);
  } catch (e) {
    const err = e instanceof FieldcalError ? e : new FieldcalError('INTERNAL', (e as Error).message);
    throw new FieldcalError(err.code, err.message, {
      ...err.details,
      field: jobField(spec, err.details?.field as string | undefined),
    });
  }
  const { cfg, pr } = loaded;
  const r = await runMethod('lumped', spec.method, pr, spec.options, cfg.seed, ctx);
  // a method carrying its own model (bucket-nexus) gives its simulation; GR4J runs with the parameters
  const q = (r.q ?? simulateLumped(pr, parameterVector(pr, r.parameters))).subarray(pr.warmup);
  const basin = basinOf(spec);
  const scores = { nse: nse(pr.obs, q).value, kge: kge(pr.obs, q).value };
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'result.json');
  await writeFileAtomic(file, (tmp) =>
    writeFile(
      tmp,
      `${JSON.stringify(
        {
          runId,
          basin,
          dataset: spec.dataset.path,
          method: spec.method,
          structure: spec.structure,
          period: spec.period,
          seed: spec.seed,
          parameters: r.parameters,
          ...(r.model ? { model: r.model } : {}),
          metrics: { train: scores },
          info: r.info,
        },
        null,
        2,
      )}\n`,
    ),
  );
  return {
    metrics: [
      { period: 'train', target: basin, metric: 'nse', value: scores.nse },
      { period: 'train', target: basin, metric: 'kge', value: scores.kge },
    ],
    artifacts: [
      await artifactOf('result', file),
      ...(await Promise.all(
        ((r.info.figures as string[] | undefined) ?? []).map((f) => artifactOf('report-file', f)),
      )),
    ],
    info: { ...r.info, basin, parameters: r.parameters },
  };
}

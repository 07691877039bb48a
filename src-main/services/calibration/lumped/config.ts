import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';
import { resolve } from 'node:path';
import { lumpedColumnsSchema } from '../../../../src-shared/types/assemble';
import { readHypsometry } from '../../datasets/hypsometry';
import { readLumpedCsv, type LumpedSeries } from '../../datasets/lumpedCsv';
import { checkDatasetColumns, lumpedSource } from '../../datasets/lumpedDataset';
import { basinLayers } from '../../physics/cemaneige/layers';
import { loadSmashDataset, type SmashDataset } from '../../datasets/smashDataset';
import {
  GAUGE_BOUNDS,
  GAUGE_PARAMETERS,
  gaugeProblemFromDataset,
  type GaugeProblem,
} from '../gauges/problem';
import { methodNames } from '../registry';
import { LUMPED_STRUCTURES, lumpedParameters, type LumpedProblem } from './problem';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
/** Parameters a config may bound: GR4J's (structure table) and lr's llr. */
export const CONFIG_PARAMETERS = ['X1', 'X2', 'X3', 'X4', 'llr'] as const;
/** CemaNeige's parameters (structure gr4-cemaneige), also boundable. */
export const SNOW_CONFIG_PARAMETERS = ['CTG', 'Kf'] as const;

/** Where a basin's hypsometry comes from (gr4-cemaneige): a file, the basin's column, the layers. */
export const hypsometryConfigSchema = z.strictObject({
  /** A table with one column per basin (CAMELS-FR hypsometry.csv) or a one-column file of 101 elevations. */
  path: z.string().min(1),
  /** The basin's column in a multi-basin table. */
  basin: z.string().min(1).optional(),
  /** Number of equal-area elevation layers (airGR's usual 5). */
  layers: z.number().int().min(1).max(100).default(5),
  /** Elevation of the forcing (m); default the hypsometric median (airGR's usual ZInputs). */
  zInputs: z.number().min(-500).max(9000).optional(),
});

/**
 * The run config of a lumped or gauge-discharge calibration (`fieldcal calibrate` on a basin CSV or
 * a smash-layout folder). One strict object per run (unknown keys refused at every level, defaults
 * filled and stored with the run): the method and its options, the calibration period with its warm-up, bounds overriding the
 * structure's, the gauges to fit and the seed.
 */
export const runConfigSchema = z
  .strictObject({
    /** A registry key of a method for lumped series or gauge discharge (checked below; `simulate` needs none). */
    method: z.string().min(1).optional(),
    structure: z.enum(LUMPED_STRUCTURES).default('gr4'),
    /** A basin CSV's columns and units (absent: headers recognised by their usual names, mm and °C). */
    columns: lumpedColumnsSchema.optional(),
    /** gr4-cemaneige: the basin's hypsometric curve. */
    hypsometry: hypsometryConfigSchema.optional(),
    period: z.strictObject({ start: isoDate, end: isoDate, warmupStart: isoDate.optional() }),
    bounds: z
      .partialRecord(
        z.enum([...CONFIG_PARAMETERS, ...SNOW_CONFIG_PARAMETERS]),
        z.strictObject({ lower: z.number(), upper: z.number() }),
      )
      .default({}),
    gauges: z.array(z.string().min(1)).min(1).optional(),
    seed: z.number().int().default(1),
    /** Shorthand for `options.iterations` (HDA-PR's Adam iterations). */
    iterations: z.number().int().min(1).max(100_000).optional(),
    /** The method's options (its strict schema for the problem kind, defaults filled). */
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((c, ctx) => {
    const known = [...new Set([...methodNames('lumped'), ...methodNames('gauges')])];
    if (c.method !== undefined && !known.includes(c.method))
      ctx.addIssue({
        code: 'custom',
        path: ['method'],
        message: `Invalid option: expected one of ${known.map((m) => `"${m}"`).join('|')}`,
      });
    if (c.structure === 'gr4-cemaneige' && !c.hypsometry)
      ctx.addIssue({
        code: 'custom',
        path: ['hypsometry'],
        message: 'gr4-cemaneige needs the basin hypsometry ({"path", "basin"})',
      });
    if (c.structure !== 'gr4-cemaneige') {
      for (const k of SNOW_CONFIG_PARAMETERS)
        if (c.bounds[k])
          ctx.addIssue({ code: 'custom', path: ['bounds', k], message: `${k} is a gr4-cemaneige parameter` });
    }
    if (c.period.start > c.period.end)
      ctx.addIssue({ code: 'custom', path: ['period', 'end'], message: 'end is before start' });
    if (c.period.warmupStart && c.period.warmupStart > c.period.start) {
      ctx.addIssue({
        code: 'custom',
        path: ['period', 'warmupStart'],
        message: 'warm-up must start before the period',
      });
    }
    for (const [name, b] of Object.entries(c.bounds)) {
      if (b && !(b.upper > b.lower))
        ctx.addIssue({
          code: 'custom',
          path: ['bounds', name],
          message: `bounds reversed or empty (${b.lower} .. ${b.upper})`,
        });
    }
  });
export type RunConfig = z.output<typeof runConfigSchema>;

/** Parses a run config, answering a typed error that names every offending field. */
export function parseRunConfig(input: unknown, source = 'run config'): RunConfig {
  const r = runConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  throw new FieldcalError(
    'VALIDATION',
    `${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { issues, field: issues[0]!.path },
  );
}

/** Checks a config against the data it will run on: the period inside the data, the gauges present. */
export function checkConfigAgainstData(
  c: RunConfig,
  data: { first: Date; last: Date; gauges: string[] },
): void {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const from = c.period.warmupStart ?? c.period.start;
  if (from < day(data.first) || c.period.end > day(data.last)) {
    throw new FieldcalError(
      'VALIDATION',
      `period ${from} .. ${c.period.end} is outside the data (${day(data.first)} .. ${day(data.last)})`,
      {
        field:
          from < day(data.first)
            ? c.period.warmupStart
              ? 'period.warmupStart'
              : 'period.start'
            : 'period.end',
      },
    );
  }
  for (const g of c.gauges ?? []) {
    if (!data.gauges.includes(g))
      throw new FieldcalError(
        'VALIDATION',
        `gauge ${g} is not in the dataset's catchment (${data.gauges.join(', ')})`,
        { field: 'gauges', gauge: g },
      );
  }
}

/** Bounds of the calibrated parameters: the structure's, overridden by the config. */
export function boundsFor(
  c: RunConfig,
  names: readonly string[],
  defaults: { lower: readonly number[]; upper: readonly number[] },
) {
  return {
    lower: names.map((n, k) => c.bounds[n as keyof typeof c.bounds]?.lower ?? defaults.lower[k]!),
    upper: names.map((n, k) => c.bounds[n as keyof typeof c.bounds]?.upper ?? defaults.upper[k]!),
  };
}

/** The options a config gives its method: `options`, with the `iterations` shorthand. */
export const configOptions = (c: RunConfig): Record<string, unknown> =>
  c.iterations === undefined ? c.options : { iterations: c.iterations, ...c.options };

/**
 * The lumped problem of a basin CSV over a config's period, checked against the data. For
 * gr4-cemaneige the series needs T and `hypsometry` (101 quantiles): P and T go onto the elevation
 * layers over the whole series, so the melt threshold's mean annual solid precipitation is the
 * whole series' (airGR CreateRunOptions' default over its InputsModel), then the period is cut.
 */
export function lumpedProblem(
  d: LumpedSeries,
  cfg: RunConfig,
  hypsometry?: ArrayLike<number>,
): LumpedProblem {
  checkConfigAgainstData(cfg, { first: d.dates[0]!, last: d.dates.at(-1)!, gauges: [] });
  const day = (s: string) => d.dates.findIndex((x) => x.toISOString().slice(0, 10) === s);
  const i0 = day(cfg.period.warmupStart ?? cfg.period.start);
  const i1 = day(cfg.period.start);
  const i2 = day(cfg.period.end);
  for (const [i, f] of [
    [i0, cfg.period.warmupStart ? 'period.warmupStart' : 'period.start'],
    [i1, 'period.start'],
    [i2, 'period.end'],
  ] as const)
    if (i < 0)
      throw new FieldcalError('VALIDATION', `${f}: no row of the series has this date`, { field: f });
  const { names, bounds } = lumpedParameters(cfg.structure);
  const b = boundsFor(cfg, names, bounds);
  const pr: LumpedProblem = {
    structure: cfg.structure,
    P: d.P.subarray(i0, i2 + 1),
    E: d.E.subarray(i0, i2 + 1),
    obs: d.Q.subarray(i1, i2 + 1),
    warmup: i1 - i0,
    lower: b.lower,
    upper: b.upper,
  };
  if (d.T) pr.T = d.T.subarray(i0, i2 + 1);
  if (cfg.structure === 'gr4-cemaneige') {
    if (!d.T)
      throw new FieldcalError('VALIDATION', 'gr4-cemaneige needs a temperature column (columns.T)', {
        field: 'columns.T',
      });
    if (!hypsometry)
      throw new FieldcalError('VALIDATION', 'gr4-cemaneige needs the basin hypsometry', {
        field: 'hypsometry',
      });
    const all = basinLayers({
      P: d.P,
      T: d.T,
      dates: d.dates,
      hypsometry,
      layers: cfg.hypsometry?.layers ?? 5,
      zInputs: cfg.hypsometry?.zInputs,
    });
    const n = i2 + 1 - i0;
    const cut = (a: Float64Array) => {
      const o = new Float64Array(all.cells * n);
      for (let c = 0; c < all.cells; c++)
        o.set(a.subarray(c * d.P.length + i0, c * d.P.length + i2 + 1), c * n);
      return o;
    };
    pr.snow = {
      cells: all.cells,
      steps: n,
      P: cut(all.P),
      fracSolid: cut(all.fracSolid),
      T: cut(all.T),
      Gthreshold: all.Gthreshold,
      zLayers: all.zLayers,
    };
  }
  return pr;
}

/** Reads a basin CSV (with the config's column mapping) and, for gr4-cemaneige, its hypsometry. */
export async function lumpedProblemFromFiles(dataset: string, cfg: RunConfig): Promise<LumpedProblem> {
  // a basin CSV, or a lumped dataset's folder of one basin (`fieldcal assemble`, kind lumped: no mapping needed)
  const src = await lumpedSource(dataset);
  checkDatasetColumns(src, cfg.columns);
  const series = await readLumpedCsv(src.csv, cfg.columns);
  const h = cfg.hypsometry
    ? await readHypsometry(resolve(cfg.hypsometry.path), cfg.hypsometry.basin)
    : undefined;
  return lumpedProblem(series, cfg, h);
}

/** A smash-layout folder over a run config's period (warm-up included), checked against the config. */
export async function loadDatasetForConfig(dataset: string, cfg: RunConfig): Promise<SmashDataset> {
  if (cfg.structure !== 'gr4')
    throw new FieldcalError(
      'VALIDATION',
      `structure ${cfg.structure} runs on a basin CSV, not on a gridded folder`,
      {
        field: 'structure',
      },
    );
  const ds = await loadSmashDataset({
    dir: dataset,
    start: new Date(`${cfg.period.warmupStart ?? cfg.period.start}T00:00:00Z`),
    end: new Date(`${cfg.period.end}T00:00:00Z`),
  });
  checkConfigAgainstData(cfg, {
    first: ds.dates[0]!,
    last: ds.dates.at(-1)!,
    gauges: ds.gauges.map((g) => g.code),
  });
  return ds;
}

/** The gauge-discharge problem of a loaded folder: the config's bounds, gauges and warm-up. */
export function gaugeProblemForConfig(ds: SmashDataset, cfg: RunConfig): GaugeProblem {
  const warmup = ds.dates.findIndex((x) => x.toISOString().slice(0, 10) === cfg.period.start);
  const pr = gaugeProblemFromDataset(ds, boundsFor(cfg, GAUGE_PARAMETERS, GAUGE_BOUNDS), warmup);
  if (cfg.gauges) pr.gauges = pr.gauges.filter((g) => cfg.gauges!.includes(g.code));
  return pr;
}

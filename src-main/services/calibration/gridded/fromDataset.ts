import { FieldcalError } from '../../../../src-shared/ipc';
import type { SmashDataset } from '../../datasets/smashDataset';
import { VIC3L, type Vic3lParamName } from '../../physics/vic3l';
import type { GriddedProblem, Periods, TargetName } from './problem';
import { checkProblem } from './problem';

/** Lengths (steps) of warm-up, training, validation and test, in that order from the first step. */
export interface Split {
  warmup: number;
  train: number;
  valid: number;
  test: number;
}

/** A split of `steps` into 25 % warm-up, 35 % training, 20 % validation and 20 % test. */
export function defaultSplit(steps: number): Split {
  const warmup = Math.floor(0.25 * steps);
  const train = Math.floor(0.35 * steps);
  const valid = Math.floor(0.2 * steps);
  return { warmup, train, valid, test: steps - warmup - train - valid };
}

/** Step ranges of a split; refuses a split longer than the data. */
export function periodsOf(split: Split, steps: number): Periods {
  const total = split.warmup + split.train + split.valid + split.test;
  if (total > steps)
    throw new FieldcalError('VALIDATION', `the periods need ${total} steps, the data has ${steps}`, {
      field: 'split',
    });
  const a = split.warmup;
  const b = a + split.train;
  const c = b + split.valid;
  return { warmup: [0, a], train: [a, b], valid: [b, c], test: [c, c + split.test] };
}

/** The part of a smash-layout dataset a gridded problem needs: the catchment's cells, forcing and descriptors. */
export function baseOfDataset(ds: SmashDataset) {
  const g = ds.catchment.grid;
  return {
    rows: g.rows,
    cols: g.cols,
    mask: Uint8Array.from(g.mask!),
    cells: ds.catchment.cells,
    steps: ds.dates.length,
    forcing: { P: ds.P, PET: ds.E, ...(ds.T ? { T: ds.T } : {}) },
    descriptorNames: ds.descriptorNames,
    descriptors: ds.descriptors,
  };
}

const isPeriods = (p: Split | Periods): p is Periods => Array.isArray((p as Periods).train);

/**
 * vic3l calibrated against a dataset's observed ET or SM stack (et/, sm/) on its catchment's cells,
 * at the model step or, for a monthly stack, at its own step (the simulation's monthly mean or sum);
 * the periods are a split from the first step or step ranges (`stepPeriods` of named date
 * ranges); bounds default to vic3l's and may be narrowed.
 */
export function griddedProblemFromDataset(
  ds: SmashDataset,
  split: Split | Periods,
  calibrated: Vic3lParamName[],
  bounds: Partial<Record<Vic3lParamName, { lower: number; upper: number }>> = {},
  target: TargetName = 'ET',
): GriddedProblem {
  // a target at its own coarser step (monthly): compared with the aggregated simulation (gridded/coarse.ts)
  const coarse = ds.coarse?.[target];
  const obs = coarse
    ? new Float64Array(ds.dates.length * ds.catchment.cells).fill(Number.NaN)
    : target === 'SM'
      ? ds.SM
      : ds.ET;
  if (!obs)
    throw new FieldcalError(
      'VALIDATION',
      `the dataset has no ${target === 'SM' ? 'sm/' : 'et/'} stack to calibrate against`,
      { field: 'target' },
    );
  const base = baseOfDataset(ds);
  const spec = (n: Vic3lParamName) => VIC3L.parameters.find((p) => p.name === n)!;
  const pr: GriddedProblem = {
    ...base,
    target: {
      name: target,
      obs,
      ...(coarse
        ? { coarse: { bins: coarse.bin, values: coarse.values, rule: coarse.rule, dates: coarse.dates } }
        : {}),
    },
    periods: isPeriods(split) ? split : periodsOf(split, base.steps),
    calibrated,
    lower: calibrated.map((n) => bounds[n]?.lower ?? spec(n).bounds[0]),
    upper: calibrated.map((n) => bounds[n]?.upper ?? spec(n).bounds[1]),
    // vic3l takes its step in days (hourly datasets: 1/24; physics/vic3l scales its rate constants by it)
    dt: (ds.stepSeconds ?? 86400) / 86400,
  };
  checkProblem(pr);
  return pr;
}

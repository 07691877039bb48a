import { makeTwin } from '../../../../src-main/services/calibration/twin/generate';
import { runVic3l, VIC3L_PARAMS, type Vic3lParams } from '../../../../src-main/services/physics/vic3l';
import { mulberry32 } from '../../../../src-main/services/surrogate/data';
import type { Ensemble, SurrogateProblem } from '../../../../src-main/services/surrogate/types';

/**
 * A small in-memory ensemble for the surrogate tests: a basin-layout twin's grid and forcing cut to
 * `steps` days, and `members` parameter fields drawn uniformly per cell within vic3l's bounds (the
 * paper's sampler), each run through vic3l (ET, mm/day). Implements the `Ensemble` interface.
 */
export function smallCase(o: {
  rows?: number;
  cols?: number;
  steps?: number;
  split?: { train: number; valid: number; test: number };
  seed?: number;
}): {
  problem: SurrogateProblem;
  ensemble: Ensemble;
  run: (fields: Float64Array[]) => Float64Array;
  truth: Float64Array[];
} {
  const twin = makeTwin({
    rows: o.rows ?? 6,
    cols: o.cols ?? 7,
    seed: o.seed ?? 5,
    years: { warmup: 0, train: 1, valid: 1, test: 1 },
  });
  const p = twin.problem;
  const steps = o.steps ?? 240;
  const cut = (x: ArrayLike<number>) => Float64Array.from({ length: steps * p.cells }, (_, i) => x[i]!);
  const forcing = {
    P: cut(p.forcing.P),
    PET: cut(p.forcing.PET),
    ...(p.forcing.T ? { T: cut(p.forcing.T) } : {}),
  };
  const problem: SurrogateProblem = {
    rows: p.rows,
    cols: p.cols,
    mask: p.mask,
    cells: p.cells,
    steps,
    forcing,
    parameters: [...p.calibrated],
    lower: p.lower,
    upper: p.upper,
    target: 'ET',
    modelKey: 'vic3l-test',
    dataKey: `twin-${o.seed ?? 5}`,
  };
  const run = (fields: Float64Array[]) => {
    const params = Object.fromEntries(
      VIC3L_PARAMS.map((n) => [n, fields[problem.parameters.indexOf(n)]!]),
    ) as unknown as Vic3lParams;
    return Float64Array.from(runVic3l(params, forcing, steps, { outputs: ['ET'] }).outputs.ET!);
  };
  const split = o.split ?? { train: 10, valid: 3, test: 3 };
  const n = split.train + split.valid + split.test;
  const rand = mulberry32(o.seed ?? 5);
  const fields: Float64Array[][] = [];
  const targets: Float64Array[] = [];
  for (let m = 0; m < n; m++) {
    const f = problem.parameters.map((_, j) =>
      Float64Array.from(
        { length: problem.cells },
        () => problem.lower[j]! + rand() * (problem.upper[j]! - problem.lower[j]!),
      ),
    );
    fields.push(f);
    targets.push(run(f));
  }
  const ids = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  const ensemble: Ensemble = {
    dir: '(memory)',
    manifest: {
      format: 'fieldcal-ensemble',
      version: 1,
      spec: { members: n, sampler: 'uniform-cell', seed: o.seed ?? 5, split },
      parameters: problem.parameters,
      lower: problem.lower,
      upper: problem.upper,
      target: 'ET',
      cells: problem.cells,
      steps,
      modelKey: problem.modelKey,
      dataKey: problem.dataKey,
      complete: n,
      createdAt: new Date(0).toISOString(),
    },
    members: (s) =>
      s === 'train'
        ? ids(0, split.train)
        : s === 'valid'
          ? ids(split.train, split.train + split.valid)
          : ids(split.train + split.valid, n),
    params: (m) => fields[m]!.map((f) => Float64Array.from(f)),
    target: (m, t0, t1) => targets[m]!.slice(t0 * problem.cells, t1 * problem.cells),
  };
  return { problem, ensemble, run, truth: twin.truth };
}

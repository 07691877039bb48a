// A small vic3l problem and its model run for ensemble tests (unit and the SIGKILL integration test).
import { runVic3l, VIC3L, VIC3L_PARAMS, type Vic3lParams } from '../../../../src-main/services/physics/vic3l';
import type { ModelRun, SurrogateProblem } from '../../../../src-main/services/surrogate/types';

/** A rows x cols grid (one inactive corner cell), `steps` days of seeded synthetic forcing, the seven vic3l parameters. */
export function smallProblem(rows = 3, cols = 4, steps = 120): SurrogateProblem {
  const mask = new Uint8Array(rows * cols).fill(1);
  mask[0] = 0;
  const cells = rows * cols - 1;
  const P = new Float64Array(steps * cells);
  const PET = new Float64Array(steps * cells);
  let s = 12345;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let t = 0; t < steps; t++)
    for (let c = 0; c < cells; c++) {
      P[t * cells + c] = rand() < 0.3 ? 20 * rand() : 0;
      PET[t * cells + c] = 2 + 1.5 * Math.sin((2 * Math.PI * t) / 365) + (0.2 * c) / cells;
    }
  const specs = VIC3L_PARAMS.map((n) => VIC3L.parameters.find((p) => p.name === n)!);
  return {
    rows,
    cols,
    mask,
    cells,
    steps,
    forcing: { P, PET },
    parameters: [...VIC3L_PARAMS],
    lower: specs.map((p) => p.bounds[0]),
    upper: specs.map((p) => p.bounds[1]),
    target: 'ET',
    modelKey: 'vic3l-test',
    dataKey: 'synthetic-12345',
  };
}

/** vic3l's ET for the problem's forcing, counting its calls. */
export function vicRun(pr: SurrogateProblem): { run: ModelRun; calls: () => number } {
  let n = 0;
  const run: ModelRun = (fields) => {
    n++;
    const params = Object.fromEntries(
      VIC3L_PARAMS.map((name, k) => [name, fields[k]!]),
    ) as unknown as Vic3lParams;
    const out = runVic3l(params, pr.forcing, pr.steps, { outputs: ['ET'] }).outputs.ET!;
    return Float64Array.from(out);
  };
  return { run, calls: () => n };
}

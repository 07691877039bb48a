import { monthlyMeans } from '../../datasets/coarseTarget';
import { checkProblem } from '../gridded/problem';
import { makeTwin, type Twin, type TwinOptions } from './generate';

/**
 * An identical twin whose observed target is monthly top-layer soil moisture: vic3l with the
 * hidden true parameters on the twin's daily forcing, its SM (W1 / 1000 d1, m³/m³) averaged over
 * each calendar month wholly inside the record (noise 0 by default; with `noise`, the twin's noisy
 * daily observations are averaged). The problem compares these monthly values
 * with the monthly mean of the simulation (gridded/coarse.ts); `obs` at the model step is empty.
 * Use named `periods` on the real calendar (months are calendar months of `Twin.dates`).
 */
export function makeMonthlySmTwin(
  options: Partial<TwinOptions> = {},
): Twin & { months: Date[]; monthlyTrue: Float64Array } {
  const twin = makeTwin({ noise: 0, ...options, target: 'SM' });
  const pr = twin.problem;
  const truth = monthlyMeans(twin.etTrue, pr.cells, twin.dates);
  // noise 0 (default here): the daily observations are the truth, so are their monthly means
  const observed = monthlyMeans(pr.target.obs, pr.cells, twin.dates);
  pr.target = {
    name: 'SM',
    obs: new Float64Array(pr.steps * pr.cells).fill(Number.NaN),
    coarse: { bins: truth.bins, values: observed.values, rule: 'mean', dates: truth.months },
  };
  checkProblem(pr);
  return { ...twin, months: truth.months, monthlyTrue: truth.values };
}

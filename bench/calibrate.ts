import { sceUa } from '../src-main/services/calibration/sce-ua';
import { calibrateGr4Gradient } from '../src-main/services/calibration/gradient/gr4Lumped';
import { initialState, runGr4 } from '../src-main/services/physics/gr4/forward';
import { nse } from '../src-main/services/metrics';
import { airgrReferencePeriod } from '../tests/helpers/airgr';
import { machine } from './stats';

/**
 * GR4J on airGR's L0123001 (1990-1999, warm-up 1989, NSE on Qmm) calibrated by SCE-UA, next to
 * airGR's Calibration_Michel on the same machine kind (../shared/PEERS.md: NSE 0.7988, 0.13 s, 234 runs).
 * `gradient_bfgs` counts an evaluation as two model runs (forward with tape, then the reverse pass).
 * The paper-size twin timings of issue 6 (dpl, hda-pr, sce-ua per 100 runs) need those methods first.
 */
export async function calibrateBench(): Promise<Record<string, unknown>> {
  const { P, E, obs, warmup } = airgrReferencePeriod();
  const f = (x: Float64Array) => {
    const p = { X1: x[0]!, X2: x[1]!, X3: x[2]!, X4: x[3]! };
    return 1 - nse(obs, runGr4(p, P, E, initialState(p.X1, p.X3)).Q.subarray(warmup)).value;
  };
  const runs: Array<Record<string, number>> = [];
  for (const seed of [1, 2, 3]) {
    const t = performance.now();
    const r = sceUa(f, [10, -5, 10, 0.5], [2500, 5, 1000, 10], { complexes: 4, seed });
    runs.push({
      seed,
      seconds: +((performance.now() - t) / 1000).toFixed(3),
      model_runs: r.runs,
      nse: +(1 - r.objective).toFixed(5),
      X1: +r.best[0]!.toFixed(2),
      X2: +r.best[1]!.toFixed(3),
      X3: +r.best[2]!.toFixed(2),
      X4: +r.best[3]!.toFixed(3),
    });
  }
  const grad: Array<Record<string, number>> = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    const r = calibrateGr4Gradient({ P, E, obs, warmup });
    grad.push({
      seconds: +((performance.now() - t) / 1000).toFixed(3),
      evaluations: r.evaluations,
      model_runs_equivalent: r.evaluations * 2,
      nse: +r.nse.toFixed(5),
    });
  }
  return {
    machine: machine(),
    gr4j_L0123001_sce_ua: runs,
    gr4j_L0123001_gradient_bfgs: grad,
    airgr_calibration_michel: { nse: 0.7988, seconds: 0.13, model_runs: 234, source: '../shared/PEERS.md' },
  };
}

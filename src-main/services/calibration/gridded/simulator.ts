import {
  runVic3l,
  vic3lWithGradient,
  VIC3L_PARAMS,
  type Vic3lForcing,
  type Vic3lParamName,
} from '../../physics/vic3l';
import { targetOutput, type GriddedProblem } from './problem';
import { lossTarget } from './coarse';
import { TargetLoss, type GriddedObjective } from './objectives';

/** Full parameter fields, one array per vic3l parameter. */
export type ParamFields = Record<Vic3lParamName, Float64Array>;

/**
 * Runs the problem's model for the calibration methods: whole-domain forward runs and
 * objective + exact gradient. {@link LocalSimulator} runs on the calling thread; the worker pool
 * (jobs/modelPool) spreads cells over threads behind the same interface.
 */
export interface Simulator {
  /** The target output (ET) over steps [0, t1), step-major [t1 x cells]. */
  run(params: ParamFields, t1: number): Float64Array;
  /** Objective on the target over [t0, t1) and its gradient with respect to every parameter field. */
  lossGrad(
    params: ParamFields,
    kind: GriddedObjective,
    t0: number,
    t1: number,
  ): { f: number; g: ParamFields };
  /**
   * Optional (the model pool has it): the model on the listed cells only, from step s0 with its
   * initial stores to t1, the objective on [t0, t1) and its gradient; `params` and the gradient
   * hold one value per listed cell. Not for a coarse target.
   */
  windowLossGrad?(
    cells: ArrayLike<number>,
    params: ParamFields,
    kind: GriddedObjective,
    s0: number,
    t0: number,
    t1: number,
  ): { f: number; g: ParamFields };
  close(): void;
}

/** The problem's forcing over steps [0, t1) (views, no copy). */
export function forcingUntil(pr: GriddedProblem, t1: number): Vic3lForcing {
  const k = t1 * pr.cells;
  const cut = (a: ArrayLike<number>) => (a as Float64Array).subarray(0, k);
  const { P, PET, T } = pr.forcing;
  return { P: cut(P), PET: cut(PET), T: T && cut(T) };
}

export class LocalSimulator implements Simulator {
  constructor(private readonly pr: GriddedProblem) {}

  run(params: ParamFields, t1: number): Float64Array {
    const { output, scale } = targetOutput(this.pr.target.name);
    const out = runVic3l(params, forcingUntil(this.pr, t1), t1, {
      dt: this.pr.dt,
      outputs: [output],
    }).outputs[output]!;
    return scale === 1 ? (out as Float64Array) : Float64Array.from(out, (v) => v * scale);
  }

  lossGrad(params: ParamFields, kind: GriddedObjective, t0: number, t1: number) {
    const n = this.pr.cells;
    const obs = this.pr.target.obs;
    const { output, scale } = targetOutput(this.pr.target.name);
    // a coarse target compares at its own step (gridded/coarse.ts)
    const co = this.pr.target.coarse && lossTarget(this.pr.target.coarse, n);
    const loss = co
      ? new TargetLoss(kind, output, t0, t1, co.obs, n, undefined, scale, co.bins)
      : new TargetLoss(kind, output, t0, t1, (t, c) => obs[t * n + c]!, n, undefined, scale);
    const { gradient } = vic3lWithGradient(params, forcingUntil(this.pr, t1), t1, loss, {
      dt: this.pr.dt,
    });
    const g = {} as ParamFields;
    for (const name of VIC3L_PARAMS) g[name] = gradient[name];
    return { f: loss.value, g };
  }

  close(): void {}
}

import { FieldcalError } from '../../../../../src-shared/ipc';
import { gr4WithGradient } from '../../../physics/gr4/adjoint';
import { initialState } from '../../../physics/gr4/forward';
import { GR4J } from '../../../physics/gr4/structure';
import { bfgsBox } from '../../optim/bfgs';
import type { SnowCells } from '../../../physics/cemaneige/kernel';
import {
  airGRSpaceJacobian,
  fromAirGRSpace,
  gr4CemaNeigeWithGradient,
  toAirGRSpace,
  toGr4SnowParams,
  type Gr4SnowParams,
} from '../../../physics/cemaneige/gr4cemaneige';
import { GR4_CEMANEIGE } from '../../../physics/cemaneige/structure';

export interface LumpedGr4Calibration {
  params: { X1: number; X2: number; X3: number; X4: number };
  nse: number;
  evaluations: number;
  iterations: number;
  converged: boolean;
}

/**
 * Calibrates lumped GR4J by minimising 1 - NSE with box-constrained BFGS on the exact adjoint
 * gradient: dL/dQ_t = 2 (Q_t - O_t) / Σ(O - Ō)² over the observed steps after the warm-up (Nash &
 * Sutcliffe 1970), chained through the model. Each evaluation is one forward-and-adjoint run.
 */
export function calibrateGr4Gradient(opts: {
  P: ArrayLike<number>;
  E: ArrayLike<number>;
  /** Observed discharge (mm/step) for the steps after the warm-up; NaN = missing. */
  obs: ArrayLike<number>;
  warmup: number;
  lower?: number[];
  upper?: number[];
  start?: number[];
}): LumpedGr4Calibration {
  const { P, E, obs, warmup } = opts;
  if (obs.length !== P.length - warmup) {
    throw new FieldcalError(
      'VALIDATION',
      `obs has ${obs.length} steps, expected ${P.length - warmup} after a ${warmup}-step warm-up`,
      { field: 'obs' },
    );
  }
  let mean = 0;
  let n = 0;
  for (let i = 0; i < obs.length; i++)
    if (Number.isFinite(obs[i]!)) {
      mean += obs[i]!;
      n++;
    }
  if (n < 2) throw new FieldcalError('VALIDATION', 'fewer than two observed values', { field: 'obs' });
  mean /= n;
  let den = 0;
  for (let i = 0; i < obs.length; i++) if (Number.isFinite(obs[i]!)) den += (obs[i]! - mean) ** 2;
  if (den === 0)
    throw new FieldcalError('VALIDATION', 'observations are constant: NSE is undefined', { field: 'obs' });
  const defaults = GR4J.parameters;
  const fg = (x: Float64Array) => {
    const p = { X1: x[0]!, X2: x[1]!, X3: x[2]!, X4: x[3]! };
    let num = 0;
    // one forward run: dL/dQ comes from the outputs of the gradient run itself
    const { gradient: g } = gr4WithGradient(p, P, E, initialState(p.X1, p.X3), ({ Q }) => {
      const gQ = new Float64Array(P.length);
      for (let t = warmup; t < P.length; t++) {
        const o = obs[t - warmup]!;
        if (!Number.isFinite(o)) continue;
        num += (Q[t]! - o) ** 2;
        gQ[t] = (2 * (Q[t]! - o)) / den;
      }
      return gQ;
    });
    // the initial stores are 0.3 X1 and 0.5 X3 (airGR)
    return { f: num / den, g: Float64Array.from([g.X1 + 0.3 * g.S0, g.X2, g.X3 + 0.5 * g.R0, g.X4]) };
  };
  const r = bfgsBox(
    fg,
    opts.lower ?? [10, -5, 10, 0.5],
    opts.upper ?? [2500, 5, 1000, 10],
    opts.start ?? defaults.map((d) => d.default),
  );
  return {
    params: { X1: r.x[0]!, X2: r.x[1]!, X3: r.x[2]!, X4: r.x[3]! },
    nse: 1 - r.f,
    evaluations: r.evaluations,
    iterations: r.iterations,
    converged: r.converged,
  };
}

/**
 * 1 - NSE (Nash & Sutcliffe 1970) over the observed steps after the warm-up, with its derivative
 * dL/dQ_t = 2 (Q_t - O_t) / Σ(O - Ō)² for a simulation covering warm-up + period.
 */
export function nseLoss(obs: ArrayLike<number>, warmup: number) {
  let mean = 0;
  let n = 0;
  for (let i = 0; i < obs.length; i++)
    if (Number.isFinite(obs[i]!)) {
      mean += obs[i]!;
      n++;
    }
  if (n < 2) throw new FieldcalError('VALIDATION', 'fewer than two observed values', { field: 'obs' });
  mean /= n;
  let den = 0;
  for (let i = 0; i < obs.length; i++) if (Number.isFinite(obs[i]!)) den += (obs[i]! - mean) ** 2;
  if (den === 0)
    throw new FieldcalError('VALIDATION', 'observations are constant: NSE is undefined', { field: 'obs' });
  return (Q: Float64Array): { f: number; gQ: Float64Array } => {
    const gQ = new Float64Array(Q.length);
    let num = 0;
    for (let t = warmup; t < Q.length; t++) {
      const o = obs[t - warmup]!;
      if (!Number.isFinite(o)) continue;
      num += (Q[t]! - o) ** 2;
      gQ[t] = (2 * (Q[t]! - o)) / den;
    }
    return { f: num / den, gQ };
  };
}

/**
 * Calibrates lumped GR4J by box-constrained BFGS on the exact adjoint gradient of 1 - NSE in
 * airGR's transformed space (TransfoParam_GR4J: log X1, asinh X2, log X3, linear X4; where
 * Calibration_Michel searches), from `start` (real values; default GR4J's defaults). The transform
 * makes one box hold airGR's whole range (X3 up to e^9.99) with well-scaled steps.
 */
export function calibrateGr4TransformedGradient(opts: {
  P: ArrayLike<number>;
  E: ArrayLike<number>;
  obs: ArrayLike<number>;
  warmup: number;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  start?: ArrayLike<number>;
  maxIterations?: number;
}): LumpedGr4Calibration {
  const { P, E, obs, warmup } = opts;
  if (obs.length !== P.length - warmup)
    throw new FieldcalError(
      'VALIDATION',
      `obs has ${obs.length} steps, expected ${P.length - warmup} after a ${warmup}-step warm-up`,
      { field: 'obs' },
    );
  const loss = nseLoss(obs, warmup);
  const { tl, tu } = transformedBounds(opts.lower, opts.upper);
  const t0 = insideBox(toAirGRSpace(opts.start ?? GR4J.parameters.map((d) => d.default)), tl, tu);
  const fg = (t: Float64Array) => {
    const x = fromAirGRSpace(t);
    const p = { X1: x[0]!, X2: x[1]!, X3: x[2]!, X4: x[3]! };
    let f = 0;
    const { gradient: g } = gr4WithGradient(p, P, E, initialState(p.X1, p.X3), ({ Q }) => {
      const r = loss(Q);
      f = r.f;
      return r.gQ;
    });
    const jac = airGRSpaceJacobian(t);
    // the initial stores are 0.3 X1 and 0.5 X3 (airGR)
    const gx = [g.X1 + 0.3 * g.S0, g.X2, g.X3 + 0.5 * g.R0, g.X4];
    return { f, g: Float64Array.from(gx, (v, i) => v * jac[i]!) };
  };
  const r = bfgsBox(fg, tl, tu, t0, { maxIterations: opts.maxIterations ?? 200 });
  const x = fromAirGRSpace(r.x);
  return {
    params: { X1: x[0]!, X2: x[1]!, X3: x[2]!, X4: x[3]! },
    nse: 1 - r.f,
    evaluations: r.evaluations,
    iterations: r.iterations,
    converged: r.converged,
  };
}

/**
 * Real bounds → airGR's transformed space. A bound the transform cannot take (X1, X3 or Kf ≤ 0:
 * log of a non-positive number) becomes airGR's own edge, -9.99.
 */
export function transformedBounds(lower: ArrayLike<number>, upper: ArrayLike<number>) {
  const fix = (a: Float64Array, edge: number) => a.map((v) => (Number.isFinite(v) ? v : edge));
  return { tl: fix(toAirGRSpace(lower), -9.99), tu: fix(toAirGRSpace(upper), 9.99) };
}

/** A transformed point moved strictly inside the box, as bfgsBox's sigmoid map needs. */
function insideBox(t: Float64Array, tl: Float64Array, tu: Float64Array): Float64Array {
  return Float64Array.from(t, (v, i) => {
    const eps = 1e-6 * (tu[i]! - tl[i]!);
    return Math.min(tu[i]! - eps, Math.max(tl[i]! + eps, Number.isFinite(v) ? v : tl[i]!));
  });
}

export interface LumpedSnowCalibration {
  params: Gr4SnowParams;
  nse: number;
  evaluations: number;
  iterations: number;
  converged: boolean;
}

/**
 * Calibrates lumped GR4J + CemaNeige by box-constrained BFGS on the exact adjoint gradient of
 * 1 - NSE, in airGR's transformed parameter space (TransfoParam_GR4J / _CemaNeige: where
 * Calibration_Michel searches), from `start` (real values; default the structure's defaults).
 * CTG's gradient is zero almost everywhere (it acts through the thermal state's clamp), so CTG stays
 * where the start put it: a global search (SCE-UA) chooses it.
 */
export function calibrateGr4SnowGradient(opts: {
  snow: SnowCells;
  E: ArrayLike<number>;
  obs: ArrayLike<number>;
  warmup: number;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  start?: ArrayLike<number>;
  maxIterations?: number;
}): LumpedSnowCalibration {
  const { snow, E, obs, warmup } = opts;
  if (obs.length !== snow.steps - warmup)
    throw new FieldcalError(
      'VALIDATION',
      `obs has ${obs.length} steps, expected ${snow.steps - warmup} after a ${warmup}-step warm-up`,
      { field: 'obs' },
    );
  const loss = nseLoss(obs, warmup);
  const { tl, tu } = transformedBounds(opts.lower, opts.upper);
  const x0 = opts.start ?? GR4_CEMANEIGE.parameters.map((p) => p.default);
  // strictly inside the box, as the sigmoid map needs
  const t0 = insideBox(toAirGRSpace(x0), tl, tu);
  const fg = (t: Float64Array) => {
    const x = fromAirGRSpace(t);
    let f = 0;
    const { gradient: g } = gr4CemaNeigeWithGradient(toGr4SnowParams(x), snow, E, (Q) => {
      const r = loss(Q);
      f = r.f;
      return r.gQ;
    });
    const jac = airGRSpaceJacobian(t);
    const gx = [g.X1, g.X2, g.X3, g.X4, g.CTG, g.Kf];
    return { f, g: Float64Array.from(gx, (v, i) => v * jac[i]!) };
  };
  const r = bfgsBox(fg, tl, tu, t0, { maxIterations: opts.maxIterations ?? 200 });
  return {
    params: toGr4SnowParams(fromAirGRSpace(r.x)),
    nse: 1 - r.f,
    evaluations: r.evaluations,
    iterations: r.iterations,
    converged: r.converged,
  };
}

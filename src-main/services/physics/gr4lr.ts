import { FieldcalError } from '../../../src-shared/ipc';
import { gr4WithGradient } from './gr4/adjoint';
import { gr4Timing, initialState, runGr4, type Gr4Params, type Gr4Timing } from './gr4/forward';
import { routeLr, routeLrWithGradient, type RoutingNetwork } from './routing/lr';

/** Distributed parameters of gr4 + lr: one value per active cell for each of X1..X4 and llr. */
export interface Gr4LrParams {
  X1: Float64Array;
  X2: Float64Array;
  X3: Float64Array;
  X4: Float64Array;
  llr: Float64Array;
}

const cellParams = (p: Gr4LrParams, c: number): Gr4Params => ({
  X1: p.X1[c]!,
  X2: p.X2[c]!,
  X3: p.X3[c]!,
  X4: p.X4[c]!,
});

/**
 * The distributed model: GR4J in every cell (airGR's default initial state) on cell forcing
 * (step-major [steps x cells], mm/step), its runoff routed by `lr`. Returns discharge (m³/s) at
 * every cell and step. `dt` is the model step in seconds (86400 daily, 3600 hourly): GR4's
 * step-dependent constants follow it as smash's gr4 does (gr4Timing; md_gr_operator.f90) and lr
 * drains 1 - exp(-dt / 60 llr) per step (smash md_routing_operator.f90); X2 is then mm per step
 * and X4 a number of steps.
 */
export function runGr4Lr(
  net: RoutingNetwork,
  p: Gr4LrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  dt: number,
): Float64Array {
  const n = net.cells;
  checkSizes(p, n, P.length, steps);
  const runoff = cellRunoff(n, p, P, E, steps, gr4Timing(dt));
  return routeLr(net, runoff, steps, p.llr, dt, new Float64Array(n));
}

/**
 * Discharge and the exact gradient of L = Σ gQ·Q with respect to every distributed parameter:
 * the routing adjoint gives dL/d(runoff) per cell and step, which drives each cell's GR4J adjoint
 * (the chained gradients of HDA-PR, Huynh et al.). Initial stores follow X1 and X3 (0.3 X1, 0.5 X3).
 */
export function gr4LrWithGradient(
  net: RoutingNetwork,
  p: Gr4LrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  dt: number,
  /** dL/dQ per cell and step, or a function computing it from the discharge of this same run. */
  gQ: ArrayLike<number> | ((q: Float64Array) => ArrayLike<number>),
) {
  const n = net.cells;
  checkSizes(p, n, P.length, steps);
  const timing = gr4Timing(dt);
  const runoff = cellRunoff(n, p, P, E, steps, timing);
  const pc = new Float64Array(steps);
  const ec = new Float64Array(steps);
  const routed = routeLrWithGradient(net, runoff, steps, p.llr, dt, new Float64Array(n), gQ);
  const grad = {
    X1: new Float64Array(n),
    X2: new Float64Array(n),
    X3: new Float64Array(n),
    X4: new Float64Array(n),
    llr: routed.gradient.llr,
  };
  const gq = new Float64Array(steps);
  for (let c = 0; c < n; c++) {
    for (let t = 0; t < steps; t++) {
      pc[t] = P[t * n + c]!;
      ec[t] = E[t * n + c]!;
      gq[t] = routed.gradient.runoff[t * n + c]!;
    }
    const cp = cellParams(p, c);
    const { gradient: g } = gr4WithGradient(
      cp,
      pc,
      ec,
      initialState(cp.X1, cp.X3, timing),
      gq,
      undefined,
      undefined,
      timing,
    );
    grad.X1[c] = g.X1 + 0.3 * g.S0;
    grad.X2[c] = g.X2;
    grad.X3[c] = g.X3 + 0.5 * g.R0;
    grad.X4[c] = g.X4;
  }
  return { q: routed.q, gradient: grad };
}

/** GR4J runoff of every cell (step-major), each from airGR's default initial state. */
function cellRunoff(
  n: number,
  p: Gr4LrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  timing: Gr4Timing,
): Float64Array {
  const runoff = new Float64Array(steps * n);
  const pc = new Float64Array(steps);
  const ec = new Float64Array(steps);
  for (let c = 0; c < n; c++) {
    for (let t = 0; t < steps; t++) {
      pc[t] = P[t * n + c]!;
      ec[t] = E[t * n + c]!;
    }
    const cp = cellParams(p, c);
    const q = runGr4(cp, pc, ec, initialState(cp.X1, cp.X3, timing), timing).Q;
    for (let t = 0; t < steps; t++) runoff[t * n + c] = q[t]!;
  }
  return runoff;
}

function checkSizes(p: Gr4LrParams, n: number, forcing: number, steps: number): void {
  for (const [k, v] of Object.entries(p)) {
    if ((v as Float64Array).length !== n)
      throw new FieldcalError(
        'VALIDATION',
        `parameter ${k} has ${(v as Float64Array).length} values for ${n} cells`,
        { field: k },
      );
  }
  if (forcing !== steps * n)
    throw new FieldcalError('VALIDATION', `forcing has ${forcing} values, expected ${steps} x ${n}`, {
      field: 'P',
    });
}

import { FieldcalError } from '../../../src-shared/ipc';
import { routeLr, routeLrWithGradient, type RoutingNetwork } from './routing/lr';
import {
  runVic3l,
  vic3lWithGradient,
  type Vic3lForcing,
  type Vic3lGradient,
  type Vic3lOptions,
  type Vic3lParams,
} from './vic3l';

/** vic3l's seven parameters per cell plus lr's llr (minutes). */
export type Vic3lLrParams = Vic3lParams & { llr: ArrayLike<number> };

function checkDt(dtSeconds: number): void {
  if (!(dtSeconds > 0 && dtSeconds <= 86400))
    throw new FieldcalError('VALIDATION', `time step must be in (0, 86400] s (got ${dtSeconds})`, {
      field: 'dt',
    });
}

/**
 * vic3l in every cell, its total runoff (surface + baseflow) routed down the D8 network by `lr`.
 * Forcing step-major [steps x cells]; returns discharge (m³/s) at every cell and step.
 */
export function runVic3lLr(
  net: RoutingNetwork,
  p: Vic3lLrParams,
  forcing: Vic3lForcing,
  steps: number,
  dtSeconds: number,
  opts: Vic3lOptions = {},
): Float64Array {
  checkDt(dtSeconds);
  const { outputs } = runVic3l(p, forcing, steps, { ...opts, dt: dtSeconds / 86400, outputs: ['R', 'Qb'] });
  const runoff = new Float64Array(steps * net.cells);
  for (let i = 0; i < runoff.length; i++) runoff[i] = outputs.R![i]! + outputs.Qb![i]!;
  return routeLr(net, runoff, steps, p.llr, dtSeconds, new Float64Array(net.cells));
}

/**
 * Discharge and the exact gradient of L(Q) with respect to every cell's vic3l parameters, llr and
 * initial states: one vic3l forward pass collects the runoff, the routing adjoint turns dL/dQ into
 * dL/d(runoff) per cell and step, which drives vic3l's reverse pass (chained gradients as in
 * HDA-PR, Huynh et al.).
 */
export function vic3lLrWithGradient(
  net: RoutingNetwork,
  p: Vic3lLrParams,
  forcing: Vic3lForcing,
  steps: number,
  dtSeconds: number,
  gQ: ArrayLike<number> | ((q: Float64Array) => ArrayLike<number>),
  opts: Vic3lOptions = {},
): { q: Float64Array; gradient: Vic3lGradient & { llr: Float64Array } } {
  checkDt(dtSeconds);
  const n = net.cells;
  const runoff = new Float64Array(steps * n);
  let routed: ReturnType<typeof routeLrWithGradient> | undefined;
  const { gradient } = vic3lWithGradient(
    p,
    forcing,
    steps,
    {
      forward(t, out) {
        for (let c = 0; c < n; c++) runoff[t * n + c] = out.R[c]! + out.Qb[c]!;
      },
      afterForward() {
        routed = routeLrWithGradient(net, runoff, steps, p.llr, dtSeconds, new Float64Array(n), gQ);
      },
      // the cotangents come from the routing's gradient alone: no flux on the tape
      reads: [],
      backward(t, _out, g) {
        const gr = routed!.gradient.runoff;
        for (let c = 0; c < n; c++) {
          g.R[c] = gr[t * n + c]!;
          g.Qb[c] = gr[t * n + c]!;
        }
      },
    },
    { ...opts, dt: dtSeconds / 86400 },
  );
  return { q: routed!.q, gradient: { ...gradient, llr: routed!.gradient.llr } };
}

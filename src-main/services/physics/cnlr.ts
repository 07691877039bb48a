import { FieldcalError } from '../../../src-shared/ipc';
import { checkCnParams, runCnCell, type CnCellRun } from './cn/kernel';
import { routeLr, type RoutingNetwork } from './routing/lr';

/** Distributed parameters of cn + lr: one value per active cell for CN, Ks, Smax, kg and llr. */
export interface CnLrParams {
  CN: Float64Array;
  Ks: Float64Array;
  Smax: Float64Array;
  kg: Float64Array;
  llr: Float64Array;
}

/** Order of the distributed parameters of cn + lr: the CN structure's, then lr's llr. */
export const CN_LR_PARAMETERS = ['CN', 'Ks', 'Smax', 'kg', 'llr'] as const;

/** A cn + lr run: discharge at every cell and step (m³/s), and per cell totals (mm) for water balances. */
export interface CnLrRun {
  q: Float64Array;
  /** Per cell, over the series (mm): precipitation and actual evapotranspiration. */
  P: Float64Array;
  AE: Float64Array;
  /** Per cell storage change of the soil and groundwater stores (mm). */
  dS: Float64Array;
  /** Level of the routing reservoirs at the end (mm over the cell). */
  h: Float64Array;
}

function checkSizes(p: CnLrParams, n: number, forcing: number, steps: number): void {
  for (const k of CN_LR_PARAMETERS) {
    const v = p[k];
    if (!v || v.length !== n)
      throw new FieldcalError('VALIDATION', `parameter ${k} has ${v ? v.length : 0} values for ${n} cells`, {
        field: k,
      });
  }
  if (forcing !== steps * n)
    throw new FieldcalError('VALIDATION', `forcing has ${forcing} values, expected ${steps} x ${n}`, {
      field: 'P',
    });
}

/**
 * The distributed CN model: runCnCell in every cell on cell forcing (step-major [steps x cells],
 * mm per step), its runoff routed by smash's `lr` (routeLr, reservoirs empty at the start).
 * `dt` is the model step in seconds.
 */
export function runCnLrDetailed(
  net: RoutingNetwork,
  p: CnLrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  dt: number,
): CnLrRun {
  const n = net.cells;
  checkSizes(p, n, P.length, steps);
  const runoff = new Float64Array(steps * n);
  const pc = new Float64Array(steps);
  const ec = new Float64Array(steps);
  const qc = new Float64Array(steps);
  const cP = new Float64Array(n);
  const cAE = new Float64Array(n);
  const dS = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    for (let t = 0; t < steps; t++) {
      pc[t] = P[t * n + c]!;
      ec[t] = E[t * n + c]!;
    }
    const cp = { CN: p.CN[c]!, Ks: p.Ks[c]!, Smax: p.Smax[c]!, kg: p.kg[c]! };
    checkCnParams(cp, c);
    const r: CnCellRun = runCnCell(cp, pc, ec, steps, dt, qc);
    for (let t = 0; t < steps; t++) runoff[t * n + c] = qc[t]!;
    cP[c] = r.totals.P;
    cAE[c] = r.totals.AE;
    dS[c] = r.W - r.W0 + (r.G - r.G0);
  }
  const h = new Float64Array(n);
  const q = routeLr(net, runoff, steps, p.llr, dt, h);
  return { q, P: cP, AE: cAE, dS, h };
}

/** Discharge (m³/s) at every cell and step of cn + lr (runCnLrDetailed without the totals). */
export function runCnLr(
  net: RoutingNetwork,
  p: CnLrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  dt: number,
): Float64Array {
  return runCnLrDetailed(net, p, P, E, steps, dt).q;
}

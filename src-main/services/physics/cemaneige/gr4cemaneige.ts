import { FieldcalError } from '../../../../src-shared/ipc';
import { gr4WithGradient } from '../gr4/adjoint';
import { initialState, runGr4, type Gr4Outputs, type Gr4Params } from '../gr4/forward';
import { runSnowCells, snowAdjointCells, type SnowCells, type SnowRun } from './kernel';

/** GR4J + CemaNeige parameters (airGR CemaNeigeGR4J order: X1..X4, CTG, Kf). */
export interface Gr4SnowParams extends Gr4Params {
  CTG: number;
  Kf: number;
}

export const GR4_SNOW_PARAMETERS = ['X1', 'X2', 'X3', 'X4', 'CTG', 'Kf'] as const;

export const toGr4SnowParams = (v: ArrayLike<number>): Gr4SnowParams => ({
  X1: v[0]!,
  X2: v[1]!,
  X3: v[2]!,
  X4: v[3]!,
  CTG: v[4]!,
  Kf: v[5]!,
});

/** Catchment water input: the mean over the layers of liquid precipitation + melt (airGR RunModel_CemaNeigeGR4J). */
export function layerMean(liquid: Float64Array, cells: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  for (let c = 0; c < cells; c++) {
    const o = c * steps;
    for (let t = 0; t < steps; t++) out[t] = out[t]! + liquid[o + t]! / cells;
  }
  return out;
}

const snowParams = (p: Gr4SnowParams, cells: number) => ({
  CTG: new Float64Array(cells).fill(p.CTG),
  Kf: new Float64Array(cells).fill(p.Kf),
});

/**
 * Lumped GR4J + CemaNeige (airGR RunModel_CemaNeigeGR4J, no hysteresis): CemaNeige runs on every
 * elevation layer of `snow` from an empty pack at 0 °C, and the layers' mean liquid water feeds
 * GR4J (from airGR's default stores 0.3 X1, 0.5 X3) with the PET `E`.
 */
export function runGr4CemaNeige(
  p: Gr4SnowParams,
  snow: SnowCells,
  E: ArrayLike<number>,
): { Q: Float64Array; liquid: Float64Array; snow: SnowRun; gr4: Gr4Outputs } {
  if (E.length !== snow.steps)
    throw new FieldcalError('VALIDATION', `PET has ${E.length} steps, the snow layers ${snow.steps}`, {
      field: 'E',
    });
  const sr = runSnowCells(snow, snowParams(p, snow.cells));
  const liquid = layerMean(sr.liquid, snow.cells, snow.steps);
  const gr4 = runGr4(p, liquid, E, initialState(p.X1, p.X3));
  return { Q: gr4.Q, liquid, snow: sr, gr4 };
}

/**
 * Forward run and exact adjoint gradient of a loss through GR4J + CemaNeige: GR4J's adjoint gives
 * dL/d(liquid input), which is spread over the layers (1/n each) and carried back through the snow
 * kernel's adjoint. `loss` sees the discharge and returns dL/dQ. X1 and X3 include their initial
 * stores (0.3 X1, 0.5 X3, airGR).
 */
export function gr4CemaNeigeWithGradient(
  p: Gr4SnowParams,
  snow: SnowCells,
  E: ArrayLike<number>,
  loss: (Q: Float64Array) => ArrayLike<number>,
): { Q: Float64Array; gradient: Gr4SnowParams } {
  const sp = snowParams(p, snow.cells);
  const sr = runSnowCells(snow, sp);
  const liquid = layerMean(sr.liquid, snow.cells, snow.steps);
  const gLiquid = new Float64Array(snow.steps);
  const { outputs, gradient: g } = gr4WithGradient(
    p,
    liquid,
    E,
    initialState(p.X1, p.X3),
    (o) => loss(o.Q),
    undefined,
    gLiquid,
  );
  const gLayer = new Float64Array(snow.cells * snow.steps);
  for (let c = 0; c < snow.cells; c++)
    for (let t = 0; t < snow.steps; t++) gLayer[c * snow.steps + t] = gLiquid[t]! / snow.cells;
  const gs = snowAdjointCells(snow, sp, sr, gLayer);
  let gCTG = 0;
  let gKf = 0;
  for (let c = 0; c < snow.cells; c++) {
    gCTG += gs.CTG[c]!;
    gKf += gs.Kf[c]!;
  }
  return {
    Q: outputs.Q,
    gradient: { X1: g.X1 + 0.3 * g.S0, X2: g.X2, X3: g.X3 + 0.5 * g.R0, X4: g.X4, CTG: gCTG, Kf: gKf },
  };
}

/**
 * airGR's parameter transformations (TransfoParam_GR4J, TransfoParam_CemaNeige): every parameter
 * maps to [-9.99, 9.99], where Calibration_Michel searches. Forward = real → transformed.
 */
export function toAirGRSpace(v: ArrayLike<number>): Float64Array {
  return Float64Array.from([
    Math.log(v[0]!), // X1 = exp(t) (airGR TransfoParam_GR4J)
    Math.asinh(v[1]!), // X2 = sinh(t) (airGR TransfoParam_GR4J)
    Math.log(v[2]!), // X3 = exp(t) (airGR TransfoParam_GR4J)
    9.99 + (19.98 * (v[3]! - 20)) / 19.5, // X4 = 20 + 19.5 (t - 9.99)/19.98 (airGR TransfoParam_GR4J)
    v[4]! * 19.98 - 9.99, // CTG = (t + 9.99)/19.98 (airGR TransfoParam_CemaNeige)
    Math.log(v[5]! * 200), // Kf = exp(t)/200 (airGR TransfoParam_CemaNeige)
  ]);
}

/** Transformed → real (inverse of {@link toAirGRSpace}). */
export function fromAirGRSpace(t: ArrayLike<number>): Float64Array {
  return Float64Array.from([
    Math.exp(t[0]!), // airGR TransfoParam_GR4J
    Math.sinh(t[1]!), // airGR TransfoParam_GR4J
    Math.exp(t[2]!), // airGR TransfoParam_GR4J
    20 + (19.5 * (t[3]! - 9.99)) / 19.98, // airGR TransfoParam_GR4J
    (t[4]! + 9.99) / 19.98, // airGR TransfoParam_CemaNeige
    Math.exp(t[5]!) / 200, // airGR TransfoParam_CemaNeige
  ]);
}

/** d(real)/d(transformed) per parameter at transformed point t (chain rule for gradients in airGR space). */
export function airGRSpaceJacobian(t: ArrayLike<number>): Float64Array {
  return Float64Array.from([
    Math.exp(t[0]!),
    Math.cosh(t[1]!),
    Math.exp(t[2]!),
    19.5 / 19.98,
    1 / 19.98,
    Math.exp(t[5]!) / 200,
  ]);
}

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
 * maps to [-9.99, 9.99], where Calibration_Michel searches. One entry per parameter in airGR's
 * order (X1..X4, then CTG, Kf): `to` real → transformed, `from` transformed → real, `d` =
 * d(real)/d(transformed). A vector of 4 is GR4J's, of 6 GR4J + CemaNeige's.
 */
const AIRGR_TRANSFORMS: readonly {
  to: (v: number) => number;
  from: (t: number) => number;
  d: (t: number) => number;
}[] = [
  // X1 = exp(t) (airGR TransfoParam_GR4J)
  { to: Math.log, from: Math.exp, d: Math.exp },
  // X2 = sinh(t) (airGR TransfoParam_GR4J)
  { to: Math.asinh, from: Math.sinh, d: Math.cosh },
  // X3 = exp(t) (airGR TransfoParam_GR4J)
  { to: Math.log, from: Math.exp, d: Math.exp },
  // X4 = 20 + 19.5 (t - 9.99)/19.98 (airGR TransfoParam_GR4J)
  {
    to: (v) => 9.99 + (19.98 * (v - 20)) / 19.5,
    from: (t) => 20 + (19.5 * (t - 9.99)) / 19.98,
    d: () => 19.5 / 19.98,
  },
  // CTG = (t + 9.99)/19.98 (airGR TransfoParam_CemaNeige)
  { to: (v) => v * 19.98 - 9.99, from: (t) => (t + 9.99) / 19.98, d: () => 1 / 19.98 },
  // Kf = exp(t)/200 (airGR TransfoParam_CemaNeige)
  { to: (v) => Math.log(v * 200), from: (t) => Math.exp(t) / 200, d: (t) => Math.exp(t) / 200 },
];

const transform = (v: ArrayLike<number>, k: 'to' | 'from' | 'd'): Float64Array => {
  if (v.length !== 4 && v.length !== 6)
    throw new FieldcalError(
      'VALIDATION',
      `expected 4 (GR4J) or 6 (GR4J + CemaNeige) parameters, got ${v.length}`,
      {
        field: 'parameters',
      },
    );
  return Float64Array.from({ length: v.length }, (_, i) => AIRGR_TRANSFORMS[i]![k](v[i]!));
};

/** Real → airGR's transformed space (TransfoParam_GR4J / _CemaNeige), 4 or 6 parameters. */
export const toAirGRSpace = (v: ArrayLike<number>): Float64Array => transform(v, 'to');

/** Transformed → real (inverse of {@link toAirGRSpace}). */
export const fromAirGRSpace = (t: ArrayLike<number>): Float64Array => transform(t, 'from');

/** d(real)/d(transformed) per parameter at transformed point t (chain rule for gradients in airGR space). */
export const airGRSpaceJacobian = (t: ArrayLike<number>): Float64Array => transform(t, 'd');

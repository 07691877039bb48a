import { FieldcalError } from '../../../../src-shared/ipc';
import type { SnowCells } from '../../physics/cemaneige/kernel';
import { runGr4CemaNeige, toGr4SnowParams } from '../../physics/cemaneige/gr4cemaneige';
import { AIRGR_BOUNDS } from '../../physics/cemaneige/structure';
import { initialState, runGr4 } from '../../physics/gr4/forward';

/** GR4J's parameters, in order, as a lumped problem calibrates them. */
export const LUMPED_PARAMETERS = ['X1', 'X2', 'X3', 'X4'] as const;
/**
 * Search bounds of lumped daily GR4J: airGR's Calibration_Michel range, [-9.99, 9.99] through
 * TransfoParam_GR4J (X1, X3 e^±9.99, X2 sinh(±9.99), X4 0.5..20), where the SCE-UA and gradient
 * methods search (in the transformed space). Optima lie far outside Perrin et al. 2003's usual
 * ranges on some basins (CAMELS-FR E540031001: X3 ≈ 4100; E645651001: X2 ≈ -13).
 */
export const LUMPED_BOUNDS = {
  lower: AIRGR_BOUNDS.lower.slice(0, 4),
  upper: AIRGR_BOUNDS.upper.slice(0, 4),
};

/** The lumped structures: GR4J alone, or GR4J fed by CemaNeige on elevation layers (airGR CemaNeigeGR4J). */
export const LUMPED_STRUCTURES = ['gr4', 'gr4-cemaneige'] as const;
export type LumpedStructure = (typeof LUMPED_STRUCTURES)[number];

/** GR4J + CemaNeige's parameters, in order (airGR CemaNeigeGR4J: X1..X4, CTG, Kf). */
export const SNOW_PARAMETERS = ['X1', 'X2', 'X3', 'X4', 'CTG', 'Kf'] as const;
/** Its search bounds: airGR's Calibration_Michel range (physics/cemaneige/structure.ts). */
export const SNOW_BOUNDS = AIRGR_BOUNDS;

/** Parameter names and default bounds of a lumped structure. */
export function lumpedParameters(s: LumpedStructure): {
  names: readonly string[];
  bounds: { lower: readonly number[]; upper: readonly number[] };
} {
  return s === 'gr4-cemaneige'
    ? { names: SNOW_PARAMETERS, bounds: SNOW_BOUNDS }
    : { names: LUMPED_PARAMETERS, bounds: LUMPED_BOUNDS };
}

/** A lumped problem: GR4J (or GR4J + CemaNeige) on one basin's series over a run config's period, warm-up first. */
export interface LumpedProblem {
  /** Absent = 'gr4' (problems built before the snow module). */
  structure?: LumpedStructure;
  /** Precipitation and PET (mm/step) from the warm-up start to the period's end. */
  P: Float64Array;
  E: Float64Array;
  /** Mean air temperature (°C) over the same steps, when the series has one. */
  T?: Float64Array;
  /** gr4-cemaneige: the forcing on elevation layers (cells = layers), same steps as P. */
  snow?: SnowCells & { zLayers: Float64Array };
  /** Observed discharge (mm/step) over the period after the warm-up; NaN = missing. */
  obs: Float64Array;
  warmup: number;
  lower: number[];
  upper: number[];
}

/** The parameter vector of a result by the structure's names (refuses a missing one). */
export function parameterVector(pr: LumpedProblem, p: Record<string, number>): Float64Array {
  const { names } = lumpedParameters(pr.structure ?? 'gr4');
  return Float64Array.from(
    names.map((n) => {
      const v = p[n];
      if (typeof v !== 'number')
        throw new FieldcalError('VALIDATION', `parameter ${n} is missing from the result`, { field: n });
      return v;
    }),
  );
}

/** Simulated discharge (mm/step) over every step of the problem, warm-up included. */
export function simulateLumped(pr: LumpedProblem, v: ArrayLike<number>): Float64Array {
  if ((pr.structure ?? 'gr4') === 'gr4-cemaneige') {
    if (!pr.snow)
      throw new FieldcalError(
        'VALIDATION',
        'gr4-cemaneige needs the elevation layers (temperature and hypsometry)',
        {
          field: 'hypsometry',
        },
      );
    return runGr4CemaNeige(toGr4SnowParams(v), pr.snow, pr.E).Q;
  }
  const p = { X1: v[0]!, X2: v[1]!, X3: v[2]!, X4: v[3]! };
  return runGr4(p, pr.P, pr.E, initialState(p.X1, p.X3)).Q;
}

/** GR4J's parameters, in order, as a lumped problem calibrates them. */
export const LUMPED_PARAMETERS = ['X1', 'X2', 'X3', 'X4'] as const;
/** Search bounds of lumped daily GR4J (airGR's calibration ranges, Perrin et al. 2003 widened). */
export const LUMPED_BOUNDS = { lower: [10, -5, 10, 0.5], upper: [2500, 5, 1000, 10] };

/** A lumped problem: GR4J on one basin's series over a run config's period, warm-up first. */
export interface LumpedProblem {
  /** Precipitation and PET (mm/step) from the warm-up start to the period's end. */
  P: Float64Array;
  E: Float64Array;
  /** Observed discharge (mm/step) over the period after the warm-up; NaN = missing. */
  obs: Float64Array;
  warmup: number;
  lower: number[];
  upper: number[];
}

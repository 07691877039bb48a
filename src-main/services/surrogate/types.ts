/**
 * Surrogates of a gridded model (issue 17; Sun, Pan & Duan 2024 train GAN-PO through them; Tsai et
 * al. 2021 update them during calibration): perturbed-parameter ensembles run through the model, and
 * networks (LSTM, ARnet) trained on them that emulate the model's target output from forcing and
 * parameter fields. This folder may import datasets, the bottom layers (physics, compute, rasters,
 * grid, metrics) and leaves; never calibration/ or jobs/: the model and its runs come in through
 * the interfaces below, so calibration methods and jobs hand them in.
 */

/** What a surrogate is trained for: the model's grid, forcing, parameters and target on active cells. */
export interface SurrogateProblem {
  rows: number;
  cols: number;
  /** Active cells (1), row-major; cell k is the k-th active cell. */
  mask: Uint8Array;
  cells: number;
  steps: number;
  /** Step-major [steps x cells]: P and PET mm/step, T °C (optional). */
  forcing: { P: ArrayLike<number>; PET: ArrayLike<number>; T?: ArrayLike<number> };
  /** The calibrated parameters (the surrogate's parameter inputs) and their bounds, in this order. */
  parameters: string[];
  lower: number[];
  upper: number[];
  /** The model target (e.g. 'ET' mm/step or 'SM' m³/m³) the surrogate emulates. */
  target: string;
  /** Identity of the model and the data (checksums), recorded in ensemble and surrogate manifests. */
  modelKey: string;
  dataKey: string;
}

/**
 * Runs the model: one field per calibrated parameter (cells values each, in `parameters` order) →
 * the target output over steps [0, steps), step-major [steps x cells]. Callers hand in the model
 * pool or a local simulator; ensemble generation only uses this.
 */
export type ModelRun = (fields: Float64Array[]) => Float64Array | Promise<Float64Array>;

/** How ensemble members' parameter fields are drawn within the bounds (all seeded). */
export const SAMPLERS = ['uniform-cell', 'sobol', 'lhs'] as const;
export type Sampler = (typeof SAMPLERS)[number];

export interface EnsembleSpec {
  /** Members (paper: 400). */
  members: number;
  sampler: Sampler;
  seed: number;
  /** Members of each split, in order (paper: 200 / 100 / 100); they sum to `members`. */
  split: { train: number; valid: number; test: number };
}

/** The manifest stored beside an ensemble's binary data (`ensemble.json`). */
export interface EnsembleManifest {
  format: 'fieldcal-ensemble';
  version: 1;
  spec: EnsembleSpec;
  parameters: string[];
  lower: number[];
  upper: number[];
  target: string;
  cells: number;
  steps: number;
  modelKey: string;
  dataKey: string;
  /** Members whose run is complete and stored (a resumed generation continues from here). */
  complete: number;
  createdAt: string;
  /** Seconds spent drawing, running and storing the complete members, summed over resumed generations (absent: made before it was recorded). */
  seconds?: number;
}

/** A generated ensemble, read with bounded memory (one member, or one window of steps, at a time). */
export interface Ensemble {
  dir: string;
  manifest: EnsembleManifest;
  /** Indices of the members of a split. */
  members(split: 'train' | 'valid' | 'test'): number[];
  /** A member's parameter fields (one per parameter, cells values each). */
  params(member: number): Float64Array[];
  /** A member's target over steps [t0, t1), step-major [(t1 - t0) x cells]. */
  target(member: number, t0: number, t1: number): Float64Array;
}

/** The surrogates behind the one interface GAN-PO and dPL select by option (`physics` is the exact model). */
export const SURROGATE_KINDS = ['physics', 'lstm', 'arnet'] as const;
export type SurrogateKind = (typeof SURROGATE_KINDS)[number];

/** A trained network surrogate. */
export interface Surrogate {
  kind: Exclude<SurrogateKind, 'physics'>;
  /** The target over steps [t0, t1) for the given parameter fields, step-major [(t1 - t0) x cells]. */
  predict(fields: Float64Array[], t0: number, t1: number): Float64Array;
  /** Saves weights, standardisation and manifest into a folder (an artifact of the run, reusable). */
  save(dir: string): Promise<void>;
  /** Releases its tensors. */
  dispose(): void;
}

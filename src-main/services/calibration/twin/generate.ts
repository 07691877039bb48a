import { FieldcalError } from '../../../../src-shared/ipc';
import { gaussianFilter } from '../../metrics/spatial';
import { runVic3l, VIC3L, VIC3L_PARAMS, type Vic3lParamName } from '../../physics/vic3l';
import { defaultValue, targetOutput, type GriddedProblem, type TargetName } from '../gridded/problem';
import type { ParamFields } from '../gridded/simulator';
import { mulberry32, normalGenerator } from '../random';

/** Settings of a synthetic identical-twin case (defaults: the GAN-PO paper's 24 x 17 daily domain). */
export interface TwinOptions {
  rows: number;
  cols: number;
  seed: number;
  /** Years of warm-up, training, validation and test (paper: 2 training, 2 validation, 1 test). */
  years: { warmup: number; train: number; valid: number; test: number };
  /** Observation noise: Gaussian, standard deviation as a fraction of the mean true ET. */
  noise: number;
  /** Latitude of the domain (°N) for extraterrestrial radiation (Huaihe basin ~ 33 °N). */
  latitude: number;
  /** Parameters to calibrate (default: the seven of the paper). */
  calibrated: Vic3lParamName[];
  /** Search bounds overriding vic3l's for some parameters. */
  bounds?: Partial<Record<Vic3lParamName, { lower: number; upper: number }>>;
  /** The observed field: ET (default) or top-layer soil moisture. */
  target?: TargetName;
  /**
   * A real dataset's grid, forcing and descriptors to build the twin on (instead of the synthetic
   * weather and descriptors), with the step split of its periods.
   */
  base?: TwinBase;
}

/** What a twin takes from a real dataset. */
export interface TwinBase {
  rows: number;
  cols: number;
  mask: Uint8Array;
  cells: number;
  steps: number;
  forcing: GriddedProblem['forcing'];
  descriptorNames: string[];
  descriptors: Float64Array;
  periods: GriddedProblem['periods'];
}

export const TWIN_DEFAULTS: TwinOptions = {
  rows: 17,
  cols: 24,
  seed: 1,
  years: { warmup: 1, train: 2, valid: 2, test: 1 },
  noise: 0.05,
  latitude: 33,
  calibrated: [...VIC3L_PARAMS],
};

export const TWIN_DESCRIPTORS = ['elevation', 'slope', 'sand', 'clay', 'ndvi', 'soil_depth'] as const;

export interface Twin {
  problem: GriddedProblem;
  /** The hidden true fields of the calibrated parameters, [calibrated][cells]. */
  truth: Float64Array[];
  /** Noise-free ET of the true parameters, step-major [steps x cells]. */
  etTrue: Float64Array;
  options: TwinOptions;
  startDate: string;
}

/** A standardised, spatially correlated Gaussian field (white noise smoothed at `sigma` cells). */
function correlatedField(rows: number, cols: number, sigma: number, gauss: () => number): Float64Array {
  const white = Float64Array.from({ length: rows * cols }, gauss);
  const f = gaussianFilter(white, rows, cols, sigma);
  return standardise(f);
}

function standardise(f: Float64Array): Float64Array {
  const n = f.length;
  const mean = f.reduce((a, b) => a + b, 0) / n;
  let v = 0;
  for (const x of f) v += (x - mean) ** 2;
  const sd = Math.sqrt(v / n) || 1;
  return Float64Array.from(f, (x) => (x - mean) / sd);
}

/** Extraterrestrial radiation, MJ m⁻² d⁻¹ (FAO-56, Allen et al. 1998, eqs. 21-25). */
export function extraterrestrialRadiation(latDeg: number, doy: number): number {
  const phi = (latDeg * Math.PI) / 180;
  const dr = 1 + 0.033 * Math.cos((2 * Math.PI * doy) / 365);
  const delta = 0.409 * Math.sin((2 * Math.PI * doy) / 365 - 1.39);
  const ws = Math.acos(Math.max(-1, Math.min(1, -Math.tan(phi) * Math.tan(delta))));
  return (
    ((24 * 60) / Math.PI) *
    0.082 *
    dr *
    (ws * Math.sin(phi) * Math.sin(delta) + Math.cos(phi) * Math.cos(delta) * Math.sin(ws))
  );
}

/** Oudin et al. 2005 (J. Hydrol. 303) temperature-based PET, mm/d: Re / (λ ρ) · (T + 5) / 100 when T > -5 °C. */
export const oudinPet = (re: number, t: number) => (t + 5 > 0 ? (re / 2.45) * ((t + 5) / 100) : 0);

/**
 * The hidden truth: each parameter is a sigmoid of a sparse quadratic form in three of the
 * descriptors (random picks and coefficients from the seed), kept in the inner 80 % of its range.
 */
function hiddenTruth(
  descAt: (j: number, c: number) => number,
  nd: number,
  cells: number,
  rand: () => number,
  gauss: () => number,
): ParamFields {
  const truthAll = {} as ParamFields;
  for (const spec of VIC3L.parameters) {
    const [lo, hi] = spec.bounds;
    const pick = [Math.floor(rand() * 6) % nd, Math.floor(rand() * 6) % nd, Math.floor(rand() * 6) % nd];
    const a = [gauss() * 0.9, gauss() * 0.7, gauss() * 0.5];
    const q = gauss() * 0.4;
    const bias = gauss() * 0.5;
    truthAll[spec.name as Vic3lParamName] = Float64Array.from({ length: cells }, (_, c) => {
      const d = (j: number) => descAt(pick[j]!, c);
      const z = bias + a[0]! * d(0) + a[1]! * d(1) + a[2]! * Math.tanh(d(2)) + q * d(0) * d(1);
      return lo + (hi - lo) * (0.1 + 0.8 / (1 + Math.exp(-z)));
    });
  }
  return truthAll;
}

/** The synthetic grid, descriptors, truth and weather of a twin (in this order from the generator). */
function syntheticCase(
  o: TwinOptions,
  rand: () => number,
  gauss: () => number,
): { base: TwinBase; truth: ParamFields } {
  const { rows, cols } = o;
  // basin-shaped mask: an ellipse filling most of the grid
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const y = (r - (rows - 1) / 2) / (rows / 2);
      const x = (c - (cols - 1) / 2) / (cols / 2);
      mask[r * cols + c] = x * x + y * y <= 1.1 ? 1 : 0;
    }
  const idx: number[] = [];
  mask.forEach((m, i) => m && idx.push(i));
  const cells = idx.length;
  const onCells = (f: Float64Array) => standardise(Float64Array.from(idx, (i) => f[i]!));

  // descriptors: correlation lengths from broad (elevation) to patchy (ndvi)
  const scales = [4, 2, 3, 3, 1.5, 2.5].map((s) => s * Math.max(1, Math.min(rows, cols) / 17));
  const fullFields = scales.map((s) => correlatedField(rows, cols, s, gauss));
  // slope follows the elevation gradient; clay is partly anti-correlated with sand
  fullFields[1] = standardise(
    Float64Array.from(fullFields[1]!, (v, i) => 0.5 * v + 0.5 * Math.abs(fullFields[0]![i]!)),
  );
  fullFields[3] = standardise(
    Float64Array.from(fullFields[3]!, (v, i) => 0.6 * v - 0.6 * fullFields[2]![i]!),
  );
  const desc = fullFields.map(onCells);
  const descriptors = new Float64Array(cells * desc.length);
  for (let c = 0; c < cells; c++)
    for (let j = 0; j < desc.length; j++) descriptors[c * desc.length + j] = desc[j]![c]!;

  const truth = hiddenTruth((j, c) => desc[j]![c]!, desc.length, cells, rand, gauss);

  // weather
  const y = o.years;
  const steps = 365 * (y.warmup + y.train + y.valid + y.test);
  const P = new Float64Array(steps * cells);
  const PET = new Float64Array(steps * cells);
  const T = new Float64Array(steps * cells);
  const oro = desc[0]!;
  let wet = false;
  let anomaly = 0;
  for (let t = 0; t < steps; t++) {
    const doy = (t % 365) + 1;
    const season = Math.sin((2 * Math.PI * (doy - 105)) / 365); // +1 in mid-July
    // monsoon climate: wetter, more intense summers
    const p01 = 0.2 + 0.12 * season;
    const p11 = 0.55 + 0.1 * season;
    wet = rand() < (wet ? p11 : p01);
    const amount = wet ? -(6 + 4 * season) * Math.log(1 - rand()) : 0;
    anomaly = 0.7 * anomaly + gauss() * 1.8;
    const re = extraterrestrialRadiation(o.latitude, doy);
    const g = wet ? onCells(correlatedField(rows, cols, 3, gauss)) : null;
    for (let c = 0; c < cells; c++) {
      const k = t * cells + c;
      const temp = 14.5 + 13 * season - 1.5 * oro[c]! + anomaly;
      T[k] = temp;
      PET[k] = oudinPet(re, temp) * (wet ? 0.7 : 1);
      if (g) {
        // coverage: the driest quarter of a wet day's field stays dry
        P[k] = g[c]! < -0.67 ? 0 : amount * Math.exp(0.5 * g[c]! - 0.125) * (1 + 0.15 * oro[c]!);
        if (P[k]! < 0) P[k] = 0;
      }
    }
  }

  const y2 = o.years;
  const w = 365 * y2.warmup;
  const tr = w + 365 * y2.train;
  const va = tr + 365 * y2.valid;
  return {
    base: {
      rows,
      cols,
      mask,
      cells,
      steps,
      forcing: { P, PET, T },
      descriptorNames: [...TWIN_DESCRIPTORS],
      descriptors,
      periods: { warmup: [0, w], train: [w, tr], valid: [tr, va], test: [va, steps] },
    },
    truth,
  };
}

/**
 * Builds an identical-twin case: a basin-shaped mask on a rows x cols grid; six spatially correlated
 * descriptor fields; daily weather from a WGEN-style generator (Richardson 1981, WRR 17: a two-state
 * Markov chain for regional occurrence with exponential amounts) made spatial by a correlated
 * log-normal multiplier and an orographic factor, temperature with a seasonal cycle, lapse with
 * elevation and an AR(1) anomaly, and Oudin PET; true parameter fields from a hidden non-linear
 * transfer function of the descriptors; observed ET = vic3l with the true parameters + noise.
 * Everything follows from the seed.
 */
export function makeTwin(options: Partial<TwinOptions> = {}): Twin {
  const o: TwinOptions = {
    ...TWIN_DEFAULTS,
    ...options,
    years: { ...TWIN_DEFAULTS.years, ...options.years },
  };
  const { rows, cols } = o;
  if (!(
    Number.isInteger(rows) &&
    Number.isInteger(cols) &&
    rows >= 4 &&
    cols >= 4 &&
    rows * cols <= 1_000_000
  ))
    throw new FieldcalError(
      'VALIDATION',
      `twin grid must be at least 4 x 4 and at most 1e6 cells (got ${rows} x ${cols})`,
      {
        field: 'grid',
      },
    );
  for (const [k, v] of Object.entries(o.years))
    if (!(Number.isInteger(v) && v >= (k === 'warmup' ? 0 : 1) && v <= 50))
      throw new FieldcalError('VALIDATION', `twin years.${k} must be an integer of years (got ${v})`, {
        field: `years.${k}`,
      });
  if (!(o.noise >= 0 && o.noise <= 1))
    throw new FieldcalError('VALIDATION', `noise must be in [0, 1] (got ${o.noise})`, { field: 'noise' });
  const rand = mulberry32(o.seed);
  const gauss = normalGenerator(rand);

  const synthetic = o.base ? null : syntheticCase(o, rand, gauss);
  const base = o.base ?? synthetic!.base;
  const { mask, cells, steps, forcing, descriptors } = base;
  const nd = base.descriptorNames.length;
  const truthAll = synthetic
    ? synthetic.truth
    : hiddenTruth((j, c) => descriptors[c * nd + j]!, nd, cells, rand, gauss);

  // parameters left uncalibrated keep their defaults in the truth too: the twin stays identical
  for (const name of VIC3L_PARAMS)
    if (!o.calibrated.includes(name)) truthAll[name] = new Float64Array(cells).fill(defaultValue(name));
  const target = targetOutput(o.target ?? 'ET');
  const raw = runVic3l(truthAll, forcing, steps, { outputs: [target.output] }).outputs[target.output]!;
  const etTrue = Float64Array.from(raw, (v) => v * target.scale);
  let meanEt = 0;
  for (const v of etTrue) meanEt += v;
  meanEt /= etTrue.length;
  const sd = o.noise * meanEt;
  const obs = Float64Array.from(etTrue, (v) => Math.max(0, v + sd * gauss()));

  const problem: GriddedProblem = {
    rows: base.rows,
    cols: base.cols,
    mask,
    cells,
    steps,
    forcing,
    descriptorNames: [...base.descriptorNames],
    descriptors,
    target: { name: o.target ?? 'ET', obs },
    periods: base.periods,
    calibrated: [...o.calibrated],
    lower: o.calibrated.map(
      (n) => o.bounds?.[n]?.lower ?? VIC3L.parameters.find((p) => p.name === n)!.bounds[0],
    ),
    upper: o.calibrated.map(
      (n) => o.bounds?.[n]?.upper ?? VIC3L.parameters.find((p) => p.name === n)!.bounds[1],
    ),
    dt: 1,
  };
  return {
    problem,
    truth: o.calibrated.map((n) => truthAll[n]),
    etTrue,
    options: o,
    startDate: '2001-01-01',
  };
}

import { FieldcalError, type NamedPeriod } from '../../../../src-shared/ipc';
import { runVic3l, VIC3L, VIC3L_PARAMS, type Vic3lParamName } from '../../physics/vic3l';
import { dailyDates, periodsSpan, stepPeriods } from '../gridded/periods';
import { defaultValue, targetOutput, type GriddedProblem, type TargetName } from '../gridded/problem';
import type { ParamFields } from '../gridded/simulator';
import { mulberry32, normalGenerator } from '../random';
import { correlatedField, standardise } from './fields';
import { PAPER_DESCRIPTORS, PAPER_PERIODS, paperSoil, type PaperDescriptor } from './paper';

/**
 * The twin's domain: 'basin' (default), an ellipse-shaped basin on the grid with terrain, soil and
 * vegetation descriptors (`TWIN_DESCRIPTORS`) and whole 365-day years; 'paper', the GAN-PO
 * paper's rectangle with every cell active, its six soil descriptors (`PAPER_DESCRIPTORS`) and its
 * periods on real dates (`PAPER_PERIODS`).
 */
export type TwinLayout = 'basin' | 'paper';

/** Settings of a synthetic identical-twin case (defaults: the GAN-PO paper's 24 x 17 daily domain). */
export interface TwinOptions {
  rows: number;
  cols: number;
  seed: number;
  /**
   * Years of warm-up, training, validation and test, in this order from 2001-01-01, of 365 days
   * each (paper: 2 training, 2 validation, 1 test); the basin layout without `periods` only.
   */
  years: { warmup: number; train: number; valid: number; test: number };
  /** The domain, descriptors and default periods (default 'basin'). */
  layout?: TwinLayout;
  /**
   * Named date ranges (end inclusive; train and test required, in any order, gaps allowed): the
   * synthetic data run daily on the real calendar from the first start to the last end. Default:
   * `years` (basin layout), `PAPER_PERIODS` (paper layout). A twin on a `base` takes its periods.
   */
  periods?: readonly NamedPeriod[];
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
  /** The date of every step (the twin's `dates`; default one day apart from 2001-01-01). */
  dates?: Date[];
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
  /** Date of the first step, YYYY-MM-DD. */
  startDate: string;
  /** The date of every step (midnight UTC). */
  dates: Date[];
  /** The paper layout's descriptors in physical units per active cell (`PAPER_DESCRIPTOR_UNITS`). */
  rawDescriptors?: Record<PaperDescriptor, Float64Array>;
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

/** The steps of a synthetic twin: their dates, day of year and period ranges. */
interface Calendar {
  steps: number;
  dates: Date[];
  doy: (t: number) => number;
  periods: GriddedProblem['periods'];
}

const DAY = 86_400_000;

/**
 * The calendar of a synthetic twin: named periods (or the paper's) run daily on real dates from the
 * first start to the last end; the basin layout's `years` are 365-day years from 2001-01-01.
 */
function calendarOf(o: TwinOptions): Calendar {
  const named = o.periods ?? (o.layout === 'paper' ? PAPER_PERIODS : null);
  if (named) {
    const span = named.length ? periodsSpan(named) : null;
    const days = span ? (Date.parse(span.end) - Date.parse(span.start)) / DAY + 1 : 0;
    if (days > 100 * 366)
      throw new FieldcalError('VALIDATION', `twin periods span ${days} days, at most 100 years`, {
        field: 'periods',
      });
    const dates = span && days > 0 ? dailyDates(span.start, span.end) : [];
    const periods = stepPeriods(named, dates);
    const doy = (t: number) => {
      const d = dates[t]!;
      return Math.round((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY) + 1;
    };
    return { steps: dates.length, dates, doy, periods };
  }
  const y = o.years;
  const steps = 365 * (y.warmup + y.train + y.valid + y.test);
  const w = 365 * y.warmup;
  const tr = w + 365 * y.train;
  const va = tr + 365 * y.valid;
  return {
    steps,
    dates: legacyDates(steps),
    doy: (t) => (t % 365) + 1,
    periods: { warmup: [0, w], train: [w, tr], valid: [tr, va], test: [va, steps] },
  };
}

/** One day apart from 2001-01-01 (the basin layout's and a dataset base's default step dates). */
const legacyDates = (steps: number) =>
  Array.from({ length: steps }, (_, i) => new Date(Date.UTC(2001, 0, 1 + i)));

/** The basin layout: an ellipse-shaped mask and its six descriptors (`TWIN_DESCRIPTORS`). */
function basinDomain(rows: number, cols: number, gauss: () => number) {
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
  return {
    mask,
    idx,
    onCells,
    names: [...TWIN_DESCRIPTORS] as string[],
    desc,
    oro: desc[0]!,
    raw: undefined,
  };
}

/** The paper layout: every cell active, the paper's six soil descriptors; relief stays hidden. */
function paperDomain(rows: number, cols: number, gauss: () => number) {
  const mask = new Uint8Array(rows * cols).fill(1);
  const idx = Array.from({ length: rows * cols }, (_, i) => i);
  const { raw, elevation } = paperSoil(rows, cols, gauss);
  const desc = PAPER_DESCRIPTORS.map((d) => standardise(raw[d]));
  return {
    mask,
    idx,
    onCells: standardise,
    names: [...PAPER_DESCRIPTORS] as string[],
    desc,
    oro: elevation,
    raw,
  };
}

/** The synthetic grid, descriptors, truth and weather of a twin (in this order from the generator). */
function syntheticCase(
  o: TwinOptions,
  cal: Calendar,
  rand: () => number,
  gauss: () => number,
): { base: TwinBase; truth: ParamFields; raw?: Record<PaperDescriptor, Float64Array> } {
  const { rows, cols } = o;
  const dom = o.layout === 'paper' ? paperDomain(rows, cols, gauss) : basinDomain(rows, cols, gauss);
  const { mask, idx, onCells, desc, oro } = dom;
  const cells = idx.length;
  const descriptors = new Float64Array(cells * desc.length);
  for (let c = 0; c < cells; c++)
    for (let j = 0; j < desc.length; j++) descriptors[c * desc.length + j] = desc[j]![c]!;

  const truth = hiddenTruth((j, c) => desc[j]![c]!, desc.length, cells, rand, gauss);

  // weather
  const { steps } = cal;
  const P = new Float64Array(steps * cells);
  const PET = new Float64Array(steps * cells);
  const T = new Float64Array(steps * cells);
  let wet = false;
  let anomaly = 0;
  for (let t = 0; t < steps; t++) {
    const doy = cal.doy(t);
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

  return {
    base: {
      rows,
      cols,
      mask,
      cells,
      steps,
      forcing: { P, PET, T },
      descriptorNames: dom.names,
      descriptors,
      periods: cal.periods,
      dates: cal.dates,
    },
    truth,
    ...(dom.raw ? { raw: dom.raw } : {}),
  };
}

/**
 * Builds an identical-twin case: a basin-shaped mask on a rows x cols grid with six spatially
 * correlated descriptor fields (layout 'basin'), or the GAN-PO paper's rectangle with its six soil
 * descriptors and periods (layout 'paper'); daily weather from a WGEN-style generator (Richardson
 * 1981, WRR 17: a two-state Markov chain for regional occurrence with exponential amounts) made
 * spatial by a correlated log-normal multiplier and an orographic factor, temperature with a
 * seasonal cycle, lapse with elevation and an AR(1) anomaly, and Oudin PET; true parameter fields
 * from a hidden non-linear transfer function of the descriptors; observed ET = vic3l with the true
 * parameters + noise. Everything follows from the seed. Periods: `periods` (named date ranges),
 * else the layout's.
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
  if (o.layout !== undefined && o.layout !== 'basin' && o.layout !== 'paper')
    throw new FieldcalError('VALIDATION', `twin layout must be basin or paper (got ${String(o.layout)})`, {
      field: 'layout',
    });
  const cal = o.base ? null : calendarOf(o);
  const rand = mulberry32(o.seed);
  const gauss = normalGenerator(rand);

  const synthetic = o.base ? null : syntheticCase(o, cal!, rand, gauss);
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
  const dates = base.dates ?? legacyDates(steps);
  return {
    problem,
    truth: o.calibrated.map((n) => truthAll[n]),
    etTrue,
    options: o,
    startDate: dates.length ? dates[0]!.toISOString().slice(0, 10) : '2001-01-01',
    dates,
    ...(synthetic?.raw ? { rawDescriptors: synthetic.raw } : {}),
  };
}

import { FieldcalError } from '../../../../src-shared/ipc';
import { GTHRESHOLD_FRACTION, type SnowCells } from './kernel';

/** Precipitation elevation gradient (1/m) (Valéry 2010 PhD thesis p. 126; airGR DataAltiExtrapolation_Valery). */
export const GRAD_P = 0.00041;
/** Above this elevation (m) precipitation is no longer extrapolated (airGR DataAltiExtrapolation_Valery). */
export const Z_THRESHOLD_P = 4000;
/** USACE solid-fraction temperature bounds (°C): all snow below -1, all rain above 3 (airGR DataAltiExtrapolation_Valery). */
export const USACE_TMIN = -1;
export const USACE_TMAX = 3;

/**
 * Daily mean-temperature elevation gradients (°C per 100 m), 1 January .. 31 December with 29
 * February (366 values) (Valéry 2010 PhD thesis; airGR GradT_Valery2010, column grad_Tmean).
 */
// prettier-ignore
export const GRAD_T_MEAN: readonly number[] = [
  // January
  0.434, 0.434, 0.435, 0.436, 0.437, 0.439, 0.440, 0.441, 0.442, 0.444, 0.445, 0.446, 0.448, 0.450, 0.451, 0.453,
  0.455, 0.456, 0.458, 0.460, 0.462, 0.464, 0.466, 0.468, 0.470, 0.472, 0.474, 0.476, 0.478, 0.480, 0.483,
  // February (29)
  0.485, 0.487, 0.489, 0.492, 0.494, 0.496, 0.498, 0.501, 0.503, 0.505, 0.508, 0.510, 0.512, 0.515, 0.517, 0.519,
  0.522, 0.524, 0.526, 0.528, 0.530, 0.533, 0.535, 0.537, 0.539, 0.541, 0.543, 0.545, 0.546,
  // March
  0.547, 0.549, 0.551, 0.553, 0.555, 0.557, 0.559, 0.560, 0.562, 0.564, 0.566, 0.567, 0.569, 0.570, 0.572, 0.573,
  0.575, 0.576, 0.577, 0.579, 0.580, 0.581, 0.582, 0.583, 0.584, 0.585, 0.586, 0.587, 0.588, 0.589, 0.590,
  // April
  0.591, 0.591, 0.592, 0.593, 0.593, 0.594, 0.595, 0.595, 0.596, 0.596, 0.597, 0.597, 0.597, 0.598, 0.598, 0.598,
  0.599, 0.599, 0.599, 0.599, 0.600, 0.600, 0.600, 0.600, 0.600, 0.601, 0.601, 0.601, 0.601, 0.601,
  // May
  0.601, 0.601, 0.601, 0.601, 0.601, 0.601, 0.601, 0.601, 0.601, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602,
  0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602,
  // June
  0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602,
  0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.602, 0.601, 0.601, 0.601, 0.601, 0.601,
  // July
  0.601, 0.600, 0.600, 0.600, 0.600, 0.599, 0.599, 0.599, 0.598, 0.598, 0.598, 0.597, 0.597, 0.597, 0.596, 0.596,
  0.595, 0.595, 0.594, 0.594, 0.593, 0.593, 0.592, 0.592, 0.591, 0.590, 0.590, 0.589, 0.588, 0.588, 0.587,
  // August
  0.586, 0.586, 0.585, 0.584, 0.583, 0.583, 0.582, 0.581, 0.580, 0.579, 0.578, 0.578, 0.577, 0.576, 0.575, 0.574,
  0.573, 0.572, 0.571, 0.570, 0.569, 0.569, 0.568, 0.567, 0.566, 0.565, 0.564, 0.563, 0.562, 0.561, 0.560,
  // September
  0.558, 0.557, 0.556, 0.555, 0.554, 0.553, 0.552, 0.551, 0.550, 0.549, 0.548, 0.546, 0.545, 0.544, 0.543, 0.542,
  0.541, 0.540, 0.538, 0.537, 0.536, 0.535, 0.533, 0.532, 0.531, 0.530, 0.528, 0.527, 0.526, 0.525,
  // October
  0.523, 0.522, 0.521, 0.519, 0.518, 0.517, 0.515, 0.514, 0.512, 0.511, 0.510, 0.508, 0.507, 0.505, 0.504, 0.502,
  0.501, 0.499, 0.498, 0.496, 0.495, 0.493, 0.492, 0.490, 0.489, 0.487, 0.485, 0.484, 0.482, 0.481, 0.479,
  // November
  0.478, 0.476, 0.475, 0.473, 0.471, 0.470, 0.468, 0.467, 0.465, 0.464, 0.462, 0.461, 0.459, 0.458, 0.456, 0.455,
  0.454, 0.452, 0.451, 0.450, 0.448, 0.447, 0.446, 0.445, 0.443, 0.442, 0.441, 0.440, 0.439, 0.438,
  // December
  0.437, 0.436, 0.435, 0.434, 0.434, 0.433, 0.432, 0.431, 0.431, 0.430, 0.430, 0.429, 0.429, 0.429, 0.428, 0.428,
  0.428, 0.428, 0.428, 0.428, 0.428, 0.428, 0.429, 0.429, 0.429, 0.430, 0.430, 0.431, 0.431, 0.432, 0.433,
];

/** First index of each month in {@link GRAD_T_MEAN} (a leap-year calendar). */
const MONTH_START = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335];

/** The temperature gradient (°C/100 m) of a date, matched by day and month as airGR does. */
export function gradTMean(d: Date): number {
  return GRAD_T_MEAN[MONTH_START[d.getUTCMonth()]! + d.getUTCDate() - 1]!;
}

/** Checks a hypsometric curve: 101 finite elevations (0..100 % quantiles), non-decreasing. */
export function checkHypsometry(h: ArrayLike<number>, source = 'hypsometry'): void {
  if (h.length !== 101)
    throw new FieldcalError('VALIDATION', `${source}: expected 101 elevation quantiles, got ${h.length}`, {
      field: 'hypsometry',
    });
  for (let i = 0; i < 101; i++) {
    if (!Number.isFinite(h[i]!))
      throw new FieldcalError('VALIDATION', `${source}: quantile ${i} is not a number (${h[i]})`, {
        field: 'hypsometry',
        quantile: i,
      });
    if (i > 0 && h[i]! < h[i - 1]!)
      throw new FieldcalError(
        'VALIDATION',
        `${source}: quantile ${i} (${h[i]}) is below quantile ${i - 1} (${h[i - 1]})`,
        {
          field: 'hypsometry',
          quantile: i,
        },
      );
  }
}

/**
 * Elevations of `n` equal-area layers from the 101-quantile hypsometric curve: each layer's
 * quantile at the middle of its share of the 100 % (airGR DataAltiExtrapolation_Valery).
 */
export function layerElevations(hypso: ArrayLike<number>, n: number): Float64Array {
  checkHypsometry(hypso);
  if (!(Number.isInteger(n) && n >= 1 && n <= 100))
    throw new FieldcalError('VALIDATION', `number of elevation layers must be 1..100 (got ${n})`, {
      field: 'layers',
    });
  const z = new Float64Array(n);
  let rest = 100 % n;
  const each = Math.floor(100 / n);
  let used = 0;
  for (let l = 0; l < n; l++) {
    let nn = each;
    if (rest > 0) {
      nn++;
      rest--;
    }
    // airGR 1.7 (1-based): nn = 1 → H[used+1]; nn = 2 → mean of H[used+1], H[used+2]; else H[used + nn/2 + 1]
    if (nn === 1) z[l] = hypso[used]!;
    else if (nn === 2) z[l] = 0.5 * (hypso[used]! + hypso[used + 1]!);
    else z[l] = hypso[used + Math.floor(nn / 2)]!; // R truncates a fractional index
    used += nn;
  }
  return z;
}

/** A basin's forcing split onto elevation layers: the snow kernel's cells are the layers. */
export interface BasinLayers extends SnowCells {
  zLayers: Float64Array;
  zInputs: number;
  /** Mean annual solid precipitation (mm/yr), the same on every layer (airGR CreateRunOptions). */
  meanAnnualSolid: number;
}

/**
 * Extrapolates a basin's precipitation and temperature to `layers` elevation layers as airGR's
 * DataAltiExtrapolation_Valery (PrecipScale = TRUE, USACE solid fraction) and sets each layer's
 * Gthreshold = 0.9 × mean annual solid precipitation over the steps [solidFrom, solidTo) (airGR's
 * CreateRunOptions default takes the whole InputsModel). Daily steps.
 */
export function basinLayers(opts: {
  P: ArrayLike<number>;
  T: ArrayLike<number>;
  dates: readonly Date[];
  hypsometry: ArrayLike<number>;
  layers?: number;
  /** Elevation of the forcing (m); airGR's usual choice is the hypsometric median. */
  zInputs?: number;
  solidFrom?: number;
  solidTo?: number;
}): BasinLayers {
  const n = opts.layers ?? 5;
  const steps = opts.P.length;
  if (opts.T.length !== steps || opts.dates.length !== steps)
    throw new FieldcalError(
      'VALIDATION',
      `P, T and dates must have the same length (${steps}, ${opts.T.length}, ${opts.dates.length})`,
      { field: 'T' },
    );
  const z = layerElevations(opts.hypsometry, n);
  const zin = opts.zInputs ?? opts.hypsometry[50]!;
  if (!Number.isFinite(zin)) throw new FieldcalError('VALIDATION', `zInputs is ${zin}`, { field: 'zInputs' });
  // precipitation factor per layer: exp(GradP (Z - Zinputs)), capped at 4000 m (airGR DataAltiExtrapolation_Valery)
  const fac = new Float64Array(n);
  for (let l = 0; l < n; l++) {
    if (z[l]! <= Z_THRESHOLD_P) fac[l] = Math.exp(GRAD_P * (z[l]! - zin));
    else fac[l] = zin <= Z_THRESHOLD_P ? Math.exp(GRAD_P * (Z_THRESHOLD_P - zin)) : 1;
  }
  let mf = 0;
  for (let l = 0; l < n; l++) mf += fac[l]! / n;
  const cells: BasinLayers = {
    cells: n,
    steps,
    P: new Float64Array(n * steps),
    fracSolid: new Float64Array(n * steps),
    T: new Float64Array(n * steps),
    Gthreshold: new Float64Array(n),
    zLayers: z,
    zInputs: zin,
    meanAnnualSolid: 0,
  };
  const grad = new Float64Array(steps);
  for (let t = 0; t < steps; t++) grad[t] = gradTMean(opts.dates[t]!);
  for (let l = 0; l < n; l++) {
    const o = l * steps;
    for (let t = 0; t < steps; t++) {
      const p = opts.P[t]!;
      // PrecipScale: layer values rescaled so that their mean is the basin's (airGR DataAltiExtrapolation_Valery)
      cells.P[o + t] = p === 0 ? 0 : ((p * fac[l]!) / (mf * p)) * p;
      // temperature lapse: T + (Zinputs - Z) |gradT| / 100 (airGR DataAltiExtrapolation_Valery)
      const tl = opts.T[t]! + ((zin - z[l]!) * Math.abs(grad[t]!)) / 100;
      cells.T[o + t] = tl;
      // USACE solid fraction: 1 - (T - Tmin)/(Tmax - Tmin), clipped to [0, 1] (airGR DataAltiExtrapolation_Valery)
      cells.fracSolid[o + t] =
        tl > USACE_TMAX ? 0 : tl < USACE_TMIN ? 1 : 1 - (tl - USACE_TMIN) / (USACE_TMAX - USACE_TMIN);
    }
  }
  const from = opts.solidFrom ?? 0;
  const to = opts.solidTo ?? steps;
  if (!(from >= 0 && to <= steps && to > from))
    throw new FieldcalError('VALIDATION', `solid-precipitation span ${from}..${to} is outside 0..${steps}`, {
      field: 'solidFrom',
    });
  let s = 0;
  for (let t = from; t < to; t++) {
    let m = 0;
    for (let l = 0; l < n; l++) m += (cells.fracSolid[l * steps + t]! * cells.P[l * steps + t]!) / n;
    s += m;
  }
  // MeanAnSolidPrecip = mean daily solid precipitation × 365.25 (airGR CreateRunOptions)
  cells.meanAnnualSolid = (s / (to - from)) * 365.25;
  cells.Gthreshold.fill(GTHRESHOLD_FRACTION * cells.meanAnnualSolid);
  return cells;
}

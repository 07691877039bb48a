/**
 * Static basin attributes derived from a basin's daily series and hypsometry, after the CAMELS
 * conventions of Addor et al. (2017, HESS 21, 5293–5313, Table 2). Every value is a number or
 * null with the reason it could not be computed: nothing is silently filled.
 */

/** An attribute value: a number, or null and why. */
export type AttributeValue = { value: number; source: string } | { value: null; reason: string };

/** The derived attributes, their units and definitions (Addor et al. 2017, Table 2, unless said). */
export const DERIVED_ATTRIBUTES = {
  p_mean: { unit: 'mm/d', definition: 'mean daily precipitation' },
  pet_mean: { unit: 'mm/d', definition: 'mean daily potential evapotranspiration' },
  aridity: { unit: '-', definition: 'pet_mean / p_mean (ratio of mean PET to mean precipitation)' },
  p_seasonality: {
    unit: '-',
    definition:
      'δp·sign(ΔT)·cos(2π(sp − sT)/τ): sine curves P = p̄(1 + δp sin(2π(t − sp)/τ)) and T = T̄ + ΔT sin(2π(t − sT)/τ), τ = 365.25 d, fitted by least squares (Woods 2009); > 0 summer-, < 0 winter-dominated',
  },
  frac_snow: {
    unit: '-',
    definition: 'fraction of precipitation falling on days with mean air temperature below 0 °C',
  },
  high_prec_freq: {
    unit: 'd/yr',
    definition: 'frequency of high-precipitation days (≥ 5 × mean daily precipitation)',
  },
  high_prec_dur: {
    unit: 'd',
    definition:
      'mean duration of high-precipitation events (consecutive days ≥ 5 × mean daily precipitation)',
  },
  low_prec_freq: { unit: 'd/yr', definition: 'frequency of dry days (< 1 mm/d)' },
  low_prec_dur: { unit: 'd', definition: 'mean duration of dry periods (consecutive days < 1 mm/d)' },
  elev_mean: {
    unit: 'm',
    definition: 'mean elevation: the hypsometric curve (101 quantiles) integrated by the trapezoid rule',
  },
  elev_range: { unit: 'm', definition: 'elevation range: 100 % minus 0 % quantile of the hypsometry' },
  area: { unit: 'km²', definition: 'catchment area (from the catchments table)' },
  outlet_lon: { unit: '°', definition: 'outlet longitude, EPSG:4326 (from the catchments table)' },
  outlet_lat: { unit: '°', definition: 'outlet latitude, EPSG:4326 (from the catchments table)' },
} as const;
export type DerivedAttribute = keyof typeof DERIVED_ATTRIBUTES;
export const DERIVED_NAMES = Object.keys(DERIVED_ATTRIBUTES) as DerivedAttribute[];

/** What the derivation reads: daily P and PET (mm/d, NaN = missing), T (°C) when known. */
export interface AttributeInputs {
  dates: Date[];
  P: ArrayLike<number>;
  E: ArrayLike<number>;
  T?: ArrayLike<number>;
  hypsometry?: ArrayLike<number>;
  area?: number;
  outlet?: { lon: number; lat: number };
}

const DERIVED = 'derived';
const none = (reason: string): AttributeValue => ({ value: null, reason });
const some = (value: number, source = DERIVED): AttributeValue =>
  Number.isFinite(value) ? { value, source } : none('not finite');

/** Mean over finite values (NaN when none). */
function meanOf(a: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++)
    if (Number.isFinite(a[i]!)) {
      s += a[i]!;
      n++;
    }
  return n ? s / n : Number.NaN;
}

/**
 * Frequency (days per year, 365.25 d) and mean run length (days) of days where `hit` holds; a
 * missing value ends a run and counts in neither (Addor et al. 2017: freq and dur of high/dry days).
 */
export function runStats(P: ArrayLike<number>, hit: (p: number) => boolean): { freq: number; dur: number } {
  let days = 0;
  let valid = 0;
  let runs = 0;
  let inRun = false;
  for (let i = 0; i < P.length; i++) {
    const p = P[i]!;
    if (!Number.isFinite(p)) {
      inRun = false;
      continue;
    }
    valid++;
    if (hit(p)) {
      days++;
      if (!inRun) runs++;
      inRun = true;
    } else inRun = false;
  }
  return { freq: valid ? (days / valid) * 365.25 : Number.NaN, dur: runs ? days / runs : 0 };
}

/**
 * Least-squares fit of y = a + b sin(ωt) + c cos(ωt), ω = 2π/365.25, t in days since 1970-01-01:
 * returns the mean a, the amplitude √(b² + c²) and the phase shift s with y = a + A sin(ω(t − s)).
 */
export function fitSine(
  t: ArrayLike<number>,
  y: ArrayLike<number>,
): { mean: number; amp: number; shift: number } {
  const w = (2 * Math.PI) / 365.25;
  // normal equations of [1, sin, cos]
  const M = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const r = [0, 0, 0];
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]!)) continue;
    const v = [1, Math.sin(w * t[i]!), Math.cos(w * t[i]!)];
    for (let j = 0; j < 3; j++) {
      r[j]! += v[j]! * y[i]!;
      for (let k = 0; k < 3; k++) M[j * 3 + k]! += v[j]! * v[k]!;
    }
  }
  const x = solve3(M, r);
  const [a, b, c] = x;
  // b sin(ωt) + c cos(ωt) = A sin(ωt + φ), φ = atan2(c, b) → shift s = −φ/ω
  return { mean: a!, amp: Math.hypot(b!, c!), shift: -Math.atan2(c!, b!) / w };
}

/** Solves a 3 × 3 system by Gaussian elimination with partial pivoting. */
function solve3(M: number[], r: number[]): number[] {
  const A = [0, 1, 2].map((i) => [M[i * 3]!, M[i * 3 + 1]!, M[i * 3 + 2]!, r[i]!]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let i = c + 1; i < 3; i++) if (Math.abs(A[i]![c]!) > Math.abs(A[p]![c]!)) p = i;
    [A[c], A[p]] = [A[p]!, A[c]!];
    for (let i = c + 1; i < 3; i++) {
      const f = A[i]![c]! / A[c]![c]!;
      for (let k = c; k < 4; k++) A[i]![k]! -= f * A[c]![k]!;
    }
  }
  const x = [0, 0, 0];
  for (let i = 2; i >= 0; i--) {
    let s = A[i]![3]!;
    for (let k = i + 1; k < 3; k++) s -= A[i]![k]! * x[k]!;
    x[i] = s / A[i]![i]!;
  }
  return x;
}

/** Mean elevation (trapezoid rule over the 101 quantiles, 1 % of the area each step) and range. */
export function hypsometryStats(h: ArrayLike<number>): { mean: number; range: number } {
  let s = 0;
  for (let i = 0; i + 1 < h.length; i++) s += (h[i]! + h[i + 1]!) / 2;
  return { mean: s / (h.length - 1), range: h[h.length - 1]! - h[0]! };
}

/** Every derived attribute of one basin (see {@link DERIVED_ATTRIBUTES}); null values say why. */
export function deriveAttributes(x: AttributeInputs): Record<DerivedAttribute, AttributeValue> {
  const pMean = meanOf(x.P);
  const petMean = meanOf(x.E);
  const out = {} as Record<DerivedAttribute, AttributeValue>;
  out.p_mean = Number.isFinite(pMean) ? some(pMean) : none('no precipitation value');
  out.pet_mean = Number.isFinite(petMean) ? some(petMean) : none('no PET value');
  out.aridity = pMean > 0 ? some(petMean / pMean) : none('mean precipitation is not positive');
  if (x.T) {
    const t = x.dates.map((d) => d.getTime() / 86_400_000);
    const p = fitSine(t, x.P);
    const tt = fitSine(t, x.T);
    // ΔT ≥ 0 by construction of the amplitude, so sign(ΔT) = 1
    out.p_seasonality =
      p.mean > 0
        ? some((p.amp / p.mean) * Math.cos((2 * Math.PI * (p.shift - tt.shift)) / 365.25))
        : none('mean precipitation is not positive');
    let snow = 0;
    let all = 0;
    for (let i = 0; i < x.P.length; i++) {
      const pv = x.P[i]!;
      if (!Number.isFinite(pv) || !Number.isFinite(x.T[i]!)) continue;
      all += pv;
      if (x.T[i]! < 0) snow += pv;
    }
    out.frac_snow = all > 0 ? some(snow / all) : none('no precipitation');
  } else {
    out.p_seasonality = none('no temperature column');
    out.frac_snow = none('no temperature column');
  }
  if (Number.isFinite(pMean)) {
    const hi = runStats(x.P, (v) => v >= 5 * pMean);
    const lo = runStats(x.P, (v) => v < 1);
    out.high_prec_freq = some(hi.freq);
    out.high_prec_dur = some(hi.dur);
    out.low_prec_freq = some(lo.freq);
    out.low_prec_dur = some(lo.dur);
  } else {
    for (const k of ['high_prec_freq', 'high_prec_dur', 'low_prec_freq', 'low_prec_dur'] as const)
      out[k] = none('no precipitation value');
  }
  if (x.hypsometry && x.hypsometry.length >= 2) {
    const h = hypsometryStats(x.hypsometry);
    out.elev_mean = some(h.mean);
    out.elev_range = some(h.range);
  } else {
    out.elev_mean = none('no hypsometry for this basin');
    out.elev_range = none('no hypsometry for this basin');
  }
  out.area = x.area !== undefined ? some(x.area, 'catchments table') : none('area not known');
  out.outlet_lon = x.outlet ? some(x.outlet.lon, 'catchments table') : none('outlet not known');
  out.outlet_lat = x.outlet ? some(x.outlet.lat, 'catchments table') : none('outlet not known');
  return out;
}

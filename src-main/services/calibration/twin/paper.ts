import type { NamedPeriod } from '../../../../src-shared/ipc';
import { correlatedField, standardise } from './fields';

/**
 * The GAN-PO paper's twin layout (Sun, Pan & Duan 2024, section 3.1): a 24 x 17 rectangle of 0.25°
 * cells over the upper Huaihe basin, every cell active, with the six static soil descriptors of
 * the paper (porosity, bulk density, soil profile depth, sand, silt and clay percentages; there
 * from Dai et al. 2013 and Shangguan et al. 2013) and its periods.
 */
export const PAPER_DESCRIPTORS = ['porosity', 'bulk_density', 'soil_depth', 'sand', 'silt', 'clay'] as const;
export type PaperDescriptor = (typeof PAPER_DESCRIPTORS)[number];

/** Units of the raw paper descriptors. */
export const PAPER_DESCRIPTOR_UNITS: Record<PaperDescriptor, string> = {
  porosity: 'm³/m³',
  bulk_density: 'g/cm³',
  soil_depth: 'm',
  sand: '%',
  silt: '%',
  clay: '%',
};

/**
 * The paper's periods (section 3.2): training 2009-2010, testing 2011, validation 2013-2014 (2012
 * unused), after a one-year warm-up (2008); not contiguous and not in train / valid / test order.
 */
export const PAPER_PERIODS: readonly NamedPeriod[] = [
  { name: 'warmup', start: '2008-01-01', end: '2008-12-31' },
  { name: 'train', start: '2009-01-01', end: '2010-12-31' },
  { name: 'test', start: '2011-01-01', end: '2011-12-31' },
  { name: 'valid', start: '2013-01-01', end: '2014-12-31' },
];

/** Density of mineral soil particles, g/cm³ (Saxton & Rawls 2006, eq. 6). */
export const PARTICLE_DENSITY = 2.65;

/**
 * Saturated moisture (total porosity) of a soil from its sand and clay fractions (w/w, 0-1) and
 * organic matter (% w/w): Saxton & Rawls 2006 (SSSAJ 70:1569), table 1, eqs. 2, 3 and 5.
 */
export function saxtonRawlsPorosity(sand: number, clay: number, om: number): number {
  const S = sand;
  const C = clay;
  const t33t = -0.251 * S + 0.195 * C + 0.011 * om + 0.006 * S * om - 0.027 * C * om + 0.452 * S * C + 0.299;
  const t33 = t33t + (1.283 * t33t * t33t - 0.374 * t33t - 0.015);
  const ts33t = 0.278 * S + 0.034 * C + 0.022 * om - 0.018 * S * om - 0.027 * C * om - 0.584 * S * C + 0.078;
  const ts33 = ts33t + (0.636 * ts33t - 0.107);
  return t33 + ts33 - 0.097 * S + 0.043;
}

/**
 * Synthetic soils of the paper layout on a rows x cols grid (every cell; row-major), in physical
 * units, and the hidden relief (standardised) that shapes them and the weather. Every field is
 * spatially correlated (smoothed white noise, correlation lengths scaled with the grid like the
 * basin layout's descriptors).
 */
export function paperSoil(
  rows: number,
  cols: number,
  gauss: () => number,
): { raw: Record<PaperDescriptor, Float64Array>; elevation: Float64Array } {
  const n = rows * cols;
  const scale = Math.max(1, Math.min(rows, cols) / 17);
  const field = (sigma: number) => correlatedField(rows, cols, sigma * scale, gauss);
  const mix = (a: Float64Array, wa: number, b: Float64Array, wb: number) =>
    standardise(Float64Array.from(a, (v, i) => wa * v + wb * b[i]!));
  // hidden relief: uplands (Tongbai-Dabie foothills) against the alluvial plain
  const elevation = field(4);
  // coarser (sandier) soils on the uplands, finer alluvium on the plain
  const coarse = mix(field(3), 0.75, elevation, 0.5);
  const [e1, e2, e3] = [field(2), field(2), field(2.5)];
  const om = field(2.5);
  // thinner soils on the uplands (soil thickness falls with relief: Pelletier & Rasmussen 2009, WRR 45)
  const thick = mix(field(3), 0.6, elevation, -0.6);
  const structure = field(2);
  const density = field(1.5);

  const raw = Object.fromEntries(PAPER_DESCRIPTORS.map((d) => [d, new Float64Array(n)])) as Record<
    PaperDescriptor,
    Float64Array
  >;
  for (let i = 0; i < n; i++) {
    // texture as additive log-ratios to clay, so sand + silt + clay = 100 % (Aitchison 1986, compositional data)
    const ls = Math.log(35 / 22) + 0.55 * coarse[i]! + 0.2 * e1[i]! - 0.25 * e3[i]!;
    const lt = Math.log(43 / 22) - 0.15 * coarse[i]! + 0.2 * e2[i]! - 0.25 * e3[i]!;
    const den = 1 + Math.exp(ls) + Math.exp(lt);
    const sand = (100 * Math.exp(ls)) / den;
    const silt = (100 * Math.exp(lt)) / den;
    const clay = 100 / den;
    // organic matter 0.6 .. 3.7 % (hidden), then porosity from texture and OM (Saxton & Rawls 2006, eqs. 2-5)
    const omPct = 1.5 * Math.exp(0.3 * om[i]!);
    const porosity = saxtonRawlsPorosity(sand / 100, clay / 100, omPct) + 0.01 * structure[i]!;
    raw.sand[i] = sand;
    raw.silt[i] = silt;
    raw.clay[i] = clay;
    raw.porosity[i] = porosity;
    // bulk density = (1 - porosity) x particle density (Saxton & Rawls 2006, eq. 6), with mapping noise
    raw.bulk_density[i] = PARTICLE_DENSITY * (1 - porosity) + 0.02 * density[i]!;
    raw.soil_depth[i] = Math.min(3, Math.max(0.3, 1.2 * Math.exp(0.35 * thick[i]!)));
  }
  return { raw, elevation };
}

import type { ModelStructure } from '../structure';

const VIC_DOC =
  'VIC 5 soil parameter file documentation (vic.readthedocs.io, "Soil Parameter File"); calibration ranges as in Troy, Wood & Sheffield 2008 (WRR 44, W09411)';

/**
 * vic3l: a VIC-style three-layer soil model per cell (Liang et al. 1994, JGR 99; VIC 5, Hamman et
 * al. 2018): variable infiltration curve over layers 1+2, ARNO baseflow from layer 3, Brooks-Corey
 * gravity drainage, moisture-limited ET, degree-day snow. The seven parameters are those the
 * GAN-PO paper calibrates (Sun et al. 2024, section 2.3).
 */
export const VIC3L: ModelStructure = {
  name: 'vic3l',
  description:
    'VIC-style three-layer soil model: variable infiltration curve, ARNO baseflow, Brooks-Corey drainage, degree-day snow',
  parameters: [
    {
      name: 'b',
      unit: '-',
      description: 'variable infiltration curve shape (b_infilt)',
      default: 0.2,
      bounds: [0.001, 0.4],
      source: VIC_DOC,
    },
    {
      name: 'Ds',
      unit: '-',
      description: 'fraction of Dsmax where non-linear baseflow begins',
      default: 0.02,
      bounds: [0.0001, 1],
      source: VIC_DOC,
    },
    {
      name: 'Dsmax',
      unit: 'mm/d',
      description: 'maximum baseflow velocity',
      default: 10,
      bounds: [0.1, 30],
      source: VIC_DOC,
    },
    {
      name: 'Ws',
      unit: '-',
      description: 'fraction of layer-3 capacity where non-linear baseflow begins',
      default: 0.8,
      // VIC allows 0..1; the ARNO curve divides by 1 - Ws, so the upper bound stays below 1
      bounds: [0.1, 0.99],
      source: VIC_DOC,
    },
    {
      name: 'd2',
      unit: 'm',
      description: 'depth of soil layer 2',
      default: 0.5,
      bounds: [0.1, 1.5],
      source: VIC_DOC,
    },
    {
      name: 'd3',
      unit: 'm',
      description: 'depth of soil layer 3',
      default: 1,
      bounds: [0.1, 1.5],
      source: VIC_DOC,
    },
    {
      name: 'expt',
      unit: '-',
      description: 'Brooks-Corey exponent of unsaturated conductivity (3 + 2 / lambda)',
      default: 11,
      // Brooks & Corey 1964 with the pore-size indices of Rawls, Brakensiek & Saxton 1982 (sand 3.7 .. clay 25)
      bounds: [4, 30],
      source: 'VIC 5 soil parameter documentation (expt = 3 + 2/lambda); Rawls et al. 1982 lambda by texture',
    },
  ],
  states: [
    { name: 'W1', unit: 'mm', description: 'layer 1 moisture' },
    { name: 'W2', unit: 'mm', description: 'layer 2 moisture' },
    { name: 'W3', unit: 'mm', description: 'layer 3 moisture' },
    { name: 'SWE', unit: 'mm', description: 'snow water equivalent' },
  ],
  inputs: [
    { name: 'P', unit: 'mm/step', description: 'precipitation' },
    { name: 'PET', unit: 'mm/step', description: 'potential evapotranspiration' },
    { name: 'T', unit: '°C', description: 'air temperature (optional; snow when given)' },
  ],
  outputs: [
    { name: 'ET', unit: 'mm/step', description: 'actual evapotranspiration' },
    { name: 'R', unit: 'mm/step', description: 'surface runoff' },
    { name: 'Qb', unit: 'mm/step', description: 'baseflow' },
    { name: 'W1', unit: 'mm', description: 'layer 1 moisture at the end of the step' },
    { name: 'W2', unit: 'mm', description: 'layer 2 moisture at the end of the step' },
    { name: 'W3', unit: 'mm', description: 'layer 3 moisture at the end of the step' },
    { name: 'SWE', unit: 'mm', description: 'snow water equivalent at the end of the step' },
  ],
};

/** Fixed quantities of vic3l, each with its source; a run may override them. */
export interface Vic3lConstants {
  /** Depth of layer 1, m (VIC's usual 0.1 m top layer; Liang et al. 1996). */
  d1: number;
  /** Porosity (loam, Rawls, Brakensiek & Saxton 1982 table 2: 0.434; rounded). */
  porosity: number;
  /** Saturated hydraulic conductivity, mm/d (loam, Rawls et al. 1982: 13.2 mm/h ~ 317 mm/d). */
  ksat: number;
  /** Critical moisture fraction of layers 1+2 capacity above which ET is unlimited (VIC Wcr_FRACT 0.7). */
  wcrFraction: number;
  /** Wilting-point fraction of layers 1+2 capacity (VIC Wpwp_FRACT, 0.5 x Wcr in VIC 5 sample files). */
  wpFraction: number;
  /** Degree-day melt factor, mm/°C/d (Hock 2003, J. Hydrol. 282, snow 2.5 .. 6). */
  ddf: number;
  /** All precipitation is snow at or below this temperature, °C (VIC 5 MIN_RAIN_TEMP). */
  minRainTemp: number;
  /** All precipitation is rain at or above this temperature, °C (VIC 5 MAX_SNOW_TEMP). */
  maxSnowTemp: number;
  /** Melt starts above this temperature, °C. */
  meltTemp: number;
}

export const VIC3L_CONSTANTS: Readonly<Vic3lConstants> = {
  d1: 0.1,
  porosity: 0.43,
  ksat: 300,
  wcrFraction: 0.7,
  wpFraction: 0.35,
  ddf: 3,
  minRainTemp: -0.5,
  maxSnowTemp: 0.5,
  meltTemp: 0,
};

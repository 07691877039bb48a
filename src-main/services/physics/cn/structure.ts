import type { ModelStructure } from '../structure';

/**
 * The Curve-Number structure (issue 19): SCS-CN direct runoff with antecedent moisture, a soil
 * store drained by evapotranspiration and by percolation at the saturated hydraulic conductivity,
 * and a linear groundwater reservoir; per cell, routed between cells by `lr`.
 */
export const CN: ModelStructure = {
  name: 'cn',
  description:
    'SCS Curve Number per cell (NRCS 2004 NEH-630 ch. 10) with antecedent moisture, a soil store (ET from PET, percolation at Ks) and a linear groundwater reservoir',
  parameters: [
    {
      name: 'CN',
      unit: '-',
      description: 'curve number for average antecedent moisture (AMC II)',
      default: 75,
      bounds: [30, 98],
      source:
        'USDA NRCS 2004, NEH-630 ch. 9, tables 9-1..9-5: CN of hydrologic soil groups A-D and covers span 30-98',
    },
    {
      name: 'Ks',
      unit: 'mm/h',
      description: 'saturated hydraulic conductivity of the soil',
      default: 10,
      bounds: [0.5, 120],
      source:
        'Rawls, Brakensiek & Saxton 1982 (Trans. ASAE 25), table 2: clay 0.6 to sand 117.8 mm/h; default a loam-sandy loam',
    },
    {
      name: 'Smax',
      unit: 'mm',
      description: 'soil store capacity (available water of the root zone)',
      default: 150,
      bounds: [20, 500],
      source:
        'Rawls et al. 1982 available water 0.02-0.2 cm³/cm³ over 0.3-2.5 m root zones (Canadell et al. 1996, Oecologia 108)',
    },
    {
      name: 'kg',
      unit: 'd',
      description: 'groundwater linear reservoir time constant',
      default: 30,
      bounds: [1, 300],
      source: 'Tallaksen 1995 (J. Hydrol. 165), baseflow recession constants of days to a year',
    },
  ],
  states: [
    { name: 'W', unit: 'mm', description: 'soil store level (initial 0.5 Smax)' },
    { name: 'G', unit: 'mm', description: 'groundwater store level (initial 0)' },
  ],
  inputs: [
    { name: 'P', unit: 'mm/step', description: 'precipitation' },
    { name: 'E', unit: 'mm/step', description: 'potential evapotranspiration' },
  ],
  outputs: [
    { name: 'Q', unit: 'mm/step', description: 'cell runoff: direct runoff + soil overflow + baseflow' },
    { name: 'AE', unit: 'mm/step', description: 'actual evapotranspiration' },
    { name: 'Perc', unit: 'mm/step', description: 'percolation to groundwater' },
  ],
};

/** Parameter names of the CN structure, in the table's order. */
export const CN_PARAMETERS = ['CN', 'Ks', 'Smax', 'kg'] as const;

import type { ModelStructure } from '../structure';

const PERRIN =
  'Perrin, Michel & Andréassian 2003 (J. Hydrol. 279), median and 80 % interval over 429 catchments';

/** GR4J (Perrin et al. 2003) as airGR 1.7 implements it. */
export const GR4J: ModelStructure = {
  name: 'gr4',
  description:
    'GR4J daily rainfall-runoff model (production store, exchange, routing store, two unit hydrographs)',
  parameters: [
    {
      name: 'X1',
      unit: 'mm',
      description: 'production store capacity',
      default: 350,
      bounds: [100, 1200],
      source: PERRIN,
    },
    {
      name: 'X2',
      unit: 'mm/d',
      description: 'groundwater exchange coefficient',
      default: 0,
      bounds: [-5, 3],
      source: PERRIN,
    },
    {
      name: 'X3',
      unit: 'mm',
      description: 'routing store capacity',
      default: 90,
      bounds: [20, 300],
      source: PERRIN,
    },
    {
      name: 'X4',
      unit: 'd',
      description: 'unit hydrograph time base',
      default: 1.7,
      bounds: [1.1, 2.9],
      source: PERRIN,
    },
  ],
  states: [
    { name: 'S', unit: 'mm', description: 'production store level (airGR initial 0.3 X1)' },
    { name: 'R', unit: 'mm', description: 'routing store level (airGR initial 0.5 X3)' },
  ],
  inputs: [
    { name: 'P', unit: 'mm/step', description: 'precipitation' },
    { name: 'E', unit: 'mm/step', description: 'potential evapotranspiration' },
  ],
  outputs: [
    { name: 'Q', unit: 'mm/step', description: 'streamflow' },
    { name: 'AE', unit: 'mm/step', description: 'actual evapotranspiration' },
    { name: 'Perc', unit: 'mm/step', description: 'percolation from the production store' },
    { name: 'Exch', unit: 'mm/step', description: 'actual groundwater exchange' },
  ],
};

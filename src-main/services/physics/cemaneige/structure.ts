import { GR4J } from '../gr4/structure';
import type { ModelStructure } from '../structure';

/** Where the bounds come from: airGR's search space [-9.99, 9.99] through its transformations. */
const AIRGR =
  'airGR 1.7 Calibration_Michel search range: [-9.99, 9.99] through TransfoParam_GR4J / TransfoParam_CemaNeige';

/** airGR's real-space ranges: X1, X3 = exp(±9.99); X2 = sinh(±9.99); X4 0.5..20; CTG 0..1; Kf exp(±9.99)/200. */
export const AIRGR_BOUNDS = {
  lower: [Math.exp(-9.99), Math.sinh(-9.99), Math.exp(-9.99), 0.5, 0, Math.exp(-9.99) / 200],
  upper: [Math.exp(9.99), Math.sinh(9.99), Math.exp(9.99), 20, 1, Math.exp(9.99) / 200],
};

/** GR4J + CemaNeige (Valéry et al. 2014; airGR CemaNeigeGR4J): snow on elevation layers feeding GR4J. */
export const GR4_CEMANEIGE: ModelStructure = {
  name: 'gr4-cemaneige',
  description:
    'GR4J with the CemaNeige degree-day snow module on elevation layers (Valéry et al. 2014; airGR CemaNeigeGR4J)',
  parameters: [
    ...GR4J.parameters.map((p, k) => ({
      ...p,
      bounds: [AIRGR_BOUNDS.lower[k]!, AIRGR_BOUNDS.upper[k]!] as [number, number],
      source: AIRGR,
    })),
    {
      name: 'CTG',
      unit: '-',
      description: 'weighting coefficient of the snow pack thermal state',
      // airGR CreateCalibOptions StartParamDistrib middle row, transformed -9.14
      default: (-9.14 + 9.99) / 19.98,
      bounds: [0, 1],
      source: AIRGR,
    },
    {
      name: 'Kf',
      unit: 'mm/°C/d',
      description: 'degree-day melt factor',
      // airGR CreateCalibOptions StartParamDistrib middle row, transformed 6.90
      default: Math.exp(6.9) / 200,
      bounds: [AIRGR_BOUNDS.lower[5]!, AIRGR_BOUNDS.upper[5]!],
      source: AIRGR,
    },
  ],
  states: [
    ...GR4J.states,
    { name: 'G', unit: 'mm', description: 'snow pack per layer (airGR initial 0)' },
    { name: 'eTG', unit: '°C', description: 'snow pack thermal state per layer (airGR initial 0)' },
  ],
  inputs: [
    { name: 'P', unit: 'mm/step', description: 'total precipitation' },
    { name: 'T', unit: '°C', description: 'mean air temperature' },
    { name: 'E', unit: 'mm/step', description: 'potential evapotranspiration' },
  ],
  outputs: [
    ...GR4J.outputs,
    { name: 'PliqAndMelt', unit: 'mm/step', description: 'liquid precipitation + melt entering GR4J' },
  ],
};

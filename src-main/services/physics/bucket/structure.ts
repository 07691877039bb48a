import type { ModelStructure } from '../structure';

const SEED =
  'Liu & Hsu, EGU 2026 (EGU26-21276): generic bucket model whose process responses an LSTM nexus learns';

/**
 * The processes of the generic bucket model, in the order of its per-step fraction vector. Each
 * flux is a fraction in [0, 1] of the water available to it at that point of the step (the input
 * or the store), so no flux can exceed what is there and every store stays non-negative.
 */
export const BUCKET_PROCESSES = [
  { name: 'interception', of: 'P', description: 'canopy interception I = a·P' },
  { name: 'canopyEvaporation', of: 'C + I', description: 'evaporation of intercepted water Ec = a·(C + I)' },
  { name: 'drip', of: 'C + I - Ec', description: 'canopy drainage to the ground D = a·(C + I - Ec)' },
  {
    name: 'infiltration',
    of: 'P - I + D',
    description: 'infiltration F = a·W of throughfall W = P - I + D; the rest is surface runoff Rs',
  },
  { name: 'transpiration', of: 'S + F', description: 'soil evapotranspiration Es = a·(S + F)' },
  { name: 'recharge', of: 'S + F - Es', description: 'percolation to groundwater R = a·(S + F - Es)' },
  { name: 'baseflow', of: 'G + R', description: 'baseflow B = a·(G + R)' },
  { name: 'routing', of: 'X + Rs + B', description: 'outflow of the routing store Q = a·(X + Rs + B)' },
] as const;
export const BUCKET_K = BUCKET_PROCESSES.length;
export type BucketProcess = (typeof BUCKET_PROCESSES)[number]['name'];

/** The bucket structure as data: its "parameters" are the per-step fractions, all in [0, 1]. */
export const BUCKET: ModelStructure = {
  name: 'bucket',
  description:
    'generic bucket model (canopy, soil, groundwater, routing store) driven by per-step flux fractions in [0, 1] (a nexus network predicts them)',
  parameters: BUCKET_PROCESSES.map((p) => ({
    name: p.name,
    unit: '-',
    description: `${p.description}: fraction of ${p.of} per step`,
    default: 0.5,
    bounds: [0, 1] as [number, number],
    source: `${SEED}; a fraction of the available water (bounded by construction)`,
  })),
  states: [
    { name: 'C', unit: 'mm', description: 'canopy interception store' },
    { name: 'S', unit: 'mm', description: 'soil (root-zone) store' },
    { name: 'G', unit: 'mm', description: 'groundwater store' },
    { name: 'X', unit: 'mm', description: 'routing (river) store' },
  ],
  inputs: [
    { name: 'P', unit: 'mm/step', description: 'precipitation' },
    { name: 'fractions', unit: '-', description: 'flux fractions per step (one per process)' },
  ],
  outputs: [
    { name: 'Q', unit: 'mm/step', description: 'streamflow (outflow of the routing store)' },
    { name: 'ET', unit: 'mm/step', description: 'evapotranspiration Ec + Es' },
    { name: 'residual', unit: 'mm/step', description: 'P - ET - Q - ΔS per step' },
  ],
};

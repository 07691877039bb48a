import type { EnsembleSpec } from '../../src-main/services/surrogate/types';

/** The ensemble the SIGKILL test generates: 40 members of an Sobol-scrambled vic3l ensemble on a 6 x 8 grid, 730 days. */
export const KILL_SPEC: EnsembleSpec = {
  members: 40,
  sampler: 'sobol',
  seed: 11,
  split: { train: 20, valid: 10, test: 10 },
};
export const KILL_GRID: [number, number, number] = [6, 8, 730];

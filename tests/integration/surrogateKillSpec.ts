import type { TrainSettings } from '../../src-main/services/surrogate/train';

/**
 * The trainings the surrogate SIGKILL test (surrogateKill.test.ts) kills: a 6 x 7 basin-layout
 * vic3l ensemble of 150 days, 10 / 3 / 3 members (tests/unit/main/surrogate/memEnsemble.ts), small
 * networks, no early stopping within the epochs run so every epoch is checkpointed; the ARnet's
 * epochs begin with rollouts of members drawn by the epoch's seed, so a resume must redraw them.
 */
export const KILL_CASE = { steps: 150 };
export const KILL_EPOCHS = 4;
export const KILL_SETTINGS: Record<'lstm' | 'arnet', TrainSettings> = {
  lstm: {
    epochs: KILL_EPOCHS,
    batchesPerEpoch: 6,
    batchSize: 128,
    validBatches: 2,
    patience: 20,
    learningRate: 5e-3,
    seed: 3,
  },
  arnet: {
    epochs: KILL_EPOCHS,
    batchesPerEpoch: 4,
    batchSize: 8,
    validBatches: 2,
    patience: 20,
    learningRate: 3e-3,
    seed: 3,
  },
};
// the ARnet trains on its own rollouts (the default), here of 2 members over 10 days per epoch
export const KILL_CONFIG = {
  lstm: { hidden: 16 },
  arnet: { features: 8, growth: 8, layers: 2, rollout: 0.5, rolloutMembers: 2, rolloutDays: 10 },
};

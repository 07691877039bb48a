import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalSimulator } from '../../../../src-main/services/calibration/gridded/simulator';
import {
  prepareSurrogate,
  type PhysicsOptions,
} from '../../../../src-main/services/calibration/gridded/surrogate';
import { methodOptions } from '../../../../src-main/services/calibration/registry';
import { makeTwin } from '../../../../src-main/services/calibration/twin/generate';
import { computeHandle } from '../../../../src-main/services/compute';
import { tempDir } from '../../../helpers/tmp';

/**
 * A surrogate's held-out accuracy is measured once and carried in its key.json. A resumed run
 * (its own surrogate reused) asked for other accuracyMembers measures them and writes them back, so
 * the next resume carries them instead of measuring again.
 */
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('surrogate key.json: held-out accuracy', () => {
  it('a resumed run that measured other accuracyMembers records them; the next resume carries them', async () => {
    const twin = makeTwin({ rows: 4, cols: 5, seed: 3, years: { warmup: 1, train: 1, valid: 1, test: 1 } });
    const pr = twin.problem;
    const compute = await computeHandle();
    const workDir = join(tmp.dir, 'run-1', 'checkpoints');
    const opts = (accuracyMembers: number) =>
      methodOptions('dpl', 'gridded', {
        physics: 'lstm',
        updateEvery: 1,
        surrogate: {
          members: 6,
          split: { train: 3, valid: 1, test: 2 },
          epochs: 1,
          batchesPerEpoch: 2,
          batchSize: 64,
          validBatches: 1,
          hidden: 8,
          accuracyMembers,
        },
      }) as unknown as PhysicsOptions;
    const ctx = {
      compute,
      progress: () => undefined,
      cancelled: () => false,
      sim: new LocalSimulator(pr),
      workDir,
    };
    const keyJson = () =>
      JSON.parse(readFileSync(join(workDir, 'surrogate', 'key.json'), 'utf8')) as {
        accuracy: { members: number; nseMedian: number } | null;
      };
    const prepare = async (members: number) => {
      const p = (await prepareSurrogate(pr, opts(members), ctx))!;
      p.surrogate.dispose();
      return p;
    };

    const made = await prepare(1);
    expect(made.epochs).toBe(1);
    expect(made.accuracy!.members).toBe(1);
    expect(keyJson().accuracy!.members).toBe(1);

    // resumed with 2: its own surrogate (not trained again), the accuracy measured and written back
    const resumed = await prepare(2);
    expect(resumed.epochs).toBe(0);
    expect(resumed.reusedFrom).toBeNull();
    expect(resumed.accuracy!.members).toBe(2);
    expect(resumed.accuracySeconds).toBeGreaterThan(0);
    expect(keyJson().accuracy).toEqual(resumed.accuracy);

    // resumed again with 2: carried, not measured
    const again = await prepare(2);
    expect(again.accuracySeconds).toBe(0);
    expect(again.accuracy).toEqual(resumed.accuracy);
  }, 120_000);
});

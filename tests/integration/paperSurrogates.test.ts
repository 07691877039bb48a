// Issue 17 part 3: the GAN-PO paper's comparison with h() through a surrogate (gan-po-lstm,
// dpl-lstm beside the exact gan-po), on a 6 x 7 twin: every run scored on vic3l and the surrogate
// runs on their surrogate too, the one LSTM shared by both methods and its making counted in each
// method's total time, finished runs kept in the runs folder and taken back when asked again, and
// the report's "exact model or surrogate" and surrogate-accuracy tables.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeHandle, type ComputeHandle } from '../../src-main/services/compute';
import {
  ganPoPaperExperiment,
  type PaperRun,
} from '../../src-main/services/calibration/experiments/ganPoPaper';
import { writePaperReport } from '../../src-main/services/calibration/experiments/paperReport';
import { LocalSimulator } from '../../src-main/services/calibration/gridded/simulator';
import type { Twin } from '../../src-main/services/calibration/twin/generate';
import { tempDir } from '../helpers/tmp';
import { ganWidth, onJsKernels } from '../helpers/kernels';

const tmp = tempDir();
const dir = join(tmp.dir, 'runs');
let compute: ComputeHandle;
let twin: Twin;
let runs: PaperRun[];
const lines: string[] = [];

const args = () => ({
  compute,
  sim: async (pr: ConstructorParameters<typeof LocalSimulator>[0]) => new LocalSimulator(pr),
  seeds: [3],
  baselineSeeds: [3],
  epochs: 3,
  dplEpochs: 3,
  runs: ['default', 'gan-po', 'gan-po-lstm', 'dpl-lstm'],
  ganPo: ganWidth(onJsKernels(compute.tf)),
  surrogate: {
    members: 10,
    split: { train: 6, valid: 2, test: 2 },
    epochs: 3,
    batchesPerEpoch: 8,
    batchSize: 128,
    hidden: 16,
    validBatches: 2,
    accuracyMembers: 2,
  },
  dir,
  twin: {
    rows: 6,
    cols: 7,
    years: { warmup: 1, train: 1, valid: 1, test: 1 },
    calibrated: ['b' as const, 'Ws' as const, 'd2' as const, 'expt' as const],
  },
  log: (l: string) => lines.push(l),
});

interface SurrogateInfo {
  reusedFrom: string | null;
  trainedEpochs: number;
  ensembleSeconds: number;
  trainSeconds: number;
  updates: number;
  madeSeconds: { ensemble: number | null; training: number | null };
  accuracyTest: { members: number; nseMedian: number } | null;
}
const run = (name: string) => runs.find((r) => r.name === name)!;
const sur = (name: string) => run(name).info.surrogate as SurrogateInfo;

beforeAll(async () => {
  compute = await computeHandle();
  ({ twin, runs } = await ganPoPaperExperiment(args()));
}, 600_000);

afterAll(() => tmp.cleanup());

describe('the paper comparison through surrogates (6 x 7 twin)', () => {
  it('scores the surrogate runs on vic3l and on their surrogate, the exact runs on vic3l alone', () => {
    expect(runs.map((r) => r.name)).toEqual(['default', 'gan-po', 'gan-po-lstm', 'dpl-lstm']);
    for (const name of ['default', 'gan-po']) expect(run(name).onSurrogate, name).toBeUndefined();
    for (const name of ['gan-po-lstm', 'dpl-lstm']) {
      const r = run(name);
      expect(r.info.physics, name).toBe('lstm');
      const onVic = r.test.summary;
      const onSur = r.onSurrogate!.test.summary;
      for (const v of [onSur.pctRmseReduced, onSur.meanEof, onSur.meanSsim])
        expect(Number.isFinite(v)).toBe(true);
      // two different simulations of the same fields: a surrogate of 3 epochs is not vic3l
      expect(onSur.meanEof, name).not.toBeCloseTo(onVic.meanEof, 6);
      expect(r.onSurrogate!.test.eof).toHaveLength(
        twin.problem.periods.test[1] - twin.problem.periods.test[0],
      );
    }
  });

  it("trains the LSTM once: dPL reuses the GAN-PO run's surrogate, and both count its making in their time", () => {
    const g = sur('gan-po-lstm');
    const d = sur('dpl-lstm');
    expect(g.reusedFrom).toBeNull();
    expect(g.trainedEpochs).toBe(3);
    expect(g.madeSeconds.training).toBe(g.trainSeconds);
    // the ensemble's seconds come from its manifest: the generation in this run
    expect(g.madeSeconds.ensemble!).toBeGreaterThan(0);
    expect(g.madeSeconds.ensemble!).toBeLessThanOrEqual(g.ensembleSeconds);
    expect(d.reusedFrom).toContain('gan-po-lstm-s3');
    expect(d.trainedEpochs).toBe(0);
    expect(d.madeSeconds).toEqual(g.madeSeconds);
    // a shortened run keeps updates: every max(1, 3 * 20 / 200) epochs, so at epochs 1 and 2
    expect(g.updates).toBe(2);
    expect(d.updates).toBe(2);
    // held-out accuracy on the asked-for members, measured where the surrogate was made and carried
    // with it (key.json) to the run that reused it
    expect(g.accuracyTest!.members).toBe(2);
    expect(Number.isFinite(g.accuracyTest!.nseMedian)).toBe(true);
    expect(d.accuracyTest).toEqual(g.accuracyTest);
    // total time: the surrogate's making counted in full in both, the evaluations for the report not
    const gr = run('gan-po-lstm');
    const dr = run('dpl-lstm');
    expect(gr.totalSeconds).toBeLessThanOrEqual(gr.seconds);
    expect(gr.totalSeconds).toBeGreaterThan(g.madeSeconds.training! + g.madeSeconds.ensemble!);
    // dPL did not train the LSTM, yet its total counts that training and the ensemble's generation
    expect(dr.totalSeconds).toBeGreaterThan(g.madeSeconds.training! + g.madeSeconds.ensemble!);
    expect(run('gan-po').totalSeconds).toBe(run('gan-po').seconds);
  });

  it('takes finished runs back from the runs folder with the same options, and makes a changed one again', async () => {
    lines.length = 0;
    const again = await ganPoPaperExperiment(args());
    expect(lines.filter((l) => l.includes('taken from'))).toHaveLength(4);
    // maps (Float64Array with NaN outside the mask), histories and the info come back as they were
    expect(again.runs.every((r) => r.keptFrom?.startsWith(dir))).toBe(true);
    expect(again.runs.map(({ keptFrom: _k, ...r }) => r)).toEqual(runs);
    expect(again.runs[1]!.maps.rmse).toBeInstanceOf(Float64Array);
    lines.length = 0;
    const changed = await ganPoPaperExperiment({ ...args(), runs: ['gan-po'], epochs: 2 });
    expect(lines.some((l) => l.includes('taken from'))).toBe(false);
    expect((changed.runs[0]!.info as { epochs: number }).epochs).toBe(2);
  }, 300_000);

  it('writes the report with the exact-or-surrogate table and the surrogate accuracy table', async () => {
    const report = await writePaperReport(join(tmp.dir, 'report'), twin, runs, {});
    const html = readFileSync(report.html, 'utf8');
    expect(html).toContain('h(): the exact model or a surrogate');
    expect(html).toContain('Surrogate accuracy on held-out ensemble members');
    expect(html).toContain('dpl-lstm (seed 3)');
    expect(html).toContain('gan-po-lstm (seed 3)');
    // every GAN-PO run's loss curves, through a surrogate too (dPL's history has no GAN terms)
    expect(html).toContain('gan-po-lstm training: G');
    expect(html).not.toContain('dpl-lstm training');
  });
});

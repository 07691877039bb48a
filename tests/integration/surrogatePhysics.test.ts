// Issue 17 part 2 (h() behind one interface): GAN-PO and dPL trained through an LSTM surrogate as
// jobs on a 6 x 7 twin, the surrogate recorded as an artifact and reused by the next run, and the
// surrogate's differentiable forward checked against finite differences of itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TfModule from '@tensorflow/tfjs';
import { computeHandle } from '../../src-main/services/compute';
import { JobHost } from '../../src-main/services/jobs/host';
import type { JobResult } from '../../src-main/services/jobs/jobWorker';
import { ProjectStore } from '../../src-main/services/project/store';
import { trainArnet } from '../../src-main/services/surrogate/arnet';
import { trainLstm } from '../../src-main/services/surrogate/lstm';
import { tempDir } from '../helpers/tmp';
import { ganWidth, jobsOnJsKernels } from '../helpers/kernels';
import { smallCase } from '../unit/main/surrogate/memEnsemble';

type Tf = typeof TfModule;

/** <grad, v> by tf autodiff and (f(p + εv) - f(p - εv)) / 2ε of the loss sum(w · forward(p)). */
function directional(
  tf: Tf,
  forward: (p: TfModule.Tensor2D) => TfModule.Tensor2D,
  p0: Float32Array,
  shape: [number, number],
  v: Float32Array,
  w: TfModule.Tensor,
  eps: number,
): { ad: number; fd: number } {
  const loss = (p: TfModule.Tensor) => tf.sum(tf.mul(forward(p as TfModule.Tensor2D), w)) as TfModule.Scalar;
  const g = tf.tidy(() => tf.grad(loss)(tf.tensor2d(p0, shape)));
  const gv = g.dataSync();
  g.dispose();
  let ad = 0;
  for (let i = 0; i < v.length; i++) ad += gv[i]! * v[i]!;
  const at = (s: number) =>
    tf.tidy(
      () =>
        loss(
          tf.tensor2d(
            p0.map((x, i) => x + s * eps * v[i]!),
            shape,
          ),
        ).dataSync()[0]!,
    );
  return { ad, fd: (at(1) - at(-1)) / (2 * eps) };
}

describe('surrogate forward: gradient to the parameter fields', () => {
  it('LSTM (fused kernel, its backward to the inputs) and ARnet (rollout) match finite differences', async () => {
    const { tf } = await computeHandle();
    const { problem, ensemble } = smallCase({ steps: 90, split: { train: 6, valid: 2, test: 0 } });
    const settings = { epochs: 2, batchesPerEpoch: 3, batchSize: 64, validBatches: 1, patience: 5, seed: 2 };
    const lstm = (await trainLstm(problem, ensemble, { config: { hidden: 8 }, settings })).surrogate;
    const arnet = (
      await trainArnet(problem, ensemble, {
        // teacher forcing alone: this checks forward against predict, not the training
        config: { features: 4, growth: 4, layers: 1, rollout: 0 },
        settings: { ...settings, batchSize: 4 },
      })
    ).surrogate;
    const k = problem.parameters.length;
    const n = problem.cells;
    // parameters at the middle of their ranges, a direction scaled to each range
    const p0 = new Float32Array(n * k);
    const v = new Float32Array(n * k);
    let s = 7;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
    for (let c = 0; c < n; c++)
      for (let j = 0; j < k; j++) {
        const span = problem.upper[j]! - problem.lower[j]!;
        p0[c * k + j] = problem.lower[j]! + span * (0.3 + 0.4 * rand());
        v[c * k + j] = span * (rand() - 0.5);
      }
    try {
      const before0 = Float64Array.from(
        arnet.predict(
          Array.from({ length: k }, (_, j) => Float64Array.from({ length: n }, (_, c) => p0[c * k + j]!)),
          0,
          40,
        ),
      );
      const t0 = 40;
      const t1 = 52;
      const w = tf.tensor2d(
        Float32Array.from({ length: (t1 - t0) * n }, () => rand() - 0.5),
        [t1 - t0, n],
      );
      const cases = [
        ['lstm', (p: TfModule.Tensor2D) => lstm.forward(p, t0, t1)],
        ['arnet', (p: TfModule.Tensor2D) => arnet.forward(p, t0, t1, before0.subarray((t0 - 1) * n, t0 * n))],
      ] as const;
      for (const [name, f] of cases) {
        const { ad, fd } = directional(tf, f, p0, [n, k], v, w, name === 'lstm' ? 1e-2 : 1e-3);
        expect(Math.abs(ad), name).toBeGreaterThan(1e-3);
        expect(
          Math.abs(ad - fd) / Math.abs(fd),
          `${name}: autodiff ${ad}, finite differences ${fd}`,
          // measured: LSTM within 2 %; ARnet 18 % at ε = 1e-2 and 4.9 % at 1e-3 (ReLU kinks in float32)
        ).toBeLessThan(name === 'lstm' ? 0.02 : 0.1);
      }
      // the forward is predict's function: same values (float32)
      const fields = Array.from({ length: k }, (_, j) =>
        Float64Array.from({ length: n }, (_, c) => p0[c * k + j]!),
      );
      const y = lstm.forward(tf.tensor2d(p0, [n, k]), t0, t1);
      const yp = lstm.predict(fields, t0, t1);
      const yv = y.dataSync();
      y.dispose();
      for (let i = 0; i < yp.length; i++) expect(yv[i]!).toBeCloseTo(yp[i]!, 4);
      const ya = arnet.forward(tf.tensor2d(p0, [n, k]), t0, t1, before0.subarray((t0 - 1) * n, t0 * n));
      const ypa = arnet.predict(fields, t0, t1);
      const yav = ya.dataSync();
      ya.dispose();
      for (let i = 0; i < ypa.length; i++) expect(yav[i]!).toBeCloseTo(ypa[i]!, 3);
      // a longer rollout begins with the shorter one, bit for bit (GAN-PO shares one rollout between
      // its epoch's error over the training steps and the next epoch's cache over the record)
      expect(Array.from(arnet.predict(fields, 0, 60).subarray(0, 40 * n))).toEqual(Array.from(before0));
      w.dispose();
    } finally {
      lstm.dispose();
      arnet.dispose();
    }
  }, 120_000);
});

const tmp = tempDir();
let store: ProjectStore;
let host: JobHost;
const runs: Record<string, { id: number; result: JobResult }> = {};
const surrogate = {
  members: 10,
  split: { train: 6, valid: 2, test: 2 },
  epochs: 4,
  batchesPerEpoch: 10,
  batchSize: 128,
  hidden: 16,
  validBatches: 2,
};
const twin = {
  rows: 6,
  cols: 7,
  years: { warmup: 1, train: 1, valid: 1, test: 1 },
  calibrated: ['b', 'Ws', 'd2', 'expt'],
};

beforeAll(async () => {
  store = ProjectStore.create({ path: join(tmp.dir, 'p.fieldcal') });
  host = new JobHost(store);
  const width = ganWidth(await jobsOnJsKernels());
  const jobs: Array<[string, string, Record<string, unknown>]> = [
    [
      'gan-po',
      'gan-po',
      {
        ...width,
        physics: 'lstm',
        surrogate,
        epochs: 6,
        learningRate: 1e-3,
        updateEvery: 3,
        updateEpochs: 1,
        pretrainEpochs: 0,
      },
    ],
    ['dpl', 'dpl', { physics: 'lstm', surrogate, epochs: 6 }],
    [
      'gan-po-again',
      'gan-po',
      { ...width, physics: 'lstm', surrogate, epochs: 2, learningRate: 1e-3, pretrainEpochs: 0 },
    ],
  ];
  for (const [label, method, options] of jobs) {
    const run = host.submit(
      { kind: 'twin', method, options, twin, threads: 1, seed: 3 },
      { outDir: (id) => join(tmp.dir, `run-${id}`) },
    );
    await host.wait(run.id);
    runs[label] = { id: run.id, result: host.result(run.id)! };
  }
}, 900_000);

afterAll(async () => {
  await host.close();
  store.close();
  tmp.cleanup();
});

describe('GAN-PO and dPL through the LSTM surrogate, as jobs on a 6 x 7 twin', () => {
  it('succeed, record the surrogate as an artifact, and show a surrogate phase', () => {
    for (const label of ['gan-po', 'dpl', 'gan-po-again']) {
      const { id } = runs[label]!;
      expect(store.runs.get(id).status, label).toBe('succeeded');
      const arts = store.runs.artifacts(id).filter((a) => a.kind === 'surrogate');
      expect(arts.map((a) => a.path.split('/').pop()).sort(), label).toEqual([
        'key.json',
        'surrogate.json',
        'weights.bin',
      ]);
      for (const a of arts) expect(existsSync(a.path)).toBe(true);
    }
    const phases = (id: number) => store.runs.history(id).map((p) => p.phase);
    // the first run generated the ensemble (10 members) and trained (4 epochs): surrogate points first
    const first = phases(runs['gan-po']!.id);
    expect(first.filter((p) => p === 'surrogate').length).toBeGreaterThanOrEqual(10 + 4);
    expect(first.indexOf('calibrating')).toBeGreaterThan(first.lastIndexOf('surrogate') - 10);
    expect(runs['gan-po']!.result.info.surrogate).toMatchObject({
      kind: 'lstm',
      trainedEpochs: 4,
      updates: 1,
      reusedFrom: null,
    });
  });

  it('a later run on the same problem reuses the surrogate: no surrogate phase, no training', () => {
    const again = runs['gan-po-again']!;
    expect(store.runs.history(again.id).filter((p) => p.phase === 'surrogate')).toHaveLength(0);
    const info = again.result.info.surrogate as { reusedFrom: string; trainedEpochs: number };
    expect(info.trainedEpochs).toBe(0);
    expect(info.reusedFrom).toContain(`run-${runs['gan-po']!.id}`);
    // dPL reused it too (same key: same ensemble, network and training settings)
    expect((runs.dpl!.result.info.surrogate as { reusedFrom: string }).reusedFrom).toContain(
      `run-${runs['gan-po']!.id}`,
    );
  });

  it('improve on the default parameters on the exact model', () => {
    for (const label of ['gan-po', 'dpl']) {
      const ev = runs[label]!.result.evaluation!;
      // measured (seed 3, 10 members, 4 surrogate epochs): GAN-PO 57.9 %, dPL 34.2 % of cells
      expect(ev.summary.pctRmseReduced, label).toBeGreaterThan(label === 'gan-po' ? 50 : 25);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetLoss } from '../../../../src-main/services/calibration/gridded/objectives';
import { fullParams, targetOutput } from '../../../../src-main/services/calibration/gridded/problem';
import { LocalSimulator } from '../../../../src-main/services/calibration/gridded/simulator';
import { computeHandle } from '../../../../src-main/services/compute';
import { methodOptions, runMethod } from '../../../../src-main/services/calibration/registry';
import { makeTwin } from '../../../../src-main/services/calibration/twin/generate';
import { ModelPool } from '../../../../src-main/services/jobs/modelPool';
import { vic3lWithGradient, VIC3L_PARAMS } from '../../../../src-main/services/physics/vic3l';

const twin = makeTwin({ rows: 6, cols: 8, seed: 7, years: { warmup: 1, train: 1, valid: 1, test: 1 } });
const pr = twin.problem;
const n = pr.cells;

/** dPL's minibatch step on the calling thread: the listed cells from s0 (initial stores), loss on [t0, t1). */
function localWindow(cells: number[], kind: 'spatial-rmse' | 'cell-mse', s0: number, t0: number, t1: number) {
  const m = cells.length;
  const len = t1 - s0;
  const all = fullParams(pr, twin.truth);
  const p = Object.fromEntries(VIC3L_PARAMS.map((k) => [k, Float64Array.from(cells, (c) => all[k][c]!)]));
  const sub = (a: ArrayLike<number>) =>
    Float64Array.from({ length: len * m }, (_, j) => a[(s0 + Math.floor(j / m)) * n + cells[j % m]!]!);
  const { output, scale } = targetOutput(pr.target.name);
  const loss = new TargetLoss(
    kind,
    output,
    t0 - s0,
    len,
    (t, i) => pr.target.obs[(s0 + t) * n + cells[i]!]!,
    m,
    undefined,
    scale,
  );
  const { P, PET, T } = pr.forcing;
  const { gradient } = vic3lWithGradient(
    p as never,
    { P: sub(P), PET: sub(PET), T: T && sub(T) },
    len,
    loss,
    { dt: pr.dt },
  );
  return { f: loss.value, g: gradient, params: p };
}

describe('dPL minibatches on the model pool', () => {
  let pool: ModelPool;
  beforeAll(async () => {
    pool = await ModelPool.create(pr, 2);
  }, 60_000);
  afterAll(() => pool.close());

  it('a window on listed cells gives the objective and gradient of the calling thread, a block with none of them included', () => {
    // cells from both halves, shuffled; then cells of the first worker's block only
    const cases = [
      [37, 3, 20, 43, 11, 0, 29],
      [1, 5, 2],
    ];
    for (const cells of cases)
      for (const kind of ['spatial-rmse', 'cell-mse'] as const) {
        const want = localWindow(cells, kind, 200, 380, 410);
        const got = pool.windowLossGrad(cells, want.params as never, kind, 200, 380, 410);
        expect(Math.abs(got.f - want.f) / want.f).toBeLessThan(1e-12);
        for (const name of pr.calibrated)
          cells.forEach((_, i) =>
            expect(Math.abs(got.g[name][i]! - want.g[name][i]!)).toBeLessThanOrEqual(
              1e-10 * Math.max(1e-6, Math.abs(want.g[name][i]!)),
            ),
          );
      }
  });

  it('dPL trained on the pool is reproducible and learns as on one thread', { timeout: 60_000 }, async () => {
    const compute = await computeHandle();
    const base = { compute, progress: () => undefined, cancelled: () => false };
    const o = methodOptions('dpl', 'gridded', { epochs: 2, batchCells: 16, window: 30, warmup: 60 });
    const a = await runMethod('gridded', 'dpl', pr, o, 3, { ...base, sim: new LocalSimulator(pr) });
    const b = await runMethod('gridded', 'dpl', pr, o, 3, { ...base, sim: pool });
    const c = await runMethod('gridded', 'dpl', pr, o, 3, { ...base, sim: pool });
    // same thread count: the same sums in the same order, so the same fields
    expect(c.fields).toEqual(b.fields);
    // the pool sums the spatial RMSE block by block: rounding-level gradient differences, which
    // Adam's normalised steps carry into the weights, so the runs agree in what they learn
    const va = a.info.bestValid as number;
    const vb = b.info.bestValid as number;
    expect(Math.abs(vb - va) / va).toBeLessThan(0.02);
  });
});

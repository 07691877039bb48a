import { describe, expect, it } from 'vitest';
import { AutoClip } from '../../../../src-main/services/calibration/optim/autoClip';
import { LocalSimulator } from '../../../../src-main/services/calibration/gridded/simulator';
import { computeHandle } from '../../../../src-main/services/compute';
import { methodOptions, runMethod } from '../../../../src-main/services/calibration/registry';
import { makeTwin } from '../../../../src-main/services/calibration/twin/generate';

const norm = (g: Float64Array[]) => Math.hypot(...g.flatMap((a) => Array.from(a)));
/** The norm a spike of 1000 is clipped to after the norms `hist`, at percentile p. */
const limit = (hist: number[], p: number) => 1000 * new AutoClip(p, hist).clip([Float64Array.of(1000)]);

describe('AutoClip (Seetharaman et al. 2020)', () => {
  it("clips to the nearest-rank percentile of the norms so far, this step's included", () => {
    const hist = [5, 1, 4, 2, 3, 9, 8, 7, 6];
    // ten norms with a spike of 1000: the 10th percentile is the 1st smallest, the 50th the 5th, the 55th the 6th
    expect(limit(hist, 10)).toBeCloseTo(1, 12);
    expect(limit(hist, 50)).toBeCloseTo(5, 12);
    expect(limit(hist, 55)).toBeCloseTo(6, 12);
    // the 100th percentile is the spike itself: not clipped; nor is a first step
    expect(limit(hist, 100)).toBe(1000);
    expect(limit([], 10)).toBe(1000);
  });

  it('scales a spike down to the percentile of the norms so far, keeps its direction, leaves the usual steps alone', () => {
    const clip = new AutoClip(50);
    // norms 1, 2 (clipped to the lower median 1), 0.5
    expect(clip.clip([Float64Array.of(1, 0)])).toBe(1);
    expect(clip.clip([Float64Array.of(0, 2)])).toBe(0.5); // median of [1, 2] (lower) = 1
    expect(clip.clip([Float64Array.of(0.5)])).toBe(1);
    // a spike of norm 1000 (3, 4 scaled): history [1, 2, 0.5, 1000], lower median 1
    const g = [Float64Array.of(600), Float64Array.of(800)];
    const f = clip.clip(g);
    expect(f).toBeCloseTo(1 / 1000, 15);
    expect(norm(g)).toBeCloseTo(1, 12);
    expect(g[0]![0]! / g[1]![0]!).toBeCloseTo(0.75, 12);
    // the raw norms are recorded, not the clipped ones
    expect(clip.history()).toEqual([1, 2, 0.5, 1000]);
  });

  it('100 never clips; a non-finite gradient is refused (0) and not recorded; a huge finite one is clipped', () => {
    const none = new AutoClip(100);
    for (const x of [1, 5, 1e6]) expect(none.clip([Float64Array.of(x)])).toBe(1);
    const c = new AutoClip(10, [1, 2, 3]);
    expect(c.clip([Float64Array.of(Number.NaN, 1)])).toBe(0);
    expect(c.clip([Float64Array.of(Number.POSITIVE_INFINITY)])).toBe(0);
    expect(c.history()).toEqual([1, 2, 3]);
    // 1e200: its square overflows, its norm does not
    const g = [Float64Array.of(3e200, 4e200)];
    expect(c.clip(g)).toBeCloseTo(1 / 5e200, 210);
    expect(norm(g)).toBeCloseTo(1, 12);
    expect(c.history().slice(0, 3)).toEqual([1, 2, 3]);
    expect(c.history()[3]! / 5e200).toBeCloseTo(1, 12);
  });

  it('remembers the most recent norms only, oldest dropped first; the percentile is over those', () => {
    const c = new AutoClip(50, [9, 9, 9], 4);
    expect(c.clip([Float64Array.of(1)])).toBe(1); // [9, 9, 9, 1]: lower median 9
    expect(c.clip([Float64Array.of(1)])).toBe(1); // [9, 9, 1, 1]
    expect(c.clip([Float64Array.of(1)])).toBe(1); // [9, 1, 1, 1]
    expect(c.history()).toEqual([9, 1, 1, 1]);
    // [1, 1, 1, 3]: lower median 1, so 3 is clipped to 1 (with the first 9s kept it would not be)
    expect(c.clip([Float64Array.of(3)])).toBeCloseTo(1 / 3, 15);
    expect(c.history()).toEqual([1, 1, 1, 3]);
    // a history longer than kept is cut to its newest entries
    expect(new AutoClip(50, [5, 6, 7, 8, 9], 2).history()).toEqual([8, 9]);
  });

  it('percentile ranks are exact for integer percentiles (7 % of 100 is the 7th value)', () => {
    const hist = Array.from({ length: 99 }, (_, i) => i + 1);
    expect(limit(hist, 7)).toBeCloseTo(7, 12);
    expect(limit(hist, 10)).toBeCloseTo(10, 12);
    expect(limit(hist, 99)).toBeCloseTo(99, 12);
  });

  it(
    'dPL resumed from a checkpoint clips as the uninterrupted run: the same fields',
    { timeout: 60_000 },
    async () => {
      const twin = makeTwin({ rows: 6, cols: 8, seed: 7, years: { warmup: 1, train: 1, valid: 1, test: 1 } });
      const pr = twin.problem;
      const compute = await computeHandle();
      const o = methodOptions('dpl', 'gridded', { epochs: 4, batchCells: 16, window: 30, warmup: 60 });
      const checkpoints: Array<{ iteration: number; norms: number[] }> = [];
      const ctx = (resume?: unknown) => ({
        compute,
        progress: () => undefined,
        cancelled: () => false,
        sim: new LocalSimulator(pr),
        checkpoint: (s: unknown) =>
          checkpoints.push(structuredClone(s) as { iteration: number; norms: number[] }),
        resume,
      });
      const full = await runMethod('gridded', 'dpl', pr, o, 3, ctx());
      const at2 = checkpoints.find((c) => c.iteration === 2)!;
      // every step's norm is in the state: 3 minibatches of 16 cells x the windows, per epoch
      const steps = 3 * (full.info.windows as number);
      expect(steps).toBe(3 * 12);
      expect(at2.norms).toHaveLength(2 * steps);
      expect(checkpoints.at(-1)!.norms).toHaveLength(4 * steps);
      const resumed = await runMethod('gridded', 'dpl', pr, o, 3, ctx(at2));
      // the fields are the best epoch's, which may come before the resume: the last epoch's loss too
      expect(resumed.fields).toEqual(full.fields);
      expect(resumed.info.lastTrain).toBe(full.info.lastTrain);
      // a checkpoint written before AutoClip (no norms) goes on unclipped, as the run began
      const { norms: _n, ...before } = at2;
      const old = await runMethod('gridded', 'dpl', pr, o, 3, ctx(before));
      const off = await runMethod('gridded', 'dpl', pr, { ...o, clipPercentile: 100 }, 3, ctx(at2));
      expect(old.fields).toEqual(off.fields);
      expect(old.info.lastTrain).toBe(off.info.lastTrain);
      expect(old.info.lastTrain).not.toBe(full.info.lastTrain);
      // clipping changes the training: without it the fields differ
      const unclipped = await runMethod('gridded', 'dpl', pr, { ...o, clipPercentile: 100 }, 3, ctx());
      expect(unclipped.info.lastTrain).not.toBe(full.info.lastTrain);
    },
  );
});

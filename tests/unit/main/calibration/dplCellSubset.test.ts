import { describe, expect, it } from 'vitest';
import { buildLstm, lstmBackward, lstmForward } from '../../../../src-main/services/calibration/nets/lstm';
import { buildMlp, mlpBackward, mlpForward } from '../../../../src-main/services/calibration/nets/mlp';
import { mulberry32 } from '../../../../src-main/services/calibration/random';

/**
 * dPL through an LSTM surrogate runs its network on a step's cells alone, in ascending order
 * (methods/dpl/index.ts): that is the whole grid's step only if the cells' rows are independent and
 * the other cells' zero output gradients add nothing to the weights' gradients. Both networks are
 * checked to the last bit, with output gradients at every cell of the subset.
 */
describe("dPL's networks on a subset of cells give the whole batch's rows and weight gradients", () => {
  const batch = 11;
  const subset = [1, 4, 5, 9];
  const rand = mulberry32(3);
  const gSub = Float64Array.from({ length: subset.length * 3 }, () => rand() - 0.5);
  /** The subset's output gradients at their rows of the whole batch, zero elsewhere. */
  const gAll = new Float64Array(batch * 3);
  subset.forEach((c, i) => gAll.set(gSub.subarray(i * 3, i * 3 + 3), c * 3));
  const rowsOf = (a: Float64Array, width: number, rows: number[]) =>
    rows.flatMap((r) => Array.from(a.subarray(r * width, (r + 1) * width)));

  it('g_z, the LSTM over each cell history', () => {
    const nIn = 4;
    const steps = 7;
    const net = buildLstm(nIn, 6, 3, 42);
    const x = Float64Array.from({ length: batch * steps * nIn }, () => 2 * rand() - 1);
    const xSub = Float64Array.from(rowsOf(x, steps * nIn, subset));
    const whole = lstmForward(net, x, batch, steps);
    const part = lstmForward(net, xSub, subset.length, steps);
    expect(Array.from(part.out)).toEqual(rowsOf(whole.out, 3, subset));
    const gWhole = lstmBackward(net, whole, gAll);
    const gPart = lstmBackward(net, part, gSub);
    expect(gPart.map((a) => Array.from(a))).toEqual(gWhole.map((a) => Array.from(a)));
    // the gradients are not all zero: the comparison has something to compare
    expect(gPart.every((a) => a.some((v) => v !== 0))).toBe(true);
  });

  it('g_A, the MLP from each cell descriptors', () => {
    const nd = 5;
    const net = buildMlp([nd, 8, 8, 3], 7);
    const x = Float64Array.from({ length: batch * nd }, () => 2 * rand() - 1);
    const xSub = Float64Array.from(rowsOf(x, nd, subset));
    const whole = mlpForward(net, x, batch);
    const part = mlpForward(net, xSub, subset.length);
    expect(Array.from(part.out)).toEqual(rowsOf(whole.out, 3, subset));
    const gWhole = mlpBackward(net, whole.acts, gAll, batch);
    const gPart = mlpBackward(net, part.acts, gSub, subset.length);
    expect([...gPart.gw, ...gPart.gb].map((a) => Array.from(a))).toEqual(
      [...gWhole.gw, ...gWhole.gb].map((a) => Array.from(a)),
    );
    expect(gPart.gw.every((a) => a.some((v) => v !== 0))).toBe(true);
  });
});

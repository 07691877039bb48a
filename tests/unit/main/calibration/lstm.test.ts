import { describe, expect, it } from 'vitest';
import {
  buildLstm,
  lstmBackward,
  lstmForward,
  lstmParams,
} from '../../../../src-main/services/calibration/nets/lstm';
import { mulberry32 } from '../../../../src-main/services/calibration/random';

describe('dPL g_z LSTM', () => {
  const nIn = 4;
  const batch = 3;
  const steps = 9;
  const net = buildLstm(nIn, 5, 2, 42);
  const rand = mulberry32(7);
  const x = Float64Array.from({ length: batch * steps * nIn }, () => 2 * rand() - 1);
  const w = Float64Array.from({ length: batch * 2 }, () => rand() - 0.5);
  const loss = () => {
    const { out } = lstmForward(net, x, batch, steps);
    return out.reduce((s, v, i) => s + w[i]! * v, 0);
  };

  it('starts with the forget gate open and outputs in (0, 1)', () => {
    expect(Array.from(net.b.subarray(5, 10))).toEqual([1, 1, 1, 1, 1]);
    for (const v of lstmForward(net, x, batch, steps).out) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
  });

  it('backpropagation through time matches central finite differences for every weight array', () => {
    const grads = lstmBackward(net, lstmForward(net, x, batch, steps), w);
    lstmParams(net).forEach((p, a) => {
      for (const i of [0, Math.floor(p.length / 2), p.length - 1]) {
        const v = p[i]!;
        p[i] = v + 1e-6;
        const lp = loss();
        p[i] = v - 1e-6;
        const lm = loss();
        p[i] = v;
        const fd = (lp - lm) / 2e-6;
        const g = grads[a]![i]!;
        expect(Math.abs(fd - g), `array ${a} index ${i}: ${g} vs ${fd}`).toBeLessThan(
          1e-7 + 1e-5 * Math.abs(fd),
        );
      }
    });
  });

  it('depends on the order of the sequence (it is recurrent, not a bag of steps)', () => {
    const a = lstmForward(net, x, batch, steps).out;
    const rev = new Float64Array(x.length);
    for (let i = 0; i < batch; i++)
      for (let t = 0; t < steps; t++)
        rev.set(
          x.subarray((i * steps + t) * nIn, (i * steps + t + 1) * nIn),
          (i * steps + steps - 1 - t) * nIn,
        );
    const b = lstmForward(net, rev, batch, steps).out;
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-4);
  });
});

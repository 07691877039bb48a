import { describe, expect, it } from 'vitest';
import { initialState, runGr4, unitHydrographs } from '../../../../src-main/services/physics/gr4/forward';
import { kge, nse } from '../../../../src-main/services/metrics';
import { readBasinObs } from '../../../helpers/airgr';

const AIRGR = { X1: 257.237556, X2: 1.012237, X3: 88.234673, X4: 2.207958 };

describe('GR4J as airGR defines it', () => {
  it('reproduces airGR on L0123001: NSE 0.7988 and KGE 0.7854 over 1990-1999 after a 1989 warm-up', () => {
    const d = readBasinObs();
    const i0 = d.dates.indexOf('1989-01-01');
    const i1 = d.dates.indexOf('1990-01-01');
    const i2 = d.dates.indexOf('1999-12-31');
    const state = initialState(AIRGR.X1, AIRGR.X3);
    const out = runGr4(AIRGR, d.P.subarray(i0, i2 + 1), d.E.subarray(i0, i2 + 1), state);
    const sim = out.Q.subarray(i1 - i0);
    const obs = d.Qmm.subarray(i1, i2 + 1);
    expect(sim.length).toBe(3652);
    expect(Math.abs(nse(obs, sim).value - 0.7988)).toBeLessThanOrEqual(0.0005);
    expect(Math.abs(kge(obs, sim).value - 0.7854)).toBeLessThanOrEqual(0.0005);
  });

  it('unit hydrograph ordinates sum to one', () => {
    for (const x4 of [0.6, 1.7, 2.207958, 7.3, 19.5]) {
      const { uh1, uh2 } = unitHydrographs(x4);
      expect(uh1.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
      expect(uh2.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    }
  });

  it('closes the water balance: P - AE + exchange = Q + storage change', () => {
    const d = readBasinObs();
    const P = d.P.subarray(0, 2000);
    const E = d.E.subarray(0, 2000);
    const s = initialState(AIRGR.X1, AIRGR.X3);
    // water still in the unit hydrographs: element 0 is what left them this step (airGR keeps it in place)
    const inUh = (st: typeof s) =>
      st.uh1.subarray(1).reduce((a, b) => a + b, 0) + st.uh2.subarray(1).reduce((a, b) => a + b, 0);
    const store0 = s.S + s.R + inUh(s);
    const out = runGr4(AIRGR, P, E, s);
    const store1 = s.S + s.R + inUh(s);
    const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);
    const inflow = sum(P) - sum(out.AE) + sum(out.Exch);
    const balance = inflow - sum(out.Q) - (store1 - store0);
    expect(Math.abs(balance) / sum(P)).toBeLessThan(1e-9);
  });

  it('refuses bad parameters and forcing with typed errors', () => {
    const s = initialState(300, 90);
    expect(() => runGr4({ ...AIRGR, X1: Number.NaN }, [1], [1], s)).toThrow(/X1/);
    expect(() => runGr4({ ...AIRGR, X3: -1 }, [1], [1], s)).toThrow(/X3 > 0/);
    expect(() => runGr4(AIRGR, [1, -2], [1, 1], s)).toThrow(/step 1/);
    expect(() => runGr4(AIRGR, [1, Number.NaN], [1, 1], s)).toThrow(/missing or negative/);
  });
});

import { describe, expect, it } from 'vitest';
import { gr4WithGradient } from '../../../../src-main/services/physics/gr4/adjoint';
import {
  initialState,
  runGr4,
  type Gr4Params,
  type Gr4State,
} from '../../../../src-main/services/physics/gr4/forward';
import { readBasinObs } from '../../../helpers/airgr';

const d = readBasinObs();
const i0 = d.dates.indexOf('1990-01-01');
const P = d.P.subarray(i0, i0 + 730);
const E = d.E.subarray(i0, i0 + 730);

function loss(p: Gr4Params, s: Gr4State, w: Float64Array, v: Float64Array): number {
  const st = { S: s.S, R: s.R, uh1: Float64Array.from(s.uh1), uh2: Float64Array.from(s.uh2) };
  const o = runGr4(p, P, E, st);
  let l = 0;
  for (let t = 0; t < P.length; t++) l += w[t]! * o.Q[t]! + v[t]! * o.AE[t]!;
  return l;
}

describe('GR4J adjoint', () => {
  it.each([1, 2, 3, 4, 5])(
    'matches central finite differences for X1..X4 and the initial stores (case %i)',
    (seed) => {
      let s = seed * 7919;
      const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
      const p: Gr4Params = {
        X1: 100 + 900 * rand(),
        X2: -3 + 5 * rand(),
        X3: 20 + 250 * rand(),
        X4: 1.1 + 3 * rand(),
      };
      const state = initialState(p.X1, p.X3);
      const w = Float64Array.from(P, () => rand() - 0.3);
      const v = Float64Array.from(P, () => rand() - 0.5);
      const { gradient } = gr4WithGradient(
        p,
        P,
        E,
        { ...state, uh1: Float64Array.from(state.uh1), uh2: Float64Array.from(state.uh2) },
        w,
        v,
      );
      const fd = (f: (h: number) => number, x: number) => {
        const h = 1e-6 * Math.max(1, Math.abs(x));
        return (f(h) - f(-h)) / (2 * h);
      };
      const checks: Array<[string, number, number]> = [
        ...(['X1', 'X2', 'X3', 'X4'] as const).map((k): [string, number, number] => [
          k,
          gradient[k],
          fd((h) => loss({ ...p, [k]: p[k] + h }, state, w, v), p[k]),
        ]),
        ['S0', gradient.S0, fd((h) => loss(p, { ...state, S: state.S + h }, w, v), state.S)],
        ['R0', gradient.R0, fd((h) => loss(p, { ...state, R: state.R + h }, w, v), state.R)],
      ];
      for (const [name, adj, num] of checks) {
        const rel = Math.abs(adj - num) / Math.max(Math.abs(num), 1e-8);
        expect(rel, `${name}: adjoint ${adj} vs FD ${num}`).toBeLessThan(1e-4);
      }
    },
  );

  it('returns the same outputs as the plain forward run', () => {
    const p = { X1: 257.237556, X2: 1.012237, X3: 88.234673, X4: 2.207958 };
    const a = runGr4(p, P, E, initialState(p.X1, p.X3));
    const b = gr4WithGradient(p, P, E, initialState(p.X1, p.X3), new Float64Array(P.length)).outputs;
    expect(Array.from(b.Q)).toEqual(Array.from(a.Q));
  });
});

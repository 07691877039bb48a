import { describe, expect, it } from 'vitest';
import { cnAt, cnDry, cnWet, runCnCell, scsRunoff } from '../../../../src-main/services/physics/cn/kernel';
import { CN } from '../../../../src-main/services/physics/cn/structure';
import { runCnLrDetailed, type CnLrParams } from '../../../../src-main/services/physics/cnlr';
import { STRUCTURES } from '../../../../src-main/services/physics/registry';
import { buildNetwork } from '../../../../src-main/services/physics/routing/lr';
import { mulberry32 } from '../../../../src-main/services/common/random';

const IN = 25.4;

describe('SCS Curve Number runoff (NRCS 2004, NEH-630 ch. 10)', () => {
  it('gives the runoff depths of NEH-630 table 10-1 (inches, rounded to 0.01)', () => {
    // rainfall (in), CN, runoff (in) from the table
    const table: Array<[number, number, number]> = [
      [4.0, 75, 1.67],
      [2.0, 80, 0.56],
      [3.0, 90, 1.98],
      [1.0, 98, 0.79],
      [6.0, 60, 1.92],
    ];
    for (const [p, cn, q] of table) expect(scsRunoff(p * IN, cn) / IN).toBeCloseTo(q, 2);
  });

  it('gives no runoff below the initial abstraction 0.2 S', () => {
    // CN 70: S = 25400/70 - 254 = 108.857 mm, Ia = 21.77 mm
    expect(scsRunoff(21.7, 70)).toBe(0);
    expect(scsRunoff(22, 70)).toBeGreaterThan(0);
    expect(scsRunoff(100, 100)).toBeCloseTo(100, 12);
  });

  it('converts AMC II to AMC I and III close to NEH-630 table 10-1 and interpolates in wetness', () => {
    // table 10-1: CN II 75 -> I 57, III 88; CN II 50 -> I 31, III 70 (Chow et al. 1988's formulas within 2)
    expect(Math.abs(cnDry(75) - 57)).toBeLessThan(2);
    expect(Math.abs(cnWet(75) - 88)).toBeLessThan(2);
    expect(Math.abs(cnDry(50) - 31)).toBeLessThan(2);
    expect(Math.abs(cnWet(50) - 70)).toBeLessThan(2);
    expect(cnAt(75, 0)).toBeCloseTo(cnDry(75), 12);
    expect(cnAt(75, 0.5)).toBeCloseTo(75, 12);
    expect(cnAt(75, 1)).toBeCloseTo(cnWet(75), 12);
  });

  it('is registered as a structure with defaults inside their bounds and sources', () => {
    expect(STRUCTURES.cn).toBe(CN);
    expect(CN.parameters.map((p) => p.name)).toEqual(['CN', 'Ks', 'Smax', 'kg']);
    for (const p of CN.parameters) {
      expect(p.default).toBeGreaterThanOrEqual(p.bounds[0]);
      expect(p.default).toBeLessThanOrEqual(p.bounds[1]);
      expect(p.source.length).toBeGreaterThan(10);
    }
  });
});

describe('CN + lr water balance', () => {
  const rand = mulberry32(19);
  const steps = 400;
  const forcing = (n: number) => {
    const P = new Float64Array(steps * n);
    const E = new Float64Array(steps * n);
    for (let i = 0; i < P.length; i++) {
      P[i] = rand() < 0.3 ? 60 * rand() ** 2 : 0;
      E[i] = 1 + 4 * rand();
    }
    return { P, E };
  };

  it('closes for one cell: P = AE + Q + ΔW + ΔG', () => {
    const { P, E } = forcing(1);
    for (const p of [
      { CN: 85, Ks: 2, Smax: 60, kg: 10 },
      { CN: 40, Ks: 100, Smax: 400, kg: 200 },
    ]) {
      const r = runCnCell(p, P, E, steps, 86400);
      const t = r.totals;
      const residual = t.P - t.AE - t.Q - (r.W - r.W0) - (r.G - r.G0);
      expect(Math.abs(residual) / t.P).toBeLessThan(1e-12);
      expect(t.Q).toBeCloseTo(t.direct + t.overflow + t.base, 9);
      expect(t.base).toBeGreaterThan(0);
      // CN 85 on storms up to 60 mm makes direct runoff; CN 40 (Ia = 76 mm) none
      expect(t.direct > 0).toBe(p.CN === 85);
    }
  });

  it('closes over a routed network: rain = ET + outflow + soil, groundwater and channel storage', () => {
    // 4 x 4 grid draining east then south to the corner (D8_OFFSETS index: 2 east, 4 south)
    const rows = 4;
    const cols = 4;
    const dir = new Int8Array(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) dir[r * cols + c] = c < cols - 1 ? 2 : r < rows - 1 ? 4 : -1;
    const net = buildNetwork({ rows, cols, dir, mask: null, cellSizeM: 1000 });
    const n = net.cells;
    const { P, E } = forcing(n);
    const f = (lo: number, hi: number) => Float64Array.from({ length: n }, () => lo + (hi - lo) * rand());
    const p: CnLrParams = { CN: f(40, 95), Ks: f(1, 80), Smax: f(50, 400), kg: f(2, 100), llr: f(30, 1500) };
    const dt = 86400;
    const r = runCnLrDetailed(net, p, P, E, steps, dt);
    const mm = net.areaM2 * 1e-3; // m³ per mm over a cell
    let rain = 0;
    let et = 0;
    let stored = 0;
    for (let c = 0; c < n; c++) {
      rain += r.P[c]! * mm;
      et += r.AE[c]! * mm;
      stored += (r.dS[c]! + r.h[c]!) * mm;
    }
    let out = 0;
    for (let c = 0; c < n; c++)
      if (net.down[c] === -1) for (let t = 0; t < steps; t++) out += r.q[t * n + c]! * dt;
    expect(Array.from(net.down).filter((d) => d < 0)).toHaveLength(1);
    expect(Math.abs(rain - et - out - stored) / rain).toBeLessThan(1e-9);
    expect(out / rain).toBeGreaterThan(0.05);
  });

  it('refuses a curve number outside (0, 100], naming the cell', () => {
    const net = buildNetwork({ rows: 1, cols: 2, dir: Int8Array.from([2, -1]), mask: null, cellSizeM: 1000 });
    const one = (v: number) => Float64Array.from([v, v]);
    const p: CnLrParams = {
      CN: Float64Array.from([70, 120]),
      Ks: one(5),
      Smax: one(100),
      kg: one(10),
      llr: one(60),
    };
    expect(() => runCnLrDetailed(net, p, new Float64Array(4), new Float64Array(4), 2, 86400)).toThrow(
      /cell 1: CN = 120/,
    );
  });
});

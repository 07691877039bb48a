import { describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import {
  runVic3l,
  vic3lWithGradient,
  VIC3L,
  VIC3L_CONSTANTS,
  VIC3L_OUTPUTS,
  VIC3L_PARAMS,
  type Vic3lForcing,
  type Vic3lParams,
} from '../../../../src-main/services/physics/vic3l';
import { STRUCTURES } from '../../../../src-main/services/physics/registry';

function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** Random parameter fields inside the bounds (kept 10 % away from them for finite differences). */
function randomParams(n: number, seed: number): Record<(typeof VIC3L_PARAMS)[number], Float64Array> {
  const rand = lcg(seed);
  const out = {} as Record<(typeof VIC3L_PARAMS)[number], Float64Array>;
  for (const spec of VIC3L.parameters) {
    const [lo, hi] = spec.bounds;
    out[spec.name as (typeof VIC3L_PARAMS)[number]] = Float64Array.from(
      { length: n },
      () => lo + (hi - lo) * (0.1 + 0.8 * rand()),
    );
  }
  return out;
}

/** A wet-and-dry daily climate with a cold season: rain on ~45 % of days, heavy tails, snow in winter. */
function randomForcing(n: number, steps: number, seed: number, rainScale = 40): Required<Vic3lForcing> {
  const rand = lcg(seed);
  return {
    P: Float64Array.from({ length: n * steps }, () => (rand() < 0.55 ? 0 : rainScale * rand() ** 2)),
    PET: Float64Array.from({ length: n * steps }, (_, i) =>
      Math.max(0, 2.5 + 2 * Math.sin(i / n / 58) + rand()),
    ),
    T: Float64Array.from({ length: n * steps }, (_, i) => 6 + 12 * Math.sin(i / n / 58) + 4 * (rand() - 0.5)),
  };
}

describe('vic3l structure table', () => {
  it('declares the seven GAN-PO parameters with sourced defaults inside their bounds, and is registered', () => {
    expect(VIC3L.parameters.map((p) => p.name)).toEqual([...VIC3L_PARAMS]);
    for (const p of VIC3L.parameters) {
      expect(p.default).toBeGreaterThanOrEqual(p.bounds[0]);
      expect(p.default).toBeLessThanOrEqual(p.bounds[1]);
      expect(p.source.length).toBeGreaterThan(10);
    }
    expect(VIC3L.outputs.map((o) => o.name)).toEqual([...VIC3L_OUTPUTS]);
    expect(STRUCTURES.vic3l).toBe(VIC3L);
    expect(STRUCTURES.gr4!.parameters.map((p) => p.name)).toEqual(['X1', 'X2', 'X3', 'X4']);
  });
});

describe('vic3l water balance', () => {
  it('closes for every cell: P = ET + R + Qb + change in storage (snow included), relative error < 1e-9', () => {
    const n = 40;
    const steps = 730;
    const p = randomParams(n, 3);
    const f = randomForcing(n, steps, 5);
    const { outputs, state } = runVic3l(p, f, steps, { initial: 0.5 });
    const mm = 1000 * VIC3L_CONSTANTS.porosity;
    let snowSeen = 0;
    for (let c = 0; c < n; c++) {
      let rain = 0;
      let out = 0;
      for (let t = 0; t < steps; t++) {
        const k = t * n + c;
        rain += f.P[k]!;
        out += outputs.ET![k]! + outputs.R![k]! + outputs.Qb![k]!;
        snowSeen = Math.max(snowSeen, outputs.SWE![k]!);
      }
      const s0 = 0.5 * mm * (VIC3L_CONSTANTS.d1 + p.d2[c]! + p.d3[c]!);
      const s1 = state.W1[c]! + state.W2[c]! + state.W3[c]! + state.SWE[c]!;
      expect(Math.abs(rain - out - (s1 - s0)) / rain).toBeLessThan(1e-9);
      // every flux is physical
      for (let t = 0; t < steps; t++) {
        const k = t * n + c;
        expect(outputs.ET![k]!).toBeGreaterThanOrEqual(0);
        expect(outputs.ET![k]!).toBeLessThanOrEqual(f.PET[k]! + 1e-12);
        expect(outputs.R![k]!).toBeGreaterThanOrEqual(-1e-12);
        expect(outputs.Qb![k]!).toBeGreaterThanOrEqual(0);
        expect(outputs.W1![k]!).toBeLessThanOrEqual(VIC3L_CONSTANTS.d1 * mm + 1e-9);
        expect(outputs.W3![k]!).toBeLessThanOrEqual(p.d3[c]! * mm + 1e-9);
      }
    }
    // the winter is cold enough to build a snow pack, so the snow path is exercised
    expect(snowSeen).toBeGreaterThan(5);
  });

  it('more infiltration-curve shape b gives more surface runoff on the same storm (Liang et al. 1994)', () => {
    const base = randomParams(1, 9);
    const storm = { P: Float64Array.from([0, 60, 0]), PET: new Float64Array(3) };
    const runoff = (b: number) => runVic3l({ ...base, b: [b] }, storm, 3, { initial: 0.6 }).outputs.R![1]!;
    expect(runoff(0.3)).toBeGreaterThan(runoff(0.05));
    expect(runoff(0.05)).toBeGreaterThan(0);
  });
});

describe('vic3l exact adjoint', () => {
  const n = 5;
  const steps = 240;
  const p = randomParams(n, 21);
  const f = randomForcing(n, steps, 22);
  const rand = lcg(23);
  const weights = Object.fromEntries(
    VIC3L_OUTPUTS.map((k) => [k, Float64Array.from({ length: n * steps }, () => rand() - 0.5)]),
  ) as Record<(typeof VIC3L_OUTPUTS)[number], Float64Array>;
  const loss = (q: Vic3lParams) => {
    const { outputs } = runVic3l(q, f, steps);
    let s = 0;
    for (const k of VIC3L_OUTPUTS) {
      const o = outputs[k]!;
      for (let i = 0; i < o.length; i++) s += weights[k][i]! * o[i]!;
    }
    return s;
  };
  const grad = (tapeBytes?: number) =>
    vic3lWithGradient(
      p,
      f,
      steps,
      {
        backward(t, _o, g) {
          for (const k of VIC3L_OUTPUTS) for (let c = 0; c < n; c++) g[k][c] = weights[k][t * n + c]!;
        },
      },
      { tapeBytes },
    );

  it('matches central finite differences for every parameter of every cell (max relative error < 1e-4)', () => {
    const { gradient, segments } = grad();
    expect(segments).toBe(1);
    let worst = 0;
    for (const name of VIC3L_PARAMS) {
      for (let c = 0; c < n; c++) {
        const h = 1e-6 * Math.max(1, Math.abs(p[name][c]!));
        const plus = { ...p, [name]: Float64Array.from(p[name]) };
        plus[name][c]! += h;
        const minus = { ...p, [name]: Float64Array.from(p[name]) };
        minus[name][c]! -= h;
        const fd = (loss(plus) - loss(minus)) / (2 * h);
        const ad = gradient[name][c]!;
        const rel = Math.abs(fd - ad) / Math.max(1e-6, Math.abs(fd), Math.abs(ad));
        worst = Math.max(worst, rel);
        expect(rel, `${name} cell ${c}: adjoint ${ad}, finite differences ${fd}`).toBeLessThan(1e-4);
      }
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('gives the gradient with respect to the initial states', () => {
    const { gradient } = grad();
    const mm = 1000 * VIC3L_CONSTANTS.porosity;
    const init = (dW3: number) => ({
      W1: Float64Array.from({ length: n }, () => 0.5 * VIC3L_CONSTANTS.d1 * mm),
      W2: Float64Array.from(p.d2, (d) => 0.5 * d * mm),
      W3: Float64Array.from(p.d3, (d, c) => 0.5 * d * mm + (c === 2 ? dW3 : 0)),
    });
    const lossAt = (dW3: number) => {
      const { outputs } = runVic3l(p, f, steps, { initial: init(dW3) });
      let s = 0;
      for (const k of VIC3L_OUTPUTS) {
        const o = outputs[k]!;
        for (let i = 0; i < o.length; i++) s += weights[k][i]! * o[i]!;
      }
      return s;
    };
    const fd = (lossAt(1e-4) - lossAt(-1e-4)) / 2e-4;
    expect(Math.abs(fd - gradient.W3_0[2]!) / Math.abs(fd)).toBeLessThan(1e-4);
  });

  it('checkpointing (tape smaller than the run) gives the same gradient as the full tape', () => {
    const full = grad().gradient;
    const cp = grad(7 * n * 8 * 16);
    expect(cp.segments).toBe(15);
    for (const name of VIC3L_PARAMS) {
      for (let c = 0; c < n; c++) expect(cp.gradient[name][c]).toBe(full[name][c]);
    }
  });
});

describe('vic3l precision', () => {
  it('Float32 storage runs the same code and agrees with Float64 to 1e-5 of the largest value', () => {
    const n = 20;
    const steps = 365;
    const p = randomParams(n, 31);
    const f = randomForcing(n, steps, 32);
    const a = runVic3l(p, f, steps, { precision: 'float64' }).outputs;
    const b = runVic3l(p, f, steps, { precision: 'float32' }).outputs;
    expect(b.ET).toBeInstanceOf(Float32Array);
    for (const k of ['ET', 'R', 'Qb', 'W3'] as const) {
      const max = Array.from(a[k]!).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < a[k]!.length; i++) worst = Math.max(worst, Math.abs(a[k]![i]! - b[k]![i]!));
      expect(worst / max).toBeLessThan(1e-5);
    }
  });
});

describe('vic3l input validation', () => {
  const n = 3;
  const steps = 10;
  const p = randomParams(n, 41);
  const f = randomForcing(n, steps, 42);
  const refuse = (fn: () => unknown, field: string, pattern: RegExp) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FieldcalError);
    expect((err as FieldcalError).code).toBe('VALIDATION');
    expect((err as FieldcalError).details).toMatchObject({ field });
    expect((err as FieldcalError).message).toMatch(pattern);
  };
  it('refuses parameters out of bounds, NaN or of the wrong size, naming the parameter and cell', () => {
    refuse(() => runVic3l({ ...p, b: [0.2, 0.9, 0.1] }, f, steps), 'b', /cell 1 is 0\.9, outside/);
    refuse(() => runVic3l({ ...p, Ws: [0.5, 0.5, NaN] }, f, steps), 'Ws', /cell 2 is NaN/);
    refuse(() => runVic3l({ ...p, d3: [1, 1] }, f, steps), 'd3', /2 values for 3 cells/);
  });
  it('refuses NaN or negative forcing and forcing of the wrong length, naming step and cell', () => {
    const P = Float64Array.from(f.P);
    P[2 * n + 1] = -1;
    refuse(() => runVic3l(p, { ...f, P }, steps), 'P', /negative \(-1\) at step 2, cell 1/);
    const PET = Float64Array.from(f.PET);
    PET[4] = NaN;
    refuse(() => runVic3l(p, { ...f, PET }, steps), 'PET', /not a number/);
    refuse(() => runVic3l(p, { ...f, T: new Float64Array(5) }, steps), 'T', /expected 10 x 3/);
    refuse(() => vic3lWithGradient(p, { ...f, P }, steps, { backward: () => {} }), 'P', /negative/);
  });
});

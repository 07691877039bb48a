import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../src-main/services/common/random';
import { nativePhysics, setPhysicsThreads } from '../../../../src-main/services/physics/native';
import { gr4LrWithGradient, runGr4Lr, type Gr4LrParams } from '../../../../src-main/services/physics/gr4lr';
import { gr4WithGradient } from '../../../../src-main/services/physics/gr4/adjoint';
import { initialState, runGr4 } from '../../../../src-main/services/physics/gr4/forward';
import {
  buildNetwork,
  routeLr,
  routeLrWithGradient,
  type RoutingNetwork,
} from '../../../../src-main/services/physics/routing/lr';
import {
  VIC3L,
  VIC3L_OUTPUTS,
  runVic3l,
  vic3lWithGradient,
  type StepView,
  type Vic3lLoss,
  type Vic3lParams,
} from '../../../../src-main/services/physics/vic3l';

// The native kernels (native/src/physics.cc) against the JavaScript ones (the reference): the same
// operations in the same order with no fused multiply-adds, so only libm's tanh/exp/log/pow (glibc
// against V8's fdlibm ports, within an ulp or two) separate them. Bound: 1e-12 relative to the
// largest magnitude of each output; gradients compared the same way. vic3l's stated bound is wider:
// its VIC curve and drainage terms are differences of quantities of the layers' capacity (hundreds
// of mm), so an ulp of exp/log there is ~1e-13 mm in a flux of a few mm, and it builds up over the
// run as water moves between layers. Forward: 1e-12 relative to the run's largest water quantity
// (mm); gradients: 1e-10 relative to each gradient's largest component.
const TOL = 1e-12;
const VIC_GRAD_TOL = 1e-10;
const native = nativePhysics();

/** Runs `f` on the JavaScript kernels (FIELDCAL_NATIVE_PHYSICS=0) and returns its result. */
function onJs<T>(f: () => T): T {
  const before = process.env.FIELDCAL_NATIVE_PHYSICS;
  process.env.FIELDCAL_NATIVE_PHYSICS = '0';
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.FIELDCAL_NATIVE_PHYSICS;
    else process.env.FIELDCAL_NATIVE_PHYSICS = before;
  }
}

/** max |a - b| / max |a| (0 when both are all zeros). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, scale = 0): number {
  expect(b.length).toBe(a.length);
  let d = 0;
  let m = scale;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(a[i]!));
  }
  expect(Number.isFinite(d)).toBe(true);
  return m === 0 ? d : d / m;
}

/** A random D8 grid (every cell drains to a random neighbour or out) with a few masked cells. */
function randomNetwork(rnd: () => number, rows: number, cols: number): RoutingNetwork {
  // directions towards a lower "elevation" (a random tilted surface): no loops
  const z = Float64Array.from(
    { length: rows * cols },
    (_, i) => Math.floor(i / cols) + (i % cols) + 3 * rnd(),
  );
  const dir = new Int8Array(rows * cols).fill(-1);
  const offs = [
    [0, 1],
    [1, 1],
    [1, 0],
    [1, -1],
    [0, -1],
    [-1, -1],
    [-1, 0],
    [-1, 1],
  ];
  // decodeD8 index order: E, SE, S, SW, W, NW, N, NE (grid/flowdir D8_OFFSETS)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let best = -1;
      let bz = z[r * cols + c]!;
      offs.forEach(([dr, dc], k) => {
        const rr = r + dr!;
        const cc = c + dc!;
        if (rr < 0 || rr >= rows || cc < 0 || cc >= cols) return;
        if (z[rr * cols + cc]! < bz) {
          bz = z[rr * cols + cc]!;
          best = k;
        }
      });
      dir[r * cols + c] = best;
    }
  }
  const mask = Uint8Array.from({ length: rows * cols }, () => (rnd() < 0.9 ? 1 : 0));
  return buildNetwork({ rows, cols, dir, mask, cellSizeM: 1000 });
}

function gr4Case(seed: number, steps: number) {
  const rnd = mulberry32(seed);
  const net = randomNetwork(rnd, 7, 9);
  const n = net.cells;
  const u = (lo: number, hi: number) => Float64Array.from({ length: n }, () => lo + (hi - lo) * rnd());
  const p: Gr4LrParams = {
    X1: u(50, 1500),
    X2: u(-5, 3),
    X3: u(10, 400),
    X4: u(0.6, 6),
    llr: u(5, 600),
  };
  // rain on ~40 % of steps, heavy tails; PET 0-6 mm
  const P = Float64Array.from({ length: steps * n }, () => (rnd() < 0.4 ? -15 * Math.log(1 - rnd()) : 0));
  const E = Float64Array.from({ length: steps * n }, () => 6 * rnd());
  return { net, n, p, P, E };
}

describe.skipIf(!native)('native physics kernels agree with the JavaScript kernels', () => {
  afterEach(() => {
    setPhysicsThreads(1);
  });

  it('gr4 + lr forward and gradient, daily and hourly, 1 and 2 threads', () => {
    for (const [seed, dt, steps] of [
      [1, 86400, 300],
      [2, 3600, 200],
    ] as const) {
      const { net, n, p, P, E } = gr4Case(seed, steps);
      const jsQ = onJs(() => runGr4Lr(net, p, P, E, steps, dt));
      const gQ = (q: Float64Array) => q.map((x, i) => (i % 3 === 0 ? 2 * x : x * 1e-3));
      const jsG = onJs(() => gr4LrWithGradient(net, p, P, E, steps, dt, gQ));
      for (const threads of [1, 2]) {
        setPhysicsThreads(threads);
        const q = runGr4Lr(net, p, P, E, steps, dt);
        expect(relErr(jsQ, q)).toBeLessThan(TOL);
        const g = gr4LrWithGradient(net, p, P, E, steps, dt, gQ);
        expect(relErr(jsG.q, g.q)).toBeLessThan(TOL);
        for (const k of ['X1', 'X2', 'X3', 'X4', 'llr'] as const) {
          expect(relErr(jsG.gradient[k], g.gradient[k])).toBeLessThan(TOL);
        }
      }
      // a real signal: discharge flows, and every parameter has a gradient somewhere
      expect(Math.max(...jsQ)).toBeGreaterThan(0.1);
      expect(n).toBeGreaterThan(40);
    }
  });

  it('lumped GR4J forward and adjoint with gAE, dL/dP and a loss function', () => {
    const rnd = mulberry32(7);
    const steps = 700;
    const P = Float64Array.from({ length: steps }, () => (rnd() < 0.45 ? -12 * Math.log(1 - rnd()) : 0));
    const E = Float64Array.from({ length: steps }, () => 5 * rnd());
    const gAE = Float64Array.from({ length: steps }, () => rnd() - 0.5);
    for (let k = 0; k < 5; k++) {
      const p = { X1: 50 + 1500 * rnd(), X2: -5 + 8 * rnd(), X3: 10 + 400 * rnd(), X4: 0.6 + 8 * rnd() };
      const js = onJs(() => runGr4(p, P, E, initialState(p.X1, p.X3)));
      const nat = runGr4(p, P, E, initialState(p.X1, p.X3));
      for (const o of ['Q', 'AE', 'Perc', 'Exch'] as const) expect(relErr(js[o], nat[o])).toBeLessThan(TOL);
      const loss = ({ Q }: { Q: Float64Array }) => Q.map((q, t) => q - (t % 7));
      const run = () => {
        const s = initialState(p.X1, p.X3);
        const gP = new Float64Array(steps);
        const r = gr4WithGradient(p, P, E, s, loss, gAE, gP);
        return { ...r, gP, s };
      };
      const a = onJs(run);
      const b = run();
      expect(relErr(a.outputs.Q, b.outputs.Q)).toBeLessThan(TOL);
      expect(relErr(a.gP, b.gP)).toBeLessThan(TOL);
      const ga = [a.gradient.X1, a.gradient.X2, a.gradient.X3, a.gradient.X4, a.gradient.S0, a.gradient.R0];
      const gb = [b.gradient.X1, b.gradient.X2, b.gradient.X3, b.gradient.X4, b.gradient.S0, b.gradient.R0];
      for (let i = 0; i < 6; i++)
        expect(Math.abs(ga[i]! - gb[i]!)).toBeLessThanOrEqual(TOL * Math.abs(ga[i]!) + 1e-300);
      expect(relErr(a.gradient.uh1, b.gradient.uh1)).toBeLessThan(TOL);
      expect(relErr(a.gradient.uh2, b.gradient.uh2)).toBeLessThan(TOL);
      expect(b.s.S).toBeCloseTo(a.s.S, 9);
      expect(relErr(a.s.uh2, b.s.uh2)).toBeLessThan(TOL);
    }
  });

  it('lr routing forward and adjoint are identical (no transcendental in the loop)', () => {
    const rnd = mulberry32(11);
    const net = randomNetwork(rnd, 10, 12);
    const n = net.cells;
    const steps = 120;
    const runoff = Float64Array.from({ length: steps * n }, () => 5 * rnd());
    const llr = Float64Array.from({ length: n }, () => 1 + 900 * rnd());
    const h0 = Float64Array.from({ length: n }, () => 3 * rnd());
    const js = onJs(() => routeLr(net, runoff, steps, llr, 3600, Float64Array.from(h0)));
    const nat = routeLr(net, runoff, steps, llr, 3600, Float64Array.from(h0));
    expect(relErr(js, nat)).toBe(0);
    const gQ = Float64Array.from({ length: steps * n }, () => rnd() - 0.3);
    const a = onJs(() => routeLrWithGradient(net, runoff, steps, llr, 3600, h0, gQ));
    const b = routeLrWithGradient(
      net,
      runoff,
      steps,
      llr,
      3600,
      h0,
      (q) => (expect(relErr(a.q, q)).toBe(0), gQ),
    );
    expect(relErr(a.gradient.runoff, b.gradient.runoff)).toBe(0);
    expect(relErr(a.gradient.llr, b.gradient.llr)).toBe(0);
    expect(relErr(a.gradient.h0, b.gradient.h0)).toBe(0);
  });

  function vicCase(seed: number, n: number, steps: number, snow: boolean) {
    const rnd = mulberry32(seed);
    const params = Object.fromEntries(
      VIC3L.parameters.map((s) => [
        s.name,
        Float64Array.from({ length: n }, () => s.bounds[0] + (s.bounds[1] - s.bounds[0]) * rnd()),
      ]),
    ) as unknown as Vic3lParams;
    const P = Float32Array.from({ length: steps * n }, () => (rnd() < 0.4 ? -10 * Math.log(1 - rnd()) : 0));
    const PET = Float32Array.from({ length: steps * n }, () => 5 * rnd());
    const T = snow
      ? Float32Array.from({ length: steps * n }, (_, i) => 12 * Math.sin(i / n / 30) + 4 * rnd())
      : undefined;
    return { params, forcing: { P, PET, T } };
  }

  /** A loss on every output at every step, with forward statistics (as the calibration losses use). */
  function vicLoss(observe = true): Vic3lLoss & { seen: number } {
    const loss: Vic3lLoss & { seen: number } = {
      seen: 0,
      forward(_t: number, o: Record<string, Float64Array>) {
        for (let i = 0; i < o.R!.length; i++) loss.seen += o.R![i]! + 0.5 * o.W3![i]!;
      },
      backward(t: number, o: Record<string, Float64Array>, g: Record<string, Float64Array>) {
        VIC3L_OUTPUTS.forEach((name, k) => {
          for (let i = 0; i < g[name]!.length; i++)
            g[name]![i] = ((k + 1) * ((t + i) % 5) - 2) * 0.1 + 0.01 * o.ET![i]!;
        });
      },
    };
    // without a forward observer the native path skips the tape of all but the last segment
    if (!observe) delete loss.forward;
    return loss;
  }

  it('vic3l forward, float64 and float32, with and without snow', () => {
    for (const snow of [true, false]) {
      const { params, forcing } = vicCase(snow ? 3 : 4, 97, 150, snow);
      for (const precision of ['float64', 'float32'] as const) {
        const a = onJs(() => runVic3l(params, forcing, 150, { precision }));
        const b = runVic3l(params, forcing, 150, { precision });
        // float32 storage: both round the same double to float32, so at most one float32 ulp apart
        const tol = precision === 'float32' ? 1.2e-7 : TOL;
        const water = Math.max(...VIC3L_OUTPUTS.map((name) => Math.max(...a.outputs[name]!)));
        for (const name of VIC3L_OUTPUTS)
          expect(relErr(a.outputs[name]!, b.outputs[name]!, water)).toBeLessThan(tol);
        for (const name of ['W1', 'W2', 'W3', 'SWE'] as const)
          expect(relErr(a.state[name], b.state[name], water)).toBeLessThan(TOL);
      }
    }
  });

  it('vic3l gradient: one tape, checkpointed segments, float32 tape, 2 threads, no snow', () => {
    const steps = 120;
    const snowCase = vicCase(5, 131, steps, true);
    const rainCase = vicCase(6, 131, steps, false);
    // a tapeBytes below the whole run's tape also splits each segment's reverse pass into chunks of
    // steps (a quarter of tapeBytes of cotangents per native call: 6 and 5 steps here)
    for (const [precision, tapeBytes, threads, { params, forcing }, observe] of [
      ['float64', undefined, 1, snowCase, true],
      ['float64', 7 * 131 * 8 * 25, 2, snowCase, true],
      ['float32', 7 * 131 * 4 * 40, 1, snowCase, false],
      ['float64', 7 * 131 * 8 * 25, 2, rainCase, true],
    ] as const) {
      const la = vicLoss(observe);
      const a = onJs(() =>
        vic3lWithGradient(params, forcing, steps, la, { precision, tapeBytes, initial: 0.4 }),
      );
      setPhysicsThreads(threads);
      const lb = vicLoss(observe);
      const b = vic3lWithGradient(params, forcing, steps, lb, { precision, tapeBytes, initial: 0.4 });
      expect(b.segments).toBe(a.segments);
      // a loss with a forward sees the same outputs; one without sees none on either kernel
      if (observe) {
        expect(la.seen).toBeGreaterThan(0);
        expect(Math.abs(la.seen - lb.seen)).toBeLessThan(TOL * la.seen);
      } else expect([la.seen, lb.seen]).toEqual([0, 0]);
      for (const k of Object.keys(a.gradient) as (keyof typeof a.gradient)[])
        expect(relErr(a.gradient[k], b.gradient[k])).toBeLessThan(VIC_GRAD_TOL);
    }
  });

  it('vic3l gradient of a loss on a few outputs (the native reverse reads only those cotangents)', () => {
    // the loss writes ET every step, R on even steps and SWE only in the first 40 steps, so chunks
    // of the reverse pass see different sets of outputs; segments of 30 and 22 steps leave a short
    // first segment (the native path lays them from the run's end)
    const steps = 100;
    for (const [snow, precision, tapeBytes, threads] of [
      [true, 'float32', 7 * 83 * 4 * 30, 1],
      [true, 'float64', 7 * 83 * 8 * 22, 2],
      [false, 'float64', undefined, 1],
    ] as const) {
      const { params, forcing } = vicCase(snow ? 41 : 42, 83, steps, snow);
      const loss = (): Vic3lLoss => ({
        backward(t, o, g) {
          for (let i = 0; i < o.ET.length; i++) g.ET[i] = 1 + 0.01 * o.W1[i]!;
          if (t % 2 === 0) for (let i = 0; i < o.R.length; i++) g.R[i] = 0.5 - 0.1 * (i % 3);
          if (t < 40) for (let i = 0; i < o.SWE.length; i++) g.SWE[i] = 0.2;
        },
      });
      const a = onJs(() => vic3lWithGradient(params, forcing, steps, loss(), { precision, tapeBytes }));
      setPhysicsThreads(threads);
      const b = vic3lWithGradient(params, forcing, steps, loss(), { precision, tapeBytes });
      expect(b.segments).toBe(a.segments);
      if (tapeBytes !== undefined) expect(a.segments).toBeGreaterThan(1);
      for (const k of Object.keys(a.gradient) as (keyof typeof a.gradient)[]) {
        expect(relErr(a.gradient[k], b.gradient[k])).toBeLessThan(VIC_GRAD_TOL);
        expect(Math.max(...a.gradient[k].map(Math.abs))).toBeGreaterThan(0);
      }
    }
  });

  it("vic3l gradient: a loss's reads list keeps only those fluxes on the tape, same gradient, fewer segments", () => {
    // the tape keeps 5 numbers per cell and step for reads ['ET'] and 4 for reads ['W1'] (a state),
    // against 7 without a reads list: the same tapeBytes holds 7/5 and 7/4 times the steps, so fewer
    // are recomputed; the gradient is the same number for number on each kernel (the forward from a
    // checkpoint is bit for bit the one of the first pass)
    const steps = 90;
    const n = 67;
    const { params, forcing } = vicCase(43, n, steps, true);
    for (const precision of ['float64', 'float32'] as const) {
      const bytes = precision === 'float64' ? 8 : 4;
      const tapeBytes = 7 * n * bytes * 12;
      const loss = (reads: Vic3lLoss['reads'], observe: boolean): Vic3lLoss & { seen: number } => {
        const l = vicLoss(observe);
        const backward = l.backward.bind(l);
        return Object.assign(l, {
          reads,
          backward(t: number, o: StepView, g: StepView) {
            // the base loss reads ET; reads ['W1'] reads W1 instead, scaled to the same size (a
            // view of its own: spreading `o` would read every flux)
            if (reads?.includes('ET') !== false) return backward(t, o, g);
            return backward(t, { ET: o.W1.map((x) => x * 0.01) } as StepView, g);
          },
        });
      };
      type Run = <T>(f: () => T) => T;
      for (const run of [onJs, (f) => f()] as Run[]) {
        const full = run(() =>
          vic3lWithGradient(params, forcing, steps, loss(undefined, true), { precision, tapeBytes }),
        );
        const et = run(() =>
          vic3lWithGradient(params, forcing, steps, loss(['ET'], true), { precision, tapeBytes }),
        );
        expect(full.segmentSteps).toBe(12);
        expect(et.segmentSteps).toBe(Math.floor((7 * 12) / 5));
        expect(et.segments).toBeLessThan(full.segments);
        for (const k of Object.keys(full.gradient) as (keyof typeof full.gradient)[])
          expect(Array.from(et.gradient[k])).toEqual(Array.from(full.gradient[k]));
        // a loss that reads only a state: no flux on the tape, with and without a forward observer
        for (const observe of [true, false]) {
          const lw = loss(['W1'], observe);
          const w1 = run(() => vic3lWithGradient(params, forcing, steps, lw, { precision, tapeBytes }));
          expect(w1.segmentSteps).toBe(Math.floor((7 * 12) / 4));
          const lr = loss(undefined, observe);
          Object.assign(lr, { backward: lw.backward, reads: undefined });
          const ref = run(() => vic3lWithGradient(params, forcing, steps, lr, { precision, tapeBytes }));
          expect(lw.seen).toBe(lr.seen);
          if (observe) expect(lw.seen).toBeGreaterThan(0);
          for (const k of Object.keys(ref.gradient) as (keyof typeof ref.gradient)[])
            expect(Array.from(w1.gradient[k])).toEqual(Array.from(ref.gradient[k]));
        }
        // reading a flux the reads list leaves off the tape is refused by name, not read as zeros
        const wrong: Vic3lLoss = { reads: ['W2'], backward: (_t, o) => void o.R[0] };
        expect(() =>
          run(() => vic3lWithGradient(params, forcing, steps, wrong, { precision, tapeBytes })),
        ).toThrow(/reads R, which its reads list leaves off the tape/);
        const bad = { reads: ['Q'], backward: () => {} } as unknown as Vic3lLoss;
        expect(() => run(() => vic3lWithGradient(params, forcing, steps, bad, { precision }))).toThrow(
          /loss.reads names Q, not a vic3l output/,
        );
      }
    }
  });

  it('native adjoints match central finite differences (gr4 + lr and vic3l)', () => {
    const steps = 150;
    const { net, n, p, P, E } = gr4Case(21, steps);
    const w = Float64Array.from({ length: steps * n }, (_, i) => ((i * 7919) % 13) / 13);
    const lossOf = (q: Float64Array) => q.reduce((s, x, i) => s + w[i]! * x * x, 0);
    const g = gr4LrWithGradient(net, p, P, E, steps, 86400, (q) => q.map((x, i) => 2 * w[i]! * x));
    for (const [k, c] of [
      ['X1', 3],
      ['X2', 8],
      ['X3', 15],
      ['X4', 20],
      ['llr', 30],
    ] as const) {
      const h = 1e-6 * Math.max(1, Math.abs(p[k][c]!));
      const shifted = (d: number) => {
        const q = { ...p, [k]: Float64Array.from(p[k]) };
        q[k][c]! += d;
        return lossOf(runGr4Lr(net, q, P, E, steps, 86400));
      };
      const fd = (shifted(h) - shifted(-h)) / (2 * h);
      expect(Math.abs(g.gradient[k][c]! - fd)).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
    }
    const vs = 60;
    const { params, forcing } = vicCase(22, 5, vs, true);
    const ww = (t: number, i: number) => 1 + ((t + 3 * i) % 4);
    const vicLossValue = (pp: Vic3lParams) => {
      const o = runVic3l(pp, forcing, vs, { outputs: ['R', 'Qb'] }).outputs;
      let s = 0;
      for (let j = 0; j < vs * 5; j++) s += ww(Math.floor(j / 5), j % 5) * (o.R![j]! + o.Qb![j]!) ** 2;
      return s;
    };
    const vg = vic3lWithGradient(params, forcing, vs, {
      backward(t, o, gv) {
        for (let i = 0; i < 5; i++) {
          const d = 2 * ww(t, i) * (o.R[i]! + o.Qb[i]!);
          gv.R[i] = d;
          gv.Qb[i] = d;
        }
      },
    });
    let checked = 0;
    for (const spec of VIC3L.parameters) {
      const name = spec.name as keyof Vic3lParams;
      const c = 2;
      const h = 1e-6 * (spec.bounds[1] - spec.bounds[0]);
      const x0 = params[name][c]!;
      if (x0 - h < spec.bounds[0] || x0 + h > spec.bounds[1]) continue;
      const at = (d: number) => {
        const q = { ...params, [name]: Float64Array.from(params[name]) };
        (q[name] as Float64Array)[c] = x0 + d;
        return vicLossValue(q);
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(vg.gradient[name][c]! - fd)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});

describe('FIELDCAL_NATIVE_PHYSICS=0 forces the JavaScript kernels', () => {
  it('answers null while set', () => {
    expect(onJs(() => nativePhysics())).toBeNull();
  });
});

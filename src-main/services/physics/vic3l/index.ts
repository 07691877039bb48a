import { FieldcalError, VIC3L_PARAMETER_NAMES } from '../../../../src-shared/ipc';
import {
  G_B,
  G_DS,
  G_DSMAX,
  G_EXPT,
  G_WM2,
  G_WM3,
  G_WS,
  O_ET,
  O_QB,
  O_R,
  O_SWE,
  O_W1,
  O_W2,
  O_W3,
  vicStep,
  vicStepAdjoint,
  type CellParams,
  type StepConstants,
} from './kernel';
import { VIC3L, VIC3L_CONSTANTS, type Vic3lConstants } from './structure';
import { nativePhysics, sameType, type PhysicsAddon } from '../native';

export { VIC3L, VIC3L_CONSTANTS } from './structure';

/** The seven calibrated parameter names, in structure-table order. */
// the names and order are part of the job spec (src-shared/types/jobs.ts)
export const VIC3L_PARAMS = VIC3L_PARAMETER_NAMES;
export type Vic3lParamName = (typeof VIC3L_PARAMS)[number];

/** One value per cell for each parameter. */
export type Vic3lParams = Record<Vic3lParamName, ArrayLike<number>>;

/** Step-major forcing [steps x cells]: P and PET in mm/step, T in °C (optional: no snow without it). */
export interface Vic3lForcing {
  P: ArrayLike<number>;
  PET: ArrayLike<number>;
  T?: ArrayLike<number>;
}

export type Precision = 'float32' | 'float64';
type FloatArray = Float32Array | Float64Array;

export interface Vic3lOptions {
  /** Step length in days (1 daily, 1/24 hourly). */
  dt?: number;
  constants?: Partial<Vic3lConstants>;
  /**
   * Initial moisture: a fraction of each layer's capacity (default 0.5, to be followed by a
   * warm-up), or explicit per-cell states in mm. Initial snow is 0 unless given.
   */
  initial?:
    number | { W1: ArrayLike<number>; W2: ArrayLike<number>; W3: ArrayLike<number>; SWE?: ArrayLike<number> };
  /** Storage precision of outputs and tapes; arithmetic is always double. */
  precision?: Precision;
  /** Bytes the adjoint's tape may use before it switches to checkpointing (default 256 MB). */
  tapeBytes?: number;
}

/** Output names of one step, as in the structure table. */
export const VIC3L_OUTPUTS = ['ET', 'R', 'Qb', 'W1', 'W2', 'W3', 'SWE'] as const;
export type Vic3lOutputName = (typeof VIC3L_OUTPUTS)[number];

/** All cells' values of each output at one step (scratch arrays, valid during the callback). */
export type StepView = Record<Vic3lOutputName, Float64Array>;

/**
 * A loss for {@link vic3lWithGradient}: `forward` sees every step's outputs in the forward pass
 * (accumulate the value or whatever the cotangents need), `afterForward` runs between the passes,
 * and `backward` writes the cotangents dL/d(output) of step t into `g` (zeroed on entry). Steps
 * come in increasing order forward and decreasing order backward.
 */
export interface Vic3lLoss {
  forward?(t: number, out: StepView): void;
  afterForward?(): void;
  backward(t: number, out: StepView, g: StepView): void;
  /**
   * The outputs `backward` reads from `out` (absent: any). The tape keeps the fluxes (ET, R, Qb)
   * named here and always the states (the reverse pass's inputs), so a loss that reads no flux
   * tapes 4 numbers per cell and step instead of 7: longer segments for the same `tapeBytes`, fewer
   * steps recomputed. Reading a flux not named here throws.
   */
  readonly reads?: readonly Vic3lOutputName[];
}

/** The fluxes among the outputs (the others are the states, always on the tape). */
const FLUXES = ['ET', 'R', 'Qb'] as const;

/** Which fluxes a loss's tape keeps (ET, R, Qb), from its `reads`; a name that is no output is refused. */
function tapedFluxes(loss: Vic3lLoss): boolean[] {
  if (loss.reads === undefined) return FLUXES.map(() => true);
  for (const name of loss.reads)
    if (!(VIC3L_OUTPUTS as readonly string[]).includes(name))
      throw new FieldcalError('VALIDATION', `loss.reads names ${String(name)}, not a vic3l output`, {
        field: 'reads',
        value: String(name),
      });
  return FLUXES.map((name) => loss.reads!.includes(name));
}

/** The error for a loss whose backward reads a flux its `reads` left off the tape. */
const untapedRead = (name: string) =>
  new FieldcalError(
    'VALIDATION',
    `the loss's backward reads ${name}, which its reads list leaves off the tape`,
    {
      field: 'reads',
      value: name,
    },
  );

export interface Vic3lGradient extends Record<Vic3lParamName, Float64Array> {
  /** Adjoint of the initial states (mm). */
  W1_0: Float64Array;
  W2_0: Float64Array;
  W3_0: Float64Array;
  SWE_0: Float64Array;
}

interface Prepared {
  n: number;
  steps: number;
  cells: CellParams[];
  c: StepConstants;
  P: ArrayLike<number>;
  E: ArrayLike<number>;
  T: ArrayLike<number> | undefined;
  init: { W1: Float64Array; W2: Float64Array; W3: Float64Array; SWE: Float64Array };
  fraction: number | undefined;
  mmPerM: number;
  make: (len: number) => FloatArray;
}

/** Validates parameters, forcing and options; answers typed errors naming the field, cell and step. */
function prepare(params: Vic3lParams, forcing: Vic3lForcing, steps: number, opts: Vic3lOptions): Prepared {
  const first = params.b;
  if (!first) throw new FieldcalError('VALIDATION', 'vic3l parameter b is missing', { field: 'b' });
  const n = first.length;
  if (!Number.isInteger(steps) || steps < 1)
    throw new FieldcalError('VALIDATION', `steps must be a positive integer (got ${steps})`, {
      field: 'steps',
    });
  for (const spec of VIC3L.parameters) {
    const v = params[spec.name as Vic3lParamName];
    if (!v)
      throw new FieldcalError('VALIDATION', `vic3l parameter ${spec.name} is missing`, { field: spec.name });
    if (v.length !== n)
      throw new FieldcalError(
        'VALIDATION',
        `vic3l parameter ${spec.name} has ${v.length} values for ${n} cells`,
        {
          field: spec.name,
        },
      );
    const [lo, hi] = spec.bounds;
    // float32 values of the bounds themselves (a network's sigmoid output) are accepted
    const tol = 1e-6 * (hi - lo);
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      if (!(x >= lo - tol && x <= hi + tol))
        throw new FieldcalError(
          'VALIDATION',
          `vic3l parameter ${spec.name} of cell ${i} is ${x}, outside its bounds ${lo} .. ${hi}`,
          { field: spec.name, cell: i, value: Number.isNaN(x) ? 'NaN' : x, bounds: [lo, hi] },
        );
    }
  }
  const dt = opts.dt ?? 1;
  if (!(dt > 0 && dt <= 1))
    throw new FieldcalError('VALIDATION', `dt must be in (0, 1] days (got ${dt})`, { field: 'dt' });
  const k: Vic3lConstants = { ...VIC3L_CONSTANTS, ...opts.constants };
  for (const [name, value] of Object.entries(k)) {
    if (!Number.isFinite(value))
      throw new FieldcalError('VALIDATION', `vic3l constant ${name} is ${value}`, { field: name });
  }
  if (!(k.wpFraction < k.wcrFraction) || !(k.porosity > 0 && k.porosity < 1) || !(k.d1 > 0) || !(k.ksat >= 0))
    throw new FieldcalError(
      'VALIDATION',
      'vic3l constants need 0 < porosity < 1, d1 > 0, ksat >= 0 and wp < wcr',
      {
        field: 'constants',
      },
    );
  checkForcing('P', forcing.P, steps, n, true);
  checkForcing('PET', forcing.PET, steps, n, true);
  if (forcing.T) checkForcing('T', forcing.T, steps, n, false);
  const mmPerM = 1000 * k.porosity;
  const Wm1 = k.d1 * mmPerM;
  const cells: CellParams[] = [];
  for (let i = 0; i < n; i++) {
    cells.push({
      b: params.b[i]!,
      Ds: params.Ds[i]!,
      Dsmax: params.Dsmax[i]!,
      Ws: params.Ws[i]!,
      expt: params.expt[i]!,
      Wm1,
      Wm2: params.d2[i]! * mmPerM,
      Wm3: params.d3[i]! * mmPerM,
    });
  }
  const c: StepConstants = {
    ksatDt: k.ksat * dt,
    dt,
    wcr: k.wcrFraction,
    wp: k.wpFraction,
    ddfDt: k.ddf * dt,
    minRainTemp: k.minRainTemp,
    maxSnowTemp: k.maxSnowTemp,
    meltTemp: k.meltTemp,
    snow: forcing.T !== undefined,
  };
  const initial = opts.initial ?? 0.5;
  let init: Prepared['init'];
  let fraction: number | undefined;
  if (typeof initial === 'number') {
    if (!(initial >= 0 && initial <= 1))
      throw new FieldcalError('VALIDATION', `initial moisture fraction must be in [0, 1] (got ${initial})`, {
        field: 'initial',
      });
    fraction = initial;
    init = {
      W1: Float64Array.from(cells, (p) => initial * p.Wm1),
      W2: Float64Array.from(cells, (p) => initial * p.Wm2),
      W3: Float64Array.from(cells, (p) => initial * p.Wm3),
      SWE: new Float64Array(n),
    };
  } else {
    const get = (name: 'W1' | 'W2' | 'W3' | 'SWE', cap: (p: CellParams) => number) => {
      const v = initial[name];
      const out = new Float64Array(n);
      if (v === undefined) return out;
      if (v.length !== n)
        throw new FieldcalError('VALIDATION', `initial ${name} has ${v.length} values for ${n} cells`, {
          field: `initial.${name}`,
        });
      for (let i = 0; i < n; i++) {
        const x = v[i]!;
        if (!(x >= 0 && x <= cap(cells[i]!)))
          throw new FieldcalError(
            'VALIDATION',
            `initial ${name} of cell ${i} is ${x}, outside 0 .. capacity`,
            {
              field: `initial.${name}`,
              cell: i,
            },
          );
        out[i] = x;
      }
      return out;
    };
    init = {
      W1: get('W1', (p) => p.Wm1),
      W2: get('W2', (p) => p.Wm2),
      W3: get('W3', (p) => p.Wm3),
      SWE: get('SWE', () => Infinity),
    };
  }
  const precision = opts.precision ?? 'float64';
  const make =
    precision === 'float32' ? (len: number) => new Float32Array(len) : (len: number) => new Float64Array(len);
  return { n, steps, cells, c, P: forcing.P, E: forcing.PET, T: forcing.T, init, fraction, mmPerM, make };
}

function checkForcing(
  name: string,
  v: ArrayLike<number>,
  steps: number,
  n: number,
  nonNegative: boolean,
): void {
  if (!v || v.length !== steps * n)
    throw new FieldcalError(
      'VALIDATION',
      `forcing ${name} has ${v?.length ?? 0} values, expected ${steps} x ${n}`,
      {
        field: name,
      },
    );
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x) || (nonNegative && x < 0)) {
      const what = Number.isFinite(x) ? 'negative' : 'not a number';
      throw new FieldcalError(
        'VALIDATION',
        `forcing ${name} is ${what} (${x}) at step ${Math.floor(i / n)}, cell ${i % n}`,
        { field: name, step: Math.floor(i / n), cell: i % n },
      );
    }
  }
}

const newView = (n: number): StepView => ({
  ET: new Float64Array(n),
  R: new Float64Array(n),
  Qb: new Float64Array(n),
  W1: new Float64Array(n),
  W2: new Float64Array(n),
  W3: new Float64Array(n),
  SWE: new Float64Array(n),
});

/** Runs one step for every cell: state arrays updated in place, outputs into `view`. */
function stepAll(pr: Prepared, t: number, s: StepView, view: StepView, o: Float64Array): void {
  const { n, cells, c, P, E, T } = pr;
  const base = t * n;
  for (let i = 0; i < n; i++) {
    vicStep(
      s.W1[i]!,
      s.W2[i]!,
      s.W3[i]!,
      s.SWE[i]!,
      P[base + i]!,
      E[base + i]!,
      T ? T[base + i]! : 0,
      cells[i]!,
      c,
      o,
    );
    view.ET[i] = o[O_ET]!;
    view.R[i] = o[O_R]!;
    view.Qb[i] = o[O_QB]!;
    s.W1[i] = o[O_W1]!;
    s.W2[i] = o[O_W2]!;
    s.W3[i] = o[O_W3]!;
    s.SWE[i] = o[O_SWE]!;
  }
  view.W1 = s.W1;
  view.W2 = s.W2;
  view.W3 = s.W3;
  view.SWE = s.SWE;
}

const stateOf = (pr: Prepared): StepView => ({
  ...newView(0),
  W1: Float64Array.from(pr.init.W1),
  W2: Float64Array.from(pr.init.W2),
  W3: Float64Array.from(pr.init.W3),
  SWE: Float64Array.from(pr.init.SWE),
});

/**
 * Runs vic3l over every cell and step. Returns the requested outputs step-major [steps x cells]
 * (default: all seven) in the chosen precision, and the final state.
 */
export function runVic3l(
  params: Vic3lParams,
  forcing: Vic3lForcing,
  steps: number,
  opts: Vic3lOptions & { outputs?: readonly Vic3lOutputName[] } = {},
): { outputs: Partial<Record<Vic3lOutputName, FloatArray>>; state: StepView } {
  const pr = prepare(params, forcing, steps, opts);
  const wanted = opts.outputs ?? VIC3L_OUTPUTS;
  const outputs: Partial<Record<Vic3lOutputName, FloatArray>> = {};
  for (const name of wanted) outputs[name] = pr.make(steps * pr.n);
  const native = nativePhysics();
  if (native) {
    // the same step in C++ (native/src/physics.cc), all steps in one call
    const nv = nativeParts(pr);
    const st = startState(pr);
    native.vicForward(
      nv.cp,
      nv.k,
      pr.n,
      nv.P,
      nv.E,
      nv.T,
      0,
      steps,
      st,
      ...VIC3L_OUTPUTS.map((name) => outputs[name] ?? null),
      0,
    );
    const n = pr.n;
    return {
      outputs,
      state: {
        ...newView(0),
        W1: st.slice(0, n),
        W2: st.slice(n, 2 * n),
        W3: st.slice(2 * n, 3 * n),
        SWE: st.slice(3 * n),
      },
    };
  }
  const s = stateOf(pr);
  const view = newView(pr.n);
  const o = new Float64Array(7);
  for (let t = 0; t < steps; t++) {
    stepAll(pr, t, s, view, o);
    for (const name of wanted) outputs[name]!.set(view[name], t * pr.n);
  }
  return { outputs, state: s };
}

/**
 * Exact reverse-mode gradient of a loss on any outputs (see {@link Vic3lLoss}) with respect to
 * every cell's seven parameters and initial states. The forward pass keeps a checkpoint of the
 * state every K steps, K chosen so that one segment's tape (4 states per cell and step, and the
 * fluxes the loss `reads`: all 3 without a `reads` list) fits `tapeBytes`; the reverse pass
 * recomputes one segment at a time. When the whole run fits, the
 * forward pass records the tape directly (no recomputation). Memory: (steps / K) x 4 x cells
 * doubles of checkpoints plus one segment's tape (the native path adds a quarter of `tapeBytes`
 * for a chunk of cotangents), independent of the run length otherwise.
 */
export function vic3lWithGradient(
  params: Vic3lParams,
  forcing: Vic3lForcing,
  steps: number,
  loss: Vic3lLoss,
  opts: Vic3lOptions = {},
): { gradient: Vic3lGradient; segments: number; segmentSteps: number } {
  const pr = prepare(params, forcing, steps, opts);
  const { n, cells, c, P, E, T } = pr;
  const bytes = pr.make(0).BYTES_PER_ELEMENT;
  const tapeBytes = opts.tapeBytes ?? 256 * 2 ** 20;
  // per cell and step: the 4 states and the fluxes the loss reads
  const taped = tapedFluxes(loss);
  const perStep = 4 + taped.filter(Boolean).length;
  const K = Math.max(1, Math.min(steps, Math.floor(tapeBytes / (perStep * n * bytes))));
  const segments = Math.ceil(steps / K);
  const native = nativePhysics();
  if (native) {
    // the native reverse pass's cotangent buffer (7 doubles per cell and step) takes a quarter more
    const chunk = Math.max(1, Math.min(K, Math.floor(tapeBytes / 4 / (7 * n * 8))));
    return nativeGradient(native, pr, loss, K, segments, chunk, taped);
  }
  // tape of one segment: start states (K + 1 slots, the last is the segment's end) and the fluxes
  const tW = [
    pr.make((K + 1) * n),
    pr.make((K + 1) * n),
    pr.make((K + 1) * n),
    pr.make((K + 1) * n),
  ] as const;
  const tF = taped.map((on) => (on ? pr.make(K * n) : null));
  const checkpoints: Float64Array[] = [];
  const s = stateOf(pr);
  const view = newView(n);
  const o = new Float64Array(7);
  const record = (k: number, st: StepView) => {
    tW[0].set(st.W1, k * n);
    tW[1].set(st.W2, k * n);
    tW[2].set(st.W3, k * n);
    tW[3].set(st.SWE, k * n);
  };
  const checkpoint = () => {
    const cp = new Float64Array(4 * n);
    cp.set(s.W1, 0);
    cp.set(s.W2, n);
    cp.set(s.W3, 2 * n);
    cp.set(s.SWE, 3 * n);
    checkpoints.push(cp);
  };
  const runSegment = (t0: number, t1: number, observe: boolean) => {
    for (let t = t0; t < t1; t++) {
      record(t - t0, s);
      stepAll(pr, t, s, view, o);
      const k = (t - t0) * n;
      tF[0]?.set(view.ET, k);
      tF[1]?.set(view.R, k);
      tF[2]?.set(view.Qb, k);
      if (observe) loss.forward?.(t, view);
    }
    record(t1 - t0, s);
  };
  // forward pass
  if (segments === 1) runSegment(0, steps, true);
  else {
    for (let t = 0; t < steps; t++) {
      if (t % K === 0) checkpoint();
      stepAll(pr, t, s, view, o);
      loss.forward?.(t, view);
    }
  }
  loss.afterForward?.();
  // reverse pass
  const gp = Array.from({ length: n }, () => new Float64Array(7));
  const adj = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)] as const;
  const gView = newView(n);
  const bScratch = newView(n);
  // the step's outputs for loss.backward; a flux off the tape throws when read
  const bView = {} as StepView;
  for (const name of VIC3L_OUTPUTS) {
    const f = FLUXES.indexOf(name as (typeof FLUXES)[number]);
    Object.defineProperty(bView, name, {
      enumerable: true,
      get: () => {
        if (f >= 0 && !taped[f]) throw untapedRead(name);
        return bScratch[name];
      },
    });
  }
  const g = new Float64Array(7);
  const a = new Float64Array(4);
  for (let seg = segments - 1; seg >= 0; seg--) {
    const t0 = seg * K;
    const t1 = Math.min(steps, t0 + K);
    if (segments > 1) {
      const cp = checkpoints[seg]!;
      s.W1.set(cp.subarray(0, n));
      s.W2.set(cp.subarray(n, 2 * n));
      s.W3.set(cp.subarray(2 * n, 3 * n));
      s.SWE.set(cp.subarray(3 * n));
      runSegment(t0, t1, false);
    }
    for (let t = t1 - 1; t >= t0; t--) {
      const k = (t - t0) * n;
      const k1 = k + n;
      FLUXES.forEach((name, f) => {
        if (tF[f]) bScratch[name].set(tF[f].subarray(k, k + n));
      });
      bScratch.W1.set(tW[0].subarray(k1, k1 + n));
      bScratch.W2.set(tW[1].subarray(k1, k1 + n));
      bScratch.W3.set(tW[2].subarray(k1, k1 + n));
      bScratch.SWE.set(tW[3].subarray(k1, k1 + n));
      for (const name of VIC3L_OUTPUTS) gView[name].fill(0);
      loss.backward(t, bView, gView);
      const base = t * n;
      for (let i = 0; i < n; i++) {
        g[O_ET] = gView.ET[i]!;
        g[O_R] = gView.R[i]!;
        g[O_QB] = gView.Qb[i]!;
        g[O_W1] = gView.W1[i]! + adj[0][i]!;
        g[O_W2] = gView.W2[i]! + adj[1][i]!;
        g[O_W3] = gView.W3[i]! + adj[2][i]!;
        g[O_SWE] = gView.SWE[i]! + adj[3][i]!;
        vicStepAdjoint(
          tW[0][k + i]!,
          tW[1][k + i]!,
          tW[2][k + i]!,
          tW[3][k + i]!,
          P[base + i]!,
          E[base + i]!,
          T ? T[base + i]! : 0,
          cells[i]!,
          c,
          g,
          a,
          gp[i]!,
        );
        adj[0][i] = a[0]!;
        adj[1][i] = a[1]!;
        adj[2][i] = a[2]!;
        adj[3][i] = a[3]!;
      }
    }
  }
  const gradient: Vic3lGradient = {
    b: new Float64Array(n),
    Ds: new Float64Array(n),
    Dsmax: new Float64Array(n),
    Ws: new Float64Array(n),
    d2: new Float64Array(n),
    d3: new Float64Array(n),
    expt: new Float64Array(n),
    W1_0: Float64Array.from(adj[0]),
    W2_0: Float64Array.from(adj[1]),
    W3_0: Float64Array.from(adj[2]),
    SWE_0: Float64Array.from(adj[3]),
  };
  for (let i = 0; i < n; i++) {
    const gi = gp[i]!;
    let wm2 = gi[G_WM2]!;
    let wm3 = gi[G_WM3]!;
    // initial moisture as a fraction of capacity: its adjoint flows into the layer depths
    if (pr.fraction !== undefined) {
      wm2 += pr.fraction * adj[1][i]!;
      wm3 += pr.fraction * adj[2][i]!;
    }
    gradient.b[i] = gi[G_B]!;
    gradient.Ds[i] = gi[G_DS]!;
    gradient.Dsmax[i] = gi[G_DSMAX]!;
    gradient.Ws[i] = gi[G_WS]!;
    gradient.d2[i] = wm2 * pr.mmPerM;
    gradient.d3[i] = wm3 * pr.mmPerM;
    gradient.expt[i] = gi[G_EXPT]!;
  }
  return { gradient, segments, segmentSteps: K };
}

/** Parameters (8 x n: b, Ds, Dsmax, Ws, expt, Wm1, Wm2, Wm3), constants and forcing as physics.cc takes them. */
function nativeParts(pr: Prepared) {
  const { n, cells, c } = pr;
  const cp = new Float64Array(8 * n);
  for (let i = 0; i < n; i++) {
    const p = cells[i]!;
    cp[i] = p.b;
    cp[n + i] = p.Ds;
    cp[2 * n + i] = p.Dsmax;
    cp[3 * n + i] = p.Ws;
    cp[4 * n + i] = p.expt;
    cp[5 * n + i] = p.Wm1;
    cp[6 * n + i] = p.Wm2;
    cp[7 * n + i] = p.Wm3;
  }
  const k = Float64Array.of(
    c.ksatDt,
    c.dt,
    c.wcr,
    c.wp,
    c.ddfDt,
    c.minRainTemp,
    c.maxSnowTemp,
    c.meltTemp,
    c.snow ? 1 : 0,
  );
  const f = sameType(pr.P, pr.E, ...(pr.T ? [pr.T] : []));
  return { cp, k, P: f[0]!, E: f[1]!, T: f[2] ?? null };
}

/** The initial state, 4 x n (W1, W2, W3, SWE). */
function startState(pr: Prepared): Float64Array {
  const n = pr.n;
  const st = new Float64Array(4 * n);
  st.set(pr.init.W1, 0);
  st.set(pr.init.W2, n);
  st.set(pr.init.W3, 2 * n);
  st.set(pr.init.SWE, 3 * n);
  return st;
}

/**
 * {@link vic3lWithGradient} on the native kernels: the forward pass runs a segment per call; the
 * reverse pass collects the loss's cotangents of a chunk of steps, then reverses the chunk's steps
 * over all cells in one call (vectorised across cells, threaded across cell blocks). Same tape,
 * segment length and number of segments as the JavaScript path, so the same numbers reach the loss;
 * the segments are laid from the run's end (the short one first), so the recomputation covers
 * steps - K steps rather than up to (segments - 1) x K.
 */
function nativeGradient(
  native: PhysicsAddon,
  pr: Prepared,
  loss: Vic3lLoss,
  K: number,
  segments: number,
  CHB: number,
  taped: boolean[],
): { gradient: Vic3lGradient; segments: number; segmentSteps: number } {
  const { n, steps } = pr;
  const nv = nativeParts(pr);
  const st = startState(pr);
  const tW = [
    pr.make((K + 1) * n),
    pr.make((K + 1) * n),
    pr.make((K + 1) * n),
    pr.make((K + 1) * n),
  ] as const;
  const tF = taped.map((on) => (on ? pr.make(K * n) : null));
  const f32 = tW[0] instanceof Float32Array;
  // a float32 tape rounds what it keeps, and a flux the loss does not read is not on it; the loss's
  // forward view must see every output unrounded as in JavaScript, so those runs go through float64
  // chunks copied into the tape
  const CH = Math.min(K, 16);
  const chunk =
    (f32 || !taped.every(Boolean)) && loss.forward ? VIC3L_OUTPUTS.map(() => new Float64Array(CH * n)) : null;
  const checkpoints: Float64Array[] = [];
  const fwd = (t0: number, t1: number, outs: (FloatArray | null)[], shift: number) =>
    native.vicForward(nv.cp, nv.k, n, nv.P, nv.E, nv.T, t0, t1, st, ...outs, shift);
  const runSegment = (t0: number, t1: number, observe: boolean) => {
    const len = t1 - t0;
    if (!chunk || !observe) {
      fwd(
        t0,
        t1,
        [...tF.map((a) => a?.subarray(0, len * n) ?? null), ...tW.map((a) => a.subarray(0, (len + 1) * n))],
        1,
      );
      if (observe && loss.forward) {
        for (let t = t0; t < t1; t++) {
          const k = (t - t0) * n;
          const k1 = k + n;
          const sub = (a: FloatArray, o: number) => a.subarray(o, o + n) as Float64Array;
          // every flux is on the tape here (otherwise the chunks above run)
          loss.forward(t, {
            ET: sub(tF[0]!, k),
            R: sub(tF[1]!, k),
            Qb: sub(tF[2]!, k),
            W1: sub(tW[0], k1),
            W2: sub(tW[1], k1),
            W3: sub(tW[2], k1),
            SWE: sub(tW[3], k1),
          });
        }
      }
      return;
    }
    for (let s = 0; s < 4; s++) tW[s]!.set(st.subarray(s * n, (s + 1) * n), 0);
    for (let a = t0; a < t1; a += CH) {
      const b = Math.min(t1, a + CH);
      fwd(
        a,
        b,
        chunk.map((x) => x.subarray(0, (b - a) * n)),
        0,
      );
      for (let t = a; t < b; t++) {
        const o = (t - a) * n;
        const v = chunk.map((x) => x.subarray(o, o + n));
        loss.forward!(t, { ET: v[0]!, R: v[1]!, Qb: v[2]!, W1: v[3]!, W2: v[4]!, W3: v[5]!, SWE: v[6]! });
        const k = (t - t0) * n;
        for (let s = 0; s < 3; s++) tF[s]?.set(v[s]!, k);
        for (let s = 0; s < 4; s++) tW[s]!.set(v[3 + s]!, k + n);
      }
    }
  };
  // segments of K steps counted from the run's end (the first one takes the remainder): the last
  // segment's tape is the forward pass's own, so a whole K steps of it are never recomputed
  // (the same results: the forward from a checkpoint is bit for bit the same wherever it starts)
  const segStart = (seg: number) => Math.max(0, steps - (segments - seg) * K);
  const segEnd = (seg: number) => steps - (segments - 1 - seg) * K;
  for (let seg = 0; seg < segments; seg++) {
    const t0 = segStart(seg);
    const t1 = segEnd(seg);
    if (segments > 1) checkpoints.push(st.slice());
    // without a forward observer only the last segment's tape is needed now (the others are recomputed)
    if (loss.forward || seg === segments - 1) runSegment(t0, t1, true);
    else
      fwd(
        t0,
        t1,
        VIC3L_OUTPUTS.map(() => null),
        0,
      );
  }
  loss.afterForward?.();
  const adj = new Float64Array(4 * n);
  const gp = new Float64Array(7 * n);
  // the loss's cotangents of CHB steps [output][step][cell], handed to one native reverse call
  // (which zeroes them as it reads). The loss sees them through getters that note which outputs it
  // asked for: the native call reads (and zeroes) only those, the others stay 0 (most losses write
  // one or two of the seven, and reading all of them made the reverse pass wait on memory).
  const gv = new Float64Array(7 * CHB * n);
  const gSub: (Float64Array | undefined)[] = new Array<Float64Array | undefined>(7 * CHB);
  let touched = 0;
  let kStep = 0;
  const gView = {} as StepView;
  VIC3L_OUTPUTS.forEach((name, s) =>
    Object.defineProperty(gView, name, {
      enumerable: true,
      get() {
        touched |= 1 << s;
        const i = s * CHB + kStep;
        return (gSub[i] ??= gv.subarray(i * n, (i + 1) * n));
      },
    }),
  );
  // the step's outputs for loss.backward, copied from the tape only when the loss reads them
  const scratch = newView(n);
  const filled = new Array<boolean>(7).fill(false);
  let kOut = 0;
  const bView = {} as StepView;
  VIC3L_OUTPUTS.forEach((name, s) =>
    Object.defineProperty(bView, name, {
      enumerable: true,
      get() {
        if (s < 3 && !tF[s]) throw untapedRead(name);
        if (!filled[s]) {
          const src = s < 3 ? tF[s]!.subarray(kOut, kOut + n) : tW[s - 3]!.subarray(kOut + n, kOut + 2 * n);
          scratch[name].set(src);
          filled[s] = true;
        }
        return scratch[name];
      },
    }),
  );
  for (let seg = segments - 1; seg >= 0; seg--) {
    const t0 = segStart(seg);
    const t1 = segEnd(seg);
    // the last segment's tape is the forward pass's own; earlier ones are recomputed from checkpoints
    if (seg < segments - 1) {
      st.set(checkpoints[seg]!);
      runSegment(t0, t1, false);
    }
    for (let b = t1; b > t0; b -= CHB) {
      const a = Math.max(t0, b - CHB);
      touched = 0;
      for (let t = b - 1; t >= a; t--) {
        kOut = (t - t0) * n;
        kStep = t - a;
        filled.fill(false);
        loss.backward(t, bView, gView);
      }
      // steps b - 1 down to a, all cells, in one call (native/src/physics.cc vicAdjoint)
      native.vicAdjoint(
        nv.cp,
        nv.k,
        n,
        nv.P,
        nv.E,
        nv.T,
        a,
        b,
        tW[0],
        tW[1],
        tW[2],
        tW[3],
        a - t0,
        gv,
        adj,
        gp,
        touched,
        CHB,
      );
    }
  }
  const slot = (s: number) => gp.subarray(s * n, (s + 1) * n);
  const wm2 = Float64Array.from(slot(G_WM2));
  const wm3 = Float64Array.from(slot(G_WM3));
  if (pr.fraction !== undefined) {
    for (let i = 0; i < n; i++) {
      wm2[i]! += pr.fraction * adj[n + i]!;
      wm3[i]! += pr.fraction * adj[2 * n + i]!;
    }
  }
  const gradient: Vic3lGradient = {
    b: Float64Array.from(slot(G_B)),
    Ds: Float64Array.from(slot(G_DS)),
    Dsmax: Float64Array.from(slot(G_DSMAX)),
    Ws: Float64Array.from(slot(G_WS)),
    d2: wm2.map((x) => x * pr.mmPerM),
    d3: wm3.map((x) => x * pr.mmPerM),
    expt: Float64Array.from(slot(G_EXPT)),
    W1_0: adj.slice(0, n),
    W2_0: adj.slice(n, 2 * n),
    W3_0: adj.slice(2 * n, 3 * n),
    SWE_0: adj.slice(3 * n),
  };
  return { gradient, segments, segmentSteps: K };
}

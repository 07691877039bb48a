import { FieldcalError } from '../../../../src-shared/ipc';
import { nativePhysics } from '../../physics/native';
import {
  GR4_DAILY,
  checkGr4Inputs,
  gr4Step,
  unitHydrographs,
  type Gr4State,
  type Gr4Timing,
} from '../../physics/gr4/forward';

interface Gr4SetsAddon {
  gr4SetsSse(
    P: Float64Array,
    E: Float64Array,
    obs: Float64Array,
    warmup: number,
    params: Float64Array,
    percConst: number,
    nh: number,
    sse: Float64Array,
  ): void;
}

/** The addon's many-sets kernel (native/src/gr4sets.cc), or null (not built, or FIELDCAL_NATIVE_PHYSICS=0). */
function gr4SetsAddon(): Gr4SetsAddon | null {
  // the physics kernels' own switch and cached load (FIELDCAL_NATIVE_PHYSICS=0 forces JavaScript)
  const a = nativePhysics() as unknown as Partial<Gr4SetsAddon> | null;
  return a && typeof a.gr4SetsSse === 'function' ? (a as Gr4SetsAddon) : null;
}

/** 1 - NSE of lumped GR4J runs, many parameter sets per call. */
export interface Gr4NseObjective {
  /** 1 - NSE of each set (X1, X2, X3, X4); +Infinity where the set is outside GR4J's domain. */
  batch(xs: readonly ArrayLike<number>[]): Float64Array;
  /** 1 - NSE of one set. */
  one(x: ArrayLike<number>): number;
  /** Model runs so far (one per set). */
  readonly runs: number;
  /** 'native' (native/src/gr4sets.cc) or 'js' (gr4Step in a loop). */
  readonly kernel: 'native' | 'js';
}

/**
 * The objective of lumped GR4J calibration, lean: each set runs from airGR's initial state
 * (initialState) over P and E, and 1 - NSE (Nash & Sutcliffe 1970: 1 - Σ(Q-obs)²/Σ(obs-mean)², over
 * the steps after `warmup` where obs is present, as metrics/series.ts nse computes it) comes from the
 * squared error summed in the same pass; no per-run allocation of series. On the addon the sets run
 * as SIMD lanes (gr4sets.cc); otherwise gr4Step in a loop with preallocated state. The forcing is
 * checked once here, not per run.
 */
export function gr4NseObjective(
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  obs: ArrayLike<number>,
  warmup: number,
  timing: Gr4Timing = GR4_DAILY,
): Gr4NseObjective {
  checkGr4Inputs({ X1: 1, X2: 0, X3: 1, X4: 1 }, P, E);
  if (!(Number.isInteger(warmup) && warmup >= 0 && warmup <= P.length) || obs.length !== P.length - warmup)
    throw new FieldcalError(
      'VALIDATION',
      `obs has ${obs.length} values, the run ${P.length} steps after a warm-up of ${warmup}`,
      { field: 'obs' },
    );
  const Pf = Float64Array.from(P);
  const Ef = Float64Array.from(E);
  const of = Float64Array.from(obs);
  // Σ(obs - mean)² over the present observations (the NSE's denominator)
  let n = 0;
  let m = 0;
  for (const v of of) {
    if (!Number.isFinite(v)) continue;
    m += v;
    n++;
  }
  m /= n;
  let den = 0;
  for (const v of of) if (Number.isFinite(v)) den += (v - m) ** 2;
  if (!(n > 0 && den > 0))
    throw new FieldcalError(
      'VALIDATION',
      n === 0
        ? 'no observed discharge after the warm-up'
        : 'the observed discharge is constant: NSE is undefined',
      { field: 'obs' },
    );
  const addon = gr4SetsAddon();
  let runs = 0;
  const feasible = (x: ArrayLike<number>) =>
    Number.isFinite(x[0]!) &&
    Number.isFinite(x[1]!) &&
    Number.isFinite(x[2]!) &&
    Number.isFinite(x[3]!) &&
    x[0]! > 0 &&
    x[2]! > 0 &&
    x[3]! > 0.5;
  const objective = (sse: number) => {
    const v = sse / den;
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  // JS: gr4Step over the steps, the state and step outputs allocated once per objective
  const state: Gr4State = {
    S: 0,
    R: 0,
    uh1: new Float64Array(timing.nh),
    uh2: new Float64Array(2 * timing.nh),
  };
  const step = new Float64Array(4);
  const jsSse = (x: ArrayLike<number>) => {
    const p = { X1: x[0]!, X2: x[1]!, X3: x[2]!, X4: x[3]! };
    const { uh1, uh2 } = unitHydrographs(p.X4, timing.nh);
    state.S = 0.3 * p.X1;
    state.R = 0.5 * p.X3;
    state.uh1.fill(0);
    state.uh2.fill(0);
    let sse = 0;
    for (let t = 0; t < Pf.length; t++) {
      gr4Step(p, uh1, uh2, Pf[t]!, Ef[t]!, state, step, timing.percConst);
      if (t >= warmup) {
        const o = of[t - warmup]!;
        if (Number.isFinite(o)) sse += (step[0]! - o) ** 2;
      }
    }
    return sse;
  };
  let params = new Float64Array(0);
  let sse = new Float64Array(0);
  const batch = (xs: readonly ArrayLike<number>[]) => {
    const out = new Float64Array(xs.length).fill(Number.POSITIVE_INFINITY);
    const ok: number[] = [];
    xs.forEach((x, i) => {
      if (feasible(x)) ok.push(i);
    });
    runs += xs.length;
    if (!addon) {
      for (const i of ok) out[i] = objective(jsSse(xs[i]!));
      return out;
    }
    if (params.length < 4 * ok.length) params = new Float64Array(4 * ok.length);
    if (sse.length !== ok.length) sse = new Float64Array(ok.length);
    ok.forEach((i, k) => {
      const x = xs[i]!;
      for (let j = 0; j < 4; j++) params[4 * k + j] = x[j]!;
    });
    if (ok.length > 0)
      addon.gr4SetsSse(
        Pf,
        Ef,
        of,
        warmup,
        params.subarray(0, 4 * ok.length),
        timing.percConst,
        timing.nh,
        sse,
      );
    ok.forEach((i, k) => (out[i] = objective(sse[k]!)));
    return out;
  };
  return {
    batch,
    one: (x) => batch([x])[0]!,
    get runs() {
      return runs;
    },
    kernel: addon ? 'native' : 'js',
  };
}

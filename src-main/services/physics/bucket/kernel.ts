import { FieldcalError } from '../../../../src-shared/ipc';
import { BUCKET_K } from './structure';

/**
 * How the outlet flux is given: `fractions` (Q = a·(X + Rs + B), every flux a fraction of what is
 * there: the balance closes by construction) or `amounts` (Q = a·qMax, an amount the network
 * predicts; the routing store is clipped at 0, so a Q larger than the store creates water and the
 * per-step residual P - ET - Q - ΔS = min(X + Rs + B - Q, 0) is non-zero: the seed's residual term).
 */
export type OutletMode = 'fractions' | 'amounts';

export interface BucketOptions {
  mode?: OutletMode;
  /** Scale of the outlet amount in `amounts` mode (mm/step). */
  qMax?: number;
  /** Initial stores [C, S, G, X] (mm), the same for every sequence; default 0. */
  initial?: readonly [number, number, number, number];
}

/** Per-step states, fluxes and water balance of a batch of sequences ([batch][steps], row-major). */
export interface BucketRun {
  batch: number;
  steps: number;
  /** Stores after each step. */
  C: Float64Array;
  S: Float64Array;
  G: Float64Array;
  X: Float64Array;
  /** Fluxes of each step (mm/step). */
  I: Float64Array;
  Ec: Float64Array;
  D: Float64Array;
  F: Float64Array;
  Rs: Float64Array;
  Es: Float64Array;
  R: Float64Array;
  B: Float64Array;
  Q: Float64Array;
  ET: Float64Array;
  /** Change of total storage over the step and the residual P - ET - Q - ΔS. */
  dS: Float64Array;
  residual: Float64Array;
}

/** The adjoint's incoming gradients: dL/dQ, dL/dET, dL/dresidual per step (absent = 0). */
export interface BucketSeeds {
  Q?: ArrayLike<number>;
  ET?: ArrayLike<number>;
  residual?: ArrayLike<number>;
}

function check(P: ArrayLike<number>, f: ArrayLike<number>, batch: number, steps: number): void {
  if (!(Number.isInteger(batch) && batch > 0 && Number.isInteger(steps) && steps > 0))
    throw new FieldcalError('VALIDATION', `bucket: batch and steps must be positive integers`, {
      field: 'steps',
    });
  if (P.length !== batch * steps)
    throw new FieldcalError('VALIDATION', `bucket: P has ${P.length} values, expected ${batch * steps}`, {
      field: 'P',
    });
  if (f.length !== batch * steps * BUCKET_K)
    throw new FieldcalError(
      'VALIDATION',
      `bucket: fractions have ${f.length} values, expected ${batch * steps * BUCKET_K}`,
      { field: 'fractions' },
    );
}

/**
 * Runs the generic bucket model (physics/bucket/structure.ts) over `batch` sequences of `steps`
 * steps: P [batch][steps] (mm/step), fractions [batch][steps][8] in [0, 1] (the order of
 * BUCKET_PROCESSES). Water balance per step after Liu & Hsu 2026: P - ET - Q - ΔS.
 */
export function runBucket(
  P: ArrayLike<number>,
  fr: ArrayLike<number>,
  batch: number,
  steps: number,
  opts: BucketOptions = {},
): BucketRun {
  check(P, fr, batch, steps);
  const n = batch * steps;
  const a = () => new Float64Array(n);
  const o: BucketRun = {
    batch,
    steps,
    C: a(),
    S: a(),
    G: a(),
    X: a(),
    I: a(),
    Ec: a(),
    D: a(),
    F: a(),
    Rs: a(),
    Es: a(),
    R: a(),
    B: a(),
    Q: a(),
    ET: a(),
    dS: a(),
    residual: a(),
  };
  const amounts = opts.mode === 'amounts';
  const qMax = opts.qMax ?? 1;
  const init = opts.initial ?? [0, 0, 0, 0];
  for (let b = 0; b < batch; b++) {
    let [C, S, G, X] = init;
    for (let t = 0; t < steps; t++) {
      const i = b * steps + t;
      const k = i * BUCKET_K;
      const p = P[i]!;
      const I = fr[k]! * p;
      const Ca = C + I;
      const Ec = fr[k + 1]! * Ca;
      const Cb = Ca - Ec;
      const D = fr[k + 2]! * Cb;
      const Cn = Cb - D;
      const W = p - I + D;
      const F = fr[k + 3]! * W;
      const Rs = W - F;
      const Sa = S + F;
      const Es = fr[k + 4]! * Sa;
      const Sb = Sa - Es;
      const R = fr[k + 5]! * Sb;
      const Sn = Sb - R;
      const Ga = G + R;
      const B = fr[k + 6]! * Ga;
      const Gn = Ga - B;
      const Xa = X + Rs + B;
      let Q: number;
      let Xn: number;
      let r = 0;
      if (amounts) {
        Q = fr[k + 7]! * qMax;
        const d = Xa - Q;
        Xn = d > 0 ? d : 0;
        r = d > 0 ? 0 : d;
      } else {
        Q = fr[k + 7]! * Xa;
        Xn = Xa - Q;
      }
      o.I[i] = I;
      o.Ec[i] = Ec;
      o.D[i] = D;
      o.F[i] = F;
      o.Rs[i] = Rs;
      o.Es[i] = Es;
      o.R[i] = R;
      o.B[i] = B;
      o.Q[i] = Q;
      o.ET[i] = Ec + Es;
      o.dS[i] = Cn - C + (Sn - S) + (Gn - G) + (Xn - X);
      // the residual as the model defines it (exactly 0 in fractions mode, the clipped deficit in
      // amounts mode); checkBalance recomputes P - ET - Q - ΔS from the series to verify it
      o.residual[i] = r;
      o.C[i] = C = Cn;
      o.S[i] = S = Sn;
      o.G[i] = G = Gn;
      o.X[i] = X = Xn;
    }
  }
  return o;
}

/**
 * The water balance of a run recomputed from its series: per-step P - ET - Q - ΔS, its largest
 * absolute value and the whole-run closure |ΣP - ΣET - ΣQ - (S_end - S_0)| over total P.
 */
export function waterBalance(
  P: ArrayLike<number>,
  run: BucketRun,
  opts: BucketOptions = {},
): { maxAbsStep: number; closure: number; totalP: number; residualSum: number } {
  const init = opts.initial ?? [0, 0, 0, 0];
  const s0 = init[0] + init[1] + init[2] + init[3];
  let maxAbs = 0;
  let totP = 0;
  let sumIn = 0;
  let sumOut = 0;
  let resid = 0;
  let dStore = 0;
  for (let b = 0; b < run.batch; b++) {
    let prev = s0;
    for (let t = 0; t < run.steps; t++) {
      const i = b * run.steps + t;
      const s = run.C[i]! + run.S[i]! + run.G[i]! + run.X[i]!;
      const r = P[i]! - run.ET[i]! - run.Q[i]! - (s - prev);
      maxAbs = Math.max(maxAbs, Math.abs(r));
      resid += r;
      prev = s;
      totP += P[i]!;
      sumIn += P[i]!;
      sumOut += run.ET[i]! + run.Q[i]!;
    }
    dStore += prev - s0;
  }
  return {
    maxAbsStep: maxAbs,
    closure: totP > 0 ? Math.abs(sumIn - sumOut - dStore) / totP : Math.abs(sumIn - sumOut - dStore),
    totalP: totP,
    residualSum: resid,
  };
}

/**
 * The exact adjoint of {@link runBucket}: dL/dfractions [batch][steps][8] given dL/dQ, dL/dET and
 * dL/dresidual per step (hand-derived reverse mode of each assignment of the forward step, in
 * reverse order; the clip of `amounts` mode takes the branch the forward took).
 */
export function bucketAdjoint(
  P: ArrayLike<number>,
  fr: ArrayLike<number>,
  batch: number,
  steps: number,
  seeds: BucketSeeds,
  opts: BucketOptions = {},
  run: BucketRun = runBucket(P, fr, batch, steps, opts),
): Float64Array {
  const amounts = opts.mode === 'amounts';
  const qMax = opts.qMax ?? 1;
  const init = opts.initial ?? [0, 0, 0, 0];
  const g = new Float64Array(fr.length);
  const gQ = seeds.Q;
  const gE = seeds.ET;
  const gR = seeds.residual;
  for (let b = 0; b < batch; b++) {
    let bC = 0;
    let bS = 0;
    let bG = 0;
    let bX = 0;
    for (let t = steps - 1; t >= 0; t--) {
      const i = b * steps + t;
      const k = i * BUCKET_K;
      const p = P[i]!;
      // states before the step
      const C = t > 0 ? run.C[i - 1]! : init[0];
      const S = t > 0 ? run.S[i - 1]! : init[1];
      const G = t > 0 ? run.G[i - 1]! : init[2];
      const X = t > 0 ? run.X[i - 1]! : init[3];
      const I = run.I[i]!;
      const Ca = C + I;
      const Cb = Ca - run.Ec[i]!;
      const W = p - I + run.D[i]!;
      const Sa = S + run.F[i]!;
      const Sb = Sa - run.Es[i]!;
      const Ga = G + run.R[i]!;
      const Xa = X + run.Rs[i]! + run.B[i]!;
      const a = (j: number) => fr[k + j]!;
      const dQ = gQ ? gQ[i]! : 0;
      const dE = gE ? gE[i]! : 0;
      let bXa: number;
      if (amounts) {
        const d = Xa - run.Q[i]!;
        const bd = d > 0 ? bX : gR ? gR[i]! : 0;
        bXa = bd;
        g[k + 7] = (dQ - bd) * qMax;
      } else {
        bXa = bX * (1 - a(7)) + dQ * a(7);
        g[k + 7] = (dQ - bX) * Xa;
      }
      const bRs = bXa;
      const bB = bXa;
      const bXprev = bXa;
      const bGa = bG * (1 - a(6)) + bB * a(6);
      g[k + 6] = (bB - bG) * Ga;
      const bR = bGa;
      const bGprev = bGa;
      const bSb = bS * (1 - a(5)) + bR * a(5);
      g[k + 5] = (bR - bS) * Sb;
      const bSa = bSb * (1 - a(4)) + dE * a(4);
      g[k + 4] = (dE - bSb) * Sa;
      const bSprev = bSa;
      const bF = bSa;
      const bW = bF * a(3) + bRs * (1 - a(3));
      g[k + 3] = (bF - bRs) * W;
      const bD = bW;
      const bCb = bC * (1 - a(2)) + bD * a(2);
      g[k + 2] = (bD - bC) * Cb;
      const bCa = bCb * (1 - a(1)) + dE * a(1);
      g[k + 1] = (dE - bCb) * Ca;
      const bI = bCa - bW;
      g[k] = bI * p;
      bC = bCa;
      bS = bSprev;
      bG = bGprev;
      bX = bXprev;
    }
  }
  return g;
}

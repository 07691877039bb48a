import { FieldcalError } from '../../../../src-shared/ipc';

export interface BfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (u: number) => Math.log(u / (1 - u));

/**
 * The sigmoid-mapped box both quasi-Newton methods search in: checks the bounds and the start,
 * maps z to x = lo + (hi - lo) sigmoid(z), and evaluates f with its gradient chained to z.
 */
function sigmoidBox(
  fg: (x: Float64Array) => { f: number; g: Float64Array },
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  x0: ArrayLike<number>,
) {
  const n = lower.length;
  for (let i = 0; i < n; i++) {
    if (!(upper[i]! > lower[i]!))
      throw new FieldcalError('VALIDATION', `bounds of parameter ${i} are reversed or empty`, {
        field: `bounds[${i}]`,
      });
    if (!(x0[i]! > lower[i]! && x0[i]! < upper[i]!))
      throw new FieldcalError('VALIDATION', `start of parameter ${i} must lie strictly inside its bounds`, {
        field: `x0[${i}]`,
      });
  }
  const span = Float64Array.from({ length: n }, (_, i) => upper[i]! - lower[i]!);
  const toX = (z: Float64Array) => Float64Array.from(z, (v, i) => lower[i]! + span[i]! * sigmoid(v));
  const box = {
    n,
    evaluations: 0,
    toX,
    z0: Float64Array.from({ length: n }, (_, i) => logit((x0[i]! - lower[i]!) / span[i]!)),
    fz(z: Float64Array) {
      box.evaluations++;
      const { f, g } = fg(toX(z));
      // chain rule through the sigmoid map
      return {
        f,
        g: Float64Array.from(g, (gi, i) => {
          const s = sigmoid(z[i]!);
          return gi * span[i]! * s * (1 - s);
        }),
      };
    },
  };
  return box;
}

/**
 * Box-constrained quasi-Newton minimisation: parameters are mapped to the real line by
 * x = lo + (hi - lo) sigmoid(z), and BFGS with an Armijo backtracking line search (Nocedal &
 * Wright, Numerical Optimization, algorithms 6.1 and 3.1) runs on z. `fg` returns the objective
 * and its exact gradient (from the model's adjoint) at x.
 */
export function bfgsBox(
  fg: (x: Float64Array) => { f: number; g: Float64Array },
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  x0: ArrayLike<number>,
  opts: { maxIterations?: number; gtol?: number; ftol?: number } = {},
): BfgsResult {
  const box = sigmoidBox(fg, lower, upper, x0);
  const { n, toX } = box;
  const fz = (z: Float64Array) => box.fz(z);
  const maxIt = opts.maxIterations ?? 200;
  const gtol = opts.gtol ?? 1e-9;
  const ftol = opts.ftol ?? 1e-12;
  let z = box.z0;
  let cur = fz(z);
  // inverse Hessian approximation, starting as the identity
  let H = Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
  let it = 0;
  let converged = false;
  for (; it < maxIt; it++) {
    const gnorm = Math.sqrt(cur.g.reduce((a, b) => a + b * b, 0));
    if (gnorm < gtol) {
      converged = true;
      break;
    }
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i]! -= H[i * n + j]! * cur.g[j]!;
    let slope = d.reduce((a, v, i) => a + v * cur.g[i]!, 0);
    if (slope >= 0) {
      // not a descent direction: restart from steepest descent
      H = Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
      for (let i = 0; i < n; i++) d[i] = -cur.g[i]!;
      slope = -gnorm * gnorm;
    }
    let step = 1;
    let next = fz(Float64Array.from(z, (v, i) => v + step * d[i]!));
    while (!(next.f <= cur.f + 1e-4 * step * slope) && step > 1e-12) {
      step *= 0.5;
      next = fz(Float64Array.from(z, (v, i) => v + step * d[i]!));
    }
    if (!(next.f <= cur.f + 1e-4 * step * slope)) break;
    const zNew = Float64Array.from(z, (v, i) => v + step * d[i]!);
    const s = Float64Array.from(zNew, (v, i) => v - z[i]!);
    const y = Float64Array.from(next.g, (v, i) => v - cur.g[i]!);
    const sy = s.reduce((a, v, i) => a + v * y[i]!, 0);
    const df = cur.f - next.f;
    z = zNew;
    cur = next;
    if (sy > 1e-16) {
      // BFGS update of the inverse Hessian (Nocedal & Wright eq. 6.17)
      const Hy = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Hy[i]! += H[i * n + j]! * y[j]!;
      const yHy = y.reduce((a, v, i) => a + v * Hy[i]!, 0);
      const rho = 1 / sy;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] =
            H[i * n + j]! - rho * (Hy[i]! * s[j]! + s[i]! * Hy[j]!) + (rho * rho * yHy + rho) * s[i]! * s[j]!;
        }
      }
    }
    if (df < ftol * Math.max(1, Math.abs(cur.f))) {
      converged = true;
      it++;
      break;
    }
  }
  return { x: toX(z), f: cur.f, iterations: it, evaluations: box.evaluations, converged };
}

/**
 * Limited-memory BFGS (Nocedal & Wright, algorithm 7.4 two-loop recursion, m = 10 pairs) in the
 * same sigmoid-mapped box as {@link bfgsBox}, for thousands of parameters (one set per cell, as
 * smash's L-BFGS-B distributed calibration). Armijo backtracking; the first step is scaled to
 * unit length, later ones by γ = sᵀy / yᵀy. `shouldStop` is polled once per iteration.
 */
export function lbfgsBox(
  fg: (x: Float64Array) => { f: number; g: Float64Array },
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  x0: ArrayLike<number>,
  opts: {
    maxIterations?: number;
    memory?: number;
    ftol?: number;
    shouldStop?: () => boolean;
    onIteration?: (iteration: number, f: number) => void;
  } = {},
): BfgsResult {
  const box = sigmoidBox(fg, lower, upper, x0);
  const { n, toX } = box;
  const fz = (z: Float64Array) => box.fz(z);
  const maxIt = opts.maxIterations ?? 100;
  const mem = opts.memory ?? 10;
  const ftol = opts.ftol ?? 1e-10;
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
    return s;
  };
  let z = box.z0;
  let cur = fz(z);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let it = 0;
  let converged = false;
  for (; it < maxIt && !opts.shouldStop?.(); it++) {
    // two-loop recursion: d = -H g
    const q = Float64Array.from(cur.g);
    const alpha: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const a = dot(S[k]!, q) / dot(Y[k]!, S[k]!);
      alpha[k] = a;
      for (let i = 0; i < n; i++) q[i]! -= a * Y[k]![i]!;
    }
    const gamma = S.length
      ? dot(S[S.length - 1]!, Y[Y.length - 1]!) / dot(Y[Y.length - 1]!, Y[Y.length - 1]!)
      : 1 / Math.max(1e-12, Math.sqrt(dot(cur.g, cur.g)));
    for (let i = 0; i < n; i++) q[i]! *= gamma;
    for (let k = 0; k < S.length; k++) {
      const b = dot(Y[k]!, q) / dot(Y[k]!, S[k]!);
      for (let i = 0; i < n; i++) q[i]! += S[k]![i]! * (alpha[k]! - b);
    }
    const d = Float64Array.from(q, (v) => -v);
    let slope = dot(d, cur.g);
    if (!(slope < 0)) {
      S.length = 0;
      Y.length = 0;
      const gn = Math.sqrt(dot(cur.g, cur.g));
      for (let i = 0; i < n; i++) d[i] = -cur.g[i]! / Math.max(gn, 1e-12);
      slope = dot(d, cur.g);
    }
    let step = 1;
    let zNew = Float64Array.from(z, (v, i) => v + step * d[i]!);
    let next = fz(zNew);
    while (!(next.f <= cur.f + 1e-4 * step * slope) && step > 1e-10) {
      step *= 0.5;
      zNew = Float64Array.from(z, (v, i) => v + step * d[i]!);
      next = fz(zNew);
    }
    if (!(next.f <= cur.f + 1e-4 * step * slope)) break;
    const s = Float64Array.from(zNew, (v, i) => v - z[i]!);
    const y = Float64Array.from(next.g, (v, i) => v - cur.g[i]!);
    const df = cur.f - next.f;
    z = zNew;
    cur = next;
    opts.onIteration?.(it + 1, cur.f);
    if (dot(s, y) > 1e-16) {
      S.push(s);
      Y.push(y);
      if (S.length > mem) {
        S.shift();
        Y.shift();
      }
    }
    if (df < ftol * Math.max(1, Math.abs(cur.f))) {
      converged = true;
      it++;
      break;
    }
  }
  return { x: toX(z), f: cur.f, iterations: it, evaluations: box.evaluations, converged };
}

import { loadAddon } from '../compute/native/addon';

type F = Float32Array | Float64Array;

/**
 * The physics kernels of the native addon (native/src/physics.cc): C++ translations of gr4, vic3l
 * and lr routing, forward and adjoint, threaded across cells. The JavaScript kernels stay the
 * reference; these agree with them to rounding (the same operations in the same order, only the
 * libm functions tanh/exp/log/pow differ by an ulp or so).
 */
export interface PhysicsAddon {
  gr4Forward(...args: unknown[]): void;
  gr4Adjoint(...args: unknown[]): void;
  lrRoute(...args: unknown[]): void;
  vicForward(...args: unknown[]): void;
  vicAdjoint(...args: unknown[]): void;
  setPhysicsThreads(n: number): number;
  physicsInfo(): string;
}

let cached: PhysicsAddon | null | undefined;

/**
 * The native physics kernels, or null: when the addon is not built or lacks them, or when
 * FIELDCAL_NATIVE_PHYSICS=0 forces the JavaScript kernels (read on every call, so a test can switch).
 * Threads across cells: FIELDCAL_PHYSICS_THREADS (default 1: jobs already parallelise with the model
 * pool) or {@link setPhysicsThreads}.
 */
export function nativePhysics(): PhysicsAddon | null {
  if (process.env.FIELDCAL_NATIVE_PHYSICS === '0') return null;
  if (cached === undefined) {
    const { addon } = loadAddon();
    const a = addon as unknown as Partial<PhysicsAddon> | null;
    cached = a && typeof a.gr4Forward === 'function' ? (a as PhysicsAddon) : null;
    const t = Number(process.env.FIELDCAL_PHYSICS_THREADS);
    if (cached) cached.setPhysicsThreads(Number.isInteger(t) && t >= 1 ? t : 1);
  }
  return cached;
}

/** Sets the native kernels' thread count (cells split in contiguous ranges); returns the count in force. */
export function setPhysicsThreads(n: number): number {
  return nativePhysics()?.setPhysicsThreads(n) ?? 1;
}

/** A forcing series as the native kernels take it: Float32Array or Float64Array, otherwise copied. */
export const asFloat = (a: ArrayLike<number>): F =>
  a instanceof Float64Array || a instanceof Float32Array ? a : Float64Array.from(a as ArrayLike<number>);

/** Forcing arrays of one element type (the kernels are compiled per type). */
export function sameType(...arrays: ArrayLike<number>[]): F[] {
  const fs = arrays.map(asFloat);
  if (fs.every((a) => a instanceof Float32Array) || fs.every((a) => a instanceof Float64Array)) return fs;
  return fs.map((a) => (a instanceof Float64Array ? a : Float64Array.from(a)));
}

/** GR4 states of n cells, structure of arrays (uh1: nh per cell, uh2: 2 nh per cell, cell-major). */
export interface Gr4CellsState {
  S: Float64Array;
  R: Float64Array;
  uh1: Float64Array;
  uh2: Float64Array;
}

export interface Gr4CellsParams {
  X1: Float64Array;
  X2: Float64Array;
  X3: Float64Array;
  X4: Float64Array;
}

/** GR4 forward over n cells (forcing step-major [steps x n]); state updated in place; outputs step-major. */
export function gr4CellsForward(
  addon: PhysicsAddon,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  n: number,
  steps: number,
  p: Gr4CellsParams,
  percConst: number,
  nh: number,
  s: Gr4CellsState,
  out: { Q?: Float64Array; AE?: Float64Array; Perc?: Float64Array; Exch?: Float64Array },
): void {
  const [Pf, Ef] = sameType(P, E);
  addon.gr4Forward(
    Pf,
    Ef,
    n,
    steps,
    p.X1,
    p.X2,
    p.X3,
    p.X4,
    percConst,
    nh,
    s.S,
    s.R,
    s.uh1,
    s.uh2,
    out.Q ?? null,
    out.AE ?? null,
    out.Perc ?? null,
    out.Exch ?? null,
  );
}

/**
 * GR4 forward + adjoint over n cells for L = Σ gQ·Q + gAE·AE: returns per-cell gradients of X1..X4
 * and the initial S and R (6 x n: X1, X2, X3, X4, S0, R0); the state ends at the end of the run.
 */
export function gr4CellsAdjoint(
  addon: PhysicsAddon,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  n: number,
  steps: number,
  p: Gr4CellsParams,
  percConst: number,
  nh: number,
  s: Gr4CellsState,
  gQ: Float64Array,
  opts: {
    gAE?: Float64Array;
    out?: { Q?: Float64Array; AE?: Float64Array; Perc?: Float64Array; Exch?: Float64Array };
    guh1?: Float64Array;
    guh2?: Float64Array;
    gP?: Float64Array;
  } = {},
): Float64Array {
  const [Pf, Ef] = sameType(P, E);
  const grad = new Float64Array(6 * n);
  const o = opts.out ?? {};
  addon.gr4Adjoint(
    Pf,
    Ef,
    n,
    steps,
    p.X1,
    p.X2,
    p.X3,
    p.X4,
    percConst,
    nh,
    s.S,
    s.R,
    s.uh1,
    s.uh2,
    o.Q ?? null,
    o.AE ?? null,
    o.Perc ?? null,
    o.Exch ?? null,
    gQ,
    opts.gAE ?? null,
    grad,
    opts.guh1 ?? null,
    opts.guh2 ?? null,
    opts.gP ?? null,
  );
  return grad;
}

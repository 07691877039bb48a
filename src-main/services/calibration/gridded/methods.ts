import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';
import { lbfgsBox } from '../gradient/bfgs';
import { Adam, buildMlp, mlpBackward, mlpForward, type Mlp } from '../hda-pr/mlp';
import { mulberry32 } from '../random';
import { sceUa } from '../sce-ua';
import { vic3lWithGradient } from '../../physics/vic3l';
import { applyTransfer, coefficientBounds } from './mpr';
import { objectiveOf, rangePenalty, TargetLoss } from './objectives';
import { defaultValue, fullParams, type GriddedProblem } from './problem';
import type { Simulator } from './simulator';

/** What a method reports while it runs. */
export interface MethodProgress {
  iteration: number;
  total: number;
  objective: number;
  valid?: number;
  losses?: Record<string, number>;
}

/** The environment a method runs in: the model, progress, cancellation, checkpoints. */
export interface MethodContext {
  sim: Simulator;
  progress(p: MethodProgress): void;
  /** True once the user cancelled: the method stops at the next iteration boundary. */
  cancelled(): boolean;
  /** Saves a JSON-serialisable state at an iteration boundary (resumable methods). */
  checkpoint?(state: unknown): void;
  /** A state saved by `checkpoint` to continue from. */
  resume?: unknown;
}

export interface MethodResult {
  /** Calibrated parameter fields [calibrated][cells]. */
  fields: Float64Array[];
  info: Record<string, unknown>;
}

const objectiveSchema = z.enum(['spatial-rmse', 'cell-mse']).default('spatial-rmse');

/** Options of every gridded method, strict (unknown keys refused), with defaults and their sources. */
export const griddedMethodOptions = {
  'sce-ua': z.strictObject({
    objective: objectiveSchema,
    transfer: z.enum(['sigmoid', 'linear', 'uniform']).default('sigmoid'),
    // 2000 model runs as in Sun et al. 2024; the other settings are Duan et al. 1994's standard ones
    maxRuns: z.number().int().min(10).max(1_000_000).default(2000),
    complexes: z.number().int().min(1).max(50).default(2),
  }),
  gradient: z.strictObject({
    objective: objectiveSchema,
    iterations: z.number().int().min(1).max(10_000).default(60),
  }),
  ann: z.strictObject({
    objective: objectiveSchema,
    hidden: z.array(z.number().int().min(1).max(512)).max(4).default([16, 16]),
    iterations: z.number().int().min(1).max(100_000).default(150),
    learningRate: z.number().positive().max(1).default(0.01),
    validEvery: z.number().int().min(1).default(10),
  }),
  dpl: z.strictObject({
    objective: objectiveSchema,
    hidden: z.array(z.number().int().min(1).max(512)).max(4).default([32, 32]),
    epochs: z.number().int().min(1).max(10_000).default(12),
    batchCells: z.number().int().min(1).default(64),
    // Tsai et al. 2021 train on windows of the series after a warm-up; 30-day windows as issue 6 asks
    window: z.number().int().min(1).default(30),
    warmup: z.number().int().min(0).default(180),
    learningRate: z.number().positive().max(1).default(0.01),
  }),
} as const;
export type GriddedMethod = keyof typeof griddedMethodOptions;
export const GRIDDED_METHODS = Object.keys(griddedMethodOptions) as GriddedMethod[];

/** Validates a method's options, answering a typed error naming the offending field. */
export function parseMethodOptions<M extends GriddedMethod>(
  method: M,
  input: unknown,
): z.output<(typeof griddedMethodOptions)[M]> {
  const r = griddedMethodOptions[method].safeParse(input ?? {});
  if (r.success) return r.data as z.output<(typeof griddedMethodOptions)[M]>;
  const i = r.error.issues[0]!;
  const field = i.path.map(String).join('.') || '(root)';
  throw new FieldcalError('VALIDATION', `${method} options: ${field}: ${i.message}`, {
    field: `options.${field}`,
  });
}

/** Runs a gridded calibration method; the result holds the calibrated fields. */
export function runGriddedMethod(
  pr: GriddedProblem,
  method: GriddedMethod,
  options: unknown,
  seed: number,
  ctx: MethodContext,
): MethodResult {
  switch (method) {
    case 'sce-ua':
      return sceUaMpr(pr, parseMethodOptions('sce-ua', options), seed, ctx);
    case 'gradient':
      return perCellGradient(pr, parseMethodOptions('gradient', options), ctx);
    case 'ann':
      return annRegionalization(pr, parseMethodOptions('ann', options), seed, ctx);
    case 'dpl':
      return dpl(pr, parseMethodOptions('dpl', options), seed, ctx);
  }
}

/** SCE-UA (Duan et al. 1992) over MPR transfer-function coefficients, objective on the training period. */
function sceUaMpr(
  pr: GriddedProblem,
  o: z.output<(typeof griddedMethodOptions)['sce-ua']>,
  seed: number,
  ctx: MethodContext,
): MethodResult {
  const { lower, upper } = coefficientBounds(pr, o.transfer);
  const [t0, t1] = pr.periods.train;
  let runs = 0;
  const f = (x: Float64Array) => {
    runs++;
    if (ctx.cancelled()) return Number.POSITIVE_INFINITY;
    const et = ctx.sim.run(fullParams(pr, applyTransfer(pr, o.transfer, x)), t1);
    return objectiveOf(o.objective, et, pr.target.obs, t0, t1, pr.cells);
  };
  const r = sceUa(f, lower, upper, { maxRuns: o.maxRuns, complexes: o.complexes, seed }, (loop, best, n) =>
    ctx.progress({ iteration: n, total: o.maxRuns, objective: best, losses: { loop } }),
  );
  return {
    fields: applyTransfer(pr, o.transfer, r.best),
    info: { transfer: o.transfer, coefficients: Array.from(r.best), runs: r.runs, loops: r.loops, stop: r.stop },
  };
}

/** Box-constrained quasi-Newton on every cell's parameters with the exact adjoint gradient (smash's distributed mapping). */
function perCellGradient(
  pr: GriddedProblem,
  o: z.output<(typeof griddedMethodOptions)['gradient']>,
  ctx: MethodContext,
): MethodResult {
  const k = pr.calibrated.length;
  const n = pr.cells;
  const [t0, t1] = pr.periods.train;
  const lower = new Float64Array(k * n);
  const upper = new Float64Array(k * n);
  const x0 = new Float64Array(k * n);
  pr.calibrated.forEach((name, j) => {
    const d = defaultValue(name);
    for (let c = 0; c < n; c++) {
      lower[j * n + c] = pr.lower[j]!;
      upper[j * n + c] = pr.upper[j]!;
      // start from the structure default, nudged inside the box
      x0[j * n + c] = Math.min(pr.upper[j]! - 1e-6 * (pr.upper[j]! - pr.lower[j]!), Math.max(pr.lower[j]! + 1e-6, d));
    }
  });
  const fields = (x: Float64Array) => pr.calibrated.map((_, j) => x.subarray(j * n, (j + 1) * n));
  let evals = 0;
  const r = lbfgsBox(
    (x) => {
      const { f, g } = ctx.sim.lossGrad(fullParams(pr, fields(x)), o.objective, t0, t1);
      evals++;
      const gx = new Float64Array(k * n);
      pr.calibrated.forEach((name, j) => gx.set(g[name], j * n));
      return { f, g: gx };
    },
    lower,
    upper,
    x0,
    {
      maxIterations: o.iterations,
      shouldStop: () => ctx.cancelled(),
      onIteration: (iteration, f) => ctx.progress({ iteration, total: o.iterations, objective: f, losses: { evaluations: evals } }),
    },
  );
  return { fields: fields(r.x).map((a) => Float64Array.from(a)), info: { iterations: r.iterations, evaluations: r.evaluations, objective: r.f } };
}

/** Network output (sigmoid, [cells x k]) to parameter fields inside the bounds. */
function netFields(pr: GriddedProblem, out: Float64Array, rows: number[]): Float64Array[] {
  const k = pr.calibrated.length;
  return pr.calibrated.map((_, j) =>
    Float64Array.from(rows, (_, i) => pr.lower[j]! + (pr.upper[j]! - pr.lower[j]!) * out[i * k + j]!),
  );
}

function descriptorRows(pr: GriddedProblem, rows: number[]): Float64Array {
  const nd = pr.descriptorNames.length;
  const x = new Float64Array(rows.length * nd);
  rows.forEach((c, i) => x.set(pr.descriptors.subarray(c * nd, (c + 1) * nd), i * nd));
  return x;
}

interface NetState {
  weights: number[][];
  biases: number[][];
  adam: ReturnType<Adam['state']>;
  iteration: number;
  best: { valid: number; weights: number[][]; biases: number[][]; iteration: number } | null;
  rng?: number;
}

const snapshot = (net: Mlp) => ({
  weights: net.weights.map((w) => Array.from(w)),
  biases: net.biases.map((b) => Array.from(b)),
});

function restoreNet(net: Mlp, s: { weights: number[][]; biases: number[][] }): void {
  s.weights.forEach((w, l) => net.weights[l]!.set(w));
  s.biases.forEach((b, l) => net.biases[l]!.set(b));
}

/** Validation objective of a network over the validation period (forward from the start). */
function validObjective(pr: GriddedProblem, net: Mlp, all: number[], kind: z.output<typeof objectiveSchema>, ctx: MethodContext) {
  const [v0, v1] = pr.periods.valid;
  if (v1 <= v0) return Number.NaN;
  const { out } = mlpForward(net, descriptorRows(pr, all), all.length);
  const et = ctx.sim.run(fullParams(pr, netFields(pr, out, all)), v1);
  return objectiveOf(kind, et, pr.target.obs, v0, v1, pr.cells);
}

/**
 * HDA-PR-style regionalization on a gridded target (Huynh et al.): an ANN (or, with no hidden
 * layer, the multi-linear mapping) from descriptors to parameter fields, trained full-batch with
 * Adam through the model's adjoint on the training period; the iteration with the best validation
 * objective is kept.
 */
function annRegionalization(
  pr: GriddedProblem,
  o: z.output<(typeof griddedMethodOptions)['ann']>,
  seed: number,
  ctx: MethodContext,
): MethodResult {
  const k = pr.calibrated.length;
  const all = Array.from({ length: pr.cells }, (_, c) => c);
  const x = descriptorRows(pr, all);
  const net = buildMlp([pr.descriptorNames.length, ...o.hidden, k], seed);
  const adam = new Adam([...net.weights, ...net.biases], o.learningRate);
  let it = 0;
  let best: NetState['best'] = null;
  const saved = ctx.resume as NetState | undefined;
  if (saved) {
    restoreNet(net, saved);
    adam.restore(saved.adam);
    it = saved.iteration;
    best = saved.best;
  }
  const [t0, t1] = pr.periods.train;
  let last = Number.NaN;
  for (; it < o.iterations && !ctx.cancelled(); ) {
    const { out, acts } = mlpForward(net, x, pr.cells);
    const fields = netFields(pr, out, all);
    const { f, g } = ctx.sim.lossGrad(fullParams(pr, fields), o.objective, t0, t1);
    const gOut = new Float64Array(pr.cells * k);
    pr.calibrated.forEach((name, j) => {
      const span = pr.upper[j]! - pr.lower[j]!;
      for (let c = 0; c < pr.cells; c++) gOut[c * k + j] = g[name][c]! * span;
    });
    const { gw, gb } = mlpBackward(net, acts, gOut, pr.cells);
    adam.step([...net.weights, ...net.biases], [...gw, ...gb]);
    it++;
    last = f;
    let valid: number | undefined;
    if (it % o.validEvery === 0 || it === o.iterations) {
      valid = validObjective(pr, net, all, o.objective, ctx);
      if (!best || valid < best.valid) best = { valid, ...snapshot(net), iteration: it };
    }
    ctx.progress({ iteration: it, total: o.iterations, objective: f, valid });
    ctx.checkpoint?.({ ...snapshot(net), adam: adam.state(), iteration: it, best } satisfies NetState);
  }
  if (best && Number.isFinite(best.valid)) restoreNet(net, best);
  const { out } = mlpForward(net, x, pr.cells);
  return {
    fields: netFields(pr, out, all),
    info: { iterations: it, bestIteration: best?.iteration ?? it, bestValid: best?.valid ?? null, lastTrain: last, hidden: o.hidden },
  };
}

/**
 * dPL g_A (Tsai et al. 2021, Nat. Commun. 12): a network maps each cell's descriptors to its
 * parameters and trains through the differentiable model with Adam on minibatches of cells x
 * windows of the training period, each window preceded by a warm-up run from half-full stores;
 * loss = objective on the window + range penalty L_R (Sun et al. 2024 eq. 2); the epoch with the
 * best validation objective is kept.
 */
function dpl(
  pr: GriddedProblem,
  o: z.output<(typeof griddedMethodOptions)['dpl']>,
  seed: number,
  ctx: MethodContext,
): MethodResult {
  const k = pr.calibrated.length;
  const n = pr.cells;
  const all = Array.from({ length: n }, (_, c) => c);
  const net = buildMlp([pr.descriptorNames.length, ...o.hidden, k], seed);
  const adam = new Adam([...net.weights, ...net.biases], o.learningRate);
  const [tr0, tr1] = pr.periods.train;
  const windows: number[] = [];
  for (let s = tr0; s + o.window <= tr1; s += o.window) windows.push(s);
  if (!windows.length)
    throw new FieldcalError('VALIDATION', `training period is shorter than one ${o.window}-step window`, {
      field: 'periods.train',
    });
  let epoch = 0;
  let best: NetState['best'] = null;
  let rngState = seed ^ 0x5bd1e995;
  const saved = ctx.resume as NetState | undefined;
  if (saved) {
    restoreNet(net, saved);
    adam.restore(saved.adam);
    epoch = saved.iteration;
    best = saved.best;
    rngState = saved.rng!;
  }
  const { P, PET, T } = pr.forcing;
  let lastTrain = Number.NaN;
  while (epoch < o.epochs && !ctx.cancelled()) {
    const rand = mulberry32(rngState);
    rngState = Math.floor(rand() * 2 ** 32);
    const order = shuffle(all.slice(), rand);
    const batches: number[][] = [];
    for (let i = 0; i < n; i += o.batchCells) batches.push(order.slice(i, i + o.batchCells));
    const pairs = shuffle(
      batches.flatMap((b) => windows.map((w) => [b, w] as const)),
      rand,
    );
    let sum = 0;
    for (const [cellsB, ws] of pairs) {
      const s0 = Math.max(0, ws - o.warmup);
      const len = ws + o.window - s0;
      const m = cellsB.length;
      const sub = (a: ArrayLike<number>) => {
        const v = new Float64Array(len * m);
        for (let t = 0; t < len; t++) for (let i = 0; i < m; i++) v[t * m + i] = a[(s0 + t) * n + cellsB[i]!]!;
        return v;
      };
      const { out, acts } = mlpForward(net, descriptorRows(pr, cellsB), m);
      const fields = netFields(pr, out, cellsB);
      const loss = new TargetLoss(o.objective, 'ET', ws - s0, len, (t, i) => pr.target.obs[(s0 + t) * n + cellsB[i]!]!, m);
      const params = fullParamsFor(pr, fields, m);
      const { gradient } = vic3lWithGradient(params, { P: sub(P), PET: sub(PET), T: T && sub(T) }, len, loss, {
        dt: pr.dt,
      });
      const gFields = pr.calibrated.map((name) => Float64Array.from(gradient[name]));
      const lr = rangePenalty(fields, pr.lower, pr.upper, gFields);
      const gOut = new Float64Array(m * k);
      pr.calibrated.forEach((_, j) => {
        const span = pr.upper[j]! - pr.lower[j]!;
        for (let i = 0; i < m; i++) gOut[i * k + j] = gFields[j]![i]! * span;
      });
      const { gw, gb } = mlpBackward(net, acts, gOut, m);
      adam.step([...net.weights, ...net.biases], [...gw, ...gb]);
      sum += loss.value + lr;
    }
    epoch++;
    lastTrain = sum / pairs.length;
    const valid = validObjective(pr, net, all, o.objective, ctx);
    if (!best || valid < best.valid) best = { valid, ...snapshot(net), iteration: epoch };
    ctx.progress({ iteration: epoch, total: o.epochs, objective: lastTrain, valid });
    ctx.checkpoint?.({ ...snapshot(net), adam: adam.state(), iteration: epoch, best, rng: rngState } satisfies NetState);
  }
  if (best && Number.isFinite(best.valid)) restoreNet(net, best);
  const { out } = mlpForward(net, descriptorRows(pr, all), n);
  return {
    fields: netFields(pr, out, all),
    info: { epochs: epoch, bestEpoch: best?.iteration ?? epoch, bestValid: best?.valid ?? null, lastTrain, windows: windows.length },
  };
}

/** Full parameter fields for a subset of m cells (uncalibrated ones at their defaults). */
function fullParamsFor(pr: GriddedProblem, fields: Float64Array[], m: number) {
  return fullParams({ ...pr, cells: m }, fields);
}

function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

import type { z } from 'zod';
import { FieldcalError } from '../../../../../src-shared/ipc';
import { vic3lWithGradient } from '../../../physics/vic3l';
import { buildMlp, mlpBackward, mlpForward } from '../../nets/mlp';
import { AutoClip } from '../../optim/autoClip';
import { Adam } from '../../optim/adam';
import { descriptorRows, fullParamsFor, netFields, shuffle, validObjective } from '../../gridded/network';
import { lossTarget, targetAsInput, targetStepsIn, targetStepsOf } from '../../gridded/coarse';
import { rangePenalty, TargetLoss } from '../../gridded/objectives';
import { targetOutput, type GriddedProblem } from '../../gridded/problem';
import { runner, type GriddedContext, type MethodDefinition, type MethodResult } from '../../method';
import { mulberry32 } from '../../random';
import { buildLstm, lstmBackward, lstmForward, lstmParams } from '../../nets/lstm';
import { dplOptions } from './options';
import type * as TfModule from '@tensorflow/tfjs';
import { targetObjective, type GriddedObjective } from '../../gridded/objectives';
import {
  finalThroughSurrogate,
  prepareSurrogate,
  surrogateInfo,
  surrogateTarget,
  updatePrepared,
  type PreparedSurrogate,
} from '../../gridded/surrogate';

/**
 * The objective of a window through a surrogate, and its gradient to every cell's calibrated
 * parameters ([calibrated][cells]), by tf autodiff through the surrogate's forward. Loss on the
 * observed values of the cells with weight 1 in `cellMask`: spatial-rmse = the mean over steps of
 * the RMSE across cells (Dembélé et al. 2020, eq. 6, as TargetLoss), cell-mse = the mean squared error.
 */
function surrogateLossGrad(
  tf: typeof TfModule,
  p: PreparedSurrogate,
  pr: GriddedProblem,
  fields: Float64Array[],
  w0: number,
  w1: number,
  cellMask: Float32Array,
  kind: GriddedObjective,
  cache: Float64Array | null,
): { f: number; g: Float64Array[] } {
  const n = pr.cells;
  const k = pr.calibrated.length;
  const len = w1 - w0;
  // the LSTM's cells are independent sequences: it simulates the loss's cells alone (the same loss
  // and gradient); the ARnet's image needs the whole grid
  const only = p.surrogate.kind === 'lstm' ? [...cellMask.keys()].filter((c) => cellMask[c]) : null;
  const cols = only ?? [...cellMask.keys()];
  const nc = cols.length;
  const obs = new Float32Array(len * nc);
  const m = new Float32Array(len * nc);
  for (let t = 0; t < len; t++)
    cols.forEach((c, i) => {
      const v = pr.target.obs[(w0 + t) * n + c]!;
      if (cellMask[c] && Number.isFinite(v)) {
        obs[t * nc + i] = v;
        m[t * nc + i] = 1;
      }
    });
  const x = new Float32Array(n * k);
  fields.forEach((f, j) => f.forEach((v, c) => (x[c * k + j] = v)));
  const { value, grad } = tf.tidy(() => {
    const o = tf.tensor2d(obs, [len, nc]);
    const mk = tf.tensor2d(m, [len, nc]);
    return tf.valueAndGrad((params: TfModule.Tensor) => {
      const sim =
        p.surrogate.kind === 'lstm' && only
          ? p.surrogate.forward(params as TfModule.Tensor2D, w0, w1, undefined, only)
          : surrogateTarget(p, params as TfModule.Tensor2D, w0, w1, cache);
      const se = tf.mul(tf.square(tf.sub(sim, o)), mk);
      if (kind === 'cell-mse') return tf.div(tf.sum(se), tf.maximum(tf.sum(mk), 1)) as TfModule.Scalar;
      const counts = tf.sum(mk, 1);
      const has = tf.step(tf.sub(counts, 0.5));
      const rmse = tf.sqrt(tf.add(tf.div(tf.sum(se, 1), tf.maximum(counts, 1)), 1e-12));
      return tf.div(tf.sum(tf.mul(rmse, has)), tf.maximum(tf.sum(has), 1)) as TfModule.Scalar;
    })(tf.tensor2d(x, [n, k]));
  });
  const f = value.dataSync()[0]!;
  const gv = grad.dataSync();
  tf.dispose([value, grad]);
  return { f, g: pr.calibrated.map((_, j) => Float64Array.from({ length: n }, (_, c) => gv[c * k + j]!)) };
}

/** A parameter network: outputs in (0, 1) for a set of cells, and its backward pass. */
interface Encoder {
  params: Float64Array[];
  forward(cells: number[]): { out: Float64Array; backward(gOut: Float64Array): Float64Array[] };
}

/** g_A: an MLP from each cell's standardised descriptors. */
function descriptorEncoder(pr: GriddedProblem, hidden: number[], seed: number): Encoder {
  const net = buildMlp([pr.descriptorNames.length, ...hidden, pr.calibrated.length], seed);
  return {
    params: [...net.weights, ...net.biases],
    forward(cells) {
      const m = cells.length;
      const { out, acts } = mlpForward(net, descriptorRows(pr, cells), m);
      return {
        out,
        backward: (g) => {
          const { gw, gb } = mlpBackward(net, acts, g, m);
          return [...gw, ...gb];
        },
      };
    },
  };
}

/**
 * g_z: an LSTM reading, for each cell, `history` steps from the start of the training period of
 * its forcing (P, PET, T when given) and observed target (0 where missing), each standardised over
 * the domain, with the cell's descriptors appended to every step.
 */
function historyEncoder(pr: GriddedProblem, hidden: number, history: number, seed: number): Encoder {
  const [t0, t1] = pr.periods.train;
  const L = Math.min(history, t1 - t0);
  const n = pr.cells;
  const nd = pr.descriptorNames.length;
  // an input, not a comparison: a coarse target's value is read on each of its model steps
  const series = [pr.forcing.P, pr.forcing.PET, ...(pr.forcing.T ? [pr.forcing.T] : []), targetAsInput(pr)];
  const stats = series.map((a) => {
    let s = 0;
    let s2 = 0;
    let c = 0;
    for (let t = t0; t < t0 + L; t++)
      for (let i = 0; i < n; i++) {
        const v = a[t * n + i]!;
        if (!Number.isFinite(v)) continue;
        s += v;
        s2 += v * v;
        c++;
      }
    const mean = c ? s / c : 0;
    return { mean, sd: Math.sqrt(Math.max(c ? s2 / c - mean * mean : 0, 0)) || 1 };
  });
  const nIn = series.length + nd;
  const net = buildLstm(nIn, hidden, pr.calibrated.length, seed);
  return {
    params: lstmParams(net),
    forward(cells) {
      const m = cells.length;
      const x = new Float64Array(m * L * nIn);
      cells.forEach((c, i) => {
        for (let t = 0; t < L; t++) {
          const o = (i * L + t) * nIn;
          series.forEach((a, v) => {
            const val = a[(t0 + t) * n + c]!;
            x[o + v] = Number.isFinite(val) ? (val - stats[v]!.mean) / stats[v]!.sd : 0;
          });
          for (let j = 0; j < nd; j++) x[o + series.length + j] = pr.descriptors[c * nd + j]!;
        }
      });
      const tape = lstmForward(net, x, m, L);
      return { out: tape.out, backward: (g) => lstmBackward(net, tape, g) };
    },
  };
}

interface DplState {
  params: number[][];
  adam: ReturnType<Adam['state']>;
  iteration: number;
  best: { valid: number; params: number[][]; iteration: number } | null;
  rng: number;
  /** AutoClip's gradient norms so far (absent in checkpoints written before it). */
  norms?: number[];
}

/** The training windows' starts; refuses a period shorter than a window, or windows holding no whole coarse step. */
function dplWindows(pr: GriddedProblem, o: z.output<typeof dplOptions>): number[] {
  const n = pr.cells;
  const [tr0, tr1] = pr.periods.train;
  const windows: number[] = [];
  for (let s = tr0; s + o.window <= tr1; s += o.window) windows.push(s);
  if (!windows.length)
    throw new FieldcalError('VALIDATION', `training period is shorter than one ${o.window}-step window`, {
      field: 'periods.train',
    });
  const coarse = pr.target.coarse;
  // a coarse target step counts in a window only when all its model steps are in it
  if (coarse && !windows.some((w) => targetStepsIn(coarse, targetStepsOf(coarse, n), w, w + o.window).length))
    throw new FieldcalError(
      'VALIDATION',
      `no ${o.window}-step training window holds a whole step of the coarse target: lengthen options.window (a month needs at least 31 daily steps)`,
      { field: 'options.window' },
    );
  return windows;
}

/**
 * dPL (see {@link dplTrain}); the windows are checked before anything runs, so a bad request
 * throws at once.
 */
export function dpl(
  pr: GriddedProblem,
  o: z.output<typeof dplOptions>,
  seed: number,
  ctx: GriddedContext,
): Promise<MethodResult> {
  dplWindows(pr, o);
  return dplTrain(pr, o, seed, ctx);
}

/**
 * dPL (Tsai et al. 2021, Nat. Commun. 12): a network (g_A from descriptors, or g_z, an LSTM over
 * each cell's history) gives every cell its parameters and trains through the differentiable model
 * with Adam on minibatches of cells x windows of the training period, each window preceded by a
 * warm-up run from half-full stores; loss = objective on the window + range penalty L_R (Sun et
 * al. 2024 eq. 2); the epoch with the best validation objective is kept. Checkpoints after each
 * epoch hold the weights, Adam's moments and the generator state, so a resumed run ends where an
 * uninterrupted one does.
 */
async function dplTrain(
  pr: GriddedProblem,
  o: z.output<typeof dplOptions>,
  seed: number,
  ctx: GriddedContext,
): Promise<MethodResult> {
  const k = pr.calibrated.length;
  const n = pr.cells;
  const all = Array.from({ length: n }, (_, c) => c);
  const enc =
    o.g === 'z' ? historyEncoder(pr, o.lstmHidden, o.history, seed) : descriptorEncoder(pr, o.hidden, seed);
  const adam = new Adam(enc.params, o.learningRate);
  let clipper = new AutoClip(o.clipPercentile);
  const tr1 = pr.periods.train[1];
  const windows = dplWindows(pr, o);
  const coarse = pr.target.coarse;
  const perStep = o.windowsPerStep ?? (o.g === 'z' ? windows.length : 1);
  const target = targetOutput(pr.target.name);
  const snap = () => enc.params.map((a) => Array.from(a));
  const restore = (p: number[][]) => p.forEach((a, i) => enc.params[i]!.set(a));
  let epoch = 0;
  let best: DplState['best'] = null;
  let rngState = seed ^ 0x5bd1e995;
  const saved = ctx.resume as DplState | undefined;
  if (saved) {
    restore(saved.params);
    adam.restore(saved.adam);
    // a checkpoint from before AutoClip: the run goes on as it began, unclipped
    clipper = saved.norms ? new AutoClip(o.clipPercentile, saved.norms) : new AutoClip(100);
    epoch = saved.iteration;
    best = saved.best;
    rngState = saved.rng;
  }
  const { P, PET, T } = pr.forcing;
  let lastTrain = Number.NaN;
  /** One Adam step on the clipped gradient; none for a non-finite one. */
  const adamStep = (g: Float64Array[]) => {
    if (clipper.clip(g) > 0) adam.step(enc.params, g);
  };
  // h() through a surrogate: made (or reused) first, its time counted in the run's
  const started = performance.now();
  let prep: PreparedSurrogate | null = null;
  if (o.physics !== 'exact') {
    prep = await prepareSurrogate(pr, o, ctx);
    if (!prep)
      return {
        fields: netFields(pr, enc.forward(all).out, n),
        info: { g: o.g, epochs: 0, cancelled: 'while making the surrogate' },
      };
  }
  const surrogateSeconds = (performance.now() - started) / 1000;
  const tEnd = Math.max(tr1, pr.periods.valid[1]);
  // minibatches on the model pool where the job has one (a coarse target stays on this thread)
  const pool = !prep && !coarse && ctx.sim.windowLossGrad ? ctx.sim : null;
  let sCache: Float64Array | null = null;
  const refreshCache = () => {
    if (prep?.surrogate.kind === 'arnet')
      sCache = prep.surrogate.predict(netFields(pr, enc.forward(all).out, n), 0, tEnd);
  };
  refreshCache();
  while (epoch < o.epochs && !ctx.cancelled()) {
    const rand = mulberry32(rngState);
    rngState = Math.floor(rand() * 2 ** 32);
    const order = shuffle(all.slice(), rand);
    const steps: Array<{ cells: number[]; windows: number[] }> = [];
    for (let i = 0; i < n; i += o.batchCells) {
      const cells = order.slice(i, i + o.batchCells);
      const ws = shuffle(windows.slice(), rand);
      for (let w = 0; w < ws.length; w += perStep) steps.push({ cells, windows: ws.slice(w, w + perStep) });
    }
    shuffle(steps, rand);
    let sum = 0;
    let terms = 0;
    for (const step of steps) {
      if (prep) {
        // through the surrogate, the loss on the step's cells. The ARnet's image needs the network
        // on every cell; the LSTM's cells are independent sequences, so the network runs on the
        // step's cells alone, in ascending order: its outputs are those rows of the whole grid's,
        // and its weight gradients add the same terms in the same order (the other cells' are
        // zeros), so the step is the whole grid's to the last bit at an eighth of the network's cost
        const rows = prep.surrogate.kind === 'lstm' ? step.cells.slice().sort((a, b) => a - b) : all;
        const m = rows.length;
        const f = enc.forward(rows);
        const own = netFields(pr, f.out, m);
        const fields =
          m === n
            ? own
            : own.map((v) => {
                const full = new Float64Array(n);
                rows.forEach((c, i) => (full[c] = v[i]!));
                return full;
              });
        const gFields = pr.calibrated.map(() => new Float64Array(m));
        const cellMask = new Float32Array(n);
        for (const c of step.cells) cellMask[c] = 1;
        for (const ws of step.windows) {
          const r = surrogateLossGrad(
            ctx.compute.tf,
            prep,
            pr,
            fields,
            ws,
            ws + o.window,
            cellMask,
            o.objective,
            sCache,
          );
          pr.calibrated.forEach((_, j) => {
            for (let i = 0; i < m; i++) gFields[j]![i]! += r.g[j]![rows[i]!]! / step.windows.length;
          });
          sum += r.f;
          terms++;
        }
        sum += rangePenalty(own, pr.lower, pr.upper, gFields);
        const gOut = new Float64Array(m * k);
        pr.calibrated.forEach((_, j) => {
          const span = pr.upper[j]! - pr.lower[j]!;
          for (let i = 0; i < m; i++) gOut[i * k + j] = gFields[j]![i]! * span;
        });
        adamStep(f.backward(gOut));
        continue;
      }
      const m = step.cells.length;
      const f = enc.forward(step.cells);
      const fields = netFields(pr, f.out, m);
      const params = fullParamsFor(pr, fields, m);
      const gFields = pr.calibrated.map(() => new Float64Array(m));
      for (const ws of step.windows) {
        const s0 = Math.max(0, ws - o.warmup);
        if (pool) {
          // the model pool's threads run the step's cells, each its block's share
          const r = pool.windowLossGrad!(step.cells, params, o.objective, s0, ws, ws + o.window);
          pr.calibrated.forEach((name, j) => {
            for (let i = 0; i < m; i++) gFields[j]![i]! += r.g[name][i]! / step.windows.length;
          });
          sum += r.f;
          terms++;
          continue;
        }
        const len = ws + o.window - s0;
        const sub = (a: ArrayLike<number>) => {
          const v = new Float64Array(len * m);
          for (let t = 0; t < len; t++)
            for (let i = 0; i < m; i++) v[t * m + i] = a[(s0 + t) * n + step.cells[i]!]!;
          return v;
        };
        const co = coarse && lossTarget(coarse, n, s0, len, step.cells);
        const loss = co
          ? new TargetLoss(
              o.objective,
              target.output,
              ws - s0,
              len,
              co.obs,
              m,
              undefined,
              target.scale,
              co.bins,
            )
          : new TargetLoss(
              o.objective,
              target.output,
              ws - s0,
              len,
              (t, i) => pr.target.obs[(s0 + t) * n + step.cells[i]!]!,
              m,
              undefined,
              target.scale,
            );
        const { gradient } = vic3lWithGradient(
          params,
          { P: sub(P), PET: sub(PET), T: T && sub(T) },
          len,
          loss,
          {
            dt: pr.dt,
          },
        );
        pr.calibrated.forEach((name, j) => {
          for (let i = 0; i < m; i++) gFields[j]![i]! += gradient[name][i]! / step.windows.length;
        });
        sum += loss.value;
        terms++;
      }
      sum += rangePenalty(fields, pr.lower, pr.upper, gFields);
      const gOut = new Float64Array(m * k);
      pr.calibrated.forEach((_, j) => {
        const span = pr.upper[j]! - pr.lower[j]!;
        for (let i = 0; i < m; i++) gOut[i * k + j] = gFields[j]![i]! * span;
      });
      adamStep(f.backward(gOut));
    }
    epoch++;
    lastTrain = sum / terms;
    if (prep && o.updateEvery > 0 && epoch % o.updateEvery === 0 && epoch < o.epochs)
      await updatePrepared(prep, pr, netFields(pr, enc.forward(all).out, n), o, ctx);
    if (prep) refreshCache();
    const v = validObjective(pr, enc.forward(all).out, o.objective, ctx);
    // no validation period (NaN): nothing is selected, the last epoch is kept
    if (Number.isFinite(v) && (!best || v < best.valid))
      best = { valid: v, params: snap(), iteration: epoch };
    ctx.progress({ iteration: epoch, total: o.epochs, objective: lastTrain, valid: v });
    ctx.checkpoint?.({
      params: snap(),
      adam: adam.state(),
      iteration: epoch,
      best,
      rng: rngState,
      norms: clipper.history(),
    } satisfies DplState);
  }
  if (best && Number.isFinite(best.valid)) restore(best.params);
  const final = netFields(pr, enc.forward(all).out, n);
  const seconds = (performance.now() - started) / 1000;
  let surrogate: Record<string, unknown> | null = null;
  if (prep) {
    // the final fields through the surrogate (the job evaluates them on the exact model)
    const [v0, v1] = pr.periods.valid;
    const simS = finalThroughSurrogate(prep, pr, final, tEnd, ctx);
    surrogate = {
      ...surrogateInfo(prep, o),
      seconds: surrogateSeconds + prep.updateSeconds,
      evaluation: {
        valid: v1 > v0 ? targetObjective(o.objective, pr.target, simS, v0, v1, n) : null,
        validExact: best?.valid ?? null,
      },
    };
    prep.surrogate.dispose();
  }
  return {
    fields: final,
    info: {
      physics: o.physics,
      ...(surrogate ? { surrogate } : {}),
      seconds,
      g: o.g,
      epochs: epoch,
      bestEpoch: best?.iteration ?? epoch,
      bestValid: best?.valid ?? null,
      lastTrain,
      windows: windows.length,
      windowsPerStep: perStep,
    },
  };
}

export const dplMethod: MethodDefinition = {
  description: 'dPL g_A (Tsai et al. 2021): network from descriptors, minibatches of cells x windows',
  resumable: true,
  problems: { gridded: runner({ options: dplOptions, run: dpl }) },
};

import type { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';
import { vic3lWithGradient } from '../../physics/vic3l';
import { Adam, buildMlp, mlpBackward, mlpForward } from '../hda-pr/mlp';
import {
  descriptorRows,
  fullParamsFor,
  netFields,
  restoreNet,
  shuffle,
  snapshot,
  validObjective,
  type NetState,
} from '../gridded/network';
import { rangePenalty, TargetLoss } from '../gridded/objectives';
import type { GriddedProblem } from '../gridded/problem';
import type { MethodContext, MethodResult } from '../gridded/context';
import { mulberry32 } from '../random';
import type { dplOptions } from './options';

/**
 * dPL g_A (Tsai et al. 2021, Nat. Commun. 12): a network maps each cell's descriptors to its
 * parameters and trains through the differentiable model with Adam on minibatches of cells x
 * windows of the training period, each window preceded by a warm-up run from half-full stores;
 * loss = objective on the window + range penalty L_R (Sun et al. 2024 eq. 2); the epoch with the
 * best validation objective is kept.
 */
export function dpl(
  pr: GriddedProblem,
  o: z.output<typeof dplOptions>,
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
        for (let t = 0; t < len; t++)
          for (let i = 0; i < m; i++) v[t * m + i] = a[(s0 + t) * n + cellsB[i]!]!;
        return v;
      };
      const { out, acts } = mlpForward(net, descriptorRows(pr, cellsB), m);
      const fields = netFields(pr, out, cellsB);
      const loss = new TargetLoss(
        o.objective,
        'ET',
        ws - s0,
        len,
        (t, i) => pr.target.obs[(s0 + t) * n + cellsB[i]!]!,
        m,
      );
      const params = fullParamsFor(pr, fields, m);
      const { gradient } = vic3lWithGradient(
        params,
        { P: sub(P), PET: sub(PET), T: T && sub(T) },
        len,
        loss,
        {
          dt: pr.dt,
        },
      );
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
    ctx.checkpoint?.({
      ...snapshot(net),
      adam: adam.state(),
      iteration: epoch,
      best,
      rng: rngState,
    } satisfies NetState);
  }
  if (best && Number.isFinite(best.valid)) restoreNet(net, best);
  const { out } = mlpForward(net, descriptorRows(pr, all), n);
  return {
    fields: netFields(pr, out, all),
    info: {
      epochs: epoch,
      bestEpoch: best?.iteration ?? epoch,
      bestValid: best?.valid ?? null,
      lastTrain,
      windows: windows.length,
    },
  };
}

import type { z } from 'zod';
import { buildMlp, mlpBackward, mlpForward } from '../../nets/mlp';
import { Adam } from '../../optim/adam';
import {
  descriptorRows,
  netFields,
  restoreNet,
  snapshot,
  validObjective,
  type NetState,
} from '../../gridded/network';
import { fullParams, type GriddedProblem } from '../../gridded/problem';
import { runner, type GriddedContext, type MethodDefinition, type MethodResult } from '../../method';
import { annGriddedOptions } from './options';

/**
 * HDA-PR-style regionalization on a gridded target (Huynh et al.): an ANN (or, with no hidden
 * layer, the multi-linear mapping) from descriptors to parameter fields, trained full-batch with
 * Adam through the model's adjoint on the training period; the iteration with the best validation
 * objective is kept.
 */
export function annRegionalization(
  pr: GriddedProblem,
  o: z.output<typeof annGriddedOptions>,
  seed: number,
  ctx: GriddedContext,
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
  for (; it < o.iterations && !ctx.cancelled();) {
    const { out, acts } = mlpForward(net, x, pr.cells);
    const fields = netFields(pr, out, pr.cells);
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
      valid = validObjective(pr, mlpForward(net, x, pr.cells).out, o.objective, ctx);
      // no validation period (NaN): nothing is selected, the last iterate is kept
      if (Number.isFinite(valid) && (!best || valid < best.valid))
        best = { valid, ...snapshot(net), iteration: it };
    }
    ctx.progress({ iteration: it, total: o.iterations, objective: f, valid });
    ctx.checkpoint?.({ ...snapshot(net), adam: adam.state(), iteration: it, best } satisfies NetState);
  }
  if (best && Number.isFinite(best.valid)) restoreNet(net, best);
  const { out } = mlpForward(net, x, pr.cells);
  return {
    fields: netFields(pr, out, pr.cells),
    info: {
      iterations: it,
      bestIteration: best?.iteration ?? it,
      bestValid: best?.valid ?? null,
      lastTrain: last,
      hidden: o.hidden,
    },
  };
}

export const annMethod: MethodDefinition = {
  description:
    'HDA-PR-style regionalization: ANN (or multi-linear) from descriptors, full batch through the adjoint',
  resumable: true,
  problems: { gridded: runner({ options: annGriddedOptions, run: annRegionalization }) },
};

import type { z } from 'zod';
import { gaugeParameterNames, type GaugeProblem } from '../../gauges/problem';
import { runner, type GaugeResult, type MethodContext, type MethodDefinition } from '../../method';
import { hdaPrOptions } from './options';
import { trainHdaPr } from './train';

/** HDA-PR on gauge discharge: the trained mapping's parameter fields and the scores at each gauge. */
function hdaPrGauges(
  pr: GaugeProblem,
  o: z.output<typeof hdaPrOptions>,
  seed: number,
  ctx: MethodContext,
): GaugeResult {
  const r = trainHdaPr(pr, { ...o, seed, warmup: pr.warmup, cancelled: ctx.cancelled }, (it, j) =>
    ctx.progress({ iteration: it + 1, total: o.iterations, objective: j }),
  );
  return {
    parameters: Object.fromEntries(
      gaugeParameterNames(pr).map((k) => [k, r.params[k as keyof typeof r.params]!]),
    ),
    scores: r.scores,
    info: { objective: r.objective, iterations: r.history.length, hidden: o.hidden },
  };
}

export const hdaPrMethod: MethodDefinition = {
  description:
    'HDA-PR (Huynh et al.): ANN from descriptors to GR4J + lr parameter fields, trained on gauge discharge through the adjoint',
  resumable: false,
  problems: { gauges: runner({ options: hdaPrOptions, run: hdaPrGauges }) },
};

import { join } from 'node:path';
import { FieldcalError } from '../../../../../src-shared/ipc';
import { waterBalance } from '../../../physics/bucket';
import type { LumpedProblem } from '../../lumped/problem';
import { runner, type LumpedResult, type MethodContext, type MethodDefinition } from '../../method';
import { simulateNet } from '../../nexus/model';
import { extractResponses, writeResponseFigures } from '../../nexus/responses';
import { trainNexus } from '../../nexus/train';
import { bucketNexusOptions, type BucketNexusOptions } from './options';

/**
 * Trains the nexus on a lumped problem (its period after the warm-up; the last `validSteps` held
 * out to pick the best epoch), then simulates the whole problem with the best weights: discharge,
 * the bucket's water balance, and the response functions (data in info, PNGs in the run's folder).
 */
export async function runBucketNexus(
  pr: LumpedProblem,
  o: BucketNexusOptions,
  seed: number,
  ctx: MethodContext,
): Promise<LumpedResult> {
  if (pr.P.length !== pr.E.length || pr.obs.length + pr.warmup !== pr.P.length)
    throw new FieldcalError(
      'VALIDATION',
      'bucket-nexus: forcing and observations do not cover the same steps',
      {
        field: 'period',
      },
    );
  const { tf } = ctx.compute;
  const s = { P: pr.P, E: pr.E, ...(pr.T ? { T: pr.T } : {}), obs: pr.obs, warmup: pr.warmup };
  const before = tf.memory().numTensors;
  const tr = await trainNexus(tf, s, o, seed, {
    cancelled: ctx.cancelled,
    resume: ctx.resume,
    progress: (p) =>
      ctx.progress({
        iteration: p.epoch + 1,
        total: p.epochs,
        objective: p.loss,
        ...(Number.isFinite(p.valid) ? { valid: p.valid } : {}),
        losses: { data: p.data, mass: p.mass },
      }),
    ...(ctx.checkpoint ? { checkpoint: (c) => ctx.checkpoint!(c) } : {}),
  });
  const sim = simulateNet(tf, tr.net, s, tr.model.stats, o.head, tr.settings.bucket);
  const info: Record<string, unknown> = {
    head: o.head,
    bestEpoch: tr.bestEpoch,
    trainSteps: tr.trainEnd - pr.warmup,
    validSteps: pr.P.length - tr.trainEnd,
    history: tr.history,
    secondsPerEpoch: tr.history.length
      ? tr.history.reduce((a, h) => a + h.seconds, 0) / tr.history.length
      : Number.NaN,
  };
  if (sim.run) {
    const wb = waterBalance(pr.P.subarray(0), sim.run, tr.settings.bucket);
    info.waterBalance = wb;
    if (o.responses) {
      const r = extractResponses(tf, tr.net, s, tr.model.stats, tr.settings.bucket, Math.min(pr.warmup, 365));
      info.responses = r;
      if (ctx.workDir) info.figures = await writeResponseFigures(join(ctx.workDir, 'responses'), r, 'basin');
    }
  }
  tr.net.dispose();
  info.tensorsLeaked = tf.memory().numTensors - before;
  return {
    parameters: {},
    q: sim.Q,
    model: tr.model as unknown as Record<string, unknown>,
    info,
  };
}

/** Liu & Hsu 2026: a generic bucket model whose flux fractions an LSTM nexus learns from the forcing. */
export const bucketNexusMethod: MethodDefinition = {
  description:
    'LSTM nexus over the forcing driving a generic bucket model (flux fractions, exact adjoint, mass-balance residual term; Liu & Hsu 2026)',
  resumable: true,
  problems: {
    lumped: runner<'lumped', typeof bucketNexusOptions>({
      options: bucketNexusOptions,
      run: (pr, o, seed, ctx) => runBucketNexus(pr, o, seed, ctx),
    }),
  },
};

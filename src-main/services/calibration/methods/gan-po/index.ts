import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../../../src-shared/ipc';
import { kge } from '../../../metrics/series';
import { VIC3L_PARAMS } from '../../../physics/vic3l';
import { defaultFields, fullParams, type GriddedProblem } from '../../gridded/problem';
import type { ParamFields } from '../../gridded/simulator';
import { runner, type GriddedContext, type MethodDefinition, type MethodResult } from '../../method';
import type { AdamState } from '../../../compute/fusedAdam';
import { shuffle } from '../../gridded/network';
import { mulberry32 } from '../../random';
import {
  finalThroughSurrogate,
  prepareSurrogate,
  surrogateInfo,
  surrogateTarget,
  updatePrepared,
  type PreparedSurrogate,
} from '../../gridded/surrogate';
import { loadBlob, saveBlob, type BlobRef } from './checkpoint';
import { ganPoOptions, type GanPoOptions } from './options';
import { blockError, fullPass, type StateCache } from './simulate';
import { GanPoNets, type StepLosses } from './train';

/** What one epoch leaves in the history: mean losses, validation, the batch design's error, time. */
export interface EpochRecord extends StepLosses {
  epoch: number;
  validMse: number;
  validKge: number;
  score: number;
  hRmse: number;
  hRelative: number;
  seconds: number;
  tensors: number;
}

interface GanPoState {
  epoch: number;
  rng: number;
  blob: BlobRef;
  /** How many arrays of the blob are network weights, and each optimiser's moments. */
  counts: { weights: number; g: number; d: number; best: number };
  adamT: { g: number; d: number };
  best: { epoch: number; score: number; validMse: number; validKge: number } | null;
  history: EpochRecord[];
  iteration: number;
}

/** Validation statistics of a target run: MSE over observed cells and days, and the median of the cells' KGE. */
function validation(pr: GriddedProblem, sim: Float64Array): { mse: number; kge: number } {
  const [v0, v1] = pr.periods.valid;
  const n = pr.cells;
  let se = 0;
  let count = 0;
  const kges: number[] = [];
  for (let c = 0; c < n; c++) {
    const o = new Float64Array(v1 - v0);
    const s = new Float64Array(v1 - v0);
    for (let t = v0; t < v1; t++) {
      o[t - v0] = pr.target.obs[t * n + c]!;
      s[t - v0] = sim[t * n + c]!;
      if (Number.isFinite(o[t - v0]!)) {
        se += (s[t - v0]! - o[t - v0]!) ** 2;
        count++;
      }
    }
    const k = kge(o, s).value;
    if (Number.isFinite(k)) kges.push(k);
  }
  kges.sort((a, b) => a - b);
  const median = kges.length ? kges[Math.floor(kges.length / 2)]! : Number.NaN;
  return { mse: count ? se / count : Number.NaN, kge: median };
}

/** Full parameter fields of the 7 vic3l parameters from the networks' [cells x 7] values. */
function paramFields(full: Float32Array, cells: number): ParamFields {
  const k = VIC3L_PARAMS.length;
  const out = {} as ParamFields;
  VIC3L_PARAMS.forEach((name, j) => {
    out[name] = Float64Array.from({ length: cells }, (_, c) => full[c * k + j]!);
  });
  return out;
}

/**
 * Contiguous blocks of at most `size` training days covering [t0, t1) once, their boundaries
 * shifted by a random phase each epoch, in random order.
 */
function epochBlocks(t0: number, t1: number, size: number, rand: () => number): Array<[number, number]> {
  const phase = Math.floor(rand() * size);
  const starts = [t0];
  for (let s = t0 + (phase || size); s < t1; s += size) starts.push(s);
  return shuffle(
    starts.map((s, i) => [s, starts[i + 1] ?? t1] as [number, number]),
    rand,
  );
}

/**
 * GAN-PO (Sun, Pan & Duan 2024, Water Resour. Res.): a U-Net generator G maps the standardised
 * descriptor fields to parameter fields, vic3l h() simulates the target from them, and a DCGAN
 * discriminator D judges [forcing, target] fields of single days, observed against simulated; G
 * is trained on D's least-squares verdict plus λl L1 + λr L_R. Every epoch visits every training
 * day once in batches of `batchDays`; the generator with the best validation score is kept.
 *
 * h() is the exact vic3l through its tfjs op (exact adjoint), not a surrogate. A batch is a block of
 * contiguous days [s, e). With `sequence: 'full'` (the default) the model runs from the first step
 * to e and the loss reads days [s, e) only: exact, and the gradient reaches the slow stores' states
 * (a step costs an e-day forward run and its adjoint, which reads only the batch's outputs). With
 * 'window' it runs from a = s - warmupWindow, starting from the states the last full pass had at a
 * (one forward run over the whole record at the end of every epoch, which also gives the validation
 * statistics), so a step costs a (window + batch)-day run; its gradient holds the states at a fixed.
 * What 'window' costs in accuracy is measured every epoch (`hRmse`: h() of every block from the
 * previous pass's states against the exact full-sequence run with the same parameters; 0 for 'full')
 * and reported in the history and the result; options.ts states what it costs in calibration.
 *
 * Selection rule: at the end of every epoch, score = MSE_valid / MSE_valid(default parameters) +
 * (1 - median cell KGE_valid) (both 0 at a perfect fit); the lowest score's generator is kept
 * (without a validation period, the last one).
 */
export async function ganPo(
  pr: GriddedProblem,
  o: GanPoOptions,
  seed: number,
  ctx: GriddedContext,
): Promise<MethodResult> {
  if (pr.target.coarse)
    throw new FieldcalError(
      'VALIDATION',
      "gan-po's discriminator and L1 term compare single days' target fields; a target at a coarser step (monthly) needs a method whose objective aggregates the simulation: gradient, sce-ua, ann or dpl",
      { field: 'method' },
    );
  const { tf } = ctx.compute;
  const [t0, t1] = pr.periods.train;
  const [v0, v1] = pr.periods.valid;
  if (t1 - t0 < 1)
    throw new FieldcalError('VALIDATION', 'gan-po needs a training period', { field: 'periods.train' });
  const tEnd = Math.max(t1, v1);
  // h() through a surrogate: made (or reused) first, its time counted in the run's
  const sStart = performance.now();
  let prep: PreparedSurrogate | null = null;
  if (o.physics !== 'exact') {
    prep = await prepareSurrogate(pr, o, ctx);
    if (!prep)
      return {
        fields: defaultFields(pr),
        info: { epochs: 0, cancelled: 'while making the surrogate', physics: o.physics },
      };
  }
  const surrogateSeconds = (performance.now() - sStart) / 1000;
  const nets = new GanPoNets(tf, pr, o, seed);
  // ARnet's rollouts start from its own rollout at the last pass's parameters (as vic3l's from the pass's states)
  let sCache: Float64Array | null = null;
  const refreshCache = (fields: Float64Array[]) => {
    if (prep?.surrogate.kind === 'arnet') sCache = prep.surrogate.predict(fields, 0, tEnd);
  };
  if (prep) {
    const p = prep;
    nets.surrogateH = (clipped, s, e) => {
      if (p.surrogate.kind === 'lstm') return surrogateTarget(p, clipped, s, e, null);
      const a = Math.max(0, s - o.warmupWindow);
      return tf.tidy(() => {
        const y = surrogateTarget(p, clipped, a, e, sCache);
        return y.slice([s - a, 0], [e - s, pr.cells]);
      });
    };
  }
  const gVars = nets.gVars();
  const dVars = nets.dVars();
  try {
    const hasValid = v1 > v0;
    const reference = hasValid
      ? validation(pr, fullPass(pr, fullParams(pr, defaultFields(pr)), tEnd, 0).target).mse
      : Number.NaN;
    let epoch = 0;
    let rngState = (seed ^ 0x2545f491) >>> 0;
    let best: GanPoState['best'] = null;
    let bestWeights: Float32Array[] | null = null;
    let history: EpochRecord[] = [];
    const saved = ctx.resume as GanPoState | undefined;
    if (saved) {
      const arrays = await loadBlob(saved.blob);
      const { weights, g, d, best: nb } = saved.counts;
      nets.setWeights(arrays.slice(0, weights));
      const adam = (at: number, n: number, t: number): AdamState => ({
        t,
        m: arrays.slice(at, at + n / 2),
        v: arrays.slice(at + n / 2, at + n),
      });
      nets.optG.loadState(gVars, adam(weights, g, saved.adamT.g));
      if (nets.optD) nets.optD.loadState(dVars, adam(weights + g, d, saved.adamT.d));
      bestWeights = nb ? arrays.slice(weights + g + d, weights + g + d + nb) : null;
      ({ epoch, best, history } = saved);
      rngState = saved.rng;
    }
    let pass = fullPass(pr, paramFields(nets.fields().full, pr.cells), tEnd, t1);
    if (prep) refreshCache(nets.fields().fields);
    const started = performance.now();
    const startEpoch = epoch;
    while (epoch < o.epochs && !ctx.cancelled()) {
      const e0 = performance.now();
      const rand = mulberry32(rngState);
      rngState = Math.floor(rand() * 2 ** 32);
      const blocks = epochBlocks(t0, t1, o.batchDays, rand);
      const sum: StepLosses = { d: 0, gAdv: 0, gL1: 0, gRange: 0 };
      let steps = 0;
      for (const [s, e] of blocks) {
        if (ctx.cancelled()) break;
        const l = nets.step(pass.cache, s, e, epoch >= o.pretrainEpochs);
        for (const key of Object.keys(sum) as Array<keyof StepLosses>) sum[key] += l[key];
        steps++;
      }
      if (ctx.cancelled()) break;
      epoch++;
      const stale: StateCache = pass.cache;
      const params = paramFields(nets.fields().full, pr.cells);
      pass = fullPass(pr, params, tEnd, t1);
      const now = prep ? nets.fields().fields : null;
      const update = prep !== null && o.updateEvery > 0 && epoch % o.updateEvery === 0 && epoch < o.epochs;
      // the ARnet without an update: one rollout over the record is both the error's simulation (its
      // first t1 steps: the rollout runs day by day from step 0) and the next epoch's cache
      const whole =
        prep?.surrogate.kind === 'arnet' && !update ? prep.surrogate.predict(now!, 0, tEnd) : null;
      // h()'s error: the batch design's (exact), or the surrogate's against the exact full run
      const h = prep
        ? surrogateError(pr, whole ?? prep.surrogate.predict(now!, 0, t1), pass.target, t0, t1)
        : o.sequence === 'full'
          ? { rmse: 0, relative: 0 }
          : blockError(pr, params, stale, pass.target, blocks, o.warmupWindow);
      if (update) await updatePrepared(prep!, pr, now!, o, ctx);
      if (whole) sCache = whole;
      else if (prep) refreshCache(now!);
      const v = hasValid ? validation(pr, pass.target) : { mse: Number.NaN, kge: Number.NaN };
      const score = hasValid ? v.mse / reference + (1 - v.kge) : -epoch;
      if (!best || score < best.score) {
        best = { epoch, score, validMse: v.mse, validKge: v.kge };
        bestWeights = nets.generatorWeights();
      }
      const mean = (x: number) => x / Math.max(steps, 1);
      const rec: EpochRecord = {
        epoch,
        d: mean(sum.d),
        gAdv: mean(sum.gAdv),
        gL1: mean(sum.gL1),
        gRange: mean(sum.gRange),
        validMse: v.mse,
        validKge: v.kge,
        score,
        hRmse: h.rmse,
        hRelative: h.relative,
        seconds: (performance.now() - e0) / 1000,
        tensors: tf.memory().numTensors,
      };
      history = [...history, rec];
      ctx.progress({
        iteration: epoch,
        total: o.epochs,
        objective: rec.gL1,
        valid: v.mse,
        losses: { d: rec.d, g_adv: rec.gAdv, g_l1: rec.gL1, g_range: rec.gRange, valid_kge: v.kge },
      });
      if (ctx.checkpoint && ctx.workDir) {
        const weights = nets.weights();
        const g = nets.optG.saveState(gVars);
        const d = nets.optD?.saveState(dVars) ?? { t: 0, m: [], v: [] };
        const keep = bestWeights ?? [];
        const blob = await saveBlob(ctx.workDir, epoch, [
          ...weights,
          ...g.m,
          ...g.v,
          ...d.m,
          ...d.v,
          ...keep,
        ]);
        ctx.checkpoint({
          epoch,
          iteration: epoch,
          rng: rngState,
          blob,
          counts: { weights: weights.length, g: 2 * g.m.length, d: 2 * d.m.length, best: keep.length },
          adamT: { g: g.t, d: d.t },
          best,
          history,
        } satisfies GanPoState);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (bestWeights) nets.setGeneratorWeights(bestWeights);
    const out = nets.fields();
    if (ctx.workDir && !ctx.cancelled()) {
      // the checkpoints go; the surrogate (an artifact of the run, reusable) stays
      if (!prep) await rm(ctx.workDir, { recursive: true, force: true });
      else
        for (const f of await readdir(ctx.workDir).catch(() => [] as string[]))
          if (f !== 'surrogate') await rm(join(ctx.workDir, f), { recursive: true, force: true });
    }
    // the final fields through the surrogate (the job evaluates them on the exact model)
    const surrogateEval = prep
      ? (() => {
          const simS = finalThroughSurrogate(prep, pr, out.fields, tEnd, ctx);
          const exact = fullPass(pr, fullParams(pr, out.fields), tEnd, 0).target;
          return {
            valid: hasValid ? validation(pr, simS) : null,
            validExact: hasValid ? validation(pr, exact) : null,
            train: surrogateError(pr, simS, exact, t0, t1),
          };
        })()
      : null;
    const done = history.slice(startEpoch);
    return {
      fields: out.fields,
      info: {
        epochs: epoch,
        bestEpoch: best?.epoch ?? epoch,
        bestValid: best ? { mse: best.validMse, kge: best.validKge, score: best.score } : null,
        referenceValidMse: reference,
        rangeExcess: out.excess,
        ablation: o.ablation,
        output: o.output,
        h: {
          design:
            o.sequence === 'full'
              ? 'contiguous day blocks, vic3l from the first step to the end of each block, the loss on the block'
              : 'contiguous day blocks, vic3l from the last full pass states warmupWindow days before each block',
          sequence: o.sequence,
          batchDays: o.batchDays,
          warmupWindow: o.warmupWindow,
          meanRmse: history.length ? history.reduce((s, r) => s + r.hRmse, 0) / history.length : null,
          meanRelative: history.length ? history.reduce((s, r) => s + r.hRelative, 0) / history.length : null,
        },
        secondsPerEpoch: done.length ? done.reduce((s, r) => s + r.seconds, 0) / done.length : null,
        seconds,
        physics: o.physics,
        ...(prep
          ? {
              surrogate: {
                ...surrogateInfo(prep, o),
                seconds: surrogateSeconds + prep.updateSeconds,
                evaluation: surrogateEval,
              },
              totalSeconds: seconds + surrogateSeconds,
            }
          : { totalSeconds: seconds }),
        history,
      },
    };
  } finally {
    nets.dispose();
    prep?.surrogate.dispose();
  }
}

/** RMSE of a surrogate's target against the exact model's over steps [t0, t1), and relative to the exact mean. */
function surrogateError(
  pr: GriddedProblem,
  sim: Float64Array,
  exact: Float64Array,
  t0: number,
  t1: number,
): { rmse: number; relative: number } {
  const n = pr.cells;
  let se = 0;
  let sum = 0;
  for (let i = t0 * n; i < t1 * n; i++) {
    se += (sim[i]! - exact[i]!) ** 2;
    sum += exact[i]!;
  }
  const count = Math.max((t1 - t0) * n, 1);
  const rmse = Math.sqrt(se / count);
  return { rmse, relative: rmse / Math.max(Math.abs(sum / count), 1e-12) };
}

export const ganPoMethod: MethodDefinition = {
  description:
    'GAN-PO (Sun, Pan & Duan 2024): U-Net generator from descriptor fields, DCGAN discriminator on daily fields, trained through exact vic3l',
  resumable: true,
  problems: { gridded: runner({ options: ganPoOptions, run: ganPo }) },
};

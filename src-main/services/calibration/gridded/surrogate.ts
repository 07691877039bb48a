import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as TfModule from '@tensorflow/tfjs';
import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';
import { shownWhen } from '../../../../src-shared/types/formMeta';
import { writeFileAtomic } from '../../common/atomicFile';
import { VIC3L_PARAMS } from '../../physics/vic3l';
import { ensembleAccuracy } from '../../surrogate/accuracy';
import { ARNET_DEFAULTS, loadArnet, trainArnet, type ArnetSurrogate } from '../../surrogate/arnet';
import { EnsembleWaitCancelled, ensembleKey, generateEnsemble } from '../../surrogate/ensemble';
import { loadLstm, LSTM_DEFAULTS, trainLstm, type LstmSurrogate } from '../../surrogate/lstm';
import { updateSurrogate } from '../../surrogate/train';
import { SAMPLERS, type Ensemble, type EnsembleSpec, type SurrogateProblem } from '../../surrogate/types';
import type { GriddedContext } from '../method';
import { defaultValue, fullParams, targetOutput, type GriddedProblem } from './problem';

/**
 * h() behind one interface (issue 17, part 2): GAN-PO and dPL train their networks through the
 * exact vic3l (`physics: 'exact'`) or through a network surrogate of it (`'lstm'`, `'arnet'`), as
 * the GAN-PO paper does (Sun, Pan & Duan 2024, section 3.2, after Tsai et al. 2021). With a
 * surrogate, the method first gets a perturbed-parameter ensemble of the problem (generated with
 * the problem's own simulator, or reused by key), trains the surrogate on it (progress phase
 * 'surrogate'), then differentiates its loss through the surrogate's tfjs forward. Evaluation of
 * the final fields stays on the exact model (the paper's Fig. S4, "on actual VIC").
 *
 * Where things live (jobs): the run's folder is the parent of `ctx.workDir`; the project's runs
 * folder is the parent of that.
 * - ensembles: `<runs folder>/ensembles/<ensemble key>/` (surrogate/ensemble.ts), shared by the
 *   project's runs and reused by key;
 * - the trained surrogate: `<workDir>/surrogate/` (surrogate.json, weights.bin, and key.json with
 *   the key below), an artifact of the run (jobWorker records it, kind 'surrogate');
 * - its training checkpoints: `<workDir>/surrogate-training/` (a killed training resumes from the
 *   last epoch), removed once the surrogate is saved.
 * Reuse: `surrogateFrom` names a previous run folder (or a surrogate folder) whose surrogate is
 * loaded if made for the same problem (grid, parameters, target, model and data); without it, the
 * runs folder's `run-*` folders are searched for a surrogate of the same key (kind, ensemble,
 * network and training settings), unless `reuseSurrogate` is false. A reused surrogate is copied
 * into this run's folder, so every run that used it records it.
 */

export const PHYSICS = ['exact', 'lstm', 'arnet'] as const;
export type Physics = (typeof PHYSICS)[number];

/** Options the form shows only for the surrogates they concern (src-shared/types/formMeta.ts). */
const SURROGATE_ONLY = shownWhen({ physics: ['lstm', 'arnet'] });
const LSTM_ONLY = shownWhen({ physics: ['lstm'] });
const ARNET_ONLY = shownWhen({ physics: ['arnet'] });

/** The surrogate's ensemble and training settings (defaults: the paper's, section 3.2). */
export const surrogateSettings = z.strictObject({
  /** Ensemble members (paper: 400). */
  members: z
    .number()
    .int()
    .min(3)
    .max(100_000)
    .default(400)
    .describe('Ensemble members: model runs with perturbed parameter fields (paper: 400)'),
  sampler: z
    .enum(SAMPLERS)
    .default('uniform-cell')
    .describe(
      "How members' parameters are drawn at each cell: uniform-cell (the paper's), lhs (Latin hypercube) or sobol (scrambled Sobol)",
    ),
  seed: z
    .number()
    .int()
    .min(0)
    .default(1)
    .describe("Seed of the ensemble's draws and of the surrogate's training"),
  /** Train / validation / test members (default: a half, a quarter, the rest: the paper's 200 / 100 / 100). */
  split: z
    .strictObject({
      train: z.number().int().min(1).describe('Members the surrogate trains on'),
      valid: z.number().int().min(1).describe('Members that decide early stopping'),
      test: z.number().int().min(0).describe('Members held out for the accuracy report'),
    })
    .optional()
    .describe(
      'Train / validation / test members, e.g. {"train": 200, "valid": 100, "test": 100} (empty: a half, a quarter, the rest)',
    ),
  epochs: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(200)
    .describe('Maximum training epochs (early stopping on the validation members may end it sooner)'),
  batchesPerEpoch: z
    .number()
    .int()
    .min(1)
    .default(50)
    .describe('Training batches per epoch, drawn from the train members'),
  /** Samples per batch (default: 400 LSTM sequences, 16 ARnet fields). */
  batchSize: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Samples per batch (empty: 400 LSTM sequences, 16 ARnet fields)'),
  validBatches: z
    .number()
    .int()
    .min(1)
    .default(10)
    .describe('Batches of the fixed validation set, drawn once from the validation members'),
  /**
   * Held-out (test) members the accuracy report compares with the model over the whole record
   * (each costs a surrogate pass over the record: about 100 s for the LSTM on one thread at the paper's size, 7 s for the ARnet); 0: none.
   */
  accuracyMembers: z
    .number()
    .int()
    .min(0)
    .default(10)
    .describe(
      'Test members the accuracy report compares with the model over the whole record (each costs a surrogate pass); 0: none',
    ),
  patience: z
    .number()
    .int()
    .min(1)
    .default(10)
    .describe('Epochs without a better validation loss before training stops'),
  learningRate: z.number().positive().max(1).default(1e-3).describe("Adam's learning rate"),
  /** LSTM hidden units (paper: 128) and window (30 days). */
  hidden: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(LSTM_DEFAULTS.hidden)
    .describe('LSTM surrogate: hidden units (paper: 128)')
    .meta(LSTM_ONLY),
  window: z
    .number()
    .int()
    .min(1)
    .max(366)
    .default(LSTM_DEFAULTS.window)
    .describe('LSTM surrogate: input window, days (paper: 30)')
    .meta(LSTM_ONLY),
  /** ARnet first-layer features and dense-block growth (surrogate/arnet.ts). */
  features: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(ARNET_DEFAULTS.features)
    .describe('ARnet surrogate: features of the first convolution')
    .meta(ARNET_ONLY),
  growth: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(ARNET_DEFAULTS.growth)
    .describe('ARnet surrogate: growth rate of each dense block (features each layer adds)')
    .meta(ARNET_ONLY),
  /** ARnet antecedent P and PET channels: time constants in days (surrogate/arnet.ts, ArnetConfig.antecedent). */
  antecedent: z
    .array(z.number().min(1).max(3660))
    .max(8)
    .default([...ARNET_DEFAULTS.antecedent])
    .describe(
      'ARnet surrogate: time constants (days) of its antecedent P and PET channels, exponentially weighted means; [] none',
    )
    .meta(ARNET_ONLY),
});

/** The options GAN-PO and dPL share for h() (spread into their option schemas). */
export const physicsOptions = {
  /** h(): the exact vic3l and its adjoint, or a network surrogate trained first. */
  physics: z
    .enum(PHYSICS)
    .default('exact')
    .describe(
      'h(): exact (vic3l and its adjoint) or a network surrogate of it trained first: lstm or arnet (Sun et al. 2024)',
    ),
  surrogate: surrogateSettings
    .prefault({})
    .describe(
      'Ensemble and training settings of the lstm / arnet surrogate (defaults: Sun et al. 2024, section 3.2)',
    )
    .meta(SURROGATE_ONLY),
  /** Dynamic update (Tsai et al. 2021): every K epochs run the model at the current parameters and fine-tune on it; 0: never. */
  updateEvery: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      'Dynamic update (Tsai et al. 2021): every K epochs run the model at the current parameters and fine-tune the surrogate; 0: never',
    )
    .meta(SURROGATE_ONLY),
  /** Fine-tuning epochs of each update. */
  updateEpochs: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(2)
    .describe('Surrogate fine-tuning epochs of each dynamic update')
    .meta(SURROGATE_ONLY),
  /** A previous run's folder (or a surrogate folder) whose surrogate this run reuses. */
  surrogateFrom: z
    .string()
    .min(1)
    .optional()
    .describe("A previous run's folder (or a surrogate folder) whose surrogate this run reuses")
    .meta(SURROGATE_ONLY),
  /** Search the project's runs for a surrogate of the same key (default true). */
  reuseSurrogate: z
    .boolean()
    .default(true)
    .describe("Search the project's runs for a surrogate made with the same settings and reuse it")
    .meta(SURROGATE_ONLY),
};
export const physicsSchema = z.object(physicsOptions);
export type PhysicsOptions = z.output<typeof physicsSchema>;

/** A surrogate whose forward is differentiable with respect to its parameter fields (lstm.ts, arnet.ts). */
export type DiffSurrogate = LstmSurrogate | ArnetSurrogate;

const hash = (parts: Array<string | Uint8Array>): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
};
const bytesOf = (a: ArrayLike<number> & { buffer?: ArrayBufferLike }) => {
  const t = a as Float64Array | Float32Array;
  return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
};

/**
 * The surrogate problem of a gridded problem: its grid, whole-record forcing, calibrated
 * parameters and bounds, target; `modelKey` hashes the model (vic3l, step, target output and
 * scale, the uncalibrated parameters' defaults), `dataKey` the grid, mask and forcing bytes.
 */
export function surrogateProblemOf(pr: GriddedProblem): SurrogateProblem {
  const { output, scale } = targetOutput(pr.target.name);
  const fixed = VIC3L_PARAMS.filter((n) => !pr.calibrated.includes(n)).map((n) => [n, defaultValue(n)]);
  const modelKey = `vic3l:${hash([JSON.stringify({ dt: pr.dt, output, scale, fixed })])}`;
  const f = pr.forcing;
  const dataKey = hash([
    JSON.stringify({ rows: pr.rows, cols: pr.cols, cells: pr.cells, steps: pr.steps }),
    pr.mask,
    `P:${f.P.constructor.name}`,
    bytesOf(f.P),
    `PET:${f.PET.constructor.name}`,
    bytesOf(f.PET),
    ...(f.T ? [`T:${f.T.constructor.name}`, bytesOf(f.T)] : []),
  ]);
  return {
    rows: pr.rows,
    cols: pr.cols,
    mask: pr.mask,
    cells: pr.cells,
    steps: pr.steps,
    forcing: f.T ? { P: f.P, PET: f.PET, T: f.T } : { P: f.P, PET: f.PET },
    parameters: [...pr.calibrated],
    lower: [...pr.lower],
    upper: [...pr.upper],
    target: pr.target.name,
    modelKey,
    dataKey,
  };
}

/**
 * The networks' configs from the settings and the reuse key of a surrogate: its kind, ensemble,
 * config and training settings. The whole ARnet config is in the key, its defaults too: a surrogate
 * made with other defaults (e.g. before the antecedent channels) is not taken for one made now.
 */
export function surrogateKey(kind: 'lstm' | 'arnet', ensemble: string, s: PhysicsOptions['surrogate']) {
  const lstmConfig = { hidden: s.hidden, window: s.window };
  const arnetConfig = { ...ARNET_DEFAULTS, features: s.features, growth: s.growth, antecedent: s.antecedent };
  const config = kind === 'lstm' ? lstmConfig : arnetConfig;
  const settings = trainSettings(kind, s);
  return {
    lstmConfig,
    arnetConfig,
    settings,
    key: hash([JSON.stringify({ kind, ensemble, config, settings })]),
  };
}

function ensembleSpec(s: PhysicsOptions['surrogate']): EnsembleSpec {
  const train = s.split?.train ?? Math.max(1, Math.round(s.members / 2));
  const valid = s.split?.valid ?? Math.max(1, Math.round(s.members / 4));
  const split = s.split ?? { train, valid, test: s.members - train - valid };
  if (split.train + split.valid + split.test !== s.members || split.test < 0)
    throw new FieldcalError(
      'VALIDATION',
      `surrogate.split (${split.train} + ${split.valid} + ${split.test}) must add up to surrogate.members (${s.members})`,
      { field: 'options.surrogate.split' },
    );
  return { members: s.members, sampler: s.sampler, seed: s.seed, split };
}

function trainSettings(kind: 'lstm' | 'arnet', s: PhysicsOptions['surrogate']) {
  return {
    epochs: s.epochs,
    batchesPerEpoch: s.batchesPerEpoch,
    batchSize: s.batchSize ?? (kind === 'lstm' ? 400 : 16),
    validBatches: s.validBatches,
    patience: s.patience,
    learningRate: s.learningRate,
    seed: s.seed,
  };
}

const KEY_FILE = 'key.json';

/** Where a folder (a surrogate folder, or a run folder holding one) keeps its surrogate, if any. */
function surrogateIn(dir: string): string | null {
  for (const d of [dir, join(dir, 'surrogate'), join(dir, 'checkpoints', 'surrogate')])
    if (existsSync(join(d, 'surrogate.json'))) return d;
  return null;
}

interface KeyFile {
  key?: string;
  ensembleSeconds?: number | null;
  trainSeconds?: number | null;
  accuracy?: PreparedSurrogate['accuracy'];
}

function keyFile(dir: string): KeyFile {
  try {
    return JSON.parse(readFileSync(join(dir, KEY_FILE), 'utf8')) as KeyFile;
  } catch {
    return {};
  }
}

/** key.json is written last and atomically: a surrogate folder without a readable one is not reused. */
const writeKeyFile = (dir: string, file: KeyFile & Record<string, unknown>) =>
  writeFileAtomic(join(dir, KEY_FILE), (tmp) => writeFile(tmp, `${JSON.stringify(file)}\n`));

const keyOf = (dir: string): string | null => keyFile(dir).key ?? null;
const secondsOr = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** What a method gets: the surrogate, its ensemble (for updates), and the facts for `info`. */
export interface PreparedSurrogate {
  surrogate: DiffSurrogate;
  ensemble: Ensemble | null;
  problem: SurrogateProblem;
  key: string;
  /** Seconds spent on the ensemble and the training (0 when reused); updates add to `updateSeconds`. */
  ensembleSeconds: number;
  trainSeconds: number;
  updateSeconds: number;
  updates: number;
  reusedFrom: string | null;
  savedIn: string | null;
  /**
   * What making the surrogate cost, wherever it was made: the ensemble's generation (its manifest's
   * seconds) and the training; a reused surrogate carries them in its key.json (null: not recorded).
   */
  madeSeconds: { ensemble: number | null; training: number | null };
  /** Seconds this run spent measuring the held-out accuracy (0 when carried from key.json). */
  accuracySeconds: number;
  epochs: number;
  /**
   * On the first `accuracyMembers` test members, over the whole record: measured where the
   * surrogate was made and carried in its key.json (null: none held out, accuracyMembers 0, or a
   * surrogate made before it was recorded and reused without its ensemble).
   */
  accuracy: {
    members: number;
    nseMedian: number;
    nseWorstDecile: number;
    rmseOverall: number;
    seconds: number;
  } | null;
}

class Cancelled extends Error {}

/**
 * Gets the surrogate a run asks for: reused (see the module comment) or trained on an ensemble of
 * the problem, with progress phase 'surrogate' (one point per ensemble member and per epoch); null
 * when the run was cancelled meanwhile.
 */
export async function prepareSurrogate(
  pr: GriddedProblem,
  o: PhysicsOptions,
  ctx: GriddedContext,
): Promise<PreparedSurrogate | null> {
  const kind = o.physics;
  if (kind === 'exact') throw new FieldcalError('INTERNAL', 'prepareSurrogate called for exact physics');
  if (pr.target.coarse)
    throw new FieldcalError(
      'VALIDATION',
      `physics '${kind}' emulates the model's daily target; a coarse (monthly) target needs physics 'exact'`,
      { field: 'options.physics' },
    );
  const sp = surrogateProblemOf(pr);
  const s = o.surrogate;
  const spec = ensembleSpec(s);
  const { lstmConfig, arnetConfig, settings, key } = surrogateKey(kind, ensembleKey(sp, spec), s);
  const runDir = ctx.workDir ? dirname(ctx.workDir) : null;
  const runsRoot = runDir ? dirname(runDir) : null;
  const own = ctx.workDir ? join(ctx.workDir, 'surrogate') : null;
  const ensDir = runsRoot ? join(runsRoot, 'ensembles') : join(tmpdir(), 'fieldcal-ensembles');

  // a surrogate to reuse: this run's own (a resumed run), the one named, or one of the same key
  let from: string | null = own && keyOf(own) === key ? own : null;
  if (!from && o.surrogateFrom) {
    from = surrogateIn(o.surrogateFrom);
    if (!from)
      throw new FieldcalError('NOT_FOUND', `options.surrogateFrom: no surrogate in ${o.surrogateFrom}`, {
        path: o.surrogateFrom,
        field: 'options.surrogateFrom',
      });
  }
  if (!from && o.reuseSurrogate && runsRoot && existsSync(runsRoot))
    for (const e of readdirSync(runsRoot, { withFileTypes: true })) {
      if (!e.isDirectory() || join(runsRoot, e.name) === runDir) continue;
      const d = surrogateIn(join(runsRoot, e.name));
      if (d && keyOf(d) === key) {
        from = d;
        break;
      }
    }

  const needEnsemble = !from || o.updateEvery > 0;
  let ensemble: Ensemble | null = null;
  let ensembleSeconds = 0;
  if (needEnsemble) {
    const t = performance.now();
    // the model runs on the problem's simulator (the model pool in jobs): the ModelRun of ensemble.ts
    try {
      ensemble = await generateEnsemble(sp, spec, (fields) => ctx.sim.run(fullParams(pr, fields), pr.steps), {
        dir: ensDir,
        cancelled: ctx.cancelled,
        progress: (done, total) =>
          ctx.progress({
            phase: 'surrogate',
            iteration: done,
            total,
            objective: Number.NaN,
            losses: { ensemble_members: done },
          }),
      });
    } catch (err) {
      // cancelled while waiting for another generation of the same ensemble
      if (err instanceof EnsembleWaitCancelled) return null;
      throw err;
    }
    ensembleSeconds = (performance.now() - t) / 1000;
    // cancelled: what is stored stays, a later run continues the ensemble from there
    if (ensemble.manifest.complete < spec.members) return null;
  }

  let surrogate: DiffSurrogate;
  let trainSeconds = 0;
  let epochs = 0;
  if (from) {
    surrogate = kind === 'lstm' ? await loadLstm(from, sp, ensemble) : await loadArnet(from, sp, ensemble);
    if (surrogate.kind !== kind) {
      surrogate.dispose();
      throw new FieldcalError(
        'VALIDATION',
        `${from} holds a ${String(surrogate.kind)} surrogate, not ${kind}`,
      );
    }
  } else {
    const t = performance.now();
    const ck = ctx.workDir ? join(ctx.workDir, 'surrogate-training') : undefined;
    const common = {
      settings,
      ...(ck ? { checkpointDir: ck } : {}),
      onProgress: (p: { epoch: number; trainLoss: number; validLoss: number }) =>
        ctx.progress({
          phase: 'surrogate',
          iteration: p.epoch,
          total: settings.epochs,
          objective: p.trainLoss,
          valid: p.validLoss,
          losses: { surrogate_train: p.trainLoss, surrogate_valid: p.validLoss },
        }),
      beforeBatch: () => {
        // the epoch in flight is lost, the checkpoint kept: a resumed run continues from it
        if (ctx.cancelled()) throw new Cancelled();
      },
    };
    let r;
    try {
      r =
        kind === 'lstm'
          ? await trainLstm(sp, ensemble!, { ...common, config: lstmConfig })
          : await trainArnet(sp, ensemble!, { ...common, config: arnetConfig });
    } catch (err) {
      if (err instanceof Cancelled) return null;
      throw err;
    }
    surrogate = r.surrogate;
    epochs = r.result.history.length;
    trainSeconds = (performance.now() - t) / 1000;
    if (ck) await rm(ck, { recursive: true, force: true });
  }
  const made = from ? keyFile(from) : null;
  const madeSeconds = {
    ensemble: made ? secondsOr(made.ensembleSeconds) : (ensemble?.manifest.seconds ?? null),
    training: made ? secondsOr(made.trainSeconds) : trainSeconds,
  };
  // held-out accuracy: measured once where the surrogate was made, carried in its key.json
  let accuracy: PreparedSurrogate['accuracy'] = s.accuracyMembers > 0 ? (made?.accuracy ?? null) : null;
  let accuracySeconds = 0;
  const held = ensemble ? ensemble.members('test').slice(0, s.accuracyMembers) : [];
  if (ensemble && held.length && accuracy?.members !== held.length) {
    const t = performance.now();
    const a = ensembleAccuracy(surrogate, ensemble, { members: held });
    accuracy = {
      members: held.length,
      nseMedian: a.nseMedian,
      nseWorstDecile: a.nseWorstDecile,
      rmseOverall: a.rmseOverall,
      seconds: (performance.now() - t) / 1000,
    };
    accuracySeconds = accuracy.seconds;
  }
  let savedIn: string | null = null;
  if (own) {
    if (from !== own) {
      await rm(own, { recursive: true, force: true });
      await mkdir(own, { recursive: true });
      if (from) await cp(from, own, { recursive: true });
      else await surrogate.save(own);
      await writeKeyFile(own, {
        format: 'fieldcal-surrogate-key',
        key,
        kind,
        reusedFrom: from,
        ensembleSeconds: madeSeconds.ensemble,
        trainSeconds: madeSeconds.training,
        accuracy,
      });
    } else if (accuracySeconds > 0) {
      // a resumed run measured what its own key.json lacked (other accuracyMembers): kept for the next
      await writeKeyFile(own, { ...keyFile(own), accuracy });
    }
    savedIn = own;
  }
  return {
    surrogate,
    ensemble,
    problem: sp,
    key,
    ensembleSeconds,
    trainSeconds,
    updateSeconds: 0,
    updates: 0,
    reusedFrom: from === own ? null : from,
    savedIn,
    madeSeconds,
    accuracySeconds,
    epochs,
    accuracy,
  };
}

/**
 * Dynamic update (Tsai et al. 2021): the model's run at `fields` joins the training data and the
 * surrogate is fine-tuned (surrogate/train.ts `updateSurrogate`); progress phase 'surrogate'.
 */
export async function updatePrepared(
  p: PreparedSurrogate,
  pr: GriddedProblem,
  fields: Float64Array[],
  o: PhysicsOptions,
  ctx: GriddedContext,
): Promise<void> {
  const t = performance.now();
  const target = ctx.sim.run(fullParams(pr, fields), pr.steps);
  await updateSurrogate(p.surrogate, { fields, target }, o.updateEpochs, {
    onProgress: (q) =>
      ctx.progress({
        phase: 'surrogate',
        iteration: q.epoch,
        total: o.updateEpochs,
        objective: q.trainLoss,
        valid: q.validLoss,
        losses: { surrogate_train: q.trainLoss, surrogate_valid: q.validLoss, update: p.updates + 1 },
      }),
  });
  p.updates++;
  p.updateSeconds += (performance.now() - t) / 1000;
}

/**
 * A method's final fields through the surrogate over [0, t1); with `ctx.surrogateSimulator` set, one
 * pass over the whole record serves both it (for those fields) and the method.
 */
export function finalThroughSurrogate(
  p: PreparedSurrogate,
  pr: GriddedProblem,
  fields: Float64Array[],
  t1: number,
  ctx: GriddedContext,
): Float64Array {
  if (!ctx.surrogateSimulator) return p.surrogate.predict(fields, 0, t1);
  const whole = p.surrogate.predict(fields, 0, pr.steps);
  ctx.surrogateSimulator((f) => (f === fields ? whole : p.surrogate.predict(f, 0, pr.steps)), fields);
  return whole.subarray(0, t1 * pr.cells);
}

/** The target over [t0, t1) for parameter fields, through the surrogate (not differentiated). */
export function surrogateRun(p: PreparedSurrogate, fields: Float64Array[], t1: number): Float64Array {
  return p.surrogate.predict(fields, 0, t1);
}

/** Facts for a method's `info.surrogate`. */
export function surrogateInfo(p: PreparedSurrogate, o: PhysicsOptions): Record<string, unknown> {
  return {
    kind: o.physics,
    key: p.key,
    reusedFrom: p.reusedFrom,
    savedIn: p.savedIn,
    trainedEpochs: p.epochs,
    ensembleSeconds: p.ensembleSeconds,
    trainSeconds: p.trainSeconds,
    updates: p.updates,
    updateSeconds: p.updateSeconds,
    madeSeconds: p.madeSeconds,
    accuracySeconds: p.accuracySeconds,
    members: p.ensemble?.manifest.spec.members ?? null,
    ensembleDir: p.ensemble?.dir ?? null,
    accuracyTest: p.accuracy,
  };
}

/**
 * The target through a surrogate as a differentiable tensor: `params` [cells x calibrated] →
 * [(t1 - t0) x cells]; ARnet rolls out from t0 from `cache` (a `predict` over the record at the
 * parameters of the last pass, step-major), LSTM needs none.
 */
export function surrogateTarget(
  p: PreparedSurrogate,
  params: TfModule.Tensor2D,
  t0: number,
  t1: number,
  cache: Float64Array | null,
): TfModule.Tensor2D {
  const s = p.surrogate;
  if (s.kind === 'lstm') return s.forward(params, t0, t1);
  const lags = Math.min(s.config.lags, t0);
  const n = p.problem.cells;
  const before = lags > 0 && cache ? cache.subarray((t0 - lags) * n, t0 * n) : undefined;
  return s.forward(params, t0, t1, before);
}

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type * as TfModule from '@tensorflow/tfjs';
import { FieldcalError } from '../../../src-shared/ipc';
import { writeFileAtomic } from '../common/atomicFile';
import { sha256 } from '../common/checksum';
import { fusedAdam, type FusedAdamOptimizer } from '../compute/fusedAdam';
import { mulberry32, streamSeed, type ExtraMember, type TrainingData } from './data';
import type { Surrogate } from './types';

type Tf = typeof TfModule;
type T = TfModule.Tensor;

/**
 * The training loop both surrogates share (Sun, Pan & Duan 2024, section 3.2: MSE, Adam, early
 * stopping on the validation members): epochs of seeded batches from the train members, a fixed
 * validation set each epoch, early stopping with patience (the best epoch's weights are kept), a
 * checkpoint after every epoch, and the dynamic update of Tsai et al. 2021.
 */

/** Progress of a surrogate training, one per epoch. */
export interface SurrogateProgress {
  phase: 'surrogate';
  epoch: number;
  trainLoss: number;
  validLoss: number;
}

/** One batch: inputs, standardised targets, and a 0/1 weight per target (inactive cells 0) or null. */
export interface Batch {
  x: T;
  y: T;
  w: T | null;
}

/** What a network hands the loop: its model and how it builds a batch from drawn members. */
export interface NetTrainer {
  tf: Tf;
  model: TfModule.LayersModel;
  /**
   * `size` samples; `pick()` draws each sample's member, `rand` everything else (cells, steps);
   * `training` false for the validation set (no input noise).
   */
  batch(pick: () => number, size: number, rand: () => number, training: boolean): Batch;
  /**
   * Optional: called with the current weights before each epoch's batches (`train`, with the
   * epoch's own seeded stream) and before each validation pass (`valid`); may return the members
   * the validation batches are to be drawn from (ARnet: its own rollouts of those members).
   */
  prepare?(phase: 'train' | 'valid', members: number[], rand: () => number): number[] | undefined;
}

export interface TrainSettings {
  /** Most epochs (paper: early stopping decides; default 200). */
  epochs: number;
  batchesPerEpoch: number;
  batchSize: number;
  /** Batches of the fixed validation set (drawn once from the validation members). */
  validBatches: number;
  /** Epochs without a better validation loss before stopping. */
  patience: number;
  learningRate: number;
  seed: number;
}

export const DEFAULT_TRAIN: TrainSettings = {
  epochs: 200,
  batchesPerEpoch: 50,
  batchSize: 400,
  validBatches: 10,
  patience: 10,
  learningRate: 1e-3,
  seed: 1,
};

export interface TrainRun {
  settings: TrainSettings;
  train: number[];
  valid: number[];
  /** Dynamic updates: this fraction of each batch's samples comes from `members` (the added runs). */
  focus?: { members: number[]; fraction: number };
  /** Restore the best epoch's weights at the end (early stopping); off for fine-tuning. */
  restoreBest: boolean;
  /** Folder of per-epoch checkpoints; a run finding one of the same `key` there resumes from it. */
  checkpointDir?: string;
  /** Identity of the network, data and settings: a checkpoint of another key is refused. */
  key: string;
  onProgress?: (p: SurrogateProgress) => void;
  /** Called before every batch; throw from it to cancel (the epoch in flight is lost, the checkpoint kept). */
  beforeBatch?: (epoch: number, batch: number) => void;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  /** tf.memory().numTensors after the epoch: constant from the first epoch on (no leak). */
  numTensors: number;
}

export interface TrainResult {
  history: EpochRecord[];
  bestEpoch: number;
  bestValid: number;
  /** Validation loss of predicting the training mean (0 in standardised units) on the same samples. */
  baselineValid: number;
  stoppedEarly: boolean;
  /** The checkpoint's epoch a run resumed from (0: started fresh). */
  resumedFrom: number;
  seconds: number;
}

/** MSE, over the weighted (active) entries when weights are given. */
export function mseLoss(tf: Tf, pred: T, y: T, w: T | null): TfModule.Scalar {
  return tf.tidy(() => {
    const se = tf.square(tf.sub(pred, y));
    if (!w) return tf.mean(se) as TfModule.Scalar;
    return tf.div(tf.sum(tf.mul(se, w)), tf.maximum(tf.sum(w), 1)) as TfModule.Scalar;
  });
}

/** Draws a member uniformly from a list (with `focus`, a share of draws from the focus members). */
function picker(rand: () => number, members: number[], focus?: TrainRun['focus']): () => number {
  return () => {
    const list = focus && focus.members.length && rand() < focus.fraction ? focus.members : members;
    return list[Math.floor(rand() * list.length)]!;
  };
}

/** Weights as Float32 copies, in `model.weights` order. */
export function readWeights(model: TfModule.LayersModel): Float32Array[] {
  return model.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
}

/** Sets every weight from Float32 copies (same order and sizes as {@link readWeights}). */
export function writeWeights(tf: Tf, model: TfModule.LayersModel, values: Float32Array[]): void {
  if (values.length !== model.weights.length)
    throw new FieldcalError(
      'INCONSISTENT_DATA',
      `${values.length} weight arrays for ${model.weights.length} weights`,
    );
  const ts = model.weights.map((w, i) => {
    if (values[i]!.length !== w.read().size)
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `weight ${w.name} has ${values[i]!.length} values, wants ${w.read().size}`,
      );
    return tf.tensor(values[i]!, w.read().shape);
  });
  model.setWeights(ts);
  tf.dispose(ts);
}

const concat = (arrays: Float32Array[]): Float32Array => {
  const out = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
};
const split = (all: Float32Array, sizes: number[], from: number): Float32Array[] => {
  let o = from;
  return sizes.map((n) => {
    const a = all.slice(o, o + n);
    o += n;
    return a;
  });
};

interface CheckpointJson {
  format: 'fieldcal-surrogate-checkpoint';
  version: 1;
  key: string;
  epoch: number;
  bestEpoch: number;
  bestValid: number;
  badEpochs: number;
  stopped: boolean;
  adamT: number;
  history: EpochRecord[];
  file: string;
  bytes: number;
  sha256: string;
}

const CHECKPOINT = 'checkpoint.json';

/**
 * Writes the state after an epoch: weights, best weights and Adam's moments in `epoch-N.bin`, then
 * `checkpoint.json` naming it (both atomic), then removes older bins and any temporary an earlier
 * kill left. A kill at any moment leaves the previous checkpoint or the new one, never a mix.
 */
async function writeCheckpoint(
  dir: string,
  json: Omit<CheckpointJson, 'file' | 'bytes' | 'sha256'>,
  arrays: Float32Array[],
): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const data = concat(arrays);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const file = `epoch-${String(json.epoch).padStart(5, '0')}.bin`;
  await writeFileAtomic(join(dir, file), (tmp) => fsp.writeFile(tmp, bytes));
  const full: CheckpointJson = { ...json, file, bytes: bytes.byteLength, sha256: sha256(bytes) };
  await writeFileAtomic(join(dir, CHECKPOINT), (tmp) => fsp.writeFile(tmp, JSON.stringify(full)));
  // older epochs, and the temporaries of atomic writes a kill interrupted (common/atomicFile.ts)
  for (const name of await fsp.readdir(dir))
    if (
      (/^epoch-\d+\.bin$/.test(name) && name !== file) ||
      /^\.(epoch-\d+\.bin|checkpoint\.json)\.[0-9a-f]+\.tmp$/.test(name)
    )
      await fsp.rm(join(dir, name), { force: true });
}

async function readCheckpoint(dir: string): Promise<{ json: CheckpointJson; data: Float32Array } | null> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, CHECKPOINT), 'utf8');
  } catch {
    return null;
  }
  let json: CheckpointJson;
  try {
    json = JSON.parse(text) as CheckpointJson;
  } catch (err) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${join(dir, CHECKPOINT)} is not JSON: ${(err as Error).message}`,
      {
        path: join(dir, CHECKPOINT),
      },
    );
  }
  if (json.format !== 'fieldcal-surrogate-checkpoint' || json.version !== 1)
    throw new FieldcalError('INVALID_FILE', `${join(dir, CHECKPOINT)} is not a surrogate checkpoint`, {
      path: join(dir, CHECKPOINT),
    });
  const path = join(dir, json.file);
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (err) {
    throw new FieldcalError(
      'INVALID_FILE',
      `checkpoint data ${path} cannot be read: ${(err as Error).message}`,
      {
        path,
      },
    );
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.byteLength !== json.bytes || sha256(bytes) !== json.sha256)
    throw new FieldcalError('INVALID_FILE', `checkpoint data ${path} does not match its checksum`, { path });
  const data = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(data.buffer).set(bytes);
  return { json, data };
}

/**
 * Trains a network: per epoch `batchesPerEpoch` batches drawn from the train members with a seed
 * of (seed, epoch), then the loss on a fixed validation set (drawn once from the validation
 * members), early stopping after `patience` epochs without improvement, a checkpoint written after
 * each epoch. Resumes from a checkpoint of the same key in `checkpointDir`: the result is the same
 * as an uninterrupted run (same seed, same batches, same optimiser state).
 */
export async function trainNet(net: NetTrainer, run: TrainRun): Promise<TrainResult> {
  const { tf, model } = net;
  const s = run.settings;
  for (const [k, v] of Object.entries(s))
    if (!(Number.isFinite(v) && v >= (k === 'seed' ? 0 : k === 'patience' || k === 'epochs' ? 0 : 1e-12)))
      throw new FieldcalError('VALIDATION', `surrogate training ${k} must be a positive number (got ${v})`, {
        field: k,
      });
  if (!run.train.length || !run.valid.length)
    throw new FieldcalError('VALIDATION', 'surrogate training needs train and validation members', {
      field: 'members',
    });
  const started = performance.now();
  const vars = model.trainableWeights.map((w) => w.read() as TfModule.Variable);
  const opt: FusedAdamOptimizer = fusedAdam(tf, s.learningRate);
  const sizes = model.weights.map((w) => w.read().size);
  const tsizes = vars.map((v) => v.size);

  // the fixed validation set: same batches every epoch, and the mean predictor's loss on them
  const validLoss = (): { loss: number; baseline: number } => {
    const rand = mulberry32(streamSeed(s.seed, -1, 1));
    const pick = picker(rand, net.prepare?.('valid', run.valid, rand) ?? run.valid);
    let num = 0;
    let base = 0;
    let den = 0;
    for (let b = 0; b < s.validBatches; b++) {
      const batch = net.batch(pick, s.batchSize, rand, false);
      const [l, l0, n] = tf.tidy(() => {
        const pred = model.predict(batch.x) as T;
        const n = batch.w ? tf.sum(batch.w) : tf.scalar(batch.y.size);
        return [mseLoss(tf, pred, batch.y, batch.w), mseLoss(tf, tf.zerosLike(batch.y), batch.y, batch.w), n];
      });
      const wn = n.dataSync()[0]!;
      num += l.dataSync()[0]! * wn;
      base += l0.dataSync()[0]! * wn;
      den += wn;
      tf.dispose([l, l0, n, batch.x, batch.y, ...(batch.w ? [batch.w] : [])]);
    }
    return { loss: num / den, baseline: base / den };
  };

  let epoch = 0;
  let bestEpoch = 0;
  let bestValid = Infinity;
  let badEpochs = 0;
  let stopped = false;
  let history: EpochRecord[] = [];
  let best: Float32Array[] = readWeights(model);
  let resumedFrom = 0;
  const ck = run.checkpointDir ? await readCheckpoint(run.checkpointDir) : null;
  if (ck) {
    if (ck.json.key !== run.key)
      throw new FieldcalError(
        'CONFLICT',
        `${run.checkpointDir} holds a checkpoint of another surrogate training; use a new folder or remove it`,
        { path: run.checkpointDir },
      );
    const n = sizes.reduce((a, b) => a + b, 0);
    const nt = tsizes.reduce((a, b) => a + b, 0);
    if (ck.data.length !== 2 * n + 2 * nt)
      throw new FieldcalError(
        'INVALID_FILE',
        `checkpoint in ${run.checkpointDir} has the wrong size for this network`,
        {
          path: run.checkpointDir,
        },
      );
    writeWeights(tf, model, split(ck.data, sizes, 0));
    best = split(ck.data, sizes, n);
    opt.loadState(vars, {
      t: ck.json.adamT,
      m: split(ck.data, tsizes, 2 * n),
      v: split(ck.data, tsizes, 2 * n + nt),
    });
    ({ epoch, bestEpoch, bestValid, badEpochs, stopped, history } = ck.json);
    resumedFrom = epoch;
  }

  const baselineValid = validLoss().baseline;
  try {
    while (!stopped && epoch < s.epochs) {
      const e = epoch + 1;
      net.prepare?.('train', run.train, mulberry32(streamSeed(s.seed, e, 2)));
      const rand = mulberry32(streamSeed(s.seed, e, 0));
      const pick = picker(rand, run.train, run.focus);
      let sum = 0;
      for (let b = 0; b < s.batchesPerEpoch; b++) {
        run.beforeBatch?.(e, b);
        const batch = net.batch(pick, s.batchSize, rand, true);
        const l = opt.minimize(
          () => mseLoss(tf, model.apply(batch.x, { training: true }) as T, batch.y, batch.w),
          true,
          vars,
        )!;
        sum += l.dataSync()[0]!;
        tf.dispose([l, batch.x, batch.y, ...(batch.w ? [batch.w] : [])]);
      }
      const v = validLoss().loss;
      if (!Number.isFinite(v))
        throw new FieldcalError(
          'INTERNAL',
          `surrogate training diverged at epoch ${e} (validation loss ${v})`,
        );
      if (v < bestValid) {
        bestValid = v;
        bestEpoch = e;
        badEpochs = 0;
        best = readWeights(model);
      } else if (++badEpochs >= s.patience) stopped = true;
      epoch = e;
      history = [
        ...history,
        { epoch: e, trainLoss: sum / s.batchesPerEpoch, validLoss: v, numTensors: tf.memory().numTensors },
      ];
      if (run.checkpointDir) {
        const st = opt.saveState(vars);
        await writeCheckpoint(
          run.checkpointDir,
          {
            format: 'fieldcal-surrogate-checkpoint',
            version: 1,
            key: run.key,
            epoch,
            bestEpoch,
            bestValid,
            badEpochs,
            stopped,
            adamT: st.t,
            history,
          },
          [...readWeights(model), ...best, ...st.m, ...st.v],
        );
      }
      run.onProgress?.({ phase: 'surrogate', epoch: e, trainLoss: sum / s.batchesPerEpoch, validLoss: v });
    }
  } finally {
    opt.dispose();
  }
  if (run.restoreBest && bestEpoch > 0) writeWeights(tf, model, best);
  return {
    history,
    bestEpoch,
    bestValid,
    baselineValid,
    stoppedEarly: stopped,
    resumedFrom,
    seconds: (performance.now() - started) / 1000,
  };
}

/** A network surrogate that can be trained further on its data (both LSTM and ARnet). */
export interface TrainableSurrogate extends Surrogate {
  readonly data: TrainingData;
  readonly settings: TrainSettings;
  /** Its trainer (model and batch builder) for the loop. */
  trainer(): NetTrainer;
  /** Identity for checkpoint keys. */
  key(): string;
}

export interface UpdateOptions {
  /** Share of each batch drawn from the added runs (default 0.5; the rest from the whole training set). */
  fraction?: number;
  /** Batches per fine-tuning epoch (default: the training's). */
  batchesPerEpoch?: number;
  learningRate?: number;
  onProgress?: (p: SurrogateProgress) => void;
}

/**
 * Dynamic update (Tsai et al. 2021; Sun, Pan & Duan 2024, section 3.2): a model run at the current
 * parameters joins the training set and the surrogate is fine-tuned for `epochs` epochs (a fresh
 * Adam; the standardisation stays that of the original training members, so inputs keep their
 * scale). A share `fraction` of every batch comes from the added runs so the new run is learnt
 * within a few epochs; the rest from all training members (ensemble and earlier runs), so the
 * ensemble is not forgotten. No early stopping: the weights after the last epoch are kept.
 */
export async function updateSurrogate(
  s: Surrogate,
  newMember: ExtraMember,
  epochs: number,
  o: UpdateOptions = {},
): Promise<TrainResult> {
  const t = s as TrainableSurrogate;
  if (typeof t.trainer !== 'function' || !t.data)
    throw new FieldcalError(
      'VALIDATION',
      `a ${s.kind} surrogate without its training data cannot be updated`,
      {
        field: 'surrogate',
      },
    );
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw new FieldcalError('VALIDATION', `update epochs must be a positive integer (got ${epochs})`, {
      field: 'epochs',
    });
  const fraction = o.fraction ?? 0.5;
  if (!(fraction >= 0 && fraction <= 1))
    throw new FieldcalError('VALIDATION', `update fraction must be in [0, 1] (got ${fraction})`, {
      field: 'fraction',
    });
  t.data.add(newMember);
  const extras = t.data.extraIds();
  const train = [...t.data.members('train'), ...extras];
  const valid = t.data.members('valid');
  return trainNet(t.trainer(), {
    settings: {
      ...t.settings,
      epochs,
      patience: epochs + 1,
      batchesPerEpoch: o.batchesPerEpoch ?? t.settings.batchesPerEpoch,
      learningRate: o.learningRate ?? t.settings.learningRate,
      seed: t.settings.seed + 7919 * extras.length,
    },
    train,
    valid: valid.length ? valid : extras,
    focus: { members: [extras[extras.length - 1]!], fraction },
    restoreBest: false,
    key: `${t.key()}|update-${extras.length}`,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
}

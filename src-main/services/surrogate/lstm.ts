import type * as TfModule from '@tensorflow/tfjs';
import { FieldcalError } from '../../../src-shared/ipc';
import { computeHandle } from '../compute';
import { lstmWithHead } from '../compute/fusedLayers';
import {
  checkFields,
  checkProblem,
  checkSteps,
  forcingNames,
  standardFields,
  standardForcing,
  standardisation,
  TrainingData,
  type Standardisation,
} from './data';
import { checkManifestProblem, problemFacts, readSurrogate, writeSurrogate } from './store';
import {
  DEFAULT_TRAIN,
  readWeights,
  trainNet,
  writeWeights,
  type Batch,
  type NetTrainer,
  type SurrogateProgress,
  type TrainableSurrogate,
  type TrainResult,
  type TrainSettings,
} from './train';
import type { Ensemble, SurrogateProblem } from './types';

type Tf = typeof TfModule;

/**
 * The GAN-PO paper's LSTM surrogate of VIC (Sun, Pan & Duan 2024, section 3.2; after Tsai et al.
 * 2021): per cell, sequence-to-one over a 30-day window (the target day and the 29 before), inputs
 * the cell's forcing of each day and its parameters (repeated every day), all standardised with the
 * statistics of the training members; one LSTM layer of 128 units, one dense layer to the target,
 * MSE, batch 400, Adam, early stopping on the validation members. The LSTM runs as the fused
 * kernels of compute/ on `cpu-native`. Days before the first step of a window are zero inputs (the
 * forcing's mean) in training and prediction alike, so the first 29 days are predicted too.
 */
export interface LstmConfig {
  window: number;
  hidden: number;
}

export const LSTM_DEFAULTS: LstmConfig = { window: 30, hidden: 128 };

function buildModel(tf: Tf, features: number, c: LstmConfig, seed: number): TfModule.Sequential {
  return lstmWithHead(tf, { steps: c.window, features, hidden: c.hidden, out: 1 }, seed);
}

/** A trained LSTM surrogate (see {@link LstmConfig}). */
export class LstmSurrogate implements TrainableSurrogate {
  readonly kind = 'lstm' as const;
  readonly model: TfModule.Sequential;
  private readonly forcing: Float32Array[];
  private readonly nf: number;
  private readonly np: number;
  private readonly paramCache = new Map<number, Float32Array[]>();

  constructor(
    readonly tf: Tf,
    readonly problem: SurrogateProblem,
    readonly stats: Standardisation,
    readonly config: LstmConfig,
    readonly settings: TrainSettings,
    readonly data: TrainingData,
  ) {
    this.forcing = standardForcing(problem, stats);
    this.nf = this.forcing.length;
    this.np = problem.parameters.length;
    this.model = buildModel(tf, this.nf + this.np, config, settings.seed);
  }

  key(): string {
    return JSON.stringify({
      kind: this.kind,
      config: this.config,
      settings: this.settings,
      stats: this.stats,
    });
  }

  private memberParams(member: number): Float32Array[] {
    let p = this.paramCache.get(member);
    if (!p) {
      // bounded: a few hundred members' fields at most
      if (this.paramCache.size >= 1024) this.paramCache.clear();
      p = standardFields(this.stats, this.data.params(member));
      this.paramCache.set(member, p);
    }
    return p;
  }

  /** Writes the window ending at step t of cell k into x at sequence slot `row`. */
  private fillWindow(x: Float32Array, row: number, params: Float32Array[], k: number, t: number): void {
    const { window: W } = this.config;
    const F = this.nf + this.np;
    const cells = this.problem.cells;
    let o = row * W * F;
    for (let j = 0; j < W; j++) {
      const s = t - W + 1 + j;
      for (let f = 0; f < this.nf; f++) x[o + f] = s >= 0 ? this.forcing[f]![s * cells + k]! : 0;
      for (let q = 0; q < this.np; q++) x[o + this.nf + q] = params[q]![k]!;
      o += F;
    }
  }

  trainer(): NetTrainer {
    const { tf } = this;
    const W = this.config.window;
    const F = this.nf + this.np;
    const { cells, steps } = this.problem;
    const { mean, std } = this.stats.target;
    return {
      tf,
      model: this.model,
      batch: (pick, size, rand): Batch => {
        const x = new Float32Array(size * W * F);
        const y = new Float32Array(size);
        for (let i = 0; i < size; i++) {
          const m = pick();
          const k = Math.floor(rand() * cells);
          const t = Math.floor(rand() * steps);
          this.fillWindow(x, i, this.memberParams(m), k, t);
          y[i] = (this.data.target(m, t, t + 1)[k]! - mean) / std;
        }
        return { x: tf.tensor3d(x, [size, W, F]), y: tf.tensor2d(y, [size, 1]), w: null };
      },
    };
  }

  predict(fields: Float64Array[], t0: number, t1: number): Float64Array {
    checkFields(this.problem, fields);
    checkSteps(this.problem, t0, t1);
    const { tf } = this;
    const W = this.config.window;
    const F = this.nf + this.np;
    const cells = this.problem.cells;
    const params = standardFields(this.stats, fields);
    const { mean, std } = this.stats.target;
    const n = cells * (t1 - t0);
    const out = new Float64Array(n);
    // cells x windows batched: sequence i is cell i mod cells of step t0 + floor(i / cells)
    const chunk = 2048;
    const x = new Float32Array(chunk * W * F);
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const len = Math.min(chunk, n - i0);
      for (let i = 0; i < len; i++) {
        const g = i0 + i;
        this.fillWindow(x, i, params, g % cells, t0 + Math.floor(g / cells));
      }
      const y = tf.tidy(
        () => this.model.predict(tf.tensor3d(x.subarray(0, len * W * F), [len, W, F])) as TfModule.Tensor,
      );
      const v = y.dataSync();
      for (let i = 0; i < len; i++) out[i0 + i] = v[i]! * std + mean;
      y.dispose();
    }
    return out;
  }

  /**
   * The differentiable forward (issue 17, training through h()): `params` [cells x parameters] in
   * parameter units (a tensor the caller differentiates with respect to) to the target over steps
   * [t0, t1) as a [(t1 - t0) x cells] tensor in target units. The standardisation, the repetition
   * of each cell's parameters over its window and the network are tfjs ops, so tf's autodiff gives
   * the gradient to `params`; the LSTM runs as the fused op, whose custom gradient
   * (compute/fusedLayers.ts, FieldcalLstmGrad) returns dx; the weights' gradients are not computed
   * (zeros: the surrogate is a constant of the caller's loss, trained by `trainer` only). The
   * forcing windows are constants. `_before` is ignored: the 30-day window carries the memory.
   * `only` (cell indices) simulates those cells alone, [(t1 - t0) x only.length]: the cells are
   * independent sequences, so it gives the same values and, through the gather, the same gradient
   * (zero at the other cells) as the whole grid's rows, at the cost of those cells.
   */
  forward(
    params: TfModule.Tensor2D,
    t0: number,
    t1: number,
    _before?: ArrayLike<number>,
    only?: readonly number[],
  ): TfModule.Tensor2D {
    checkSteps(this.problem, t0, t1);
    const { tf } = this;
    const all = this.problem.cells;
    const W = this.config.window;
    if (params.shape[0] !== all || params.shape[1] !== this.np)
      throw new FieldcalError(
        'VALIDATION',
        `surrogate forward wants params [${all} x ${this.np}], got [${params.shape.join(' x ')}]`,
        { field: 'params' },
      );
    if (only && (only.length === 0 || only.some((c) => !Number.isInteger(c) || c < 0 || c >= all)))
      throw new FieldcalError(
        'VALIDATION',
        `surrogate forward: cells to simulate must be one or more of 0 .. ${all - 1}`,
        {
          field: 'only',
        },
      );
    const ids = only ?? null;
    const cells = ids ? ids.length : all;
    const n = t1 - t0;
    const forcing = new Float32Array(n * cells * W * this.nf);
    for (let t = 0; t < n; t++)
      for (let i = 0; i < cells; i++) {
        const k = ids ? ids[i]! : i;
        let o = (t * cells + i) * W * this.nf;
        for (let j = 0; j < W; j++) {
          const s = t0 + t - W + 1 + j;
          for (let f = 0; f < this.nf; f++) forcing[o + f] = s >= 0 ? this.forcing[f]![s * all + k]! : 0;
          o += this.nf;
        }
      }
    const { mean, std } = this.stats.target;
    return tf.tidy(() => {
      const pm = tf.tensor2d(
        this.stats.params.map((m) => m.mean),
        [1, this.np],
      );
      const ps = tf.tensor2d(
        this.stats.params.map((m) => m.std),
        [1, this.np],
      );
      const zAll = tf.div(tf.sub(params, pm), ps);
      const z = ids ? tf.gather(zAll, tf.tensor1d(Int32Array.from(ids), 'int32')) : zAll;
      // sequence i = t * cells + k (as predict): cell k's parameters on every day of its window
      const rep = tf.reshape(tf.tile(tf.reshape(z, [1, cells, 1, this.np]), [n, 1, W, 1]), [
        n * cells,
        W,
        this.np,
      ]);
      const x = tf.concat([tf.tensor3d(forcing, [n * cells, W, this.nf]), rep], 2);
      // the surrogate's weights are constants here: their gradients are not computed
      const y = this.model.apply(x, { weightGrads: false }) as TfModule.Tensor;
      return tf.add(tf.mul(tf.reshape(y, [n, cells]), std), mean) as TfModule.Tensor2D;
    });
  }

  async save(dir: string): Promise<void> {
    await writeSurrogate(
      dir,
      {
        kind: this.kind,
        config: { ...this.config },
        settings: this.settings,
        stats: this.stats,
        problem: problemFacts(this.problem, forcingNames(this.problem)),
      },
      readWeights(this.model),
      this.model.weights.map((w) => w.read().shape),
    );
  }

  dispose(): void {
    this.model.dispose();
  }
}

export interface LstmTrainOptions {
  config?: Partial<LstmConfig>;
  settings?: Partial<TrainSettings>;
  checkpointDir?: string;
  onProgress?: (p: SurrogateProgress) => void;
  beforeBatch?: (epoch: number, batch: number) => void;
}

/** The config when its window and hidden units are positive integers (from options or a saved manifest). */
function checkLstmConfig(config: { window?: unknown; hidden?: unknown } | undefined): LstmConfig {
  const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
  if (!config || !(ok(config.window) && ok(config.hidden)))
    throw new FieldcalError('VALIDATION', `LSTM window and hidden must be positive integers`, {
      field: 'config',
    });
  return { window: config.window, hidden: config.hidden };
}

/** Trains the LSTM surrogate on an ensemble's train members (early stopping on its validation members). */
export async function trainLstm(
  problem: SurrogateProblem,
  ensemble: Ensemble,
  o: LstmTrainOptions = {},
): Promise<{ surrogate: LstmSurrogate; result: TrainResult }> {
  checkProblem(problem);
  const config = checkLstmConfig({ ...LSTM_DEFAULTS, ...o.config });
  const settings = { ...DEFAULT_TRAIN, ...o.settings };
  const { tf } = await computeHandle();
  const data = new TrainingData(problem, ensemble);
  const s = new LstmSurrogate(tf, problem, standardisation(data), config, settings, data);
  try {
    const result = await trainNet(s.trainer(), {
      settings,
      train: data.members('train'),
      valid: data.members('valid'),
      restoreBest: true,
      key: s.key(),
      ...(o.checkpointDir ? { checkpointDir: o.checkpointDir } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.beforeBatch ? { beforeBatch: o.beforeBatch } : {}),
    });
    return { surrogate: s, result };
  } catch (err) {
    s.dispose();
    throw err;
  }
}

/**
 * Loads a saved LSTM surrogate for a problem (same grid, parameters, target, model and data). With
 * `ensemble`, it can be updated on it ({@link updateSurrogate}); without, updates train on the added runs only.
 */
export async function loadLstm(
  dir: string,
  problem: SurrogateProblem,
  ensemble: Ensemble | null = null,
): Promise<LstmSurrogate> {
  checkProblem(problem);
  const { manifest, weights } = await readSurrogate(dir);
  if (manifest.kind !== 'lstm')
    throw new FieldcalError('VALIDATION', `${dir} holds a ${manifest.kind} surrogate, not an LSTM`, {
      path: dir,
    });
  checkManifestProblem(dir, manifest, problem, forcingNames(problem));
  const { tf } = await computeHandle();
  const config = checkLstmConfig(manifest.config);
  const s = new LstmSurrogate(
    tf,
    problem,
    manifest.stats,
    config,
    manifest.settings,
    new TrainingData(problem, ensemble),
  );
  try {
    writeWeights(tf, s.model, weights);
  } catch (err) {
    s.dispose();
    throw new FieldcalError('INVALID_FILE', `${dir}: ${(err as Error).message}`, { path: dir });
  }
  return s;
}

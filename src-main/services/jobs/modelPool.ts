import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { FieldcalError } from '../../../src-shared/ipc';
import type { GriddedObjective } from '../calibration/gridded/objectives';
import { targetOutput, type GriddedProblem } from '../calibration/gridded/problem';
import { targetStepsOf } from '../calibration/gridded/coarse';
import type { ParamFields, Simulator } from '../calibration/gridded/simulator';
import { VIC3L_PARAMS } from '../physics/vic3l';
import { startWorker } from './workerEntry';

/** Control slots shared with the model workers (Int32Array over a SharedArrayBuffer). */
export const CTRL = {
  /** Command sequence number: workers wait for it to change. */
  seq: 0,
  /** 1 = run, 2 = loss + gradient, 3 = exit, 4 = loss + gradient of a window on listed cells. */
  cmd: 1,
  t0: 2,
  t1: 3,
  /** 0 = spatial-rmse, 1 = cell-mse. */
  kind: 4,
  /** Workers done with the current command. */
  done: 5,
  /** Barrier between the forward and reverse passes: arrivals and generation. */
  arrived: 6,
  generation: 7,
  /** Non-zero when a worker failed; its message is posted to the pool. */
  failed: 8,
  /** Window command (4): the first model step run, and how many cells the shared list holds. */
  s0: 9,
  count: 10,
  size: 16,
} as const;

/** What a model worker receives at start. */
export interface ModelWorkerData {
  role: 'model';
  index: number;
  workers: number;
  cells: number;
  steps: number;
  dt: number;
  /** The target's vic3l output and scale (gridded/problem.ts targetOutput). */
  output: 'ET' | 'W1';
  scale: number;
  c0: number;
  c1: number;
  /** A target at a coarser step (gridded/coarse.ts): its rule and number of target steps; bins and values are shared. */
  coarse: { rule: 'mean' | 'sum'; targetSteps: number } | null;
  shared: {
    /** Coarse target only: Int32 target step of each model step, and [targetSteps x cells] values. */
    bins: SharedArrayBuffer | null;
    values: SharedArrayBuffer | null;
    ctrl: SharedArrayBuffer;
    P: SharedArrayBuffer;
    PET: SharedArrayBuffer;
    T: SharedArrayBuffer | null;
    obs: SharedArrayBuffer;
    params: SharedArrayBuffer;
    out: SharedArrayBuffer;
    grad: SharedArrayBuffer;
    partial: SharedArrayBuffer;
    value: SharedArrayBuffer;
    /** Int32 cell indices of a window command, in the caller's order. */
    cells: SharedArrayBuffer;
  };
}

const sharedCopy = (a: ArrayLike<number>) => {
  const sab = new SharedArrayBuffer(a.length * 8);
  new Float64Array(sab).set(a);
  return sab;
};

/**
 * Spreads the problem's cells over worker threads: every forward run and every gradient runs on
 * all threads at once, each on its own block of cells, and the caller blocks (Atomics.wait) until
 * they finish, so the methods keep a synchronous model call. Cells of vic3l are independent; the
 * spatial-RMSE objective couples them per step, which the workers settle at a barrier between the
 * forward and reverse passes (partial sums added in worker order: deterministic for a thread count).
 */
export class ModelPool implements Simulator {
  private readonly workers: Worker[] = [];
  private readonly ctrl: Int32Array;
  private readonly params: Float64Array;
  private readonly out: Float64Array;
  private readonly grad: Float64Array;
  private readonly value: Float64Array;
  private readonly cellList: Int32Array;
  private error: Error | null = null;

  static threadsDefault(): number {
    return Math.max(1, availableParallelism());
  }

  private constructor(
    private readonly pr: GriddedProblem,
    threads = ModelPool.threadsDefault(),
  ) {
    const n = pr.cells;
    const w = Math.max(1, Math.min(threads, n));
    const co = pr.target.coarse;
    const targetSteps = co ? targetStepsOf(co, n) : 0;
    const binsSab = co ? new SharedArrayBuffer(co.bins.length * 4) : null;
    if (co) new Int32Array(binsSab!).set(co.bins);
    const shared = {
      bins: binsSab,
      values: co ? sharedCopy(co.values) : null,
      ctrl: new SharedArrayBuffer(CTRL.size * 4),
      P: sharedCopy(pr.forcing.P),
      PET: sharedCopy(pr.forcing.PET),
      T: pr.forcing.T ? sharedCopy(pr.forcing.T) : null,
      obs: sharedCopy(pr.target.obs),
      params: new SharedArrayBuffer(VIC3L_PARAMS.length * n * 8),
      out: new SharedArrayBuffer(pr.steps * n * 8),
      grad: new SharedArrayBuffer(VIC3L_PARAMS.length * n * 8),
      // per-worker sums per model step, or per target step for a coarse target
      partial: new SharedArrayBuffer(w * Math.max(pr.steps, targetSteps) * 2 * 8),
      value: new SharedArrayBuffer(8),
      cells: new SharedArrayBuffer(n * 4),
    };
    this.ctrl = new Int32Array(shared.ctrl);
    this.params = new Float64Array(shared.params);
    this.out = new Float64Array(shared.out);
    this.grad = new Float64Array(shared.grad);
    this.value = new Float64Array(shared.value);
    this.cellList = new Int32Array(shared.cells);
    for (let i = 0; i < w; i++) {
      const data: ModelWorkerData = {
        role: 'model',
        index: i,
        workers: w,
        cells: n,
        steps: pr.steps,
        dt: pr.dt,
        ...targetOutput(pr.target.name),
        coarse: co ? { rule: co.rule, targetSteps } : null,
        c0: Math.floor((i * n) / w),
        c1: Math.floor(((i + 1) * n) / w),
        shared,
      };
      const worker = startWorker({ workerData: data });
      worker.on('message', (m: { error?: string }) => {
        if (m.error) this.error = new FieldcalError('INTERNAL', `model worker ${i}: ${m.error}`);
      });
      worker.on('error', (e) => (this.error = e));
      this.workers.push(worker);
    }
  }

  /**
   * Starts a pool and resolves once every worker has loaded and copied its cells: workers boot
   * through the event loop, which the blocking model calls would otherwise starve.
   */
  static async create(pr: GriddedProblem, threads = ModelPool.threadsDefault()): Promise<ModelPool> {
    const pool = new ModelPool(pr, threads);
    await Promise.all(
      pool.workers.map(
        (w, i) =>
          new Promise<void>((res, rej) => {
            const onMessage = (m: { ready?: boolean; error?: string }) => {
              if (m.ready) {
                w.off('message', onMessage);
                res();
              } else if (m.error) rej(new FieldcalError('INTERNAL', `model worker ${i}: ${m.error}`));
            };
            w.on('message', onMessage);
            w.once('error', rej);
            w.once('exit', (code) =>
              rej(new FieldcalError('INTERNAL', `model worker ${i} exited (${code}) while starting`)),
            );
          }),
      ),
    ).catch((e: unknown) => {
      pool.close();
      throw e;
    });
    return pool;
  }

  get threads(): number {
    return this.workers.length;
  }

  private command(cmd: number, t0: number, t1: number, kind: number): void {
    const c = this.ctrl;
    Atomics.store(c, CTRL.done, 0);
    Atomics.store(c, CTRL.cmd, cmd);
    Atomics.store(c, CTRL.t0, t0);
    Atomics.store(c, CTRL.t1, t1);
    Atomics.store(c, CTRL.kind, kind);
    Atomics.add(c, CTRL.seq, 1);
    Atomics.notify(c, CTRL.seq);
    for (;;) {
      const done = Atomics.load(c, CTRL.done);
      if (done >= this.workers.length) break;
      if (Atomics.load(c, CTRL.failed)) break;
      Atomics.wait(c, CTRL.done, done, 1000);
      if (this.error) break;
    }
    if (Atomics.load(c, CTRL.failed) || this.error) {
      throw this.error ?? new FieldcalError('INTERNAL', 'a model worker failed');
    }
  }

  private setParams(params: ParamFields): void {
    const n = this.pr.cells;
    VIC3L_PARAMS.forEach((name, k) => this.params.set(params[name], k * n));
  }

  run(params: ParamFields, t1: number): Float64Array {
    this.setParams(params);
    this.command(1, 0, t1, 0);
    return Float64Array.from(this.out.subarray(0, t1 * this.pr.cells));
  }

  lossGrad(params: ParamFields, kind: GriddedObjective, t0: number, t1: number) {
    this.setParams(params);
    this.command(2, t0, t1, kind === 'cell-mse' ? 1 : 0);
    const n = this.pr.cells;
    const g = {} as ParamFields;
    VIC3L_PARAMS.forEach((name, k) => (g[name] = Float64Array.from(this.grad.subarray(k * n, (k + 1) * n))));
    return { f: this.value[0]!, g };
  }

  /**
   * dPL's minibatch step on the pool: the model on the listed cells only, from step s0 with the
   * model's initial stores to t1, the objective on [t0, t1) and its gradient. `params` and the
   * returned gradient hold one value per listed cell, in the list's order. Each worker runs the
   * listed cells of its block; the spatial-RMSE sums meet at the barrier as in {@link lossGrad}.
   * A coarse target is not supported here (the caller keeps its own loop for it).
   */
  windowLossGrad(
    cells: ArrayLike<number>,
    params: ParamFields,
    kind: GriddedObjective,
    s0: number,
    t0: number,
    t1: number,
  ): { f: number; g: ParamFields } {
    if (this.pr.target.coarse)
      throw new FieldcalError('INTERNAL', 'the model pool runs windows of a coarse target only whole');
    const n = this.pr.cells;
    const m = cells.length;
    for (let i = 0; i < m; i++) this.cellList[i] = cells[i]!;
    VIC3L_PARAMS.forEach((name, k) => {
      const p = params[name];
      for (let i = 0; i < m; i++) this.params[k * n + cells[i]!] = p[i]!;
    });
    Atomics.store(this.ctrl, CTRL.s0, s0);
    Atomics.store(this.ctrl, CTRL.count, m);
    this.command(4, t0, t1, kind === 'cell-mse' ? 1 : 0);
    const g = {} as ParamFields;
    VIC3L_PARAMS.forEach((name, k) => {
      const v = new Float64Array(m);
      for (let i = 0; i < m; i++) v[i] = this.grad[k * n + cells[i]!]!;
      g[name] = v;
    });
    return { f: this.value[0]!, g };
  }

  close(): void {
    Atomics.store(this.ctrl, CTRL.cmd, 3);
    Atomics.add(this.ctrl, CTRL.seq, 1);
    Atomics.notify(this.ctrl, CTRL.seq);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

import { availableParallelism } from 'node:os';
import type { Worker, WorkerOptions } from 'node:worker_threads';
import { FieldcalError, toSerializedError, type SerializedError } from '../../../../src-shared/ipc';
import type { GaugeProblem } from '../gauges/problem';
import type { FilterOptions } from './filters';
import { buildSpace, evalSetup, evaluate, type EvalSetup, type Evaluated } from './space';

/** What a candidate worker receives at start: the problem without its forcing, which is shared. */
export interface CandidateWorkerData {
  role: 'candidates';
  index: number;
  problem: Omit<GaugeProblem, 'P' | 'E' | 'snow'>;
  /** The forcing, step-major [steps x cells] Float64 over SharedArrayBuffers (one copy for every thread). */
  P: SharedArrayBuffer;
  E: SharedArrayBuffer;
  mprParameters: string[];
  filters: FilterOptions;
}

/** A request to a candidate worker: a block of candidates by their index in the caller's list. */
export interface CandidateRequest {
  first: number;
  xs: Float64Array[];
}

/** A candidate worker's answer: the block's judged candidates (without x), or the first error. */
export type CandidateReply =
  | { first: number; results: Array<Omit<Evaluated, 'x'>> }
  | { first: number; failed: number; error: SerializedError }
  | { ready: true }
  | { bootError: SerializedError };

/** Builds a worker's evaluation setup from its start data (the forcing seen through the shared buffers). */
export function candidateSetup(d: CandidateWorkerData): EvalSetup {
  const pb: GaugeProblem = { ...d.problem, P: new Float64Array(d.P), E: new Float64Array(d.E) };
  return evalSetup(pb, buildSpace(pb, d.mprParameters), d.filters);
}

/** Judges a block of candidates in order; the first failure stops the block and names its candidate. */
export function evaluateBlock(s: EvalSetup, req: CandidateRequest): CandidateReply {
  const results: Array<Omit<Evaluated, 'x'>> = [];
  for (let i = 0; i < req.xs.length; i++) {
    try {
      const { x: _x, ...rest } = evaluate(s, req.xs[i]!);
      results.push(rest);
    } catch (err) {
      return { first: req.first, failed: req.first + i, error: toSerializedError(err) };
    }
  }
  return { first: req.first, results };
}

/** Threads of a pool: a job spec's `threads` (0: one per core); without a way to start workers, this thread. */
export function poolThreads(threads: number | undefined, canStart: boolean): number {
  if (!canStart) return 1;
  return threads && threads > 0 ? threads : Math.max(1, availableParallelism());
}

/**
 * Candidate-parallel evaluation for inverse mapping: each worker thread simulates whole candidates
 * (cn-lr is coupled across cells by the routing, so a candidate is not split, unlike jobs/modelPool
 * which spreads one vic3l run's independent cells). The forcing is shared (SharedArrayBuffers);
 * blocks of candidates go to whichever worker is free, and the results are gathered by candidate
 * index, so a candidate's numbers never depend on the thread that ran it or on the thread count
 * (evaluate is a pure function of the candidate). With one thread, or where workers cannot start (no `startWorker`), candidates run on the calling thread. A candidate that throws rejects the batch
 * with a FieldcalError naming it, and the pool is shut down (every worker terminated).
 */
export class CandidatePool {
  private readonly workers: Worker[] = [];
  private closedFlag = false;
  private failure: FieldcalError | null = null;
  /** Resolves once every worker thread has exited (at once for a pool on the calling thread). */
  readonly exited: Promise<void>;
  private constructor(
    private readonly local: EvalSetup,
    workers: Worker[],
  ) {
    this.workers = workers;
    this.exited = Promise.all(
      workers.map((w) => new Promise<void>((res) => w.once('exit', () => res()))),
    ).then(() => undefined);
  }

  /** Starts `threads` workers (1: none, the calling thread evaluates) and waits until each has loaded the problem. */
  static async create(
    setup: EvalSetup,
    mprParameters: readonly string[],
    threads: number,
    startWorker?: (options: WorkerOptions) => Worker,
  ): Promise<CandidatePool> {
    const w = Math.max(1, Math.floor(threads));
    if (w === 1 || !startWorker) return new CandidatePool(setup, []);
    const { pb } = setup;
    const shared = (a: Float64Array) => {
      const sab = new SharedArrayBuffer(a.length * 8);
      new Float64Array(sab).set(a);
      return sab;
    };
    const P = shared(pb.P);
    const E = shared(pb.E);
    const { P: _p, E: _e, snow: _s, ...problem } = pb;
    const workers: Worker[] = [];
    for (let i = 0; i < w; i++) {
      const data: CandidateWorkerData = {
        role: 'candidates',
        index: i,
        problem,
        P,
        E,
        mprParameters: [...mprParameters],
        filters: setup.filters,
      };
      workers.push(startWorker({ workerData: data }));
    }
    const pool = new CandidatePool(setup, workers);
    await Promise.all(
      workers.map(
        (wk, i) =>
          new Promise<void>((res, rej) => {
            const onMessage = (m: CandidateReply) => {
              if ('ready' in m) {
                wk.off('message', onMessage);
                res();
              } else if ('bootError' in m)
                rej(
                  new FieldcalError(m.bootError.code, `candidate worker ${i}: ${m.bootError.message}`, {
                    ...m.bootError.details,
                  }),
                );
            };
            wk.on('message', onMessage);
            wk.once('error', rej);
            wk.once('exit', (code) =>
              rej(new FieldcalError('INTERNAL', `candidate worker ${i} exited (${code}) while starting`)),
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
    return Math.max(1, this.workers.length);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Judges the candidates, results in the order of `xs`. Blocks of `ceil(n / (4 x threads))`
   * candidates (at most 16) keep every thread busy to the end with few messages.
   */
  async evaluate(xs: ReadonlyArray<ArrayLike<number>>): Promise<Evaluated[]> {
    if (this.closedFlag)
      throw this.failure ?? new FieldcalError('INTERNAL', 'the candidate pool is shut down');
    const n = xs.length;
    if (!this.workers.length) {
      return xs.map((x, i) => {
        try {
          return evaluate(this.local, x);
        } catch (err) {
          throw this.fail(i, toSerializedError(err));
        }
      });
    }
    const out = new Array<Evaluated | undefined>(n);
    const size = Math.max(1, Math.min(16, Math.ceil(n / (4 * this.workers.length))));
    let next = 0;
    await new Promise<void>((resolve, reject) => {
      let busy = 0;
      let settled = false;
      const cleanups: Array<() => void> = [];
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        cleanups.forEach((c) => c());
        if (err) reject(err);
        else resolve();
      };
      const feed = (wk: Worker) => {
        if (next >= n) {
          if (busy === 0) finish();
          return;
        }
        const first = next;
        const block = xs.slice(first, Math.min(n, first + size)).map((x) => Float64Array.from(x));
        next += block.length;
        busy++;
        wk.postMessage({ first, xs: block } satisfies CandidateRequest);
      };
      for (const wk of this.workers) {
        const onMessage = (m: CandidateReply) => {
          if (settled) return;
          busy--;
          if ('failed' in m) return finish(this.fail(m.failed, m.error));
          if (!('results' in m)) return;
          m.results.forEach((r, k) => {
            const i = m.first + k;
            out[i] = { ...r, x: Float64Array.from(xs[i]!) };
          });
          feed(wk);
        };
        const onError = (e: Error) => finish(this.fail(-1, toSerializedError(e)));
        const onExit = (code: number) =>
          finish(this.fail(-1, { code: 'INTERNAL', message: `a candidate worker exited (${code})` }));
        wk.on('message', onMessage);
        wk.on('error', onError);
        wk.on('exit', onExit);
        cleanups.push(() => {
          wk.off('message', onMessage);
          wk.off('error', onError);
          wk.off('exit', onExit);
        });
      }
      for (const wk of this.workers) feed(wk);
    });
    return out as Evaluated[];
  }

  /** The typed error of a failed candidate (index -1: a worker failed); the pool is shut down. */
  private fail(index: number, e: SerializedError): FieldcalError {
    const err =
      index >= 0
        ? new FieldcalError(e.code, `candidate ${index}: ${e.message}`, { ...e.details, candidate: index })
        : new FieldcalError(e.code, `candidate pool: ${e.message}`, e.details);
    this.failure = err;
    this.close();
    return err;
  }

  /** Terminates every worker (idempotent). */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const w of this.workers) void w.terminate();
  }
}

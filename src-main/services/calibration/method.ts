import type { Worker, WorkerOptions } from 'node:worker_threads';
import type { z } from 'zod';
import type { ComputeHandle } from '../compute';
import type { GaugeProblem } from './gauges/problem';
import type { GriddedProblem } from './gridded/problem';
import type { Simulator } from './gridded/simulator';
import type { LumpedProblem } from './lumped/problem';
import type { BasinsProblem } from './kgssl/data';

/** What a method reports while it runs. */
export interface MethodProgress {
  /** The job phase the point belongs to (default 'calibrating'; 'surrogate' while a surrogate is made). */
  phase?: string;
  iteration: number;
  total: number;
  objective: number;
  valid?: number;
  losses?: Record<string, number>;
}

/** The environment every method runs in: compute, progress, cancellation, checkpoints. */
export interface MethodContext {
  /** The process's tfjs, its backend and threads (initialised once by the host: job worker or CLI). */
  compute: ComputeHandle;
  progress(p: MethodProgress): void;
  /** True once the user cancelled: the method stops at the next iteration boundary. */
  cancelled(): boolean;
  /** Saves a JSON-serialisable state at an iteration boundary (resumable methods). */
  checkpoint?(state: unknown): void;
  /** A state saved by `checkpoint` to continue from. */
  resume?: unknown;
  /** A folder of the run for the method's own files (checkpoint blobs too large for the project); absent outside jobs. */
  workDir?: string;
  /** Threads for a method's own pool of model runs (the job spec's `threads`; 0: one per core). */
  threads?: number;
  /** Starts a worker thread on the app's one worker entry (jobs/workerEntry.ts); absent: the method stays on its thread. */
  startWorker?: (options: WorkerOptions) => Worker;
}

/** A gridded method's context: also the model, on the calling thread or the model pool. */
export interface GriddedContext extends MethodContext {
  sim: Simulator;
  /**
   * Called once, when h() is a surrogate, before the surrogate is disposed, with the method's final
   * fields: `simulate` runs parameter fields through it (the target over the whole record,
   * step-major). The GAN-PO paper scores its methods on the surrogate's simulation (Sun et al. 2024,
   * Figs. 4-10; Fig. S4 on VIC).
   */
  surrogateSimulator?: (simulate: (fields: Float64Array[]) => Float64Array, final: Float64Array[]) => void;
}

/** Calibrated fields of a gridded problem. */
export interface MethodResult {
  /** Calibrated parameter fields [calibrated][cells]. */
  fields: Float64Array[];
  info: Record<string, unknown>;
}

/** Calibrated parameters of a lumped problem, by name. */
export interface LumpedResult {
  parameters: Record<string, number>;
  info: Record<string, unknown>;
  /** Simulated discharge over every step of the problem (warm-up included), from a method that carries its own model (bucket-nexus); absent: GR4J with `parameters`. */
  q?: Float64Array;
  /** That model as data (JSON), which `fieldcal simulate` can run again. */
  model?: Record<string, unknown>;
}

/** Calibrated parameter fields of a gauge-discharge problem, by name, and the scores at each gauge. */
export interface GaugeResult {
  parameters: Record<string, Float64Array>;
  scores: Array<{ code: string; nse: number; kge: number }>;
  info: Record<string, unknown>;
}

/** Embeddings of a multi-basin problem (one row per basin, in `codes` order) and what the method derived from them. */
export interface BasinsResult {
  embeddings: { codes: string[]; z: number[][] };
  info: Record<string, unknown>;
}

/**
 * The problem kinds a method may accept: a lumped series (GR4J on a basin CSV), gauge discharge on
 * a grid (GR4J + lr on a smash-layout folder), a gridded field target (vic3l against ET or SM).
 */
export interface ProblemKinds {
  lumped: { problem: LumpedProblem; context: MethodContext; result: LumpedResult };
  gauges: { problem: GaugeProblem; context: MethodContext; result: GaugeResult };
  gridded: { problem: GriddedProblem; context: GriddedContext; result: MethodResult };
  /** A folder of lumped basins learned together (issue 20: KGSSL embeddings). */
  basins: { problem: BasinsProblem; context: MethodContext; result: BasinsResult };
}
export type ProblemKind = keyof ProblemKinds;
export const PROBLEM_KINDS = [
  'lumped',
  'gauges',
  'gridded',
  'basins',
] as const satisfies readonly ProblemKind[];

/** How a method runs on one problem kind: its strict options (defaults + sources) and its run. */
export interface Runner<K extends ProblemKind, S extends z.ZodType = z.ZodType> {
  options: S;
  run(
    problem: ProblemKinds[K]['problem'],
    options: z.output<S>,
    seed: number,
    ctx: ProblemKinds[K]['context'],
  ): ProblemKinds[K]['result'] | Promise<ProblemKinds[K]['result']>;
}

/**
 * A calibration method: `methods/<registry-key>/index.ts` exports one of these (its options in
 * `options.ts` beside it), and the registry lists it on one line.
 */
export interface MethodDefinition {
  description: string;
  /** Whether it checkpoints and resumes (iterative training loops). */
  resumable: boolean;
  problems: { [K in ProblemKind]?: Runner<K> };
}

/** Types a runner against its options schema, then erases the schema for the registry. */
export const runner = <K extends ProblemKind, S extends z.ZodType>(r: Runner<K, S>): Runner<K> =>
  r as unknown as Runner<K>;

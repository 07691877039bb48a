import type { Simulator } from './simulator';

/** What a method reports while it runs. */
export interface MethodProgress {
  iteration: number;
  total: number;
  objective: number;
  valid?: number;
  losses?: Record<string, number>;
}

/** The environment a method runs in: the model, progress, cancellation, checkpoints. */
export interface MethodContext {
  sim: Simulator;
  progress(p: MethodProgress): void;
  /** True once the user cancelled: the method stops at the next iteration boundary. */
  cancelled(): boolean;
  /** Saves a JSON-serialisable state at an iteration boundary (resumable methods). */
  checkpoint?(state: unknown): void;
  /** A state saved by `checkpoint` to continue from. */
  resume?: unknown;
}

export interface MethodResult {
  /** Calibrated parameter fields [calibrated][cells]. */
  fields: Float64Array[];
  info: Record<string, unknown>;
}

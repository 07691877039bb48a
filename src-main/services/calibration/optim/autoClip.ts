/**
 * AutoClip (Seetharaman, Wichern, Pardo & Le Roux 2020, "AutoClip: adaptive gradient clipping for
 * source separation networks", IEEE MLSP): before each optimiser step the global gradient norm is
 * recorded, and the gradient is scaled down to the `percentile`-th percentile of every norm seen so
 * far when it exceeds it. A differentiable model's gradient has rare spikes thousands of times its
 * usual size (a cell near a kink of the physics: vic3l's infiltration curve near saturation); one
 * such step moves every weight by ~30 learning rates through Adam's moments and can throw a
 * training out of the basin it was in. The history is part of the training state (checkpointed),
 * so a resumed run clips as an uninterrupted one.
 */
export class AutoClip {
  private readonly norms: number[];

  constructor(
    /** Percentile (0-100] of the norms seen so far that a step's norm is clipped to; 100: never clips. */
    private readonly percentile: number,
    history: readonly number[] = [],
  ) {
    this.norms = history.slice();
  }

  /** The recorded norms, for a checkpoint. */
  history(): number[] {
    return this.norms.slice();
  }

  /**
   * Records the gradient's global norm and scales it in place to the percentile; returns the factor
   * applied. A non-finite gradient is zeroed (factor 0) and not recorded: the step carries no
   * information, and NaN in Adam's moments would end the training.
   */
  clip(grads: Float64Array[]): number {
    let s = 0;
    for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
    const norm = Math.sqrt(s);
    let f = 1;
    if (!Number.isFinite(norm)) f = 0;
    else {
      this.norms.push(norm);
      const limit = percentileOf(this.norms, this.percentile);
      if (!(norm > limit) || limit <= 0) return 1;
      f = limit / norm;
    }
    // NaN x 0 is NaN: a non-finite gradient is overwritten, not scaled
    for (const g of grads)
      if (f === 0) g.fill(0);
      else for (let i = 0; i < g.length; i++) g[i]! *= f;
    return f;
  }
}

/** The p-th percentile (0-100] of values, by the nearest-rank method (the smallest value with at least p % of the values at or below it). */
export function percentileOf(values: readonly number[], p: number): number {
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

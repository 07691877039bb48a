/** Norms AutoClip remembers: the most recent ones (a checkpoint stays small on long trainings). */
export const AUTOCLIP_HISTORY = 10_000;

/**
 * AutoClip (Seetharaman, Wichern, Pardo & Le Roux 2020, "AutoClip: adaptive gradient clipping for
 * source separation networks", IEEE MLSP): before each optimiser step the global gradient norm is
 * recorded, and the gradient is scaled down to the `percentile`-th percentile of the norms seen so
 * far when it exceeds it. The paper keeps every norm; here the last {@link AUTOCLIP_HISTORY} (a
 * whole twin training is 1,728 steps; a 10,000-cell grid's epoch about 19,000), so that the
 * history checkpointed each epoch stays bounded. A differentiable model's gradient has rare spikes
 * thousands of times its usual size (a cell near a kink of the physics: vic3l's infiltration curve
 * near saturation); one such step moves every weight by ~30 learning rates through Adam's moments
 * and can throw a training out of the basin it was in. The history is part of the training state
 * (checkpointed), so a resumed run clips as an uninterrupted one.
 */
export class AutoClip {
  /** The remembered norms in the order they came (a checkpoint), and the same sorted (the percentile). */
  private readonly order: number[];
  private readonly sorted: number[];

  constructor(
    /** Percentile (0-100] of the norms seen so far that a step's norm is clipped to; 100: never clips. */
    private readonly percentile: number,
    history: readonly number[] = [],
    private readonly keep = AUTOCLIP_HISTORY,
  ) {
    this.order = history.slice(-keep);
    this.sorted = this.order.slice().sort((a, b) => a - b);
  }

  /** The remembered norms, oldest first, for a checkpoint. */
  history(): number[] {
    return this.order.slice();
  }

  /**
   * Records the gradient's global norm and scales the gradient in place to the percentile; returns
   * the factor applied, or 0 for a non-finite gradient, which is not recorded and which the caller
   * skips (the step carries no information, and NaN in Adam's moments would end the training).
   */
  clip(grads: Float64Array[]): number {
    // the norm scaled by the largest entry: no overflow of the sum of squares below Number.MAX_VALUE
    let big = 0;
    for (const g of grads) for (let i = 0; i < g.length; i++) big = Math.max(big, Math.abs(g[i]!));
    if (!Number.isFinite(big)) return 0;
    if (big === 0) {
      this.record(0);
      return 1;
    }
    let s = 0;
    for (const g of grads)
      for (let i = 0; i < g.length; i++) {
        const v = g[i]! / big;
        s += v * v;
      }
    const norm = big * Math.sqrt(s);
    this.record(norm);
    const limit = this.sorted[rankOf(this.sorted.length, this.percentile)]!;
    if (!(norm > limit) || limit <= 0) return 1;
    const f = limit / norm;
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! *= f;
    return f;
  }

  private record(norm: number): void {
    this.order.push(norm);
    this.sorted.splice(lowerBound(this.sorted, norm), 0, norm);
    if (this.order.length > this.keep) {
      const old = this.order.shift()!;
      this.sorted.splice(lowerBound(this.sorted, old), 1);
    }
  }
}

/** Index of the first element of ascending `a` not below `v`. */
function lowerBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Nearest-rank index of the p-th percentile (0-100] among n sorted values: ceil(p n / 100) - 1. */
function rankOf(n: number, p: number): number {
  return Math.max(0, Math.min(n - 1, Math.ceil((p * n) / 100) - 1));
}

/** Adam (Kingma & Ba 2015) over a list of parameter arrays, updated in place. */
export class Adam {
  private m: Float64Array[];
  private v: Float64Array[];
  private t = 0;
  constructor(
    params: Float64Array[],
    private readonly lr = 0.003,
    private readonly b1 = 0.9,
    private readonly b2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** The optimiser's state (moments and step count), JSON-serialisable for checkpoints. */
  state(): { m: number[][]; v: number[][]; t: number } {
    return { m: this.m.map((a) => Array.from(a)), v: this.v.map((a) => Array.from(a)), t: this.t };
  }

  /** Restores a state saved by {@link state}. */
  restore(s: { m: number[][]; v: number[][]; t: number }): void {
    s.m.forEach((a, k) => this.m[k]!.set(a));
    s.v.forEach((a, k) => this.v[k]!.set(a));
    this.t = s.t;
  }

  step(params: Float64Array[], grads: Float64Array[]): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    params.forEach((p, k) => {
      const g = grads[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        m[i] = this.b1 * m[i]! + (1 - this.b1) * g[i]!;
        v[i] = this.b2 * v[i]! + (1 - this.b2) * g[i]! * g[i]!;
        p[i]! -= (this.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + this.eps);
      }
    });
  }
}

import { mulberry32 } from '../../common/random';

/**
 * The Cross-Entropy Method for optimisation (Rubinstein & Kroese 2004, The Cross-Entropy Method,
 * Springer, ch. 4): a diagonal Gaussian sampling distribution over the search box; each iteration
 * samples it, keeps the elite (the best `eliteFraction` of the plausible samples by score) and
 * refits the mean and standard deviation to the elite, smoothed:
 * μ ← α μ_elite + (1 - α) μ, σ ← α σ_elite + (1 - α) σ (their smoothed updating, section 4.4).
 */
export interface Gaussian {
  mu: number[];
  sigma: number[];
}

/** What the elite is chosen from: a point, its score (higher is better) and whether it passed the filters. */
export interface Scored {
  x: ArrayLike<number>;
  score: number;
  plausible: boolean;
}

/** The elite: plausible points first, then by score, the best max(2, ⌈fraction · n⌉). */
export function eliteOf<T extends Scored>(pts: readonly T[], fraction: number): T[] {
  const k = Math.max(2, Math.ceil(fraction * pts.length));
  return [...pts]
    .sort((a, b) => Number(b.plausible) - Number(a.plausible) || b.score - a.score)
    .slice(0, Math.min(k, pts.length));
}

/** Mean and population standard deviation of the elite, per dimension, with σ kept at least `minSigma`. */
export function fitGaussian(elite: readonly Scored[], minSigma: readonly number[]): Gaussian {
  const d = minSigma.length;
  const mu = new Array<number>(d).fill(0);
  const sigma = new Array<number>(d).fill(0);
  for (const e of elite) for (let j = 0; j < d; j++) mu[j]! += e.x[j]! / elite.length;
  for (const e of elite) for (let j = 0; j < d; j++) sigma[j]! += (e.x[j]! - mu[j]!) ** 2 / elite.length;
  return { mu, sigma: sigma.map((v, j) => Math.max(Math.sqrt(v), minSigma[j]!)) };
}

/** The smoothed update of Rubinstein & Kroese 2004 (section 4.4). */
export function smooth(prev: Gaussian, next: Gaussian, alpha: number): Gaussian {
  return {
    mu: next.mu.map((m, j) => alpha * m + (1 - alpha) * prev.mu[j]!),
    sigma: next.sigma.map((s, j) => alpha * s + (1 - alpha) * prev.sigma[j]!),
  };
}

/**
 * `n` points of the Gaussian, clipped to the box; seeded by (seed, iteration) so a resumed run
 * draws the same points (Box-Muller on Mulberry32, common/random.ts).
 */
export function sampleGaussian(
  g: Gaussian,
  n: number,
  lower: readonly number[],
  upper: readonly number[],
  seed: number,
  iteration: number,
): Float64Array[] {
  const rand = mulberry32((seed ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0);
  const normal = () => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return Array.from({ length: n }, () =>
    Float64Array.from(g.mu, (m, j) => Math.min(upper[j]!, Math.max(lower[j]!, m + g.sigma[j]! * normal()))),
  );
}

/** One iteration's record: the convergence log. */
export interface CemIteration {
  iteration: number;
  samples: number;
  /** Fraction of the samples that passed the filters. */
  acceptance: number;
  /** The worst elite score (Rubinstein & Kroese's level γ) and the elite's mean score. */
  gamma: number;
  eliteMean: number;
  /** Best plausible score so far. */
  best: number;
  /** Mean σ over dimensions, relative to the box width (falls as the distribution concentrates). */
  sigmaRelative: number;
}

export function iterationRecord(
  iteration: number,
  pts: readonly Scored[],
  elite: readonly Scored[],
  g: Gaussian,
  lower: readonly number[],
  upper: readonly number[],
  bestSoFar: number,
): CemIteration {
  const plausible = pts.filter((p) => p.plausible);
  const best = Math.max(bestSoFar, ...plausible.map((p) => p.score));
  return {
    iteration,
    samples: pts.length,
    acceptance: plausible.length / pts.length,
    gamma: elite.length ? elite[elite.length - 1]!.score : Number.NaN,
    eliteMean: elite.reduce((a, e) => a + e.score, 0) / Math.max(1, elite.length),
    best,
    sigmaRelative: g.sigma.reduce((a, s, j) => a + s / (upper[j]! - lower[j]!), 0) / g.sigma.length,
  };
}

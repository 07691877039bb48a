/**
 * Goodness-of-fit metrics on paired series. Pairs where either value is missing (NaN) are left out
 * and counted; a metric that is undefined for the data (e.g. a correlation with a constant series)
 * is NaN with a reason, never a made-up number.
 */

/** A metric value with the number of pairs it used, and why it is NaN when it is. */
export interface MetricResult {
  value: number;
  n: number;
  reason: string | null;
}

/** Paired values where both are finite. */
export function pairs(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
): { o: Float64Array; s: Float64Array; missing: number } {
  if (obs.length !== sim.length) throw new RangeError(`obs has ${obs.length} values, sim ${sim.length}`);
  // count, then fill typed arrays (no growing lists: cellMaps calls this for every cell)
  let n = 0;
  for (let i = 0; i < obs.length; i++) if (Number.isFinite(obs[i]!) && Number.isFinite(sim[i]!)) n++;
  // nothing missing: float64 inputs serve as they are (the metrics only read them)
  if (n === obs.length && obs instanceof Float64Array && sim instanceof Float64Array)
    return { o: obs, s: sim, missing: 0 };
  const o = new Float64Array(n);
  const s = new Float64Array(n);
  for (let i = 0, k = 0; k < n; i++) {
    const a = obs[i]!;
    const b = sim[i]!;
    if (Number.isFinite(a) && Number.isFinite(b)) {
      o[k] = a;
      s[k++] = b;
    }
  }
  return { o, s, missing: obs.length - n };
}

const mean = (x: Float64Array) => {
  let t = 0;
  for (const v of x) t += v;
  return t / x.length;
};
const sum = (x: Float64Array) => {
  let t = 0;
  for (const v of x) t += v;
  return t;
};
/** Population standard deviation (numpy's default, ddof = 0), as hydroeval uses. */
const std = (x: Float64Array, m = mean(x)) => {
  let t = 0;
  for (const v of x) t += (v - m) * (v - m);
  return Math.sqrt(t / x.length);
};

const res = (value: number, n: number, reason: string | null = null): MetricResult => ({
  value: reason ? Number.NaN : value,
  n,
  reason,
});
const empty = (n: number) => (n === 0 ? 'no pairs with both values present' : null);

/** Nash-Sutcliffe efficiency: 1 - Σ(s-o)² / Σ(o-ō)² (Nash & Sutcliffe 1970). */
export function nse(obs: ArrayLike<number>, sim: ArrayLike<number>): MetricResult {
  const { o, s } = pairs(obs, sim);
  if (empty(o.length)) return res(0, 0, empty(o.length));
  const m = mean(o);
  let num = 0;
  let den = 0;
  for (let i = 0; i < o.length; i++) {
    num += (s[i]! - o[i]!) ** 2;
    den += (o[i]! - m) ** 2;
  }
  return res(1 - num / den, o.length, den === 0 ? 'observations are constant' : null);
}

/** Root mean square error: √(Σ(s-o)²/n). */
export function rmse(obs: ArrayLike<number>, sim: ArrayLike<number>): MetricResult {
  const { o, s } = pairs(obs, sim);
  if (empty(o.length)) return res(0, 0, empty(o.length));
  let t = 0;
  for (let i = 0; i < o.length; i++) t += (s[i]! - o[i]!) ** 2;
  return res(Math.sqrt(t / o.length), o.length);
}

/** Pearson correlation coefficient. */
export function cc(obs: ArrayLike<number>, sim: ArrayLike<number>): MetricResult {
  const { o, s } = pairs(obs, sim);
  if (empty(o.length)) return res(0, 0, empty(o.length));
  return pearson(o, s);
}

function pearson(o: Float64Array, s: Float64Array): MetricResult {
  const mo = mean(o);
  const ms = mean(s);
  let sos = 0;
  let soo = 0;
  let sss = 0;
  for (let i = 0; i < o.length; i++) {
    sos += (o[i]! - mo) * (s[i]! - ms);
    soo += (o[i]! - mo) ** 2;
    sss += (s[i]! - ms) ** 2;
  }
  // A series whose spread is rounding noise (below 1e-12 of its magnitude) is constant.
  const flat = (ss: number, m: number) => ss <= o.length * (1e-12 * Math.abs(m)) ** 2;
  if (flat(soo, mo) || flat(sss, ms)) {
    return res(0, o.length, `correlation with a constant ${flat(soo, mo) ? 'observed' : 'simulated'} series`);
  }
  return res(sos / Math.sqrt(soo * sss), o.length);
}

/** Percent bias as hydroeval defines it: 100 Σ(o - s) / Σo (positive when the simulation is low). */
export function pbias(obs: ArrayLike<number>, sim: ArrayLike<number>): MetricResult {
  const { o, s } = pairs(obs, sim);
  if (empty(o.length)) return res(0, 0, empty(o.length));
  let d = 0;
  for (let i = 0; i < o.length; i++) d += o[i]! - s[i]!;
  const so = sum(o);
  return res((100 * d) / so, o.length, so === 0 ? 'observations sum to zero' : null);
}

/** KGE with its components. */
export interface KgeResult extends MetricResult {
  r: number;
  /** α = σs/σo (2009) or γ = CVs/CVo (2012). */
  alpha: number;
  beta: number;
}

/**
 * Kling-Gupta efficiency (Gupta et al. 2009): 1 - √((r-1)² + (α-1)² + (β-1)²), α = σs/σo, β = μs/μo.
 * With `version: 2012` it is KGE' (Kling et al. 2012): α replaced by γ = (σs/μs)/(σo/μo).
 */
export function kge(obs: ArrayLike<number>, sim: ArrayLike<number>, version: 2009 | 2012 = 2009): KgeResult {
  const { o, s } = pairs(obs, sim);
  if (o.length === 0)
    return {
      value: Number.NaN,
      n: 0,
      reason: 'no pairs with both values present',
      r: Number.NaN,
      alpha: Number.NaN,
      beta: Number.NaN,
    };
  const mo = mean(o);
  const ms = mean(s);
  const r = pearson(o, s);
  const so = std(o, mo);
  const ss = std(s, ms);
  const beta = sum(s) / sum(o);
  const alpha = version === 2009 ? ss / so : ss / ms / (so / mo);
  let reason = r.reason;
  if (!reason && so === 0) reason = 'observations are constant';
  if (!reason && version === 2012 && ms === 0) reason = 'simulated mean is zero (γ undefined)';
  const value = 1 - Math.sqrt((r.value - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2);
  return { value: reason ? Number.NaN : value, n: o.length, reason, r: r.value, alpha, beta };
}

/**
 * Axis and colour-bar ticks: round ("nice") numbers, percentile stretches and calendar ticks for
 * dates. Pure functions, shared by the map and hydrograph figures.
 */

/**
 * A nice number near x: 1, 2 or 5 times a power of ten (Heckbert 1990, "Nice numbers for graph
 * labels", Graphics Gems I, pp. 61-63). `round` picks the nearest one, else the smallest one >= x.
 */
export function niceNum(x: number, round: boolean): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const exp = Math.floor(Math.log10(x));
  // rounded to 12 digits so that 0.7 / 0.1 = 6.999999999999999 counts as 7
  const f = Number((x / 10 ** exp).toPrecision(12));
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/** The next smaller nice step (5 -> 2 -> 1 -> 0.5 ...). */
function smallerNice(d: number): number {
  const exp = Math.floor(Math.log10(d) + 1e-9);
  const f = Math.round(d / 10 ** exp);
  return f >= 5 ? 2 * 10 ** exp : f >= 2 ? 10 ** exp : 5 * 10 ** (exp - 1);
}

/** Decimals needed to print multiples of a nice step exactly (Heckbert 1990: nfrac). */
export function decimalsOf(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Ticks: the values, their common step and the decimals that print them. */
export interface Ticks {
  values: number[];
  step: number;
  decimals: number;
}

/**
 * Heckbert's (1990) nice ticks that lie inside [lo, hi] (both ends included): the step is the
 * nice number rounded from range / (n - 1), made smaller until at least `minInside` ticks fall in
 * the range. Values are multiples of the step, rounded to its decimals so that 0.1 + 0.2 prints 0.3.
 */
export function niceTicksInside(lo: number, hi: number, n = 5, minInside = 3): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) {
    const v = Number.isFinite(lo) ? lo : 0;
    return { values: [v], step: 1, decimals: 0 };
  }
  const range = niceNum(hi - lo, false);
  let step = niceNum(range / Math.max(1, n - 1), true);
  for (let guard = 0; guard < 60; guard++) {
    const k0 = Math.ceil(lo / step - 1e-9);
    const k1 = Math.floor(hi / step + 1e-9);
    if (k1 - k0 + 1 >= minInside) break;
    step = smallerNice(step);
  }
  return ticksOfStep(lo, hi, step);
}

/** Multiples of `step` inside [lo, hi]. */
export function ticksOfStep(lo: number, hi: number, step: number): Ticks {
  const decimals = decimalsOf(step);
  const k0 = Math.ceil(lo / step - 1e-9);
  const k1 = Math.floor(hi / step + 1e-9);
  const values: number[] = [];
  for (let k = k0; k <= k1; k++) values.push(Number((k * step).toFixed(decimals)));
  return { values, step, decimals };
}

/**
 * Heckbert's (1990) loose labelling: the axis runs from a multiple of the nice step at or below lo
 * to one at or above hi, so the extreme data sit inside the frame. Returns the extended range too.
 */
export function niceTicksLoose(lo: number, hi: number, n = 5): Ticks & { lo: number; hi: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { ...niceTicksLoose(0, 1, n) };
  if (hi <= lo) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1);
  const range = niceNum(hi - lo, false);
  const step = niceNum(range / Math.max(1, n - 1), true);
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const t = ticksOfStep(a, b, step);
  return { ...t, lo: t.values[0]!, hi: t.values[t.values.length - 1]! };
}

/** A tick value printed with the decimals of its step (no "0.30000000000000004", no "-0"). */
export function formatTick(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/**
 * The p-th percentile (0..100) of the finite values, linear between order statistics (Hyndman &
 * Fan 1996, definition 7, numpy's default). NaN when there is no finite value.
 */
export function percentile(values: ArrayLike<number>, p: number, keep?: (i: number) => boolean): number {
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isFinite(x) && (!keep || keep(i))) v.push(x);
  }
  return percentileOfSorted(Float64Array.from(v).sort(), p);
}

/** Percentile of values sorted ascending (Hyndman & Fan 1996, definition 7). */
export function percentileOfSorted(v: Float64Array, p: number): number {
  if (v.length === 0) return Number.NaN;
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo]! + (pos - lo) * (v[hi]! - v[lo]!);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A calendar tick: its time (ms, UTC), its label and, where the year starts or changes, the year. */
export interface DateTick {
  time: number;
  label: string;
  year: string | null;
}

/**
 * Calendar ticks between two instants (UTC): every 1, 2 or 7 days, every 1, 2, 3 or 6 months on
 * the first of the month, or every 1, 2, 5, 10, 20 or 50 years on 1 January, whichever is the
 * finest that gives at most `maxTicks` ticks. The year is written under the first tick and under
 * each tick where it changes (under every tick on yearly steps it is the label itself).
 */
export function dateTicks(t0: number, t1: number, maxTicks = 10): DateTick[] {
  if (!Number.isFinite(t0) || !Number.isFinite(t1) || t1 < t0) return [];
  const day = 86_400_000;
  const gen: Array<() => number[]> = [];
  for (const step of [1, 2, 7, 14]) {
    gen.push(() => {
      const out: number[] = [];
      const d = new Date(t0);
      let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      for (; t <= t1; t += day) {
        const dd = new Date(t).getUTCDate();
        // day steps restart on the 1st of each month so that ticks fall on the same dates every month
        if (t >= t0 && (step === 1 || ((dd - 1) % step === 0 && dd + step <= 32))) out.push(t);
        if (out.length > 400) break;
      }
      return out;
    });
  }
  for (const step of [1, 2, 3, 6]) {
    gen.push(() => {
      const out: number[] = [];
      const d = new Date(t0);
      let y = d.getUTCFullYear();
      let m = d.getUTCMonth();
      for (;;) {
        const t = Date.UTC(y, m, 1);
        if (t > t1) break;
        if (t >= t0 && m % step === 0) out.push(t);
        if (++m === 12) [m, y] = [0, y + 1];
        if (out.length > 400) break;
      }
      return out;
    });
  }
  for (const step of [1, 2, 5, 10, 20, 50, 100]) {
    gen.push(() => {
      const out: number[] = [];
      const y0 = new Date(t0).getUTCFullYear();
      for (let y = Math.ceil(y0 / step) * step; ; y += step) {
        const t = Date.UTC(y, 0, 1);
        if (t > t1) break;
        if (t >= t0) out.push(t);
      }
      return out;
    });
  }
  const kinds = ['day', 'day', 'day', 'day', 'month', 'month', 'month', 'month'];
  for (let g = 0; g < gen.length; g++) {
    const ts = gen[g]!();
    if (ts.length > maxTicks || ts.length === 0) continue;
    const kind = kinds[g] ?? 'year';
    let lastYear = -1;
    return ts.map((t) => {
      const d = new Date(t);
      const y = d.getUTCFullYear();
      if (kind === 'year') return { time: t, label: String(y), year: null };
      const label =
        kind === 'day' ? `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}` : MONTHS[d.getUTCMonth()]!;
      const year = y !== lastYear ? String(y) : null;
      lastYear = y;
      return { time: t, label, year };
    });
  }
  // a span too short for a daily tick: its two ends
  return [t0, t1].map((t) => ({ time: t, label: new Date(t).toISOString().slice(0, 10), year: null }));
}

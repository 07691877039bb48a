import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import type { AssembledInput, ModelStep, TimeRule } from '../../../src-shared/types/assemble';
import { STEP_SECONDS } from '../../../src-shared/types/assemble';
import type { Stack } from '../rasters/stack';

/**
 * Bringing a stack to the model step (issue 15). A step stamped t covers [t, t + step): a daily
 * file dated 2012-08-01 holds 2012-08-01 00:00 to 2012-08-02 00:00 UTC, a monthly one its calendar
 * month. Finer steps are aggregated (`sum` for fluxes, `mean` for states) and any missing sub-step
 * (absent file or NaN cell) makes the aggregate missing, never a partial sum. Coarser steps are
 * disaggregated: `sum` spreads the value evenly over the model steps it covers (a month over its
 * calendar days or hours), `mean` repeats it. Nothing is read until a model step is asked for.
 */

/** The model steps of a period: every step from `start` to `end` inclusive (UTC). */
export function modelDates(step: ModelStep, start: Date, end: Date): Date[] {
  const dt = STEP_SECONDS[step] * 1000;
  const out: Date[] = [];
  for (let t = start.getTime(); t <= end.getTime(); t += dt) out.push(new Date(t));
  return out;
}

/** A stack seen at the model step over a period. */
export interface SteppedStack {
  source: string;
  grid: Grid;
  step: ModelStep;
  stepSeconds: number;
  /** Start of each model step. */
  dates: Date[];
  /** The source's step as a word (`hourly`, `daily`, `monthly`, `10800 s`). */
  stepFrom: string;
  /** What was done, as the manifest records it. */
  timeRule: AssembledInput['timeRule'];
  rule: TimeRule;
  /** The conversion in words, for the manifest and the report. */
  description: string;
  /** Model steps that have no value at all (no source step covers them). */
  missing: number[];
  /** Values of model step t on the stack's grid (NaN missing). */
  read(t: number): Promise<Float64Array>;
}

const monthStart = (t: number) => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const nextMonth = (t: number) => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};

/** The source step in words. */
function stepWord(s: Stack): string {
  if (s.step && s.step !== 'other') return s.step;
  return `${s.stepSeconds} s`;
}

/**
 * Brings a stack to the model step over the model steps `dates` (from `modelDates`), lazily, with
 * the rule recorded. Refuses a source step that is neither a multiple nor a divisor of the model
 * step, a single-step stack whose step is unknown, and fine steps off the model step's boundaries.
 */
export function toModelStep(
  stack: Stack,
  opts: { step: ModelStep; dates: Date[]; rule: TimeRule },
): SteppedStack {
  const S = STEP_SECONDS[opts.step] * 1000;
  const monthly = stack.step === 'monthly';
  const s = monthly ? 0 : stack.stepSeconds * 1000;
  if (!monthly && !(s > 0))
    throw new FieldcalError(
      'VALIDATION',
      `${stack.source}: the step of a stack of ${stack.steps.length} step(s) is unknown; give its time axis`,
      { file: stack.source, field: 'step' },
    );
  const index = new Map(stack.steps.map((st, i) => [st.time.getTime(), i]));
  const origin = stack.steps[0]?.time.getTime() ?? 0;
  const clim = stack.climatology;
  const withClim = (text: string) => (clim ? `${clim.layout} climatology (${clim.rule}); ${text}` : text);
  const base = {
    source: stack.source,
    grid: stack.grid,
    step: opts.step,
    stepSeconds: S / 1000,
    dates: opts.dates,
    stepFrom: clim ? `${clim.layout} (${stepWord(stack)})` : stepWord(stack),
    rule: opts.rule,
  };
  const cells = stack.grid.rows * stack.grid.cols;
  const nan = () => new Float64Array(cells).fill(Number.NaN);
  // the last source step read, kept: disaggregation asks for the same one many times in a row
  let cached: { i: number; v: Promise<Float64Array> } | null = null;
  const readSource = (i: number) => {
    if (cached?.i !== i) cached = { i, v: stack.read(i) };
    return cached.v;
  };

  if (!monthly && s === S) {
    const missing: number[] = [];
    const map = opts.dates.map((d, t) => {
      const i = index.get(d.getTime());
      if (i === undefined) missing.push(t);
      return i;
    });
    if (
      missing.length === opts.dates.length &&
      opts.dates.length > 0 &&
      (origin - opts.dates[0]!.getTime()) % S !== 0
    )
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${stack.source}: its ${stepWord(stack)} steps start at ${stack.steps[0]!.time.toISOString()}, off the model's ${opts.step} steps (which start at ${opts.dates[0]!.toISOString()})`,
        { file: stack.source, field: 'step' },
      );
    return {
      ...base,
      timeRule: clim ? 'climatology' : 'none',
      description: withClim(`already at the model's ${opts.step} step`),
      missing,
      read: async (t) => {
        const i = map[t];
        return i === undefined ? nan() : Float64Array.from(await readSource(i));
      },
    };
  }

  if (!monthly && s < S) {
    // aggregation: the model step [T, T + S) gathers the S / s source steps T, T + s, ...
    const k = S / s;
    if (!Number.isInteger(k))
      throw new FieldcalError(
        'VALIDATION',
        `${stack.source}: a step of ${s / 1000} s does not divide the model's ${opts.step} step`,
        { file: stack.source, field: 'step' },
      );
    if (opts.dates.length > 0 && (((origin - opts.dates[0]!.getTime()) % s) + s) % s !== 0)
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${stack.source}: its steps start at ${stack.steps[0]!.time.toISOString()}, off the model's ${opts.step} boundaries`,
        { file: stack.source, field: 'step' },
      );
    const missing: number[] = [];
    const map = opts.dates.map((d, t) => {
      const subs: Array<number | undefined> = [];
      for (let j = 0; j < k; j++) subs.push(index.get(d.getTime() + j * s));
      if (subs.some((x) => x === undefined)) missing.push(t);
      return subs;
    });
    return {
      ...base,
      timeRule: opts.rule,
      description: withClim(
        `${k} ${stepWord(stack)} steps ${opts.rule === 'sum' ? 'summed' : 'averaged'} into each ${opts.step} step; a step missing any of them is missing`,
      ),
      missing,
      read: async (t) => {
        const subs = map[t];
        if (!subs || subs.some((x) => x === undefined)) return nan();
        const out = new Float64Array(cells);
        // NaN propagates: a cell missing in any sub-step is missing in the aggregate
        for (const i of subs) {
          const v = await stack.read(i!);
          for (let c = 0; c < cells; c++) out[c] = out[c]! + v[c]!;
        }
        if (opts.rule === 'mean') for (let c = 0; c < cells; c++) out[c] = out[c]! / k;
        return out;
      },
    };
  }

  // disaggregation: each model step lies inside one source step [t0, t0 + s) and takes its value
  // (mean) or an even share, value / (number of model steps it covers) (sum; a month by its calendar length)
  if (!monthly) {
    const k = s / S;
    if (!Number.isInteger(k))
      throw new FieldcalError(
        'VALIDATION',
        `${stack.source}: a step of ${s / 1000} s is not a whole number of the model's ${opts.step} steps`,
        { file: stack.source, field: 'step' },
      );
  }
  const missing: number[] = [];
  const map = opts.dates.map((d, t) => {
    const T = d.getTime();
    let t0: number;
    let parts: number;
    if (monthly) {
      t0 = monthStart(T);
      parts = (nextMonth(T) - t0) / S;
    } else {
      t0 = origin + Math.floor((T - origin) / s) * s;
      parts = s / S;
    }
    const i = index.get(t0);
    if (i === undefined) missing.push(t);
    return { i, parts };
  });
  return {
    ...base,
    timeRule: clim ? 'climatology' : 'disaggregate',
    description: withClim(
      opts.rule === 'sum'
        ? `each ${stepWord(stack)} value spread evenly over its ${opts.step} steps${monthly ? ' (by the calendar length of the month)' : ''}`
        : `each ${stepWord(stack)} value repeated on its ${opts.step} steps`,
    ),
    missing,
    read: async (t) => {
      const m = map[t];
      if (!m || m.i === undefined) return nan();
      const v = await readSource(m.i);
      if (opts.rule === 'mean') return Float64Array.from(v);
      const out = new Float64Array(cells);
      for (let c = 0; c < cells; c++) out[c] = v[c]! / m.parts;
      return out;
    },
  };
}

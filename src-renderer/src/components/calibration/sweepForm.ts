import { sweepSpecSchema, type JobSpecInput, type SweepSpecInput } from '../../../../src-shared/ipc';
import { whenText } from '../../../../src-shared/types/formMeta';
import { fieldForIssue, isShown, parseField, type FieldSpec, type RawValue } from './schemaForm';

/**
 * The Calibrate panel's sweep mode (issue 18) as plain data: the panel's job spec is the base, the
 * user crosses some of the method's options (numbers, enums, booleans) over lists of values, a list of
 * seeds and of datasets; this module parses those lists, counts the children and builds the
 * `SweepSpecInput` through `sweepSpecSchema`, so what the form sends never fails main's shape checks.
 * Issues (inline, the schema's, or main's `VALIDATION` details) are keyed by the form field they
 * belong to.
 */

/** One swept option: the option's name and the text of its values (`0.1, 1, 10`). */
export interface SweepAxis {
  field: string;
  text: string;
}

export type SweepPeriod = 'train' | 'valid' | 'test';

export interface SweepForm {
  name: string;
  axes: SweepAxis[];
  /** Seeds, e.g. `1, 2, 3` or `1..4`; empty: every child takes the base spec's seed. */
  seedsText: string;
  /** Dataset folders or basin files, one per line; empty: the base spec's dataset. */
  datasetsText: string;
  metric: string;
  period: SweepPeriod;
  mode: 'max' | 'min';
  concurrency: string;
  /** `redis://…`: children go on a BullMQ queue; empty: the local job host. */
  queue: string;
}

/** Form keys issues are shown next to. Grid axes are `grid.options.<name>`. */
export const SWEEP_KEYS = [
  'name',
  'seeds',
  'datasets',
  'select.metric',
  'select.period',
  'concurrency',
  'queue',
];

/** The key of a swept option's values in the grid (a dotted path into the job spec). */
export const gridKey = (field: string): string => `options.${field}`;

type GridValues = Readonly<Record<string, ReadonlyArray<number | string | boolean>>>;

/** Grids of more combinations than this are not enumerated for the options that matter (main refuses over 10000). */
const MAX_COMBOS = 10_000;

/** Whether a sweep can cross an option: numbers, integers, enums and booleans (lists and objects cannot). */
const crossable = (f: FieldSpec) =>
  f.kind === 'number' || f.kind === 'integer' || f.kind === 'enum' || f.kind === 'boolean';

/** An option's name from its grid key (`options.surrogate.epochs` → `surrogate.epochs`). */
const nameOf = (key: string) => key.slice('options.'.length);

/**
 * The form values of each combination of the grid's axes that some option's rule names (`shownWhen`:
 * they alone decide which options matter) over the run's values, an axis value as its input would
 * hold it; null when they make more than MAX_COMBOS.
 */
function ruleCombos(
  fields: readonly FieldSpec[],
  values: Readonly<Record<string, RawValue>>,
  grid: GridValues,
): Array<Record<string, RawValue>> | null {
  const named = new Set(fields.flatMap((f) => Object.keys(f.shownWhen ?? {})));
  const axes = Object.entries(grid).filter(([k]) => k.startsWith('options.') && named.has(nameOf(k)));
  if (axes.reduce((n, [, v]) => n * v.length, 1) > MAX_COMBOS) return null;
  let out: Array<Record<string, RawValue>> = [{ ...values }];
  for (const [k, vs] of axes)
    out = out.flatMap((c) => vs.map((v) => ({ ...c, [nameOf(k)]: typeof v === 'boolean' ? v : String(v) })));
  return out;
}

/**
 * The options a sweep can cross ({@link crossable}) that matter with the run's values (`isShown`)
 * or with some combination of the grid's, e.g. a surrogate's settings once `physics` is swept over
 * lstm.
 */
export function sweepableFields(
  fields: readonly FieldSpec[],
  values: Readonly<Record<string, RawValue>> = {},
  grid: GridValues = {},
): FieldSpec[] {
  const combos = ruleCombos(fields, values, grid) ?? [{ ...values }];
  return fields.filter((f) => crossable(f) && combos.some((c) => isShown(f, c, fields)));
}

/** Metrics a run of this problem kind records per period (gauges: per gauge; gridded: medians over cells). */
export function metricChoices(kind: JobSpecInput['kind']): string[] {
  // gaugesJob.ts (and lumped basins) record nse and kge per period; evaluate.ts (gridded and twins) these five
  return kind === 'gauges' || kind === 'lumped'
    ? ['nse', 'kge']
    : ['spatialRmse', 'medianCellKge', 'medianCellCc', 'medianCellRmse', 'pctRmseReduced'];
}

/** Whether larger is better for a metric: errors (RMSE, MSE, bias) are minimised, skill scores maximised. */
export function defaultMode(metric: string): 'max' | 'min' {
  return /rmse|mse|mae|bias|error|loss/i.test(metric) ? 'min' : 'max';
}

/** A fresh sweep form for a base spec: no axes, the base seed, the best metric for the kind. */
export function emptySweepForm(kind: JobSpecInput['kind'], method: string): SweepForm {
  const metric = metricChoices(kind)[kind === 'gauges' ? 0 : 1]!;
  return {
    name: `${method || 'method'} sweep`,
    axes: [],
    seedsText: '',
    datasetsText: '',
    metric,
    // gauge runs with a split sample have train and test periods; twins have a validation period too
    period: kind === 'twin' ? 'valid' : 'test',
    mode: defaultMode(metric),
    concurrency: '1',
    queue: '',
  };
}

/** The items of a list typed with commas, semicolons or spaces between them. */
export function splitList(text: string): string[] {
  return text
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

type Parsed<T> = { values: T[]; error?: undefined } | { values?: undefined; error: string };

/** A swept option's values, each parsed and bounds-checked as the options form checks one value. */
export function parseAxisValues(f: FieldSpec, text: string): Parsed<number | string | boolean> {
  const items = splitList(text);
  if (!items.length) return { error: 'list at least one value' };
  const out: Array<number | string | boolean> = [];
  for (const item of items) {
    let v: unknown;
    if (f.kind === 'boolean') {
      if (item !== 'true' && item !== 'false') return { error: `${item}: expected true or false` };
      v = item === 'true';
    } else {
      const r = parseField(f, item);
      if (r.error) return { error: `${item}: ${r.error}` };
      v = r.value;
    }
    if (out.includes(v as never)) return { error: `${item} is listed twice` };
    out.push(v as number | string | boolean);
  }
  if (out.length > 1000) return { error: `${out.length} values: at most 1000` };
  return { values: out };
}

/** Seeds: whole numbers separated by commas or spaces, and ranges `a..b` (inclusive). Empty: none. */
export function parseSeeds(text: string): Parsed<number> {
  const out: number[] = [];
  for (const item of splitList(text)) {
    const range = /^(-?\d+)\.\.(-?\d+)$/.exec(item);
    if (range) {
      const a = Number(range[1]);
      const b = Number(range[2]);
      if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) return { error: `${item}: too large` };
      if (b < a) return { error: `${item}: the range ends before it starts` };
      if (b - a >= 1000) return { error: `${item}: at most 1000 seeds` };
      for (let s = a; s <= b; s++) out.push(s);
      continue;
    }
    const v = Number(item);
    if (!/^-?\d+$/.test(item) || !Number.isSafeInteger(v))
      return { error: `${item}: a seed is a whole number (or a range like 1..4)` };
    out.push(v);
  }
  const dup = out.find((s, i) => out.indexOf(s) !== i);
  if (dup !== undefined) return { error: `seed ${dup} is listed twice` };
  if (out.length > 1000) return { error: `${out.length} seeds: at most 1000` };
  return { values: out };
}

/** Dataset paths, one per line (a path may hold commas and spaces). Empty: none. */
export function parseDatasets(text: string): Parsed<string> {
  const out = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const dup = out.find((s, i) => out.indexOf(s) !== i);
  if (dup !== undefined) return { error: `${dup} is listed twice` };
  return { values: out };
}

/**
 * How many children a grid, seeds and datasets make: the product of their lengths, where
 * combinations that differ only in values that do not matter to them (a surrogate's settings with
 * exact physics: `fields`' rules over the run's `values`) count once, as main makes them once.
 */
export function childCount(
  grid: GridValues,
  seeds: number,
  datasets: number,
  fields: readonly FieldSpec[] = [],
  values: Readonly<Record<string, RawValue>> = {},
): number {
  const keys = Object.keys(grid);
  let combos = keys.reduce((n, k) => n * grid[k]!.length, 1);
  const byName = new Map(fields.map((f) => [f.name, f]));
  const named = new Set(fields.flatMap((f) => Object.keys(f.shownWhen ?? {})));
  const ruled = ruleCombos(fields, values, grid);
  if (ruled && fields.some((f) => f.shownWhen)) {
    // per distinct values of the rules' axes that matter: the product of the other axes that matter
    const counts = new Map<string, number>();
    for (const c of ruled) {
      const matters = (k: string) => {
        const f = byName.get(nameOf(k));
        return !k.startsWith('options.') || !f || isShown(f, c, fields);
      };
      const own = keys.filter((k) => named.has(nameOf(k))).map((k) => (matters(k) ? c[nameOf(k)] : null));
      const tuple = JSON.stringify(own);
      if (!counts.has(tuple))
        counts.set(
          tuple,
          keys
            .filter((k) => !named.has(nameOf(k)))
            .reduce((n, k) => n * (matters(k) ? grid[k]!.length : 1), 1),
        );
    }
    combos = [...counts.values()].reduce((a, b) => a + b, 0);
  }
  return combos * Math.max(1, seeds) * Math.max(1, datasets);
}

export interface SweepBuild {
  /** The spec to send, or null while any field has an issue. */
  spec: SweepSpecInput | null;
  /** How many children the lists make (what parsed so far). */
  children: number;
  /** The axes' values that parsed, by grid key. */
  grid: GridValues;
  /** The options the sweep can cross with the run's values and this grid ({@link sweepableFields}). */
  sweepable: FieldSpec[];
  /** Messages by form key (`grid.options.<name>`, `seeds`, …; `''`: of no field). */
  issues: Record<string, string[]>;
}

const add = (issues: Record<string, string[]>, key: string, m: string) => (issues[key] ??= []).push(m);

/** Every key the sweep form shows issues next to, with the grid axes of this form. */
export function sweepKeys(form: SweepForm): string[] {
  return [...SWEEP_KEYS, 'grid', ...form.axes.map((a) => `grid.${gridKey(a.field)}`)];
}

/**
 * The sweep spec of the form over a base job spec (the options form's `values` with it); inline
 * issues by field, checked by `sweepSpecSchema`.
 */
export function buildSweep(
  form: SweepForm,
  base: JobSpecInput,
  fields: readonly FieldSpec[],
  values: Readonly<Record<string, RawValue>> = {},
): SweepBuild {
  const issues: Record<string, string[]> = {};
  const grid: Record<string, Array<number | string | boolean>> = {};
  const byName = new Map(fields.filter(crossable).map((f) => [f.name, f]));
  for (const a of form.axes) {
    const f = byName.get(a.field);
    const key = `grid.${gridKey(a.field)}`;
    if (!f) {
      add(issues, key, `${a.field} is not an option of ${base.method} that a sweep can cross`);
      continue;
    }
    if (grid[gridKey(a.field)]) {
      add(issues, key, `${a.field} is swept twice`);
      continue;
    }
    const r = parseAxisValues(f, a.text);
    if (r.error !== undefined) add(issues, key, r.error);
    else grid[gridKey(a.field)] = r.values;
  }
  // an option that matters under no combination (a surrogate's setting, physics exact and not
  // swept); not judged while another axis is being typed
  const sweepable = sweepableFields(fields, values, grid);
  const crossing = new Set(sweepable.map((f) => f.name));
  if (Object.keys(grid).length === form.axes.length)
    for (const a of form.axes) {
      const f = byName.get(a.field);
      if (f?.shownWhen && !crossing.has(a.field))
        add(
          issues,
          `grid.${gridKey(a.field)}`,
          `matters only with ${whenText(f.shownWhen)}: sweep or set that too`,
        );
    }
  const seeds = parseSeeds(form.seedsText);
  if (seeds.error !== undefined) add(issues, 'seeds', seeds.error);
  const datasets = parseDatasets(form.datasetsText);
  if (datasets.error !== undefined) add(issues, 'datasets', datasets.error);
  const concurrency = Number(form.concurrency.trim());
  if (form.concurrency.trim() === '' || !Number.isInteger(concurrency))
    add(issues, 'concurrency', 'a whole number of children at once');
  const children = childCount(grid, seeds.values?.length ?? 0, datasets.values?.length ?? 0, fields, values);
  if (!form.axes.length && !seeds.values?.length && !datasets.values?.length)
    add(issues, 'grid', 'sweep at least one option, or list seeds or datasets');

  const input: SweepSpecInput = {
    name: form.name.trim(),
    base: base as Record<string, unknown>,
    grid,
    ...(seeds.values?.length ? { seeds: seeds.values } : {}),
    ...(datasets.values?.length ? { datasets: datasets.values } : {}),
    select: { metric: form.metric.trim(), period: form.period, mode: form.mode },
    concurrency,
    ...(form.queue.trim() ? { queue: form.queue.trim() } : {}),
  };
  const parsed = sweepSpecSchema.safeParse(input);
  if (!parsed.success) {
    const keys = sweepKeys(form);
    for (const i of parsed.error.issues) {
      const path = i.path.map(String).join('.');
      const key = fieldForIssue(path, keys) ?? '';
      // an issue the inline checks already named is not repeated
      if (!issues[key]?.length) add(issues, key, key === '' && path ? `${path}: ${i.message}` : i.message);
    }
  }
  const ok = Object.keys(issues).length === 0;
  return { spec: ok ? input : null, children, issues, grid, sweepable };
}

export interface PlacedIssues {
  /** Messages by sweep form key. */
  sweep: Record<string, string[]>;
  /** Messages of the base spec by its own path (`options.iterations`, `twin.rows`), for the panel's fields. */
  base: Array<{ path: string; message: string }>;
}

/**
 * Places main's refusal of `jobs.sweep` next to the right fields: `details.issues` (`{ path, message }`,
 * paths like `spec.grid.options.x.2` for the shape, `children[3].options.lambdaL` for a child that
 * `jobs.submit` would refuse), or `details.field`; a child's issue on a swept path goes to that axis,
 * on its seed or dataset to those lists, anything else to the base form's field, naming the child.
 */
export function placeSweepError(err: unknown, form: SweepForm): PlacedIssues {
  const out: PlacedIssues = { sweep: {}, base: [] };
  const e = (err ?? {}) as { message?: unknown; details?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const details = (e.details && typeof e.details === 'object' ? e.details : {}) as Record<string, unknown>;
  const list: Array<{ path: string; message: string }> = [];
  if (Array.isArray(details.issues))
    for (const i of details.issues) {
      if (typeof i === 'string') list.push({ path: '', message: i });
      else if (i && typeof i === 'object') {
        const ii = i as { path?: unknown; message?: unknown };
        const p =
          typeof ii.path === 'string' ? ii.path : Array.isArray(ii.path) ? ii.path.map(String).join('.') : '';
        list.push({ path: p, message: typeof ii.message === 'string' ? ii.message : message });
      }
    }
  else if (typeof details.field === 'string') list.push({ path: details.field, message });
  if (!list.length) {
    add(out.sweep, '', message);
    return out;
  }
  const keys = sweepKeys(form);
  for (const { path: raw, message: m } of list) {
    const path = raw.replace(/^spec(\.|$)/, '');
    // `children[3].options.x` (main's sweep check) or `children.3.options.x`
    const child = /^children(?:\.(\d+)|\[(\d+)\])(?:\.(.*))?$/.exec(path);
    if (!child) {
      const key = fieldForIssue(path, keys);
      if (key) add(out.sweep, key, m);
      else if (path.startsWith('base.')) out.base.push({ path: path.slice('base.'.length), message: m });
      else add(out.sweep, '', path ? `${path}: ${m}` : m);
      continue;
    }
    const n = Number(child[1] ?? child[2]) + 1;
    const rest = child[3] ?? '';
    const axis = form.axes.find((a) => rest === gridKey(a.field) || rest.startsWith(`${gridKey(a.field)}.`));
    if (axis) add(out.sweep, `grid.${gridKey(axis.field)}`, `child ${n}: ${m}`);
    else if (rest === 'seed' && form.seedsText.trim()) add(out.sweep, 'seeds', `child ${n}: ${m}`);
    else if ((rest === 'dataset' || rest.startsWith('dataset.')) && form.datasetsText.trim())
      add(out.sweep, 'datasets', `child ${n}: ${m}`);
    else if (rest) out.base.push({ path: rest, message: `child ${n}: ${m}` });
    else add(out.sweep, '', `child ${n}: ${m}`);
  }
  return out;
}

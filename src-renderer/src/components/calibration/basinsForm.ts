import { jobSpecSchema, type JobSpec, type JobSpecInput } from '../../../../src-shared/ipc';

/**
 * The Calibrate panel's multi-basin (KGSSL, issue 20) problem as pure logic: the form's fields, the
 * `basins` job spec it makes (parsed through `jobSpecSchema`), its own issues on the spec's paths,
 * and where main's issues (jobs.check) are shown. Only the KGSSL options a user usually sets are on
 * the form; the others keep the method's defaults (methods/kgssl/options.ts, with their sources).
 */

export interface BasinsForm {
  /** A folder of basin CSVs (or CAMELS-FR's ts/ layout). */
  path: string;
  /** An optional attribute table (one row per basin); '' = the attributes derived from the data. */
  attributes: string;
  trainStart: string;
  trainEnd: string;
  testStart: string;
  testEnd: string;
  /** KGSSL options, as typed (strings: checked here and by main). */
  zDim: string;
  epochs: string;
  batchesPerEpoch: string;
  window: string;
  wReconstruction: string;
  wContrastive: string;
  wRegression: string;
  contrastive: 'infonce' | 'triplet';
  temperature: string;
  folds: string;
  /** The attribute-conditioned forward model of the noisy-attribute comparison. */
  attributeBaseline: boolean;
  /** GR4J parameter transfer to left-out basins (one SCE-UA calibration per basin). */
  transfer: boolean;
  seed: string;
}

/** The form's defaults: the method's (methods/kgssl/options.ts), CAMELS-FR's 1999–2008 / 2009–2018 split. */
export const emptyBasinsForm = (): BasinsForm => ({
  path: '',
  attributes: '',
  trainStart: '',
  trainEnd: '',
  testStart: '',
  testEnd: '',
  zDim: '8',
  epochs: '40',
  batchesPerEpoch: '20',
  window: '120',
  wReconstruction: '1',
  wContrastive: '0.1',
  wRegression: '0.1',
  contrastive: 'infonce',
  temperature: '0.1',
  folds: '5',
  attributeBaseline: true,
  transfer: true,
  seed: '1',
});

/** The form's numeric fields, the option path they fill and whether they are integers. */
export const NUMERIC: ReadonlyArray<{
  key: keyof BasinsForm;
  path: string;
  label: string;
  integer: boolean;
}> = [
  { key: 'zDim', path: 'options.zDim', label: 'Embedding size', integer: true },
  { key: 'epochs', path: 'options.epochs', label: 'Epochs', integer: true },
  { key: 'batchesPerEpoch', path: 'options.batchesPerEpoch', label: 'Batches / epoch', integer: true },
  { key: 'window', path: 'options.window', label: 'Window (days)', integer: true },
  { key: 'folds', path: 'options.folds', label: 'Leave-out folds', integer: true },
  { key: 'temperature', path: 'options.temperature', label: 'Temperature τ', integer: false },
  {
    key: 'wReconstruction',
    path: 'options.weights.reconstruction',
    label: 'L1 reconstruction',
    integer: false,
  },
  { key: 'wContrastive', path: 'options.weights.contrastive', label: 'L2 contrastive', integer: false },
  { key: 'wRegression', path: 'options.weights.regression', label: 'L3 regression', integer: false },
  { key: 'seed', path: 'seed', label: 'Seed', integer: true },
];

export interface Issue {
  path: string;
  message: string;
}

const numberOf = (raw: string): number | null => {
  if (raw.trim() === '') return null;
  const v = Number(raw);
  return Number.isFinite(v) ? v : null;
};

/** What the form itself can tell is missing or not a number, on the job spec's paths. */
export function formIssues(f: BasinsForm): Issue[] {
  const out: Issue[] = [];
  if (!f.path.trim()) out.push({ path: 'dataset.path', message: 'give the folder of basin CSVs' });
  const dates: Array<[keyof BasinsForm, string, string]> = [
    ['trainStart', 'train.start', 'give the first day trained on'],
    ['trainEnd', 'train.end', 'give the last day trained on'],
    ['testStart', 'test.start', 'give the first day tested on'],
    ['testEnd', 'test.end', 'give the last day tested on'],
  ];
  for (const [k, path, message] of dates) if (!f[k]) out.push({ path, message });
  for (const n of NUMERIC) {
    const raw = String(f[n.key]);
    const v = numberOf(raw);
    if (raw.trim() === '') out.push({ path: n.path, message: `give ${n.label.toLowerCase()}` });
    else if (v === null) out.push({ path: n.path, message: `"${raw}" is not a number` });
    else if (n.integer && !Number.isInteger(v))
      out.push({ path: n.path, message: `${n.label.toLowerCase()} is a whole number` });
  }
  return out;
}

/** The `basins` job spec of the form, as written (main fills the other options' defaults). */
export function basinsSpec(f: BasinsForm, method: string): JobSpecInput {
  const n = (raw: string) => numberOf(raw) ?? Number.NaN;
  return {
    kind: 'basins',
    method,
    seed: n(f.seed),
    options: {
      zDim: n(f.zDim),
      epochs: n(f.epochs),
      batchesPerEpoch: n(f.batchesPerEpoch),
      window: n(f.window),
      // the forward windows' spin-up: half the window, as the method's default (60 of 120)
      spinup: Math.floor(n(f.window) / 2),
      contrastive: f.contrastive,
      temperature: n(f.temperature),
      folds: n(f.folds),
      weights: {
        reconstruction: n(f.wReconstruction),
        contrastive: n(f.wContrastive),
        regression: n(f.wRegression),
      },
      attributeBaseline: f.attributeBaseline,
      transfer: { enabled: f.transfer },
    },
    dataset: {
      path: f.path.trim(),
      ...(f.attributes.trim() ? { attributes: f.attributes.trim() } : {}),
    },
    train: { start: f.trainStart, end: f.trainEnd },
    test: { start: f.testStart, end: f.testEnd },
  };
}

/**
 * The spec parsed through `jobSpecSchema` (what jobs.submit will accept), or the form's issues and
 * the schema's: the form's first, then any other the schema finds at another place.
 */
export function buildBasinsSpec(
  f: BasinsForm,
  method: string,
): { spec: JobSpec | null; input: JobSpecInput; issues: Issue[] } {
  const input = basinsSpec(f, method);
  const issues = formIssues(f);
  const r = jobSpecSchema.safeParse(input);
  if (!r.success)
    for (const i of r.error.issues) {
      const path = i.path.map(String).join('.');
      if (!issues.some((o) => o.path === path || path.startsWith(`${o.path}.`)))
        issues.push({ path, message: i.message });
    }
  return { spec: r.success && !issues.length ? r.data : null, input, issues };
}

/**
 * Where an issue is shown: the folder, the attribute table, a period's date (a whole period's issue at
 * its end), an option's field (by its spec path), the method, or '' (the general list).
 */
export function placeOf(path: string): string {
  const p = path.replace(/^dataset\./, '');
  if (p === 'path' || p === 'dataset' || p === 'columns' || p.startsWith('columns.')) return 'path';
  if (p === 'attributes') return 'attributes';
  if (/^(train|test)\.(start|end)$/.test(p)) return p;
  if (p === 'train' || p === 'test') return `${p}.end`;
  if (p === 'method') return 'method';
  const n = NUMERIC.find((x) => p === x.path || p.startsWith(`${x.path}.`));
  if (n) return n.path;
  if (p === 'options.contrastive') return p;
  if (p.startsWith('options')) return 'options';
  return '';
}

/** Issues grouped by their place on the form. */
export function placeIssues(issues: readonly Issue[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of issues) {
    const list = (out[placeOf(i.path)] ??= []);
    if (!list.includes(i.message)) list.push(i.message);
  }
  return out;
}

import {
  jobSpecSchema,
  type DISCHARGE_UNITS,
  type FLUX_UNITS,
  type JobSpec,
  type JobSpecInput,
  type TEMPERATURE_UNITS,
} from '../../../../src-shared/ipc';
import { fieldForIssue } from './schemaForm';

/**
 * The Calibrate panel's lumped basin (CSV) problem, as pure logic: column guesses from a probed
 * header, the form's own issues (what is missing, next to its field), the `lumped` job spec parsed
 * through `jobSpecSchema`, and where main's issues belong on the form.
 */

export type FluxUnit = (typeof FLUX_UNITS)[number];
export type DischargeUnit = (typeof DISCHARGE_UNITS)[number];
export type TemperatureUnit = (typeof TEMPERATURE_UNITS)[number];
export type Role = 'date' | 'P' | 'PET' | 'Q' | 'T';
export const ROLES: readonly Role[] = ['date', 'P', 'PET', 'Q', 'T'];
export type Structure = 'gr4' | 'gr4-cemaneige';

export interface LumpedForm {
  /** The basin CSV. */
  path: string;
  /** Column of each role ('' = none; T is optional for GR4J alone). */
  columns: Record<Role, string>;
  units: { P: FluxUnit; PET: FluxUnit; Q: DischargeUnit; T: TemperatureUnit };
  /** Basin area in km², as typed (needed when Q is a flow: m3/s or l/s). */
  area: string;
  structure: Structure;
  /** gr4-cemaneige: the hypsometry table and the basin's column in it. */
  hypsometry: string;
  basin: string;
  /** YYYY-MM-DD; warm-up optional ('' = none). */
  warmupStart: string;
  start: string;
  end: string;
}

export const emptyLumpedForm = (): LumpedForm => ({
  path: '',
  columns: { date: '', P: '', PET: '', Q: '', T: '' },
  units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
  area: '',
  structure: 'gr4',
  hypsometry: '',
  basin: '',
  warmupStart: '',
  start: '',
  end: '',
});

/** What the roles are called in the form. */
export const ROLE_LABELS: Record<Role, string> = {
  date: 'Date',
  P: 'Precipitation',
  PET: 'PET',
  Q: 'Discharge',
  T: 'Temperature',
};

/**
 * Usual header names per role, best first (CAMELS-FR: `Ptot`, `Evap`, `Qmmd` / `Qls`, `Temp`; airGR:
 * `P`, `E`, `Qmm`, `T`; smash: `prcp`, `pet`). Discharge prefers a depth (mm) to a flow, which needs the area.
 */
const NAMES: Record<Role, string[]> = {
  date: ['date', 'dates', 'datetime', 'time', 'day', 'tsd_date'],
  P: ['ptot', 'p', 'prcp', 'precip', 'precipitation', 'pr', 'rain', 'rr'],
  PET: ['evap', 'pet', 'e', 'etp', 'pe', 'et0', 'evapotranspiration'],
  Q: ['qmmd', 'qmm', 'q', 'qobs', 'q_mm', 'qls', 'q_ls', 'qm3s', 'q_m3s', 'discharge', 'flow'],
  T: ['temp', 't', 'tmean', 'tas', 'tair', 'temperature'],
};
const norm = (s: string) => s.trim().toLowerCase();

/** The header column most likely holding `role` ('' when none is named so). */
export function guessColumn(role: Role, columns: readonly string[]): string {
  for (const n of NAMES[role]) {
    const hit = columns.find((c) => norm(c) === n);
    if (hit) return hit;
  }
  return '';
}

/** The unit a discharge column's name says (`Qls` → l/s, `Q_m3s` → m3/s), mm otherwise. */
export function dischargeUnitOf(name: string): DischargeUnit {
  const n = norm(name).replace(/[\s_()[\]-]/g, '');
  if (/(l\/?s|lps)$/.test(n)) return 'l/s';
  if (/(m3\/?s|cms|cumecs?)$/.test(n)) return 'm3/s';
  return 'mm';
}

/** The unit a temperature column's name says (`tas_K`, `T(K)` → K), °C otherwise. */
export function temperatureUnitOf(name: string): TemperatureUnit {
  return /(^|[_\s(-])k\)?$/i.test(name.trim()) ? 'K' : '°C';
}

/** Columns and units guessed from a probed header. */
export function guessMapping(columns: readonly string[]): Pick<LumpedForm, 'columns' | 'units'> {
  const picked = Object.fromEntries(ROLES.map((r) => [r, guessColumn(r, columns)])) as Record<Role, string>;
  return {
    columns: picked,
    units: {
      P: 'mm',
      PET: 'mm',
      Q: picked.Q ? dischargeUnitOf(picked.Q) : 'mm',
      T: picked.T ? temperatureUnitOf(picked.T) : '°C',
    },
  };
}

/** Whether discharge is a flow, to be turned into mm over the basin area. */
export const needsArea = (q: DischargeUnit): boolean => q !== 'mm';

/** A file's name without its folder and extension (a CAMELS basin CSV is named by its code). */
export function basinOfPath(path: string): string {
  const name = path.trim().split(/[\\/]/).pop() ?? '';
  return name.replace(/\.[^.]+$/, '');
}

/** The folder of a path ('' when it has none). */
export function folderOf(path: string): string {
  const p = path.trim();
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i > 0 ? p.slice(0, i) : '';
}

/**
 * The area as a number, or null when it is not a positive number (a `type="number"` input bound
 * with `bind:value` hands over a number, or null when emptied, not the typed string).
 */
export function areaOf(raw: string | number | null | undefined): number | null {
  const t = raw === null || raw === undefined ? '' : String(raw).trim();
  if (t === '') return null;
  const v = Number(t);
  return Number.isFinite(v) && v > 0 ? v : null;
}

export interface Issue {
  path: string;
  message: string;
}

/** What the form itself can tell is missing or wrong, on the paths of the job spec. */
export function formIssues(f: LumpedForm, columns: readonly string[]): Issue[] {
  const out: Issue[] = [];
  if (!f.path.trim()) out.push({ path: 'dataset.path', message: 'give the basin CSV' });
  const required: Role[] =
    f.structure === 'gr4-cemaneige' ? ['date', 'P', 'PET', 'Q', 'T'] : ['date', 'P', 'PET', 'Q'];
  for (const r of required)
    if (!f.columns[r])
      out.push({
        path: `dataset.columns.${r}`,
        message:
          r === 'T'
            ? 'CemaNeige needs a temperature column'
            : `choose the ${r === 'PET' ? 'PET' : ROLE_LABELS[r].toLowerCase()} column`,
      });
  for (const r of ROLES)
    if (f.columns[r] && columns.length && !columns.includes(f.columns[r]))
      out.push({ path: `dataset.columns.${r}`, message: `the CSV has no column ${f.columns[r]}` });
  const used = ROLES.filter((r) => f.columns[r]);
  for (const r of used) {
    const first = used.find((o) => f.columns[o] === f.columns[r])!;
    if (first !== r)
      out.push({
        path: `dataset.columns.${r}`,
        message: `${f.columns[r]} is already the ${first === 'PET' ? 'PET' : ROLE_LABELS[first].toLowerCase()} column`,
      });
  }
  if (needsArea(f.units.Q) && f.columns.Q) {
    if (String(f.area ?? '').trim() === '')
      out.push({
        path: 'dataset.columns.areaKm2',
        message: `discharge in ${f.units.Q} needs the basin area (km²) to become mm`,
      });
    else if (areaOf(f.area) === null)
      out.push({ path: 'dataset.columns.areaKm2', message: `area "${f.area}" is not a positive number` });
  }
  if (f.structure === 'gr4-cemaneige') {
    if (!f.hypsometry.trim())
      out.push({ path: 'dataset.hypsometry.path', message: 'CemaNeige needs the hypsometry file' });
  }
  if (!f.start) out.push({ path: 'period.start', message: 'give the first day calibrated on' });
  if (!f.end) out.push({ path: 'period.end', message: 'give the last day calibrated on' });
  return out;
}

/** The `lumped` job spec of the form (as written: main fills the defaults). */
export function lumpedSpec(
  f: LumpedForm,
  common: { method: string; seed: number; options: Record<string, unknown> },
): JobSpecInput {
  const c = f.columns;
  const area = needsArea(f.units.Q) ? areaOf(f.area) : null;
  const cemaneige = f.structure === 'gr4-cemaneige';
  return {
    kind: 'lumped',
    method: common.method,
    seed: common.seed,
    options: common.options,
    dataset: {
      path: f.path.trim(),
      columns: {
        date: c.date,
        P: c.P,
        PET: c.PET,
        Q: c.Q,
        ...(c.T ? { T: c.T } : {}),
        units: { ...f.units },
        ...(area !== null ? { areaKm2: area } : {}),
      },
      ...(cemaneige && f.hypsometry.trim()
        ? {
            hypsometry: {
              path: f.hypsometry.trim(),
              ...(f.basin.trim() ? { basin: f.basin.trim() } : {}),
            },
          }
        : {}),
    },
    structure: f.structure,
    period: { ...(f.warmupStart ? { warmupStart: f.warmupStart } : {}), start: f.start, end: f.end },
  };
}

/**
 * The spec parsed through `jobSpecSchema` (what jobs.submit will accept), or the form's issues and
 * the schema's: the form's first (they say what to do), then any other the schema finds.
 */
export function buildLumpedSpec(
  f: LumpedForm,
  columns: readonly string[],
  common: { method: string; seed: number; options: Record<string, unknown> },
): { spec: JobSpec | null; input: JobSpecInput; issues: Issue[] } {
  const input = lumpedSpec(f, common);
  const issues = formIssues(f, columns);
  const r = jobSpecSchema.safeParse(input);
  if (!r.success)
    for (const i of r.error.issues) {
      const path = i.path.map(String).join('.');
      if (!issues.some((o) => o.path === path || path.startsWith(`${o.path}.`)))
        issues.push({ path, message: i.message });
    }
  return { spec: r.success && !issues.length ? r.data : null, input, issues };
}

/** The form's places an issue may be shown at. */
export type Place =
  | Role
  | 'path'
  | 'area'
  | 'structure'
  | 'hypsometry'
  | 'basin'
  | 'warmupStart'
  | 'start'
  | 'end'
  | 'method'
  | 'seed'
  | 'options'
  | `options.${string}`
  | '';

/**
 * Where an issue (the form's, the schema's or main's jobs.check) is shown: `dataset.columns.units.Q`,
 * `columns.Q` and main's bare `Q` at the discharge row, `dataset.hypsometry.basin` at the basin code,
 * a period at its date, an option at its field; '' (the general list) otherwise.
 */
export function placeOf(path: string, optionNames: readonly string[]): Place {
  const p = path.replace(/^dataset\./, '');
  if (p === 'path' || p === 'dataset' || p === 'columns' || p === 'columns.units') return 'path';
  if (/(^|\.)areaKm2$/.test(p)) return 'area';
  const role = /^(?:columns\.)?(?:units\.)?(date|P|PET|Q|T)$/.exec(p);
  if (role) return role[1] as Role;
  if (p === 'hypsometry.basin' || p === 'basin') return 'basin';
  if (p.startsWith('hypsometry')) return 'hypsometry';
  if (p === 'period.warmupStart') return 'warmupStart';
  if (p === 'period.end') return 'end';
  if (p === 'period' || p.startsWith('period.')) return 'start';
  if (p === 'structure' || p === 'method' || p === 'seed') return p;
  if (p.startsWith('options.'))
    // the longest option name the path names (a settings object's field is `group.key`)
    return (fieldForIssue(
      p,
      optionNames.map((n) => `options.${n}`),
    ) ?? 'options') as Place;
  if (p === 'options') return 'options';
  return '';
}

/** Issues grouped by their place on the form. */
export function placeIssues(
  issues: readonly Issue[],
  optionNames: readonly string[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of issues) {
    const k = placeOf(i.path, optionNames);
    const list = (out[k] ??= []);
    if (!list.includes(i.message)) list.push(i.message);
  }
  return out;
}

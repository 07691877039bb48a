import {
  assembleSpecSchema,
  DISCHARGE_UNITS,
  FLUX_UNITS,
  FOLDER_LAYOUTS,
  MOISTURE_UNITS,
  TEMPERATURE_UNITS,
  TIME_STEPS,
  type ALIGN_METHODS,
  type AssembleSpec,
  type FolderLayout,
  type ModelStep,
  type SourceProbe,
  type StackSourceInput,
  type TimeStep,
} from '../../../../src-shared/types/assemble';
import { canonicalUnit } from '../../../../src-shared/types/units';

/**
 * The dataset assembler's form (issue 15) as plain data, and everything that turns it into an
 * `AssembleSpec`: role guesses from a probed source, the fields each source still needs, the spec
 * parsed through `assembleSpecSchema` (so the form never sends what main refuses for its shape), and
 * every problem placed next to the input or field it concerns, whether found here or by main.
 */

/** What the user says an input is. */
export const ROLES = [
  { role: 'prcp', label: 'Precipitation (forcing)' },
  { role: 'pet', label: 'Potential evapotranspiration (forcing)' },
  { role: 'temp', label: 'Air temperature (forcing)' },
  { role: 'descriptor', label: 'Descriptor (static raster)' },
  { role: 'flowdir', label: 'Flow directions (D8)' },
  { role: 'gauges-smash', label: 'Gauges: smash folder' },
  { role: 'gauges-csv', label: 'Gauges: stations CSV + series' },
  { role: 'et', label: 'Target: evapotranspiration (ET)' },
  { role: 'sm', label: 'Target: soil moisture (SM)' },
] as const;
export type Role = (typeof ROLES)[number]['role'];
export const FORCING_ROLES = ['prcp', 'pet', 'temp'] as const;
export const TARGET_ROLES = ['et', 'sm'] as const;
const STACK_ROLES: readonly Role[] = [...FORCING_ROLES, ...TARGET_ROLES];
export const isStackRole = (r: Role | ''): r is 'prcp' | 'pet' | 'temp' | 'et' | 'sm' =>
  r !== '' && STACK_ROLES.includes(r);

export type AlignMethod = (typeof ALIGN_METHODS)[number];
export type GridFrom = 'raster' | 'catchment' | 'study-area';
export type DimChoice = { time: number; y: number; x: number };

/** One input of the form: a path, what the probe found, and what the user says it is. */
export interface InputRow {
  key: number;
  path: string;
  probe: SourceProbe | null;
  /** The probe call itself failed (missing file, unreadable): shown next to the row. */
  probeError: string | null;
  probing: boolean;
  role: Role | '';
  /** '' = from the file's metadata (or the model's own unit when the file has none). */
  units: string;
  /** '' = the default rule (sum for fluxes, mean for temperature). */
  rule: '' | 'sum' | 'mean';
  layout: FolderLayout;
  /** NetCDF variable. */
  variable: string;
  /** NetCDF: positions, in the variable's dimension list, of time, y and x (-1 = not chosen). */
  dims: DimChoice;
  /** Explicit first date and step, for files without dates. */
  timeStart: string;
  timeStep: TimeStep | '';
  /** CRS for a file that has none (NetCDF without grid_mapping, .asc without .prj, stations CSV). */
  crs: string;
  /** Descriptor name and band. */
  name: string;
  band: number;
  convention: 'auto' | 'smash' | 'esri';
  /** Gauges CSV: the series (folder of `<code>.csv` or one wide CSV) and the stations table's columns. */
  series: string;
  columns: { code: string; x: string; y: string; area: string };
}

export interface AssembleForm {
  name: string;
  /** '' = `<project>-datasets/<name>` next to the project. */
  out: string;
  overwrite: boolean;
  /** CRS of the inputs that carry none (the spec's `crs`); '' = none given. */
  crs: string;
  step: ModelStep;
  start: string;
  end: string;
  align: AlignMethod;
  grid: { from: GridFrom; path: string; studyAreaId: number | null; crs: string; cellSize: number | null };
  inputs: InputRow[];
}

/** Problems placed where they show: by input row key, by top-level field, or for the whole form. */
export interface FormIssues {
  rows: Record<number, string[]>;
  fields: Record<string, string[]>;
  general: string[];
}

/** Top-level fields of the form that issues may name. */
export const FIELD_KEYS = [
  'name',
  'out',
  'step',
  'start',
  'end',
  'grid',
  'align',
  'crs',
  'overwrite',
] as const;

export function emptyForm(): AssembleForm {
  return {
    name: '',
    out: '',
    overwrite: false,
    crs: '',
    step: 'daily',
    start: '',
    end: '',
    align: 'auto',
    grid: { from: 'catchment', path: '', studyAreaId: null, crs: '', cellSize: null },
    inputs: [],
  };
}

export function newRow(key: number, path: string): InputRow {
  return {
    key,
    path,
    probe: null,
    probeError: null,
    probing: false,
    role: '',
    units: '',
    rule: '',
    layout: 'dated',
    variable: '',
    dims: { time: -1, y: -1, x: -1 },
    timeStart: '',
    timeStep: '',
    crs: '',
    name: '',
    band: 1,
    convention: 'auto',
    series: '',
    columns: { code: 'code', x: 'x', y: 'y', area: 'area' },
  };
}

/** Paths typed or pasted into the add box: one per line, blank lines and surrounding quotes dropped. */
export function splitPaths(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((p) => p.trim().replace(/^(["'])(.*)\1$/, '$2'))
    .filter((p) => p !== '');
}

const ABSOLUTE = /^(\/|[A-Za-z]:[\\/]|\\\\)/;
export const isAbsolute = (p: string): boolean => ABSOLUTE.test(p);

export function baseName(p: string): string {
  return (
    p
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? ''
  );
}
const stem = (p: string) => baseName(p).replace(/\.[A-Za-z0-9]+$/, '');

/** A descriptor name from a file name (`soil_water_storage.tif` → `soil_water_storage`), in the spec's alphabet. */
export function descriptorName(path: string): string {
  return stem(path)
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .slice(0, 64);
}

// ---- units --------------------------------------------------------------------------------------

/** Units the form offers for a role (the spec's enums; main converts them to the model's). */
export function unitOptions(role: Role | ''): readonly string[] {
  switch (role) {
    case 'prcp':
    case 'pet':
    case 'et':
      return FLUX_UNITS;
    case 'temp':
      return TEMPERATURE_UNITS;
    case 'sm':
      return MOISTURE_UNITS;
    case 'gauges-smash':
    case 'gauges-csv':
      return DISCHARGE_UNITS;
    default:
      return [];
  }
}

/** The form's unit for a metadata spelling, when it is one of `options`; null otherwise. */
export function unitFromMetadata(
  units: string | null | undefined,
  options: readonly string[],
): string | null {
  const name = units ? canonicalUnit(units) : null;
  return name !== null && options.includes(name) ? name : null;
}

/** The `units` attribute of the row's source (the chosen NetCDF variable), when the file has one. */
export function metadataUnits(row: InputRow): string | null {
  const v = row.probe?.variables.find((x) => x.name === row.variable);
  return v?.units ?? null;
}

// ---- what a probed source is --------------------------------------------------------------------

const NAME_HINTS: Array<[RegExp, Role]> = [
  [/(flw|flow|fdir|d8|drain_?dir|dir(ection)?s?$)/i, 'flowdir'],
  [/gauge|station|qobs/i, 'gauges-smash'],
  [/^(prcp|precip\w*|pr|rain\w*|tp|rr|ptot|p)$/i, 'prcp'],
  [/^(pet|etp|pev|evap\w*|e0|potential\w*)$/i, 'pet'],
  [/^(temp\w*|tas|t2m|tair|t)$/i, 'temp'],
  [/^(et|aet|eta|evapotranspiration)$/i, 'et'],
  [/^(sm|swi|soil_?moisture|ssm)$/i, 'sm'],
];

function hint(name: string): Role | '' {
  // `slope_2154`, `prcp_daily` and `era5_tp` all count: each `_`/`-` separated part is tried
  const parts = [name, ...name.split(/[_\-. ]+/)];
  for (const [re, role] of NAME_HINTS) if (parts.some((p) => re.test(p))) return role;
  return '';
}

/** The roles a source of this format can play. */
export function rolesFor(probe: SourceProbe | null): Role[] {
  switch (probe?.format) {
    case 'folder':
      return ['prcp', 'pet', 'temp', 'et', 'sm', 'gauges-smash'];
    case 'geotiff':
      return ['descriptor', 'flowdir', 'prcp', 'pet', 'temp', 'et', 'sm'];
    case 'ascii-grid':
      return ['flowdir', 'descriptor'];
    case 'netcdf':
      return ['prcp', 'pet', 'temp', 'et', 'sm', 'descriptor'];
    case 'csv':
      return ['gauges-csv'];
    default:
      return ROLES.map((r) => r.role);
  }
}

/** A first guess of what a probed source is, from its format, name and variables ('' when unsure). */
export function guessRole(path: string, probe: SourceProbe | null): Role | '' {
  if (!probe) return '';
  const allowed = rolesFor(probe);
  const byName = hint(stem(path));
  switch (probe.format) {
    case 'csv':
      return 'gauges-csv';
    case 'ascii-grid':
      return byName === 'descriptor' ? 'descriptor' : 'flowdir';
    case 'netcdf': {
      for (const v of probe.variables) {
        const r = hint(v.name);
        if (isStackRole(r)) return r;
      }
      return allowed.includes(byName as Role) ? byName : '';
    }
    case 'folder': {
      // smash's basin folder: a gauge_attributes.csv (its header is read into `columns`)
      if (probe.columns.length && !isStackRole(byName)) return 'gauges-smash';
      if (byName && allowed.includes(byName)) return byName;
      // a folder holding no dated rasters, as smash's basin folders (gauge_attributes.csv, qobs/)
      if (!probe.steps && !probe.layout) return 'gauges-smash';
      return '';
    }
    case 'geotiff': {
      if (byName === 'flowdir') return 'flowdir';
      if ((probe.steps ?? 1) > 1 && isStackRole(byName)) return byName;
      return 'descriptor';
    }
  }
}

/** The NetCDF variable to pre-select: one named like the role, else the first with time, y and x. */
export function defaultVariable(probe: SourceProbe, role: Role | ''): string {
  const gridded = probe.variables.filter((v) => v.dims.length >= 3);
  const named = gridded.find((v) => role !== '' && hint(v.name) === role);
  return (named ?? gridded[0] ?? probe.variables[0])?.name ?? '';
}

/** Whether a NetCDF variable's dimensions were all identified (time, y and x, once each). */
export function rolesComplete(roles: ReadonlyArray<string>): boolean {
  return (['time', 'y', 'x'] as const).every((r) => roles.filter((x) => x === r).length === 1);
}

/**
 * Time, y and x positions for a variable: the identified ones, the rest given in order to the
 * unidentified dimensions (the usual (time, y, x) order of gridded files).
 */
export function defaultDims(roles: ReadonlyArray<string>): DimChoice {
  const out: DimChoice = { time: -1, y: -1, x: -1 };
  for (const r of ['time', 'y', 'x'] as const) out[r] = roles.indexOf(r);
  const free = roles.map((r, i) => (r === 'unknown' ? i : -1)).filter((i) => i >= 0);
  for (const r of ['time', 'y', 'x'] as const) if (out[r] < 0 && free.length) out[r] = free.shift()!;
  return out;
}

const variableOf = (row: InputRow) => row.probe?.variables.find((v) => v.name === row.variable);

/** The NetCDF variable's dimensions need the user: some are unnamed or unrecognised. */
export function needsDims(row: InputRow): boolean {
  if (row.probe?.format !== 'netcdf' || !isStackRole(row.role)) return false;
  const v = variableOf(row);
  return !!v && !rolesComplete(v.roles);
}

/** A multi-band or NetCDF source without dates: the user gives the first date and the step. */
export function needsTime(row: InputRow): boolean {
  const f = row.probe?.format;
  return isStackRole(row.role) && (f === 'netcdf' || f === 'geotiff') && !!row.probe && !row.probe.first;
}

/** A source whose CRS main cannot know from the file. */
export function needsCrs(row: InputRow): boolean {
  if (!row.probe || row.probe.crs) return false;
  if (row.role === 'flowdir') return true;
  if (row.role === 'gauges-csv') return true;
  return row.probe.format === 'netcdf' && isStackRole(row.role);
}

/** Sets a row's role, with the units, variable, dimensions and name that go with it. */
export function withRole(row: InputRow, role: Role | ''): InputRow {
  const next: InputRow = { ...row, role };
  const p = row.probe;
  if (p?.format === 'netcdf' && isStackRole(role)) {
    if (!p.variables.some((v) => v.name === next.variable)) next.variable = defaultVariable(p, role);
    next.dims = defaultDims(variableOf(next)?.roles ?? []);
  }
  const options = unitOptions(role);
  if (!options.includes(next.units))
    next.units =
      unitFromMetadata(metadataUnits(next), options) ??
      (role === 'gauges-smash' || role === 'gauges-csv' ? 'm3/s' : '');
  if (role === 'descriptor' && !next.name) next.name = descriptorName(row.path);
  return next;
}

/** Changes the NetCDF variable (its dimensions and units follow). */
export function withVariable(row: InputRow, variable: string): InputRow {
  const next = { ...row, variable, units: '' };
  next.dims = defaultDims(variableOf(next)?.roles ?? []);
  return withRole(next, row.role);
}

/** A row after its probe answered: what was found, and the guesses that follow from it. */
export function withProbe(row: InputRow, probe: SourceProbe): InputRow {
  const next: InputRow = { ...row, probe, probeError: null, probing: false };
  if (probe.layout) next.layout = probe.layout;
  const role = row.role || guessRole(row.path, probe);
  if (probe.format === 'netcdf') {
    next.variable = defaultVariable(probe, role);
    next.dims = defaultDims(variableOf(next)?.roles ?? []);
  }
  if (probe.format === 'csv' && probe.columns.length) {
    const pick = (want: RegExp, fallback: string) => probe.columns.find((c) => want.test(c)) ?? fallback;
    next.columns = {
      code: pick(/^(code|id|station|gauge|name)$/i, probe.columns[0] ?? 'code'),
      x: pick(/^(x|lon(gitude)?|easting|x_?l(93|ambert))$/i, 'x'),
      y: pick(/^(y|lat(itude)?|northing|y_?l(93|ambert))$/i, 'y'),
      area: pick(/^(area|area_?km2|surface|s_?km2|drainage_?area)$/i, 'area'),
    };
  }
  return withRole({ ...next, role: '' }, role);
}

/** A probe's time as the form shows it: the day alone at midnight UTC, else day and time. */
export function shortTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z?)?$/.exec(iso);
  if (!m) return iso;
  return !m[2] || m[2] === '00:00' ? m[1]! : `${m[1]} ${m[2]}`;
}

/**
 * The probe's remarks that concern the role chosen: a smash gauges folder is read for its
 * gauge_attributes.csv and qobs/, so what the probe says of the rasters under it does not apply.
 */
/** Shown in place of the probe's remark on unidentified dimensions once time, y and x are chosen. */
export const DIMS_CHECK = 'the file does not say which dimension is time, y and x: check the choice';

export function probeWarnings(row: InputRow, datasetCrs = ''): string[] {
  const p = row.probe;
  if (!p) return [];
  if (row.role === 'gauges-smash')
    return p.columns.length ? [] : ['no gauge_attributes.csv in this folder (a smash gauges folder has one)'];
  // what the user has since answered: the dimensions chosen, the first date and step given
  const dimsGiven =
    needsDims(row) && new Set([row.dims.time, row.dims.y, row.dims.x]).size === 3 && row.dims.time >= 0;
  const timeGiven = needsTime(row) && !!row.timeStart.trim() && !!row.timeStep;
  // a source without a CRS takes the row's own CRS field when it has one, else the dataset's
  return p.issues.flatMap((m) => {
    if (dimsGiven && /dimension/i.test(m)) return [DIMS_CHECK];
    if (timeGiven && /(time|dates?)\b/i.test(m) && !/dimension/i.test(m)) return [];
    if (!/^no CRS\b/i.test(m)) return [m];
    if (needsCrs(row)) return row.crs.trim() ? [] : [m];
    return datasetCrs.trim()
      ? []
      : ['no CRS in the file: give the CRS of inputs without one (dataset settings)'];
  });
}

/** Inputs whose files carry no CRS and that have no CRS field of their own (they take the dataset's). */
export function rowsWithoutCrs(rows: readonly InputRow[]): InputRow[] {
  return rows.filter(
    (r) =>
      r.probe &&
      !r.probe.crs &&
      ['geotiff', 'folder', 'ascii-grid'].includes(r.probe.format) &&
      r.role !== '' &&
      r.role !== 'gauges-smash' &&
      !needsCrs(r),
  );
}

/** One line on what a source holds, for the row. */
export function probeSummary(p: SourceProbe): string {
  const kind = {
    geotiff: 'GeoTIFF',
    'ascii-grid': 'ESRI ASCII grid',
    folder: 'folder',
    netcdf: 'NetCDF',
    csv: 'CSV',
  }[p.format];
  const g = p.grid as { cols?: unknown; rows?: unknown; width?: unknown; height?: unknown } | null;
  const cols = g?.cols ?? g?.width;
  const rows = g?.rows ?? g?.height;
  const size = typeof cols === 'number' && typeof rows === 'number' ? `${cols} x ${rows} cells` : '';
  const steps =
    p.steps && p.steps > 1
      ? `${p.steps} ${p.step && p.step !== 'unknown' ? `${p.step} ` : ''}steps${p.first ? ` ${shortTime(p.first)} → ${shortTime(p.last ?? '')}` : ', no dates'}`
      : p.first
        ? `dated ${shortTime(p.first)}`
        : '';
  const layout = p.layout && p.layout !== 'dated' ? p.layout : '';
  // a CSV or a gauges folder (no rasters read) has no CRS of its own to report
  const crs =
    p.format === 'csv' ? '' : p.format === 'folder' && !p.layout ? (p.crs ?? '') : (p.crs ?? 'no CRS');
  const cols2 = p.columns.length ? `columns ${p.columns.join(', ')}` : '';
  return [kind, shortCrs(crs), size, steps, layout, cols2].filter(Boolean).join(' · ');
}

/** A CRS short enough for one line: `EPSG:2154` as is, a proj4 string by its projection (`+proj=lcc …`). */
export function shortCrs(crs: string): string {
  if (crs.length <= 32) return crs;
  const proj = /\+proj=\S+/.exec(crs)?.[0];
  return proj ? `${proj} …` : `${crs.slice(0, 30)}…`;
}

/** A period every dated forcing input covers (latest first date, earliest last date), or null. */
export function commonPeriod(rows: readonly InputRow[]): { start: string; end: string } | null {
  const dated = rows.filter(
    (r) =>
      (FORCING_ROLES as readonly string[]).includes(r.role) &&
      r.probe?.first &&
      r.probe.last &&
      !(r.probe.format === 'folder' && r.layout !== 'dated'),
  );
  if (!dated.length) return null;
  const start = dated.map((r) => r.probe!.first!.slice(0, 10)).sort()[dated.length - 1]!;
  const end = dated.map((r) => r.probe!.last!.slice(0, 10)).sort()[0]!;
  return end >= start ? { start, end } : null;
}

// ---- the spec -----------------------------------------------------------------------------------

/** Where a spec path came from: `forcing.1` → the row with key 3, and so on. */
export type SpecIndex = Record<string, number>;

function stackSource(row: InputRow): StackSourceInput {
  const path = row.path.trim();
  const format =
    row.probe?.format ??
    (/\.(nc|nc4|netcdf|cdf)$/i.test(path) ? 'netcdf' : /\.(tiff?|asc)$/i.test(path) ? 'geotiff' : 'folder');
  const time =
    row.timeStart.trim() && row.timeStep ? { time: { start: row.timeStart.trim(), step: row.timeStep } } : {};
  if (format === 'folder') return { format: 'folder', path, layout: row.layout };
  if (format === 'netcdf') {
    const v = variableOf(row);
    const dimRef = (i: number) => (v?.dims[i] ? v.dims[i] : i);
    const dims =
      needsDims(row) && row.dims.time >= 0 && row.dims.y >= 0 && row.dims.x >= 0
        ? { dims: { time: dimRef(row.dims.time), y: dimRef(row.dims.y), x: dimRef(row.dims.x) } }
        : {};
    return {
      format: 'netcdf',
      path,
      ...(row.variable ? { variable: row.variable } : {}),
      ...time,
      ...dims,
      ...(row.crs.trim() ? { crs: row.crs.trim() } : {}),
    };
  }
  return { format: 'multiband', path, ...time };
}

const add = (map: Record<string | number, string[]>, k: string | number, m: string) => {
  const list = (map[k] ??= []);
  if (!list.includes(m)) list.push(m);
};

/**
 * The spec of the form, parsed by `assembleSpecSchema`, with the index from spec paths to rows and
 * every problem found without reading a file. `spec` is null while anything blocks it.
 */
export function buildSpec(form: AssembleForm): {
  spec: AssembleSpec | null;
  index: SpecIndex;
  issues: FormIssues;
} {
  const issues: FormIssues = { rows: {}, fields: {}, general: [] };
  const index: SpecIndex = {};
  const forcing: unknown[] = [];
  const descriptors: unknown[] = [];
  const targets: unknown[] = [];
  let flowdir: unknown;
  let gauges: unknown;

  for (const row of form.inputs) {
    const path = row.path.trim();
    if (!isAbsolute(path))
      add(issues.rows, row.key, 'expected an absolute path (e.g. /data/prcp or C:\\data\\prcp)');
    if (row.role === '') {
      add(issues.rows, row.key, 'say what this input is');
      continue;
    }
    if (needsTime(row) && !(row.timeStart.trim() && row.timeStep))
      add(issues.rows, row.key, 'the file has no dates: give the first date and the step');
    if (needsDims(row) && (row.dims.time < 0 || row.dims.y < 0 || row.dims.x < 0))
      add(issues.rows, row.key, 'say which dimension is time, y and x');
    if (needsDims(row) && new Set([row.dims.time, row.dims.y, row.dims.x]).size < 3)
      add(issues.rows, row.key, 'time, y and x must be three different dimensions');
    const units = row.units ? { units: row.units } : {};
    switch (row.role) {
      case 'prcp':
      case 'pet':
      case 'temp':
        index[`forcing.${forcing.length}`] = row.key;
        forcing.push({
          variable: row.role,
          source: stackSource(row),
          ...units,
          ...(row.rule ? { rule: row.rule } : {}),
        });
        break;
      case 'et':
      case 'sm':
        index[`targets.${targets.length}`] = row.key;
        targets.push({ variable: row.role, source: stackSource(row), ...units });
        break;
      case 'descriptor':
        index[`descriptors.${descriptors.length}`] = row.key;
        descriptors.push({ name: row.name.trim(), path, band: row.band });
        break;
      case 'flowdir':
        if (flowdir) {
          add(issues.rows, row.key, 'flow directions given twice: keep one');
          break;
        }
        index.flowdir = row.key;
        flowdir = { path, convention: row.convention, ...(row.crs.trim() ? { crs: row.crs.trim() } : {}) };
        break;
      case 'gauges-smash':
      case 'gauges-csv':
        if (gauges) {
          add(issues.rows, row.key, 'gauges given twice: keep one');
          break;
        }
        index.gauges = row.key;
        gauges =
          row.role === 'gauges-smash'
            ? {
                format: 'smash',
                path,
                ...units,
                // the qobs files' own step (they hold none); '' = the model step, as smash reads them
                ...(row.timeStep === 'hourly' || row.timeStep === 'daily' ? { step: row.timeStep } : {}),
              }
            : {
                format: 'csv',
                stations: path,
                series: row.series.trim(),
                columns: row.columns,
                ...(row.crs.trim() ? { crs: row.crs.trim() } : {}),
                ...units,
              };
        break;
    }
  }
  // messages of the whole form that read better than the schema's
  if (!form.name.trim()) add(issues.fields, 'name', 'give the dataset a name');
  if (!form.start) add(issues.fields, 'start', 'give the first day of the period');
  if (!form.end) add(issues.fields, 'end', 'give the last day of the period');
  if (!flowdir) issues.general.push('add the flow directions (a D8 raster) and mark it "Flow directions"');
  for (const need of ['prcp', 'pet'] as const)
    if (!form.inputs.some((r) => r.role === need))
      issues.general.push(`add a ${need === 'prcp' ? 'precipitation' : 'PET'} input (${need})`);
  if (form.grid.from === 'raster' && !form.grid.path.trim())
    add(issues.fields, 'grid', 'give the raster whose grid the model uses');
  if (form.grid.from === 'study-area' && form.grid.studyAreaId === null)
    add(issues.fields, 'grid', 'choose a study area');
  if (form.grid.from === 'study-area' && !(form.grid.cellSize && form.grid.cellSize > 0))
    add(issues.fields, 'grid', 'give a cell size');

  const grid =
    form.grid.from === 'raster'
      ? { from: 'raster', path: form.grid.path.trim() }
      : form.grid.from === 'catchment'
        ? { from: 'catchment' }
        : {
            from: 'study-area',
            ...(form.grid.studyAreaId !== null ? { studyAreaId: form.grid.studyAreaId } : {}),
            crs: form.grid.crs.trim(),
            cellSize: form.grid.cellSize ?? 0,
          };
  const raw = {
    name: form.name.trim(),
    ...(form.out.trim() ? { out: form.out.trim() } : {}),
    step: form.step,
    ...(form.crs.trim() ? { crs: form.crs.trim() } : {}),
    start: form.start,
    end: form.end,
    grid,
    align: form.align,
    forcing,
    descriptors,
    ...(flowdir ? { flowdir } : {}),
    ...(gauges ? { gauges } : {}),
    targets,
    overwrite: form.overwrite,
  };
  const parsed = assembleSpecSchema.safeParse(raw);
  if (!parsed.success)
    for (const i of parsed.error.issues) {
      const p = i.path.map(String).join('.');
      // already said in words above
      if (p === 'flowdir' && !flowdir) continue;
      if (p === 'forcing' && /required|too small|>=1/i.test(i.message)) continue;
      if (p.startsWith('grid.') && issues.fields.grid) continue;
      if ((p === 'name' || p === 'start' || p === 'end') && issues.fields[p]) continue;
      place(issues, locate(p, index), friendly(p, i.message));
    }
  const blocked =
    !parsed.success ||
    issues.general.length > 0 ||
    Object.keys(issues.rows).length > 0 ||
    Object.keys(issues.fields).length > 0;
  return { spec: blocked || !parsed.success ? null : parsed.data, index, issues };
}

/** A schema message with the field named when the path says more than the message. */
function friendly(path: string, message: string): string {
  const last = path.split('.').filter((s) => !/^\d+$/.test(s));
  const field = last.slice(-1)[0] ?? '';
  if (!field || ['forcing', 'descriptors', 'targets', 'flowdir', 'gauges', ...FIELD_KEYS].includes(path))
    return message;
  return `${field}: ${message}`;
}

/** Where an issue shows. */
export type Place = { row: number } | { field: string } | null;

/**
 * The row or field a spec path belongs to: `forcing.1.source.path` → the second forcing row,
 * `descriptors.0.name` → the first descriptor's row, `start` → the period field. Main's paths may
 * carry the argument's name (`spec.`) or brackets (`forcing[1]`).
 */
export function locate(path: string, index: SpecIndex): Place {
  const p = path
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/^spec\.?/, '')
    .replace(/^\./, '');
  let best: string | null = null;
  for (const k of Object.keys(index))
    if ((p === k || p.startsWith(`${k}.`)) && (best === null || k.length > best.length)) best = k;
  if (best !== null) return { row: index[best]! };
  const head = p.split('.')[0] ?? '';
  if ((FIELD_KEYS as readonly string[]).includes(head)) return { field: head };
  return null;
}

function place(issues: FormIssues, where: Place, message: string): void {
  if (!where) {
    if (!issues.general.includes(message)) issues.general.push(message);
  } else if ('row' in where) add(issues.rows, where.row, message);
  else add(issues.fields, where.field, message);
}

/**
 * A refusal of `datasets.assemble` (or any call) placed next to what it concerns: each of
 * `details.issues` by its path, else `details.field`, else the row whose file `details.path` or the
 * message names; otherwise the whole form.
 */
export function issuesFromError(err: unknown, index: SpecIndex, rows: readonly InputRow[]): FormIssues {
  const out: FormIssues = { rows: {}, fields: {}, general: [] };
  const e = (err ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const details = (e.details && typeof e.details === 'object' ? e.details : {}) as Record<string, unknown>;
  if (Array.isArray(details.issues) && details.issues.length) {
    for (const i of details.issues) {
      if (typeof i === 'string') place(out, null, i);
      else if (i && typeof i === 'object') {
        const ii = i as { path?: unknown; message?: unknown };
        const p = typeof ii.path === 'string' ? ii.path : Array.isArray(ii.path) ? ii.path.join('.') : '';
        const m = typeof ii.message === 'string' ? ii.message : message;
        place(out, locate(p, index), friendly(p.replace(/^spec(\.|$)/, ''), m));
      }
    }
    return out;
  }
  if (typeof details.field === 'string') {
    const where = locate(details.field, index);
    if (where) {
      place(out, where, message);
      return out;
    }
  }
  const byFile =
    rowOfFile(typeof details.path === 'string' ? details.path : null, rows) ?? rowNamedIn(message, rows);
  place(out, byFile !== null ? { row: byFile } : null, message);
  return out;
}

/** The row whose path is `file` or a folder holding it. */
function rowOfFile(file: string | null, rows: readonly InputRow[]): number | null {
  if (!file) return null;
  const norm = (p: string) => p.trim().replace(/[\\/]+$/, '');
  const f = norm(file);
  let best: InputRow | null = null;
  for (const r of rows) {
    const p = norm(r.path);
    if (p && (f === p || f.startsWith(`${p}/`) || f.startsWith(`${p}\\`)))
      if (!best || p.length > norm(best.path).length) best = r;
  }
  return best?.key ?? null;
}

/** The row whose path appears in a message (the longest such path). */
function rowNamedIn(message: string, rows: readonly InputRow[]): number | null {
  let best: InputRow | null = null;
  for (const r of rows) {
    const p = r.path.trim().replace(/[\\/]+$/, '');
    if (p && message.includes(p) && (!best || p.length > best.path.length)) best = r;
  }
  return best?.key ?? null;
}

/** Both sets of problems, without repeats. */
export function mergeIssues(a: FormIssues, b: FormIssues): FormIssues {
  const out: FormIssues = { rows: {}, fields: {}, general: [...a.general] };
  for (const src of [a, b]) {
    for (const [k, ms] of Object.entries(src.rows)) for (const m of ms) add(out.rows, Number(k), m);
    for (const [k, ms] of Object.entries(src.fields)) for (const m of ms) add(out.fields, k, m);
  }
  for (const m of b.general) if (!out.general.includes(m)) out.general.push(m);
  return out;
}

export const TIME_STEP_OPTIONS = TIME_STEPS;
export const LAYOUT_OPTIONS = FOLDER_LAYOUTS;

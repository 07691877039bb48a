import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import type { FolderLayout, TimeStep } from '../../../src-shared/types/assemble';
import { crsLabel } from './crs';
import { GeoTiffRaster, type RasterInfo } from './geotiff';

/** One time step of a stack: where its values live. */
export interface StackStep {
  time: Date;
  file: string;
  band: number;
}

/** A gap in a stack: steps missing between two present ones. Reported, never filled in. */
export interface StackGap {
  after: Date;
  before: Date;
  missing: number;
}

/**
 * The step of a stack: hourly, daily or monthly (calendar months, each step at the first of the
 * month 00:00 UTC), or `other` (another fixed step, given by `stepSeconds`; 0 for a single step).
 */
export type StackTimeStep = TimeStep | 'other';

/** The mean Gregorian month in seconds (365.2425 d / 12): the `stepSeconds` a monthly stack reports. */
export const MEAN_MONTH_SECONDS = 2_629_746;

/**
 * Cell centres of a curvilinear source (CF 2-D latitude/longitude coordinates, a rotated-pole grid,
 * irregular axes): `lat[k]`, `lon[k]` in degrees (WGS 84) for cell k = row * cols + col, in the order
 * of the stack's values. NaN coordinates mark cells with no position.
 */
export interface CurvilinearGeometry {
  lat: Float64Array;
  lon: Float64Array;
  rows: number;
  cols: number;
}

/** A time stack of rasters on one grid, read lazily step by step. */
export interface Stack {
  source: string;
  kind: 'folder' | 'multiband' | 'netcdf';
  grid: Grid;
  steps: StackStep[];
  /** Seconds of a fixed step; for a monthly stack the mean month (steps follow the calendar: use `step`). */
  stepSeconds: number;
  /** The step's kind; absent in stacks built before monthly steps existed = a fixed step of `stepSeconds`. */
  step?: StackTimeStep;
  /** Set when the stack is a climatology expanded over a period (day-of-year or month-of-year files). */
  climatology?: { layout: Exclude<FolderLayout, 'dated'>; rule: string };
  /**
   * Set for a curvilinear source (NetCDF 2-D latitude/longitude, rotated pole, irregular axes): each
   * value's cell centre in degrees; `grid` then only gives the shape (rows, cols) and the lon/lat
   * bounding box (EPSG:4326), not cell positions. Bring it onto a grid with `planCurvilinear` (grid/curvilinear.ts).
   */
  curvilinear?: CurvilinearGeometry;
  gaps: StackGap[];
  nodata: number | null;
  units: string | null;
  /** Reads one step as Float64 (missing = NaN, scale/offset applied). */
  read(index: number): Promise<Float64Array>;
  /** Reads every step's value at one cell, in step order, without decoding whole steps where the format allows. */
  readColumn(row: number, col: number): Promise<Float64Array>;
  /**
   * Releases what the stack holds open: a NetCDF stack's file (netCDF-4: an HDF5 handle in h5wasm's
   * heap; netCDF-3: its bytes in memory). Safe to call twice; a later read opens the file again.
   * Absent where nothing stays open between reads (GeoTIFF steps are opened per read).
   */
  close?(): void;
}

/** Every step's value at one cell of GeoTIFF-backed steps, one 1-pixel window read per step. */
async function readColumnOfFiles(
  steps: StackStep[],
  grid: Grid,
  row: number,
  col: number,
): Promise<Float64Array> {
  if (!(
    Number.isInteger(row) &&
    Number.isInteger(col) &&
    row >= 0 &&
    row < grid.rows &&
    col >= 0 &&
    col < grid.cols
  )) {
    throw new FieldcalError(
      'VALIDATION',
      `cell (${row}, ${col}) is outside the ${grid.cols} x ${grid.rows} grid`,
      {
        row,
        col,
      },
    );
  }
  const out = new Float64Array(steps.length);
  let open: GeoTiffRaster | null = null;
  try {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      if (open?.info.path !== s.file) {
        await open?.close();
        open = null;
        open = await GeoTiffRaster.open(s.file);
      }
      out[i] = (await open.readWindowValues(s.band, [col, row, col + 1, row + 1]))[0]!;
    }
  } finally {
    await open?.close();
  }
  return out;
}

/** The date in a file name: the first run of 8 (YYYYmmdd), 10 (…HH), 12 (…HHMM) or 14 (…SS) digits. */
export function dateFromName(name: string): Date | null {
  const m = /(?<!\d)(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?!\d)/.exec(name);
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((v) => v ?? '0') as string[];
  const dt = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s));
  return dt.getUTCMonth() === +mo! - 1 && dt.getUTCDate() === +d! && +h < 24 && +mi < 60 ? dt : null;
}

/** The grid of a GeoTIFF (north-up only; rotated rasters are refused for model grids). */
export function gridOfRaster(info: RasterInfo, fallbackCrs: string | null = null): Grid {
  const gt = info.geoTransform;
  if (gt[2] !== 0 || gt[4] !== 0) {
    throw new FieldcalError('UNSUPPORTED_FORMAT', `${info.path} is rotated; warp it north-up first`, {
      file: info.path,
    });
  }
  if (gt[5] >= 0) {
    throw new FieldcalError('UNSUPPORTED_FORMAT', `${info.path} is not north-up (pixel height ${gt[5]})`, {
      file: info.path,
    });
  }
  return {
    crs: info.crs.epsg !== null ? crsLabel(info.crs) : fallbackCrs,
    x0: gt[0],
    y0: gt[3],
    dx: gt[1],
    dy: -gt[5],
    rows: info.height,
    cols: info.width,
    mask: null,
  };
}

const sameGrid = (a: Grid, b: Grid) =>
  a.rows === b.rows &&
  a.cols === b.cols &&
  Math.abs(a.x0 - b.x0) < 1e-6 * a.dx &&
  Math.abs(a.y0 - b.y0) < 1e-6 * a.dy &&
  Math.abs(a.dx - b.dx) < 1e-9 * a.dx &&
  Math.abs(a.dy - b.dy) < 1e-9 * a.dy;

const isMonthStart = (d: Date) =>
  d.getUTCDate() === 1 &&
  d.getUTCHours() === 0 &&
  d.getUTCMinutes() === 0 &&
  d.getUTCSeconds() === 0 &&
  d.getUTCMilliseconds() === 0;
const monthIndex = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();

/** The time of step k after `start` at a step (monthly: k calendar months, day and time of `start` kept). */
export function stepTime(start: Date, step: TimeStep, k: number): Date {
  if (step === 'monthly') {
    const d = new Date(start.getTime());
    d.setUTCMonth(d.getUTCMonth() + k);
    return d;
  }
  return new Date(start.getTime() + k * (step === 'hourly' ? 3600_000 : 86400_000));
}

/** The step kind of a fixed step in seconds. */
export const stepKindOf = (seconds: number): StackTimeStep =>
  seconds === 3600 ? 'hourly' : seconds === 86400 ? 'daily' : 'other';

/**
 * Sorts steps, refuses duplicates, finds the step and the gaps. Steps all on the first of a month
 * (00:00 UTC) are monthly: calendar months, gaps counted in months. `hint` names the step when the
 * times alone cannot tell it (a single step, or dates on month starts that are daily data).
 */
export function timeline(
  steps: StackStep[],
  source: string,
  hint?: TimeStep,
): { steps: StackStep[]; stepSeconds: number; step: StackTimeStep; gaps: StackGap[] } {
  const sorted = [...steps].sort((a, b) => a.time.getTime() - b.time.getTime());
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.time.getTime() === sorted[i - 1]!.time.getTime()) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${source}: two files for ${sorted[i]!.time.toISOString()}: ${sorted[i - 1]!.file} and ${sorted[i]!.file}`,
        {
          file: sorted[i]!.file,
          duplicateOf: sorted[i - 1]!.file,
          time: sorted[i]!.time.toISOString(),
        },
      );
    }
  }
  const monthly =
    hint === 'monthly' ||
    (hint === undefined && sorted.length >= 2 && sorted.every((s) => isMonthStart(s.time)));
  if (monthly) {
    const gaps: StackGap[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const t = sorted[i]!.time;
      if (!isMonthStart(t))
        throw new FieldcalError(
          'INCONSISTENT_DATA',
          `${source}: ${sorted[i]!.file} (${t.toISOString()}) is not at the start of a month, as a monthly stack's steps must be`,
          { file: sorted[i]!.file },
        );
      const k = i > 0 ? monthIndex(t) - monthIndex(sorted[i - 1]!.time) : 1;
      if (k > 1) gaps.push({ after: sorted[i - 1]!.time, before: t, missing: k - 1 });
    }
    return { steps: sorted, stepSeconds: MEAN_MONTH_SECONDS, step: 'monthly', gaps };
  }
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++)
    step = Math.min(step, sorted[i]!.time.getTime() - sorted[i - 1]!.time.getTime());
  if (!Number.isFinite(step) && hint) step = (hint === 'hourly' ? 3600 : 86400) * 1000;
  const gaps: StackGap[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const dt = sorted[i]!.time.getTime() - sorted[i - 1]!.time.getTime();
    const k = dt / step;
    if (Math.abs(k - Math.round(k)) > 1e-9) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${source}: ${sorted[i]!.file} is not on the stack's regular step of ${step / 1000} s`,
        { file: sorted[i]!.file },
      );
    }
    if (Math.round(k) > 1)
      gaps.push({ after: sorted[i - 1]!.time, before: sorted[i]!.time, missing: Math.round(k) - 1 });
  }
  const seconds = Number.isFinite(step) ? step / 1000 : 0;
  return { steps: sorted, stepSeconds: seconds, step: stepKindOf(seconds), gaps };
}

async function listTiffs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listTiffs(p)));
    else if (/\.tiff?$/i.test(e.name)) out.push(p);
  }
  return out;
}

/** A month in a file name when no full date is there: the first run of 6 digits YYYYmm (year 1800..2299). */
function monthFromName(name: string): Date | null {
  for (const m of name.matchAll(/(?<!\d)(\d{4})(\d{2})(?!\d)/g)) {
    const y = +m[1]!;
    const mo = +m[2]!;
    if (y >= 1800 && y < 2300 && mo >= 1 && mo <= 12) return new Date(Date.UTC(y, mo - 1, 1));
  }
  return null;
}

/** Days in each month of a leap year (the calendar day-of-year climatologies are keyed on). */
const LEAP_MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const COMMON_MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The calendar day (month 1..12, day) of day number `doy` (1-based) in a leap or a common year. */
function dayOfYear(doy: number, leap: boolean): { month: number; day: number } | null {
  const days = leap ? LEAP_MONTH_DAYS : COMMON_MONTH_DAYS;
  let d = doy;
  for (let m = 0; m < 12; m++) {
    if (d <= days[m]!) return d >= 1 ? { month: m + 1, day: d } : null;
    d -= days[m]!;
  }
  return null;
}

/** A day-of-year key in a file name: `doyNNN` (day number 1..366) or the first valid `MMDD` run of 4 digits. */
export function dayKeyFromName(name: string): { doy: number } | { month: number; day: number } | null {
  const d = /doy[_-]?(\d{1,3})(?!\d)/i.exec(name);
  if (d) return +d[1]! >= 1 && +d[1]! <= 366 ? { doy: +d[1]! } : null;
  for (const m of name.matchAll(/(?<!\d)(\d{2})(\d{2})(?!\d)/g)) {
    const month = +m[1]!;
    const day = +m[2]!;
    if (month >= 1 && month <= 12 && day >= 1 && day <= LEAP_MONTH_DAYS[month - 1]!) return { month, day };
  }
  return null;
}

/** A month-of-year key in a file name: `mNN` / `MNN`, else the first run of exactly 2 digits 01..12. */
export function monthKeyFromName(name: string): number | null {
  const m = /(?<![A-Za-z0-9])m(\d{2})(?!\d)/i.exec(name) ?? /(?<!\d)(\d{2})(?!\d)/.exec(name);
  return m && +m[1]! >= 1 && +m[1]! <= 12 ? +m[1]! : null;
}

/** How a day-of-year climatology is laid over a calendar, stated in what the stack reports. */
export const DAY_OF_YEAR_RULE =
  'each file is repeated on its calendar day of every year of the period; 29 February uses the 28 February file when the folder has no 29 February file; doyNNN numbers days of a leap year when a doy366 file exists, of a common year otherwise';
export const MONTH_OF_YEAR_RULE =
  'each file is repeated on its calendar month of every year of the period (one step per month, at the first of the month)';

/** The UTC midnight of a time's day. */
const dayStart = (d: Date) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());

/**
 * Expands climatology files (keyed by calendar day `MM-DD` or month `MM`) over a period into dated
 * steps: daily at 00:00 UTC for day-of-year files, monthly at the first of the month for month-of-year.
 */
function expandClimatology(
  dir: string,
  layout: Exclude<FolderLayout, 'dated'>,
  byKey: Map<string, string>,
  period: { start: Date; end: Date },
): StackStep[] {
  const steps: StackStep[] = [];
  if (layout === 'month-of-year') {
    const first = new Date(period.start.getTime());
    for (
      let y = first.getUTCFullYear(), m = first.getUTCMonth();
      Date.UTC(y, m, 1) <= period.end.getTime();
      m === 11 ? ((m = 0), y++) : m++
    ) {
      const file = byKey.get(String(m + 1).padStart(2, '0'));
      if (file) steps.push({ time: new Date(Date.UTC(y, m, 1)), file, band: 0 });
    }
    return steps;
  }
  for (let t = dayStart(period.start); t <= period.end.getTime(); t += 86400_000) {
    const d = new Date(t);
    const key = `${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
    const file = byKey.get(key) ?? (key === '02-29' ? byKey.get('02-28') : undefined);
    if (file) steps.push({ time: d, file, band: 0 });
  }
  if (steps.length === 0)
    throw new FieldcalError('INCONSISTENT_DATA', `${dir}: no climatology file falls in the period`, {
      file: dir,
      field: 'period',
    });
  return steps;
}

/**
 * Opens a folder of one GeoTIFF per step, subfolders allowed. Layout `dated` (default): the date in
 * each file name (smash: `prcp/2012/08/201208010000_PT.tif`; `YYYYmm` alone = a monthly step).
 * `day-of-year` / `month-of-year`: a climatology (`0229_pet.tif`, `doy060.tif`; `sm_m03.tif`),
 * expanded over `period` (required) into a daily / monthly stack by the rules stated in
 * `DAY_OF_YEAR_RULE` / `MONTH_OF_YEAR_RULE`. Every header is checked against the first grid.
 */
export async function openFolderStack(
  dir: string,
  opts: { crs?: string | null; layout?: FolderLayout; period?: { start: Date; end: Date } } = {},
): Promise<Stack> {
  const layout = opts.layout ?? 'dated';
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new FieldcalError('NOT_FOUND', `${dir} is not a folder`, { file: dir });
  const files = (await listTiffs(dir)).sort();
  if (files.length === 0)
    throw new FieldcalError('INVALID_FILE', `${dir} holds no GeoTIFF files`, { file: dir });
  if (layout !== 'dated' && !opts.period)
    throw new FieldcalError(
      'VALIDATION',
      `${dir}: a ${layout} climatology needs a period to be expanded over`,
      {
        file: dir,
        field: 'period',
      },
    );
  let steps: StackStep[] = [];
  const byKey = new Map<string, string>();
  const doyFiles: Array<{ doy: number; file: string }> = [];
  let grid: Grid | null = null;
  let first: RasterInfo | null = null;
  for (const file of files) {
    const name = relative(dir, file).replace(/.*[/\\]/, '');
    if (layout === 'dated') {
      const time = dateFromName(name) ?? monthFromName(name);
      if (!time)
        throw new FieldcalError(
          'INVALID_FILE',
          `${file}: no date (YYYYmmdd[HHMM] or YYYYmm) in the file name; a climatology needs the day-of-year or month-of-year layout`,
          { file, problem: 'unparseable date' },
        );
      steps.push({ time, file, band: 0 });
    } else {
      let key: string | null = null;
      if (layout === 'month-of-year') {
        const m = monthKeyFromName(name);
        key = m === null ? null : String(m).padStart(2, '0');
      } else {
        const k = dayKeyFromName(name);
        if (k && 'doy' in k) doyFiles.push({ doy: k.doy, file });
        else if (k) key = `${String(k.month).padStart(2, '0')}-${String(k.day).padStart(2, '0')}`;
        if (k && 'doy' in k) key = `doy${k.doy}`;
      }
      if (key === null)
        throw new FieldcalError(
          'INVALID_FILE',
          layout === 'month-of-year'
            ? `${file}: no month (mNN or a 2-digit 01..12) in the file name`
            : `${file}: no day of year (MMDD or doyNNN) in the file name`,
          { file, problem: 'no climatology key' },
        );
      if (byKey.has(key))
        throw new FieldcalError(
          'INCONSISTENT_DATA',
          `${dir}: two files for ${key}: ${byKey.get(key)} and ${file}`,
          {
            file,
            duplicateOf: byKey.get(key),
          },
        );
      byKey.set(key, file);
    }
    const r = await GeoTiffRaster.open(file);
    await r.close();
    const g = gridOfRaster(r.info, opts.crs ?? null);
    if (!grid || !first) {
      grid = g;
      first = r.info;
    } else if (!sameGrid(grid, g) || r.info.bands !== first.bands) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${file} is on a different grid (${g.cols} x ${g.rows} at ${g.x0}, ${g.y0}) than ${first.path} (${grid.cols} x ${grid.rows} at ${grid.x0}, ${grid.y0})`,
        {
          file,
          reference: first.path,
        },
      );
    }
  }
  let climatology: Stack['climatology'];
  if (layout !== 'dated') {
    if (doyFiles.length) {
      // day numbers become calendar days: of a leap year when a 366th day exists, of a common year otherwise
      const leap = doyFiles.some((d) => d.doy === 366);
      for (const { doy, file } of doyFiles) {
        byKey.delete(`doy${doy}`);
        const md = dayOfYear(doy, leap)!;
        const key = `${String(md.month).padStart(2, '0')}-${String(md.day).padStart(2, '0')}`;
        if (byKey.has(key))
          throw new FieldcalError(
            'INCONSISTENT_DATA',
            `${dir}: two files for ${key}: ${byKey.get(key)} and ${file}`,
            {
              file,
              duplicateOf: byKey.get(key),
            },
          );
        byKey.set(key, file);
      }
    }
    steps = expandClimatology(dir, layout, byKey, opts.period!);
    climatology = { layout, rule: layout === 'day-of-year' ? DAY_OF_YEAR_RULE : MONTH_OF_YEAR_RULE };
  }
  const t = timeline(
    steps,
    dir,
    layout === 'day-of-year' ? 'daily' : layout === 'month-of-year' ? 'monthly' : undefined,
  );
  return {
    source: dir,
    kind: 'folder',
    grid: grid!,
    ...t,
    ...(climatology ? { climatology } : {}),
    nodata: first!.nodata,
    units: null,
    async read(i) {
      const s = t.steps[i];
      if (!s)
        throw new FieldcalError('VALIDATION', `${dir}: step ${i} out of range (0..${t.steps.length - 1})`, {
          file: dir,
          step: i,
        });
      const r = await GeoTiffRaster.open(s.file);
      try {
        return await r.readBandValues(s.band);
      } finally {
        await r.close();
      }
    },
    readColumn: (row, col) => readColumnOfFiles(t.steps, grid!, row, col),
  };
}

/**
 * Opens a multi-band GeoTIFF as a stack: band dates from band descriptions or band DATE metadata,
 * else from a start date and step the user gives.
 */
export async function openMultibandStack(
  path: string,
  opts: { start?: Date; stepSeconds?: number; step?: TimeStep; crs?: string | null } = {},
): Promise<Stack> {
  const r = await GeoTiffRaster.open(path);
  await r.close();
  const info = r.info;
  const fromMeta = info.descriptions.map((d) => (d ? dateFromName(d.replace(/[-:T ]/g, '')) : null));
  let steps: StackStep[];
  if (fromMeta.every((d) => d !== null)) {
    steps = fromMeta.map((time, band) => ({ time: time!, file: path, band }));
  } else if (opts.start && opts.step) {
    steps = info.descriptions.map((_, band) => ({
      time: stepTime(opts.start!, opts.step!, band),
      file: path,
      band,
    }));
  } else if (opts.start && opts.stepSeconds) {
    steps = info.descriptions.map((_, band) => ({
      time: new Date(opts.start!.getTime() + band * opts.stepSeconds! * 1000),
      file: path,
      band,
    }));
  } else {
    throw new FieldcalError(
      'VALIDATION',
      `${path}: band dates are not in the file; give a start date and a step`,
      { file: path, field: 'start' },
    );
  }
  const t = timeline(steps, path, opts.step);
  return {
    source: path,
    kind: 'multiband',
    grid: gridOfRaster(info, opts.crs ?? null),
    ...t,
    nodata: info.nodata,
    units: null,
    async read(i) {
      const s = t.steps[i];
      if (!s)
        throw new FieldcalError('VALIDATION', `${path}: step ${i} out of range`, { file: path, step: i });
      const rr = await GeoTiffRaster.open(path);
      try {
        return await rr.readBandValues(s.band);
      } finally {
        await rr.close();
      }
    },
    readColumn: (row, col) => readColumnOfFiles(t.steps, gridOfRaster(info, opts.crs ?? null), row, col),
  };
}

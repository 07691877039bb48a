import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import { readTextFile } from '../common/safeFile';

/** A discharge series at a fixed step; missing values are NaN. */
export interface Series {
  /** Time of the first value (UTC). */
  start: Date;
  stepSeconds: number;
  values: Float64Array;
  unit: 'm3/s' | 'mm';
  /** The file it was read from (named in step mismatches). */
  file?: string;
  /** Where the step came from: the dates on every row, or the caller (a smash qobs file has one start date). */
  stepFrom?: 'dates' | 'given';
}

/** A step in words: `hourly`, `daily`, or seconds. */
export const stepWords = (seconds: number) =>
  seconds === 3600 ? 'hourly' : seconds === 86400 ? 'daily' : `${seconds} s`;

/** A gauge: code, position (in the dataset's CRS), declared drained area and observed discharge. */
export interface Gauge {
  code: string;
  x: number;
  y: number;
  areaKm2: number | null;
  series: Series | null;
}

const bad = (file: string, line: number | null, problem: string) =>
  new FieldcalError('INVALID_FILE', `${file}${line !== null ? `, line ${line}` : ''}: ${problem}`, {
    file,
    line,
    problem,
  });

/** Parses `YYYYmmdd`, `YYYYmmddHHMM`, `YYYY-mm-dd`, `YYYY-mm-dd HH:MM[:SS]` or `dd/mm/YYYY` as UTC. */
export function parseDate(text: string): Date | null {
  const t = text.trim().replace(/^"|"$/g, '');
  let m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?)?$/.exec(t);
  if (!m) m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(t);
  if (m) {
    const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((v) => v ?? '0') as string[];
    return validDate(+y!, +mo!, +d!, +h, +mi, +s);
  }
  m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(t);
  if (m) return validDate(+m[3]!, +m[2]!, +m[1]!, 0, 0, 0);
  return null;
}

function validDate(y: number, mo: number, d: number, h: number, mi: number, s: number): Date | null {
  const dt = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return dt.getUTCFullYear() === y &&
    dt.getUTCMonth() === mo - 1 &&
    dt.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    s < 60
    ? dt
    : null;
}

/** Values that mean "missing" in gauge files: empty, NaN, and the -99 / -9999 conventions. */
function parseValue(text: string, negativeIsMissing: boolean): number | null {
  const t = text.trim();
  if (t === '' || /^(nan|na|null|-)$/i.test(t)) return Number.NaN;
  const v = Number(t);
  if (!Number.isFinite(v)) return null;
  if (v === -99 || v === -9999 || (negativeIsMissing && v < 0)) return Number.NaN;
  return v;
}

/**
 * Reads a smash-style gauge folder: `gauge_attributes.csv` (code,x,y,area in km²) and one
 * `qobs/<code>.csv` per gauge whose first line is the start date and then one value per step
 * (negative = missing), in m³/s, or a dated `date,value` series (its step read from the dates).
 * `stepSeconds` is the dataset's model step: undated series are read at it, and a dated series at
 * another step is refused naming its file (hourly discharge is never read as daily). Without it,
 * undated series are daily and dated ones keep their own step.
 */
export async function readSmashGauges(dir: string, stepSeconds?: number): Promise<Gauge[]> {
  const attrFile = join(dir, 'gauge_attributes.csv');
  // a FIFO, socket or device in place of the file is refused before it is opened (it would block forever)
  const text = await readTextFile(attrFile);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((h) => h.trim().toLowerCase()) ?? [];
  const col = (name: string) => header.indexOf(name);
  if (col('code') < 0 || col('x') < 0 || col('y') < 0)
    throw bad(attrFile, 1, 'header must name code, x, y (and area)');
  const gauges: Gauge[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.split(',');
    const code = f[col('code')]?.trim() ?? '';
    const x = Number(f[col('x')]);
    const y = Number(f[col('y')]);
    const area = col('area') >= 0 ? Number(f[col('area')]) : Number.NaN;
    if (!code || !Number.isFinite(x) || !Number.isFinite(y))
      throw bad(attrFile, i + 1, `"${lines[i]}" is not code,x,y,area`);
    if (col('area') >= 0 && !(area > 0))
      throw bad(attrFile, i + 1, `area of ${code} must be a positive number of km²`);
    if (gauges.some((g) => g.code === code)) throw bad(attrFile, i + 1, `gauge code ${code} appears twice`);
    gauges.push({ code, x, y, areaKm2: Number.isFinite(area) ? area : null, series: null });
  }
  const qdir = join(dir, 'qobs');
  const files = new Set(await readdir(qdir).catch(() => [] as string[]));
  for (const g of gauges) {
    const name = `${g.code}.csv`;
    if (!files.has(name)) continue;
    const s = await readSmashSeries(join(qdir, name), stepSeconds ?? 86400);
    if (stepSeconds !== undefined) checkSeriesStep(s, stepSeconds, g.code);
    g.series = s;
  }
  return gauges;
}

/**
 * Refuses a series whose step is not the model's, naming its file: it would be windowed on the wrong
 * dates (hourly discharge read as daily gave HDA-PR 61 observations for 1441 simulated steps).
 */
export function checkSeriesStep(s: Series, stepSeconds: number, code: string): void {
  if (s.stepSeconds !== stepSeconds)
    throw new FieldcalError(
      'INCONSISTENT_DATA',
      `${s.file ?? `gauge ${code}`}: observed discharge of gauge ${code} is ${stepWords(s.stepSeconds)} (from its dates), the dataset's model step is ${stepWords(stepSeconds)}; aggregate it or assemble the dataset at its step`,
      { ...(s.file ? { file: s.file } : {}), gauge: code, seriesStep: s.stepSeconds, modelStep: stepSeconds },
    );
}

/**
 * One smash qobs file: start date on the first line, then one value per step at `stepSeconds`; or,
 * when the rows are `date,value`, a dated series whose step is read from the dates.
 */
export async function readSmashSeries(file: string, stepSeconds: number): Promise<Series> {
  const lines = (await readTextFile(file)).split(/\r?\n/);
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  const row = lines.find((l, i) => i > 0 && l.trim() !== '') ?? '';
  if (/[,;\t]/.test(row) && parseDate(row.split(/[,;\t]/)[0] ?? '') !== null) {
    const { gaps: _gaps, ...dated } = await readGaugeCsv(file);
    return dated;
  }
  const start = parseDate(lines[0] ?? '');
  if (!start) throw bad(file, 1, `"${lines[0] ?? ''}" is not a start date (YYYYmmdd)`);
  const values = new Float64Array(lines.length - 1);
  for (let i = 1; i < lines.length; i++) {
    const v = parseValue(lines[i]!, true);
    if (v === null) throw bad(file, i + 1, `"${lines[i]}" is not a number`);
    values[i - 1] = v;
  }
  return { start, stepSeconds, values, unit: 'm3/s', file, stepFrom: 'given' };
}

/**
 * Reads a generic gauge CSV: a date column and a value column (named, or the first two), with or
 * without a header, comma/semicolon/tab separated, daily or hourly (the step is taken from the
 * dates and must be regular; gaps are filled with NaN and reported).
 */
export async function readGaugeCsv(
  file: string,
  opts: { valueColumn?: string; unit?: Series['unit'] } = {},
): Promise<Series & { gaps: number }> {
  const lines = (await readTextFile(file)).split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw bad(file, null, 'needs at least two rows');
  const sep = [',', ';', '\t'].find((s) => lines[0]!.includes(s)) ?? ',';
  const first = lines[0]!.split(sep);
  const hasHeader = parseDate(first[0] ?? '') === null;
  const header = hasHeader ? first.map((h) => h.trim().replace(/^"|"$/g, '')) : [];
  const vcol = opts.valueColumn ? header.indexOf(opts.valueColumn) : 1;
  if (vcol < 0) throw bad(file, 1, `no column named ${opts.valueColumn}`);
  const times: number[] = [];
  const vals: number[] = [];
  for (let i = hasHeader ? 1 : 0; i < lines.length; i++) {
    const f = lines[i]!.split(sep);
    const d = parseDate(f[0] ?? '');
    if (!d) throw bad(file, i + 1, `"${f[0] ?? ''}" is not a date`);
    const v = parseValue(f[vcol] ?? '', false);
    if (v === null) throw bad(file, i + 1, `"${f[vcol] ?? ''}" is not a number`);
    times.push(d.getTime());
    vals.push(v);
  }
  let step = Infinity;
  for (let i = 1; i < times.length; i++) {
    const dt = times[i]! - times[i - 1]!;
    if (dt <= 0)
      throw bad(
        file,
        i + (hasHeader ? 2 : 1),
        'dates are not strictly increasing (duplicate or out of order)',
      );
    step = Math.min(step, dt);
  }
  const n = Math.round((times[times.length - 1]! - times[0]!) / step) + 1;
  // a stray date far from the others would otherwise ask for an array of billions of steps
  if (n > Math.max(10 * times.length, 1_000_000))
    throw bad(
      file,
      null,
      `dates span ${n} steps of ${step / 1000} s for ${times.length} rows (a stray date?)`,
    );
  const values = new Float64Array(n).fill(Number.NaN);
  for (let i = 0; i < times.length; i++) {
    const k = (times[i]! - times[0]!) / step;
    if (!Number.isInteger(k)) throw bad(file, i + 1, 'dates are not on a regular step');
    values[k] = vals[i]!;
  }
  return {
    start: new Date(times[0]!),
    stepSeconds: step / 1000,
    values,
    unit: opts.unit ?? 'm3/s',
    file,
    stepFrom: 'dates',
    gaps: n - times.length,
  };
}

/** Discharge in m³/s to depth in mm per step over a drained area: Q·dt / (A·10³). */
export function m3sToMm(q: number, stepSeconds: number, areaKm2: number): number {
  return (q * stepSeconds) / (areaKm2 * 1e3);
}

/** Depth in mm per step to m³/s. */
export function mmToM3s(mm: number, stepSeconds: number, areaKm2: number): number {
  return (mm * areaKm2 * 1e3) / stepSeconds;
}

/**
 * The values of a series between two dates (inclusive), NaN where the series does not reach.
 * `stepSeconds`, the model's step, must be the series' own (never windowed at another step).
 */
export function seriesWindow(s: Series, from: Date, to: Date, stepSeconds?: number): Float64Array {
  if (stepSeconds !== undefined) checkSeriesStep(s, stepSeconds, s.file ?? 'series');
  const step = s.stepSeconds * 1000;
  const n = Math.round((to.getTime() - from.getTime()) / step) + 1;
  const out = new Float64Array(n).fill(Number.NaN);
  const off = Math.round((from.getTime() - s.start.getTime()) / step);
  for (let i = 0; i < n; i++) {
    const k = off + i;
    if (k >= 0 && k < s.values.length) out[i] = s.values[k]!;
  }
  return out;
}

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import { dateFromName, openFolderStack, type Stack } from '../rasters/stack';
import type { CoarseTarget } from './smashDataset';

const DAY_MS = 86_400_000;

/** Months since year 0 of a UTC date. */
const monthIndex = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();

/** Days in the UTC calendar month of a date (proleptic Gregorian). */
const daysInMonth = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();

/** Whether a date is the first day of a month at 00:00 UTC. */
export const isMonthStart = (d: Date): boolean => d.getUTCDate() === 1 && d.getTime() % DAY_MS === 0;

/**
 * The calendar months wholly covered by model steps: for each month (by its first day) the number
 * of model steps it holds, kept when that is the month's length in steps (days x 86400 / step).
 */
export function wholeMonths(modelDates: readonly Date[], stepSeconds: number): Map<number, number> {
  const count = new Map<number, number>();
  for (const d of modelDates) count.set(monthIndex(d), (count.get(monthIndex(d)) ?? 0) + 1);
  const whole = new Map<number, number>();
  for (const d of modelDates) {
    const m = monthIndex(d);
    if (whole.has(m)) continue;
    const steps = Math.round((daysInMonth(d) * 86400) / stepSeconds);
    if (count.get(m) === steps) whole.set(m, steps);
  }
  return whole;
}

/**
 * Bins model steps into monthly target steps: `bins[t]` is the index in `months` (first days of
 * months) of the month of model step t, or -1 when that month is not a target step or the model's
 * steps do not cover all of it (a partial month's mean or sum would not be the month's).
 */
export function monthlyBins(
  modelDates: readonly Date[],
  months: readonly Date[],
  stepSeconds: number,
): Int32Array {
  const whole = wholeMonths(modelDates, stepSeconds);
  const index = new Map(months.map((m, k) => [monthIndex(m), k]));
  return Int32Array.from(modelDates, (d) =>
    whole.has(monthIndex(d)) ? (index.get(monthIndex(d)) ?? -1) : -1,
  );
}

/** GeoTIFF files under a folder, subfolders included (smash: `sm/2012/201208010000_SM.tif`). */
async function listTiffs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listTiffs(p)));
    else if (/\.tiff?$/i.test(e.name)) out.push(p);
  }
  return out;
}

/** The date of a file name: YYYYmmdd[HH[MM[SS]]], else YYYYmm (a month, its first day). */
function nameDate(file: string): Date | null {
  const name = file.replace(/.*[/\\]/, '');
  const d = dateFromName(name);
  if (d) return d;
  const m = /(?<!\d)(\d{4})(\d{2})(?!\d)/.exec(name);
  return m && +m[2]! >= 1 && +m[2]! <= 12 ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, 1)) : null;
}

/**
 * Whether a target folder is a monthly stack, from its file names alone (no file is opened): two
 * files or more, each dated on the first day of a month (00:00 UTC), in successive or later
 * months. `declared` (an assembled dataset's manifest) makes one file enough and refuses a date
 * that is not a month start.
 */
export async function isMonthlyFolder(dir: string, declared = false): Promise<boolean> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) return false;
  const files = await listTiffs(dir);
  const dates = files.map(nameDate);
  if (declared) {
    const bad = dates.findIndex((d) => !d || !isMonthStart(d));
    if (bad >= 0)
      throw new FieldcalError(
        'INVALID_FILE',
        `${files[bad]}: a monthly target's file names must carry the first day of their month (YYYYmm01 or YYYYmm)`,
        { file: files[bad], field: 'targets' },
      );
    return files.length > 0;
  }
  return dates.length >= 2 && dates.every((d) => d !== null && isMonthStart(d));
}

/**
 * Reads a monthly target stack (a folder of one GeoTIFF per month) onto the model's cells: the
 * months wholly covered by the model's steps, their values on the catchment's active cells
 * (`onCells`), each model step binned to its month. States (soil moisture) are compared with the
 * monthly mean of the simulation, fluxes (ET, mm per month) with its monthly sum.
 */
export async function readMonthlyTarget(opts: {
  dir: string;
  /** `sm` (a state: mean) or `et` (a flux: sum). */
  variable: 'sm' | 'et';
  crs: string | null;
  dates: readonly Date[];
  stepSeconds: number;
  /** The values of one step of the stack on the model's active cells. */
  onCells: (stack: Stack, values: Float64Array) => Float64Array;
  cells: number;
}): Promise<CoarseTarget> {
  const stack = await openFolderStack(opts.dir, { crs: opts.crs });
  const bad = stack.steps.find((s) => !isMonthStart(s.time));
  if (bad)
    throw new FieldcalError(
      'INCONSISTENT_DATA',
      `${bad.file} (${bad.time.toISOString()}) is not on the first day of a month, as a monthly target's steps must be`,
      { file: bad.file, field: opts.variable },
    );
  const whole = wholeMonths(opts.dates, opts.stepSeconds);
  const kept = stack.steps.map((s, i) => ({ s, i })).filter(({ s }) => whole.has(monthIndex(s.time)));
  if (!kept.length) {
    const first = opts.dates[0]?.toISOString().slice(0, 10);
    const last = opts.dates.at(-1)?.toISOString().slice(0, 10);
    throw new FieldcalError(
      'INCONSISTENT_DATA',
      `${opts.dir}: no month of the stack lies wholly in the period ${first} .. ${last}`,
      { file: opts.dir, field: 'period' },
    );
  }
  const values = new Float64Array(kept.length * opts.cells);
  for (const [k, { i }] of kept.entries()) {
    const v = opts.onCells(stack, await stack.read(i));
    if (v.length !== opts.cells)
      throw new FieldcalError(
        'INTERNAL',
        `${stack.steps[i]!.file}: ${v.length} cells read, expected ${opts.cells}`,
      );
    values.set(v, k * opts.cells);
  }
  const months = kept.map(({ s }) => new Date(s.time.getTime()));
  return {
    step: 'monthly',
    dates: months,
    values,
    bin: monthlyBins(opts.dates, months, opts.stepSeconds),
    rule: opts.variable === 'sm' ? 'mean' : 'sum',
  };
}

/** Monthly means of a step-major series [steps x cells] over the months wholly covered by `dates` (twins, tests). */
export function monthlyMeans(
  series: Float64Array,
  cells: number,
  dates: readonly Date[],
  stepSeconds = 86400,
): { months: Date[]; values: Float64Array; bins: Int32Array } {
  const whole = wholeMonths(dates, stepSeconds);
  const months: Date[] = [];
  for (const d of dates)
    if (whole.has(monthIndex(d)) && (!months.length || monthIndex(months.at(-1)!) !== monthIndex(d)))
      months.push(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)));
  const bins = monthlyBins(dates, months, stepSeconds);
  const values = new Float64Array(months.length * cells);
  const n = new Int32Array(months.length);
  bins.forEach((k, t) => {
    if (k < 0) return;
    n[k]!++;
    for (let c = 0; c < cells; c++) values[k * cells + c]! += series[t * cells + c]!;
  });
  for (let k = 0; k < months.length; k++) for (let c = 0; c < cells; c++) values[k * cells + c]! /= n[k]!;
  return { months, values, bins };
}

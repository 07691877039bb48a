import { FieldcalError, periodIssues, type NamedPeriod } from '../../../../src-shared/ipc';
import type { Periods } from './problem';

const DAY = 86_400_000;

/** Midnight UTC of a YYYY-MM-DD date. */
export const utcDay = (s: string): Date => new Date(`${s}T00:00:00Z`);

/** One date per day from `start` to `end` (both YYYY-MM-DD, inclusive), at midnight UTC. */
export function dailyDates(start: string, end: string): Date[] {
  const t0 = utcDay(start).getTime();
  const n = Math.round((utcDay(end).getTime() - t0) / DAY) + 1;
  return Array.from({ length: Math.max(0, n) }, (_, i) => new Date(t0 + i * DAY));
}

/** The first start and the last end of named periods (the days a synthetic twin's data cover). */
export function periodsSpan(list: readonly NamedPeriod[]): { start: string; end: string } {
  return {
    start: list.map((p) => p.start).reduce((a, b) => (b < a ? b : a)),
    end: list.map((p) => p.end).reduce((a, b) => (b > a ? b : a)),
  };
}

/**
 * Step ranges [start, end) of named date ranges (end inclusive) against the step dates of the data
 * (ascending): the model runs from the first step continuously, so the periods need not be
 * contiguous nor in train / valid / test order. A missing valid period is empty; a missing warm-up
 * is every step before the first scored period. Typed errors name the offending entry
 * (`periods.1.end`): a range outside the data, one with no step, overlapping ranges, a name given
 * twice, end before start, train or test missing.
 */
export function stepPeriods(list: readonly NamedPeriod[], dates: readonly Date[]): Periods {
  const fail = (path: Array<string | number>, message: string): never => {
    throw new FieldcalError('VALIDATION', `periods: ${message}`, {
      field: ['periods', ...path].join('.'),
      reason: message,
    });
  };
  const first = periodIssues(list)[0];
  if (first) fail(first.path, first.message);
  if (!dates.length) fail([], 'the data have no steps');
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const t0 = dates[0]!.getTime();
  const tN = dates[dates.length - 1]!.getTime();
  const ranges: Partial<Periods> = {};
  list.forEach((p, i) => {
    const a = utcDay(p.start).getTime();
    // end inclusive: every step before the next day's midnight
    const b = utcDay(p.end).getTime() + DAY;
    if (a > tN || a < t0)
      fail(
        [i, 'start'],
        `${p.name} starts ${p.start}, outside the data (${day(dates[0]!)} .. ${day(dates.at(-1)!)})`,
      );
    if (b - DAY > tN)
      fail(
        [i, 'end'],
        `${p.name} ends ${p.end}, after the data (${day(dates[0]!)} .. ${day(dates.at(-1)!)})`,
      );
    const s0 = dates.findIndex((d) => d.getTime() >= a);
    let s1 = dates.findIndex((d) => d.getTime() >= b);
    if (s1 < 0) s1 = dates.length;
    if (s1 <= s0) fail([i, 'start'], `${p.name} (${p.start} .. ${p.end}) holds no step of the data`);
    ranges[p.name] = [s0, s1];
  });
  const scored = [ranges.train!, ranges.test!, ...(ranges.valid ? [ranges.valid] : [])];
  return {
    warmup: ranges.warmup ?? [0, Math.min(...scored.map((r) => r[0]))],
    train: ranges.train!,
    valid: ranges.valid ?? [0, 0],
    test: ranges.test!,
  };
}

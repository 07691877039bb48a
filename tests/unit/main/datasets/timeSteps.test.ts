import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Grid } from '../../../../src-shared/ipc';
import { modelDates, toModelStep } from '../../../../src-main/services/datasets/timeSteps';
import { openStackSource } from '../../../../src-main/services/rasters/open';
import {
  openFolderStack,
  timeline,
  type Stack,
  type StackStep,
} from '../../../../src-main/services/rasters/stack';
import { writeGeoTiff } from '../../../../src-main/services/rasters/writeGeoTiff';
import { tempDir } from '../../../helpers/tmp';

const LEZ = 'resources/sample-data/lez';
const grid: Grid = { crs: null, x0: 0, y0: 2, dx: 1, dy: 1, rows: 1, cols: 2, mask: null };

/** An in-memory stack of 2 cells: step i holds values(i) (NaN = missing). */
function memStack(times: Date[], values: (i: number) => [number, number], hint?: 'monthly'): Stack {
  const steps: StackStep[] = times.map((time, band) => ({ time, file: 'mem', band }));
  const t = timeline(steps, 'mem', hint);
  return {
    source: 'mem',
    kind: 'multiband',
    grid,
    ...t,
    nodata: null,
    units: null,
    read: async (i) => Float64Array.from(values(t.steps[i]!.band)),
    readColumn: async () => new Float64Array(0),
  };
}
const hours = (start: string, n: number) =>
  Array.from({ length: n }, (_, i) => new Date(new Date(start).getTime() + i * 3600_000));

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

describe('toModelStep', () => {
  it('disaggregates the Lez daily rainfall to hours: each day is spread evenly and its 24 hours sum to it', async () => {
    const s = await openStackSource({ format: 'folder', path: join(LEZ, 'prcp') }, { crs: 'EPSG:2154' });
    const dates = modelDates('hourly', new Date('2012-10-24T00:00:00Z'), new Date('2012-10-26T23:00:00Z'));
    expect(dates).toHaveLength(72);
    const h = toModelStep(s, { step: 'hourly', dates, rule: 'sum' });
    expect(h.timeRule).toBe('disaggregate');
    expect(h.stepFrom).toBe('daily');
    expect(h.missing).toEqual([]);
    for (let day = 0; day < 3; day++) {
      const di = s.steps.findIndex((st) => st.time.getTime() === dates[day * 24]!.getTime());
      const daily = await s.read(di);
      const sum = new Float64Array(daily.length);
      for (let k = 0; k < 24; k++) {
        const v = await h.read(day * 24 + k);
        v.forEach((x, c) => (sum[c] = sum[c]! + x));
        expect(v[100]).toBe(daily[100]! / 24);
      }
      // conservation: a day's hours add up to the day, on every cell
      let worst = 0;
      daily.forEach((x, c) => (worst = Math.max(worst, Math.abs(sum[c]! - x))));
      expect(worst).toBeLessThan(1e-9);
      if (day > 0) expect(daily.some((x) => x > 10)).toBe(true);
    }
    // a state (mean rule) is repeated, not divided
    const t = toModelStep(s, { step: 'hourly', dates, rule: 'mean' });
    const d0 = await s.read(s.steps.findIndex((st) => st.time.getTime() === dates[0]!.getTime()));
    expect(await t.read(5)).toEqual(d0);
  });

  it('aggregates hours to days (sum and mean), and a day missing one hour is missing, never a partial sum', async () => {
    const times = hours('2012-08-01T00:00:00Z', 72).filter((_, i) => i !== 30); // 2012-08-02 06:00 absent
    const s = memStack(times, (i) => [i + 1, i === 60 ? Number.NaN : 2]);
    expect(s.step).toBe('hourly');
    const dates = modelDates('daily', new Date('2012-08-01T00:00:00Z'), new Date('2012-08-03T00:00:00Z'));
    const d = toModelStep(s, { step: 'daily', dates, rule: 'sum' });
    expect(d.timeRule).toBe('sum');
    expect(d.missing).toEqual([1]);
    // day 1: hours 0..23 hold 1..24 → 300; cell 2 holds 2 every hour → 48
    expect(Array.from(await d.read(0))).toEqual([300, 48]);
    expect(Array.from(await d.read(1)).every(Number.isNaN)).toBe(true);
    // day 3: hours at band 47..70 (one hour was removed before), cell 2 missing at band 60 → NaN there only
    const v2 = await d.read(2);
    let expected = 0;
    for (let b = 47; b <= 70; b++) expected += b + 1;
    expect(v2[0]).toBe(expected);
    expect(Number.isNaN(v2[1]!)).toBe(true);
    const m = toModelStep(s, { step: 'daily', dates, rule: 'mean' });
    expect(Array.from(await m.read(0))).toEqual([300 / 24, 2]);
  });

  it('spreads a monthly flux over the calendar days (and hours) of each month; a monthly state is repeated', async () => {
    const months = [new Date('2012-02-01T00:00:00Z'), new Date('2012-03-01T00:00:00Z')];
    const s = memStack(months, (i) => [i === 0 ? 58 : 62, 0.25]);
    expect(s.step).toBe('monthly');
    const dates = modelDates('daily', new Date('2012-02-01T00:00:00Z'), new Date('2012-03-31T00:00:00Z'));
    const d = toModelStep(s, { step: 'daily', dates, rule: 'sum' });
    let feb = 0;
    let mar = 0;
    for (let t = 0; t < dates.length; t++) {
      const v = await d.read(t);
      if (t < 29) feb += v[0]!;
      else mar += v[0]!;
    }
    // 2012 is a leap year: February has 29 days → 2 mm/day; March 31 days → 2 mm/day
    expect((await d.read(0))[0]).toBe(2);
    expect((await d.read(40))[0]).toBe(2);
    expect(feb).toBeCloseTo(58, 12);
    expect(mar).toBeCloseTo(62, 12);
    const h = toModelStep(s, {
      step: 'hourly',
      dates: modelDates('hourly', months[0]!, new Date('2012-02-29T23:00:00Z')),
      rule: 'sum',
    });
    let hsum = 0;
    for (let t = 0; t < h.dates.length; t++) hsum += (await h.read(t))[0]!;
    expect(h.dates).toHaveLength(29 * 24);
    expect(hsum).toBeCloseTo(58, 10);
    const state = toModelStep(s, { step: 'daily', dates, rule: 'mean' });
    expect((await state.read(45))[1]).toBe(0.25);
    // no month covers April: missing, not zero
    const apr = toModelStep(s, { step: 'daily', dates: [new Date('2012-04-02T00:00:00Z')], rule: 'sum' });
    expect(apr.missing).toEqual([0]);
    expect(Number.isNaN((await apr.read(0))[0]!)).toBe(true);
  });

  it('records a day-of-year climatology and refuses steps that do not fit the model step', async () => {
    const dir = join(tmp.dir, 'pet');
    mkdirSync(dir);
    const g: Grid = { ...grid, crs: 'EPSG:2154' };
    for (const k of ['0227', '0228', '0301'])
      await writeGeoTiff({ path: join(dir, `${k}_pet.tif`), grid: g, bands: [{ data: [Number(k), 24] }] });
    const dates = modelDates('hourly', new Date('2012-02-28T00:00:00Z'), new Date('2012-02-29T23:00:00Z'));
    const c = await openFolderStack(dir, {
      layout: 'day-of-year',
      period: { start: dates[0]!, end: dates.at(-1)! },
    });
    const h = toModelStep(c, { step: 'hourly', dates, rule: 'sum' });
    expect(h.timeRule).toBe('climatology');
    expect(h.description).toMatch(/29 February uses the 28 February file/);
    expect(h.description).toMatch(/spread evenly/);
    expect(Array.from(await h.read(30))).toEqual([228 / 24, 1]);

    const odd = memStack(
      Array.from({ length: 4 }, (_, i) => new Date(Date.UTC(2012, 0, 1, 0, 0) + i * 5400_000)),
      () => [1, 1],
    );
    expect(() =>
      toModelStep(odd, { step: 'hourly', dates: hours('2012-01-01T00:00:00Z', 3), rule: 'sum' }),
    ).toThrow(/5400 s is not a whole number/);
    // a daily source stamped 06:00 is off the model's daily steps
    const shifted = memStack([new Date('2012-01-01T06:00:00Z'), new Date('2012-01-02T06:00:00Z')], () => [
      1, 1,
    ]);
    expect(() =>
      toModelStep(shifted, { step: 'daily', dates: [new Date('2012-01-01T00:00:00Z')], rule: 'sum' }),
    ).toThrow(/off the model's daily steps/);
  });
});

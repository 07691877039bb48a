// Issue 15 (fail early): smash qobs files carry a start date and no step, so the assembler takes their
// values at the model step. In an hourly dataset a daily file is then read as hours: the refusal or
// the warning must say so, naming the gauges, instead of a bare "no discharge".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import type { AssembleSpecInput } from '../../../../src-shared/types/assemble';
import { assembleDataset } from '../../../../src-main/services/datasets/assemble';
import { tempDir } from '../../../helpers/tmp';

const LEZ = 'resources/sample-data/lez';
const CODES = ['Y3204040', 'Y3204030', 'Y3204010'];
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

const hourly = (gauges: string, over: Partial<AssembleSpecInput> = {}): AssembleSpecInput => ({
  name: 'lez-hourly',
  out: join(tmp.dir, `out-${Math.random().toString(36).slice(2)}`),
  step: 'hourly',
  start: '2012-10-01',
  end: '2012-10-02',
  crs: 'EPSG:2154',
  forcing: [
    { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') }, units: 'mm' },
    { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') }, units: 'mm' },
  ],
  flowdir: { path: join(LEZ, 'France_flwdir.tif') },
  gauges: { format: 'smash', path: gauges },
  ...over,
});

describe('smash (undated) discharge in an hourly assembly', () => {
  it('the Lez daily qobs (from 1958) read as hours end in 1961: the refusal gives each span and the rule', async () => {
    const spec = hourly(LEZ);
    const e = await assembleDataset(spec).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(FieldcalError);
    const err = e as FieldcalError;
    expect(err.code).toBe('INCONSISTENT_DATA');
    expect(err.details?.field).toBe('gauges.path');
    expect(err.message).toMatch(/no gauge has discharge in 2012-10-01 \.\. 2012-10-02/);
    // Y3204040.csv: first line 19580801, then one value per line; read hourly, the last is at
    // 1958-08-01 + (n - 1) hours
    const n =
      readFileSync(join(LEZ, 'qobs', 'Y3204040.csv'), 'utf8')
        .trim()
        .split(/\r?\n/).length - 1;
    const last = new Date(Date.UTC(1958, 7, 1) + (n - 1) * 3_600_000).toISOString().slice(0, 16);
    expect(last < '2012').toBe(true);
    expect(err.message).toContain(`Y3204040 1958-08-01 00:00 .. ${last.replace('T', ' ')} (hourly)`);
    expect(err.message).toMatch(
      /Y3204040, Y3204030, Y3204010: a smash qobs file has a start date only, its values are taken as hourly \(the model step\)/,
    );
    expect(existsSync(spec.out!)).toBe(false);
  }, 60_000);

  it('daily qobs that start inside the period are assembled as hours, with a warning naming the gauges', async () => {
    // a smash gauge folder whose qobs start on 2012-10-01 (the Lez values from that day on)
    const dir = join(tmp.dir, 'gauges');
    mkdirSync(join(dir, 'qobs'), { recursive: true });
    cpSync(join(LEZ, 'gauge_attributes.csv'), join(dir, 'gauge_attributes.csv'));
    const daily: Record<string, number[]> = {};
    for (const code of CODES) {
      const lines = readFileSync(join(LEZ, 'qobs', `${code}.csv`), 'utf8')
        .trim()
        .split(/\r?\n/);
      const s = lines[0]!;
      const from = Math.round(
        (Date.UTC(2012, 9, 1) - Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8))) / 86_400_000,
      );
      daily[code] = lines.slice(1 + from, 1 + from + 60).map(Number);
      writeFileSync(join(dir, 'qobs', `${code}.csv`), `20121001\n${daily[code]!.join('\n')}\n`);
    }
    const r = await assembleDataset(hourly(dir));
    expect(r.manifest.step).toBe('hourly');
    expect(r.warnings.join('\n')).toMatch(
      /gauges; Y3204040, Y3204030, Y3204010: a smash qobs file has a start date only, its values are taken as hourly/,
    );
    // what the warning says happened: hour h holds the file's value h (a day's value per hour)
    const got = readFileSync(join(r.path, 'qobs', 'Y3204040.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(got[0]).toBe('201210010000');
    const want = daily.Y3204040!.slice(0, 48);
    expect(got.slice(1, 49)).toHaveLength(48);
    got.slice(1, 49).forEach((v, h) => expect(Number(v), `hour ${h}`).toBeCloseTo(want[h]!, 9));
  }, 60_000);

  it('a daily assembly of the same files warns of nothing about the gauges', async () => {
    const r = await assembleDataset(hourly(LEZ, { step: 'daily' }));
    expect(r.warnings.filter((w) => w.startsWith('gauges'))).toEqual([]);
  }, 60_000);
});

describe('smash gauges with a declared step (gauges.step)', () => {
  /** A smash gauge folder whose qobs (daily Lez values) start on `from`, with `days` values. */
  const gaugeFolder = (name: string, from: Date, days: number, dated = false) => {
    const dir = join(tmp.dir, name);
    mkdirSync(join(dir, 'qobs'), { recursive: true });
    cpSync(join(LEZ, 'gauge_attributes.csv'), join(dir, 'gauge_attributes.csv'));
    const daily: Record<string, number[]> = {};
    for (const code of CODES) {
      const lines = readFileSync(join(LEZ, 'qobs', `${code}.csv`), 'utf8')
        .trim()
        .split(/\r?\n/);
      const k = Math.round((from.getTime() - Date.UTC(1958, 7, 1)) / 86_400_000);
      daily[code] = lines.slice(1 + k, 1 + k + days).map(Number);
      const body = dated
        ? daily[code]!.map(
            (v, d) => `${new Date(from.getTime() + d * 86_400_000).toISOString().slice(0, 10)},${v}`,
          )
        : [from.toISOString().slice(0, 10).replace(/-/g, ''), ...daily[code]!.map(String)];
      writeFileSync(join(dir, 'qobs', `${code}.csv`), `${body.join('\n')}\n`);
    }
    return { dir, daily };
  };
  const hours = (path: string) => readFileSync(path, 'utf8').trim().split('\n').slice(1).map(Number);

  it("step 'daily' in an hourly assembly: each hour holds its day's discharge, the span starts on the file's first day", async () => {
    // qobs from 2012-10-02 (Lez values, all present then), the assembly from 2012-10-01 to 2012-10-03
    const { dir, daily } = gaugeFolder('declared', new Date(Date.UTC(2012, 9, 2)), 30);
    for (const c of CODES) expect(daily[c]!.slice(0, 2).every((v) => v >= 0)).toBe(true);
    const r = await assembleDataset(
      hourly(dir, { end: '2012-10-03', gauges: { format: 'smash', path: dir, step: 'daily' } }),
    );
    expect(r.steps).toBe(72);
    // the "read as hours" warning is for undeclared steps only
    expect(r.warnings.filter((w) => w.startsWith('gauges'))).toEqual([]);
    const g = r.manifest.inputs.find((i) => i.role === 'gauges')!;
    expect(g.stepFrom).toBe('86400 s');
    expect(g.timeRule).toBe('disaggregate');
    for (const code of CODES) {
      const q = hours(join(r.path, 'qobs', `${code}.csv`));
      expect(q).toHaveLength(72);
      // 2012-10-01 is before the file: missing (-99) for its 24 hours; then a day's value per hour
      expect(q.slice(0, 24)).toEqual(Array(24).fill(-99));
      for (let h = 24; h < 72; h++)
        expect(q[h], `${code} hour ${h}`).toBe(daily[code]![Math.floor(h / 24) - 1]);
      // the span: first and last hour with discharge
      expect(q.findIndex((v) => v !== -99)).toBe(24);
      expect(q.findLastIndex((v) => v !== -99)).toBe(71);
    }
  }, 60_000);

  it("the Lez qobs (daily, from 1958) with step 'daily' assemble hourly over 2012-10-01 .. 02: hour = day", async () => {
    const r = await assembleDataset(hourly(LEZ, { gauges: { format: 'smash', path: LEZ, step: 'daily' } }));
    const lines = readFileSync(join(LEZ, 'qobs', 'Y3204010.csv'), 'utf8')
      .trim()
      .split(/\r?\n/);
    const k = Math.round((Date.UTC(2012, 9, 1) - Date.UTC(1958, 7, 1)) / 86_400_000);
    const want = [Number(lines[1 + k]), Number(lines[2 + k])];
    const q = hours(join(r.path, 'qobs', 'Y3204010.csv'));
    expect(q).toHaveLength(48);
    q.forEach((v, h) => expect(v, `hour ${h}`).toBe(want[Math.floor(h / 24)]));
  }, 60_000);

  it("a dated daily qobs file declared 'hourly' is refused, naming the file", async () => {
    const { dir } = gaugeFolder('dated', new Date(Date.UTC(2012, 9, 1)), 10, true);
    const e = await assembleDataset(
      hourly(dir, { gauges: { format: 'smash', path: dir, step: 'hourly' } }),
    ).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(FieldcalError);
    const err = e as FieldcalError;
    expect(err.details?.field).toBe('gauges.path');
    expect(err.message).toContain(join(dir, 'qobs', 'Y3204040.csv'));
    expect(err.message).toMatch(/is daily \(from its dates\)/);
  }, 60_000);
});

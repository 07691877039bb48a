// Issue 15, build point 1: lumped basin CSVs (columns mapped by the user, with units) saved as an
// assembled dataset of the project, in the form the lumped and basins runs read without a mapping.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import type { LumpedAssembleSpecInput } from '../../../../src-shared/types/assemble';
import {
  lumpedProblemFromFiles,
  parseRunConfig,
} from '../../../../src-main/services/calibration/lumped/config';
import { parameterVector, simulateLumped } from '../../../../src-main/services/calibration/lumped/problem';
import { sceUaLumped } from '../../../../src-main/services/calibration/methods/sce-ua/index';
import { sceUaLumpedOptions } from '../../../../src-main/services/calibration/methods/sce-ua/options';
import { assembleLumpedDataset } from '../../../../src-main/services/datasets/assemble/lumped';
import { readBasinFolder } from '../../../../src-main/services/datasets/basins';
import { readHypsometry } from '../../../../src-main/services/datasets/hypsometry';
import { readLumpedCsv } from '../../../../src-main/services/datasets/lumpedCsv';
import { lumpedSource } from '../../../../src-main/services/datasets/lumpedDataset';
import { nse } from '../../../../src-main/services/metrics/series';
import { tempDir } from '../../../helpers/tmp';

const FIX = join(__dirname, '../../../fixtures/camels-fr');
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());
const out = () => join(tmp.dir, `ds-${Math.random().toString(36).slice(2)}`);

/** A basin CSV in a foreign layout: `;`, day-first dates, P in 0.1 mm, Q in m³/s, T in K. */
const FOREIGN = [
  'Jour;Pluie;ETP;Debit;Tair',
  '30/12/2001;125;0.8;1.5;274.15',
  '31/12/2001;0;1.2;;272.65',
  '01/01/2002;40;0.5;0.25;280.15',
].join('\n');
const foreignBasin = (file: string) => ({
  path: file,
  code: 'B1',
  dateFormat: 'DD/MM/YYYY' as const,
  columns: {
    date: 'Jour',
    P: 'Pluie',
    PET: 'ETP',
    Q: 'Debit',
    T: 'Tair',
    units: { P: '0.1 mm' as const, PET: 'mm' as const, Q: 'm3/s' as const, T: 'K' as const },
    areaKm2: 43.2,
  },
});

describe('lumped assembly: values after conversion', () => {
  it('writes the hand-worked values (0.1 mm, m³/s over 43.2 km², K) and a manifest of the mapping', async () => {
    const f = join(tmp.dir, 'foreign.csv');
    writeFileSync(f, `${FOREIGN}\n`);
    const r = await assembleLumpedDataset({
      kind: 'lumped',
      name: 'one',
      out: out(),
      basins: [foreignBasin(f)],
    });
    // P: 125 · 0.1 = 12.5 mm; Q: 1.5 m³/s · 86 400 s / (43.2 km² · 10⁶ m²) · 10³ mm/m = 3 mm;
    // 0.25 m³/s = 0.5 mm; T: 274.15 K − 273.15 = 1 °C, 272.65 K = −0.5 °C, 280.15 K = 7 °C
    const s = await readLumpedCsv(join(r.path, 'B1.csv'));
    expect(s.dates.map((d) => d.toISOString().slice(0, 10))).toEqual([
      '2001-12-30',
      '2001-12-31',
      '2002-01-01',
    ]);
    expect(s.stepSeconds).toBe(86400);
    expect(Array.from(s.P)).toEqual([12.5, 0, 4]);
    expect(Array.from(s.E)).toEqual([0.8, 1.2, 0.5]);
    expect(s.Q[0]).toBeCloseTo(3, 12);
    expect(s.Q[1]).toBeNaN();
    expect(s.Q[2]).toBeCloseTo(0.5, 12);
    expect(s.T![0]).toBeCloseTo(1, 10);
    expect(s.T![1]).toBeCloseTo(-0.5, 10);
    expect(s.T![2]).toBeCloseTo(7, 10);
    const m = r.manifest;
    expect(m.format).toBe('fieldcal-lumped-dataset');
    expect(m.step).toBe('daily');
    const b = m.basins[0]!;
    expect(b).toMatchObject({ code: 'B1', file: 'B1.csv', source: f, rows: 3, qMissing: 1, areaKm2: 43.2 });
    expect(b.first).toBe('2001-12-30');
    expect(b.last).toBe('2002-01-01');
    const q = b.conversions.find((c) => c.role === 'Q')!;
    expect(q).toMatchObject({ column: 'Debit', unitsFrom: 'm3/s', unitsTo: 'mm', offset: 0 });
    expect(q.scale).toBeCloseTo(2, 12);
    expect(b.conversions.find((c) => c.role === 'T')).toMatchObject({
      column: 'Tair',
      unitsFrom: 'K',
      offset: -273.15,
    });
    expect(b.conversions.find((c) => c.role === 'P')).toMatchObject({ column: 'Pluie', scale: 0.1 });
    expect(r.warnings.join('\n')).toMatch(/basin B1: discharge missing on 1 of 3 rows/);
    // the manifest on disk is the one returned
    expect(JSON.parse(readFileSync(join(r.path, 'fieldcal-dataset.json'), 'utf8'))).toEqual(m);
    // a one-basin dataset's folder names its basin for a lumped run
    expect((await lumpedSource(r.path)).csv).toBe(join(r.path, 'B1.csv'));
  });

  it('two CAMELS-FR basins (Q in l/s over the area) make a folder the basins run reads, with areas and hypsometry', async () => {
    const basins = (['V123521001', 'X031001001'] as const).map((code) => ({
      path: join(FIX, `${code}.csv`),
      columns: {
        date: 'Date',
        P: 'Ptot',
        PET: 'Evap',
        Q: 'Qls',
        T: 'Temp',
        units: { Q: 'l/s' as const },
        // catchments.csv of ../shared/data/camels-fr-19
        areaKm2: code === 'V123521001' ? 25.3799991607666 : 2282.76000976562,
      },
      hypsometry: { path: join(FIX, 'hypsometry.csv'), basin: code },
    }));
    const r = await assembleLumpedDataset({ kind: 'lumped', name: 'two', out: out(), basins });
    expect(r.manifest.basins.map((b) => b.code)).toEqual(['V123521001', 'X031001001']);
    const set = await readBasinFolder(r.path);
    expect(set.basins.map((b) => b.code)).toEqual(['V123521001', 'X031001001']);
    for (const b of set.basins) {
      expect(b.area).toBe(b.code === 'V123521001' ? 25.3799991607666 : 2282.76000976562);
      expect(Array.from(b.hypsometry!)).toEqual(
        Array.from(await readHypsometry(join(FIX, 'hypsometry.csv'), b.code)),
      );
      // Qls over the area equals CAMELS-FR's own Qmmd to its 3 printed decimals (and the area's rounding)
      const mmd = await readLumpedCsv(join(FIX, `${b.code}.csv`), {
        date: 'Date',
        P: 'Ptot',
        PET: 'Evap',
        Q: 'Qmmd',
        units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
      });
      let n = 0;
      for (let t = 0; t < mmd.Q.length; t++) {
        if (!Number.isFinite(mmd.Q[t]!)) continue;
        n++;
        expect(Math.abs(b.series.Q[t]! - mmd.Q[t]!), `${b.code} row ${t + 2}`).toBeLessThan(
          0.0005 + 1e-4 * mmd.Q[t]!,
        );
      }
      expect(n).toBeGreaterThan(7000);
    }
    // a folder of two basins does not name one for a lumped run
    await expect(lumpedSource(r.path)).rejects.toThrow(/holds 2 basins \(V123521001, X031001001\); name one/);
  });
});

describe('lumped assembly: bad input names the file, the column and the row', () => {
  const refusal = async (csv: string, over: Record<string, unknown> = {}) => {
    const f = join(tmp.dir, `bad-${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(f, `${csv}\n`);
    const b = foreignBasin(f);
    const dest = out();
    const e = await assembleLumpedDataset({
      kind: 'lumped',
      name: 'bad',
      out: dest,
      basins: [{ ...b, ...over, columns: { ...b.columns, ...((over.columns as object) ?? {}) } }],
    } as LumpedAssembleSpecInput).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(FieldcalError);
    expect(existsSync(dest)).toBe(false);
    return { err: e as FieldcalError, f };
  };
  const lines = FOREIGN.split('\n');

  it('a missing column', async () => {
    const { err, f } = await refusal(FOREIGN.replace('Debit', 'Q_m3s'));
    expect(err.details).toMatchObject({ file: f, column: 'Debit', row: 1, field: 'basins[0].columns.Q' });
    expect(err.message).toContain(
      `${f}, row 1, column Debit: no such column in the header (Jour, Pluie, ETP, Q_m3s, Tair)`,
    );
  });

  it('an unparsable date', async () => {
    const { err, f } = await refusal([...lines.slice(0, 2), '31/13/2001;0;1.2;1;272.65'].join('\n'));
    expect(err.details).toMatchObject({ file: f, column: 'Jour', row: 3 });
    expect(err.message).toContain(
      `${f}, row 3, column Jour: "31/13/2001" is not a date in the format DD/MM/YYYY`,
    );
  });

  it('a negative discharge', async () => {
    const { err, f } = await refusal([...lines.slice(0, 3), '01/01/2002;40;0.5;-0.25;280.15'].join('\n'));
    expect(err.details).toMatchObject({ file: f, column: 'Debit', row: 4 });
    expect(err.message).toContain(`${f}, row 4, column Debit: discharge -0.25 is negative`);
  });

  it('a unit it does not know', async () => {
    const { err, f } = await refusal(FOREIGN, {
      columns: { units: { P: '0.1 mm', PET: 'mm', Q: 'cfs', T: 'K' } },
    });
    expect(err.details).toMatchObject({
      file: f,
      column: 'Debit',
      row: 1,
      field: 'basins[0].columns.units.Q',
    });
    expect(err.message).toMatch(
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, row 1, column Debit: .*m3/s`),
    );
  });

  it('a duplicated date', async () => {
    const { err, f } = await refusal([...lines, '01/01/2002;1;0.5;0.3;280'].join('\n'));
    expect(err.details).toMatchObject({ file: f, column: 'Jour', row: 5 });
    expect(err.message).toContain(
      `${f}, row 5, column Jour: 01/01/2002 is the date of row 4 again (duplicated date)`,
    );
  });

  it('a gap in the dates, and m³/s without the area', async () => {
    let { err, f } = await refusal([...lines.slice(0, 3), '02/01/2002;1;1;1;280'].join('\n'));
    expect(err.details).toMatchObject({ file: f, column: 'Jour', row: 4 });
    expect(err.message).toContain(
      `${f}, row 4, column Jour: 02/01/2002 is 172800 s after the previous row, the series' step is 86400 s`,
    );
    ({ err, f } = await refusal(FOREIGN, { columns: { areaKm2: undefined } }));
    expect(err.details).toMatchObject({
      file: f,
      column: 'Debit',
      row: 1,
      field: 'basins[0].columns.areaKm2',
    });
    expect(err.message).toMatch(/need the basin area/);
  });
});

describe('lumped GR4J on the assembled dataset', () => {
  it('V123521001 (CAMELS-FR): SCE-UA on the dataset gives the NSE of the direct CSV path, to the last bit', async () => {
    const csv = join(FIX, 'V123521001.csv');
    const columns = { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' };
    const r = await assembleLumpedDataset({
      kind: 'lumped',
      name: 'ire',
      out: out(),
      basins: [{ path: csv, columns }],
    });
    const period = { warmupStart: '2000-01-01', start: '2001-01-01', end: '2003-12-31' };
    const run = async (dataset: string, cfgInput: Record<string, unknown>) => {
      const cfg = parseRunConfig({ method: 'sce-ua', period, ...cfgInput });
      const pr = await lumpedProblemFromFiles(dataset, cfg);
      const res = sceUaLumped(pr, sceUaLumpedOptions.parse({ restarts: 1 }), cfg.seed, {
        cancelled: () => false,
        progress: () => {},
      } as never);
      return {
        pr,
        nse: nse(pr.obs, simulateLumped(pr, parameterVector(pr, res.parameters)).subarray(pr.warmup)).value,
      };
    };
    const direct = await run(csv, { columns });
    // the dataset's folder, with no column mapping
    const assembled = await run(r.path, {});
    expect(Array.from(assembled.pr.P)).toEqual(Array.from(direct.pr.P));
    expect(Array.from(assembled.pr.obs)).toEqual(Array.from(direct.pr.obs));
    expect(direct.nse).toBeGreaterThan(0.5);
    expect(assembled.nse).toBe(direct.nse);
    // a mapping that would convert the dataset's mm again is refused, naming the unit's field
    const twice = parseRunConfig({
      method: 'sce-ua',
      period,
      columns: { date: 'date', P: 'P', PET: 'E', Q: 'Qmm', units: { Q: 'l/s' }, areaKm2: 25.38 },
    });
    await expect(lumpedProblemFromFiles(r.path, twice)).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { field: 'columns.units.Q' },
    });
  }, 60_000);
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHypsometry } from '../../../../src-main/services/datasets/hypsometry';
import { readLumpedCsv } from '../../../../src-main/services/datasets/lumpedCsv';
import { tempDir } from '../../../helpers/tmp';

const FIX = join(__dirname, '../../../fixtures/camels-fr');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('lumped CSV column mapping and hypsometry', () => {
  it("reads CAMELS-FR's own column names, and Q in l/s over the area equals its Qmmd", async () => {
    const file = join(FIX, 'X031001001.csv');
    const mm = await readLumpedCsv(file, {
      date: 'Date',
      P: 'Ptot',
      PET: 'Evap',
      Q: 'Qmmd',
      T: 'Temp',
      units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
    });
    expect(mm.dates[0]!.toISOString().slice(0, 10)).toBe('1999-01-01');
    expect(mm.stepSeconds).toBe(86400);
    expect(mm.T).toBeDefined();
    const ls = await readLumpedCsv(file, {
      date: 'Date',
      P: 'Ptot',
      PET: 'Evap',
      Q: 'Qls',
      T: 'Temp',
      units: { P: 'mm', PET: 'mm', Q: 'l/s', T: 'K' },
      areaKm2: 2282.8,
    });
    // Qmmd = Qls · 86400 / (A · 10⁹) · 10³ (PROVENANCE: converted with the catchment area)
    let worst = 0;
    for (let t = 0; t < mm.Q.length; t++)
      if (Number.isFinite(mm.Q[t]!))
        worst = Math.max(worst, Math.abs(ls.Q[t]! - mm.Q[t]!) / Math.max(0.1, mm.Q[t]!));
    expect(worst).toBeLessThan(0.01);
    // declared in kelvin: 273.15 is taken off
    expect(ls.T![0]! - mm.T![0]!).toBeCloseTo(-273.15, 9);
  });

  it('errors name the file, the line and the column', async () => {
    const f = join(tmp.dir, 'bad.csv');
    writeFileSync(f, 'Date,Ptot,Temp,Evap,Qmmd\n2000-01-01,1,2,0.5,1\n2000-01-02,x,2,0.5,1\n');
    const cols = { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' };
    await expect(readLumpedCsv(f, cols as never)).rejects.toThrow(
      /bad\.csv, line 3, column Ptot: P "x" is not a number/,
    );
    await expect(readLumpedCsv(f, { ...cols, Q: 'Qls' } as never)).rejects.toThrow(
      /bad\.csv: column "Qls" \(Q\)/,
    );
    writeFileSync(f, 'Date,Ptot,Temp,Evap,Qmmd\n2000-01-01,1,,0.5,1\n');
    await expect(readLumpedCsv(f, cols as never)).rejects.toThrow(/line 2, column Temp: T is missing/);
    writeFileSync(f, 'Date,Ptot,Temp,Evap,Qls\n2000-01-01,1,1,0.5,1\n');
    await expect(
      readLumpedCsv(f, { ...cols, Q: 'Qls', units: { P: 'mm', PET: 'mm', Q: 'l/s', T: '°C' } } as never),
    ).rejects.toThrow(/bad\.csv, column Qls: Q: units "l\/s" need the basin area/);
  });

  it('reads a basin row of a hypsometry table, or a one-column file, and refuses a broken curve', async () => {
    const h = await readHypsometry(join(FIX, 'hypsometry.csv'), 'X031001001');
    expect(h).toHaveLength(101);
    expect(h[0]).toBe(784);
    const one = join(tmp.dir, 'h.csv');
    writeFileSync(one, `elevation\n${Array.from(h).join('\n')}\n`);
    expect(Array.from(await readHypsometry(one))).toEqual(Array.from(h));
    await expect(readHypsometry(join(FIX, 'hypsometry.csv'), 'Z999')).rejects.toThrow(
      /no column for basin Z999/,
    );
    writeFileSync(one, Array.from(h.subarray(0, 50)).join('\n'));
    await expect(readHypsometry(one)).rejects.toThrow(/expected 101 elevation quantiles/);
    const dec = Array.from(h);
    dec[40] = 10;
    writeFileSync(one, dec.join('\n'));
    await expect(readHypsometry(one)).rejects.toThrow(/line 41, column 1: 10 is below the previous quantile/);
  });
});

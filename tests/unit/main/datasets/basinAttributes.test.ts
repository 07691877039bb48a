import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deriveAttributes,
  fitSine,
  hypsometryStats,
  runStats,
} from '../../../../src-main/services/datasets/basins/attributes';
import { readBasinFolder } from '../../../../src-main/services/datasets/basins';

const days = (n: number, from = '2000-01-01') =>
  Array.from({ length: n }, (_, i) => new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000));

describe('derived basin attributes (Addor et al. 2017 conventions), hand-computed', () => {
  // 12 days: mean P = 63.5 / 12; high days (≥ 5 × mean = 26.46): days 2-3; dry days (< 1 mm): 0-1, 4, 6, 8-11
  const P = [0, 0.5, 30, 30, 0, 2, 0, 1, 0, 0, 0, 0];
  const T = [-2, -1, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const E = P.map(() => 2);
  const a = deriveAttributes({ dates: days(12), P, E, T, area: 12.5, outlet: { lon: 6, lat: 45 } });

  it('climate indices', () => {
    expect(a.p_mean.value).toBeCloseTo(63.5 / 12, 12);
    expect(a.pet_mean.value).toBe(2);
    expect(a.aridity.value).toBeCloseTo(2 / (63.5 / 12), 12);
    expect(a.frac_snow.value).toBeCloseTo(0.5 / 63.5, 12);
    expect(a.high_prec_freq.value).toBeCloseTo((2 / 12) * 365.25, 12);
    expect(a.high_prec_dur.value).toBe(2);
    expect(a.low_prec_freq.value).toBeCloseTo((8 / 12) * 365.25, 12);
    expect(a.low_prec_dur.value).toBe(2); // 4 dry spells: {0,1}, {4}, {6}, {8..11}
    expect(a.area).toEqual({ value: 12.5, source: 'catchments table' });
    expect(a.outlet_lat.value).toBe(45);
  });

  it('missing inputs give null with the reason, and a missing day breaks a run', () => {
    const b = deriveAttributes({ dates: days(12), P, E });
    expect(b.frac_snow).toEqual({ value: null, reason: 'no temperature column' });
    expect(b.p_seasonality).toEqual({ value: null, reason: 'no temperature column' });
    expect(b.elev_mean).toEqual({ value: null, reason: 'no hypsometry for this basin' });
    expect(b.area.value).toBeNull();
    const q = [...P];
    q[9] = Number.NaN; // splits the last dry spell in two: 5 spells over 7 dry days of 11 valid
    const r = runStats(q, (v) => v < 1);
    expect(r.freq).toBeCloseTo((7 / 11) * 365.25, 12);
    expect(r.dur).toBeCloseTo(7 / 5, 12);
  });

  it('seasonality: δp cos(2π(sp − sT)/τ) of fitted sines, in phase = +δp, opposite = −δp', () => {
    const d = days(4 * 365);
    const t = d.map((x) => x.getTime() / 86_400_000);
    const w = (2 * Math.PI) / 365.25;
    const Ps = t.map((x) => 3 * (1 + 0.5 * Math.sin(w * (x - 100))));
    const f = fitSine(t, Ps);
    expect(f.mean).toBeCloseTo(3, 10);
    expect(f.amp).toBeCloseTo(1.5, 10);
    const Tin = t.map((x) => 10 + 8 * Math.sin(w * (x - 100)));
    const Tout = t.map((x) => 10 + 8 * Math.sin(w * (x - 100 - 365.25 / 2)));
    const Es = Ps.map(() => 1);
    expect(deriveAttributes({ dates: d, P: Ps, E: Es, T: Tin }).p_seasonality.value).toBeCloseTo(0.5, 8);
    expect(deriveAttributes({ dates: d, P: Ps, E: Es, T: Tout }).p_seasonality.value).toBeCloseTo(-0.5, 8);
  });

  it('hypsometry: trapezoid mean of the quantile curve and range', () => {
    const lin = Array.from({ length: 101 }, (_, i) => 100 + i);
    expect(hypsometryStats(lin)).toEqual({ mean: 150, range: 100 });
    // h_i = i²: (Σ_{0..99} i² + Σ_{1..100} i²) / 200 = (328350 + 338350) / 200
    const sq = Array.from({ length: 101 }, (_, i) => i * i);
    expect(hypsometryStats(sq).mean).toBeCloseTo(3333.5, 9);
  });
});

describe('readBasinFolder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'basins-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a folder of CAMELS-FR-like CSVs, catchments, hypsometry and an attribute table with gaps', async () => {
    mkdirSync(join(dir, 'ts'));
    const rows = (p: number[]) =>
      ['"Date","Ptot","Temp","Evap","Qls","Qmmd"']
        .concat(
          p.map(
            (v, i) => `"${days(p.length)[i]!.toISOString().slice(0, 10)}",${v},5,1,10,${i === 1 ? '' : 0.5}`,
          ),
        )
        .join('\n');
    writeFileSync(join(dir, 'ts', 'AAA.csv'), rows([2, 0, 4, 0]));
    writeFileSync(join(dir, 'ts', 'BBB.csv'), rows([1, 1, 1, 1]));
    writeFileSync(join(dir, 'catchments.csv'), 'code_h3,name,lon,lat,area_km2\nAAA,x,6.5,45.1,100\n');
    writeFileSync(
      join(dir, 'hypsometry.csv'),
      ['quantile,AAA,BBB', ...Array.from({ length: 101 }, (_, i) => `${i},${200 + i},${i * i}`)].join('\n'),
    );
    const attr = join(dir, 'attrs.csv');
    writeFileSync(attr, 'gauge_id,soil_depth,geol,p_mean\nAAA,1.5,granite,NA\nBBB,,schist,9\n');
    const s = await readBasinFolder(dir, { attributes: attr });
    expect(s.basins.map((b) => b.code)).toEqual(['AAA', 'BBB']);
    const col = (n: string) => s.attributes.values.map((v) => v[s.attributes.names.indexOf(n)]);
    expect(col('p_mean')).toEqual([
      { value: 1.5, source: 'derived' }, // NA in the table keeps the derived value
      { value: 9, source: attr },
    ]);
    expect(col('soil_depth')).toEqual([
      { value: 1.5, source: attr },
      { value: null, reason: `missing in ${attr}` },
    ]);
    expect(s.attributes.names).not.toContain('geol');
    expect(col('elev_mean')[0]!.value).toBe(250);
    expect(col('elev_mean')[1]!.value).toBeCloseTo(3333.5, 9);
    expect(col('area')[1]).toEqual({ value: null, reason: 'area not known' });
    expect(col('outlet_lon')[0]!.value).toBe(6.5);
    expect(Number.isNaN(s.basins[0]!.series.Q[1]!)).toBe(true);
  });

  it('refuses a folder with fewer than two basins, naming it', async () => {
    const one = mkdtempSync(join(tmpdir(), 'basins1-'));
    writeFileSync(join(one, 'A.csv'), 'date,P,E,Q\n2000-01-01,1,1,1\n');
    await expect(readBasinFolder(one)).rejects.toMatchObject({ code: 'VALIDATION', details: { path: one } });
    rmSync(one, { recursive: true, force: true });
  });
});

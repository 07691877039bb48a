import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  cc,
  eofScores,
  fssPercentile,
  kge,
  nse,
  pbias,
  rmse,
  ssim,
} from '../../../../src-main/services/metrics';

interface Vectors {
  series: Array<Record<string, number | null> & { obs: Array<number | null>; sim: Array<number | null> }>;
  fields: Array<{
    shape: [number, number];
    obs: number[];
    sim: number[];
    ssim: { data_range: number; sigma: number; win_size: number; value: number };
    fss: Array<{ percentile: number; scale: number; fss: number }>;
  }>;
  eof: Array<{ T: number; n: number; obs: number[]; sim: number[]; score_per_step: number[] }>;
}
const V = JSON.parse(readFileSync('tests/fixtures/metrics/reference-vectors.json', 'utf8')) as Vectors;
const arr = (a: Array<number | null>) => a.map((x) => x ?? Number.NaN);

/** 1e-9 relative; values that are rounding noise around zero (e.g. pbias 2.9e-14) compare absolutely. */
function expectClose(got: number, want: number | null, label: string) {
  if (want === null) {
    expect(got, label).toBeNaN();
    return;
  }
  expect(Math.abs(got - want), `${label}: ${got} vs ${want}`).toBeLessThanOrEqual(
    1e-9 * Math.max(Math.abs(got), Math.abs(want)) + 1e-12,
  );
}

describe('metrics reproduce the reference vectors (hydroeval, pysteps, scikit-image)', () => {
  it.each(V.series.map((s, i) => [i, s] as const))(
    'series %i: NSE, KGE 2009 (r, α, β), KGE 2012, RMSE, PBIAS, CC',
    (_, s) => {
      const o = arr(s.obs);
      const m = arr(s.sim);
      const k = kge(o, m);
      expectClose(nse(o, m).value, s.nse as number, 'nse');
      expectClose(k.value, s.kge2009 as number | null, 'kge2009');
      expectClose(k.r, s.kge_r as number | null, 'kge_r');
      expectClose(k.alpha, s.kge_alpha as number, 'kge_alpha');
      expectClose(k.beta, s.kge_beta as number, 'kge_beta');
      expectClose(kge(o, m, 2012).value, s.kge2012 as number | null, 'kge2012');
      expectClose(rmse(o, m).value, s.rmse as number, 'rmse');
      expectClose(pbias(o, m).value, s.pbias as number, 'pbias');
      expectClose(cc(o, m).value, s.cc as number | null, 'cc');
    },
  );

  it('null cases are NaN with a stated reason', () => {
    const nullCase = V.series.find((s) => s.cc === null)!;
    const r = cc(arr(nullCase.obs), arr(nullCase.sim));
    expect(r.value).toBeNaN();
    expect(r.reason).toBe('correlation with a constant simulated series');
    expect(kge(arr(nullCase.obs), arr(nullCase.sim)).reason).toContain('constant');
    expect(nse([1, 1, 1], [1, 2, 3])).toMatchObject({ reason: 'observations are constant' });
    expect(nse([NaN, NaN], [1, 2]).reason).toBe('no pairs with both values present');
  });

  it.each(V.fields.map((f, i) => [i, f] as const))(
    'field %i: SSIM (Gaussian, σ 1.5) and FSS at percentile thresholds',
    (_, f) => {
      const [rows, cols] = f.shape;
      expectClose(
        ssim(f.obs, f.sim, rows, cols, {
          dataRange: f.ssim.data_range,
          sigma: f.ssim.sigma,
          winSize: f.ssim.win_size,
        }),
        f.ssim.value,
        'ssim',
      );
      for (const q of f.fss)
        expectClose(
          fssPercentile(f.obs, f.sim, rows, cols, q.percentile, q.scale),
          q.fss,
          `fss p${q.percentile} s${q.scale}`,
        );
    },
  );

  it.each(V.eof.map((e, i) => [i, e] as const))('joint-EOF scores per step, case %i', (_, e) => {
    const s = eofScores(e.obs, e.sim, e.T, e.n);
    e.score_per_step.forEach((want, t) => expectClose(s[t]!, want, `eof t=${t}`));
  });
});

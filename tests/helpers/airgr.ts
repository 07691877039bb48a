import { readFileSync } from 'node:fs';

/** The airGR L0123001 BasinObs table (dates as YYYY-MM-DD, NA as NaN). */
export function readBasinObs(path = 'tests/fixtures/airgr-L0123001/L0123001_BasinObs.csv') {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/).slice(1);
  const n = lines.length;
  const out = {
    dates: new Array<string>(n),
    P: new Float64Array(n),
    T: new Float64Array(n),
    E: new Float64Array(n),
    Qmm: new Float64Array(n),
  };
  lines.forEach((l, i) => {
    const f = l.split(',');
    out.dates[i] = f[0]!.replace(/"/g, '').slice(0, 10);
    const num = (s: string | undefined) =>
      s === undefined || s === '' || s === 'NA' ? Number.NaN : Number(s);
    out.P[i] = num(f[1]);
    out.T[i] = num(f[2]);
    out.E[i] = num(f[3]);
    out.Qmm[i] = num(f[5]);
  });
  return out;
}

/** airGR's reference set-up on L0123001: run 1990-01-01 .. 1999-12-31 after a 1989 warm-up. */
export function airgrReferencePeriod() {
  const d = readBasinObs();
  const i0 = d.dates.indexOf('1989-01-01');
  const i1 = d.dates.indexOf('1990-01-01');
  const i2 = d.dates.indexOf('1999-12-31');
  return {
    P: d.P.subarray(i0, i2 + 1),
    E: d.E.subarray(i0, i2 + 1),
    /** Observed Qmm over the run period (after the warm-up). */
    obs: d.Qmm.subarray(i1, i2 + 1),
    warmup: i1 - i0,
  };
}

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

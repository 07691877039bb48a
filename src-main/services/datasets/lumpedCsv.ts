import { FieldcalError } from '../../../src-shared/ipc';
import { readTextFile } from '../common/safeFile';
import { parseDate } from '../grid/gauges';

/** A lumped basin series: dates and P, PET, Q in mm per step (NaN = missing). */
export interface LumpedSeries {
  dates: Date[];
  P: Float64Array;
  E: Float64Array;
  Q: Float64Array;
}

const pick = (header: string[], names: string[]) => header.findIndex((h) => names.includes(h.toLowerCase()));

/**
 * Reads a lumped basin CSV like airGR's BasinObs: a date column and P, PET (E) and discharge (Qmm)
 * columns in mm per step. Missing values are empty or NA; P and E must be complete.
 */
export async function readLumpedCsv(path: string): Promise<LumpedSeries> {
  const text = await readTextFile(path);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const sep = [',', ';', '\t'].find((s) => lines[0]?.includes(s)) ?? ',';
  const header = (lines[0] ?? '').split(sep).map((h) => h.trim().replace(/^"|"$/g, ''));
  const cd = pick(header, ['datesr', 'date', 'dates', 'time']);
  const cp = pick(header, ['p', 'precip', 'prcp', 'rain']);
  const ce = pick(header, ['e', 'pet', 'etp', 'ep']);
  const cq = pick(header, ['qmm', 'q_mm', 'q']);
  for (const [col, name] of [
    [cd, 'date'],
    [cp, 'P'],
    [ce, 'E (PET)'],
    [cq, 'Qmm'],
  ] as const) {
    if (col < 0)
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}: no ${name} column in the header (${header.join(', ')})`,
        { file: path, field: name },
      );
  }
  const n = lines.length - 1;
  const out: LumpedSeries = {
    dates: [],
    P: new Float64Array(n),
    E: new Float64Array(n),
    Q: new Float64Array(n),
  };
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.split(sep).map((v) => v.trim().replace(/^"|"$/g, ''));
    const d = parseDate((f[cd] ?? '').slice(0, 19).replace(/ 00:00:00$/, ''));
    if (!d)
      throw new FieldcalError('INVALID_FILE', `${path}, line ${i + 1}: "${f[cd]}" is not a date`, {
        file: path,
        line: i + 1,
      });
    const num = (v: string | undefined, field: string, required: boolean) => {
      if (v === undefined || v === '' || v === 'NA') {
        if (required)
          throw new FieldcalError('INVALID_FILE', `${path}, line ${i + 1}: ${field} is missing`, {
            file: path,
            line: i + 1,
            field,
          });
        return Number.NaN;
      }
      const x = Number(v);
      if (!Number.isFinite(x))
        throw new FieldcalError('INVALID_FILE', `${path}, line ${i + 1}: ${field} "${v}" is not a number`, {
          file: path,
          line: i + 1,
          field,
        });
      return x;
    };
    out.dates.push(d);
    out.P[i - 1] = num(f[cp], 'P', true);
    out.E[i - 1] = num(f[ce], 'E', true);
    out.Q[i - 1] = num(f[cq], 'Qmm', false);
  }
  return out;
}

import { FieldcalError } from '../../../src-shared/ipc';
import { lumpedColumnsSchema, type LumpedColumns } from '../../../src-shared/types/assemble';
import { readTextFile } from '../common/safeFile';
import { parseDate } from '../grid/gauges';
import { applyConversion, conversionTo, type Conversion, type Quantity } from './units';

/** A lumped basin series: dates and P, PET, Q in mm per step (NaN = missing), T in °C when read. */
export interface LumpedSeries {
  dates: Date[];
  P: Float64Array;
  E: Float64Array;
  Q: Float64Array;
  /** Mean air temperature (°C), complete; present when the file has (or the mapping names) a T column. */
  T?: Float64Array;
  /** Seconds per step, from the first two dates (86 400 for a single row). */
  stepSeconds: number;
}

const pick = (header: string[], names: string[]) => header.findIndex((h) => names.includes(h.toLowerCase()));
const unquote = (v: string) => v.trim().replace(/^"|"$/g, '');
/** A missing value in a basin CSV (empty, NA, NaN, null: R's, pandas' and SQL's spellings), for the run reader and the assembler alike. */
export const MISSING_VALUE = /^(|na|nan|null)$/i;

/** Splits a CSV line on `sep`, honouring double quotes (no separator inside a quoted field is split). */
export function splitLine(line: string, sep: string): string[] {
  if (!line.includes('"')) return line.split(sep).map(unquote);
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (const ch of line) {
    if (ch === '"') q = !q;
    else if (ch === sep && !q) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/**
 * Reads a lumped basin CSV like airGR's BasinObs: a date column and P, PET (E), discharge (Qmm) and
 * optionally temperature (T) columns. Without `columns`, headers are recognised by their usual names
 * and values taken as mm per step and °C. With `columns` (the user's mapping, e.g. CAMELS-FR's
 * `{date:'Date', P:'Ptot', PET:'Evap', Q:'Qmmd', T:'Temp'}`), the named columns are read and
 * converted from their declared units to mm per step and °C (units.ts). Missing values are empty or
 * NA; P, E and T must be complete. Errors name the file, line and column.
 */
export async function readLumpedCsv(path: string, columns?: LumpedColumns): Promise<LumpedSeries> {
  const cols = columns ? parseColumns(columns, path) : undefined;
  const text = await readTextFile(path);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const sep = [',', ';', '\t'].find((s) => lines[0]?.includes(s)) ?? ',';
  const header = splitLine(lines[0] ?? '', sep);
  const named = (name: string | undefined, role: string): number => {
    if (name === undefined) return -1;
    let k = header.indexOf(name);
    if (k < 0) k = header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
    if (k < 0)
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}: column "${name}" (${role}) is not in the header (${header.join(', ')})`,
        { file: path, field: role, column: name },
      );
    return k;
  };
  const cd = cols ? named(cols.date, 'date') : pick(header, ['datesr', 'date', 'dates', 'time']);
  const cp = cols ? named(cols.P, 'P') : pick(header, ['p', 'precip', 'prcp', 'rain']);
  const ce = cols ? named(cols.PET, 'PET') : pick(header, ['e', 'pet', 'etp', 'ep']);
  const cq = cols ? named(cols.Q, 'Q') : pick(header, ['qmm', 'q_mm', 'q']);
  const ct = cols ? named(cols.T, 'T') : pick(header, ['t', 'temp', 'tmean', 'temperature']);
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
    stepSeconds: 86400,
  };
  const T = ct >= 0 ? new Float64Array(n) : undefined;
  for (let i = 1; i < lines.length; i++) {
    const f = splitLine(lines[i]!, sep);
    const d = parseDate((f[cd] ?? '').slice(0, 19).replace(/[ T]00:00:00$/, ''));
    if (!d)
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}, line ${i + 1}, column ${header[cd]}: "${f[cd]}" is not a date`,
        { file: path, line: i + 1, column: header[cd] },
      );
    if (out.dates.length > 0 && d.getTime() <= out.dates.at(-1)!.getTime())
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}, line ${i + 1}, column ${header[cd]}: ${f[cd]} does not follow the previous date`,
        { file: path, line: i + 1, column: header[cd] },
      );
    const num = (k: number, field: string, required: boolean) => {
      const v = f[k];
      if (v === undefined || MISSING_VALUE.test(v)) {
        if (required)
          throw new FieldcalError(
            'INVALID_FILE',
            `${path}, line ${i + 1}, column ${header[k]}: ${field} is missing`,
            { file: path, line: i + 1, field, column: header[k] },
          );
        return Number.NaN;
      }
      const x = Number(v);
      if (!Number.isFinite(x))
        throw new FieldcalError(
          'INVALID_FILE',
          `${path}, line ${i + 1}, column ${header[k]}: ${field} "${v}" is not a number`,
          { file: path, line: i + 1, field, column: header[k] },
        );
      return x;
    };
    out.dates.push(d);
    out.P[i - 1] = num(cp, 'P', true);
    out.E[i - 1] = num(ce, 'E', true);
    out.Q[i - 1] = num(cq, 'Qmm', false);
    if (T) T[i - 1] = num(ct, 'T', true);
  }
  if (out.dates.length > 1) out.stepSeconds = (out.dates[1]!.getTime() - out.dates[0]!.getTime()) / 1000;
  if (cols) {
    const conv = (q: Quantity, unit: string, role: string, column: string): Conversion => {
      try {
        return conversionTo(q, unit, { stepSeconds: out.stepSeconds, areaKm2: cols.areaKm2, field: role });
      } catch (e) {
        const m = e instanceof Error ? e.message : String(e);
        throw new FieldcalError('VALIDATION', `${path}, column ${column}: ${m}`, {
          file: path,
          field: role,
          column,
        });
      }
    };
    applyConversion(out.P, conv('flux', cols.units.P, 'P', cols.P));
    applyConversion(out.E, conv('flux', cols.units.PET, 'PET', cols.PET));
    applyConversion(out.Q, conv('discharge', cols.units.Q, 'Q', cols.Q));
    if (T) applyConversion(T, conv('temperature', cols.units.T, 'T', cols.T!));
  }
  if (T) out.T = T;
  return out;
}

/** Validates a column mapping (defaults filled), naming the file it is for. */
function parseColumns(columns: LumpedColumns, path: string): LumpedColumns {
  const r = lumpedColumnsSchema.safeParse(columns);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const field = i.path.map(String).join('.');
  throw new FieldcalError('VALIDATION', `column mapping for ${path}: ${field}: ${i.message}`, {
    file: path,
    field: `columns.${field}`,
  });
}

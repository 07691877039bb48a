import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import type { LumpedColumns } from '../../../../src-shared/types/assemble';
import { readTextFile } from '../../common/safeFile';
import { readLumpedCsv, type LumpedSeries } from '../lumpedCsv';
import { DERIVED_ATTRIBUTES, DERIVED_NAMES, deriveAttributes, type AttributeValue } from './attributes';

export { DERIVED_ATTRIBUTES, DERIVED_NAMES, deriveAttributes, type AttributeValue } from './attributes';

/** One basin of a multi-basin dataset. */
export interface Basin {
  code: string;
  file: string;
  series: LumpedSeries;
  hypsometry?: Float64Array;
  area?: number;
  outlet?: { lon: number; lat: number };
}

/** A folder of basin CSVs with their static attributes ([basin][attribute], null values with a reason). */
export interface BasinSet {
  dir: string;
  basins: Basin[];
  attributes: { names: string[]; units: Record<string, string>; values: AttributeValue[][] };
}

export interface BasinFolderOptions {
  /** The CSVs' column mapping (absent: CAMELS-FR's headers are recognised, else the usual names). */
  columns?: LumpedColumns;
  /** A CSV with one row per basin (a code column, then numeric attributes); overrides derived values. */
  attributes?: string;
  /** Period over which the climate attributes are derived (inclusive ISO dates; default the whole series). */
  period?: { start: string; end: string };
}

/** CAMELS-FR's (airGRdatasets) column names, recognised when no mapping is given. */
export const CAMELS_FR_COLUMNS: LumpedColumns = {
  date: 'Date',
  P: 'Ptot',
  PET: 'Evap',
  Q: 'Qmmd',
  T: 'Temp',
  units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
};
/** Tables of a basin folder that are not basin series. */
const TABLES = ['catchments.csv', 'hypsometry.csv', 'attributes.csv'];
const ID_COLUMNS = ['basin', 'code', 'code_h3', 'gauge_id', 'id', 'station'];

const unquote = (v: string) => v.trim().replace(/^"|"$/g, '');
/** A small CSV table: header and rows, the separator guessed from the header. */
async function readTable(path: string): Promise<{ header: string[]; rows: string[][] }> {
  const lines = (await readTextFile(path)).split(/\r?\n/).filter((l) => l.trim() !== '');
  const sep = [',', ';', '\t'].find((s) => lines[0]?.includes(s)) ?? ',';
  const split = (l: string) => l.split(sep).map(unquote);
  if (!lines.length) throw new FieldcalError('INVALID_FILE', `${path}: empty table`, { file: path });
  return { header: split(lines[0]!), rows: lines.slice(1).map(split) };
}
const idColumn = (header: string[]) => {
  const k = header.findIndex((h) => ID_COLUMNS.includes(h.toLowerCase()));
  return k < 0 ? 0 : k;
};
const isMissing = (v: string | undefined) => v === undefined || /^(|na|nan|null|-)$/i.test(v.trim());

/** The basin CSVs of a folder: `ts/*.csv` when there is a ts/ folder (CAMELS-FR layout), else `*.csv` less the tables. */
async function basinFiles(dir: string, exclude: string[]): Promise<string[]> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory())
    throw new FieldcalError('VALIDATION', `${dir} is not a folder of basin CSVs`, {
      field: 'basins',
      path: dir,
    });
  const ts = join(dir, 'ts');
  const sub = (await stat(ts).catch(() => null))?.isDirectory();
  const from = sub ? ts : dir;
  const files = (await readdir(from))
    .filter((f) => f.toLowerCase().endsWith('.csv') && !TABLES.includes(f.toLowerCase()))
    .map((f) => join(from, f))
    .filter((f) => !exclude.includes(f))
    .sort();
  if (files.length < 2)
    throw new FieldcalError(
      'VALIDATION',
      `${from}: ${files.length} basin CSV(s); a multi-basin dataset needs at least 2`,
      {
        field: 'basins',
        path: from,
      },
    );
  return files;
}

/**
 * Reads a multi-basin lumped dataset: a folder of basin CSVs (airGR BasinObs-like, lumpedCsv.ts),
 * with, when present, `catchments.csv` (code, area_km2, lon, lat of the outlet) and
 * `hypsometry.csv` (101 elevation quantiles per basin column), plus an optional attribute table
 * (one row per basin). Derived attributes follow Addor et al. (2017) (attributes.ts); the table's
 * numeric columns are added, and override a derived value of the same name where they hold one.
 * Missing values are null with a reason. Errors name the file and what is wrong.
 */
export async function readBasinFolder(dir: string, o: BasinFolderOptions = {}): Promise<BasinSet> {
  const files = await basinFiles(dir, o.attributes ? [o.attributes] : []);
  let columns = o.columns;
  if (!columns) {
    const head = (await readTextFile(files[0]!)).split(/\r?\n/, 1)[0] ?? '';
    const h = head.split(/[,;\t]/).map(unquote);
    if (h.includes('Ptot') && h.includes('Qmmd')) columns = CAMELS_FR_COLUMNS;
  }
  // catchments.csv: area and outlet
  const meta = new Map<string, { area?: number; outlet?: { lon: number; lat: number } }>();
  const cat = join(dir, 'catchments.csv');
  if ((await stat(cat).catch(() => null))?.isFile()) {
    const t = await readTable(cat);
    const id = idColumn(t.header);
    const col = (names: string[]) => t.header.findIndex((h) => names.includes(h.toLowerCase()));
    const ca = col(['area_km2', 'area']);
    const cx = col(['lon', 'longitude', 'x_outlet']);
    const cy = col(['lat', 'latitude', 'y_outlet']);
    for (const r of t.rows) {
      const num = (k: number) => (k >= 0 && !isMissing(r[k]) ? Number(r[k]) : Number.NaN);
      const a = num(ca);
      const lon = num(cx);
      const lat = num(cy);
      meta.set(r[id]!, {
        ...(Number.isFinite(a) ? { area: a } : {}),
        ...(Number.isFinite(lon) && Number.isFinite(lat) ? { outlet: { lon, lat } } : {}),
      });
    }
  }
  // hypsometry.csv: one column per basin
  const hyps = new Map<string, Float64Array>();
  const hf = join(dir, 'hypsometry.csv');
  if ((await stat(hf).catch(() => null))?.isFile()) {
    const t = await readTable(hf);
    t.header.forEach((code, k) => {
      if (k === 0 && /^(quantile|q|percent|%)$/i.test(code)) return;
      const v = Float64Array.from(t.rows, (r) => Number(r[k]));
      if (v.length === 101 && v.every(Number.isFinite)) hyps.set(code, v);
    });
  }
  const basins: Basin[] = [];
  for (const file of files) {
    const code = basename(file, extname(file));
    const series = await readLumpedCsv(file, columns);
    const m = meta.get(code);
    const h = hyps.get(code);
    basins.push({
      code,
      file,
      series,
      ...(h ? { hypsometry: h } : {}),
      ...(m?.area !== undefined ? { area: m.area } : {}),
      ...(m?.outlet ? { outlet: m.outlet } : {}),
    });
  }
  const names: string[] = [...DERIVED_NAMES];
  const units: Record<string, string> = Object.fromEntries(
    DERIVED_NAMES.map((k) => [k, DERIVED_ATTRIBUTES[k].unit]),
  );
  const values: AttributeValue[][] = basins.map((b) => {
    const { i0, i1 } = periodRange(b.series.dates, o.period, b.file);
    const s = b.series;
    const d = deriveAttributes({
      dates: s.dates.slice(i0, i1),
      P: s.P.subarray(i0, i1),
      E: s.E.subarray(i0, i1),
      ...(s.T ? { T: s.T.subarray(i0, i1) } : {}),
      ...(b.hypsometry ? { hypsometry: b.hypsometry } : {}),
      ...(b.area !== undefined ? { area: b.area } : {}),
      ...(b.outlet ? { outlet: b.outlet } : {}),
    });
    return DERIVED_NAMES.map((k) => d[k]);
  });
  if (o.attributes) {
    const t = await readTable(o.attributes);
    const id = idColumn(t.header);
    const rowOf = new Map(t.rows.map((r) => [r[id]!, r]));
    t.header.forEach((name, k) => {
      if (k === id) return;
      const cells = t.rows.map((r) => r[k]);
      // a column with no number at all (names, dates) is not an attribute
      if (!cells.some((v) => !isMissing(v) && Number.isFinite(Number(v)))) return;
      let j = names.indexOf(name);
      if (j < 0) {
        j = names.push(name) - 1;
        units[name] = '';
        for (const v of values) v.push({ value: null, reason: `not in ${o.attributes}` });
      }
      basins.forEach((b, i) => {
        const r = rowOf.get(b.code);
        if (!r) {
          if (values[i]![j]!.value === null)
            values[i]![j] = { value: null, reason: `basin ${b.code} has no row in ${o.attributes}` };
          return;
        }
        const v = r[k];
        if (isMissing(v)) {
          if (values[i]![j]!.value === null)
            values[i]![j] = { value: null, reason: `missing in ${o.attributes}` };
        } else if (!Number.isFinite(Number(v)))
          values[i]![j] = { value: null, reason: `${o.attributes}: "${v}" is not a number` };
        else values[i]![j] = { value: Number(v), source: o.attributes! };
      });
    });
  }
  return { dir, basins, attributes: { names, units, values } };
}

/** Row range [i0, i1) of a period in a basin's dates (the whole series without one); refuses a period outside them. */
export function periodRange(
  dates: Date[],
  period: { start: string; end: string } | undefined,
  file: string,
  field = 'period',
): { i0: number; i1: number } {
  if (!period) return { i0: 0, i1: dates.length };
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const i0 = dates.findIndex((d) => day(d) === period.start);
  const i1 = dates.findIndex((d) => day(d) === period.end);
  if (i0 < 0 || i1 < 0 || i1 < i0)
    throw new FieldcalError(
      'VALIDATION',
      `${file}: ${field} ${period.start} .. ${period.end} is not inside the series (${day(dates[0]!)} .. ${day(dates.at(-1)!)})`,
      { field, file },
    );
  return { i0, i1: i1 + 1 };
}

import { stat } from 'node:fs/promises';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { readTextFile } from '../common/safeFile';
import { proj4ForEpsg } from './crs';

/** An ESRI ASCII grid read whole: its grid, values row-major from the top row (nodata = NaN). */
export interface AsciiGrid {
  path: string;
  grid: Grid;
  values: Float64Array;
  nodata: number | null;
  /** Where the CRS came from: the `.prj` beside the file, or none. */
  crsSource: 'prj' | 'none';
}

const bad = (file: string, line: number | null, problem: string) =>
  new FieldcalError('INVALID_FILE', `${file}${line !== null ? `, line ${line}` : ''}: ${problem}`, {
    file,
    line,
    problem,
  });

/** Header keys (ESRI ASCII raster format, as GDAL's AAIGrid driver reads them; DX/DY for non-square cells). */
const KEYS = [
  'ncols',
  'nrows',
  'xllcorner',
  'xllcenter',
  'yllcorner',
  'yllcenter',
  'cellsize',
  'dx',
  'dy',
  'nodata_value',
] as const;
type Key = (typeof KEYS)[number];

/** Largest grid read into memory (cells): a bigger header is refused before allocating. */
const MAX_CELLS = 200_000_000;

/**
 * The CRS of a `.prj` (WKT, as ESRI and GDAL write it): `EPSG:n` when the root names its EPSG code
 * (the last AUTHORITY/ID in the text is the root's), else the WKT itself, which proj4 parses.
 */
export function crsOfPrj(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  const ids = [...t.matchAll(/(?:AUTHORITY|ID)\[\s*"EPSG"\s*,\s*"?(\d+)"?\s*\]/gi)];
  const last = ids.at(-1);
  // the root's authority closes the text: `...,AUTHORITY["EPSG","2154"]]`
  if (last && /^\s*\]\s*$/.test(t.slice(last.index + last[0].length))) {
    const code = Number(last[1]);
    try {
      proj4ForEpsg(code);
      return `EPSG:${code}`;
    } catch {
      // an EPSG code outside the index: keep the WKT
    }
  }
  return t;
}

/**
 * Reads an ESRI ASCII grid (`.asc`): the header (ncols, nrows, xllcorner|xllcenter,
 * yllcorner|yllcenter, cellsize or dx/dy, optional NODATA_value, any order, case-insensitive),
 * then nrows x ncols numbers from the top row down. Values are checked one by one; an error names
 * the line. The CRS comes from a `.prj` beside the file when there is one.
 */
export async function readAsciiGrid(path: string): Promise<AsciiGrid> {
  const text = await readTextFile(path);
  const lines = text.split(/\r?\n/);
  const head: Partial<Record<Key, number>> = {};
  let li = 0;
  for (; li < lines.length; li++) {
    const l = lines[li]!.trim();
    if (l === '') continue;
    const m = /^([A-Za-z_]+)\s+(\S+)\s*$/.exec(l);
    if (!m) break;
    const key = m[1]!.toLowerCase() as Key;
    if (!KEYS.includes(key)) throw bad(path, li + 1, `unknown header key "${m[1]}"`);
    if (head[key] !== undefined) throw bad(path, li + 1, `header key ${m[1]} given twice`);
    const v = Number(m[2]);
    if (!Number.isFinite(v)) throw bad(path, li + 1, `${m[1]} "${m[2]}" is not a number`);
    head[key] = v;
  }
  const need = (k: Key): number => {
    const v = head[k];
    if (v === undefined) throw bad(path, null, `the header has no ${k}`);
    return v;
  };
  const cols = need('ncols');
  const rows = need('nrows');
  if (!(Number.isInteger(cols) && cols > 0 && Number.isInteger(rows) && rows > 0))
    throw bad(path, null, `ncols ${cols} and nrows ${rows} must be positive integers`);
  if (rows * cols > MAX_CELLS) throw bad(path, null, `${cols} x ${rows} cells is more than can be read`);
  const dx = head.cellsize ?? head.dx;
  const dy = head.cellsize ?? head.dy ?? head.dx;
  if (dx === undefined || dy === undefined) throw bad(path, null, 'the header has no cellsize');
  if (!(dx > 0 && dy > 0)) throw bad(path, null, `cellsize ${dx} must be positive`);
  if ((head.xllcorner === undefined) === (head.xllcenter === undefined))
    throw bad(path, null, 'the header needs one of xllcorner and xllcenter');
  if ((head.yllcorner === undefined) === (head.yllcenter === undefined))
    throw bad(path, null, 'the header needs one of yllcorner and yllcenter');
  const xll = head.xllcorner ?? head.xllcenter! - dx / 2;
  const yll = head.yllcorner ?? head.yllcenter! - dy / 2;
  const nodata = head.nodata_value ?? null;

  const values = new Float64Array(rows * cols);
  let k = 0;
  for (; li < lines.length; li++) {
    const l = lines[li]!.trim();
    if (l === '') continue;
    for (const tok of l.split(/\s+/)) {
      if (k >= values.length) throw bad(path, li + 1, `more values than ncols x nrows = ${values.length}`);
      const v = Number(tok);
      if (tok === '' || !Number.isFinite(v)) throw bad(path, li + 1, `"${tok}" is not a number`);
      values[k++] = nodata !== null && v === nodata ? Number.NaN : v;
    }
  }
  if (k < values.length)
    throw bad(path, null, `${k} values for ncols x nrows = ${cols} x ${rows} = ${values.length}`);

  const prjPath = path.replace(/\.[^./\\]*$/, '') + '.prj';
  const prj = (await stat(prjPath).catch(() => null))?.isFile() ? await readTextFile(prjPath) : null;
  const crs = prj !== null ? crsOfPrj(prj) : null;
  return {
    path,
    grid: { crs, x0: xll, y0: yll + rows * dy, dx, dy, rows, cols, mask: null },
    values,
    nodata,
    crsSource: crs ? 'prj' : 'none',
  };
}

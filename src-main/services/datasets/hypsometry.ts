import { FieldcalError } from '../../../src-shared/ipc';
import { readTextFile } from '../common/safeFile';

/**
 * Reads a basin's hypsometric curve as airGR's HypsoData: 101 elevations (m), the 0, 1, ..., 100 %
 * quantiles of the basin's elevation. Either a table with one column per basin (CAMELS-FR's
 * `hypsometry.csv`: a `quantile` column then one column per basin code), read for `basin`; or a
 * one-column file of 101 values (a header line is allowed). Errors name the file, line and column.
 */
export async function readHypsometry(path: string, basin?: string): Promise<Float64Array> {
  const text = await readTextFile(path);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const sep = [',', ';', '\t'].find((s) => lines[0]?.includes(s));
  const cells = lines.map((l) => (sep ? l.split(sep) : [l]).map((v) => v.trim().replace(/^"|"$/g, '')));
  const hasHeader = cells.length > 0 && cells[0]!.some((v) => v !== '' && !Number.isFinite(Number(v)));
  const header = hasHeader ? cells[0]! : [];
  let col: number;
  if (basin !== undefined) {
    col = header.indexOf(basin);
    if (col < 0)
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}: no column for basin ${basin} in the header (${header.slice(0, 8).join(', ')}${header.length > 8 ? ', ...' : ''})`,
        { file: path, field: 'basin', basin },
      );
  } else {
    const width = cells[hasHeader ? 1 : 0]?.length ?? 0;
    if (width === 1) col = 0;
    else if (width === 2 && /^(quantile|q|percent|%)$/i.test(header[0] ?? '')) col = 1;
    else
      throw new FieldcalError(
        'VALIDATION',
        `${path}: ${width} columns: name the basin whose hypsometry to read`,
        { file: path, field: 'basin' },
      );
  }
  const rows = cells.slice(hasHeader ? 1 : 0);
  if (rows.length !== 101)
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: expected 101 elevation quantiles (0..100 %), found ${rows.length} rows`,
      { file: path, rows: rows.length },
    );
  const out = new Float64Array(101);
  for (let i = 0; i < 101; i++) {
    const v = rows[i]![col];
    const x = v === undefined || v === '' ? Number.NaN : Number(v);
    const line = i + 1 + (hasHeader ? 1 : 0);
    const column = header[col] ?? String(col + 1);
    if (!Number.isFinite(x))
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}, line ${line}, column ${column}: "${v ?? ''}" is not an elevation`,
        {
          file: path,
          line,
          column,
        },
      );
    if (i > 0 && x < out[i - 1]!)
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}, line ${line}, column ${column}: ${x} is below the previous quantile (${out[i - 1]}); the curve must not decrease`,
        { file: path, line, column },
      );
    out[i] = x;
  }
  return out;
}

import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import {
  lumpedAssembleSpecSchema,
  lumpedBasinCode,
  lumpedManifestSchema,
  type LumpedAssembleSpec,
  type LumpedAssembleSpecInput,
  type LumpedBasinInput,
  type LumpedDateFormat,
  type LumpedManifest,
} from '../../../../src-shared/types/assemble';
import { readTextFile } from '../../common/safeFile';
import { parseDate } from '../../grid/gauges';
import { readHypsometry } from '../hypsometry';
import { MISSING_VALUE, splitLine } from '../lumpedCsv';
import { MANIFEST_FILE } from '../smashDataset';
import { conversionTo, type Conversion, type Quantity } from '../units';
import { outputFolder, recover, writeFolderAtomically, type AssembleOptions } from './index';
import { mustExist, naming } from './inputs';

export interface LumpedAssembleResult {
  path: string;
  manifest: LumpedManifest;
  warnings: string[];
}

/** One basin read, checked and converted: mm per step and °C (NaN = missing discharge). */
interface LumpedBasinData {
  code: string;
  source: string;
  dates: Date[];
  stepSeconds: number;
  P: Float64Array;
  E: Float64Array;
  Q: Float64Array;
  T: Float64Array | null;
  hypsometry: Float64Array | null;
  meta: LumpedManifest['basins'][number];
}

/** Names of the tables a basins run reads beside the basin CSVs (a basin may not take them). */
const TABLES = ['catchments', 'hypsometry', 'attributes'];
const ROLE_QUANTITY: Record<'P' | 'PET' | 'Q' | 'T', Quantity> = {
  P: 'flux',
  PET: 'flux',
  Q: 'discharge',
  T: 'temperature',
};

/** A date in a declared format (UTC); null when it is not one, or not a calendar date. */
export function parseLumpedDate(text: string, format: LumpedDateFormat): Date | null {
  const t = text.trim().replace(/^"|"$/g, '');
  if (format === 'auto') return parseDate(t.slice(0, 19).replace(/[ T]00:00(:00)?$/, ''));
  const order: Record<Exclude<LumpedDateFormat, 'auto'>, [RegExp, [number, number, number]]> = {
    'YYYY-MM-DD': [/^(\d{4})-(\d{1,2})-(\d{1,2})/, [1, 2, 3]],
    YYYYMMDD: [/^(\d{4})(\d{2})(\d{2})/, [1, 2, 3]],
    'YYYY/MM/DD': [/^(\d{4})\/(\d{1,2})\/(\d{1,2})/, [1, 2, 3]],
    'DD/MM/YYYY': [/^(\d{1,2})\/(\d{1,2})\/(\d{4})/, [3, 2, 1]],
    'MM/DD/YYYY': [/^(\d{1,2})\/(\d{1,2})\/(\d{4})/, [3, 1, 2]],
    'DD.MM.YYYY': [/^(\d{1,2})\.(\d{1,2})\.(\d{4})/, [3, 2, 1]],
    'DD-MM-YYYY': [/^(\d{1,2})-(\d{1,2})-(\d{4})/, [3, 2, 1]],
  };
  const [re, [yi, mi, di]] = order[format];
  const m = re.exec(t);
  if (!m) return null;
  // an optional time of day after the date: [ T]HH:MM[:SS]
  const rest = t.slice(m[0].length);
  const tm = /^(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?Z?)?$/.exec(rest);
  if (!tm) return null;
  const [y, mo, d] = [Number(m[yi]), Number(m[mi]), Number(m[di])];
  const [h, mi2, s] = [Number(tm[1] ?? 0), Number(tm[2] ?? 0), Number(tm[3] ?? 0)];
  const dt = new Date(Date.UTC(y, mo - 1, d, h, mi2, s));
  const ok =
    dt.getUTCFullYear() === y &&
    dt.getUTCMonth() === mo - 1 &&
    dt.getUTCDate() === d &&
    h < 24 &&
    mi2 < 60 &&
    s < 60;
  return ok ? dt : null;
}

/** A date as the dataset writes it: the day for a daily step, the day and hour:minute for an hourly one. */
const isoAtStep = (d: Date, stepSeconds: number) =>
  stepSeconds === 86400 ? d.toISOString().slice(0, 10) : d.toISOString().slice(0, 16);

/**
 * Reads one basin CSV of a lumped assembly strictly: the mapped columns present, every date parsed
 * in its format, increasing, unrepeated and on one step (hourly or daily), P, PET and T complete, P
 * and Q not negative, units converted to mm per step and °C (units.ts). Every refusal names the
 * file, the column and the row (row 1 is the header) in its message and details.
 */
export async function readLumpedBasin(b: LumpedBasinInput, i: number): Promise<LumpedBasinData> {
  const file = b.path;
  const at = `basins[${i}]`;
  await mustExist(file, `${at}.path`);
  const text = await readTextFile(file).catch((e: unknown) => {
    throw naming(`${at}.path`, e);
  });
  const all = text.split(/\r?\n/);
  const headerAt = all.findIndex((l) => l.trim() !== '');
  const fail = (
    row: number,
    column: string | null,
    what: string,
    field = `${at}.path`,
    code: FieldcalError['code'] = 'INVALID_FILE',
  ): never => {
    throw new FieldcalError(
      code,
      `${file}, row ${row}${column !== null ? `, column ${column}` : ''}: ${what}`,
      { file, row, ...(column !== null ? { column } : {}), field },
    );
  };
  if (headerAt < 0) fail(1, null, 'the file is empty');
  const line = all[headerAt]!;
  const sep = [',', ';', '\t'].find((s) => line.includes(s)) ?? ',';
  const header = splitLine(line, sep);
  const c = b.columns;
  const colOf = (role: 'date' | 'P' | 'PET' | 'Q' | 'T', name: string): number => {
    let k = header.indexOf(name);
    if (k < 0) k = header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
    if (k < 0)
      fail(
        headerAt + 1,
        name,
        `no such column in the header (${header.join(', ')}) for ${role}`,
        `${at}.columns.${role}`,
        'VALIDATION',
      );
    return k;
  };
  const cd = colOf('date', c.date);
  const cols = {
    P: colOf('P', c.P),
    PET: colOf('PET', c.PET),
    Q: colOf('Q', c.Q),
    T: c.T === undefined ? -1 : colOf('T', c.T),
  };
  const rows: Array<{ row: number; f: string[] }> = [];
  for (let k = headerAt + 1; k < all.length; k++)
    if (all[k]!.trim() !== '') rows.push({ row: k + 1, f: splitLine(all[k]!, sep) });
  if (rows.length < 2)
    fail(headerAt + 1, null, `${rows.length} data row(s); a basin series needs at least 2 (its step)`);
  // dates: parsed, increasing, unrepeated, on one step
  const dates: Date[] = [];
  const seen = new Map<number, number>();
  for (const { row, f } of rows) {
    const v = f[cd] ?? '';
    const d =
      parseLumpedDate(v, b.dateFormat) ??
      fail(
        row,
        header[cd]!,
        `"${v}" is not a date${b.dateFormat === 'auto' ? ' (YYYY-MM-DD, YYYYMMDD or DD/MM/YYYY; name the format)' : ` in the format ${b.dateFormat}`}`,
      );
    const t = d.getTime();
    if (seen.has(t)) fail(row, header[cd]!, `${v} is the date of row ${seen.get(t)} again (duplicated date)`);
    if (dates.length && t < dates.at(-1)!.getTime())
      fail(row, header[cd]!, `${v} comes before the previous row's date (dates must increase)`);
    seen.set(t, row);
    dates.push(d);
  }
  const stepSeconds = (dates[1]!.getTime() - dates[0]!.getTime()) / 1000;
  if (stepSeconds !== 86400 && stepSeconds !== 3600)
    fail(
      rows[1]!.row,
      header[cd]!,
      `the first two dates are ${stepSeconds} s apart; a lumped series is daily or hourly`,
    );
  for (let k = 2; k < dates.length; k++) {
    const dt = (dates[k]!.getTime() - dates[k - 1]!.getTime()) / 1000;
    if (dt !== stepSeconds)
      fail(
        rows[k]!.row,
        header[cd]!,
        `${rows[k]!.f[cd]} is ${dt} s after the previous row, the series' step is ${stepSeconds} s (a gap or a change of step; write missing discharge as an empty cell)`,
      );
  }
  // the conversions, now the step is known (m3/s and l/s need the area)
  const conversions: LumpedManifest['basins'][number]['conversions'] = [];
  const conv = (role: 'P' | 'PET' | 'Q' | 'T', column: string): Conversion => {
    const unit = c.units[role];
    try {
      const k = conversionTo(ROLE_QUANTITY[role], unit, { stepSeconds, areaKm2: c.areaKm2, field: role });
      conversions.push({ role, column, unitsFrom: k.from, unitsTo: k.to, scale: k.scale, offset: k.offset });
      return k;
    } catch (e) {
      return fail(
        headerAt + 1,
        column,
        (e as Error).message,
        role === 'Q' && !c.areaKm2 ? `${at}.columns.areaKm2` : `${at}.columns.units.${role}`,
        'VALIDATION',
      );
    }
  };
  const kP = conv('P', c.P);
  const kE = conv('PET', c.PET);
  const kQ = conv('Q', c.Q);
  const kT = c.T === undefined ? null : conv('T', c.T);
  const n = rows.length;
  const P = new Float64Array(n);
  const E = new Float64Array(n);
  const Q = new Float64Array(n);
  const T = kT ? new Float64Array(n) : null;
  let qMissing = 0;
  const value = (r: { row: number; f: string[] }, k: number, role: string, required: boolean) => {
    const v = (r.f[k] ?? '').trim();
    if (MISSING_VALUE.test(v)) {
      if (required) fail(r.row, header[k]!, `${role} is missing (only discharge may be)`);
      return Number.NaN;
    }
    const x = Number(v);
    if (!Number.isFinite(x)) fail(r.row, header[k]!, `${role} "${v}" is not a number`);
    return x;
  };
  rows.forEach((r, t) => {
    const p = value(r, cols.P, 'P', true);
    if (p < 0) fail(r.row, header[cols.P]!, `precipitation ${p} is negative`);
    const q = value(r, cols.Q, 'Q', false);
    if (q < 0)
      fail(r.row, header[cols.Q]!, `discharge ${q} is negative (a missing value is an empty cell or NA)`);
    if (Number.isNaN(q)) qMissing++;
    // the lumped runs' conversion, value · scale + offset (applyConversion, units.ts)
    P[t] = p * kP.scale + kP.offset;
    E[t] = value(r, cols.PET, 'PET', true) * kE.scale + kE.offset;
    Q[t] = q * kQ.scale + kQ.offset;
    if (T && kT) T[t] = value(r, cols.T, 'T', true) * kT.scale + kT.offset;
  });
  if (qMissing === n) fail(headerAt + 2, header[cols.Q]!, 'no row has a discharge value');
  if (T) {
    let max = -Infinity;
    for (const x of T) if (x > max) max = x;
    // above the highest air temperature recorded (56.7 °C, WMO): a series in kelvin taken as °C
    if (max > 60)
      fail(
        headerAt + 1,
        header[cols.T]!,
        `temperatures up to ${max.toFixed(1)} °C look like kelvin; give units K`,
        `${at}.columns.units.T`,
        'VALIDATION',
      );
  }
  let hypsometry: Float64Array | null = null;
  if (b.hypsometry) {
    try {
      hypsometry = await readHypsometry(resolve(b.hypsometry.path), b.hypsometry.basin);
    } catch (e) {
      throw naming(`${at}.hypsometry`, e);
    }
  }
  const code = lumpedBasinCode(b);
  const iso = (d: Date) => isoAtStep(d, stepSeconds);
  return {
    code,
    source: file,
    dates,
    stepSeconds,
    P,
    E,
    Q,
    T,
    hypsometry,
    meta: {
      code,
      file: `${code}.csv`,
      source: file,
      rows: n,
      first: iso(dates[0]!),
      last: iso(dates.at(-1)!),
      qMissing,
      areaKm2: c.areaKm2 ?? null,
      dateColumn: header[cd]!,
      dateFormat: b.dateFormat,
      conversions,
      hypsometry: b.hypsometry ? { source: b.hypsometry.path, basin: b.hypsometry.basin ?? null } : null,
    },
  };
}

/** Parses a lumped spec; a refusal names the field, and for a basin's mapping its file and column. */
function parseSpec(input: unknown): LumpedAssembleSpec {
  const r = lumpedAssembleSpecSchema.safeParse(input);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const field = i.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  const [, bi, role] = /^basins\[(\d+)\]\.columns(?:\.units)?\.(date|P|PET|Q|T)$/.exec(field) ?? [];
  const basin =
    bi !== undefined
      ? ((input as { basins?: Array<{ path?: unknown; columns?: Record<string, unknown> }> }).basins?.[
          Number(bi)
        ] ?? null)
      : null;
  if (basin && typeof basin.path === 'string') {
    const column = typeof basin.columns?.[role!] === 'string' ? (basin.columns[role!] as string) : role!;
    throw new FieldcalError('VALIDATION', `${field}: ${basin.path}, row 1, column ${column}: ${i.message}`, {
      field,
      file: basin.path,
      column,
      row: 1,
    });
  }
  throw new FieldcalError('VALIDATION', `${field || 'spec'}: ${i.message}`, { field });
}

const num = (x: number) => (Number.isNaN(x) ? '' : String(x));

/**
 * Builds a lumped dataset (issue 15) from basin CSVs whose columns the user mapped: every basin is
 * read and checked before anything is written, then the folder is written in the form the lumped
 * runs and the basins run read without a mapping (`<code>.csv`: `date,P,E,Qmm[,T]` in mm per step
 * and °C, the values as the lumped reader converts them; `catchments.csv` with the areas;
 * `hypsometry.csv`, 101 quantiles per basin that has one) and a `fieldcal-dataset.json` manifest
 * recording each basin's source, mapping and conversions. Written into a temporary folder renamed
 * into place, as the gridded assembler does.
 */
export async function assembleLumpedDataset(
  specInput: LumpedAssembleSpec | LumpedAssembleSpecInput,
  opts: AssembleOptions = {},
): Promise<LumpedAssembleResult> {
  const spec = parseSpec(specInput);
  const progress = (stage: string, done: number) => opts.onProgress?.({ name: spec.name, stage, done });
  const out = outputFolder(spec, opts.projectFile);
  await recover(out);
  const existing = await stat(out).catch(() => null);
  if (existing) {
    if (!spec.overwrite)
      throw new FieldcalError('CONFLICT', `out: ${out} exists; choose another name or allow overwriting`, {
        field: 'out',
        file: out,
      });
    if (!(await stat(join(out, MANIFEST_FILE)).catch(() => null)))
      throw new FieldcalError(
        'CONFLICT',
        `out: ${out} exists and is not an assembled dataset (no ${MANIFEST_FILE}); it is never overwritten`,
        { field: 'out', file: out },
      );
  }
  const basins: LumpedBasinData[] = [];
  for (const [i, b] of spec.basins.entries()) {
    if (opts.cancelled?.())
      throw new FieldcalError('CONFLICT', `Assembly of ${spec.name} cancelled`, { cancelled: true });
    const code = lumpedBasinCode(b);
    if (TABLES.includes(code.toLowerCase()))
      throw new FieldcalError(
        'VALIDATION',
        `basins[${i}].code: "${code}" is the name of a table of the dataset; give another code`,
        { field: `basins[${i}].code` },
      );
    basins.push(await readLumpedBasin(b, i));
    progress(`basin ${code}`, (0.8 * (i + 1)) / spec.basins.length);
  }
  const step = basins[0]!.stepSeconds;
  basins.forEach((b, i) => {
    if (b.stepSeconds !== step)
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `basins[${i}].path: ${b.source} is at a step of ${b.stepSeconds} s, ${basins[0]!.source} at ${step} s; one dataset holds one step`,
        { field: `basins[${i}].path`, file: b.source },
      );
  });
  const warnings: string[] = [];
  for (const b of basins)
    if (b.meta.qMissing > 0)
      warnings.push(
        `basin ${b.code}: discharge missing on ${b.meta.qMissing} of ${b.meta.rows} rows (left empty)`,
      );

  const manifest = await writeFolderAtomically(out, async (tmp) => {
    const iso = (d: Date) => isoAtStep(d, step);
    for (const b of basins) {
      const lines = [b.T ? 'date,P,E,Qmm,T' : 'date,P,E,Qmm'];
      for (let t = 0; t < b.dates.length; t++)
        lines.push(
          `${iso(b.dates[t]!)},${num(b.P[t]!)},${num(b.E[t]!)},${num(b.Q[t]!)}${b.T ? `,${num(b.T[t]!)}` : ''}`,
        );
      await writeFile(join(tmp, b.meta.file), `${lines.join('\n')}\n`);
    }
    await writeFile(
      join(tmp, 'catchments.csv'),
      `code,area_km2\n${basins.map((b) => `${b.code},${b.meta.areaKm2 ?? ''}`).join('\n')}\n`,
    );
    const withH = basins.filter((b) => b.hypsometry);
    if (withH.length) {
      const lines = [`quantile,${withH.map((b) => b.code).join(',')}`];
      for (let q = 0; q <= 100; q++)
        lines.push(`${q},${withH.map((b) => String(b.hypsometry![q])).join(',')}`);
      await writeFile(join(tmp, 'hypsometry.csv'), `${lines.join('\n')}\n`);
    }
    const first = Math.min(...basins.map((b) => b.dates[0]!.getTime()));
    const last = Math.max(...basins.map((b) => b.dates.at(-1)!.getTime()));
    const manifest = lumpedManifestSchema.parse({
      format: 'fieldcal-lumped-dataset',
      version: 1,
      name: spec.name,
      step: step === 86400 ? 'daily' : 'hourly',
      stepSeconds: step,
      start: new Date(first).toISOString(),
      end: new Date(last).toISOString(),
      basins: basins.map((b) => b.meta),
      createdAt: new Date().toISOString(),
      createdBy: 'fieldcal assemble',
    } satisfies LumpedManifest);
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    progress('saving', 0.97);
    return manifest;
  });
  progress('done', 1);
  return { path: out, manifest, warnings };
}

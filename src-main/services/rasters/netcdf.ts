import { open as openFile, readFile, stat } from 'node:fs/promises';
import { NetCDFReader } from 'netcdfjs';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { timeline, type Stack, type StackStep } from './stack';

type AttrValue = string | number | number[];

/** The parts of a NetCDF file the stack reader needs, for netCDF-3 (netcdfjs) and netCDF-4 (h5wasm). */
interface NcFile {
  format: 'netCDF-3' | 'netCDF-4';
  variables(): string[];
  dims(name: string): string[];
  attr(name: string, key: string): AttrValue | undefined;
  /** All values of a variable, flattened row-major. */
  read(name: string): Float64Array;
  /** Values of a (time, y, x) variable at one time index. */
  readStep(name: string, t: number, size: number): Float64Array;
  /** Values of a (time, y, x) variable at one (y, x) index, every time step. */
  readColumn(name: string, y: number, x: number, shape: [number, number, number]): Float64Array;
  close(): void;
}

const toF64 = (v: ArrayLike<number | bigint>): Float64Array =>
  Float64Array.from(v as ArrayLike<number>, Number);

function flat(v: unknown): number[] {
  return Array.isArray(v) ? (v as unknown[]).flatMap(flat) : [Number(v)];
}

async function openNc3(path: string): Promise<NcFile> {
  const reader = new NetCDFReader(await readFile(path));
  const dimNames = reader.dimensions.map((d) => d.name);
  const vars = new Map(reader.variables.map((v) => [v.name, v]));
  const cache = new Map<string, Float64Array>();
  const read = (name: string) => {
    let v = cache.get(name);
    if (!v) {
      v = Float64Array.from(flat(reader.getDataVariable(name)));
      cache.set(name, v);
    }
    return v;
  };
  return {
    format: 'netCDF-3',
    variables: () => [...vars.keys()],
    dims: (name) => (vars.get(name)?.dimensions ?? []).map((i) => dimNames[i]!),
    attr: (name, key) =>
      (vars.get(name)?.attributes as Array<{ name: string; value: AttrValue }> | undefined)?.find(
        (a) => a.name === key,
      )?.value,
    read,
    readStep: (name, t, size) => read(name).slice(t * size, (t + 1) * size),
    readColumn: (name, y, x, [nt, ny, nx]) => {
      const all = read(name);
      return Float64Array.from({ length: nt }, (_, t) => all[(t * ny + y) * nx + x]!);
    },
    close: () => undefined,
  };
}

async function openNc4(path: string): Promise<NcFile> {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'r');
  type Ds = {
    shape: number[] | null;
    value: unknown;
    attrs: Record<string, { value: unknown }>;
    slice(r: number[][]): unknown;
  };
  const names = f.keys().filter((k) => f.get(k) instanceof h5wasm.Dataset);
  const ds = (n: string) => f.get(n) as unknown as Ds;
  // netCDF-4 stores dimension ids per variable (_Netcdf4Coordinates) and per dimension scale (_Netcdf4Dimid).
  const dimName = new Map<number, string>();
  for (const n of names) {
    const id = ds(n).attrs._Netcdf4Dimid?.value;
    if (id !== undefined) dimName.set(Number(flat(id)[0]), n);
  }
  const attrOf = (n: string, key: string): AttrValue | undefined => {
    const v = ds(n).attrs[key]?.value;
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    const arr = flat(ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v);
    return arr.length === 1 ? arr[0]! : arr;
  };
  return {
    format: 'netCDF-4',
    variables: () => names,
    dims: (n) => {
      const coords = ds(n).attrs._Netcdf4Coordinates?.value;
      if (coords !== undefined)
        return flat(Array.from(coords as ArrayLike<number>)).map((i) => dimName.get(i) ?? `dim${i}`);
      return dimName.has(Number(flat(ds(n).attrs._Netcdf4Dimid?.value ?? -1)[0]))
        ? [n]
        : (ds(n).shape ?? []).map((_, i) => `dim${i}`);
    },
    attr: attrOf,
    read: (n) => toF64(ds(n).value as ArrayLike<number>),
    readStep: (n, t) => toF64(ds(n).slice([[t, t + 1]]) as ArrayLike<number>),
    readColumn: (n, y, x, [nt]) =>
      toF64(
        ds(n).slice([
          [0, nt],
          [y, y + 1],
          [x, x + 1],
        ]) as ArrayLike<number>,
      ),
    close: () => f.close(),
  };
}

/** Opens a NetCDF file of either format, told apart by its magic bytes. */
async function openNetcdf(path: string): Promise<NcFile> {
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) throw new FieldcalError('NOT_FOUND', `${path} not found`, { file: path });
  const fh = await openFile(path, 'r');
  const magic = Buffer.alloc(8);
  await fh.read(magic, 0, 8, 0);
  await fh.close();
  try {
    if (magic.subarray(0, 3).toString('latin1') === 'CDF') return await openNc3(path);
    if (magic.subarray(1, 4).toString('latin1') === 'HDF') return await openNc4(path);
  } catch (err) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${path} is not a readable NetCDF file: ${(err as Error).message}`,
      { file: path },
    );
  }
  throw new FieldcalError(
    'INVALID_FILE',
    `${path} is not a NetCDF file (neither netCDF-3 nor HDF5 magic bytes)`,
    { file: path },
  );
}

const MS: Record<string, number> = { second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7 };

/** CF time decoding: "<unit> since <date>" on the standard / gregorian / proleptic_gregorian calendars (CF 1.8, 4.4). */
export function decodeCfTime(
  values: Float64Array,
  units: string | undefined,
  calendar: string | undefined,
  file: string,
): Date[] {
  const m =
    units &&
    /^\s*(second|minute|hour|day)s?\s+since\s+(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?\s*(Z|UTC|[+-]00:?00)?\s*$/i.exec(
      units,
    );
  if (!m)
    throw new FieldcalError(
      'INVALID_FILE',
      `${file}: time units "${units ?? ''}" are not "<unit> since <date>"`,
      { file, field: 'time:units' },
    );
  const cal = (calendar ?? 'standard').toLowerCase();
  if (!['standard', 'gregorian', 'proleptic_gregorian'].includes(cal)) {
    throw new FieldcalError(
      'UNSUPPORTED_FORMAT',
      `${file}: calendar "${cal}" is not supported (standard, gregorian, proleptic_gregorian)`,
      { file, field: 'time:calendar' },
    );
  }
  const base = Date.UTC(+m[2]!, +m[3]! - 1, +m[4]!, +(m[5] ?? 0), +(m[6] ?? 0), 0) + Number(m[7] ?? 0) * 1000;
  const unit = MS[m[1]!.toLowerCase()]!;
  return Array.from(values, (v) => new Date(base + Math.round(v * unit)));
}

const X_NAMES = ['x', 'lon', 'longitude', 'rlon', 'easting'];
const Y_NAMES = ['y', 'lat', 'latitude', 'rlat', 'northing'];

/** A regular axis: first centre and spacing; refuses irregular coordinates. */
function regularAxis(v: Float64Array, name: string, file: string): { first: number; step: number } {
  if (v.length < 2)
    throw new FieldcalError('UNSUPPORTED_FORMAT', `${file}: axis ${name} needs at least 2 values`, {
      file,
      field: name,
    });
  const step = v[1]! - v[0]!;
  for (let i = 2; i < v.length; i++) {
    if (Math.abs(v[i]! - v[i - 1]! - step) > 1e-6 * Math.abs(step)) {
      throw new FieldcalError('UNSUPPORTED_FORMAT', `${file}: axis ${name} is not regularly spaced`, {
        file,
        field: name,
      });
    }
  }
  return { first: v[0]!, step };
}

/**
 * Opens a CF NetCDF variable (time, y|lat, x|lon) as a stack: dates from the time axis, packing
 * (scale_factor, add_offset) and _FillValue / missing_value applied, rows flipped to north-up when
 * y increases. netCDF-4 steps are read lazily; netcdfjs parses netCDF-3 files in memory.
 */
export async function openNetcdfStack(
  path: string,
  opts: { variable?: string; crs?: string | null } = {},
): Promise<Stack> {
  const nc = await openNetcdf(path);
  const candidates = nc.variables().filter((v) => nc.dims(v).length === 3);
  const name =
    opts.variable ?? candidates.find((v) => !X_NAMES.includes(v) && !Y_NAMES.includes(v) && v !== 'time');
  if (!name || !nc.variables().includes(name)) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: no variable with dimensions (time, y, x)${opts.variable ? ` named ${opts.variable}` : ''}`,
      { file: path, field: 'variable' },
    );
  }
  const [tDim, yDim, xDim] = nc.dims(name) as [string, string, string];
  if (!nc.variables().includes(tDim) || !/time/i.test(tDim)) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: variable ${name} has no time dimension (dimensions ${nc.dims(name).join(', ')})`,
      { file: path, field: 'time' },
    );
  }
  if (![yDim, xDim].every((d) => nc.variables().includes(d))) {
    throw new FieldcalError('INVALID_FILE', `${path}: coordinate variables ${yDim}/${xDim} are missing`, {
      file: path,
    });
  }
  const times = decodeCfTime(
    nc.read(tDim),
    nc.attr(tDim, 'units') as string | undefined,
    nc.attr(tDim, 'calendar') as string | undefined,
    path,
  );
  const xs = regularAxis(nc.read(xDim), xDim, path);
  const yv = nc.read(yDim);
  const ys = regularAxis(yv, yDim, path);
  const cols = nc.read(xDim).length;
  const rows = yv.length;
  const flip = ys.step > 0;
  const dy = Math.abs(ys.step);
  const top = flip ? yv[rows - 1]! : yv[0]!;
  const geographic = X_NAMES.indexOf(xDim) >= 1 && X_NAMES.indexOf(xDim) <= 2;
  const grid: Grid = {
    crs: geographic ? 'EPSG:4326' : (opts.crs ?? null),
    x0: xs.first - xs.step / 2,
    y0: top + dy / 2,
    dx: xs.step,
    dy,
    rows,
    cols,
    mask: null,
  };
  const num = (k: string) => {
    const v = nc.attr(name, k);
    return v === undefined ? undefined : Array.isArray(v) ? v[0] : Number(v);
  };
  const scale = num('scale_factor') ?? 1;
  const offset = num('add_offset') ?? 0;
  const fill = num('_FillValue');
  const missing = num('missing_value');
  const f32 = nc.format === 'netCDF-4';
  const isMissing = (v: number) =>
    Number.isNaN(v) ||
    (fill !== undefined && (v === fill || (f32 && v === Math.fround(fill)))) ||
    (missing !== undefined && v === missing);
  const steps: StackStep[] = times.map((time, band) => ({ time, file: path, band }));
  const t = timeline(steps, path);
  return {
    source: path,
    kind: 'netcdf',
    grid,
    ...t,
    nodata: fill ?? missing ?? null,
    units: (nc.attr(name, 'units') as string | undefined) ?? null,
    async read(i) {
      const s = t.steps[i];
      if (!s)
        throw new FieldcalError('VALIDATION', `${path}: step ${i} out of range`, { file: path, step: i });
      const raw = nc.readStep(name, s.band, rows * cols);
      const out = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        const src = (flip ? rows - 1 - r : r) * cols;
        for (let c = 0; c < cols; c++) {
          const v = raw[src + c]!;
          out[r * cols + c] = isMissing(v) ? Number.NaN : v * scale + offset;
        }
      }
      return out;
    },
    async readColumn(row, col) {
      if (!(
        Number.isInteger(row) &&
        Number.isInteger(col) &&
        row >= 0 &&
        row < rows &&
        col >= 0 &&
        col < cols
      )) {
        throw new FieldcalError(
          'VALIDATION',
          `${path}: cell (${row}, ${col}) is outside the ${cols} x ${rows} grid`,
          {
            file: path,
            row,
            col,
          },
        );
      }
      const raw = nc.readColumn(name, flip ? rows - 1 - row : row, col, [times.length, rows, cols]);
      const byBand = Float64Array.from(raw, (v) => (isMissing(v) ? Number.NaN : v * scale + offset));
      // steps are in time order; the file's bands may not be
      return Float64Array.from(t.steps, (s) => byBand[s.band]!);
    },
  };
}

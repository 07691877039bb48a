import type H5 from 'h5wasm/node';
import { NetCDFReader } from 'netcdfjs';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { openRegularFile, readAt } from '../common/safeFile';
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

/** netCDF-3 files are parsed in memory (netcdfjs): the bytes their header declares, at most 1 GiB. */
export const MAX_NC3_BYTES = 2 ** 30;
/** The first bytes read to parse a netCDF-3 header before any data is read. */
const NC3_HEADER_BYTES = 4 * 2 ** 20;

/**
 * Reads a netCDF-3 file in two steps (NetCDF classic format spec): its header from the first bytes,
 * checking that every variable's data (record variables: numrecs records of recsize bytes) lies in
 * the file; then only the bytes the header declares. A damaged header never allocates what the file
 * does not hold, and a large file is refused before it is read.
 */
async function readNc3(path: string): Promise<NetCDFReader> {
  const { fh, size } = await openRegularFile(path);
  try {
    const parse = (buf: Buffer) => new NetCDFReader(buf);
    let head: NetCDFReader;
    let headBytes = Math.min(size, NC3_HEADER_BYTES);
    for (;;) {
      try {
        head = parse(await readAt(fh, 0, headBytes));
        break;
      } catch (err) {
        // a header longer than the first read: read the whole header region once more
        if (headBytes < size && headBytes < 64 * NC3_HEADER_BYTES) {
          headBytes = Math.min(size, headBytes * 8);
          continue;
        }
        throw err;
      }
    }
    const rec = head.recordDimension as { length?: number; recordStep?: number };
    let end = headBytes;
    for (const v of head.variables) {
      const last = v.record
        ? (rec.length ?? 0) > 0
          ? v.offset + ((rec.length ?? 0) - 1) * (rec.recordStep ?? 0) + v.size
          : v.offset
        : v.offset + v.size;
      if (!(Number.isFinite(last) && v.offset >= 0 && last <= size))
        throw new FieldcalError(
          'INVALID_FILE',
          `${path}: variable ${v.name} declares data up to byte ${last}, past the end of the ${size}-byte file`,
          { file: path, field: v.name, problem: 'data past end of file' },
        );
      end = Math.max(end, last);
    }
    if (end > MAX_NC3_BYTES)
      throw new FieldcalError(
        'UNSUPPORTED_FORMAT',
        `${path}: netCDF-3 data of ${end} bytes is more than the ${MAX_NC3_BYTES} bytes read in memory; convert it to netCDF-4`,
        { file: path, sizeBytes: end, maxBytes: MAX_NC3_BYTES },
      );
    return end === headBytes ? head : parse(await readAt(fh, 0, end));
  } finally {
    await fh.close();
  }
}

type H5Module = typeof H5;

async function openNc3(path: string): Promise<NcFile> {
  const reader = await readNc3(path);
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
  try {
    return nc4Of(h5wasm, f);
  } catch (err) {
    f.close();
    throw err;
  }
}

function nc4Of(h5wasm: H5Module, f: InstanceType<H5Module['File']>): NcFile {
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

/** Any error of netcdfjs or h5wasm (`non valid type -1`, `Offset is outside the bounds of the DataView`) as a typed one naming the file. */
function ncError(path: string, err: unknown): FieldcalError {
  if (err instanceof FieldcalError) return err;
  const msg = (err as Error)?.message ?? String(err);
  return new FieldcalError('INVALID_FILE', `${path} is not a readable NetCDF file: ${msg}`, {
    file: path,
    problem: msg,
  });
}

/** Every method of an open file, with library errors turned into typed ones. */
function guarded(path: string, f: NcFile): NcFile {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return fn(...a);
      } catch (err) {
        throw ncError(path, err);
      }
    };
  return {
    format: f.format,
    variables: wrap(f.variables),
    dims: wrap(f.dims),
    attr: wrap(f.attr),
    read: wrap(f.read),
    readStep: wrap(f.readStep),
    readColumn: wrap(f.readColumn),
    close: wrap(f.close),
  };
}

/** Opens a NetCDF file of either format, told apart by its magic bytes. */
async function openNetcdf(path: string): Promise<NcFile> {
  // a FIFO, socket or device is refused before it is opened; the open never blocks
  const { fh } = await openRegularFile(path);
  let magic: Buffer;
  try {
    magic = await readAt(fh, 0, 8);
  } finally {
    await fh.close();
  }
  try {
    if (magic.subarray(0, 3).toString('latin1') === 'CDF') return guarded(path, await openNc3(path));
    if (magic.subarray(1, 4).toString('latin1') === 'HDF') return guarded(path, await openNc4(path));
  } catch (err) {
    throw ncError(path, err);
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
  // attributes come from the file: a number or a list where text is expected is a broken file, not a crash
  for (const [field, v] of [
    ['time:units', units],
    ['time:calendar', calendar],
  ] as const)
    if (v !== undefined && typeof (v as unknown) !== 'string')
      throw new FieldcalError(
        'INVALID_FILE',
        `${file}: the time axis's ${field.slice(5)} attribute is not text`,
        {
          file,
          field,
        },
      );
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
  try {
    return stackOf(nc, path, opts);
  } catch (err) {
    // a refused file is closed at once (an HDF5 handle would otherwise stay open in h5wasm's heap)
    try {
      nc.close();
    } catch {
      // already failing: the first error is the one to report
    }
    throw err;
  }
}

function stackOf(nc: NcFile, path: string, opts: { variable?: string; crs?: string | null }): Stack {
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

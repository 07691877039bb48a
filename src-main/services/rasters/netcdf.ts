import type H5 from 'h5wasm/node';
import { NetCDFReader } from 'netcdfjs';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import proj4 from 'proj4';
import type { z } from 'zod';
import type { ExplicitTime, netcdfDimsSchema } from '../../../src-shared/types/assemble';
import { openRegularFile, readAt } from '../common/safeFile';
import { epsgOfWkt, proj4OfCfGridMapping, rotatedPoleToGeographic, transformer } from './crs';
import { stepTime, timeline, type CurvilinearGeometry, type Stack, type StackStep } from './stack';

/** Which dimension of a variable is time, y and x (by name or position). */
export type NetcdfDims = z.output<typeof netcdfDimsSchema>;

type AttrValue = string | number | number[];

/** The parts of a NetCDF file the stack reader needs, for netCDF-3 (netcdfjs) and netCDF-4 (h5wasm). */
interface NcFile {
  format: 'netCDF-3' | 'netCDF-4';
  variables(): string[];
  dims(name: string): string[];
  /** Lengths of a variable's dimensions. */
  shape(name: string): number[];
  attr(name: string, key: string): AttrValue | undefined;
  /** All values of a variable, flattened row-major. */
  read(name: string): Float64Array;
  /** The hyperslab start[i] .. start[i] + count[i] of a variable, row-major. */
  readSlab(name: string, start: number[], count: number[]): Float64Array;
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
  const rec = reader.recordDimension as { id?: number; length?: number };
  const dimNames = reader.dimensions.map((d) => d.name);
  const dimSizes = reader.dimensions.map((d, i) => (i === rec.id ? (rec.length ?? 0) : d.size));
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
  const shape = (name: string) => (vars.get(name)?.dimensions ?? []).map((i) => dimSizes[i] ?? 0);
  return {
    format: 'netCDF-3',
    variables: () => [...vars.keys()],
    dims: (name) => (vars.get(name)?.dimensions ?? []).map((i) => dimNames[i]!),
    shape,
    attr: (name, key) =>
      (vars.get(name)?.attributes as Array<{ name: string; value: AttrValue }> | undefined)?.find(
        (a) => a.name === key,
      )?.value,
    read,
    readSlab: (name, start, count) => slabOf(read(name), shape(name), start, count),
    close: () => undefined,
  };
}

/** A hyperslab of a row-major array of the given shape. */
function slabOf(all: Float64Array, shape: number[], start: number[], count: number[]): Float64Array {
  const n = count.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += (start[d]! + idx[d]!) * strides[d]!;
    out[k] = all[off]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < count[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
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
  const all = f.keys().filter((k) => f.get(k) instanceof h5wasm.Dataset);
  const ds = (n: string) => f.get(n) as unknown as Ds;
  // a dimension without a coordinate variable is an HDF5 dimension scale the netCDF library marks as such
  const names = all.filter(
    (n) =>
      !String(ds(n).attrs.NAME?.value ?? '').startsWith(
        'This is a netCDF dimension but not a netCDF variable',
      ),
  );
  // netCDF-4 stores dimension ids per variable (_Netcdf4Coordinates) and per dimension scale (_Netcdf4Dimid).
  const dimName = new Map<number, string>();
  for (const n of all) {
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
    shape: (n) => ds(n).shape ?? [],
    attr: attrOf,
    read: (n) => toF64(ds(n).value as ArrayLike<number>),
    readSlab: (n, start, count) =>
      toF64(ds(n).slice(start.map((s0, i) => [s0, s0 + count[i]!])) as ArrayLike<number>),
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
    shape: wrap(f.shape),
    attr: wrap(f.attr),
    read: wrap(f.read),
    readSlab: wrap(f.readSlab),
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

/** UDUNITS time units CF accepts before "since" (CF 1.8, 4.4), in milliseconds. */
const MS: Record<string, number> = {
  millisecond: 1,
  msec: 1,
  second: 1e3,
  sec: 1e3,
  s: 1e3,
  minute: 6e4,
  min: 6e4,
  hour: 3.6e6,
  hr: 3.6e6,
  h: 3.6e6,
  day: 8.64e7,
  d: 8.64e7,
  week: 6.048e8,
};

/** What to tell a user whose time axis cannot be decoded. */
const GIVE_TIME = "give the first step's time and the step (an explicit time: { start, step })";

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
  // CF 1.8 4.4: UDUNITS "month" and "year" are fixed lengths (1/12 of 365.242198781 days), not calendar months
  if (units && /^\s*(months?|years?|yr|common_years?)\s+since\b/i.test(units))
    throw new FieldcalError(
      'UNSUPPORTED_FORMAT',
      `${file}: time units "${units}": CF defines a month or a year as a fixed length (UDUNITS: a year is 365.242198781 days), not a calendar month, so these dates are ambiguous; ${GIVE_TIME}, e.g. step 'monthly'`,
      { file, field: 'time:units' },
    );
  const m =
    units &&
    /^\s*(milliseconds?|msecs?|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?|d|weeks?)\s+since\s+(-?\d{1,4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?)?\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?\s*$/i.exec(
      units,
    );
  if (!m)
    throw new FieldcalError(
      'INVALID_FILE',
      `${file}: time units "${units ?? ''}" are not "<unit> since <date>"; ${GIVE_TIME}`,
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
  let tz = 0;
  const zone = m[8];
  if (zone && /^[+-]/.test(zone)) {
    const z = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(zone)!;
    tz = (z[1] === '-' ? -1 : 1) * (+z[2]! * 60 + +(z[3] ?? 0)) * 60_000;
  }
  const base =
    Date.UTC(+m[2]!, +m[3]! - 1, +m[4]!, +(m[5] ?? 0), +(m[6] ?? 0), 0) + Number(m[7] ?? 0) * 1000 - tz;
  let unit = m[1]!.toLowerCase();
  if (!(unit in MS)) unit = unit.replace(/s$/, '');
  const ms = MS[unit]!;
  return Array.from(values, (v) => new Date(base + Math.round(v * ms)));
}

/** The first step's time of a user-given time axis (`2012-08-01` or `2012-08-01T06:00`, UTC). */
function explicitStartOf(t: ExplicitTime, file: string): Date {
  const d = new Date(/T/.test(t.start) ? t.start.replace(/Z?$/, 'Z') : `${t.start}T00:00:00Z`);
  if (Number.isNaN(d.getTime()))
    throw new FieldcalError('VALIDATION', `${file}: time.start ${t.start} is not a date`, {
      file,
      field: 'time.start',
    });
  return d;
}

/** Options of `openNetcdfStack`. */
export interface NetcdfStackOptions {
  variable?: string;
  /** CRS when the file has neither a grid_mapping nor geographic coordinates. */
  crs?: string | null;
  /** A time axis given by the user: step k at start + k steps; replaces the file's time coordinate. */
  time?: ExplicitTime;
  /** Which dimension is time, y and x (name or position in the variable's dimensions). */
  dims?: NetcdfDims;
}

type Role = 'time' | 'y' | 'x' | 'z';

const X_NAMES = ['x', 'lon', 'longitude', 'rlon', 'easting', 'nav_lon'];
const Y_NAMES = ['y', 'lat', 'latitude', 'rlat', 'northing', 'nav_lat'];
const T_NAMES = ['time', 't', 'date', 'valid_time', 'times'];
const Z_NAMES = ['z', 'lev', 'level', 'height', 'depth', 'plev', 'pressure', 'bnds', 'nv'];
/** Dimension names that say nothing: netCDF-4 without dimension scales, h5py, xarray defaults. */
const MEANINGLESS = /^(dim_?\d+|phony_dim_\d+)$/i;

const LON_UNITS = /^degrees?_?e(ast)?$/i;
const LAT_UNITS = /^degrees?_?n(orth)?$/i;

const str = (v: AttrValue | undefined) => (typeof v === 'string' ? v.trim() : undefined);

/**
 * What a coordinate variable is, from its attributes (CF 1.8, 4: `axis`, `standard_name`, `units`,
 * `positive`, `calendar`), else from its name. `geo`: longitude or latitude (degrees).
 */
function coordinateRole(nc: NcFile, v: string): { role: Role; geo: boolean } | null {
  const axis = str(nc.attr(v, 'axis'))?.toUpperCase();
  const sn = str(nc.attr(v, 'standard_name'))?.toLowerCase();
  const units = str(nc.attr(v, 'units')) ?? '';
  const lonLike = sn === 'longitude' || LON_UNITS.test(units);
  const latLike = sn === 'latitude' || LAT_UNITS.test(units);
  if (axis === 'T' || sn === 'time' || /\bsince\b/i.test(units) || nc.attr(v, 'calendar') !== undefined)
    return { role: 'time', geo: false };
  if (lonLike) return { role: 'x', geo: true };
  if (latLike) return { role: 'y', geo: true };
  if (axis === 'X' || sn === 'projection_x_coordinate' || sn === 'grid_longitude')
    return { role: 'x', geo: false };
  if (axis === 'Y' || sn === 'projection_y_coordinate' || sn === 'grid_latitude')
    return { role: 'y', geo: false };
  if (axis === 'Z' || nc.attr(v, 'positive') !== undefined) return { role: 'z', geo: false };
  const n = v.toLowerCase();
  if (T_NAMES.includes(n)) return { role: 'time', geo: false };
  if (X_NAMES.includes(n)) return { role: 'x', geo: n === 'lon' || n === 'longitude' || n === 'nav_lon' };
  if (Y_NAMES.includes(n)) return { role: 'y', geo: n === 'lat' || n === 'latitude' || n === 'nav_lat' };
  if (Z_NAMES.includes(n)) return { role: 'z', geo: false };
  return null;
}

/** A variable's role from its name only when nothing else says (a dimension without a coordinate variable). */
function nameRole(n: string): Role | null {
  const l = n.toLowerCase();
  if (T_NAMES.includes(l)) return 'time';
  if (X_NAMES.includes(l)) return 'x';
  if (Y_NAMES.includes(l)) return 'y';
  if (Z_NAMES.includes(l)) return 'z';
  return null;
}

/** What each dimension of a variable is, and the 1-D coordinate variable found for it. */
export interface DimensionRoles {
  variable: string;
  dims: string[];
  shape: number[];
  roles: Array<Role | 'unknown'>;
  coords: Array<string | null>;
}

function listAttr(nc: NcFile, v: string, key: string): string[] {
  return (str(nc.attr(v, key)) ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Identifies the time, y and x dimensions of a variable (CF 1.8, 4 and 5): by the coordinate variable
 * named as the dimension; else (dimensions without coordinate variables, or meaningless names such as
 * `dim0`, `phony_dim_1`) by the 1-D variables over that dimension or listed in the variable's
 * `coordinates` attribute or, for meaningless names, any 1-D variable whose attributes say what it is
 * and whose length matches; then by 2-D latitude/longitude variables of the variable's horizontal shape;
 * then by the dimension's name. The user's `dims` override all of it.
 */
function identifyDimensions(nc: NcFile, name: string, file: string, dims?: NetcdfDims): DimensionRoles {
  const d = nc.dims(name);
  const shape = nc.shape(name);
  const roles: Array<Role | 'unknown'> = d.map(() => 'unknown');
  const coords: Array<string | null> = d.map(() => null);
  const vars = nc.variables();
  const oneD = vars.filter((v) => v !== name && nc.dims(v).length === 1);
  const listed = listAttr(nc, name, 'coordinates');
  if (dims) {
    for (const role of ['time', 'y', 'x'] as const) {
      const ref = dims[role];
      const i = typeof ref === 'number' ? ref : d.indexOf(ref);
      if (!(i >= 0 && i < d.length))
        throw new FieldcalError(
          'VALIDATION',
          `${file}: dims.${role} = ${JSON.stringify(ref)} is not a dimension of ${name} (${d.join(', ')})`,
          { file, field: `dims.${role}` },
        );
      if (roles[i] !== 'unknown')
        throw new FieldcalError('VALIDATION', `${file}: dims names dimension ${d[i]} twice`, {
          file,
          field: `dims.${role}`,
        });
      roles[i] = role;
    }
  }
  for (let i = 0; i < d.length; i++) {
    const dim = d[i]!;
    const meaningless = MEANINGLESS.test(dim);
    const own =
      !meaningless && vars.includes(dim) && nc.dims(dim).length === 1 && nc.dims(dim)[0] === dim ? dim : null;
    const candidates = own
      ? [own]
      : [
          ...listed.filter((v) => oneD.includes(v) && nc.shape(v)[0] === shape[i]),
          ...(meaningless
            ? oneD.filter((v) => nc.shape(v)[0] === shape[i])
            : oneD.filter((v) => nc.dims(v)[0] === dim)),
        ];
    const found = [...new Set(candidates)]
      .map((v) => ({ v, r: coordinateRole(nc, v) }))
      .filter((c) => c.r !== null);
    if (roles[i] !== 'unknown') {
      coords[i] = found.find((c) => c.r!.role === roles[i])?.v ?? own ?? null;
      continue;
    }
    const kinds = [...new Set(found.map((c) => c.r!.role))];
    if (kinds.length === 1) {
      roles[i] = kinds[0]!;
      coords[i] = found[0]!.v;
    } else if (kinds.length > 1) {
      // several lengths equal: kept open, the order below decides
      coords[i] = null;
    } else if (!meaningless) {
      roles[i] = nameRole(dim) ?? 'unknown';
    }
    if (own && roles[i] === 'unknown') coords[i] = own;
  }
  if (!dims) {
    // a role claimed by two dimensions (equal lengths with meaningless names): CF order T, Z, Y, X decides
    for (const role of ['time', 'y', 'x', 'z'] as const) {
      const at = roles.flatMap((r, i) => (r === role ? [i] : []));
      if (at.length > 1 && role !== 'z') for (const i of at.slice(1)) roles[i] = 'unknown';
    }
    // 2-D latitude/longitude over two of the dimensions tell y and x
    if (!roles.includes('y') || !roles.includes('x')) {
      const two = vars.filter(
        (v) =>
          v !== name && nc.dims(v).length === 2 && ['x', 'y'].includes(coordinateRole(nc, v)?.role ?? ''),
      );
      for (const v of two) {
        const vd = nc.dims(v);
        const vs = nc.shape(v);
        const pick = (k: 0 | 1) => {
          const byName = d.indexOf(vd[k]!);
          if (byName >= 0 && !MEANINGLESS.test(vd[k]!)) return byName;
          const free = shape.flatMap((n, i) => (n === vs[k] && roles[i] === 'unknown' ? [i] : []));
          return free.length >= 1 ? free[k === 1 && free.length > 1 ? 1 : 0]! : -1;
        };
        const yi = pick(0);
        const xi = pick(1);
        if (yi >= 0 && xi >= 0 && yi !== xi && roles[yi] !== 'time' && roles[xi] !== 'time') {
          roles[yi] = 'y';
          roles[xi] = 'x';
          break;
        }
      }
    }
    // still one role missing and one dimension of length > 1 unknown: by elimination
    const missing = (['time', 'y', 'x'] as const).filter((r) => !roles.includes(r));
    const open = roles.flatMap((r, i) => (r === 'unknown' && shape[i]! > 1 ? [i] : []));
    if (missing.length === 1 && open.length === 1) roles[open[0]!] = missing[0]!;
    // ambiguous y/x only (equal lengths, meaningless names): CF's recommended order, y before x
    if (missing.length === 2 && missing[0] === 'y' && missing[1] === 'x' && open.length === 2) {
      const yc = coords[open[0]!];
      const xc = coords[open[1]!];
      if ((!yc || coordinateRole(nc, yc)?.role !== 'x') && (!xc || coordinateRole(nc, xc)?.role !== 'y')) {
        roles[open[0]!] = 'y';
        roles[open[1]!] = 'x';
      }
    }
  }
  // each role's coordinate variable, once the roles are known
  for (let i = 0; i < d.length; i++) {
    if (roles[i] === 'unknown' || (coords[i] && coordinateRole(nc, coords[i]!)?.role === roles[i])) continue;
    const dim = d[i]!;
    const meaningless = MEANINGLESS.test(dim);
    const cands = [
      ...(vars.includes(dim) && nc.dims(dim).length === 1 ? [dim] : []),
      ...listed.filter((v) => oneD.includes(v) && nc.shape(v)[0] === shape[i]),
      ...oneD.filter((v) => (meaningless ? nc.shape(v)[0] === shape[i] : nc.dims(v)[0] === dim)),
    ];
    coords[i] =
      cands.find((v) => coordinateRole(nc, v)?.role === roles[i]) ??
      (vars.includes(dim) && nc.dims(dim).length === 1 && nc.shape(dim)[0] === shape[i] ? dim : null);
  }
  return { variable: name, dims: d, shape, roles, coords };
}

/** A regular axis: first centre and spacing, or null when the coordinates are not evenly spaced. */
function regularAxis(v: Float64Array): { first: number; step: number } | null {
  if (v.length < 2 || !v.every(Number.isFinite)) return null;
  const step = (v[v.length - 1]! - v[0]!) / (v.length - 1);
  if (step === 0) return null;
  for (let i = 1; i < v.length; i++)
    if (Math.abs(v[i]! - v[i - 1]! - step) > 1e-6 * Math.abs(step)) return null;
  return { first: v[0]!, step };
}

/** Metres per unit of a projection coordinate (`m`, `km`; CF uses UDUNITS lengths). */
function metresPer(units: string | undefined, file: string, v: string): number {
  const u = (units ?? 'm').trim().toLowerCase();
  if (['m', 'metre', 'metres', 'meter', 'meters', '1', ''].includes(u)) return 1;
  if (['km', 'kilometre', 'kilometres', 'kilometer', 'kilometers'].includes(u)) return 1000;
  if (/^degrees?/.test(u) || u === 'rad' || u === 'radians') return 1;
  throw new FieldcalError(
    'UNSUPPORTED_FORMAT',
    `${file}: coordinate ${v} has units "${units}" (m or km expected)`,
    {
      file,
      field: `${v}:units`,
    },
  );
}

/** The CRS of a variable's CF grid mapping (`grid_mapping` attribute, CF 1.8 5.6), when it has one. */
function crsOfGridMapping(
  nc: NcFile,
  name: string,
  file: string,
): {
  crs: string | null;
  rotated: ((rlon: number, rlat: number) => [number, number]) | null;
  mapping: string | null;
} {
  const ref = str(nc.attr(name, 'grid_mapping'));
  if (!ref) return { crs: null, rotated: null, mapping: null };
  // CF 1.7 extended form "crs: x y crs2: lat lon": the first mapping is the one of the dimensions
  const gm = ref.split(/[:\s]+/)[0]!;
  if (!nc.variables().includes(gm))
    throw new FieldcalError(
      'INVALID_FILE',
      `${file}: variable ${name}'s grid_mapping names ${gm}, which is not in the file`,
      {
        file,
        field: `${name}:grid_mapping`,
      },
    );
  const attr = (k: string) => nc.attr(gm, k);
  const mapping = str(attr('grid_mapping_name')) ?? null;
  if (mapping === 'rotated_latitude_longitude') {
    const num = (k: string, d?: number) => {
      const v = attr(k);
      const x = Array.isArray(v) ? v[0] : v === undefined ? d : Number(v);
      if (x === undefined || !Number.isFinite(x))
        throw new FieldcalError('INVALID_FILE', `${file}: grid mapping ${gm} lacks a numeric ${k}`, {
          file,
          field: `${gm}:${k}`,
        });
      return x;
    };
    return {
      crs: 'EPSG:4326',
      rotated: rotatedPoleToGeographic(
        num('grid_north_pole_latitude'),
        num('grid_north_pole_longitude'),
        num('north_pole_grid_longitude', 0),
      ),
      mapping,
    };
  }
  const wkt = str(attr('crs_wkt')) ?? str(attr('spatial_ref'));
  const epsg = wkt ? epsgOfWkt(wkt) : null;
  if (epsg !== null) return { crs: `EPSG:${epsg}`, rotated: null, mapping };
  const code = str(attr('epsg_code'));
  if (code && /^EPSG:\d+$/i.test(code)) return { crs: code.toUpperCase(), rotated: null, mapping };
  if (mapping) {
    try {
      return { crs: proj4OfCfGridMapping(attr, gm), rotated: null, mapping };
    } catch (err) {
      if (!wkt && !str(attr('proj4')) && !str(attr('proj4text'))) {
        const e = err as FieldcalError;
        throw new FieldcalError(e.code ?? 'INVALID_FILE', `${file}: ${e.message}`, {
          file,
          ...(e.details ?? {}),
        });
      }
    }
  }
  const p4 = str(attr('proj4')) ?? str(attr('proj4text')) ?? str(attr('proj4_params'));
  if (p4) return { crs: p4, rotated: null, mapping };
  if (wkt) {
    try {
      proj4(wkt);
      return { crs: wkt, rotated: null, mapping };
    } catch {
      // fall through
    }
  }
  throw new FieldcalError('INVALID_FILE', `${file}: grid mapping ${gm} defines no CRS Fieldcal can read`, {
    file,
    field: gm,
  });
}

/** The variable a stack is read from when none is named: the first data variable with the most dimensions (at least 2). */
function pickVariable(nc: NcFile): string | undefined {
  const vars = nc.variables();
  const aux = new Set<string>();
  for (const v of vars) {
    for (const k of ['coordinates', 'bounds', 'grid_mapping', 'ancillary_variables', 'cell_measures'])
      for (const w of listAttr(nc, v, k)) aux.add(w.replace(/:$/, ''));
  }
  const data = vars.filter((v) => {
    const d = nc.dims(v);
    if (d.length < 2 || aux.has(v) || d.includes(v)) return false;
    const r = coordinateRole(nc, v);
    return !(r && (r.role === 'x' || r.role === 'y') && d.length === 2) && r?.role !== 'time';
  });
  const big = (v: string) => nc.shape(v).filter((n) => n > 1).length;
  return data.sort((a, b) => Math.min(big(b), 3) - Math.min(big(a), 3))[0];
}

/** What each variable of a NetCDF file holds, for the assembler's form (headers only; no values read). */
export async function describeNetcdf(path: string): Promise<
  Array<{
    name: string;
    dims: string[];
    shape: number[];
    units: string | null;
    roles: Array<'time' | 'y' | 'x' | 'unknown'>;
  }>
> {
  const nc = await openNetcdf(path);
  try {
    return nc.variables().map((v) => {
      let roles: Array<'time' | 'y' | 'x' | 'unknown'>;
      try {
        roles = identifyDimensions(nc, v, path).roles.map((r) => (r === 'z' ? 'unknown' : r));
      } catch {
        roles = nc.dims(v).map(() => 'unknown');
      }
      return {
        name: v,
        dims: nc.dims(v),
        shape: nc.shape(v),
        units: str(nc.attr(v, 'units')) ?? null,
        roles,
      };
    });
  } finally {
    nc.close();
  }
}

/**
 * Opens a NetCDF variable as a stack. Its time, y and x dimensions are identified from CF attributes,
 * coordinate variables and shapes (`identifyDimensions`), or named by `dims`; other dimensions must
 * have length 1. Dates come from the CF time coordinate, or from `time` (start + k steps, monthly in
 * calendar months) when the axis is not CF or missing; a (y, x) variable is one step at `time.start`.
 * The CRS comes from the `grid_mapping` variable (CF Appendix F → proj4, or its EPSG-coded WKT), from
 * geographic coordinates (EPSG:4326), else from `crs`. Regular axes give a north-up grid (rows flipped
 * when y increases, columns when x decreases); 2-D latitude/longitude, a rotated pole or irregular
 * axes give a curvilinear stack (`curvilinear`: each cell's lon/lat, values in the file's row order).
 * Packing (scale_factor, add_offset) and _FillValue / missing_value are applied. netCDF-4 steps are
 * read lazily; netcdfjs parses netCDF-3 files in memory.
 */
export async function openNetcdfStack(path: string, opts: NetcdfStackOptions = {}): Promise<Stack> {
  const nc = await openNetcdf(path);
  try {
    return stackOf(nc, path, opts, () => openNetcdf(path));
  } catch (err) {
    // a refused file is closed at once (an HDF5 handle would otherwise stay open in h5wasm's heap)
    try {
      nc.close();
    } catch {
      // already failing: the first error is the one to report
    }
    throw ncError(path, err);
  }
}

function numAttr(nc: NcFile, v: string, k: string): number | undefined {
  const a = nc.attr(v, k);
  if (a === undefined || typeof a === 'string') return undefined;
  const x = Array.isArray(a) ? a[0] : a;
  return x === undefined || !Number.isFinite(Number(x)) ? undefined : Number(x);
}

function stackOf(nc: NcFile, path: string, opts: NetcdfStackOptions, reopen: () => Promise<NcFile>): Stack {
  const name = opts.variable ?? pickVariable(nc);
  if (!name || !nc.variables().includes(name)) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: no variable with dimensions (time, y, x)${opts.variable ? ` named ${opts.variable}` : ''}`,
      { file: path, field: 'variable' },
    );
  }
  const id = identifyDimensions(nc, name, path, opts.dims);
  const { dims, shape, roles, coords } = id;
  const ti = roles.indexOf('time');
  const yi = roles.indexOf('y');
  const xi = roles.indexOf('x');
  const describe = () => dims.map((d, i) => `${d}=${shape[i]} (${roles[i]})`).join(', ');
  if (yi < 0 || xi < 0)
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: cannot tell the y and x dimensions of ${name} (${describe()}); name them with dims: { time, y, x }`,
      { file: path, field: 'dims', variable: name },
    );
  if (ti < 0 && !(opts.time && dims.length === 2))
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: variable ${name} has no time dimension (dimensions ${describe()})${
        dims.length >= 3 ? '; name it with dims: { time, y, x }' : '; a single field needs an explicit time'
      }`,
      { file: path, field: 'time', variable: name },
    );
  for (let i = 0; i < dims.length; i++)
    if (i !== ti && i !== yi && i !== xi && shape[i] !== 1)
      throw new FieldcalError(
        'UNSUPPORTED_FORMAT',
        `${path}: variable ${name} has a dimension ${dims[i]} of length ${shape[i]} besides time, y and x (${describe()}); choose another variable or name the dimensions with dims`,
        { file: path, field: 'dims', variable: name },
      );
  const nt = ti >= 0 ? shape[ti]! : 1;
  // dates
  let times: Date[];
  let hint: ExplicitTime['step'] | undefined;
  if (opts.time) {
    const start = explicitStartOf(opts.time, path);
    times = Array.from({ length: nt }, (_, k) => stepTime(start, opts.time!.step, k));
    hint = opts.time.step;
  } else {
    const tv = coords[ti];
    if (!tv)
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}: dimension ${dims[ti]} of ${name} is time but has no time coordinate; ${GIVE_TIME}`,
        { file: path, field: 'time' },
      );
    times = decodeCfTime(
      nc.read(tv),
      nc.attr(tv, 'units') as string | undefined,
      nc.attr(tv, 'calendar') as string | undefined,
      path,
    );
    if (times.length !== nt)
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}: time coordinate ${tv} has ${times.length} values for ${nt} steps`,
        {
          file: path,
          field: tv,
        },
      );
  }
  // geometry and CRS
  const rows = shape[yi]!;
  const cols = shape[xi]!;
  const gm = crsOfGridMapping(nc, name, path);
  const xv = coords[xi];
  const yv = coords[yi];
  const xRole = xv ? coordinateRole(nc, xv) : null;
  const yRole = yv ? coordinateRole(nc, yv) : null;
  const geographic = !!(xRole?.geo && yRole?.geo);
  const crs = gm.crs ?? (geographic ? 'EPSG:4326' : (opts.crs ?? null));
  let grid: Grid | null = null;
  let curvilinear: CurvilinearGeometry | undefined;
  let flipY = false;
  let flipX = false;
  const xs = xv && nc.shape(xv)[0] === cols ? nc.read(xv) : null;
  const ys = yv && nc.shape(yv)[0] === rows ? nc.read(yv) : null;
  const mesh = (f: (x: number, y: number) => [number, number]) => {
    const lat = new Float64Array(rows * cols);
    const lon = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const [lo, la] = f(xs![c]!, ys![r]!);
        lon[r * cols + c] = lo;
        lat[r * cols + c] = la;
      }
    return { lat, lon, rows, cols };
  };
  if (xs && ys && gm.rotated) {
    curvilinear = mesh(gm.rotated);
  } else if (xs && ys && (crs || !aux2d(nc, name, rows, cols))) {
    const xm = geographic ? 1 : metresPer(str(nc.attr(xv!, 'units')), path, xv!);
    const ym = geographic ? 1 : metresPer(str(nc.attr(yv!, 'units')), path, yv!);
    const ax = regularAxis(xs.map((v) => v * xm));
    const ay = regularAxis(ys.map((v) => v * ym));
    if (ax && ay) {
      flipY = ay.step > 0;
      flipX = ax.step < 0;
      const dx = Math.abs(ax.step);
      const dy = Math.abs(ay.step);
      const left = flipX ? ax.first + ax.step * (cols - 1) : ax.first;
      const top = flipY ? ay.first + ay.step * (rows - 1) : ay.first;
      grid = { crs, x0: left - dx / 2, y0: top + dy / 2, dx, dy, rows, cols, mask: null };
    } else if (geographic) {
      curvilinear = mesh((x, y) => [x, y]);
    } else if (crs) {
      const inv = transformer(crs, 'EPSG:4326');
      curvilinear = mesh((x, y) => inv(x * xm, y * ym));
    } else {
      throw new FieldcalError(
        'UNSUPPORTED_FORMAT',
        `${path}: axes ${xv}/${yv} are not regularly spaced and their CRS is unknown; give the stack's crs`,
        { file: path, field: 'crs' },
      );
    }
  }
  if (!grid && !curvilinear) {
    const two = aux2d(nc, name, rows, cols);
    if (two) {
      const la = nc.read(two.lat);
      const lo = nc.read(two.lon);
      const fillOf = (v: string) => numAttr(nc, v, '_FillValue') ?? numAttr(nc, v, 'missing_value');
      const clean = (a: Float64Array, v: string) => {
        const f = fillOf(v);
        const out = new Float64Array(rows * cols);
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < cols; c++) {
            const x = two.transposed ? a[c * rows + r]! : a[r * cols + c]!;
            out[r * cols + c] = f !== undefined && (x === f || x === Math.fround(f)) ? Number.NaN : x;
          }
        return out;
      };
      curvilinear = { lat: clean(la, two.lat), lon: clean(lo, two.lon), rows, cols };
    } else {
      const gt = gridOfGeoTransform(nc, name);
      if (gt) grid = { crs, ...gt, rows, cols, mask: null };
    }
  }
  if (curvilinear) {
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let k = 0; k < rows * cols; k++) {
      const lo = curvilinear.lon[k]!;
      const la = curvilinear.lat[k]!;
      if (!Number.isFinite(lo) || !Number.isFinite(la)) continue;
      x0 = Math.min(x0, lo);
      x1 = Math.max(x1, lo);
      y0 = Math.min(y0, la);
      y1 = Math.max(y1, la);
    }
    if (!Number.isFinite(x0))
      throw new FieldcalError(
        'INVALID_FILE',
        `${path}: the latitude/longitude of ${name} hold no valid position`,
        {
          file: path,
        },
      );
    const dx = Math.max((x1 - x0) / Math.max(cols - 1, 1), 1e-9);
    const dy = Math.max((y1 - y0) / Math.max(rows - 1, 1), 1e-9);
    grid = { crs: 'EPSG:4326', x0: x0 - dx / 2, y0: y1 + dy / 2, dx, dy, rows, cols, mask: null };
  }
  if (!grid)
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: coordinate variables for ${dims[yi]}/${dims[xi]} are missing (no 1-D y/x axes, no 2-D latitude/longitude, no GeoTransform)`,
      { file: path, field: 'coordinates' },
    );
  const scale = numAttr(nc, name, 'scale_factor') ?? 1;
  const offset = numAttr(nc, name, 'add_offset') ?? 0;
  const fill = numAttr(nc, name, '_FillValue');
  const missing = numAttr(nc, name, 'missing_value');
  const f32 = nc.format === 'netCDF-4';
  const isMissing = (v: number) =>
    Number.isNaN(v) ||
    (fill !== undefined && (v === fill || (f32 && v === Math.fround(fill)))) ||
    (missing !== undefined && (v === missing || (f32 && v === Math.fround(missing))));
  const steps: StackStep[] = times.map((time, band) => ({ time, file: path, band }));
  const t = timeline(steps, path, hint);
  const g = grid;
  // strides of y and x in a slab with time fixed (dimensions in the variable's order)
  const order = dims.map((_, i) => i).filter((i) => i === yi || i === xi);
  const sy = order[0] === yi ? cols : 1;
  const sx = order[0] === yi ? 1 : rows;
  // the open file; `close()` releases it (an HDF5 handle in h5wasm's heap, or netCDF-3 bytes held in
  // memory) and the next read opens the file again, refusing it if the variable changed shape
  let file: NcFile | null = nc;
  let opening: Promise<NcFile> | null = null;
  const handle = (): Promise<NcFile> => {
    if (file) return Promise.resolve(file);
    // a reopen that fails (the file moved or changed) is not kept: the next read tries again
    opening ??= (async () => {
      try {
        const f = await reopen();
        try {
          const now = f.shape(name);
          if (now.length !== shape.length || now.some((n, i) => n !== shape[i]))
            throw new FieldcalError(
              'INVALID_FILE',
              `${path} changed since it was opened: ${name} is now [${now.join(', ')}], was [${shape.join(', ')}]`,
              { file: path, field: name, problem: 'changed since opened' },
            );
        } catch (err) {
          f.close();
          throw err;
        }
        file = f;
        return f;
      } finally {
        opening = null;
      }
    })();
    return opening;
  };
  const slab = (f: NcFile, tIndex: number | null, r: number | null, c: number | null) => {
    const start = dims.map(() => 0);
    const count = dims.map(() => 1);
    if (ti >= 0) {
      start[ti] = tIndex ?? 0;
      count[ti] = tIndex === null ? nt : 1;
    }
    start[yi] = r ?? 0;
    count[yi] = r === null ? rows : 1;
    start[xi] = c ?? 0;
    count[xi] = c === null ? cols : 1;
    return f.readSlab(name, start, count);
  };
  return {
    source: path,
    kind: 'netcdf',
    grid: g,
    ...t,
    ...(curvilinear ? { curvilinear } : {}),
    nodata: fill ?? missing ?? null,
    units: str(nc.attr(name, 'units')) ?? null,
    async read(i) {
      const s = t.steps[i];
      if (!s)
        throw new FieldcalError('VALIDATION', `${path}: step ${i} out of range`, { file: path, step: i });
      const f = await handle();
      let raw: Float64Array;
      try {
        raw = slab(f, s.band, null, null);
      } catch (err) {
        throw ncError(path, err);
      }
      const out = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        const rr = flipY ? rows - 1 - r : r;
        for (let c = 0; c < cols; c++) {
          const v = raw[rr * sy + (flipX ? cols - 1 - c : c) * sx]!;
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
      const f = await handle();
      let raw: Float64Array;
      try {
        raw = slab(f, null, flipY ? rows - 1 - row : row, flipX ? cols - 1 - col : col);
      } catch (err) {
        throw ncError(path, err);
      }
      const byBand = Float64Array.from(raw, (v) => (isMissing(v) ? Number.NaN : v * scale + offset));
      // steps are in time order; the file's bands may not be
      return Float64Array.from(t.steps, (s) => byBand[s.band]!);
    },
    close() {
      const f = file;
      file = null;
      f?.close();
    },
  };
}

/** 2-D latitude/longitude variables over a variable's (y, x) shape (its `coordinates` first, CF 1.8 5.2). */
function aux2d(
  nc: NcFile,
  name: string,
  rows: number,
  cols: number,
): { lat: string; lon: string; transposed: boolean } | null {
  const listed = listAttr(nc, name, 'coordinates');
  const pool = [...listed, ...nc.variables().filter((v) => !listed.includes(v))].filter(
    (v) => v !== name && nc.variables().includes(v) && nc.dims(v).length === 2,
  );
  const find = (role: 'x' | 'y', s: [number, number]) =>
    pool.find((v) => {
      const r = coordinateRole(nc, v);
      const sh = nc.shape(v);
      return r?.role === role && r.geo && sh[0] === s[0] && sh[1] === s[1];
    });
  for (const [s, transposed] of [
    [[rows, cols], false],
    [[cols, rows], true],
  ] as const) {
    const lat = find('y', s as [number, number]);
    const lon = find('x', s as [number, number]);
    if (lat && lon) return { lat, lon, transposed };
  }
  return null;
}

/** GDAL's `GeoTransform` attribute on the grid-mapping variable (written by its netCDF driver), as a grid. */
function gridOfGeoTransform(nc: NcFile, name: string): Omit<Grid, 'crs' | 'rows' | 'cols' | 'mask'> | null {
  const gm = str(nc.attr(name, 'grid_mapping'))?.split(/[:\s]+/)[0];
  const gt = gm && nc.variables().includes(gm) ? str(nc.attr(gm, 'GeoTransform')) : undefined;
  const v = gt?.split(/\s+/).map(Number);
  if (
    !v ||
    v.length !== 6 ||
    !v.every(Number.isFinite) ||
    v[2] !== 0 ||
    v[4] !== 0 ||
    !(v[1]! > 0) ||
    !(v[5]! < 0)
  )
    return null;
  return { x0: v[0]!, y0: v[3]!, dx: v[1]!, dy: -v[5]! };
}

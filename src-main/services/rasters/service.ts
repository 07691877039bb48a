import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import proj4 from 'proj4';
import {
  cellOf,
  FieldcalError,
  type Grid,
  type ArtifactRecord,
  type DatasetRecord,
  type IdentifyResult,
  type RasterSource,
  type RasterStats,
  type RasterView,
  type ServiceImpl,
} from '../../../src-shared/ipc';
import { sizeOnDisk } from '../common/fileTree';
import { crsLabel, proj4Def, transformer } from './crs';
import { GeoTiffRaster, type RasterInfo } from './geotiff';
import { openStack } from './open';
import { dateFromName, gridOfRaster, type Stack } from './stack';

const require = createRequire(import.meta.url);

/**
 * What this service needs of the open project (the project's `ProjectSession` satisfies it). Typed
 * here, not imported, so that rasters/ stays a bottom layer that depends on no other service.
 */
export interface RasterProjectStore {
  info(): { path: string; crs: string | null };
  datasets: { get(id: number): Omit<DatasetRecord, 'status'> };
  runs: { artifact(id: number): ArtifactRecord };
}
export interface RasterProjectSession {
  require(what: string): RasterProjectStore;
}
type ProjectStore = RasterProjectStore;

/** One step of a source, resolved: where its values come from and how to describe them. */
interface Resolved {
  /** Identity of the source's content (project, id, path, size), for the caches. */
  key: string;
  name: string;
  crs: string | null;
  grid: Grid;
  /** 0-based step (band - 1 for artifacts). */
  step: number;
  steps: number;
  stepDates: string[] | null;
  /** What to call each step when undated (band descriptions), for series. */
  stepLabels?: Array<string | null>;
  /** Full-resolution values of the step (NaN = missing) with the units the file states. */
  readStep(): Promise<{ values: Float64Array; units: string | null }>;
  /** The file's value at one cell of the step (NaN = missing). */
  readCell(row: number, col: number): Promise<number>;
  /** Every step's value at one cell, in step order. */
  readColumn(row: number, col: number): Promise<Float64Array>;
  /** Units known without reading pixels (file metadata or the source's name). */
  units: string | null;
}

/** Decoded full-resolution step kept for the next read of the same step (time slider, restyling). */
interface Decoded {
  data: Float32Array<ArrayBuffer>;
  stats: RasterStats;
  units: string | null;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Units of well-known smash inputs by folder or file name: prcp, pet and (simulated) ET are daily
 * depths in mm (smash documentation, "Input data": precipitation and PET in mm per time step, daily here).
 */
export function unitsFromName(path: string): string | null {
  return /(^|[\\/_.\s-])(prcp|pet|et)([\\/_.\s-]|$)/i.test(path) ? 'mm/d' : null;
}

/** Units a GeoTIFF band states: GDAL's band unit type, else a dataset-level UNITS metadata item. */
function unitsOfInfo(info: RasterInfo, band: number): string | null {
  return info.unitTypes[band] ?? info.metadata.UNITS ?? info.metadata.units ?? null;
}

/**
 * Statistics of the valid (non-NaN) values: count, min, max, mean (double-precision sum) and the
 * 2nd and 98th percentiles by linear interpolation between order statistics (Hyndman & Fan 1996,
 * definition 7, numpy's default).
 */
export function valueStats(values: ArrayLike<number>): RasterStats {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) n++;
  if (n === 0) return { count: 0, min: null, max: null, mean: null, p2: null, p98: null };
  const a = new Float64Array(n);
  let k = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    a[k++] = v;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // the two order statistics each percentile needs, by selection (O(n)) instead of a full sort
  const q = (p: number) => {
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    const x = selectKth(a, lo);
    if (lo + 1 >= n || h === lo) return x;
    // after selection every value past `lo` is >= a[lo]: the next order statistic is their minimum
    let y = Infinity;
    for (let i = lo + 1; i < n; i++) if (a[i]! < y) y = a[i]!;
    return x + (h - lo) * (y - x);
  };
  const p2 = q(0.02);
  const p98 = q(0.98);
  return { count: n, min, max, mean: sum / n, p2, p98 };
}

/**
 * Rearranges `a` so that a[k] is its k-th smallest value, smaller ones before and larger ones after
 * (Hoare's selection with median-of-three pivots; Floyd & Rivest 1975 give the expected O(n)).
 */
function selectKth(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as the pivot, moved to a[mid]
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/**
 * Block-averages a row-major raster so neither side exceeds `maxSize`: blocks of f x f cells
 * (f = ceil(max(w, h) / maxSize)), each the mean of its non-NaN cells, NaN when it has none. The
 * last block of a row or column may be partial.
 */
export function blockAverage(
  values: ArrayLike<number>,
  width: number,
  height: number,
  maxSize: number,
): { data: Float32Array<ArrayBuffer>; width: number; height: number; factor: number } {
  const f = Math.max(1, Math.ceil(Math.max(width, height) / maxSize));
  if (f === 1) return { data: Float32Array.from(values), width, height, factor: 1 };
  const w = Math.ceil(width / f);
  const h = Math.ceil(height / f);
  const sum = new Float64Array(w * h);
  const cnt = new Uint32Array(w * h);
  const colBlock = Uint32Array.from({ length: width }, (_, c) => Math.floor(c / f));
  for (let r = 0; r < height; r++) {
    const base = Math.floor(r / f) * w;
    const src = r * width;
    for (let c = 0; c < width; c++) {
      const v = values[src + c]!;
      if (Number.isNaN(v)) continue;
      const k = base + colBlock[c]!;
      sum[k] = sum[k]! + v;
      cnt[k] = cnt[k]! + 1;
    }
  }
  const data = new Float32Array(w * h);
  for (let i = 0; i < data.length; i++) data[i] = cnt[i] ? sum[i]! / cnt[i]! : Number.NaN;
  return { data, width: w, height: h, factor: f };
}

/** Lon/lat bounds of an extent: its 4 corners and 7 points along each edge, transformed; null when it cannot be. */
function extentTo4326(crs: string | null, e: [number, number, number, number]): RasterView['extent4326'] {
  if (!crs) return null;
  try {
    const t = transformer(crs, 'EPSG:4326');
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 0; k <= 8; k++) {
      const fx = e[0] + (k / 8) * (e[2] - e[0]);
      const fy = e[1] + (k / 8) * (e[3] - e[1]);
      for (const [x, y] of [t(fx, e[1]), t(fx, e[3]), t(e[0], fy), t(e[2], fy)]) {
        xs.push(x);
        ys.push(y);
      }
    }
    const out: [number, number, number, number] = [
      Math.min(...xs),
      Math.min(...ys),
      Math.max(...xs),
      Math.max(...ys),
    ];
    return out.every(Number.isFinite) ? out : null;
  } catch {
    return null;
  }
}

/** Opens a GeoTIFF for one call, closing it whatever happens. */
async function withRaster<T>(path: string, fn: (r: GeoTiffRaster) => Promise<T>): Promise<T> {
  const r = await GeoTiffRaster.open(path);
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

/** Small LRU map with a size budget. */
class Lru<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private total = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxSize: number,
    /** Called with each value that leaves the map (evicted, replaced, deleted or cleared). */
    private readonly onLeave?: (value: V) => void,
  ) {}
  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }
  set(key: string, value: V, size = 1): void {
    this.delete(key);
    if (size > this.maxSize) return;
    this.map.set(key, { value, size });
    this.total += size;
    for (const [k] of this.map) {
      if (this.map.size <= this.maxEntries && this.total <= this.maxSize) break;
      this.delete(k);
    }
  }
  delete(key: string): void {
    const e = this.map.get(key);
    if (e) {
      this.total -= e.size;
      this.map.delete(key);
      this.onLeave?.(e.value);
    }
  }
  clear(): void {
    for (const k of [...this.map.keys()]) this.delete(k);
    this.total = 0;
  }
}

/** Parses a proj4 definition, or throws VALIDATION naming `crs`. */
function checkProj4(def: string, crs: string): void {
  try {
    proj4(def);
  } catch (err) {
    throw new FieldcalError(
      'VALIDATION',
      `crs "${crs}" is not a CRS proj4 understands: ${(err as Error).message}`,
      {
        field: 'crs',
        crs,
      },
    );
  }
}

/** Name and units of an EPSG code from the EPSG index, else from the proj4 definition. */
function describeCrs(crs: string, def: string): { name: string | null; units: string | null } {
  const m = /^EPSG:(\d+)$/i.exec(crs.trim());
  let name: string | null = null;
  if (m) {
    try {
      name = (require(`epsg-index/s/${Number(m[1])}.json`) as { name?: string }).name ?? null;
    } catch {
      name = null;
    }
  }
  const unitsParam = /\+units=(\S+)/.exec(def)?.[1];
  const units = /\+proj=(longlat|latlong|lonlat|latlon)\b/.test(def)
    ? 'degree'
    : unitsParam === 'm'
      ? 'm'
      : (unitsParam ?? (/\+proj=/.test(def) ? 'm' : null));
  return { name, units };
}

/**
 * The rasters service: dataset rasters, stack steps, NetCDF slices and run output GeoTIFFs as
 * Float32 views for the map (block-averaged to fit, statistics at full resolution), the file's value
 * at a point, and the time series at a cell.
 */
export function createRastersService(session: RasterProjectSession): ServiceImpl<'rasters'> {
  // an evicted stack releases its file (a NetCDF handle); a read still holding it opens the file again
  const stacks = new Lru<Promise<Stack>>(8, 8, (s) =>
    s.then(
      (st) => st.close?.(),
      () => undefined,
    ),
  );
  /**
   * Folder stacks as whole cubes (Float32, step-major) for time series: one file per step means a
   * series read opens every file; the cube is read once (shared by concurrent callers) and a series
   * at any cell is then a strided copy. Stacks above 64 MB are read per column as before.
   */
  const cubes = new Lru<Promise<Float32Array>>(4, 256 * 2 ** 20);
  const columnOfCube = async (key: string, stack: Stack, row: number, col: number): Promise<Float64Array> => {
    const cells = stack.grid.rows * stack.grid.cols;
    const bytes = cells * stack.steps.length * 4;
    if (bytes > 64 * 2 ** 20 || !(row >= 0 && row < stack.grid.rows && col >= 0 && col < stack.grid.cols))
      return stack.readColumn(row, col);
    let cube = cubes.get(key);
    if (!cube) {
      cube = (async () => {
        const c = new Float32Array(cells * stack.steps.length);
        for (let t = 0; t < stack.steps.length; t++) c.set(await stack.read(t), t * cells);
        return c;
      })();
      cubes.set(key, cube, bytes);
      // a failed read is not kept: the next call tries again (and reports the error itself)
      cube.catch(() => cubes.delete(key));
    }
    const c = await cube;
    const i = row * stack.grid.cols + col;
    return Float64Array.from({ length: stack.steps.length }, (_, t) => c[t * cells + i]!);
  };
  const decoded = new Lru<Decoded>(16, 512 * 2 ** 20);

  const openStackCached = (key: string, path: string, opts: { crs: string | null; variable?: string }) => {
    let s = stacks.get(key);
    if (!s) {
      s = openStack(path, opts);
      stacks.set(key, s);
      s.catch(() => stacks.delete(key));
    }
    return s;
  };

  async function checkSource(path: string, sizeBytes: number | null, what: string): Promise<void> {
    const size = await sizeOnDisk(path).catch(() => null);
    const status = size === null ? 'missing' : sizeBytes === null || size === sizeBytes ? 'ok' : 'changed';
    if (status === 'missing') {
      throw new FieldcalError('NOT_FOUND', `${path} (${what}) is no longer there (moved or deleted)`, {
        file: path,
      });
    }
    if (status === 'changed') {
      throw new FieldcalError(
        'INVALID_FILE',
        `${path} (${what}) changed since it was imported; re-import it`,
        {
          file: path,
        },
      );
    }
  }

  const stepError = (field: string, step: number, steps: number, name: string) =>
    new FieldcalError(
      'VALIDATION',
      `${field} ${step} is out of range for ${name} (${steps === 1 ? 'one step: 0' : `${steps} steps: 0..${steps - 1}`})`,
      { field, value: step, steps },
    );

  async function resolveDataset(
    store: ProjectStore,
    datasetId: number,
    step: number | undefined,
    stepField: string,
  ): Promise<Resolved> {
    const d = store.datasets.get(datasetId);
    const what = `dataset ${d.id} "${d.name}"`;
    if (d.kind !== 'raster' && d.kind !== 'stack' && d.kind !== 'netcdf') {
      throw new FieldcalError('VALIDATION', `${what} is a ${d.kind} dataset, not a raster, stack or NetCDF`, {
        field: 'source.datasetId',
        id: d.id,
        kind: d.kind,
      });
    }
    const key = `${store.info().path}|d${d.id}|${d.sourcePath}|${d.sizeBytes}|${d.checksum}`;
    // the whole-source check walks a stack folder's files: once per opened stack, not on every step
    // (a step's own file is still opened and checked against the stack's grid when it is read)
    if (d.kind === 'raster' || !stacks.get(key)) await checkSource(d.sourcePath, d.sizeBytes, what);
    const projectCrs = store.info().crs;
    const nameUnits = unitsFromName(d.sourcePath) ?? unitsFromName(d.name);
    if (d.kind === 'raster') {
      const info = await withRaster(d.sourcePath, async (r) => r.info);
      const s = step ?? 0;
      if (s !== 0) throw stepError(stepField, s, 1, what);
      const grid = gridOfRaster(info, projectCrs);
      return {
        key: `${key}|0`,
        name: d.name,
        crs: d.crs ?? grid.crs,
        grid,
        step: 0,
        steps: 1,
        stepDates: null,
        units: unitsOfInfo(info, 0) ?? nameUnits,
        readStep: () =>
          withRaster(d.sourcePath, async (r) => ({
            values: await r.readBandValues(0),
            units: unitsOfInfo(r.info, 0) ?? nameUnits,
          })),
        readCell: (row, col) =>
          withRaster(
            d.sourcePath,
            async (r) => (await r.readWindowValues(0, [col, row, col + 1, row + 1]))[0]!,
          ),
        readColumn: async () => {
          throw new FieldcalError('VALIDATION', `${what} is a single raster, not a time stack`, {
            field: 'source.datasetId',
            id: d.id,
          });
        },
      };
    }
    const variable = typeof d.grid?.variable === 'string' ? d.grid.variable : undefined;
    const stack = await openStackCached(key, d.sourcePath, {
      crs: d.crs ?? projectCrs,
      ...(variable ? { variable } : {}),
    });
    const s = step ?? 0;
    if (s >= stack.steps.length) throw stepError(stepField, s, stack.steps.length, what);
    const st = stack.steps[s]!;
    const base = {
      key: `${key}|${s}`,
      name: d.name,
      crs: stack.grid.crs,
      grid: stack.grid,
      step: s,
      steps: stack.steps.length,
      stepDates: stack.steps.map((x) => isoDay(x.time)),
      readColumn: (row: number, col: number) =>
        stack.kind === 'folder' ? columnOfCube(key, stack, row, col) : stack.readColumn(row, col),
    };
    if (stack.kind === 'netcdf') {
      // A NetCDF step is one slice of the variable; a cell is read from that slice.
      return {
        ...base,
        units: stack.units ?? nameUnits,
        readStep: async () => ({ values: await stack.read(s), units: stack.units ?? nameUnits }),
        readCell: async (row, col) => {
          const hit = decoded.get(base.key);
          if (hit) return hit.data[row * stack.grid.cols + col]!;
          return (await stack.read(s))[row * stack.grid.cols + col]!;
        },
      };
    }
    // A folder stack step is one GeoTIFF: read it alone, window reads for cells.
    return {
      ...base,
      units: stack.units ?? nameUnits,
      readStep: () =>
        withRaster(st.file, async (r) => {
          checkSameGrid(r.info, stack.grid, st.file);
          return {
            values: await r.readBandValues(st.band),
            units: unitsOfInfo(r.info, st.band) ?? nameUnits,
          };
        }),
      readCell: (row, col) =>
        withRaster(st.file, async (r) => {
          checkSameGrid(r.info, stack.grid, st.file);
          return (await r.readWindowValues(st.band, [col, row, col + 1, row + 1]))[0]!;
        }),
    };
  }

  async function resolveArtifact(
    store: ProjectStore,
    artifactId: number,
    band: number | undefined,
  ): Promise<Resolved> {
    const a = store.runs.artifact(artifactId);
    const what = `artifact ${a.id} (${a.kind}) of run ${a.runId}`;
    if (!/\.tiff?$/i.test(a.path)) {
      throw new FieldcalError('VALIDATION', `${what} is ${basename(a.path)}, not a GeoTIFF`, {
        field: 'source.artifactId',
        id: a.id,
        file: a.path,
      });
    }
    const st = await stat(a.path).catch(() => null);
    if (!st?.isFile()) {
      throw new FieldcalError('NOT_FOUND', `${a.path} (${what}) is no longer there (moved or deleted)`, {
        file: a.path,
      });
    }
    if (a.sizeBytes !== null && st.size !== a.sizeBytes) {
      throw new FieldcalError('INVALID_FILE', `${a.path} (${what}) changed since the run wrote it`, {
        file: a.path,
        expectedBytes: a.sizeBytes,
        actualBytes: st.size,
      });
    }
    const info = await withRaster(a.path, async (r) => r.info);
    const b = (band ?? 1) - 1;
    if (b >= info.bands) {
      throw new FieldcalError(
        'VALIDATION',
        `source.band ${b + 1} is out of range for ${what} (${info.bands} band${info.bands === 1 ? '' : 's'}: 1..${info.bands})`,
        { field: 'source.band', value: b + 1, bands: info.bands },
      );
    }
    const grid = gridOfRaster(info, store.info().crs);
    const dates = info.descriptions.map((d) => (d ? dateFromName(d.replace(/[-:T ]/g, '')) : null));
    const dated = dates.every((d) => d !== null);
    const nameUnits = unitsFromName(a.path);
    const path = a.path;
    return {
      key: `${store.info().path}|a${a.id}|${a.path}|${st.size}|${st.mtimeMs}|${b}`,
      name: basename(a.path).replace(/\.tiff?$/i, ''),
      crs: crsLabel(info.crs) ?? grid.crs,
      grid,
      step: b,
      steps: info.bands,
      stepDates: dated ? dates.map((d) => isoDay(d!)) : null,
      stepLabels: info.descriptions,
      units: unitsOfInfo(info, b) ?? nameUnits,
      readStep: () =>
        withRaster(path, async (r) => ({
          values: await r.readBandValues(b),
          units: unitsOfInfo(r.info, b) ?? nameUnits,
        })),
      readCell: (row, col) =>
        withRaster(path, async (r) => (await r.readWindowValues(b, [col, row, col + 1, row + 1]))[0]!),
      readColumn: (row, col) =>
        withRaster(path, async (r) => {
          const out = new Float64Array(r.info.bands);
          for (let k = 0; k < out.length; k++)
            out[k] = (await r.readWindowValues(k, [col, row, col + 1, row + 1]))[0]!;
          return out;
        }),
    };
  }

  /** One GeoTIFF minus the same band of another on the same grid, value by value (NaN where either is missing). */
  async function resolveDifference(
    store: ProjectStore,
    artifactId: number,
    minusId: number,
    band: number | undefined,
  ): Promise<Resolved> {
    const a = await resolveArtifact(store, artifactId, band);
    const b = await resolveArtifact(store, minusId, band);
    const ga = a.grid;
    const gb = b.grid;
    if (
      ga.rows !== gb.rows ||
      ga.cols !== gb.cols ||
      ga.x0 !== gb.x0 ||
      ga.y0 !== gb.y0 ||
      ga.dx !== gb.dx ||
      ga.dy !== gb.dy
    )
      throw new FieldcalError(
        'VALIDATION',
        `source.minusArtifactId: ${b.name} (${gb.cols} x ${gb.rows}) is not on the grid of ${a.name} (${ga.cols} x ${ga.rows})`,
        { field: 'source.minusArtifactId' },
      );
    const sub = (x: ArrayLike<number>, y: ArrayLike<number>) => Float64Array.from(x, (v, i) => v - y[i]!);
    return {
      ...a,
      key: `${a.key}|minus|${b.key}`,
      name: `${a.name} - ${b.name}`,
      readStep: async () => {
        const [x, y] = [await a.readStep(), await b.readStep()];
        return { values: sub(x.values, y.values), units: x.units };
      },
      readCell: async (row, col) => (await a.readCell(row, col)) - (await b.readCell(row, col)),
      readColumn: async (row, col) => sub(await a.readColumn(row, col), await b.readColumn(row, col)),
    };
  }

  function resolve(store: ProjectStore, source: RasterSource): Promise<Resolved> {
    if ('datasetId' in source) return resolveDataset(store, source.datasetId, source.step, 'source.step');
    return source.minusArtifactId
      ? resolveDifference(store, source.artifactId, source.minusArtifactId, source.band)
      : resolveArtifact(store, source.artifactId, source.band);
  }

  async function decode(r: Resolved): Promise<Decoded> {
    const hit = decoded.get(r.key);
    if (hit) return hit;
    const { values, units } = await r.readStep();
    if (values.length !== r.grid.rows * r.grid.cols) {
      throw new FieldcalError(
        'INVALID_FILE',
        `${r.name}: decoded ${values.length} values for a ${r.grid.cols} x ${r.grid.rows} grid`,
        {
          name: r.name,
        },
      );
    }
    const d: Decoded = { data: Float32Array.from(values), stats: valueStats(values), units };
    decoded.set(r.key, d, d.data.byteLength);
    return d;
  }

  /** The cell of a point in a raster, or null when the point is outside it or cannot be transformed. */
  function cellAt(
    r: Resolved,
    point: { x: number; y: number; crs: string },
  ): { row: number; col: number } | null {
    let x = point.x;
    let y = point.y;
    if (r.crs && point.crs !== r.crs) {
      try {
        [x, y] = transformer(point.crs, r.crs)(point.x, point.y);
      } catch (err) {
        if (err instanceof FieldcalError && err.code === 'UNSUPPORTED_FORMAT') throw err;
        return null;
      }
    }
    // A raster without a CRS is addressed in its own coordinates.
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
    return cellOf(r.grid, x, y);
  }

  return {
    crs: ({ crs }) => {
      const def = proj4Def(crs);
      checkProj4(def, crs);
      return { crs, proj4: def, ...describeCrs(crs, def) };
    },

    read: async ({ source, maxSize }) => {
      const store = session.require('rasters.read');
      const r = await resolve(store, source);
      const d = await decode(r);
      const g = r.grid;
      const b = blockAverage(d.data, g.cols, g.rows, maxSize ?? 1024);
      const extent: [number, number, number, number] = [
        g.x0,
        g.y0 - b.height * b.factor * g.dy,
        g.x0 + b.width * b.factor * g.dx,
        g.y0,
      ];
      return {
        name: r.name,
        width: b.width,
        height: b.height,
        sourceWidth: g.cols,
        sourceHeight: g.rows,
        crs: r.crs,
        extent,
        extent4326: extentTo4326(r.crs, extent),
        data: b.data,
        stats: d.stats,
        units: d.units ?? r.units,
        date: r.stepDates?.[r.step] ?? null,
        step: r.step,
        steps: r.steps,
        stepDates: r.stepDates,
      };
    },

    identify: async ({ point, sources }) => {
      const store = session.require('rasters.identify');
      const out: IdentifyResult[] = [];
      for (const [i, source] of sources.entries()) {
        const r =
          'datasetId' in source
            ? await resolveDataset(store, source.datasetId, source.step, `sources.${i}.step`)
            : await resolve(store, source);
        const cell = cellAt(r, point);
        const v = cell ? await r.readCell(cell.row, cell.col) : Number.NaN;
        out.push({
          source,
          name: r.name,
          row: cell?.row ?? null,
          col: cell?.col ?? null,
          value: Number.isFinite(v) ? v : null,
          units: r.units,
          date: r.stepDates?.[r.step] ?? null,
        });
      }
      return out;
    },

    series: async ({ source, point }) => {
      const store = session.require('rasters.series');
      const r = await resolve(store, source);
      const cell = cellAt(r, point);
      if (!cell) {
        throw new FieldcalError(
          'VALIDATION',
          `point (${point.x}, ${point.y}) in ${point.crs} is outside ${r.name}${r.crs ? ` (${r.crs})` : ''}`,
          { field: 'point', x: point.x, y: point.y, crs: point.crs },
        );
      }
      const values = await r.readColumn(cell.row, cell.col);
      return {
        name: r.name,
        row: cell.row,
        col: cell.col,
        dates: r.stepDates ?? Array.from({ length: r.steps }, (_, k) => r.stepLabels?.[k] ?? `band ${k + 1}`),
        values: Float32Array.from(values),
        units: r.units,
      };
    },
  };
}

/** A folder-stack file must still be on the stack's grid (it may have been replaced since import). */
function checkSameGrid(info: RasterInfo, grid: Grid, file: string): void {
  if (info.width !== grid.cols || info.height !== grid.rows) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${file} is ${info.width} x ${info.height}, not the stack's ${grid.cols} x ${grid.rows}; re-import the stack`,
      { file },
    );
  }
}

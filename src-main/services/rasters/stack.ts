import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { crsLabel } from './crs';
import { GeoTiffRaster, type RasterInfo } from './geotiff';

/** One time step of a stack: where its values live. */
export interface StackStep {
  time: Date;
  file: string;
  band: number;
}

/** A gap in a stack: steps missing between two present ones. Reported, never filled in. */
export interface StackGap {
  after: Date;
  before: Date;
  missing: number;
}

/** A time stack of rasters on one grid, read lazily step by step. */
export interface Stack {
  source: string;
  kind: 'folder' | 'multiband' | 'netcdf';
  grid: Grid;
  steps: StackStep[];
  stepSeconds: number;
  gaps: StackGap[];
  nodata: number | null;
  units: string | null;
  /** Reads one step as Float64 (missing = NaN, scale/offset applied). */
  read(index: number): Promise<Float64Array>;
  /** Reads every step's value at one cell, in step order, without decoding whole steps where the format allows. */
  readColumn(row: number, col: number): Promise<Float64Array>;
}

/** Every step's value at one cell of GeoTIFF-backed steps, one 1-pixel window read per step. */
async function readColumnOfFiles(
  steps: StackStep[],
  grid: Grid,
  row: number,
  col: number,
): Promise<Float64Array> {
  if (!(
    Number.isInteger(row) &&
    Number.isInteger(col) &&
    row >= 0 &&
    row < grid.rows &&
    col >= 0 &&
    col < grid.cols
  )) {
    throw new FieldcalError(
      'VALIDATION',
      `cell (${row}, ${col}) is outside the ${grid.cols} x ${grid.rows} grid`,
      {
        row,
        col,
      },
    );
  }
  const out = new Float64Array(steps.length);
  let open: GeoTiffRaster | null = null;
  try {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      if (open?.info.path !== s.file) {
        await open?.close();
        open = null;
        open = await GeoTiffRaster.open(s.file);
      }
      out[i] = (await open.readWindowValues(s.band, [col, row, col + 1, row + 1]))[0]!;
    }
  } finally {
    await open?.close();
  }
  return out;
}

/** The date in a file name: the first run of 8 (YYYYmmdd), 10 (…HH), 12 (…HHMM) or 14 (…SS) digits. */
export function dateFromName(name: string): Date | null {
  const m = /(?<!\d)(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?!\d)/.exec(name);
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((v) => v ?? '0') as string[];
  const dt = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s));
  return dt.getUTCMonth() === +mo! - 1 && dt.getUTCDate() === +d! && +h < 24 && +mi < 60 ? dt : null;
}

/** The grid of a GeoTIFF (north-up only; rotated rasters are refused for model grids). */
export function gridOfRaster(info: RasterInfo, fallbackCrs: string | null = null): Grid {
  const gt = info.geoTransform;
  if (gt[2] !== 0 || gt[4] !== 0) {
    throw new FieldcalError('UNSUPPORTED_FORMAT', `${info.path} is rotated; warp it north-up first`, {
      file: info.path,
    });
  }
  if (gt[5] >= 0) {
    throw new FieldcalError('UNSUPPORTED_FORMAT', `${info.path} is not north-up (pixel height ${gt[5]})`, {
      file: info.path,
    });
  }
  return {
    crs: info.crs.epsg !== null ? crsLabel(info.crs) : fallbackCrs,
    x0: gt[0],
    y0: gt[3],
    dx: gt[1],
    dy: -gt[5],
    rows: info.height,
    cols: info.width,
    mask: null,
  };
}

const sameGrid = (a: Grid, b: Grid) =>
  a.rows === b.rows &&
  a.cols === b.cols &&
  Math.abs(a.x0 - b.x0) < 1e-6 * a.dx &&
  Math.abs(a.y0 - b.y0) < 1e-6 * a.dy &&
  Math.abs(a.dx - b.dx) < 1e-9 * a.dx &&
  Math.abs(a.dy - b.dy) < 1e-9 * a.dy;

/** Sorts steps, refuses duplicates, finds the step and the gaps. */
export function timeline(
  steps: StackStep[],
  source: string,
): { steps: StackStep[]; stepSeconds: number; gaps: StackGap[] } {
  const sorted = [...steps].sort((a, b) => a.time.getTime() - b.time.getTime());
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.time.getTime() === sorted[i - 1]!.time.getTime()) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${source}: two files for ${sorted[i]!.time.toISOString()}: ${sorted[i - 1]!.file} and ${sorted[i]!.file}`,
        {
          file: sorted[i]!.file,
          duplicateOf: sorted[i - 1]!.file,
          time: sorted[i]!.time.toISOString(),
        },
      );
    }
  }
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++)
    step = Math.min(step, sorted[i]!.time.getTime() - sorted[i - 1]!.time.getTime());
  const gaps: StackGap[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const dt = sorted[i]!.time.getTime() - sorted[i - 1]!.time.getTime();
    const k = dt / step;
    if (Math.abs(k - Math.round(k)) > 1e-9) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${source}: ${sorted[i]!.file} is not on the stack's regular step of ${step / 1000} s`,
        { file: sorted[i]!.file },
      );
    }
    if (Math.round(k) > 1)
      gaps.push({ after: sorted[i - 1]!.time, before: sorted[i]!.time, missing: Math.round(k) - 1 });
  }
  return { steps: sorted, stepSeconds: Number.isFinite(step) ? step / 1000 : 0, gaps };
}

async function listTiffs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listTiffs(p)));
    else if (/\.tiff?$/i.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Opens a folder of one GeoTIFF per step with the date in each file name, subfolders allowed
 * (smash: `prcp/2012/08/201208010000_PT.tif`). Every header is checked against the first grid.
 */
export async function openFolderStack(dir: string, opts: { crs?: string | null } = {}): Promise<Stack> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new FieldcalError('NOT_FOUND', `${dir} is not a folder`, { file: dir });
  const files = (await listTiffs(dir)).sort();
  if (files.length === 0)
    throw new FieldcalError('INVALID_FILE', `${dir} holds no GeoTIFF files`, { file: dir });
  const steps: StackStep[] = [];
  let grid: Grid | null = null;
  let first: RasterInfo | null = null;
  for (const file of files) {
    const time = dateFromName(relative(dir, file).replace(/.*[/\\]/, ''));
    if (!time)
      throw new FieldcalError('INVALID_FILE', `${file}: no date (YYYYmmdd[HHMM]) in the file name`, {
        file,
        problem: 'unparseable date',
      });
    const r = await GeoTiffRaster.open(file);
    await r.close();
    const g = gridOfRaster(r.info, opts.crs ?? null);
    if (!grid || !first) {
      grid = g;
      first = r.info;
    } else if (!sameGrid(grid, g) || r.info.bands !== first.bands) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${file} is on a different grid (${g.cols} x ${g.rows} at ${g.x0}, ${g.y0}) than ${first.path} (${grid.cols} x ${grid.rows} at ${grid.x0}, ${grid.y0})`,
        {
          file,
          reference: first.path,
        },
      );
    }
    steps.push({ time, file, band: 0 });
  }
  const t = timeline(steps, dir);
  return {
    source: dir,
    kind: 'folder',
    grid: grid!,
    ...t,
    nodata: first!.nodata,
    units: null,
    async read(i) {
      const s = t.steps[i];
      if (!s)
        throw new FieldcalError('VALIDATION', `${dir}: step ${i} out of range (0..${t.steps.length - 1})`, {
          file: dir,
          step: i,
        });
      const r = await GeoTiffRaster.open(s.file);
      try {
        return await r.readBandValues(s.band);
      } finally {
        await r.close();
      }
    },
    readColumn: (row, col) => readColumnOfFiles(t.steps, grid!, row, col),
  };
}

/**
 * Opens a multi-band GeoTIFF as a stack: band dates from band descriptions or band DATE metadata,
 * else from a start date and step the user gives.
 */
export async function openMultibandStack(
  path: string,
  opts: { start?: Date; stepSeconds?: number; crs?: string | null } = {},
): Promise<Stack> {
  const r = await GeoTiffRaster.open(path);
  await r.close();
  const info = r.info;
  const fromMeta = info.descriptions.map((d) => (d ? dateFromName(d.replace(/[-:T ]/g, '')) : null));
  let steps: StackStep[];
  if (fromMeta.every((d) => d !== null)) {
    steps = fromMeta.map((time, band) => ({ time: time!, file: path, band }));
  } else if (opts.start && opts.stepSeconds) {
    steps = info.descriptions.map((_, band) => ({
      time: new Date(opts.start!.getTime() + band * opts.stepSeconds! * 1000),
      file: path,
      band,
    }));
  } else {
    throw new FieldcalError(
      'VALIDATION',
      `${path}: band dates are not in the file; give a start date and a step`,
      { file: path, field: 'start' },
    );
  }
  const t = timeline(steps, path);
  return {
    source: path,
    kind: 'multiband',
    grid: gridOfRaster(info, opts.crs ?? null),
    ...t,
    nodata: info.nodata,
    units: null,
    async read(i) {
      const s = t.steps[i];
      if (!s)
        throw new FieldcalError('VALIDATION', `${path}: step ${i} out of range`, { file: path, step: i });
      const rr = await GeoTiffRaster.open(path);
      try {
        return await rr.readBandValues(s.band);
      } finally {
        await rr.close();
      }
    },
    readColumn: (row, col) => readColumnOfFiles(t.steps, gridOfRaster(info, opts.crs ?? null), row, col),
  };
}

import { FieldcalError, type GeoTransform } from '../../../src-shared/ipc';
import { formatG } from './format';
import { castToPixelType, GeoTiffRaster, type PixelType, type RasterInfo } from './geotiff';
import { describeNetcdf, openNetcdfStack, type NetcdfStackOptions } from './netcdf';
import type { Stack } from './stack';

/** Band statistics over valid cells (nodata and NaN excluded), as `gdalinfo -stats` computes them. */
export interface BandStats {
  minimum: number | null;
  maximum: number | null;
  mean: number | null;
  /** Population standard deviation (GDAL's STATISTICS_STDDEV). */
  stdDev: number | null;
  validCount: number;
  validPercent: number;
}

/** Statistics of raw band values. */
export function bandStats(values: ArrayLike<number>, nodata: number | null, type: PixelType): BandStats {
  const nd = nodata === null ? null : castToPixelType(nodata, type);
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v) || v === nd) continue;
    n++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0)
    return { minimum: null, maximum: null, mean: null, stdDev: null, validCount: 0, validPercent: 0 };
  const mean = sum / n;
  // Second pass around the mean: exact for the data GDAL sees, no cancellation.
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v) || v === nd) continue;
    ss += (v - mean) * (v - mean);
  }
  return {
    minimum: min,
    maximum: max,
    mean,
    stdDev: Math.sqrt(ss / n),
    validCount: n,
    validPercent: (100 * n) / values.length,
  };
}

/** A gdalinfo-like summary of one GeoTIFF. */
export interface RasterSummary {
  driver: 'GTiff';
  file: string;
  size: [number, number];
  geoTransform: GeoTransform;
  areaOrPoint: 'Area' | 'Point';
  crs: RasterInfo['crs'];
  compression: string;
  tiled: boolean;
  block: [number, number];
  metadata: Record<string, string>;
  bands: Array<
    {
      band: number;
      type: PixelType;
      noDataValue: number | null;
      description: string | null;
      scale: number;
      offset: number;
    } & BandStats
  >;
}

/** Reads a GeoTIFF and summarises it with per-band statistics. */
export async function inspectGeoTiff(path: string): Promise<RasterSummary> {
  const r = await GeoTiffRaster.open(path);
  try {
    // statistics only for a file whose every strip or tile decodes
    await r.verifyAll();
    const info = r.info;
    const bands: RasterSummary['bands'] = [];
    for (let b = 0; b < info.bands; b++) {
      const raw = await r.readBand(b);
      bands.push({
        band: b + 1,
        type: info.pixelType,
        noDataValue: info.nodata,
        description: info.descriptions[b] ?? null,
        scale: info.scale[b] ?? 1,
        offset: info.offset[b] ?? 0,
        ...bandStats(raw, info.nodata, info.pixelType),
      });
    }
    return {
      driver: 'GTiff',
      file: path,
      size: [info.width, info.height],
      geoTransform: info.geoTransform,
      areaOrPoint: info.areaOrPoint,
      crs: info.crs,
      compression: info.compression,
      tiled: info.tiled,
      block: [info.blockWidth, info.blockHeight],
      metadata: info.metadata,
      bands,
    };
  } finally {
    await r.close();
  }
}

/**
 * Every cell of one band as `x y value` at cell centres, formatted as GDAL's XYZ driver does
 * (`%.18g` for coordinates and floating-point values, `%d` for integers), row by row.
 */
export async function* xyzLines(path: string, band = 0): AsyncGenerator<string> {
  const r = await GeoTiffRaster.open(path);
  try {
    const { width, height, geoTransform: gt, pixelType } = r.info;
    const data = await r.readBand(band);
    const isFloat = pixelType === 'Float32' || pixelType === 'Float64';
    for (let row = 0; row < height; row++) {
      const lines: string[] = [];
      for (let col = 0; col < width; col++) {
        const x = gt[0] + (col + 0.5) * gt[1] + (row + 0.5) * gt[2];
        const y = gt[3] + (col + 0.5) * gt[4] + (row + 0.5) * gt[5];
        const v = data[row * width + col]!;
        lines.push(`${formatG(x)} ${formatG(y)} ${isFloat ? formatG(v) : String(v)}`);
      }
      yield lines.join('\n');
    }
  } finally {
    await r.close();
  }
}

/** Options to open a NetCDF variable for inspection (as `openNetcdfStack` takes them). */
export type NetcdfInspectOptions = NetcdfStackOptions;

/** A NetCDF summary: its variables with the role of each dimension, the chosen variable's stack and per-step statistics. */
export interface NetcdfSummary {
  driver: 'netCDF';
  file: string;
  variables: Awaited<ReturnType<typeof describeNetcdf>>;
  kind: 'netcdf';
  source: string;
  grid: Omit<Stack['grid'], 'mask'> & { mask: null };
  curvilinear: boolean;
  units: string | null;
  nodata: number | null;
  steps: number;
  first: string | null;
  last: string | null;
  stepSeconds: number;
  step: string | null;
  gaps: Array<{ after: string; before: string; missing: number }>;
  /** Over every step: the statistics `gdalinfo -stats` gives for one band, here of all values read (unpacked). */
  statistics: BandStats | null;
  bands: Array<{ band: number; time: string } & BandStats>;
}

/** Summarises a NetCDF variable: values unpacked (scale_factor, add_offset) with fill values excluded. */
export async function inspectNetcdf(path: string, opts: NetcdfInspectOptions = {}): Promise<NetcdfSummary> {
  const variables = await describeNetcdf(path);
  const s = await openNetcdfStack(path, opts);
  const bands: NetcdfSummary['bands'] = [];
  const all: number[] = [];
  let cells = 0;
  try {
    for (let i = 0; i < s.steps.length; i++) {
      const v = await s.read(i);
      cells += v.length;
      for (const x of v) if (!Number.isNaN(x)) all.push(x);
      bands.push({ band: i + 1, time: s.steps[i]!.time.toISOString(), ...bandStats(v, null, 'Float64') });
    }
  } finally {
    s.close?.();
  }
  const total = bandStats(all, null, 'Float64');
  return {
    driver: 'netCDF',
    file: path,
    variables,
    kind: 'netcdf',
    source: s.source,
    grid: { ...s.grid, mask: null },
    curvilinear: !!s.curvilinear,
    units: s.units,
    nodata: s.nodata,
    steps: s.steps.length,
    first: s.steps[0]?.time.toISOString() ?? null,
    last: s.steps.at(-1)?.time.toISOString() ?? null,
    stepSeconds: s.stepSeconds,
    step: s.step ?? null,
    gaps: s.gaps.map((g) => ({
      after: g.after.toISOString(),
      before: g.before.toISOString(),
      missing: g.missing,
    })),
    statistics: total.validCount ? { ...total, validPercent: (100 * total.validCount) / cells } : null,
    bands,
  };
}

/**
 * Every cell of one time step (band, 0-based) of a NetCDF variable as `x y value`, north row first, as
 * `gdal_translate -of XYZ NETCDF:file:var -b band+1` prints it (`%.18g`): cell centres of the regular
 * grid, or each cell's longitude latitude on a curvilinear grid (file order). Values are unpacked
 * (GDAL prints packed integers raw); a missing cell prints the fill value, as GDAL does.
 */
export async function* netcdfXyzLines(
  path: string,
  band = 0,
  opts: NetcdfInspectOptions = {},
): AsyncGenerator<string> {
  const s = await openNetcdfStack(path, opts);
  let v: Float64Array;
  try {
    if (!(Number.isInteger(band) && band >= 0 && band < s.steps.length))
      throw new FieldcalError(
        'VALIDATION',
        `${path}: band ${band + 1} is not one of the ${s.steps.length} time steps`,
        {
          file: path,
          field: 'band',
        },
      );
    v = await s.read(band);
  } finally {
    s.close?.();
  }
  const { rows, cols, x0, y0, dx, dy } = s.grid;
  const cv = s.curvilinear;
  const missing = s.nodata === null ? 'nan' : formatG(s.nodata);
  for (let r = 0; r < rows; r++) {
    const lines: string[] = [];
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c;
      const x = cv ? cv.lon[k]! : x0 + (c + 0.5) * dx;
      const y = cv ? cv.lat[k]! : y0 - (r + 0.5) * dy;
      const val = v[k]!;
      lines.push(`${formatG(x)} ${formatG(y)} ${Number.isNaN(val) ? missing : formatG(val)}`);
    }
    yield lines.join('\n');
  }
}

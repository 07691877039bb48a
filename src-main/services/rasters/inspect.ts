import type { GeoTransform } from '../../../src-shared/ipc';
import { formatG } from './format';
import { castToPixelType, GeoTiffRaster, type PixelType, type RasterInfo } from './geotiff';

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

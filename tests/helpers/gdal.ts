import { execFileSync, spawnSync } from 'node:child_process';

/** True when GDAL's command-line tools are installed (the test command installs gdal-bin). */
export const hasGdal = spawnSync('gdalinfo', ['--version'], { encoding: 'utf8' }).status === 0;

// No .aux.xml side files next to fixtures.
const env = { ...process.env, GDAL_PAM_ENABLED: 'NO' };

/** `gdalinfo -json -stats` of a file. */
export function gdalinfoJson(path: string): GdalInfo {
  return JSON.parse(
    execFileSync('gdalinfo', ['-json', '-stats', path], { encoding: 'utf8', env, maxBuffer: 1 << 26 }),
  ) as GdalInfo;
}

/** `gdal_translate -of XYZ` of one band, as lines. */
export function gdalXyz(path: string, band = 1): string[] {
  const out = execFileSync('gdal_translate', ['-q', '-of', 'XYZ', '-b', String(band), path, '/vsistdout/'], {
    encoding: 'utf8',
    env,
    maxBuffer: 1 << 28,
  });
  return out.split('\n').filter((l) => l.length > 0);
}

export interface GdalInfo {
  size: [number, number];
  geoTransform: number[];
  coordinateSystem?: { wkt: string };
  metadata?: Record<string, Record<string, string>>;
  bands: Array<{
    band: number;
    type: string;
    noDataValue?: number | string;
    description?: string;
    scale?: number;
    offset?: number;
    metadata?: Record<string, Record<string, string>>;
  }>;
}

/** The EPSG code GDAL identified for the whole CRS (the last top-level ID in its WKT), if any. */
export function gdalEpsg(info: GdalInfo): number | null {
  const wkt = info.coordinateSystem?.wkt;
  if (!wkt) return null;
  const m = /ID\["EPSG",(\d+)\]\]\s*$/.exec(wkt);
  return m ? Number(m[1]) : null;
}

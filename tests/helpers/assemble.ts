import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Grid } from '../../src-shared/ipc';
import { openFolderStack } from '../../src-main/services/rasters/stack';

/**
 * Shared by the assembler's tests (issue 15): the Lez's own data read into arrays (to be written
 * again in other formats), a NetCDF writer for arrays computed here (scipy, netCDF-3), and GDAL's
 * readings of cells (`gdallocationinfo -valonly`, by pixel/line or by coordinates in a CRS).
 */

export const LEZ = resolve('resources/sample-data/lez');

/** True when scipy and numpy can write the NetCDF fixtures. */
export const hasScipy =
  spawnSync('python3', ['-c', 'import scipy.io, numpy'], { encoding: 'utf8' }).status === 0;

const env = { ...process.env, GDAL_PAM_ENABLED: 'NO' };

/** GDAL's reading of one cell (gdallocationinfo, pixel/line, band 1-based). */
export function gdalAt(file: string, col: number, row: number, band = 1): number {
  return Number(
    execFileSync('gdallocationinfo', ['-valonly', '-b', String(band), file, String(col), String(row)], {
      encoding: 'utf8',
      env,
    }).trim(),
  );
}

/**
 * GDAL's readings of many cells of one band in one call: `points` are pixel/line pairs, or
 * coordinates in `srs` (`-l_srs`: GDAL transforms each point into the file's CRS and reads the cell
 * holding it), or in the file's own georeferencing (`geoloc`). A point outside the raster reads NaN.
 */
export function gdalCells(
  file: string,
  points: ReadonlyArray<readonly [number, number]>,
  opts: { band?: number; srs?: string; geoloc?: boolean; config?: Record<string, string> } = {},
): number[] {
  const args = [
    ...Object.entries(opts.config ?? {}).flatMap(([k, v]) => ['--config', k, v]),
    '-valonly',
    '-b',
    String(opts.band ?? 1),
    ...(opts.srs ? ['-l_srs', opts.srs] : opts.geoloc ? ['-geoloc'] : []),
    file,
  ];
  const out = execFileSync('gdallocationinfo', args, {
    input: `${points.map(([x, y]) => `${x} ${y}`).join('\n')}\n`,
    encoding: 'utf8',
    env,
    maxBuffer: 1 << 26,
  });
  // gdallocationinfo prints an empty line for a point outside the raster
  const lines = out.split('\n').slice(0, points.length);
  return lines.map((l) => (l.trim() === '' ? Number.NaN : Number(l)));
}

/** A stack of the Lez read whole over a period: its grid, dates and one array per step. */
export async function lezStack(
  sub: 'prcp' | 'pet',
  start: string,
  end: string,
): Promise<{ grid: Grid; dates: Date[]; values: Float64Array[] }> {
  const s = await openFolderStack(join(LEZ, sub), { crs: 'EPSG:2154' });
  const t0 = new Date(`${start}T00:00:00Z`).getTime();
  const t1 = new Date(`${end}T00:00:00Z`).getTime();
  const dates: Date[] = [];
  const values: Float64Array[] = [];
  for (const [i, st] of s.steps.entries()) {
    if (st.time.getTime() < t0 || st.time.getTime() > t1) continue;
    dates.push(st.time);
    values.push(await s.read(i));
  }
  return { grid: s.grid, dates, values };
}

export interface NcVar {
  name: string;
  type: 'f4' | 'f8' | 'i4' | 'i2';
  dims: string[];
  /** Values in the dimension order (C order); absent for a scalar (a grid mapping). */
  data?: ArrayLike<number>;
  attrs?: Record<string, string | number | number[]>;
}

/** Writes a netCDF-3 file with scipy (tests/helpers/write_netcdf.py) from arrays computed here. */
export function writeNetcdf(path: string, dims: Record<string, number>, vars: NcVar[]): string {
  const spec = {
    path,
    dims,
    vars: vars.map((v, i) => {
      let data: string | null = null;
      if (v.data) {
        data = `${path}.${i}.f64`;
        writeFileSync(data, Buffer.from(Float64Array.from(v.data).buffer));
      }
      return { name: v.name, type: v.type, dims: v.dims, data, attrs: v.attrs ?? {} };
    }),
  };
  const json = `${path}.json`;
  writeFileSync(json, JSON.stringify(spec));
  execFileSync('python3', [resolve('tests/helpers/write_netcdf.py'), json], { encoding: 'utf8' });
  return path;
}

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import type { FolderLayout, SourceProbe } from '../../../../src-shared/types/assemble';
import { readTextFile } from '../../common/safeFile';
import { readAsciiGrid } from '../../rasters/asciiGrid';
import { GeoTiffRaster } from '../../rasters/geotiff';
import { describeNetcdf, openNetcdfStack } from '../../rasters/netcdf';
import { openStackSource } from '../../rasters/open';
import { dateFromName, gridOfRaster, type Stack } from '../../rasters/stack';

const stepWord = (s: Stack): SourceProbe['step'] => {
  if (s.step && s.step !== 'other') return s.step;
  if (s.steps.length < 2) return 'unknown';
  return s.gaps.length ? 'irregular' : 'unknown';
};

const gridJson = (g: Stack['grid']) => ({
  x0: g.x0,
  y0: g.y0,
  dx: g.dx,
  dy: g.dy,
  rows: g.rows,
  cols: g.cols,
  crs: g.crs,
});

/** The first GeoTIFF names under a folder (subfolders included), at most `limit`. */
async function tiffNames(dir: string, limit: number, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (out.length >= limit) break;
    if (e.isDirectory()) await tiffNames(join(dir, e.name), limit, out);
    else if (/\.tiff?$/i.test(e.name)) out.push(e.name);
  }
  return out;
}

/** The folder layout its file names suggest: dated (YYYYmmdd), day-of-year (MMDD or doyNNN) or month-of-year. */
export function layoutOfNames(names: string[]): FolderLayout | null {
  if (names.length && names.every((n) => dateFromName(n) !== null)) return 'dated';
  if (
    names.length &&
    names.length <= 12 &&
    names.every((n) => /(?<!\d)(0[1-9]|1[0-2])(?!\d)|m(0[1-9]|1[0-2])/i.test(n))
  )
    return 'month-of-year';
  if (names.length && names.every((n) => /(?<!\d)(0[1-9]|1[0-2])([0-2]\d|3[01])(?!\d)|doy\d{1,3}/i.test(n)))
    return 'day-of-year';
  return null;
}

/**
 * What a file or folder holds, for the assembler's form, from headers only: a GeoTIFF's grid and
 * bands, an ESRI ASCII grid's header, a NetCDF file's variables with their dimensions and the role
 * of each (time, y, x), a folder's layout (dated, day-of-year, month-of-year; a smash gauge folder)
 * and its steps, a CSV's columns. What cannot be read or identified is listed in `issues`, not thrown.
 */
export async function probeSource(path: string): Promise<SourceProbe> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new FieldcalError('NOT_FOUND', `${path} not found`, { file: path, field: 'path' });
  const base: SourceProbe = {
    path,
    format: 'folder',
    variables: [],
    crs: null,
    grid: null,
    steps: null,
    step: null,
    first: null,
    last: null,
    layout: null,
    columns: [],
    issues: [],
  };
  const issue = (e: unknown) => base.issues.push((e as Error).message);
  if (st.isDirectory()) {
    const top = await readdir(path);
    if (top.includes('gauge_attributes.csv')) {
      const head =
        (await readTextFile(join(path, 'gauge_attributes.csv')).catch(() => '')).split(/\r?\n/)[0] ?? '';
      base.columns = head.split(',').map((c) => c.trim());
    }
    const names = await tiffNames(path, 400);
    if (!names.length) {
      if (!base.columns.length) base.issues.push(`${path} holds no GeoTIFF and no gauge_attributes.csv`);
      return base;
    }
    base.layout = layoutOfNames(names);
    if (!base.layout) {
      base.issues.push(
        `the file names (${names.slice(0, 3).join(', ')}) carry no date, day-of-year or month`,
      );
      return base;
    }
    if (base.layout !== 'dated') return base;
    try {
      const s = await openStackSource({ format: 'folder', path, layout: 'dated' });
      Object.assign(base, {
        crs: s.grid.crs,
        grid: gridJson(s.grid),
        steps: s.steps.length,
        step: stepWord(s),
        first: s.steps[0]?.time.toISOString() ?? null,
        last: s.steps.at(-1)?.time.toISOString() ?? null,
      });
      if (s.gaps.length)
        base.issues.push(
          `${s.gaps.reduce((a, g) => a + g.missing, 0)} steps missing in ${s.gaps.length} gaps`,
        );
      if (!s.grid.crs) base.issues.push('no CRS in the files: give one');
    } catch (e) {
      issue(e);
    }
    return base;
  }
  if (/\.(nc|nc4|netcdf|cdf|h5)$/i.test(path)) {
    base.format = 'netcdf';
    try {
      base.variables = await describeNetcdf(path);
      const s = await openNetcdfStack(path);
      Object.assign(base, {
        crs: s.grid.crs,
        grid: gridJson(s.grid),
        steps: s.steps.length,
        step: stepWord(s),
        first: s.steps[0]?.time.toISOString() ?? null,
        last: s.steps.at(-1)?.time.toISOString() ?? null,
      });
    } catch (e) {
      issue(e);
    }
    return base;
  }
  if (/\.(csv|txt)$/i.test(path)) {
    base.format = 'csv';
    try {
      const first = (await readTextFile(path)).split(/\r?\n/)[0] ?? '';
      const sep = [',', ';', '\t'].find((s) => first.includes(s)) ?? ',';
      base.columns = first.split(sep).map((c) => c.trim().replace(/^"|"$/g, ''));
    } catch (e) {
      issue(e);
    }
    return base;
  }
  if (/\.asc$/i.test(path)) {
    base.format = 'ascii-grid';
    try {
      const a = await readAsciiGrid(path);
      base.crs = a.grid.crs;
      base.grid = gridJson(a.grid);
      if (!a.grid.crs) base.issues.push('no .prj beside the file: give its CRS');
    } catch (e) {
      issue(e);
    }
    return base;
  }
  base.format = 'geotiff';
  try {
    const r = await GeoTiffRaster.open(path);
    await r.close();
    const g = gridOfRaster(r.info);
    base.crs = g.crs;
    base.grid = { ...gridJson(g), bands: r.info.bands };
    if (r.info.bands > 1) {
      base.steps = r.info.bands;
      const dated = r.info.descriptions.filter((d) => d && dateFromName(d.replace(/[-:T ]/g, '')));
      if (dated.length !== r.info.bands)
        base.issues.push('the bands carry no dates: give a start and a step');
    }
    if (!g.crs) base.issues.push('no CRS in the file: give one');
  } catch (e) {
    issue(e);
  }
  return base;
}

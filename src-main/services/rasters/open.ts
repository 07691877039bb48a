import { stat } from 'node:fs/promises';
import { FieldcalError } from '../../../src-shared/ipc';
import { openNetcdfStack } from './netcdf';
import { openFolderStack, type Stack } from './stack';

/** What a path holds, by its kind: a single GeoTIFF, a folder stack or a NetCDF file. */
export type SourceKind = 'raster' | 'stack' | 'netcdf';

/** Tells the kind of a source path from the file system and its extension. */
export async function sourceKind(path: string): Promise<SourceKind> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new FieldcalError('NOT_FOUND', `${path} not found`, { file: path });
  if (st.isDirectory()) return 'stack';
  // a FIFO, socket or device is never opened: a read from it could block forever
  if (!st.isFile())
    throw new FieldcalError('INVALID_FILE', `${path} is not a regular file or a folder`, {
      file: path,
      problem: 'not a regular file',
    });
  if (/\.(nc|nc4|netcdf|cdf|h5)$/i.test(path)) return 'netcdf';
  return 'raster';
}

/** Opens a stack source (a folder of dated GeoTIFFs or a NetCDF file). */
export async function openStack(
  path: string,
  opts: { crs?: string | null; variable?: string } = {},
): Promise<Stack> {
  const kind = await sourceKind(path);
  if (kind === 'stack') return openFolderStack(path, opts);
  if (kind === 'netcdf') return openNetcdfStack(path, opts);
  throw new FieldcalError('VALIDATION', `${path} is a single raster, not a time stack`, { file: path });
}

/** A JSON summary of a stack: grid, steps, step length, gaps and the statistics of every step. */
export async function summariseStack(s: Stack): Promise<Record<string, unknown>> {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let cells = 0;
  for (let i = 0; i < s.steps.length; i++) {
    const v = await s.read(i);
    cells += v.length;
    for (const x of v) {
      if (Number.isNaN(x)) continue;
      n++;
      sum += x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return {
    kind: s.kind,
    source: s.source,
    grid: { ...s.grid, mask: null },
    units: s.units,
    nodata: s.nodata,
    steps: s.steps.length,
    first: s.steps[0]?.time.toISOString() ?? null,
    last: s.steps.at(-1)?.time.toISOString() ?? null,
    stepSeconds: s.stepSeconds,
    gaps: s.gaps.map((g) => ({
      after: g.after.toISOString(),
      before: g.before.toISOString(),
      missing: g.missing,
    })),
    statistics: n ? { minimum: min, maximum: max, mean: sum / n, validPercent: (100 * n) / cells } : null,
  };
}

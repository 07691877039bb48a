import { stat } from 'node:fs/promises';
import { FieldcalError } from '../../../src-shared/ipc';
import type { ExplicitTime, StackSourceInput } from '../../../src-shared/types/assemble';
import { openNetcdfStack } from './netcdf';
import { openFolderStack, openMultibandStack, type Stack } from './stack';

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

/** The first step's time of a user-given time axis (`2012-08-01` or `2012-08-01T06:00`, UTC). */
export function explicitStart(t: ExplicitTime, field: string): Date {
  const d = new Date(/T/.test(t.start) ? t.start.replace(/Z?$/, 'Z') : `${t.start}T00:00:00Z`);
  if (Number.isNaN(d.getTime()))
    throw new FieldcalError('VALIDATION', `${field}: ${t.start} is not a date`, { field });
  return d;
}

/**
 * Opens any stack source of the assembler's contract: a folder (dated, day-of-year or month-of-year
 * files; climatologies are expanded over `period`), a multi-band raster (band dates from its metadata
 * or the given time axis) or a NetCDF variable (time axis and dimensions passed through). The stack's
 * `step` says hourly / daily / monthly; `climatology` says how a climatology was laid over the period.
 */
export async function openStackSource(
  source: StackSourceInput,
  opts: { crs?: string | null; period?: { start: Date; end: Date } } = {},
): Promise<Stack> {
  const st = await stat(source.path).catch(() => null);
  if (!st) throw new FieldcalError('NOT_FOUND', `${source.path} not found`, { file: source.path });
  switch (source.format) {
    case 'folder':
      if (!st.isDirectory())
        throw new FieldcalError('VALIDATION', `${source.path} is not a folder`, { file: source.path });
      return openFolderStack(source.path, {
        crs: opts.crs ?? null,
        layout: source.layout ?? 'dated',
        ...(opts.period ? { period: opts.period } : {}),
      });
    case 'multiband': {
      if (!st.isFile())
        throw new FieldcalError('INVALID_FILE', `${source.path} is not a regular file`, {
          file: source.path,
        });
      return openMultibandStack(source.path, {
        crs: opts.crs ?? null,
        ...(source.time ? { start: explicitStart(source.time, 'time.start'), step: source.time.step } : {}),
      });
    }
    case 'netcdf': {
      if (!st.isFile())
        throw new FieldcalError('INVALID_FILE', `${source.path} is not a regular file`, {
          file: source.path,
        });
      // `time` and `dims` are read by the NetCDF reader (issue 15: non-CF time axes, unnamed dimensions)
      const ncOpts = {
        ...(source.variable ? { variable: source.variable } : {}),
        crs: source.crs ?? opts.crs ?? null,
        ...(source.time ? { time: source.time } : {}),
        ...(source.dims ? { dims: source.dims } : {}),
      } as Parameters<typeof openNetcdfStack>[1];
      return openNetcdfStack(source.path, ncOpts);
    }
  }
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
    step: s.step ?? null,
    ...(s.climatology ? { climatology: s.climatology } : {}),
    gaps: s.gaps.map((g) => ({
      after: g.after.toISOString(),
      before: g.before.toISOString(),
      missing: g.missing,
    })),
    statistics: n ? { minimum: min, maximum: max, mean: sum / n, validPercent: (100 * n) / cells } : null,
  };
}

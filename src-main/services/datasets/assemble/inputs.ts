import { stat } from 'node:fs/promises';
import { FieldcalError, type Grid } from '../../../../src-shared/ipc';
import type { AssembledInput } from '../../../../src-shared/types/assemble';
import { alignToGrid, defaultMethod, type ResampleMethod } from '../../grid/align';
import { applyCurvilinear, planCurvilinear } from '../../grid/curvilinear';
import { readAsciiGrid } from '../../rasters/asciiGrid';
import { proj4Def, transformer } from '../../rasters/crs';
import { GeoTiffRaster } from '../../rasters/geotiff';
import { gridOfRaster, type Stack } from '../../rasters/stack';
import { conversionTo, type Conversion, type Quantity } from '../units';

/** A FieldcalError re-thrown with the input that caused it named in `details.field` and the message. */
export function naming(field: string, err: unknown): FieldcalError {
  if (err instanceof FieldcalError) {
    if (err.details?.field === field) return err;
    return new FieldcalError(err.code, `${field}: ${err.message}`, { ...(err.details ?? {}), field });
  }
  return new FieldcalError('INVALID_FILE', `${field}: ${(err as Error).message}`, { field });
}

/** Refuses with the input named. */
export function refuse(
  field: string,
  message: string,
  code: FieldcalError['code'] = 'VALIDATION',
  details: Record<string, unknown> = {},
): never {
  throw new FieldcalError(code, `${field}: ${message}`, { ...details, field });
}

/** Checks that a path exists (a file, or a folder when `folder`), naming the input. */
export async function mustExist(path: string, field: string, folder = false): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (!st) refuse(field, `${path} does not exist`, 'NOT_FOUND', { file: path });
  if (folder && !st.isDirectory()) refuse(field, `${path} is not a folder`, 'VALIDATION', { file: path });
  if (!folder && !st.isFile()) refuse(field, `${path} is not a regular file`, 'VALIDATION', { file: path });
}

/** A single raster read whole: a GeoTIFF band (1-based) or an ESRI ASCII grid, with its CRS or the fallback. */
export async function readRaster(
  path: string,
  band: number,
  fallbackCrs: string | null,
  field: string,
): Promise<{ grid: Grid; values: Float64Array; format: 'geotiff' | 'ascii-grid'; units: string | null }> {
  await mustExist(path, field);
  try {
    if (/\.asc$/i.test(path)) {
      const a = await readAsciiGrid(path);
      return {
        grid: { ...a.grid, crs: a.grid.crs ?? fallbackCrs },
        values: a.values,
        format: 'ascii-grid',
        units: null,
      };
    }
    const r = await GeoTiffRaster.open(path);
    try {
      if (band < 1 || band > r.info.bands)
        refuse(field, `${path} has ${r.info.bands} band(s), not band ${band}`);
      return {
        grid: gridOfRaster(r.info, fallbackCrs),
        values: await r.readBandValues(band - 1),
        format: 'geotiff',
        units: r.info.unitTypes[band - 1] ?? null,
      };
    } finally {
      await r.close();
    }
  } catch (e) {
    throw naming(field, e);
  }
}

/**
 * Whether two CRS strings name the same CRS: the same text or proj4 definition, or (an EPSG code
 * against the WKT of a .prj) a transform that moves points of `at` (a grid's corners) by less than a
 * millimetre.
 */
export function sameCrs(a: string | null, b: string | null, at?: Grid): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  try {
    if (proj4Def(a).trim() === proj4Def(b).trim()) return true;
    if (!at) return false;
    const t = transformer(a, b);
    for (const [x, y] of [
      [at.x0, at.y0],
      [at.x0 + at.cols * at.dx, at.y0 - at.rows * at.dy],
    ] as const) {
      const [u, v] = t(x, y);
      if (!(Math.abs(u - x) < 1e-3 && Math.abs(v - y) < 1e-3)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** How a raster reaches the model grid, and the function that does it (values on the full model grid, NaN outside). */
export interface AlignPlan {
  align: AssembledInput['align'];
  apply(values: Float64Array): Float64Array;
}

/**
 * The alignment of a source grid onto the model grid. The same grid is copied; a grid on the same
 * lattice (same CRS and cell size, whole-cell offset) is cut or padded as a window, no value
 * resampled; anything else is resampled with `alignToGrid`: `auto` takes nearest at the same cell
 * size, the area-weighted average when coarsening (`defaultMethod`) and bilinear when refining.
 */
export function planAlign(src: Grid, dst: Grid, method: 'auto' | ResampleMethod, field: string): AlignPlan {
  if (!src.crs) refuse(field, 'has no CRS; give the dataset CRS (crs)', 'VALIDATION');
  const full: Grid = { ...dst, mask: null };
  const tol = 1e-6;
  if (
    sameCrs(src.crs, dst.crs, dst) &&
    Math.abs(src.dx - dst.dx) <= tol * dst.dx &&
    Math.abs(src.dy - dst.dy) <= tol * dst.dy
  ) {
    const fc = (dst.x0 - src.x0) / dst.dx;
    const fr = (src.y0 - dst.y0) / dst.dy;
    const c0 = Math.round(fc);
    const r0 = Math.round(fr);
    if (Math.abs(fc - c0) < 1e-3 && Math.abs(fr - r0) < 1e-3 && (method === 'auto' || method === 'nearest')) {
      const same = c0 === 0 && r0 === 0 && src.rows === dst.rows && src.cols === dst.cols;
      return {
        align: same ? 'same-grid' : 'window',
        apply: (v) => {
          if (same) return Float64Array.from(v);
          const out = new Float64Array(dst.rows * dst.cols).fill(Number.NaN);
          for (let r = 0; r < dst.rows; r++) {
            const sr = r + r0;
            if (sr < 0 || sr >= src.rows) continue;
            for (let c = 0; c < dst.cols; c++) {
              const sc = c + c0;
              if (sc >= 0 && sc < src.cols) out[r * dst.cols + c] = v[sr * src.cols + sc]!;
            }
          }
          return out;
        },
      };
    }
  }
  // the same CRS spelt differently (EPSG code, .prj WKT) is not a reprojection
  if (sameCrs(src.crs, dst.crs, dst)) src = { ...src, crs: dst.crs };
  let m: ResampleMethod;
  if (method !== 'auto') m = method;
  else if (defaultMethod(src, dst) === 'average') m = 'average';
  else m = Math.abs(src.dx * src.dy - dst.dx * dst.dy) <= 1e-6 * dst.dx * dst.dy ? 'nearest' : 'bilinear';
  return {
    align: m,
    apply: (v) => {
      try {
        return alignToGrid(src, v, full, m).values;
      } catch (e) {
        throw naming(field, e);
      }
    },
  };
}

/**
 * The alignment of a stack onto the model grid: a curvilinear stack (2-D latitude/longitude, rotated
 * pole, irregular axes; its `grid` is only a lon/lat bounding box) is planned once with
 * `planCurvilinear` (nearest source cell centre in the model CRS) and applied per step; any other
 * stack goes through `planAlign`.
 */
export function planStack(
  stack: Pick<Stack, 'grid' | 'curvilinear'>,
  dst: Grid,
  method: 'auto' | ResampleMethod,
  field: string,
): AlignPlan {
  const geo = stack.curvilinear;
  if (!geo) return planAlign(stack.grid, dst, method, field);
  if (method !== 'auto' && method !== 'nearest')
    refuse(
      field,
      `is a curvilinear grid (2-D latitude/longitude): only nearest-neighbour alignment is available, not ${method}`,
    );
  let plan: ReturnType<typeof planCurvilinear>;
  try {
    plan = planCurvilinear(geo, { ...dst, mask: null });
  } catch (e) {
    throw naming(field, e);
  }
  if (plan.covered === 0)
    refuse(field, 'no cell of its latitude/longitude grid lies on the model grid', 'INCONSISTENT_DATA');
  const n = geo.rows * geo.cols;
  return {
    align: 'curvilinear',
    apply: (v) => {
      if (v.length !== n)
        refuse(
          field,
          `a step holds ${v.length} values for its ${geo.rows} x ${geo.cols} cells`,
          'INVALID_FILE',
        );
      return applyCurvilinear(plan, v);
    },
  };
}

/** Active cells of the model grid's mask left without a value (NaN) by an input. */
export function uncovered(values: Float64Array, mask: Uint8Array | null): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if ((!mask || mask[i]) && !Number.isFinite(values[i]!)) n++;
  return n;
}

const monthSeconds = (t: Date) =>
  (Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1) - Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1)) /
  1000;

/**
 * A stack with its values converted to the model unit at its own step (a rate is integrated over
 * the source step it was given for, a calendar month for a monthly stack), so that sums over steps
 * stay exact whatever the aggregation that follows. `field` names the units input in errors.
 */
export function convertedStack(
  stack: Stack,
  quantity: Quantity,
  units: string | null,
  field: string,
): { stack: Stack; conversion: Conversion } {
  const monthly = stack.step === 'monthly';
  const stepOf = (i: number) => (monthly ? monthSeconds(stack.steps[i]!.time) : stack.stepSeconds || 86400);
  const conversion = conversionTo(quantity, units, { stepSeconds: monthly ? 2_629_746 : stepOf(0), field });
  if (conversion.scale === 1 && conversion.offset === 0) return { stack, conversion };
  const at = (i: number) =>
    monthly ? conversionTo(quantity, units, { stepSeconds: stepOf(i), field }) : conversion;
  return {
    stack: {
      ...stack,
      async read(i) {
        const c = at(i);
        const v = await stack.read(i);
        for (let k = 0; k < v.length; k++) v[k] = v[k]! * c.scale + c.offset;
        return v;
      },
    },
    conversion,
  };
}

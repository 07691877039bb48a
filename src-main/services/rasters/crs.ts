import { createRequire } from 'node:module';
import geokeysToProj4 from 'geotiff-geokeys-to-proj4';
import proj4 from 'proj4';
import { FieldcalError } from '../../../src-shared/ipc';

const require = createRequire(import.meta.url);

/** What a file says about its CRS. */
export interface CrsInfo {
  /** EPSG code when the file names one. */
  epsg: number | null;
  /** proj4 definition: from EPSG, or derived from user-defined GeoKeys (reported, see `userDefined`). */
  proj4: string | null;
  /** True when the GeoKeys define the CRS parameter by parameter (code 32767) instead of by EPSG code. */
  userDefined: boolean;
  /** Human-readable name or citation from the file. */
  name: string | null;
}

/** GeoTIFF's "user-defined" code (GeoTIFF 1.0 spec, 6.3). */
const USER_DEFINED = 32767;

/** proj4 definition of an EPSG code, from the EPSG database shipped in `epsg-index`. */
export function proj4ForEpsg(code: number): string {
  try {
    const rec = require(`epsg-index/s/${code}.json`) as { proj4?: string | null };
    if (rec.proj4) return rec.proj4;
  } catch {
    // fall through
  }
  throw new FieldcalError(
    'UNSUPPORTED_FORMAT',
    `EPSG:${code} is not in the EPSG index or has no proj4 definition`,
    {
      epsg: code,
    },
  );
}

/** Reads the CRS from GeoTIFF GeoKeys (GeoTIFF 1.0 spec: GTModelType, ProjectedCSType, GeographicType). */
export function crsFromGeoKeys(keys: Record<string, unknown> | null): CrsInfo {
  if (!keys) return { epsg: null, proj4: null, userDefined: false, name: null };
  const model = keys.GTModelTypeGeoKey as number | undefined;
  const projected = keys.ProjectedCSTypeGeoKey as number | undefined;
  const geographic = keys.GeographicTypeGeoKey as number | undefined;
  const name =
    (keys.GTCitationGeoKey as string | undefined) ?? (keys.GeogCitationGeoKey as string | undefined) ?? null;
  const code = model === 2 ? geographic : (projected ?? (model === undefined ? geographic : undefined));
  if (code !== undefined && code !== USER_DEFINED && code > 0) {
    return { epsg: code, proj4: proj4ForEpsg(code), userDefined: false, name };
  }
  const hasDefinition =
    (model === 1 && keys.ProjCoordTransGeoKey !== undefined) ||
    (model === 2 && (keys.GeogEllipsoidGeoKey !== undefined || keys.GeogGeodeticDatumGeoKey !== undefined));
  if (!hasDefinition) return { epsg: null, proj4: null, userDefined: false, name };
  try {
    const r = geokeysToProj4.toProj4(keys as unknown as Parameters<typeof geokeysToProj4.toProj4>[0]);
    return { epsg: null, proj4: r.proj4.trim(), userDefined: true, name };
  } catch {
    return { epsg: null, proj4: null, userDefined: true, name };
  }
}

/** The CRS as stored on a grid: `EPSG:n` when known, else the proj4 string. */
export function crsLabel(c: CrsInfo): string | null {
  return c.epsg !== null ? `EPSG:${c.epsg}` : c.proj4;
}

/** A proj4 definition for a grid CRS string (`EPSG:n`, a proj4 string or WKT). */
export function proj4Def(crs: string): string {
  const m = /^EPSG:(\d+)$/i.exec(crs.trim());
  if (m) return proj4ForEpsg(Number(m[1]));
  return crs;
}

/** A coordinate transform between two CRS strings (identity when they are the same). */
export function transformer(from: string, to: string): (x: number, y: number) => [number, number] {
  if (from === to) return (x, y) => [x, y];
  let conv: proj4.Converter;
  try {
    conv = proj4(proj4Def(from), proj4Def(to));
  } catch (err) {
    throw new FieldcalError(
      'UNSUPPORTED_FORMAT',
      `Cannot transform between ${from} and ${to}: ${(err as Error).message}`,
      {
        from,
        to,
      },
    );
  }
  return (x, y) => conv.forward([x, y]) as [number, number];
}

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

/** An attribute value as NetCDF readers return it. */
type CfAttr = string | number | number[] | undefined;

/** The EPSG code a WKT (1 or 2) names for the whole CRS: its last top-level AUTHORITY / ID, when the EPSG index has it. */
export function epsgOfWkt(wkt: string): number | null {
  const t = wkt.trim();
  const m =
    /AUTHORITY\[\s*"EPSG"\s*,\s*"?(\d+)"?\s*\]\s*\]\s*$/i.exec(t) ??
    /ID\[\s*"EPSG"\s*,\s*(\d+)\s*\]\s*\]\s*$/i.exec(t);
  if (!m) return null;
  try {
    proj4ForEpsg(Number(m[1]));
    return Number(m[1]);
  } catch {
    return null;
  }
}

/** Named ellipsoids of CF's `reference_ellipsoid_name` (CF 1.7, 5.6) that proj4 knows. */
const CF_ELLIPSOIDS: Record<string, string> = {
  'wgs 84': 'WGS84',
  wgs84: 'WGS84',
  'grs 1980': 'GRS80',
  grs80: 'GRS80',
  'grs 80': 'GRS80',
  'international 1924': 'intl',
  'clarke 1866': 'clrk66',
  'clarke 1880 (ign)': 'clrk80ign',
  'bessel 1841': 'bessel',
  'airy 1830': 'airy',
};

/**
 * A CF grid-mapping variable's attributes as a proj4 definition (CF 1.8 Appendix F, "Grid Mappings",
 * and the matching PROJ operations): latitude_longitude, lambert_azimuthal_equal_area,
 * lambert_conformal_conic (1 or 2 standard parallels), transverse_mercator, polar_stereographic,
 * albers_conical_equal_area, mercator, stereographic, sinusoidal, lambert_cylindrical_equal_area,
 * azimuthal_equidistant and orthographic, on the earth figure the attributes give (earth_radius,
 * semi_major_axis with inverse_flattening or semi_minor_axis, reference_ellipsoid_name; WGS 84 when
 * none, as GDAL assumes). `rotated_latitude_longitude` is not a map projection of the grid's cells:
 * see `rotatedPoleToGeographic`. `name` names the variable in messages.
 */
export function proj4OfCfGridMapping(attr: (key: string) => CfAttr, name: string): string {
  const text = (k: string) => {
    const v = attr(k);
    return typeof v === 'string' ? v.trim() : undefined;
  };
  const nums = (k: string): number[] | undefined => {
    const v = attr(k);
    if (v === undefined) return undefined;
    const arr = (Array.isArray(v) ? v : typeof v === 'string' ? v.trim().split(/[\s,]+/) : [v]).map(Number);
    if (arr.length === 0 || !arr.every(Number.isFinite))
      throw new FieldcalError('INVALID_FILE', `grid mapping ${name}: attribute ${k} is not a number`, {
        field: `${name}:${k}`,
      });
    return arr;
  };
  const opt = (k: string) => nums(k)?.[0];
  const need = (k: string, mapping: string) => {
    const v = opt(k);
    if (v === undefined)
      throw new FieldcalError('INVALID_FILE', `grid mapping ${name} (${mapping}) lacks its ${k} attribute`, {
        field: `${name}:${k}`,
      });
    return v;
  };
  const mapping = text('grid_mapping_name');
  if (!mapping)
    throw new FieldcalError('INVALID_FILE', `grid mapping ${name} has no grid_mapping_name attribute`, {
      field: `${name}:grid_mapping_name`,
    });
  // the earth's figure (CF 1.8 Appendix F, "Table F.1" earth-shape attributes)
  let earth: string;
  const radius = opt('earth_radius');
  const a = opt('semi_major_axis');
  const rf = opt('inverse_flattening');
  const b = opt('semi_minor_axis');
  const ellName = text('reference_ellipsoid_name')?.toLowerCase();
  if (radius !== undefined) earth = `+R=${radius}`;
  else if (a !== undefined && rf !== undefined) earth = rf === 0 ? `+R=${a}` : `+a=${a} +rf=${rf}`;
  else if (a !== undefined && b !== undefined) earth = `+a=${a} +b=${b}`;
  else if (a !== undefined) earth = `+R=${a}`;
  else if (ellName && CF_ELLIPSOIDS[ellName]) earth = `+ellps=${CF_ELLIPSOIDS[ellName]}`;
  else earth = '+ellps=WGS84';
  const towgs84 = nums('towgs84');
  if (towgs84) earth += ` +towgs84=${towgs84.join(',')}`;
  const pm = opt('longitude_of_prime_meridian');
  if (pm) earth += ` +pm=${pm}`;
  const fe = opt('false_easting') ?? 0;
  const fn = opt('false_northing') ?? 0;
  const xy = `+x_0=${fe} +y_0=${fn}`;
  const lat0 = () => opt('latitude_of_projection_origin') ?? 0;
  const parallels = (min: number) => {
    const sp = nums('standard_parallel');
    if (!sp || sp.length < min)
      throw new FieldcalError(
        'INVALID_FILE',
        `grid mapping ${name} (${mapping}) lacks its standard_parallel attribute`,
        {
          field: `${name}:standard_parallel`,
        },
      );
    return sp;
  };
  let proj: string;
  switch (mapping) {
    case 'latitude_longitude':
      return `+proj=longlat ${earth} +no_defs`;
    case 'lambert_azimuthal_equal_area':
      proj = `+proj=laea +lat_0=${lat0()} +lon_0=${need('longitude_of_projection_origin', mapping)}`;
      break;
    case 'lambert_conformal_conic': {
      const sp = parallels(1);
      const lat1 = sp[0]!;
      const lat2 = sp[1] ?? sp[0]!;
      proj = `+proj=lcc +lat_1=${lat1} +lat_2=${lat2} +lat_0=${lat0()} +lon_0=${need('longitude_of_central_meridian', mapping)}`;
      break;
    }
    case 'albers_conical_equal_area': {
      const sp = parallels(1);
      proj = `+proj=aea +lat_1=${sp[0]} +lat_2=${sp[1] ?? sp[0]} +lat_0=${lat0()} +lon_0=${need('longitude_of_central_meridian', mapping)}`;
      break;
    }
    case 'transverse_mercator':
      proj = `+proj=tmerc +lat_0=${lat0()} +lon_0=${need('longitude_of_central_meridian', mapping)} +k=${need('scale_factor_at_central_meridian', mapping)}`;
      break;
    case 'polar_stereographic': {
      const lon0 =
        opt('straight_vertical_longitude_from_pole') ?? need('longitude_of_projection_origin', mapping);
      const latOrigin = need('latitude_of_projection_origin', mapping);
      if (Math.abs(latOrigin) !== 90)
        throw new FieldcalError(
          'INVALID_FILE',
          `grid mapping ${name}: a polar stereographic latitude_of_projection_origin must be +90 or -90`,
          {
            field: `${name}:latitude_of_projection_origin`,
          },
        );
      const sp = nums('standard_parallel');
      proj = `+proj=stere +lat_0=${latOrigin} +lon_0=${lon0} ${
        sp ? `+lat_ts=${sp[0]}` : `+k=${need('scale_factor_at_projection_origin', mapping)}`
      }`;
      break;
    }
    case 'stereographic':
      proj = `+proj=stere +lat_0=${lat0()} +lon_0=${need('longitude_of_projection_origin', mapping)} +k=${opt('scale_factor_at_projection_origin') ?? 1}`;
      break;
    case 'mercator': {
      const sp = nums('standard_parallel');
      proj = `+proj=merc +lon_0=${opt('longitude_of_projection_origin') ?? 0} ${
        sp ? `+lat_ts=${sp[0]}` : `+k=${opt('scale_factor_at_projection_origin') ?? 1}`
      }`;
      break;
    }
    case 'sinusoidal':
      proj = `+proj=sinu +lon_0=${opt('longitude_of_central_meridian') ?? 0}`;
      break;
    case 'lambert_cylindrical_equal_area':
      proj = `+proj=cea +lon_0=${opt('longitude_of_central_meridian') ?? 0} +lat_ts=${nums('standard_parallel')?.[0] ?? 0}`;
      break;
    case 'azimuthal_equidistant':
      proj = `+proj=aeqd +lat_0=${lat0()} +lon_0=${need('longitude_of_projection_origin', mapping)}`;
      break;
    case 'orthographic':
      proj = `+proj=ortho +lat_0=${lat0()} +lon_0=${need('longitude_of_projection_origin', mapping)}`;
      break;
    default:
      throw new FieldcalError(
        'UNSUPPORTED_FORMAT',
        `grid mapping ${name}: ${mapping} is not supported; give the CRS (crs_wkt, or the stack's crs option)`,
        { field: `${name}:grid_mapping_name`, mapping },
      );
  }
  return `${proj} ${xy} ${earth} +units=m +no_defs`;
}

/**
 * Rotated-pole coordinates (CF `rotated_latitude_longitude`: grid_north_pole_latitude/longitude,
 * north_pole_grid_longitude) to geographic longitude and latitude in degrees: the inverse of the
 * rotation that takes the north pole to the grid's pole (the spherical rotation PROJ's ob_tran
 * applies, Snyder 1987, Map Projections: A Working Manual, eq. 5-7 and 5-8).
 */
export function rotatedPoleToGeographic(
  poleLat: number,
  poleLon: number,
  gridLonOfNorthPole = 0,
): (rlon: number, rlat: number) => [number, number] {
  const d = Math.PI / 180;
  // the rotated frame's pole at (poleLat, poleLon): rotate about y by (90 - poleLat), about z by poleLon + 180
  const sinP = Math.sin(poleLat * d);
  const cosP = Math.cos(poleLat * d);
  const lonP = poleLon * d;
  return (rlon, rlat) => {
    const l = (rlon - gridLonOfNorthPole) * d;
    const p = rlat * d;
    // a point of the rotated sphere in Cartesian coordinates
    const x = Math.cos(p) * Math.cos(l);
    const y = Math.cos(p) * Math.sin(l);
    const z = Math.sin(p);
    // rotation about the y axis by 90 - poleLat: the rotated equator's (0, 0) goes to latitude 90 - poleLat
    const x2 = sinP * x - cosP * z;
    const z2 = cosP * x + sinP * z;
    const lat = Math.asin(Math.max(-1, Math.min(1, z2))) / d;
    let lon = (Math.atan2(y, x2) + lonP + Math.PI) / d;
    lon = ((((lon + 180) % 360) + 360) % 360) - 180;
    return [lon, lat];
  };
}

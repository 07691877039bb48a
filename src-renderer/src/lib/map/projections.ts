import proj4 from 'proj4';
import { register } from 'ol/proj/proj4';
import { get as getProjection, transformExtent } from 'ol/proj';
import { api } from '../api';

/** Zoom 0's resolution in metres per pixel (Web Mercator's), shared by every view so zoom means one scale. */
export const MAX_RESOLUTION = 156543.03392804097;

const known = new Map<string, Promise<string>>();

function hash(s: string): string {
  let h = 2166136261; // FNV-1a, 32 bit (Fowler–Noll–Vo)
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}

/** A lon/lat box around a proj4 definition's origin (+lon_0, +lat_0), for views and graticules. */
function worldExtentOf(def: string): [number, number, number, number] {
  const num = (k: string) => {
    const m = new RegExp(`\\+${k}=(-?[\\d.]+)`).exec(def);
    return m ? Number(m[1]) : null;
  };
  const lon0 = num('lon_0');
  const lat0 = num('lat_0') ?? num('lat_1');
  const zone = num('zone');
  const lon = lon0 ?? (zone !== null ? zone * 6 - 183 : 0);
  const lat = lat0 ?? 45;
  return [lon - 20, Math.max(-85, lat - 20), lon + 20, Math.min(85, lat + 20)];
}

/**
 * Makes a CRS (`EPSG:n` or a proj4 string) known to OpenLayers through proj4, asking main for its
 * definition (`rasters.crs`); returns the OpenLayers projection code. Cached per CRS.
 */
export function ensureProjection(crs: string): Promise<string> {
  const direct = getProjection(crs);
  if (direct) return Promise.resolve(direct.getCode());
  let p = known.get(crs);
  if (!p) {
    p = api.rasters.crs({ crs }).then((info) => {
      const code = /^EPSG:\d+$/i.test(info.crs) ? info.crs.toUpperCase() : `FIELDCAL:${hash(info.proj4)}`;
      if (!getProjection(code)) {
        proj4.defs(code, info.proj4);
        register(proj4);
      }
      const proj = getProjection(code);
      if (!proj) throw new Error(`OpenLayers could not register ${crs}`);
      if (!proj.getExtent() && proj.getUnits() !== 'degrees') {
        const world = worldExtentOf(info.proj4);
        proj.setWorldExtent(world);
        proj.setExtent(transformExtent(world, 'EPSG:4326', proj));
      }
      return code;
    });
    p.catch(() => known.delete(crs));
    known.set(crs, p);
  }
  return p;
}

/** The OpenLayers code of an already registered CRS, or null. */
export function projectionCode(crs: string | null | undefined): string | null {
  if (!crs) return null;
  const p = getProjection(crs);
  return p ? p.getCode() : null;
}

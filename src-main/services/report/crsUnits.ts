import { createRequire } from 'node:module';
import { proj4Def } from '../rasters/crs';

const require = createRequire(import.meta.url);

/** What a figure needs to know about a grid's CRS: its name and the unit of its coordinates. */
export interface CrsDescription {
  /** As given, e.g. `EPSG:2154`, or null when unknown. */
  code: string | null;
  /** Human-readable name from the EPSG database, e.g. `RGF93 v1 / Lambert-93`; null when unknown. */
  name: string | null;
  /** Unit of the coordinates: metres, US/international feet, degrees, or unknown map units. */
  unit: 'm' | 'ft' | 'us-ft' | 'deg' | 'unknown';
}

/** Metres per unit of a linear CRS unit (EPSG units 9001, 9002, 9003). */
export const METRES_PER_UNIT: Record<'m' | 'ft' | 'us-ft', number> = {
  m: 1,
  ft: 0.3048,
  'us-ft': 1200 / 3937,
};

/** Names the CRS and the unit of its coordinates; never throws (an unknown CRS has unit 'unknown'). */
export function describeCrs(crs: string | null | undefined): CrsDescription {
  if (!crs) return { code: null, name: null, unit: 'unknown' };
  const code = crs.trim();
  let name: string | null = null;
  const m = /^EPSG:(\d+)$/i.exec(code);
  if (m) {
    try {
      const rec = require(`epsg-index/s/${Number(m[1])}.json`) as { name?: string };
      name = rec.name ?? null;
    } catch {
      name = null;
    }
  }
  let def = '';
  try {
    def = proj4Def(code);
  } catch {
    def = '';
  }
  let unit: CrsDescription['unit'] = 'unknown';
  if (/\+proj=(longlat|latlong|lonlat|latlon)\b/.test(def) || /^GEOGCS\[/i.test(def)) unit = 'deg';
  else if (/\+units=m\b/.test(def) || /\+to_meter=1(\s|$)/.test(def)) unit = 'm';
  else if (/\+units=us-ft\b/.test(def)) unit = 'us-ft';
  else if (/\+units=ft\b/.test(def)) unit = 'ft';
  else if (/^PROJCS\[/i.test(def) && /UNIT\["metre"/i.test(def.slice(def.lastIndexOf('UNIT[')))) unit = 'm';
  else if (/\+proj=\w+/.test(def) && !/\+units=/.test(def) && !/\+to_meter=/.test(def)) unit = 'm'; // proj's default
  return { code, name, unit };
}

/**
 * Metres per degree of longitude at latitude `lat` on a sphere of the mean Earth radius
 * R1 = 6 371 008.8 m (Moritz 2000, Geodetic Reference System 1980, table "mean radius").
 */
export function metresPerDegreeLon(lat: number): number {
  return ((Math.PI * 6_371_008.8) / 180) * Math.cos((lat * Math.PI) / 180);
}

/**
 * Spellings of units found in files (NetCDF `units` attributes, CSV headers) mapped to one canonical
 * unit, shared by main's converter (`datasets/units.ts`) and the renderer's assemble form.
 * CF canonical units (CF 1.8, UDUNITS): precipitation_flux kg m-2 s-1, air_temperature K.
 */
const ALIASES: Array<[RegExp, string]> = [
  [/^(mm|millimet(er|re)s?|kg\s*m-2|kg\/m2|kg\.m-2|mm\/step)$/i, 'mm'],
  [/^(0\.1\s*mm|1\/10\s*mm|tenths? of mm)$/i, '0.1 mm'],
  [/^(m|met(er|re)s?)$/i, 'm'],
  [/^(mm\/h|mm\s*h-1|mm\.h-1|mm\/hr|mm\/hour)$/i, 'mm/h'],
  [/^(mm\/d|mm\/day|mm\s*d-1|mm\s*day-1|mm\.d-1|mm\.day-1|kg\s*m-2\s*d(ay)?-1)$/i, 'mm/day'],
  [/^(kg\s*m-2\s*s-1|kg\/m2\/s|kg\.m-2\.s-1|mm\/s|mm\s*s-1)$/i, 'kg m-2 s-1'],
  [/^(°c|degc|deg\s*c|degrees?_?c(elsius)?|celsius|c)$/i, '°C'],
  [/^(k|kelvin|degk)$/i, 'K'],
  [/^(m3\/s|m3\s*s-1|m\^3\/s|m³\/s|cumecs)$/i, 'm3/s'],
  [/^(l\/s|l\s*s-1|litres?\/s|liters?\/s)$/i, 'l/s'],
  [/^(m3\/m3|m3\s*m-3|m³\/m³|1|fraction|volumetric)$/i, 'm3/m3'],
  [/^(%|percent|vol\s*%)$/i, '%'],
];

/** The canonical spelling of a unit string, or null when it is not one the converter knows. */
export function canonicalUnit(units: string): string | null {
  const u = units.trim().replace(/\s+/g, ' ');
  for (const [re, name] of ALIASES) if (re.test(u)) return name;
  return null;
}

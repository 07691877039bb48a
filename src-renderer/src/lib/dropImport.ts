import type { ErrorCode, SerializedError } from '../../../src-shared/ipc';

/**
 * What a drop on the map becomes (issue 14): rasters as layers, a dataset folder as its parts, a GeoJSON
 * file as a study area, and a typed refusal for everything else. Pure: the drop zone gathers the items
 * (names, folder listings, real paths from the preload) and runs the plan; tests call it directly.
 */

/** One thing dropped: its name, whether it is a folder (and its entries' names), its real path if known. */
export interface DroppedItem {
  name: string;
  isDirectory: boolean;
  /** A folder's entry names when the browser listed them (`webkitGetAsEntry`), else null. */
  children: string[] | null;
  /** The path on disk (Electron's `webUtils.getPathForFile`), or null (the browser bridge, a file from a web page). */
  path: string | null;
  file: File | null;
}

export type DropAction =
  | { kind: 'raster'; name: string; path: string }
  | { kind: 'folder'; name: string; path: string }
  | { kind: 'dataset'; name: string; path: string; stacks: string[]; statics: string[] }
  | { kind: 'study-area'; name: string; file: File }
  | { kind: 'refused'; name: string; error: SerializedError };

/** Rasters `datasets.import` reads: GeoTIFF and NetCDF. */
const RASTER = /\.(tiff?|nc|nc4|netcdf|cdf)$/i;
const GEOJSON = /\.(geo)?json$/i;
const OTHER_VECTOR = /\.(shp|shx|dbf|prj|gpkg|kml|kmz|gml|fgb|sqlite)$/i;
/** The smash layout's stack folders (resources/sample-data/lez/README.md) and its static-raster folder. */
const DATASET_STACKS = ['prcp', 'pet', 'et', 'sm', 'snow', 'temp'];
const DATASET_STATICS = ['descriptor'];

const refuse = (name: string, code: ErrorCode, message: string): DropAction => ({
  kind: 'refused',
  name,
  error: { code, message, details: { file: name } },
});

/** A dataset folder: smash's layout or an assembled one (`gauge_attributes.csv` or `fieldcal-dataset.json`). */
export function isDatasetFolder(children: string[] | null): boolean {
  return (
    !!children && (children.includes('gauge_attributes.csv') || children.includes('fieldcal-dataset.json'))
  );
}

/** `folder/sub` with the folder's own separator. */
export function joinPath(folder: string, sub: string): string {
  const sep = folder.includes('\\') && !folder.includes('/') ? '\\' : '/';
  return `${folder.replace(/[\\/]+$/, '')}${sep}${sub}`;
}

/**
 * The plan for a drop. `browser` says the page runs through `fieldcal serve`: a path cannot be known
 * there, so what needs one is refused with UNAVAILABLE and the way to do it instead; a GeoJSON study
 * area is read from the file's contents and works in both shells.
 */
export function planDrop(items: DroppedItem[], opts: { browser: boolean }): DropAction[] {
  return items.map((it): DropAction => {
    const { name } = it;
    if (!it.isDirectory && GEOJSON.test(name)) {
      return it.file
        ? { kind: 'study-area', name, file: it.file }
        : refuse(name, 'INVALID_FILE', `${name} could not be read from the drop`);
    }
    if (!it.isDirectory && OTHER_VECTOR.test(name))
      return refuse(
        name,
        'UNSUPPORTED_FORMAT',
        `${name}: study areas are read from GeoJSON; convert it first (ogr2ogr -f GeoJSON area.geojson ${name})`,
      );
    if (!it.isDirectory && /\.csv$/i.test(name))
      return refuse(
        name,
        'UNSUPPORTED_FORMAT',
        `${name}: a CSV is a basin series or a gauge table, not a map layer; choose it in Calibrate → Lumped basin (CSV), or drop the dataset folder that holds it`,
      );
    if (!it.isDirectory && /\.asc$/i.test(name))
      return refuse(
        name,
        'UNSUPPORTED_FORMAT',
        `${name}: an ESRI ASCII grid is read by "Assemble a dataset…", not imported as a layer; convert it to GeoTIFF (gdal_translate ${name} out.tif) to draw it`,
      );
    if (!it.isDirectory && !RASTER.test(name))
      return refuse(
        name,
        'UNSUPPORTED_FORMAT',
        `${name}: Fieldcal imports GeoTIFF (.tif) and NetCDF (.nc) rasters, folders of rasters, dataset folders and GeoJSON study areas`,
      );
    if (!it.path)
      return opts.browser
        ? refuse(
            name,
            'UNAVAILABLE',
            `${name}: in a browser Fieldcal cannot see where a dropped file lives. Type its path in the Layers panel's import box (a folder of rasters in "Folder of rasters"), or use the desktop app, where drops import directly`,
          )
        : refuse(
            name,
            'INVALID_FILE',
            `${name} was not dropped from a disk (no path): save it to a folder first`,
          );
    if (!it.isDirectory) return { kind: 'raster', name, path: it.path };
    if (isDatasetFolder(it.children)) {
      const has = (sub: string) => it.children!.includes(sub);
      return {
        kind: 'dataset',
        name,
        path: it.path,
        stacks: DATASET_STACKS.filter(has),
        statics: DATASET_STATICS.filter(has),
      };
    }
    return { kind: 'folder', name, path: it.path };
  });
}

/** The largest GeoJSON read into the page (a study area outline, not a national coastline). */
export const MAX_GEOJSON_BYTES = 20 * 1024 * 1024;

type Json = Record<string, unknown>;

/** Outer rings and holes of every polygon in a GeoJSON object (Feature, FeatureCollection, geometries). */
function polygonsIn(g: unknown, out: unknown[][], depth = 0): void {
  if (!g || typeof g !== 'object' || depth > 8) return;
  const o = g as Json;
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  switch (o.type) {
    case 'Polygon':
      if (Array.isArray(o.coordinates)) out.push(o.coordinates);
      break;
    case 'MultiPolygon':
      for (const p of list(o.coordinates)) if (Array.isArray(p)) out.push(p);
      break;
    case 'Feature':
      polygonsIn(o.geometry, out, depth + 1);
      break;
    case 'FeatureCollection':
      for (const f of list(o.features)) polygonsIn(f, out, depth + 1);
      break;
    case 'GeometryCollection':
      for (const x of list(o.geometries)) polygonsIn(x, out, depth + 1);
      break;
  }
}

/**
 * A study area from a GeoJSON file's text: its polygons (one Polygon, or a MultiPolygon of all of
 * them) and its CRS, EPSG:4326 as RFC 7946 says unless the file names another with the 2008 `crs`
 * member (`EPSG:2154`, `urn:ogc:def:crs:EPSG::2154`; `CRS84` is 4326). Throws a typed error (INVALID_FILE)
 * naming the file and what is wrong; main validates the rings when it is saved.
 */
export function studyAreaFromGeoJson(
  text: string,
  fileName: string,
): { name: string; geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown[] }; crs: string } {
  const bad = (message: string): SerializedError => ({
    code: 'INVALID_FILE',
    message: `${fileName}: ${message}`,
    details: { file: fileName },
  });
  if (text.length > MAX_GEOJSON_BYTES) throw bad(`larger than ${MAX_GEOJSON_BYTES / 1024 / 1024} MB`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  const polys: unknown[][] = [];
  polygonsIn(doc, polys);
  if (polys.length === 0) throw bad('holds no Polygon or MultiPolygon');
  let crs = 'EPSG:4326';
  const named = ((doc as Json).crs as { properties?: { name?: unknown } } | undefined)?.properties?.name;
  if (typeof named === 'string') {
    const m = /EPSG:{1,2}(\d{4,6})$/i.exec(named);
    if (m) crs = `EPSG:${m[1]}`;
    else if (!/CRS84$/i.test(named)) throw bad(`its CRS "${named}" is not an EPSG code`);
  }
  const geometry =
    polys.length === 1
      ? { type: 'Polygon' as const, coordinates: polys[0]! }
      : { type: 'MultiPolygon' as const, coordinates: polys };
  return { name: fileName.replace(GEOJSON, '').slice(0, 200) || 'study area', geometry, crs };
}

import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { transformer } from '../rasters/crs';

type Ring = Array<[number, number]>;
type PolygonRings = Ring[];

/** GeoJSON geometry kinds a study area may be drawn as. */
interface GeoJsonLike {
  type: string;
  coordinates?: unknown;
  geometry?: GeoJsonLike;
  features?: GeoJsonLike[];
}

/** Polygons (outer ring then holes) of a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection. */
export function polygonsOf(g: GeoJsonLike): PolygonRings[] {
  switch (g.type) {
    case 'Polygon':
      return [g.coordinates as PolygonRings];
    case 'MultiPolygon':
      return g.coordinates as PolygonRings[];
    case 'Feature':
      return g.geometry ? polygonsOf(g.geometry) : [];
    case 'FeatureCollection':
      return (g.features ?? []).flatMap(polygonsOf);
    default:
      throw new FieldcalError('VALIDATION', `A study area must be a Polygon or MultiPolygon, not ${g.type}`, {
        field: 'geometry',
      });
  }
}

/** Even-odd point-in-polygon over all rings (holes excluded by parity). */
function inside(x: number, y: number, rings: PolygonRings): boolean {
  let odd = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd;
    }
  }
  return odd;
}

/** Densifies a ring's edges so that a reprojected ring follows curved edges. */
function densify(ring: Ring, per = 16): Ring {
  const out: Ring = [];
  for (let i = 0; i < ring.length - 1; i++) {
    const [x0, y0] = ring[i]!;
    const [x1, y1] = ring[i + 1]!;
    for (let k = 0; k < per; k++) out.push([x0 + ((x1 - x0) * k) / per, y0 + ((y1 - y0) * k) / per]);
  }
  out.push(ring[ring.length - 1]!);
  return out;
}

export interface GridSpec {
  /** CRS of the model grid (`EPSG:n`). */
  crs: string;
  /** Cell size in grid CRS units. */
  cellSize: number;
  /** Grid lines pass through this point (default 0, 0), so grids built separately line up. */
  anchor?: [number, number];
}

function snappedGrid(spec: GridSpec, minx: number, miny: number, maxx: number, maxy: number): Grid {
  if (!(spec.cellSize > 0))
    throw new FieldcalError('VALIDATION', 'cellSize must be positive', { field: 'cellSize' });
  const [ax, ay] = spec.anchor ?? [0, 0];
  const x0 = ax + Math.floor((minx - ax) / spec.cellSize) * spec.cellSize;
  const y0 = ay + Math.ceil((maxy - ay) / spec.cellSize) * spec.cellSize;
  const cols = Math.max(1, Math.ceil((maxx - x0) / spec.cellSize - 1e-9));
  const rows = Math.max(1, Math.ceil((y0 - miny) / spec.cellSize - 1e-9));
  if (rows * cols > 50_000_000)
    throw new FieldcalError(
      'VALIDATION',
      `A ${cols} x ${rows} grid is too large; choose a larger cell size`,
      { field: 'cellSize' },
    );
  return { crs: spec.crs, x0, y0, dx: spec.cellSize, dy: spec.cellSize, rows, cols, mask: null };
}

/** A model grid covering a bbox given in any CRS (its edges reprojected densely). */
export function gridFromBbox(bbox: [number, number, number, number], bboxCrs: string, spec: GridSpec): Grid {
  const [minx, miny, maxx, maxy] = bbox;
  if (!(maxx > minx && maxy > miny))
    throw new FieldcalError('VALIDATION', 'bbox must be [minx, miny, maxx, maxy] with max > min', {
      field: 'bbox',
    });
  const t = transformer(bboxCrs, spec.crs);
  const ring = densify([
    [minx, miny],
    [maxx, miny],
    [maxx, maxy],
    [minx, maxy],
    [minx, miny],
  ]).map(([x, y]) => t(x, y));
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  return snappedGrid(spec, Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
}

/**
 * A model grid from a drawn polygon (GeoJSON, EPSG:4326 unless told otherwise as RFC 7946 says):
 * the polygon is reprojected to the grid CRS, the grid covers it, and a cell is active when its
 * centre lies inside.
 */
export function gridFromPolygon(geojson: GeoJsonLike, geojsonCrs: string, spec: GridSpec): Grid {
  const t = transformer(geojsonCrs, spec.crs);
  const polys = polygonsOf(geojson).map((rings) => rings.map((r) => densify(r).map(([x, y]) => t(x, y))));
  if (polys.length === 0)
    throw new FieldcalError('VALIDATION', 'The study area has no polygon', { field: 'geometry' });
  const pts = polys.flat(2);
  const grid = snappedGrid(
    spec,
    Math.min(...pts.map((p) => p[0])),
    Math.min(...pts.map((p) => p[1])),
    Math.max(...pts.map((p) => p[0])),
    Math.max(...pts.map((p) => p[1])),
  );
  const mask = new Uint8Array(grid.rows * grid.cols);
  for (let r = 0; r < grid.rows; r++) {
    const y = grid.y0 - (r + 0.5) * grid.dy;
    for (let c = 0; c < grid.cols; c++) {
      const x = grid.x0 + (c + 0.5) * grid.dx;
      if (polys.some((p) => inside(x, y, p))) mask[r * grid.cols + c] = 1;
    }
  }
  if (!mask.some((v) => v))
    throw new FieldcalError(
      'VALIDATION',
      'The study area is smaller than one cell; choose a smaller cell size',
      { field: 'cellSize' },
    );
  return { ...grid, mask };
}

/**
 * The cells of a grid whose centre lies inside a drawn polygon (GeoJSON in `geojsonCrs`,
 * EPSG:4326 by default as RFC 7946 says), as a mask over rows x cols; the grid's own mask is kept.
 */
export function cellsInside(grid: Grid, geojson: GeoJsonLike, geojsonCrs = 'EPSG:4326'): Uint8Array {
  if (!grid.crs)
    throw new FieldcalError('VALIDATION', 'the grid has no CRS to place the study area on', { field: 'crs' });
  const t = transformer(geojsonCrs, grid.crs);
  const polys = polygonsOf(geojson).map((rings) => rings.map((r) => densify(r).map(([x, y]) => t(x, y))));
  if (polys.length === 0)
    throw new FieldcalError('VALIDATION', 'The study area has no polygon', { field: 'studyArea' });
  const mask = new Uint8Array(grid.rows * grid.cols);
  for (let r = 0; r < grid.rows; r++) {
    const y = grid.y0 - (r + 0.5) * grid.dy;
    for (let c = 0; c < grid.cols; c++) {
      const i = r * grid.cols + c;
      if (grid.mask && !grid.mask[i]) continue;
      const x = grid.x0 + (c + 0.5) * grid.dx;
      if (polys.some((p) => inside(x, y, p))) mask[i] = 1;
    }
  }
  return mask;
}

/**
 * A north-up, row-major model grid. `x0, y0` is the outer top-left corner (GDAL's geotransform
 * origin), `dx, dy` are positive cell sizes; row r, column c has its centre at
 * (x0 + (c + 0.5) dx, y0 - (r + 0.5) dy).
 */
export interface Grid {
  /** The grid's CRS: `EPSG:n` when known, else a proj4 string; null when the source had none. */
  crs: string | null;
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  rows: number;
  cols: number;
  /** 1 for active cells, 0 outside the study area; null means every cell is active. */
  mask: Uint8Array | null;
}

/** One value per cell of a grid. Values equal to `nodata` (or NaN) are missing. */
export interface Field {
  grid: Grid;
  data: Float32Array | Float64Array;
  nodata: number | null;
}

/** GDAL-style geotransform [x0, dx, rotX, y0, rotY, -dy]. */
export type GeoTransform = [number, number, number, number, number, number];

/** Centre of a cell in the grid's CRS. */
export function cellCentre(
  g: Pick<Grid, 'x0' | 'y0' | 'dx' | 'dy'>,
  row: number,
  col: number,
): [number, number] {
  return [g.x0 + (col + 0.5) * g.dx, g.y0 - (row + 0.5) * g.dy];
}

/** The cell containing a point, or null when it falls outside the grid. */
export function cellOf(g: Grid, x: number, y: number): { row: number; col: number } | null {
  const col = Math.floor((x - g.x0) / g.dx);
  const row = Math.floor((g.y0 - y) / g.dy);
  return row >= 0 && row < g.rows && col >= 0 && col < g.cols ? { row, col } : null;
}

/** Number of active cells. */
export function activeCount(g: Grid): number {
  if (!g.mask) return g.rows * g.cols;
  let n = 0;
  for (const v of g.mask) n += v;
  return n;
}

import { FieldcalError, type ServiceImpl, type StudyAreaRecord } from '../../../src-shared/ipc';
import { cellAreaKm2 } from '../grid/catchment';
import { maskOutline } from '../grid/outline';
import { proj4Def, transformer } from '../rasters/crs';
import { gaugeCatchment, gaugeFolder } from './hydrology';
import type { StudyAreaRow } from './repositories/studyAreas';
import type { ProjectSession } from './session';

type Position = [number, number];

const invalid = (field: string, message: string) =>
  new FieldcalError('VALIDATION', `${field}: ${message}`, { field });

/**
 * Checks a GeoJSON Polygon or MultiPolygon: every ring an array of at least 4 positions, closed
 * (first = last, RFC 7946 3.1.6), every position two (or three) finite numbers, lon/lat in range
 * for EPSG:4326. Throws VALIDATION naming the path, e.g. `geometry.coordinates.0.2.1`.
 */
export function checkGeometry(geometry: { type: string; coordinates: unknown }, crs: string): Position[][][] {
  const at = (...p: number[]) => ['geometry', 'coordinates', ...p].join('.');
  const ring = (r: unknown, path: number[]): Position[] => {
    if (!Array.isArray(r)) throw invalid(at(...path), 'a ring must be an array of positions');
    if (r.length < 4) throw invalid(at(...path), `a ring needs at least 4 positions, got ${r.length}`);
    const pts = r.map((p: unknown, i): Position => {
      if (!Array.isArray(p) || p.length < 2 || p.length > 3)
        throw invalid(at(...path, i), 'a position must be [x, y] or [x, y, z]');
      p.forEach((v: unknown, j) => {
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw invalid(at(...path, i, j), `${String(v)} is not a finite number`);
      });
      const [x, y] = p as number[];
      if (crs === 'EPSG:4326' && (Math.abs(x!) > 180 || Math.abs(y!) > 90))
        throw invalid(at(...path, i), `(${x}, ${y}) is not a longitude/latitude`);
      return [x!, y!];
    });
    const [f, l] = [pts[0]!, pts[pts.length - 1]!];
    if (f[0] !== l[0] || f[1] !== l[1])
      throw invalid(at(...path), 'the ring is not closed (its last position must equal its first)');
    return pts;
  };
  const polygon = (p: unknown, path: number[]): Position[][] => {
    if (!Array.isArray(p) || p.length === 0)
      throw invalid(at(...path), 'a polygon must be a non-empty array of rings');
    return p.map((r: unknown, i) => ring(r, [...path, i]));
  };
  const c = geometry.coordinates;
  if (geometry.type === 'Polygon') return [polygon(c, [])];
  if (geometry.type === 'MultiPolygon') {
    if (!Array.isArray(c) || c.length === 0)
      throw invalid(at(), 'a MultiPolygon must be a non-empty array of polygons');
    return c.map((p: unknown, i) => polygon(p, [i]));
  }
  throw invalid('geometry.type', `expected Polygon or MultiPolygon, got ${geometry.type}`);
}

/** WGS 84 semi-major axis in metres (the sphere radius of the area formula below). */
const EARTH_RADIUS = 6378137;

/**
 * Area of polygons on the sphere in km² (Chamberlain & Duquette 2007, "Some algorithms for
 * polygons on a sphere", JPL 07-03: sum of (λ[i+1] - λ[i-1]) sin φ[i] · R²/2 per ring), holes
 * subtracted; edges are densified in their own CRS first so projected straight edges are followed.
 */
export function sphericalAreaKm2(polys: Position[][][], crs: string): number {
  const t = transformer(crs, 'EPSG:4326');
  const rad = Math.PI / 180;
  const ringArea = (ring: Position[]): number => {
    const pts: Position[] = [];
    for (let i = 0; i < ring.length - 1; i++) {
      const [x0, y0] = ring[i]!;
      const [x1, y1] = ring[i + 1]!;
      for (let k = 0; k < 8; k++) pts.push(t(x0 + ((x1 - x0) * k) / 8, y0 + ((y1 - y0) * k) / 8));
    }
    const n = pts.length;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const lo = pts[(i + 1) % n]![0] - pts[(i - 1 + n) % n]![0];
      s += lo * rad * Math.sin(pts[i]![1] * rad);
    }
    return Math.abs((s * EARTH_RADIUS * EARTH_RADIUS) / 2);
  };
  let m2 = 0;
  for (const p of polys) p.forEach((r, i) => (m2 += i === 0 ? ringArea(r) : -ringArea(r)));
  return m2 / 1e6;
}

const toRecord = (a: StudyAreaRow): StudyAreaRecord => ({
  id: a.id,
  name: a.name,
  geometry: a.geometry as StudyAreaRecord['geometry'],
  crs: a.crs,
  origin: a.origin,
  gaugeCode: a.gaugeCode,
  cells: a.cells,
  areaKm2: a.areaKm2,
  createdAt: a.createdAt,
});

/** A CRS the app can transform, or a VALIDATION error naming `crs`. */
function checkCrs(crs: string): void {
  try {
    proj4Def(crs);
    transformer(crs, 'EPSG:4326');
  } catch (err) {
    throw new FieldcalError('VALIDATION', `crs: ${(err as Error).message}`, { field: 'crs', crs });
  }
}

/**
 * The study-areas service: drawn polygons saved with the project, and the catchment above a gauge
 * derived from the flow directions (its outline traced along the cell edges of the upstream mask).
 */
export function createStudyAreasService(session: ProjectSession): ServiceImpl<'studyAreas'> {
  return {
    list: () => session.require('studyAreas.list').studyAreas.list().map(toRecord),
    save: ({ id, name, geometry, crs }) => {
      const store = session.require('studyAreas.save');
      checkCrs(crs);
      const polys = checkGeometry(geometry, crs);
      const area = {
        name,
        geometry: geometry as Record<string, unknown>,
        crs,
        origin: 'drawn' as const,
        gaugeCode: null,
        cells: null,
        areaKm2: sphericalAreaKm2(polys, crs),
      };
      const row =
        id === undefined
          ? store.studyAreas.get(store.studyAreas.add(area))
          : store.studyAreas.update(id, area);
      session.changed();
      return toRecord(row);
    },
    remove: ({ id }) => {
      const removed = session.require('studyAreas.remove').studyAreas.remove(id);
      if (removed) session.changed();
      return { removed };
    },
    catchment: async ({ gaugeId, name }) => {
      const store = session.require('studyAreas.catchment');
      const g = store.gauges.get(gaugeId);
      const gc = await gaugeCatchment(store, g);
      if (!gc)
        throw new FieldcalError(
          'NOT_FOUND',
          `No flow-direction raster (*flwdir*.tif) in ${gaugeFolder(store, g)} to delineate the catchment of ${g.code}`,
          { file: gaugeFolder(store, g), gauge: g.code },
        );
      const grid = gc.catchment.grid;
      const geometry = maskOutline(grid, grid.mask!);
      const crs = grid.crs!;
      const geographic = /\+proj=longlat\b/.test(proj4Def(crs));
      const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
      // projected grid: cells x cell area; geographic grid: the outline's area on the sphere
      const areaKm2 = geographic ? sphericalAreaKm2(polys, crs) : gc.catchment.cells * cellAreaKm2(grid);
      const existing = store.studyAreas.catchmentOf(g.code);
      const area = {
        name: name ?? existing?.name ?? `Catchment ${g.code}`,
        geometry: geometry as unknown as Record<string, unknown>,
        crs,
        origin: 'catchment' as const,
        gaugeCode: g.code,
        cells: gc.catchment.cells,
        areaKm2,
      };
      const row = existing
        ? store.studyAreas.update(existing.id, area)
        : store.studyAreas.get(store.studyAreas.add(area));
      session.changed();
      return toRecord(row);
    },
  };
}

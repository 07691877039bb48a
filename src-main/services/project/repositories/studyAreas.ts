import type { StudyAreaRecord } from '../../../../src-shared/ipc';
import { notFound, nowIso, parseJsonObject, Repo } from './common';

/** A study area: the drawn or derived geometry (GeoJSON), how it was made, and the model grid built on it. */
export interface StudyAreaRow {
  id: number;
  name: string;
  geometry: Record<string, unknown>;
  crs: string;
  grid: Record<string, unknown> | null;
  origin: StudyAreaRecord['origin'];
  gaugeCode: string | null;
  cells: number | null;
  areaKm2: number | null;
  createdAt: string;
}

/** What a caller gives to create or replace a study area. */
export type NewStudyArea = Omit<
  StudyAreaRow,
  'id' | 'createdAt' | 'grid' | 'origin' | 'gaugeCode' | 'cells' | 'areaKm2'
> &
  Partial<Pick<StudyAreaRow, 'grid' | 'origin' | 'gaugeCode' | 'cells' | 'areaKm2'>>;

interface Row {
  id: number;
  name: string;
  geometry_json: string;
  crs: string;
  grid_json: string | null;
  origin: StudyAreaRecord['origin'];
  gauge_code: string | null;
  cells: number | null;
  area_km2: number | null;
  created_at: string;
}

const toRow = (r: Row): StudyAreaRow => ({
  id: r.id,
  name: r.name,
  geometry: parseJsonObject(r.geometry_json, `study_areas.geometry_json (id ${r.id})`) ?? {},
  crs: r.crs,
  grid: parseJsonObject(r.grid_json, `study_areas.grid_json (id ${r.id})`),
  origin: r.origin,
  gaugeCode: r.gauge_code,
  cells: r.cells,
  areaKm2: r.area_km2,
  createdAt: r.created_at,
});

const params = (a: NewStudyArea) => ({
  name: a.name,
  geometry: JSON.stringify(a.geometry),
  crs: a.crs,
  grid: a.grid ? JSON.stringify(a.grid) : null,
  origin: a.origin ?? 'drawn',
  gaugeCode: a.gaugeCode ?? null,
  cells: a.cells ?? null,
  areaKm2: a.areaKm2 ?? null,
});

/** The `study_areas` table. */
export class StudyAreasRepo extends Repo {
  add(a: NewStudyArea): number {
    return this.tx(() =>
      Number(
        this.db
          .prepare(
            `INSERT INTO study_areas (name, geometry_json, crs, grid_json, origin, gauge_code, cells, area_km2, created_at)
             VALUES (@name, @geometry, @crs, @grid, @origin, @gaugeCode, @cells, @areaKm2, @createdAt)`,
          )
          .run({ ...params(a), createdAt: nowIso() }).lastInsertRowid,
      ),
    );
  }

  /** Replaces every stored field of a study area but its id and creation time. */
  update(id: number, a: NewStudyArea): StudyAreaRow {
    return this.tx(() => {
      this.get(id);
      this.db
        .prepare(
          `UPDATE study_areas SET name = @name, geometry_json = @geometry, crs = @crs, grid_json = @grid,
             origin = @origin, gauge_code = @gaugeCode, cells = @cells, area_km2 = @areaKm2 WHERE id = @id`,
        )
        .run({ ...params(a), id });
      return this.get(id);
    });
  }

  get(id: number): StudyAreaRow {
    const row = this.db.prepare('SELECT * FROM study_areas WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound('study area', id);
    return toRow(row);
  }

  list(): StudyAreaRow[] {
    return (this.db.prepare('SELECT * FROM study_areas ORDER BY id').all() as Row[]).map(toRow);
  }

  /** The catchment study area of a gauge, if one was derived. */
  catchmentOf(gaugeCode: string): StudyAreaRow | null {
    const row = this.db
      .prepare("SELECT * FROM study_areas WHERE origin = 'catchment' AND gauge_code = ? ORDER BY id LIMIT 1")
      .get(gaugeCode) as Row | undefined;
    return row ? toRow(row) : null;
  }

  /** Removes a study area; runs that named it keep running on nothing (study_area_id set to null). */
  remove(id: number): boolean {
    return this.tx(() => this.db.prepare('DELETE FROM study_areas WHERE id = ?').run(id).changes > 0);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM study_areas').get() as { n: number }).n;
  }
}

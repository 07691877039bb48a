import { nowIso, Repo } from './common';

/** A study area: the drawn or derived geometry (GeoJSON) and the model grid built on it. */
export interface StudyAreaRow {
  id: number;
  name: string;
  geometry: Record<string, unknown>;
  crs: string;
  grid: Record<string, unknown> | null;
  createdAt: string;
}

/** The `study_areas` table. */
export class StudyAreasRepo extends Repo {
  add(a: Omit<StudyAreaRow, 'id' | 'createdAt'>): number {
    return this.tx(() =>
      Number(
        this.db
          .prepare(
            'INSERT INTO study_areas (name, geometry_json, crs, grid_json, created_at) VALUES (?, ?, ?, ?, ?)',
          )
          .run(a.name, JSON.stringify(a.geometry), a.crs, a.grid ? JSON.stringify(a.grid) : null, nowIso())
          .lastInsertRowid,
      ),
    );
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM study_areas').get() as { n: number }).n;
  }
}

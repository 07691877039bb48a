import { FieldcalError } from '../../../../src-shared/ipc';
import { notFound, Repo } from './common';

const SELECT = `SELECT id, dataset_id AS datasetId, code, name, x, y, crs, area_km2 AS areaKm2,
                cell_row AS cellRow, cell_col AS cellCol FROM gauges`;

/** A gauge as stored: code, position in its CRS, declared drained area and snapped cell. */
export interface GaugeRow {
  id: number;
  datasetId: number | null;
  code: string;
  name: string | null;
  x: number;
  y: number;
  crs: string | null;
  areaKm2: number | null;
  cellRow: number | null;
  cellCol: number | null;
}

/** The `gauges` table. */
export class GaugesRepo extends Repo {
  add(g: Omit<GaugeRow, 'id'>): number {
    // gauge codes are unique in a project: a second import of the same gauges is a conflict, named
    const existing = this.db
      .prepare('SELECT dataset_id AS datasetId FROM gauges WHERE code = ?')
      .get(g.code) as { datasetId: number | null } | undefined;
    if (existing)
      throw new FieldcalError(
        'CONFLICT',
        `Gauge ${g.code} is already in this project${existing.datasetId !== null ? ` (dataset ${existing.datasetId})` : ''}; remove that dataset first or rename the gauge`,
        { code: g.code, datasetId: existing.datasetId },
      );
    return this.tx(() =>
      Number(
        this.db
          .prepare(
            `INSERT INTO gauges (dataset_id, code, name, x, y, crs, area_km2, cell_row, cell_col)
             VALUES (@datasetId, @code, @name, @x, @y, @crs, @areaKm2, @cellRow, @cellCol)`,
          )
          .run(g).lastInsertRowid,
      ),
    );
  }

  list(): GaugeRow[] {
    return this.db.prepare(`${SELECT} ORDER BY code`).all() as GaugeRow[];
  }

  get(id: number): GaugeRow {
    const row = this.db.prepare(`${SELECT} WHERE id = ?`).get(id) as GaugeRow | undefined;
    if (!row) throw notFound('gauge', id);
    return row;
  }
}

import type { DatasetRecord } from '../../../../src-shared/ipc';
import { notFound, nowIso, parseJsonObject, Repo } from './common';

interface Row {
  id: number;
  name: string;
  kind: DatasetRecord['kind'];
  source_path: string;
  crs: string | null;
  grid_json: string | null;
  time_start: string | null;
  time_end: string | null;
  steps: number | null;
  size_bytes: number | null;
  checksum: string | null;
  created_at: string;
}

export type NewDataset = Omit<DatasetRecord, 'id' | 'createdAt' | 'status'>;
/** A dataset as stored; its `status` is worked out from the file system by the service. */
export type StoredDataset = Omit<DatasetRecord, 'status'>;

const toRecord = (r: Row): StoredDataset => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  sourcePath: r.source_path,
  crs: r.crs,
  grid: parseJsonObject(r.grid_json, `datasets.grid_json (id ${r.id})`),
  timeStart: r.time_start,
  timeEnd: r.time_end,
  steps: r.steps,
  sizeBytes: r.size_bytes,
  checksum: r.checksum,
  createdAt: r.created_at,
});

/** The `datasets` table: imported source files with their grid, time range and checksum. */
export class DatasetsRepo extends Repo {
  add(d: NewDataset): StoredDataset {
    return this.tx(() => {
      const info = this.db
        .prepare(
          `INSERT INTO datasets (name, kind, source_path, crs, grid_json, time_start, time_end, steps, size_bytes, checksum, created_at)
           VALUES (@name, @kind, @sourcePath, @crs, @grid, @timeStart, @timeEnd, @steps, @sizeBytes, @checksum, @createdAt)`,
        )
        .run({ ...d, grid: d.grid === null ? null : JSON.stringify(d.grid), createdAt: nowIso() });
      return this.get(Number(info.lastInsertRowid));
    });
  }

  list(): StoredDataset[] {
    return (this.db.prepare('SELECT * FROM datasets ORDER BY id').all() as Row[]).map(toRecord);
  }

  get(id: number): StoredDataset {
    const row = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound('dataset', id);
    return toRecord(row);
  }

  /** Removes a dataset and, through foreign keys, its layers and gauges. */
  remove(id: number): boolean {
    return this.tx(() => this.db.prepare('DELETE FROM datasets WHERE id = ?').run(id).changes > 0);
  }
}

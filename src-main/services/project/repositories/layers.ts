import type { LayerRecord } from '../../../../src-shared/ipc';
import { notFound, parseJsonObject, Repo } from './common';

interface Row {
  id: number;
  dataset_id: number;
  name: string;
  visible: number;
  opacity: number;
  z_order: number;
  style_json: string;
}

const toRecord = (r: Row): LayerRecord => ({
  id: r.id,
  datasetId: r.dataset_id,
  name: r.name,
  visible: r.visible === 1,
  opacity: r.opacity,
  zOrder: r.z_order,
  style: parseJsonObject(r.style_json, `layers.style_json (id ${r.id})`) ?? {},
});

/** The `layers` table: how each dataset is drawn on the map. */
export class LayersRepo extends Repo {
  add(l: { datasetId: number; name: string; style?: Record<string, unknown> }): LayerRecord {
    return this.tx(() => {
      const z = (
        this.db.prepare('SELECT coalesce(max(z_order), -1) + 1 AS z FROM layers').get() as { z: number }
      ).z;
      const info = this.db
        .prepare('INSERT INTO layers (dataset_id, name, z_order, style_json) VALUES (?, ?, ?, ?)')
        .run(l.datasetId, l.name, z, JSON.stringify(l.style ?? {}));
      return this.get(Number(info.lastInsertRowid));
    });
  }

  list(): LayerRecord[] {
    return (this.db.prepare('SELECT * FROM layers ORDER BY z_order, id').all() as Row[]).map(toRecord);
  }

  get(id: number): LayerRecord {
    const row = this.db.prepare('SELECT * FROM layers WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound('layer', id);
    return toRecord(row);
  }

  update(id: number, patch: { visible?: boolean | undefined; opacity?: number | undefined }): LayerRecord {
    return this.tx(() => {
      const cur = this.get(id);
      this.db
        .prepare('UPDATE layers SET visible = ?, opacity = ? WHERE id = ?')
        .run((patch.visible ?? cur.visible) ? 1 : 0, patch.opacity ?? cur.opacity, id);
      return this.get(id);
    });
  }
}

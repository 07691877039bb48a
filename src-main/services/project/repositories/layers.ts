import { FieldcalError, type LayerRecord } from '../../../../src-shared/ipc';
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

  /** Changes visibility, opacity, name and style (the style is replaced as a whole). */
  update(
    id: number,
    patch: {
      visible?: boolean | undefined;
      opacity?: number | undefined;
      name?: string | undefined;
      style?: Record<string, unknown> | undefined;
    },
  ): LayerRecord {
    return this.tx(() => {
      const cur = this.get(id);
      this.db
        .prepare('UPDATE layers SET visible = ?, opacity = ?, name = ?, style_json = ? WHERE id = ?')
        .run(
          (patch.visible ?? cur.visible) ? 1 : 0,
          patch.opacity ?? cur.opacity,
          patch.name ?? cur.name,
          JSON.stringify(patch.style ?? cur.style),
          id,
        );
      return this.get(id);
    });
  }

  /**
   * Sets the drawing order, `ids` bottom to top; they must be every layer of the project exactly
   * once, else a VALIDATION error naming `ids` and nothing changes.
   */
  reorder(ids: readonly number[]): LayerRecord[] {
    return this.tx(() => {
      const all = (this.db.prepare('SELECT id FROM layers').all() as Array<{ id: number }>).map((r) => r.id);
      const known = new Set(all);
      const seen = new Set<number>();
      for (const [i, id] of ids.entries()) {
        if (!known.has(id))
          throw new FieldcalError('VALIDATION', `ids[${i}]: no layer with id ${id} in this project`, {
            field: 'ids',
            id,
          });
        if (seen.has(id))
          throw new FieldcalError('VALIDATION', `ids[${i}]: layer ${id} is listed twice`, {
            field: 'ids',
            id,
          });
        seen.add(id);
      }
      const missing = all.filter((id) => !seen.has(id));
      if (missing.length)
        throw new FieldcalError(
          'VALIDATION',
          `ids must list every layer of the project exactly once; missing ${missing.join(', ')}`,
          { field: 'ids', missing },
        );
      const put = this.db.prepare('UPDATE layers SET z_order = ? WHERE id = ?');
      ids.forEach((id, z) => put.run(z, id));
      return this.list();
    });
  }

  /** Removes a layer (its dataset stays). */
  remove(id: number): boolean {
    return this.tx(() => this.db.prepare('DELETE FROM layers WHERE id = ?').run(id).changes > 0);
  }
}

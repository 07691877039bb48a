import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import {
  lumpedManifestSchema,
  type LumpedColumns,
  type LumpedManifest,
} from '../../../src-shared/types/assemble';
import { checkManifest, readManifestJson } from './smashDataset';

/**
 * The manifest of a lumped dataset folder (`fieldcal assemble` with `kind: "lumped"`), checked; null
 * when the folder has no manifest or holds another kind of dataset.
 */
export async function readLumpedManifest(dir: string): Promise<LumpedManifest | null> {
  const m = await readManifestJson(dir);
  if ((m?.json as { format?: unknown } | null)?.format !== 'fieldcal-lumped-dataset') return null;
  return checkManifest(lumpedManifestSchema, m!.json, m!.file);
}

/** A basin a lumped run reads: its CSV and its code. */
export interface LumpedSource {
  csv: string;
  code: string;
  /** Read from a lumped dataset folder (its CSVs already in mm per step and °C). */
  dataset: boolean;
}

/**
 * A lumped dataset's CSVs are converted already: a column mapping that would convert them again (a
 * unit other than mm or °C) is refused, naming the field.
 */
export function checkDatasetColumns(src: LumpedSource, columns: LumpedColumns | undefined): void {
  if (!src.dataset || !columns) return;
  const u = columns.units;
  const bad = (['P', 'PET', 'Q'] as const).find((k) => u[k] !== 'mm') ?? (u.T !== '°C' ? 'T' : null);
  if (bad)
    throw new FieldcalError(
      'VALIDATION',
      `${src.csv} is in a lumped dataset, already in mm per step and °C: ${bad} in ${u[bad]} would be converted twice; drop the column mapping`,
      { file: src.csv, field: `columns.units.${bad}` },
    );
}

/**
 * Where a lumped run's basin is: a lumped dataset folder of one basin names that basin's CSV; a CSV
 * is read as it is. A lumped dataset's CSVs are in mm per step and °C under headers the lumped
 * reader recognises, so a run on them needs no column mapping. CemaNeige's hypsometry is the dataset's
 * `hypsometry.csv`, the basin's column: the run names it (`hypsometry: {path, basin}`), as for any CSV.
 */
export async function lumpedSource(path: string): Promise<LumpedSource> {
  const st = await stat(path).catch(() => null);
  const fromDataset = (dir: string, b: LumpedManifest['basins'][number]): LumpedSource => ({
    csv: join(dir, b.file),
    code: b.code,
    dataset: true,
  });
  if (st?.isDirectory()) {
    const m = await readLumpedManifest(path);
    if (!m)
      throw new FieldcalError(
        'VALIDATION',
        `${path} is a folder but not a lumped dataset (no fieldcal-lumped-dataset manifest); a lumped run takes a basin CSV or a lumped dataset`,
        { file: path, field: 'dataset' },
      );
    if (m.basins.length !== 1)
      throw new FieldcalError(
        'VALIDATION',
        `${path} holds ${m.basins.length} basins (${m.basins
          .slice(0, 5)
          .map((b) => b.code)
          .join(', ')}${m.basins.length > 5 ? ', ...' : ''}); name one: ${join(path, m.basins[0]!.file)}`,
        { file: path, field: 'dataset' },
      );
    return fromDataset(path, m.basins[0]!);
  }
  return { csv: path, code: basename(path).replace(/\.[^.]*$/, ''), dataset: false };
}

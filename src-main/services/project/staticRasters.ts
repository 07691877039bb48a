import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import { dateFromName } from '../rasters/stack';

/**
 * The static (undated) GeoTIFFs at the top of a folder, sorted. A folder of dated rasters (in it
 * or in its subfolders, e.g. prcp/2012/08/...) is refused: it is a time stack.
 */
export async function staticRasters(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => {
    throw new FieldcalError('NOT_FOUND', `${folder} is not a readable folder`, {
      file: folder,
      field: 'path',
    });
  });
  const tifs = entries
    .filter((e) => e.isFile() && /\.tiff?$/i.test(e.name))
    .map((e) => e.name)
    .sort();
  const dated = tifs.find((n) => dateFromName(n) !== null);
  const hasDatedBelow = async (dir: string, depth: number): Promise<string | null> => {
    if (depth > 3) return null;
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isFile() && /\.tiff?$/i.test(e.name) && dateFromName(e.name)) return join(dir, e.name);
      if (e.isDirectory()) {
        const f = await hasDatedBelow(join(dir, e.name), depth + 1);
        if (f) return f;
      }
    }
    return null;
  };
  const datedFile = dated ? join(folder, dated) : tifs.length === 0 ? await hasDatedBelow(folder, 0) : null;
  if (datedFile)
    throw new FieldcalError(
      'VALIDATION',
      `${folder} holds dated rasters (${basename(datedFile)}): import it as a stack (datasets.import with kind 'stack'), not as a folder of static rasters`,
      { file: datedFile, field: 'path' },
    );
  if (tifs.length === 0)
    throw new FieldcalError('VALIDATION', `${folder} holds no GeoTIFF file`, { file: folder, field: 'path' });
  return tifs.map((n) => join(folder, n));
}

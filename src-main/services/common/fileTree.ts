import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';

/** Every regular file under a path (itself when it is a file), sorted, so fingerprints are stable. */
export async function filesUnder(path: string): Promise<string[]> {
  const st = await stat(path);
  if (st.isFile()) return [path];
  if (!st.isDirectory())
    throw new FieldcalError('INVALID_FILE', `${path} is not a regular file or a folder`, { file: path });
  const out: string[] = [];
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** Total size of a file or of a folder's regular files, or null when the path is not there or is neither. */
export async function sizeOnDisk(path: string): Promise<number | null> {
  try {
    let size = 0;
    for (const f of await filesUnder(path)) size += (await stat(f)).size;
    return size;
  } catch {
    return null;
  }
}

import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';

/** A temporary name beside `dest`, in the same folder so the final rename is atomic. */
function tempBeside(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
}

async function refuseExisting(dest: string, overwrite: boolean): Promise<void> {
  if (overwrite) return;
  const exists = await fsp.access(dest, constants.F_OK).then(
    () => true,
    () => false,
  );
  if (exists)
    throw new FieldcalError('CONFLICT', `${dest} exists; pass overwrite to replace it`, { path: dest });
}

/**
 * Flushes a folder's entries (a rename is durable only once its folder is: POSIX fsync(2) on the
 * directory, as SQLite does for its journal). It runs after the rename, when the new file is in
 * place: a folder that cannot be flushed (Windows answers EPERM, some file systems EINVAL or
 * ENOTSUP) is no failed write, so every refusal is let pass.
 */
async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}

/**
 * Writes a file atomically: the bytes go to a temporary file beside the destination, are flushed
 * to disk, then renamed over it, and the folder is flushed so the rename survives a power loss.
 * Readers never see a half-written file; a killed process leaves at most a `.tmp` file, removed
 * here on any failure.
 */
export async function writeFileAtomic(
  dest: string,
  write: (tmpPath: string) => Promise<void>,
  overwrite = true,
): Promise<number> {
  await refuseExisting(dest, overwrite);
  const tmp = tempBeside(dest);
  try {
    await write(tmp);
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, dest);
    await syncDir(dirname(dest));
    return (await fsp.stat(dest)).size;
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    if (err instanceof FieldcalError) throw err;
    throw new FieldcalError('IO', `Cannot write ${dest}: ${(err as Error).message}`, { path: dest });
  }
}

/** Copies a file atomically (see {@link writeFileAtomic}). */
export function copyFileAtomic(src: string, dest: string, overwrite: boolean): Promise<number> {
  return writeFileAtomic(dest, (tmp) => fsp.copyFile(src, tmp), overwrite);
}

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../../../src-shared/ipc';
import { writeFileAtomic } from '../../../common/atomicFile';
import { sha256 } from '../../../common/checksum';

/** Where a blob of float32 arrays lives: its file, checksum and the length of each array. */
export interface BlobRef {
  file: string;
  sha256: string;
  lengths: number[];
}

/**
 * Writes the arrays (network weights and optimiser moments: tens of MB, too large for the
 * project's JSON checkpoint row) as one binary file, atomically, and removes the blob two epochs
 * older; the JSON checkpoint then names this file and its checksum, so a run killed at any point
 * resumes from a complete blob.
 */
export async function saveBlob(dir: string, epoch: number, arrays: Float32Array[]): Promise<BlobRef> {
  await mkdir(dir, { recursive: true });
  const bytes = new Uint8Array(arrays.reduce((s, a) => s + a.byteLength, 0));
  let at = 0;
  for (const a of arrays) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  const name = (e: number) => join(dir, `gan-po-epoch-${String(e).padStart(5, '0')}.bin`);
  const file = name(epoch);
  await writeFileAtomic(file, (tmp) => writeFile(tmp, bytes));
  if (epoch >= 2) await rm(name(epoch - 2), { force: true });
  return { file, sha256: sha256(bytes), lengths: arrays.map((a) => a.length) };
}

/** Reads a blob back, refusing one whose checksum or size differs from its reference. */
export async function loadBlob(ref: BlobRef): Promise<Float32Array[]> {
  const bytes = await readFile(ref.file).catch(() => {
    throw new FieldcalError('NOT_FOUND', `checkpoint ${ref.file} is missing`, { file: ref.file });
  });
  if (sha256(bytes) !== ref.sha256 || bytes.length !== 4 * ref.lengths.reduce((s, n) => s + n, 0))
    throw new FieldcalError('INCONSISTENT_DATA', `checkpoint ${ref.file} changed since it was written`, {
      file: ref.file,
    });
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const out: Float32Array[] = [];
  let at = 0;
  for (const n of ref.lengths) {
    out.push(all.slice(at, at + n));
    at += n;
  }
  return out;
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 of bytes, hex: the checksum every artifact is recorded and verified with. */
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Size and SHA-256 of one file, streamed (artifacts can be large multi-band GeoTIFFs). */
export async function fileChecksum(path: string): Promise<{ sizeBytes: number; checksum: string }> {
  const h = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path)) {
    sizeBytes += (chunk as Buffer).length;
    h.update(chunk as Buffer);
  }
  return { sizeBytes, checksum: h.digest('hex') };
}

/** An artifact row of a run (kind, path, size, checksum) for a file just written. */
export async function artifactOf(
  kind: string,
  path: string,
): Promise<{ kind: string; path: string; sizeBytes: number; checksum: string }> {
  return { kind, path, ...(await fileChecksum(path)) };
}

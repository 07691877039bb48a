import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { FieldcalError } from '../../../src-shared/ipc';

/** Largest text file (gauge attributes, discharge series, lumped CSV) a loader reads whole: 256 MiB. */
export const MAX_TEXT_BYTES = 256 * 2 ** 20;

const kindOf = (st: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isDirectory(): boolean;
}) =>
  st.isFIFO()
    ? 'a named pipe (FIFO)'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : st.isDirectory()
          ? 'a folder'
          : 'not a regular file';

/**
 * The size of a regular file, refusing anything else before it is opened: a FIFO, socket or device
 * would block a read forever (or never end). Missing files are NOT_FOUND; files over `maxBytes` are
 * INVALID_FILE with the limit named.
 */
export async function regularFileSize(path: string, maxBytes = Number.POSITIVE_INFINITY): Promise<number> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new FieldcalError('NOT_FOUND', `${path} not found`, { file: path });
  if (!st.isFile())
    throw new FieldcalError('INVALID_FILE', `${path} is ${kindOf(st)}, not a regular file`, {
      file: path,
      problem: 'not a regular file',
    });
  if (st.size > maxBytes)
    throw new FieldcalError(
      'INVALID_FILE',
      `${path} is ${st.size} bytes, more than the ${maxBytes} bytes this loader reads`,
      { file: path, problem: 'too large', sizeBytes: st.size, maxBytes },
    );
  return st.size;
}

/**
 * Opens a regular file for reading without ever blocking: O_NONBLOCK keeps a FIFO swapped in after
 * the check from hanging the open, and the handle is checked again with fstat.
 */
export async function openRegularFile(
  path: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<{ fh: FileHandle; size: number }> {
  await regularFileSize(path, maxBytes);
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new FieldcalError('IO', `${path} cannot be opened: ${(err as Error).message}`, { file: path });
  }
  const st = await fh.stat();
  if (!st.isFile() || st.size > maxBytes) {
    await fh.close();
    throw new FieldcalError('INVALID_FILE', `${path} changed while it was opened (${kindOf(st)})`, {
      file: path,
      problem: 'not a regular file',
    });
  }
  return { fh, size: st.size };
}

/** Reads `len` bytes at `pos` (fewer at the end of the file), bounded by the size known at open. */
export async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(b, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === len ? b : b.subarray(0, got);
}

/** A whole regular file of at most `maxBytes`, read with its size bounded before and during the read. */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  const { fh, size } = await openRegularFile(path, maxBytes);
  try {
    return await readAt(fh, 0, size);
  } catch (err) {
    throw new FieldcalError('IO', `${path} cannot be read: ${(err as Error).message}`, { file: path });
  } finally {
    await fh.close();
  }
}

/** A regular text file as UTF-8 (a leading byte-order mark dropped), at most `maxBytes`. */
export async function readTextFile(path: string, maxBytes = MAX_TEXT_BYTES): Promise<string> {
  const text = (await readRegularFile(path, maxBytes)).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

import { open } from 'node:fs/promises';
import { FieldcalError } from '../../../src-shared/ipc';

/** Bytes per value of each TIFF field type (TIFF 6.0 and BigTIFF). */
const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};

/** StripOffsets, StripByteCounts, TileOffsets, TileByteCounts. */
const DATA_TAGS = new Set([273, 279, 324, 325]);

/**
 * Checks the header and first IFD of a TIFF before geotiff.js parses it: byte order, magic,
 * IFD inside the file, known field types, and every out-of-line value inside the file. A damaged
 * count or offset would otherwise send the parser after gigabytes that do not exist.
 */
export async function checkTiffStructure(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const fail = (problem: string) =>
      new FieldcalError('INVALID_FILE', `${path} is not a valid TIFF: ${problem}`, { file: path, problem });
    const read = async (pos: number, len: number) => {
      if (pos < 0 || pos + len > size)
        throw fail(`structure points past the end of the file (byte ${pos + len} of ${size})`);
      const b = Buffer.alloc(len);
      await fh.read(b, 0, len, pos);
      return b;
    };
    if (size < 8) throw fail('shorter than a TIFF header');
    const head = await read(0, 16 <= size ? 16 : 8);
    const order = head.toString('latin1', 0, 2);
    if (order !== 'II' && order !== 'MM') throw fail('no TIFF byte-order mark');
    const le = order === 'II';
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const magic = u16(head, 2);
    if (magic !== 42 && magic !== 43) throw fail(`magic number ${magic} (expected 42 or 43)`);
    const big = magic === 43;
    if (big && head.length < 16) throw fail('truncated BigTIFF header');
    const ifd = big ? u64(head, 8) : u32(head, 4);
    const countBytes = big ? 8 : 2;
    const entrySize = big ? 20 : 12;
    const inline = big ? 8 : 4;
    const nb = await read(ifd, countBytes);
    const n = big ? u64(nb, 0) : u16(nb, 0);
    if (n === 0 || n > 4096) throw fail(`first IFD has ${n} entries`);
    const entries = await read(ifd + countBytes, n * entrySize);
    const arrays = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const e = i * entrySize;
      const tag = u16(entries, e);
      const type = u16(entries, e + 2);
      const count = big ? u64(entries, e + 4) : u32(entries, e + 4);
      const ts = TYPE_SIZE[type];
      if (!ts) throw fail(`tag ${tag} has unknown field type ${type}`);
      const bytes = count * ts;
      if (bytes > size) throw fail(`tag ${tag} claims ${count} values, more than the file holds`);
      const valueAt = e + (big ? 12 : 8);
      let data = entries.subarray(valueAt, valueAt + inline);
      if (bytes > inline) {
        const off = big ? u64(entries, valueAt) : u32(entries, valueAt);
        if (off + bytes > size) throw fail(`tag ${tag} data lies past the end of the file`);
        if (DATA_TAGS.has(tag)) data = await read(off, bytes);
      }
      if (DATA_TAGS.has(tag)) {
        if (type !== 3 && type !== 4 && type !== 16) throw fail(`tag ${tag} has field type ${type}`);
        arrays.set(
          tag,
          Array.from({ length: count }, (_, k) =>
            type === 3 ? u16(data, 2 * k) : type === 4 ? u32(data, 4 * k) : u64(data, 8 * k),
          ),
        );
      }
    }
    // Every strip or tile must lie inside the file, or the decoder is handed bytes that do not exist.
    for (const [offTag, countTag] of [
      [273, 279],
      [324, 325],
    ] as const) {
      const offs = arrays.get(offTag);
      const counts = arrays.get(countTag);
      if (!offs && !counts) continue;
      if (!offs || !counts || offs.length !== counts.length)
        throw fail(`tags ${offTag}/${countTag} (data offsets and byte counts) do not match`);
      for (let k = 0; k < offs.length; k++) {
        if (offs[k]! + counts[k]! > size)
          throw fail(
            `strip or tile ${k} (bytes ${offs[k]}..${offs[k]! + counts[k]!}) lies past the end of the file`,
          );
      }
    }
  } finally {
    await fh.close();
  }
}

import { inflateSync, constants as zc } from 'node:zlib';
import { FieldcalError } from '../../../src-shared/ipc';
import { openRegularFile, readAt } from '../common/safeFile';

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
/** Tags of one value (TIFF 6.0): libtiff refuses another count. */
const SCALAR_TAGS = new Set([256, 257, 259, 262, 277, 278, 284, 317, 322, 323]);
/** Tags whose values are checked (TIFF 6.0): sizes, sample layout, compression, predictor. */
const LAYOUT_TAGS = new Set([256, 257, 258, 259, 277, 278, 284, 317, 322, 323, 338, 339, 34735]);

/** The layout of a TIFF's first image, from its validated tags. */
export interface TiffLayout {
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  compression: number;
  predictor: number;
  planar: 1 | 2;
  sampleFormat: number;
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
  offsets: number[];
  byteCounts: number[];
}

/**
 * Checks the header and first IFD of a TIFF before geotiff.js parses it: byte order, magic,
 * IFD inside the file, known field types, and every out-of-line value inside the file. A damaged
 * count or offset would otherwise send the parser after gigabytes that do not exist.
 */
export async function checkTiffStructure(path: string): Promise<TiffLayout> {
  // a FIFO or device is refused before it is opened; the open itself never blocks
  const { fh, size } = await openRegularFile(path);
  try {
    const fail = (problem: string) =>
      new FieldcalError('INVALID_FILE', `${path} is not a valid TIFF: ${problem}`, { file: path, problem });
    const read = async (pos: number, len: number) => {
      if (pos < 0 || pos + len > size)
        throw fail(`structure points past the end of the file (byte ${pos + len} of ${size})`);
      const b = await readAt(fh, pos, len);
      if (b.length < len) throw fail(`file shrank while it was read (byte ${pos + len})`);
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
    const layout = new Map<number, number[]>();
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const e = i * entrySize;
      const tag = u16(entries, e);
      const type = u16(entries, e + 2);
      const count = big ? u64(entries, e + 4) : u32(entries, e + 4);
      const ts = TYPE_SIZE[type];
      if (!ts) throw fail(`tag ${tag} has unknown field type ${type}`);
      const bytes = count * ts;
      if (bytes > size) throw fail(`tag ${tag} claims ${count} values, more than the file holds`);
      // libtiff refuses empty values ("Null count") and reads only one of two entries of a tag,
      // where geotiff.js keeps the other: both are refused
      if (count === 0) throw fail(`tag ${tag} has no value`);
      if (SCALAR_TAGS.has(tag) && count !== 1) throw fail(`tag ${tag} has ${count} values (1 expected)`);
      if (counts.has(tag)) throw fail(`tag ${tag} appears twice in the IFD`);
      counts.set(tag, count);
      // GeoTIFF 1.0, 2.4: GeoDoubleParams are DOUBLEs, GeoAsciiParams ASCII (libgeotiff refuses others)
      if ((tag === 34736 && type !== 12) || (tag === 34737 && type !== 2))
        throw fail(`GeoTIFF tag ${tag} has field type ${type}`);
      const valueAt = e + (big ? 12 : 8);
      let data = entries.subarray(valueAt, valueAt + inline);
      if (bytes > inline) {
        const off = big ? u64(entries, valueAt) : u32(entries, valueAt);
        if (off + bytes > size) throw fail(`tag ${tag} data lies past the end of the file`);
        if (DATA_TAGS.has(tag) || LAYOUT_TAGS.has(tag)) data = await read(off, bytes);
      }
      if (tag === 34737) {
        // libgeotiff sees GeoAsciiParams as a C string: up to its first NUL
        const text =
          bytes > inline ? await read(big ? u64(entries, valueAt) : u32(entries, valueAt), bytes) : data;
        const nul = text.subarray(0, count).indexOf(0);
        counts.set(tag, nul < 0 ? count : nul);
      }
      if (LAYOUT_TAGS.has(tag)) {
        if (type !== 3 && type !== 4 && type !== 16) throw fail(`tag ${tag} has field type ${type}`);
        if (count === 0) throw fail(`tag ${tag} has no value`);
        if (SCALAR_TAGS.has(tag) && count !== 1) throw fail(`tag ${tag} has ${count} values (1 expected)`);
        layout.set(
          tag,
          Array.from({ length: tag === 34735 ? count : Math.min(count, 64) }, (_, k) =>
            type === 3 ? u16(data, 2 * k) : type === 4 ? u32(data, 4 * k) : u64(data, 8 * k),
          ),
        );
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
    // the chain of further IFDs (overviews, masks) must be readable too: libtiff walks it on open
    const seen = new Set<number>([ifd]);
    let next = big
      ? u64(await read(ifd + countBytes + n * entrySize, 8), 0)
      : u32(await read(ifd + countBytes + n * entrySize, 4), 0);
    while (next !== 0) {
      if (seen.has(next) || seen.size > 1000) throw fail('the IFD chain loops');
      seen.add(next);
      const cb = await read(next, countBytes);
      const m = big ? u64(cb, 0) : u16(cb, 0);
      if (m === 0 || m > 4096) throw fail(`IFD at byte ${next} has ${m} entries`);
      const at = next + countBytes + m * entrySize;
      next = big ? u64(await read(at, 8), 0) : u32(await read(at, 4), 0);
    }
    const lay = validateLayout(path, layout, arrays, fail, le);
    validateGeoKeys(layout.get(34735), counts, fail);
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
    return lay;
  } finally {
    await fh.close();
  }
}

/**
 * The tag values libtiff (and so GDAL) refuses, refused here too: a missing or zero size, samples of
 * different widths, a predictor other than 1 (none), 2 (horizontal) or 3 (floating point, for float
 * samples only; TIFF 6.0 section 14 and Adobe Technical Note 3), planar configuration other than 1 or 2,
 * an unknown sample format, and strip or tile counts that do not cover the image.
 */
function validateLayout(
  path: string,
  tags: Map<number, number[]>,
  arrays: Map<number, number[]>,
  fail: (problem: string) => FieldcalError,
  littleEndian: boolean,
): TiffLayout {
  const one = (tag: number, dflt?: number) => {
    const v = tags.get(tag)?.[0] ?? dflt;
    if (v === undefined) throw fail(`required tag ${tag} is missing`);
    return v;
  };
  const width = one(256);
  const height = one(257);
  if (width === 0 || height === 0) throw fail(`image size ${width} x ${height}`);
  const spp = one(277, 1);
  if (spp === 0) throw fail('SamplesPerPixel is 0');
  const bpsAll = tags.get(258) ?? [1];
  const bps = bpsAll[0]!;
  if (bps === 0 || bpsAll.some((b) => b !== bps)) throw fail(`BitsPerSample ${bpsAll.join(', ')}`);
  const formats = tags.get(339) ?? [1];
  const sampleFormat = formats[0]!;
  if (formats.some((f) => f !== sampleFormat || f < 1 || f > 3))
    throw fail(`SampleFormat ${formats.join(', ')} (expected 1, 2 or 3)`);
  const compression = one(259, 1);
  const predictor = one(317, 1);
  if (predictor < 1 || predictor > 3) throw fail(`Predictor ${predictor} (expected 1, 2 or 3)`);
  // libtiff applies a predictor only inside LZW, DEFLATE, LZMA and ZSTD; elsewhere GDAL ignores the
  // tag while geotiff.js would apply it, so the two would read different values
  if (predictor !== 1 && ![5, 8, 32946, 34925, 50000].includes(compression))
    throw fail(`Predictor ${predictor} with compression ${compression}, which takes no predictor`);
  if (predictor === 3 && sampleFormat !== 3)
    throw fail(`floating-point Predictor 3 on integer samples (SampleFormat ${sampleFormat})`);
  if (predictor === 2 && ![8, 16, 32, 64].includes(bps))
    throw fail(`horizontal Predictor 2 with ${bps} bits per sample`);
  const planarTag = one(284, 1);
  if (planarTag !== 1 && planarTag !== 2) throw fail(`PlanarConfiguration ${planarTag} (expected 1 or 2)`);
  const planar = planarTag as 1 | 2;
  // ExtraSamples (TIFF 6.0, section 18): 0 unspecified, 1 associated alpha, 2 unassociated alpha
  const extra = tags.get(338) ?? [];
  if (extra.some((v) => v > 2) || extra.length >= spp)
    throw fail(`ExtraSamples ${extra.join(', ')} for ${spp} samples per pixel`);
  // geotiff.js undoes a horizontal predictor in the machine's byte order, before any swap: wrong
  // values for big-endian samples wider than a byte
  if (!littleEndian && predictor !== 1 && bps > 8)
    throw new FieldcalError(
      'UNSUPPORTED_FORMAT',
      `${path}: big-endian ${bps}-bit samples with Predictor ${predictor} are not supported; rewrite the file little-endian (gdal_translate -co ENDIANNESS=LITTLE)`,
      { file: path, problem: 'big-endian predictor' },
    );
  // libtiff takes a file with any tile tag as tiled (TileWidth, TileLength, TileOffsets, TileByteCounts all needed)
  const tileTags = [322, 323, 324, 325].filter((t) => tags.has(t) || arrays.has(t));
  const tiled = tileTags.length > 0;
  if (tiled && (tileTags.length < 4 || arrays.has(273) || arrays.has(279)))
    throw fail(`tile tags ${tileTags.join(', ')} with strip tags or without the others`);
  const blockWidth = tiled ? one(322) : width;
  const blockHeight = tiled ? one(323) : Math.min(one(278, 2 ** 32 - 1), height);
  if (blockWidth === 0 || blockHeight === 0)
    throw fail(`${tiled ? 'tile size' : 'RowsPerStrip'} ${blockWidth} x ${blockHeight}`);
  const offsets = arrays.get(tiled ? 324 : 273);
  const byteCounts = arrays.get(tiled ? 325 : 279);
  if (!offsets || !byteCounts) throw fail('no strip or tile offsets and byte counts');
  const blocks = Math.ceil(width / blockWidth) * Math.ceil(height / blockHeight) * (planar === 2 ? spp : 1);
  if (offsets.length < blocks)
    throw fail(`${offsets.length} ${tiled ? 'tiles' : 'strips'} for an image that needs ${blocks}`);
  return {
    width,
    height,
    samplesPerPixel: spp,
    bitsPerSample: bps,
    compression,
    predictor,
    planar,
    sampleFormat,
    tiled,
    blockWidth,
    blockHeight,
    offsets: offsets.slice(0, blocks),
    byteCounts: byteCounts.slice(0, blocks),
  };
}

/**
 * The GeoKey directory as libgeotiff checks it (GeoTIFF 1.0, 2.4): a header of four SHORTs and
 * NumberOfKeys entries; a key stored in the directory itself (location 0) has count 1; keys in
 * GeoDoubleParams (34736) or GeoAsciiParams (34737) lie inside those tags.
 */
function validateGeoKeys(
  dir: number[] | undefined,
  counts: Map<number, number>,
  fail: (problem: string) => FieldcalError,
): void {
  if (!dir) return;
  if (dir.length < 4) throw fail('GeoKeyDirectory is shorter than its header');
  const n = dir[3]!;
  if (dir.length < 4 + 4 * n) throw fail(`GeoKeyDirectory holds fewer than its ${n} keys`);
  for (let k = 0; k < n; k++) {
    const [id, loc, count, off] = dir.slice(4 + 4 * k, 8 + 4 * k) as [number, number, number, number];
    if (loc === 0) {
      if (count !== 1)
        throw fail(`GeoKey ${id} stored in the directory has count ${count} (only 1 is legal)`);
    } else if (loc === 34736 || loc === 34737 || loc === 34735) {
      const len = counts.get(loc);
      if (len === undefined) throw fail(`GeoKey ${id} points to missing tag ${loc}`);
      if (off + count > len) throw fail(`GeoKey ${id} lies past the end of tag ${loc}`);
    } else throw fail(`GeoKey ${id} has unknown location ${loc}`);
  }
}

/** Bytes a strip or tile decodes to (a last strip holds only the rows left). */
export function blockBytes(l: TiffLayout, k: number): number {
  const perPlane = Math.ceil(l.width / l.blockWidth) * Math.ceil(l.height / l.blockHeight);
  const idx = k % perPlane;
  const rows = l.tiled ? l.blockHeight : Math.min(l.blockHeight, l.height - idx * l.blockHeight);
  const samples = l.planar === 2 ? 1 : l.samplesPerPixel;
  return Math.ceil((l.blockWidth * samples * l.bitsPerSample) / 8) * rows;
}

/**
 * Checks that the raw bytes of one strip or tile decode to the bytes the image needs, with libtiff's
 * rules: LZW (TIFF 6.0 section 13, MSB-first codes, early change) must start with a Clear code, use
 * no code beyond the next free table entry and give enough bytes; DEFLATE (RFC 1950) must inflate
 * without error to enough bytes; PackBits (TIFF 6.0 section 9) likewise; uncompressed blocks must
 * hold enough bytes. Returns a problem, or null when the block is sound.
 */
export function checkBlock(compression: number, raw: Uint8Array, expected: number): string | null {
  if (compression === 1)
    return raw.length >= expected ? null : `holds ${raw.length} bytes, ${expected} needed`;
  if (compression === 5) return checkLzw(raw, expected);
  if (compression === 8 || compression === 32946) {
    let out: Buffer;
    try {
      out = inflateSync(raw, {
        finishFlush: zc.Z_SYNC_FLUSH,
        maxOutputLength: Math.max(expected, 1) * 2 + 1024,
      });
    } catch (err) {
      const msg = (err as Error).message;
      if (/maxOutputLength|buffer length/i.test(msg))
        return `DEFLATE data gives more than twice the ${expected} bytes the header implies`;
      return `DEFLATE data is corrupt (${msg})`;
    }
    // writers fill a block exactly: more bytes than the header implies means the two disagree
    // (decoders then differ on which bytes to take)
    return out.length === expected
      ? null
      : `DEFLATE data gives ${out.length} bytes, the header implies ${expected}`;
  }
  if (compression === 50000) {
    // a Zstandard frame starts with its magic number 0xFD2FB528 (RFC 8878, 3.1.1)
    const magic = raw.length >= 4 ? (raw[0]! | (raw[1]! << 8) | (raw[2]! << 16) | (raw[3]! << 24)) >>> 0 : 0;
    return magic === 0xfd2fb528 ? null : 'ZSTD data does not start with a Zstandard frame';
  }
  if (compression === 32773) {
    let n = 0;
    let i = 0;
    while (n < expected && i < raw.length) {
      const h = raw[i]! > 127 ? raw[i]! - 256 : raw[i]!;
      if (h >= 0) {
        n += h + 1;
        i += h + 2;
      } else if (h !== -128) {
        n += 1 - h;
        i += 2;
      } else i += 1;
    }
    return n >= expected ? null : `PackBits data gives ${n} bytes, ${expected} needed`;
  }
  return null;
}

/** libtiff's LZW decoder (tif_lzw.c, LZWDecode): the bytes of one block, or the reason it is corrupt. */
export function decodeLzw(raw: Uint8Array, expected: number): Uint8Array | string {
  const CLEAR = 256;
  const EOI = 257;
  const CSIZE = 4095 + 1024;
  // each table entry: its prefix entry, its last byte, the length of its string
  const prefix = new Int32Array(CSIZE);
  const last = new Uint8Array(CSIZE);
  const length = new Uint32Array(CSIZE);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    last[i] = i;
    length[i] = 1;
  }
  const out = new Uint8Array(expected);
  let bitPos = 0;
  const totalBits = raw.length * 8;
  let nbits = 9;
  let freeEnt = 258;
  let maxCode = 510;
  let oldCode = -1;
  let n = 0;
  const next = () => {
    if (totalBits - bitPos < nbits) return EOI; // libtiff: "not terminated with EOI code" (a warning)
    let code = 0;
    for (let b = 0; b < nbits; b++, bitPos++)
      code = (code << 1) | ((raw[bitPos >> 3]! >> (7 - (bitPos & 7))) & 1);
    return code;
  };
  const emit = (code: number) => {
    // the string of `code`, written back to front, cut at the block's end as libtiff does
    const len = length[code]!;
    let c = code;
    for (let k = len - 1; k >= 0; k--) {
      if (n + k < expected) out[n + k] = last[c]!;
      c = prefix[c]!;
    }
    n += len;
  };
  const first = (code: number) => {
    let c = code;
    while (prefix[c]! >= 0) c = prefix[c]!;
    return last[c]!;
  };
  while (n < expected) {
    let code = next();
    if (code === EOI) break;
    if (code === CLEAR) {
      freeEnt = 258;
      nbits = 9;
      maxCode = 510;
      do code = next();
      while (code === CLEAR);
      if (code === EOI) break;
      if (code > CLEAR) return `LZW code ${code} after a Clear code (corrupted LZW table)`;
      out[n++] = code;
      oldCode = code;
      continue;
    }
    if (oldCode < 0) return 'LZW data does not start with a Clear code';
    if (code > freeEnt) return `LZW code ${code} not yet in table (next free entry ${freeEnt})`;
    if (freeEnt >= CSIZE) return 'LZW table overflow (corrupted LZW table)';
    // the new entry is the previous string plus the first byte of this one (of itself when code == freeEnt)
    prefix[freeEnt] = oldCode;
    length[freeEnt] = length[oldCode]! + 1;
    last[freeEnt] = code < freeEnt ? first(code) : first(oldCode);
    if (++freeEnt > maxCode) {
      if (nbits < 12) nbits++;
      maxCode = (1 << nbits) - 2;
    }
    emit(code);
    oldCode = code;
  }
  if (n < expected) return `LZW data gives ${n} bytes, ${expected} needed (not enough data)`;
  // writers end a block with EOI right after its last string: more strings mean the header and the
  // data disagree on the block's size
  if (n > expected || (totalBits - bitPos >= nbits && next() !== EOI))
    return `LZW data holds more than the ${expected} bytes the header implies`;
  return out;
}

function checkLzw(raw: Uint8Array, expected: number): string | null {
  const r = decodeLzw(raw, expected);
  return typeof r === 'string' ? r : null;
}

// GeoTIFF fuzzer: structure-aware mutations of real GeoTIFFs (header fields, IFD entries, offsets,
// sizes, compression, predictor, strip/tile bytes), each read by Fieldcal (`inspect`: header, every
// strip decoded, statistics) and, when Fieldcal accepts it, by GDAL (`gdalinfo -stats`): a file GDAL
// refuses must never be accepted, and where both read it their statistics must agree.
import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GeoTiffRaster } from '../src-main/services/rasters/geotiff';
import { inspectGeoTiff } from '../src-main/services/rasters/inspect';
import { rng, Tally, tools, withScratch } from './fileHarness';
import type { FuzzReport } from './registry';

const run = promisify(execFile);
const GDAL_ENV = { ...process.env, GDAL_PAM_ENABLED: 'NO', CPL_DEBUG: 'OFF' };

/** Seeds: the raster fixtures, and variants GDAL writes of them (LZW/DEFLATE with predictors, strips, tiles, BigTIFF, big-endian). */
export async function seeds(dir: string): Promise<Buffer[]> {
  const fx = 'tests/fixtures/rasters';
  const files = readdirSync(fx)
    .filter((f) => f.endsWith('.tif'))
    .map((f) => join(fx, f));
  const out = files.map((f) => readFileSync(f));
  const variants: Array<[string, string[]]> = [
    ['float32_m34e38.tif', ['-co', 'COMPRESS=LZW', '-co', 'PREDICTOR=3', '-co', 'BLOCKYSIZE=3']],
    ['float32_m34e38.tif', ['-co', 'COMPRESS=LZW', '-co', 'PREDICTOR=2']],
    ['int16_m99_tiled.tif', ['-co', 'COMPRESS=LZW', '-co', 'PREDICTOR=2', '-co', 'BLOCKYSIZE=2']],
    [
      'int16_m99_tiled.tif',
      [
        '-co',
        'COMPRESS=DEFLATE',
        '-co',
        'PREDICTOR=2',
        '-co',
        'TILED=YES',
        '-co',
        'BLOCKXSIZE=16',
        '-co',
        'BLOCKYSIZE=16',
      ],
    ],
    ['byte_lzw.tif', ['-co', 'COMPRESS=LZW', '-co', 'BIGTIFF=YES']],
    ['int32_m9999.tif', ['-co', 'COMPRESS=LZW', '-co', 'ENDIANNESS=BIG']],
    ['uint16_65535_packbits.tif', ['-co', 'COMPRESS=PACKBITS', '-co', 'BLOCKYSIZE=1']],
    ['multiband_pixel.tif', ['-co', 'COMPRESS=LZW', '-co', 'INTERLEAVE=BAND']],
  ];
  for (const [i, [src, co]] of variants.entries()) {
    const dst = join(dir, `seed${i}.tif`);
    try {
      await run('gdal_translate', ['-q', ...co, join(fx, src), dst], { env: GDAL_ENV });
      out.push(readFileSync(dst));
    } catch {
      // GDAL missing or refusing an option: the fixtures alone still seed the run
    }
  }
  return out;
}

interface Entry {
  at: number; // byte position of the entry
  tag: number;
  type: number;
  count: number;
  valueAt: number; // position of the value/offset field
}

/** The header and first IFD of a TIFF, enough to aim mutations. */
function parse(b: Buffer): { le: boolean; big: boolean; ifd: number; entries: Entry[] } | null {
  if (b.length < 16) return null;
  const le = b.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const big = u16(2) === 43;
  const ifd = big ? u64(8) : u32(4);
  if (ifd + 8 > b.length) return null;
  const n = big ? u64(ifd) : u16(ifd);
  const entries: Entry[] = [];
  const size = big ? 20 : 12;
  for (let i = 0; i < n; i++) {
    const at = ifd + (big ? 8 : 2) + i * size;
    if (at + size > b.length) break;
    entries.push({
      at,
      tag: u16(at),
      type: u16(at + 2),
      count: big ? u64(at + 4) : u32(at + 4),
      valueAt: at + (big ? 12 : 8),
    });
  }
  return { le, big, ifd, entries };
}

const writeU = (b: Buffer, le: boolean, at: number, width: number, v: number) => {
  if (at < 0 || at + width > b.length) return;
  v = Math.max(0, Math.floor(v));
  if (width === 2) {
    if (le) b.writeUInt16LE(v & 0xffff, at);
    else b.writeUInt16BE(v & 0xffff, at);
  } else if (width === 4) {
    if (le) b.writeUInt32LE(v >>> 0, at);
    else b.writeUInt32BE(v >>> 0, at);
  } else if (le) b.writeBigUInt64LE(BigInt(v), at);
  else b.writeBigUInt64BE(BigInt(v), at);
};
const readU = (b: Buffer, le: boolean, at: number, width: number) =>
  at < 0 || at + width > b.length
    ? 0
    : width === 2
      ? le
        ? b.readUInt16LE(at)
        : b.readUInt16BE(at)
      : width === 4
        ? le
          ? b.readUInt32LE(at)
          : b.readUInt32BE(at)
        : Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
const WIDTH: Record<number, number> = { 3: 2, 4: 4, 16: 8 };

/** One structure-aware mutation, named. */
export function mutate(src: Buffer, t: ReturnType<typeof tools>): { bytes: Buffer; what: string[] } {
  let b = Buffer.from(src);
  const what: string[] = [];
  const rounds = t.int(1, 3);
  for (let k = 0; k < rounds; k++) {
    const p = parse(b);
    const kind = t.pick([
      'order',
      'magic',
      'ifd-offset',
      'ifd-count',
      'tag',
      'type',
      'count',
      'value',
      'compression',
      'predictor',
      'predictor',
      'layout',
      'block-array',
      'block-bytes',
      'block-bytes',
      'truncate',
      'bytes',
    ] as const);
    what.push(kind);
    const entry = p && p.entries.length ? t.pick(p.entries) : null;
    const byTag = (tag: number) => p?.entries.find((e) => e.tag === tag) ?? null;
    const setValue = (e: Entry, v: number) => writeU(b, p!.le, e.valueAt, WIDTH[e.type] ?? 2, v);
    switch (kind) {
      case 'order':
        b.write(t.pick(['II', 'MM', 'IM', '\0\0']), 0, 'latin1');
        break;
      case 'magic':
        writeU(b, p?.le ?? true, 2, 2, t.pick([0, 41, 42, 43, 44, 0xffff]));
        break;
      case 'ifd-offset':
        if (p)
          writeU(
            b,
            p.le,
            p.big ? 8 : 4,
            p.big ? 8 : 4,
            t.r() < 0.5 ? t.edge(b.length) : p.ifd + t.int(-16, 16),
          );
        break;
      case 'ifd-count':
        if (p)
          writeU(
            b,
            p.le,
            p.ifd,
            p.big ? 8 : 2,
            t.r() < 0.5 ? t.edge(b.length) : p.entries.length + t.int(-3, 3),
          );
        break;
      case 'tag':
        if (entry)
          writeU(
            b,
            p!.le,
            entry.at,
            2,
            t.r() < 0.5
              ? t.int(0, 0xffff)
              : t.pick([
                  256, 257, 258, 259, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 339, 33550, 33922,
                  34735, 42113,
                ]),
          );
        break;
      case 'type':
        if (entry) writeU(b, p!.le, entry.at + 2, 2, t.int(0, 20));
        break;
      case 'count':
        if (entry)
          writeU(
            b,
            p!.le,
            entry.at + 4,
            p!.big ? 8 : 4,
            t.r() < 0.5 ? t.edge(b.length) : entry.count + t.int(-2, 2),
          );
        break;
      case 'value':
        if (entry)
          writeU(
            b,
            p!.le,
            entry.valueAt,
            p!.big ? 8 : 4,
            t.r() < 0.5 ? t.edge(b.length) : t.int(0, b.length + 64),
          );
        break;
      case 'compression': {
        const e = byTag(259);
        if (e)
          setValue(e, t.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 32773, 32946, 34887, 34925, 50000, 50001, 65535]));
        break;
      }
      case 'predictor': {
        // an absent Predictor is added by renaming PlanarConfiguration (same SHORT, count 1)
        const e = byTag(317) ?? byTag(284);
        if (e) {
          writeU(b, p!.le, e.at, 2, 317);
          setValue(e, t.pick([0, 1, 2, 3, 4, 65535]));
        }
        break;
      }
      case 'layout': {
        const e = byTag(t.pick([256, 257, 258, 277, 278, 284, 322, 323, 339]));
        if (e && e.count === 1)
          setValue(e, t.pick([0, 1, 2, 3, 4, 7, 8, 16, 17, 32, 64, 0xffff, 0x7fffffff]));
        break;
      }
      case 'block-array': {
        const e = byTag(t.pick([273, 279, 324, 325]));
        if (e) {
          const w = WIDTH[e.type] ?? 4;
          const inline = e.count * w <= (p!.big ? 8 : 4);
          const base = inline ? e.valueAt : readU(b, p!.le, e.valueAt, p!.big ? 8 : 4);
          const at = base + t.int(0, Math.max(0, e.count - 1)) * w;
          const old = readU(b, p!.le, at, w);
          writeU(b, p!.le, at, w, t.r() < 0.5 ? t.edge(b.length) : old + t.int(-64, 64));
        }
        break;
      }
      case 'block-bytes': {
        // corrupt the compressed data inside one strip or tile
        const offs = byTag(273) ?? byTag(324);
        const counts = byTag(279) ?? byTag(325);
        if (offs && counts) {
          const w = WIDTH[offs.type] ?? 4;
          const wc = WIDTH[counts.type] ?? 4;
          const inl = (e: Entry, ww: number) => e.count * ww <= (p!.big ? 8 : 4);
          const k2 = t.int(0, Math.max(0, offs.count - 1));
          const o = readU(
            b,
            p!.le,
            (inl(offs, w) ? offs.valueAt : readU(b, p!.le, offs.valueAt, p!.big ? 8 : 4)) + k2 * w,
            w,
          );
          const c = readU(
            b,
            p!.le,
            (inl(counts, wc) ? counts.valueAt : readU(b, p!.le, counts.valueAt, p!.big ? 8 : 4)) + k2 * wc,
            wc,
          );
          const flips = t.int(1, 4);
          for (let f = 0; f < flips && c > 0; f++) {
            const at = o + t.int(0, c - 1);
            if (at < b.length) b[at] = t.r() < 0.5 ? t.int(0, 255) : b[at]! ^ (1 << t.int(0, 7));
          }
        }
        break;
      }
      case 'truncate':
        b = b.subarray(0, t.int(0, b.length - 1));
        break;
      case 'bytes': {
        const n = t.int(1, 8);
        for (let f = 0; f < n && b.length; f++) b[t.int(0, b.length - 1)] = t.int(0, 255);
        break;
      }
    }
  }
  return { bytes: Buffer.from(b), what };
}

/**
 * GDAL's reading of a file: refused (an exit status or an ERROR line from `gdalinfo`, which reads the
 * header and GeoKeys, or from `gdal_translate`, which decodes every block), or every band's values as
 * Float64 (every pixel type is exact in a double).
 */
async function gdalRead(file: string, dir: string): Promise<{ refused: string } | { values: Float64Array }> {
  const out = join(dir, 'gdal.tif');
  try {
    // "Point outside of projection domain" comes from gdalinfo turning the corner coordinates into
    // longitude/latitude for display, not from reading the file
    const info = await run('gdalinfo', ['-nomd', file], { env: GDAL_ENV, timeout: 30_000 });
    const e1 = /ERROR \d+:(?! Point outside of projection domain).*/.exec(info.stderr);
    if (e1) return { refused: e1[0] };
    // GDAL decodes every block and writes the values as plain Float64 (no compression, no predictor),
    // which any reader takes as they are
    const tr = await run(
      'gdal_translate',
      ['-q', '-ot', 'Float64', '-co', 'COMPRESS=NONE', '-co', 'INTERLEAVE=BAND', file, out],
      {
        env: GDAL_ENV,
        timeout: 60_000,
      },
    );
    const e2 = /ERROR \d+:.*/.exec(tr.stderr);
    if (e2) return { refused: e2[0] };
    return { values: (await ourValues(out)).values };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { refused: (/ERROR \d+:.*/.exec(e.stderr ?? '')?.[0] ?? e.message).split('\n')[0]! };
  }
}

/** Fieldcal's raw values of every band, band after band (GDAL 3.6 gives Int8 as unsigned bytes: compared modulo 256). */
async function ourValues(file: string): Promise<{ values: Float64Array; int8: boolean }> {
  const r = await GeoTiffRaster.open(file);
  try {
    const n = r.info.width * r.info.height;
    const values = new Float64Array(n * r.info.bands);
    for (let b = 0; b < r.info.bands; b++) values.set(Float64Array.from(await r.readBand(b), Number), b * n);
    return { values, int8: r.info.pixelType === 'Int8' };
  } finally {
    await r.close();
  }
}

/** The first pixel where the two readings differ (NaN equals NaN), or -1. */
function firstDifference(ours: Float64Array, gdal: Float64Array, int8: boolean): number {
  if (ours.length !== gdal.length) return Math.min(ours.length, gdal.length);
  for (let i = 0; i < ours.length; i++) {
    const g = int8 && gdal[i]! >= 128 ? gdal[i]! - 256 : gdal[i]!;
    if (!(ours[i] === g || (Number.isNaN(ours[i]) && Number.isNaN(g)))) return i;
  }
  return -1;
}

export async function geotiffFuzz(count: number, seed: number): Promise<FuzzReport> {
  return withScratch('fieldcal-fuzz-tiff-', async (dir) => {
    const t = tools(rng(seed));
    const base = await seeds(dir);
    const tally = new Tally();
    let acceptedGdalRefuses = 0;
    let valueDisagreements = 0;
    let valuesCompared = 0;
    let gdalAlsoRefuses = 0;
    let refusedGdalReads = 0;
    const disagreements: string[] = [];
    const mutations: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const { bytes, what } = mutate(t.pick(base), t);
      for (const w of what) mutations[w] = (mutations[w] ?? 0) + 1;
      const file = join(dir, `m${i}.tif`);
      writeFileSync(file, bytes);
      const res = await tally.run(`#${i} ${what.join('+')}`, file, 10_000, () => inspectGeoTiff(file));
      if (res.outcome === 'ok') {
        const g = await gdalRead(file, dir);
        if ('refused' in g) {
          acceptedGdalRefuses++;
          if (process.env.FUZZ_KEEP) copyFileSync(file, join(process.env.FUZZ_KEEP, `m${i}.tif`));
          if (disagreements.length < 10)
            disagreements.push(`#${i} ${what.join('+')}: accepted, GDAL: ${g.refused}`);
        } else {
          const ours = await ourValues(file);
          const d = firstDifference(ours.values, g.values, ours.int8);
          if (d >= 0) {
            valueDisagreements++;
            if (process.env.FUZZ_KEEP) copyFileSync(file, join(process.env.FUZZ_KEEP, `m${i}.tif`));
            if (disagreements.length < 10)
              disagreements.push(
                `#${i} ${what.join('+')}: value ${d} differs: ours ${ours.values[d]}, GDAL ${g.values[d]}`,
              );
          } else valuesCompared += g.values.length;
        }
      } else if (res.outcome === 'typed' && i % 10 === 0) {
        // a sample of refusals: how many GDAL reads (stricter than GDAL is allowed, looser is not)
        const g = await gdalRead(file, dir);
        if ('refused' in g) gdalAlsoRefuses++;
        else refusedGdalReads++;
      }
    }
    return {
      ...tally.report(count),
      seeds: base.length,
      acceptedGdalRefuses,
      valueDisagreements,
      valuesCompared,
      sampledRefusals: { gdalAlsoRefuses, gdalReads: refusedGdalReads },
      mutations,
      disagreements,
    };
  });
}

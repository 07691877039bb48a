import { stat } from 'node:fs/promises';
import { fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { FieldcalError, type GeoTransform } from '../../../src-shared/ipc';
import { crsFromGeoKeys, type CrsInfo } from './crs';
import { openRegularFile, readAt } from '../common/safeFile';
import { blockBytes, checkBlock, checkTiffStructure, type TiffLayout } from './tiffStructure';

/** GDAL's pixel type names. */
export type PixelType = 'Byte' | 'Int8' | 'UInt16' | 'Int16' | 'UInt32' | 'Int32' | 'Float32' | 'Float64';

/** Everything `fieldcal inspect` and the loaders need to know about a GeoTIFF, read from its header. */
export interface RasterInfo {
  path: string;
  width: number;
  height: number;
  bands: number;
  pixelType: PixelType;
  /** GDAL geotransform, with GDAL's half-pixel shift applied to PixelIsPoint files. */
  geoTransform: GeoTransform;
  /** GTRasterTypeGeoKey: `Area` (default) or `Point`; GDAL reports it as AREA_OR_POINT. */
  areaOrPoint: 'Area' | 'Point';
  /** From the GDAL_NODATA tag, parsed as GDAL does (any value, e.g. -99, 65535, -3.4e38, 1e20, nan). */
  nodata: number | null;
  /** Per band, from GDAL_METADATA (role="scale"/"offset"); 1 and 0 when absent. */
  scale: number[];
  offset: number[];
  descriptions: Array<string | null>;
  /** Per band, the unit type GDAL stores in GDAL_METADATA (role="unittype"), e.g. `mm/d`; null when absent. */
  unitTypes: Array<string | null>;
  crs: CrsInfo;
  compression: string;
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
  /** Dataset-level GDAL metadata items (e.g. band dates written by other tools). */
  metadata: Record<string, string>;
  sizeBytes: number;
}

const COMPRESSION: Record<number, string> = {
  1: 'NONE',
  5: 'LZW',
  6: 'OJPEG',
  7: 'JPEG',
  8: 'DEFLATE',
  32773: 'PACKBITS',
  32946: 'DEFLATE',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'ZSTD',
  50001: 'WEBP',
};
/** Compressions geotiff.js decodes (its decoder registry). */
const DECODABLE = new Set([1, 5, 6, 7, 8, 32773, 32946, 34887, 50000, 50001]);

function pixelTypeOf(format: number, bits: number, file: string): PixelType {
  const t =
    format === 3
      ? ({ 32: 'Float32', 64: 'Float64' } as const)[bits as 32 | 64]
      : format === 2
        ? ({ 8: 'Int8', 16: 'Int16', 32: 'Int32' } as const)[bits as 8 | 16 | 32]
        : ({ 8: 'Byte', 16: 'UInt16', 32: 'UInt32' } as const)[bits as 8 | 16 | 32];
  if (!t) {
    throw new FieldcalError(
      'UNSUPPORTED_FORMAT',
      `${file}: sample format ${format} with ${bits} bits is not supported`,
      {
        file,
        sampleFormat: format,
        bitsPerSample: bits,
      },
    );
  }
  return t;
}

/** Parses GDAL_METADATA XML items: `<Item name="N" sample="S" role="R">value</Item>`. */
export function parseGdalMetadata(
  xml: string | undefined,
): Array<{ name: string; sample: number | null; role: string | null; value: string }> {
  if (!xml) return [];
  const out: Array<{ name: string; sample: number | null; role: string | null; value: string }> = [];
  const re = /<Item\s+([^>]*)>([\s\S]*?)<\/Item>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    if (!attrs.name) continue;
    out.push({
      name: attrs.name,
      sample: attrs.sample !== undefined ? Number(attrs.sample) : null,
      role: attrs.role ?? null,
      value: unescapeXml(m[2]!),
    });
  }
  return out;
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** GDAL_NODATA is ASCII; GDAL reads it with CPLAtof (so "nan", "-inf", "1e20" all work). */
export function parseNodata(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.replace(/\0/g, '').trim().toLowerCase();
  if (t === '') return null;
  if (t === 'nan' || t === '-nan') return Number.NaN;
  if (t === 'inf' || t === '+inf') return Number.POSITIVE_INFINITY;
  if (t === '-inf') return Number.NEGATIVE_INFINITY;
  const v = Number.parseFloat(t);
  return Number.isNaN(v) ? null : v;
}

/** Wraps anything geotiff.js throws into a typed error naming the file. */
function asInvalid(file: string, err: unknown): FieldcalError {
  if (err instanceof FieldcalError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (/unknown compression|unsupported compression/i.test(msg)) {
    return new FieldcalError('UNSUPPORTED_FORMAT', `${file}: ${msg}`, { file, problem: msg });
  }
  return new FieldcalError('INVALID_FILE', `${file} is not a readable GeoTIFF: ${msg}`, {
    file,
    problem: msg,
  });
}

/** An open GeoTIFF: its header, and band reads on demand. Close it when done. */
export class GeoTiffRaster {
  private constructor(
    readonly info: RasterInfo,
    private readonly tiff: GeoTIFF,
    private readonly image: GeoTIFFImage,
    private readonly layout: TiffLayout,
  ) {}

  /** Opens a file and reads its header (no pixel data). */
  static async open(path: string): Promise<GeoTiffRaster> {
    let st;
    try {
      st = await stat(path);
    } catch {
      throw new FieldcalError('NOT_FOUND', `${path} not found`, { file: path });
    }
    if (!st.isFile()) throw new FieldcalError('INVALID_FILE', `${path} is not a file`, { file: path });
    let tiff: GeoTIFF | undefined;
    try {
      const layout = await checkTiffStructure(path);
      tiff = await fromFile(path);
      const image = await tiff.getImage(0);
      const info = await readInfo(path, image, st.size);
      return new GeoTiffRaster(info, tiff, image, layout);
    } catch (err) {
      await tiff?.close?.();
      throw asInvalid(path, err);
    }
  }

  /**
   * Checks that every strip or tile decodes (libtiff's rules for LZW, DEFLATE, PackBits and raw
   * blocks, then geotiff.js's decode of every band): run at import and by `inspect`, so that a file
   * GDAL would refuse is never accepted.
   */
  async verifyAll(): Promise<void> {
    const { path } = this.info;
    const l = this.layout;
    const { fh } = await openRegularFile(path);
    try {
      for (let k = 0; k < l.offsets.length; k++) {
        const raw = await readAt(fh, l.offsets[k]!, l.byteCounts[k]!);
        const problem = checkBlock(l.compression, raw, blockBytes(l, k));
        if (problem)
          throw new FieldcalError(
            'INVALID_FILE',
            `${path}: ${l.tiled ? 'tile' : 'strip'} ${k} cannot be decoded: ${problem}`,
            { file: path, block: k, problem },
          );
      }
    } finally {
      await fh.close();
    }
    for (let b = 0; b < this.info.bands; b++) await this.readBand(b);
  }

  /** Raw values of one band (0-based), row-major, in the file's pixel type. */
  async readBand(
    band: number,
  ): Promise<
    Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  > {
    if (!Number.isInteger(band) || band < 0 || band >= this.info.bands) {
      throw new FieldcalError(
        'VALIDATION',
        `${this.info.path}: band ${band + 1} does not exist (${this.info.bands} bands)`,
        {
          file: this.info.path,
          band,
        },
      );
    }
    try {
      const r = (await this.image.readRasters({ samples: [band], interleave: false })) as unknown as Array<
        | Float32Array
        | Float64Array
        | Int8Array
        | Uint8Array
        | Int16Array
        | Uint16Array
        | Int32Array
        | Uint32Array
      >;
      const data = r[0]!;
      if (data.length !== this.info.width * this.info.height)
        throw new Error(`decoded ${data.length} values, expected ${this.info.width * this.info.height}`);
      return data;
    } catch (err) {
      throw asInvalid(this.info.path, err);
    }
  }

  /**
   * One band (0-based) in a window `[col0, row0, col1, row1)` as Float64 with scale/offset applied and
   * nodata as NaN: only the strips or tiles under the window are decoded.
   */
  async readWindowValues(band: number, window: [number, number, number, number]): Promise<Float64Array> {
    const [c0, r0, c1, r1] = window;
    const { width, height, path } = this.info;
    if (!(Number.isInteger(band) && band >= 0 && band < this.info.bands)) {
      throw new FieldcalError(
        'VALIDATION',
        `${path}: band ${band + 1} does not exist (${this.info.bands} bands)`,
        {
          file: path,
          band,
        },
      );
    }
    if (
      ![c0, r0, c1, r1].every(Number.isInteger) ||
      c0 < 0 ||
      r0 < 0 ||
      c1 > width ||
      r1 > height ||
      c0 >= c1 ||
      r0 >= r1
    ) {
      throw new FieldcalError(
        'VALIDATION',
        `${path}: window ${window.join(', ')} is outside the ${width} x ${height} raster`,
        {
          file: path,
          window,
        },
      );
    }
    let raw: ArrayLike<number>;
    try {
      const r = (await this.image.readRasters({
        samples: [band],
        window,
        interleave: false,
      })) as unknown as Array<ArrayLike<number>>;
      raw = r[0]!;
      if (raw.length !== (c1 - c0) * (r1 - r0))
        throw new Error(`decoded ${raw.length} values, expected ${(c1 - c0) * (r1 - r0)}`);
    } catch (err) {
      throw asInvalid(path, err);
    }
    return this.toValues(raw, band);
  }

  /** One band as Float64 with scale/offset applied and nodata as NaN: what models consume. */
  async readBandValues(band: number): Promise<Float64Array> {
    return this.toValues(await this.readBand(band), band);
  }

  private toValues(raw: ArrayLike<number>, band: number): Float64Array {
    const out = new Float64Array(raw.length);
    const nd = this.info.nodata;
    const ndCast = nd === null ? null : castToPixelType(nd, this.info.pixelType);
    const s = this.info.scale[band] ?? 1;
    const o = this.info.offset[band] ?? 0;
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i]!;
      out[i] = (ndCast !== null && v === ndCast) || Number.isNaN(v) ? Number.NaN : v * s + o;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.tiff.close?.();
  }
}

/** The nodata value as it compares against stored samples (GDAL casts it to the band type). */
export function castToPixelType(v: number, t: PixelType): number {
  if (t === 'Float32') return Math.fround(v);
  if (t === 'Float64') return v;
  return Math.round(v);
}

async function readInfo(path: string, image: GeoTIFFImage, sizeBytes: number): Promise<RasterInfo> {
  const fd = image.fileDirectory;
  const width = image.getWidth();
  const height = image.getHeight();
  if (!(width > 0 && height > 0)) throw new Error(`invalid size ${width} x ${height}`);
  const bands = image.getSamplesPerPixel();
  // A damaged header can claim any size; refuse what the file cannot hold before allocating it
  // (DEFLATE's best case is about 1032:1).
  const decoded = width * height * bands * (image.getBitsPerSample(0) / 8);
  if (!(bands > 0) || decoded > 1032 * sizeBytes + (1 << 20) || decoded > 8 * 2 ** 30) {
    throw new FieldcalError(
      'INVALID_FILE',
      `${path}: header claims ${width} x ${height} x ${bands} samples, more than a ${sizeBytes}-byte file can hold`,
      {
        file: path,
        problem: 'size in header exceeds file',
      },
    );
  }
  const pixelType = pixelTypeOf(image.getSampleFormat(0), image.getBitsPerSample(0), path);
  const compressionCode = (fd.getValue('Compression') as number | undefined) ?? 1;
  if (!DECODABLE.has(compressionCode)) {
    throw new FieldcalError(
      'UNSUPPORTED_FORMAT',
      `${path}: compression ${COMPRESSION[compressionCode] ?? compressionCode} is not supported`,
      {
        file: path,
        compression: compressionCode,
      },
    );
  }
  const keys = image.getGeoKeys() as Record<string, unknown> | null;
  const areaOrPoint = keys?.GTRasterTypeGeoKey === 2 ? 'Point' : 'Area';
  const geoTransform = await geoTransformOf(image, areaOrPoint);
  const items = parseGdalMetadata(
    (await fd.loadValue('GDAL_METADATA').catch(() => undefined)) as string | undefined,
  );
  const scale = Array.from({ length: bands }, (_, b) =>
    Number(items.find((i) => i.role === 'scale' && i.sample === b)?.value ?? 1),
  );
  const offset = Array.from({ length: bands }, (_, b) =>
    Number(items.find((i) => i.role === 'offset' && i.sample === b)?.value ?? 0),
  );
  const descriptions = Array.from(
    { length: bands },
    (_, b) => items.find((i) => i.role === 'description' && i.sample === b)?.value ?? null,
  );
  const unitTypes = Array.from(
    { length: bands },
    (_, b) => items.find((i) => i.role === 'unittype' && i.sample === b)?.value || null,
  );
  const metadata = Object.fromEntries(
    items.filter((i) => i.sample === null && i.role === null).map((i) => [i.name, i.value]),
  );
  const nodataRaw = (await fd.loadValue('GDAL_NODATA').catch(() => undefined)) as string | undefined;
  return {
    path,
    width,
    height,
    bands,
    pixelType,
    geoTransform,
    areaOrPoint,
    nodata: parseNodata(nodataRaw),
    scale,
    offset,
    descriptions,
    unitTypes,
    crs: crsFromGeoKeys(keys),
    compression: COMPRESSION[compressionCode] ?? String(compressionCode),
    tiled: image.isTiled,
    blockWidth: image.getBlockWidth(),
    blockHeight: image.getBlockHeight(0),
    metadata,
    sizeBytes,
  };
}

/**
 * Geotransform from ModelTransformation or ModelTiepoint + ModelPixelScale (GeoTIFF 1.0, 2.6.1).
 * GDAL (GTIFF_POINT_GEO_IGNORE=NO, its default) moves the origin of PixelIsPoint files by half a
 * pixel so that the transform always addresses cell corners; we do the same.
 */
async function geoTransformOf(image: GeoTIFFImage, areaOrPoint: 'Area' | 'Point'): Promise<GeoTransform> {
  const fd = image.fileDirectory;
  const mt = (await fd.loadValue('ModelTransformation').catch(() => undefined)) as number[] | undefined;
  let gt: GeoTransform;
  if (mt && mt.length >= 16) {
    gt = [mt[3]!, mt[0]!, mt[1]!, mt[7]!, mt[4]!, mt[5]!];
  } else {
    const tie = (await fd.loadValue('ModelTiepoint').catch(() => undefined)) as number[] | undefined;
    const scale = (await fd.loadValue('ModelPixelScale').catch(() => undefined)) as number[] | undefined;
    if (!tie || tie.length < 6 || !scale || scale.length < 2) {
      // No georeferencing: GDAL's default transform (pixel coordinates).
      return [0, 1, 0, 0, 0, 1];
    }
    const [i, j, , x, y] = tie as [number, number, number, number, number];
    gt = [x - i * scale[0]!, scale[0]!, 0, y + j * scale[1]!, 0, -scale[1]!];
  }
  if (areaOrPoint === 'Point') {
    gt = [gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5]];
  }
  return gt;
}

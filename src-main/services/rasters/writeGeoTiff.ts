import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { writeFileAtomic } from '../common/atomicFile';
import { formatG } from './format';

const require = createRequire(import.meta.url);

/** One band to write: values row-major on the grid (NaN = missing) and its description. */
export interface BandToWrite {
  data: ArrayLike<number>;
  description?: string | undefined;
  /** Unit of the values (e.g. `mm/d`), written as GDAL's band unit type (gdalinfo: "Unit Type"). */
  units?: string | undefined;
}

export interface WriteGeoTiffOptions {
  path: string;
  grid: Grid;
  bands: BandToWrite[];
  /** Value written for missing cells (NaN or outside the grid's mask); GDAL's default -9999. */
  nodata?: number | undefined;
  compress?: 'DEFLATE' | 'NONE' | undefined;
  /** Dataset-level metadata items (GDAL_METADATA). */
  metadata?: Record<string, string> | undefined;
  overwrite?: boolean | undefined;
}

export interface WrittenGeoTiff {
  path: string;
  bytes: number;
  /** How the CRS went into the file: EPSG GeoKeys, or not at all (a proj4-only CRS has no GeoKey form here). */
  crs: { written: 'epsg'; epsg: number } | { written: 'none'; reason: string };
}

// TIFF 6.0 field types
const SHORT = 3;
const LONG = 4;
const ASCII = 2;
const DOUBLE = 12;
const TYPE_SIZE: Record<number, number> = { [SHORT]: 2, [LONG]: 4, [ASCII]: 1, [DOUBLE]: 8 };

interface Tag {
  id: number;
  type: number;
  values: number[] | string;
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** GeoKeys for an EPSG code (GeoTIFF 1.0: GTModelType, GTRasterType, Projected/GeographicCSType). */
function geoKeys(grid: Grid): { keys: number[]; crs: WrittenGeoTiff['crs'] } {
  const m = grid.crs ? /^EPSG:(\d+)$/i.exec(grid.crs.trim()) : null;
  if (!m) {
    return {
      keys: [1, 1, 0, 1, 1025, 0, 1, 1],
      crs: {
        written: 'none',
        reason: grid.crs ? `CRS "${grid.crs}" has no EPSG code` : 'the grid has no CRS',
      },
    };
  }
  const epsg = Number(m[1]);
  let kind = 'CRS-PROJCRS';
  try {
    kind = (require(`epsg-index/s/${epsg}.json`) as { kind: string }).kind;
  } catch {
    throw new FieldcalError('UNSUPPORTED_FORMAT', `EPSG:${epsg} is not in the EPSG index`, { epsg });
  }
  const geographic = kind === 'CRS-GEOGCRS' || kind === 'CRS-GEOG3DCRS';
  const entries = [
    [1024, 0, 1, geographic ? 2 : 1],
    [1025, 0, 1, 1], // PixelIsArea
    [geographic ? 2048 : 3072, 0, 1, epsg],
  ];
  return { keys: [1, 1, 0, entries.length, ...entries.flat()], crs: { written: 'epsg', epsg } };
}

/** Encodes a little-endian classic TIFF with Float32 strips (one plane per band). */
function encode(opts: WriteGeoTiffOptions): { buffer: Buffer; crs: WrittenGeoTiff['crs'] } {
  const { grid, bands } = opts;
  const { rows, cols } = grid;
  const nodata = opts.nodata ?? -9999;
  const deflate = (opts.compress ?? 'DEFLATE') === 'DEFLATE';
  const rowsPerStrip = Math.max(1, Math.min(rows, Math.floor(65536 / (cols * 4))));
  const stripsPerBand = Math.ceil(rows / rowsPerStrip);

  const strips: Buffer[] = [];
  for (const band of bands) {
    if (band.data.length !== rows * cols) {
      throw new FieldcalError(
        'VALIDATION',
        `Band "${band.description ?? ''}" has ${band.data.length} values for a ${rows} x ${cols} grid`,
        {
          expected: rows * cols,
          got: band.data.length,
        },
      );
    }
    const f32 = new Float32Array(rows * cols);
    for (let i = 0; i < f32.length; i++) {
      const v = band.data[i]!;
      f32[i] = Number.isNaN(v) || (grid.mask !== null && grid.mask[i] === 0) ? nodata : v;
    }
    const bytes = Buffer.from(f32.buffer);
    for (let s = 0; s < stripsPerBand; s++) {
      const chunk = bytes.subarray(
        s * rowsPerStrip * cols * 4,
        Math.min(rows, (s + 1) * rowsPerStrip) * cols * 4,
      );
      strips.push(deflate ? deflateSync(chunk, { level: 6 }) : Buffer.from(chunk));
    }
  }

  const { keys, crs } = geoKeys(grid);
  const items = [
    ...Object.entries(opts.metadata ?? {}).map(
      ([k, v]) => `<Item name="${xmlEscape(k)}">${xmlEscape(v)}</Item>`,
    ),
    ...bands.flatMap((b, i) =>
      b.description
        ? [`<Item name="DESCRIPTION" sample="${i}" role="description">${xmlEscape(b.description)}</Item>`]
        : [],
    ),
    // GDAL's GTiff driver keeps a band's unit type as this item (frmts/gtiff, role "unittype")
    ...bands.flatMap((b, i) =>
      b.units ? [`<Item name="UNITS" sample="${i}" role="unittype">${xmlEscape(b.units)}</Item>`] : [],
    ),
  ];
  const nb = bands.length;
  const tags: Tag[] = [
    { id: 256, type: LONG, values: [cols] },
    { id: 257, type: LONG, values: [rows] },
    { id: 258, type: SHORT, values: Array(nb).fill(32) },
    { id: 259, type: SHORT, values: [deflate ? 8 : 1] },
    { id: 262, type: SHORT, values: [1] },
    { id: 273, type: LONG, values: Array(strips.length).fill(0) }, // patched below
    { id: 277, type: SHORT, values: [nb] },
    { id: 278, type: LONG, values: [rowsPerStrip] },
    { id: 279, type: LONG, values: strips.map((s) => s.length) },
    { id: 284, type: SHORT, values: [nb > 1 ? 2 : 1] },
    ...(nb > 1 ? [{ id: 338, type: SHORT, values: Array(nb - 1).fill(0) }] : []),
    { id: 339, type: SHORT, values: Array(nb).fill(3) },
    { id: 33550, type: DOUBLE, values: [grid.dx, grid.dy, 0] },
    { id: 33922, type: DOUBLE, values: [0, 0, 0, grid.x0, grid.y0, 0] },
    { id: 34735, type: SHORT, values: keys },
    ...(items.length
      ? [{ id: 42112, type: ASCII, values: `<GDALMetadata>${items.join('')}</GDALMetadata>` }]
      : []),
    { id: 42113, type: ASCII, values: formatG(nodata, 17) },
  ];

  const valueBytes = (t: Tag) =>
    typeof t.values === 'string' ? t.values.length + 1 : t.values.length * TYPE_SIZE[t.type]!;
  const ifdSize = 2 + tags.length * 12 + 4;
  let cursor = 8 + ifdSize;
  const extOffset = new Map<number, number>();
  for (const t of tags) {
    if (valueBytes(t) > 4) {
      cursor += cursor % 2; // word alignment
      extOffset.set(t.id, cursor);
      cursor += valueBytes(t);
    }
  }
  cursor += cursor % 2;
  const offsets: number[] = [];
  for (const s of strips) {
    offsets.push(cursor);
    cursor += s.length;
  }
  tags.find((t) => t.id === 273)!.values = offsets;
  if (cursor > 0xffffffff)
    throw new FieldcalError('UNSUPPORTED_FORMAT', 'Raster too large for a classic TIFF (4 GiB)', {
      bytes: cursor,
    });

  const buf = Buffer.alloc(cursor);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(tags.length, 8);
  const writeValues = (t: Tag, at: number) => {
    if (typeof t.values === 'string') {
      buf.write(`${t.values}\0`, at, 'latin1');
      return;
    }
    t.values.forEach((v, i) => {
      if (t.type === SHORT) buf.writeUInt16LE(v, at + 2 * i);
      else if (t.type === LONG) buf.writeUInt32LE(v, at + 4 * i);
      else buf.writeDoubleLE(v, at + 8 * i);
    });
  };
  tags.forEach((t, i) => {
    const e = 10 + 12 * i;
    buf.writeUInt16LE(t.id, e);
    buf.writeUInt16LE(t.type, e + 2);
    buf.writeUInt32LE(typeof t.values === 'string' ? t.values.length + 1 : t.values.length, e + 4);
    const ext = extOffset.get(t.id);
    if (ext !== undefined) {
      buf.writeUInt32LE(ext, e + 8);
      writeValues(t, ext);
    } else writeValues(t, e + 8);
  });
  buf.writeUInt32LE(0, 10 + 12 * tags.length); // no next IFD
  strips.forEach((s, i) => s.copy(buf, offsets[i]!));
  return { buffer: buf, crs };
}

/**
 * Writes Float32 bands on a grid as a GeoTIFF that GDAL reads with the grid's CRS (EPSG GeoKeys),
 * geotransform, nodata (GDAL_NODATA), DEFLATE compression and band descriptions (GDAL_METADATA).
 * The file is written atomically. A hand-written encoder because geotiff.js's writer has neither
 * compression nor the GDAL tags.
 */
export async function writeGeoTiff(opts: WriteGeoTiffOptions): Promise<WrittenGeoTiff> {
  if (opts.bands.length === 0)
    throw new FieldcalError('VALIDATION', 'No bands to write', { path: opts.path });
  if (!(opts.grid.dx > 0 && opts.grid.dy > 0))
    throw new FieldcalError(
      'VALIDATION',
      `cell sizes must be positive (dx ${opts.grid.dx}, dy ${opts.grid.dy})`,
      {
        path: opts.path,
        field: 'grid',
      },
    );
  const { buffer, crs } = encode(opts);
  const bytes = await writeFileAtomic(opts.path, (tmp) => writeFile(tmp, buffer), opts.overwrite ?? true);
  return { path: opts.path, bytes, crs };
}

/** One named field to export. */
export interface NamedField {
  name: string;
  data: ArrayLike<number>;
  /** Written as the band's unit type. */
  units?: string | undefined;
}

/**
 * Exports parameter or output fields: one GeoTIFF per field named `<name>.tif` (smash's
 * convention), or one multi-band file with the names as band descriptions.
 */
export async function exportFields(opts: {
  dir: string;
  grid: Grid;
  fields: NamedField[];
  layout: 'per-field' | 'multiband';
  multibandName?: string;
  nodata?: number;
}): Promise<WrittenGeoTiff[]> {
  if (opts.layout === 'multiband') {
    return [
      await writeGeoTiff({
        path: join(opts.dir, opts.multibandName ?? 'parameters.tif'),
        grid: opts.grid,
        nodata: opts.nodata,
        bands: opts.fields.map((f) => ({ data: f.data, description: f.name, units: f.units })),
      }),
    ];
  }
  const out: WrittenGeoTiff[] = [];
  for (const f of opts.fields) {
    if (!/^[\w.-]+$/.test(f.name))
      throw new FieldcalError('VALIDATION', `"${f.name}" is not usable as a file name`, { field: f.name });
    out.push(
      await writeGeoTiff({
        path: join(opts.dir, `${f.name}.tif`),
        grid: opts.grid,
        nodata: opts.nodata,
        bands: [{ data: f.data, description: f.name, units: f.units }],
      }),
    );
  }
  return out;
}

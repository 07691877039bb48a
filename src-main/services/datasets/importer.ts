import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { FieldcalError, type DatasetRecord, type Grid } from '../../../src-shared/ipc';
import { crsLabel, transformer } from '../rasters/crs';
import { GeoTiffRaster } from '../rasters/geotiff';
import { openStack, sourceKind } from '../rasters/open';
import { gridOfRaster } from '../rasters/stack';
import { readSmashGauges, type Gauge } from '../grid/gauges';
import { filesUnder, sizeOnDisk } from '../common/fileTree';

export type ImportKind = 'auto' | 'raster' | 'stack' | 'netcdf' | 'gauges';

/** What the project records about a dataset, before it has an id. */
export type NewDatasetRecord = Omit<DatasetRecord, 'id' | 'createdAt' | 'status'>;

/** Decodes every strip or tile of every file of a GeoTIFF stack: a corrupt step is refused at import. */
async function verifyStackFiles(files: string[]): Promise<void> {
  for (const f of new Set(files)) {
    const r = await GeoTiffRaster.open(f);
    try {
      await r.verifyAll();
    } finally {
      await r.close();
    }
  }
}

/** Total size and SHA-256 of a file, or of a folder's files (relative names and contents). */
export async function fingerprint(path: string): Promise<{ sizeBytes: number; checksum: string }> {
  const h = createHash('sha256');
  let size = 0;
  const files = await filesUnder(path);
  for (const f of files) {
    if (files.length > 1) h.update(`${relative(path, f)}\0`);
    size += (await stat(f)).size;
    for await (const chunk of createReadStream(f)) h.update(chunk as Buffer);
  }
  return { sizeBytes: size, checksum: h.digest('hex') };
}

/** Cheap check run whenever datasets are listed: the source is there and has its recorded size. */
export async function quickStatus(path: string, sizeBytes: number | null): Promise<DatasetRecord['status']> {
  const size = await sizeOnDisk(path);
  return size === null ? 'missing' : sizeBytes === null || size === sizeBytes ? 'ok' : 'changed';
}

/** Grid as stored with a dataset, with where its CRS came from and its lon/lat extent for the map. */
function gridJson(
  grid: Grid,
  crsSource: 'file' | 'project' | 'none',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  let extent4326: number[] | null = null;
  if (grid.crs) {
    try {
      const t = transformer(grid.crs, 'EPSG:4326');
      const pts: Array<[number, number]> = [];
      for (let k = 0; k <= 8; k++) {
        const fx = grid.x0 + (k / 8) * grid.cols * grid.dx;
        const fy = grid.y0 - (k / 8) * grid.rows * grid.dy;
        pts.push(
          t(fx, grid.y0),
          t(fx, grid.y0 - grid.rows * grid.dy),
          t(grid.x0, fy),
          t(grid.x0 + grid.cols * grid.dx, fy),
        );
      }
      extent4326 = [
        Math.min(...pts.map((p) => p[0])),
        Math.min(...pts.map((p) => p[1])),
        Math.max(...pts.map((p) => p[0])),
        Math.max(...pts.map((p) => p[1])),
      ];
    } catch {
      extent4326 = null;
    }
  }
  const { mask: _mask, ...rest } = grid;
  return { ...rest, crsSource, extent4326, ...extra };
}

/**
 * Reads a source's header (or a stack's headers) and describes it for the project: kind, CRS (the
 * file's EPSG code, else the project CRS, said so), grid, time range, size and checksum. Gauge
 * folders also return their gauges.
 */
export async function describeSource(opts: {
  path: string;
  name?: string | undefined;
  kind?: ImportKind | undefined;
  variable?: string | undefined;
  projectCrs: string | null;
}): Promise<{ dataset: NewDatasetRecord; gauges: Gauge[] }> {
  const { path, projectCrs } = opts;
  let kind = opts.kind ?? 'auto';
  if (kind === 'auto') {
    const k = await sourceKind(path);
    const isGauges =
      k === 'stack' &&
      (await stat(join(path, 'gauge_attributes.csv')).then(
        () => true,
        () => false,
      ));
    kind = isGauges ? 'gauges' : k;
  }
  const name = opts.name ?? basename(path).replace(/\.[^.]+$/, '');
  // The header (and, for rasters, every strip) is checked before the source is hashed: a damaged
  // 10 GB file is refused at once instead of after reading it whole.
  const hashed = async () => {
    const { sizeBytes, checksum } = await fingerprint(path).catch((err: unknown) => {
      if (err instanceof FieldcalError) throw err;
      throw new FieldcalError('NOT_FOUND', `${path} cannot be read`, { file: path });
    });
    return { name, sourcePath: path, sizeBytes, checksum };
  };
  if (kind === 'gauges') {
    const gauges = await readSmashGauges(path);
    const base = await hashed();
    return {
      dataset: {
        ...base,
        kind: 'gauges',
        crs: projectCrs,
        grid: null,
        timeStart: null,
        timeEnd: null,
        steps: null,
      },
      gauges,
    };
  }
  if (kind === 'raster') {
    const r = await GeoTiffRaster.open(path);
    try {
      await r.verifyAll();
    } finally {
      await r.close();
    }
    const base = await hashed();
    const fileCrs = r.info.crs.epsg !== null ? crsLabel(r.info.crs) : null;
    const grid = gridOfRaster(r.info, projectCrs);
    const crsSource = fileCrs ? 'file' : projectCrs ? 'project' : 'none';
    return {
      dataset: {
        ...base,
        kind: 'raster',
        crs: grid.crs,
        grid: gridJson(grid, crsSource, {
          bands: r.info.bands,
          pixelType: r.info.pixelType,
          nodata: r.info.nodata,
          fileCrs: r.info.crs.userDefined ? `user-defined: ${r.info.crs.proj4 ?? ''}` : fileCrs,
        }),
        timeStart: null,
        timeEnd: null,
        steps: null,
      },
      gauges: [],
    };
  }
  const s = await openStack(path, { crs: projectCrs, variable: opts.variable });
  // only the header is needed here: a NetCDF stack's file is released at once
  s.close?.();
  if (s.kind !== 'netcdf') await verifyStackFiles(s.steps.map((st) => st.file));
  const base = await hashed();
  const crsSource = s.grid.crs && s.grid.crs !== projectCrs ? 'file' : projectCrs ? 'project' : 'none';
  return {
    dataset: {
      ...base,
      kind: kind === 'netcdf' ? 'netcdf' : 'stack',
      crs: s.grid.crs,
      grid: gridJson(s.grid, crsSource, {
        stepSeconds: s.stepSeconds,
        gaps: s.gaps.map((g) => ({ after: g.after.toISOString(), missing: g.missing })),
        units: s.units,
        ...(opts.variable ? { variable: opts.variable } : {}),
      }),
      timeStart: s.steps[0]?.time.toISOString() ?? null,
      timeEnd: s.steps.at(-1)?.time.toISOString() ?? null,
      steps: s.steps.length,
    },
    gauges: [],
  };
}

import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import { delineateCatchment, type Catchment } from '../grid/catchment';
import { decodeD8, type FlowDirections } from '../grid/flowdir';
import { transformer } from '../rasters/crs';
import { GeoTiffRaster } from '../rasters/geotiff';
import { gridOfRaster } from '../rasters/stack';
import type { GaugeRow } from './repositories/gauges';
import type { StoredDataset } from './repositories/datasets';
import type { ProjectStore } from './store';

/** The folder of a gauge's dataset (a smash-layout folder with qobs/, gauge_attributes.csv, flow directions). */
export function gaugeFolder(store: ProjectStore, g: GaugeRow): string {
  if (g.datasetId === null)
    throw new FieldcalError('NOT_FOUND', `Gauge ${g.code} belongs to no dataset of this project`, {
      gauge: g.code,
    });
  const d = store.datasets.get(g.datasetId);
  return d.sourcePath;
}

/** The flow-direction GeoTIFF of a folder: `France_flwdir.tif`, else the one `*flwdir*.tif`; null when none. */
export async function findFlowdir(folder: string): Promise<string | null> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const tifs = names.filter((n) => /flwdir.*\.tiff?$/i.test(n)).sort();
  const preferred = tifs.find((n) => n.toLowerCase() === 'france_flwdir.tif');
  const pick = preferred ?? tifs[0];
  return pick ? join(folder, pick) : null;
}

const flowCache = new Map<string, FlowDirections>();

/** Decodes a D8 raster (cached by path, size and modification time: the France grid is 1.35 M cells). */
export async function loadFlowdir(path: string, fallbackCrs: string | null): Promise<FlowDirections> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new FieldcalError('NOT_FOUND', `${path} not found`, { file: path });
  const key = `${resolve(path)}|${st.size}|${st.mtimeMs}|${fallbackCrs ?? ''}`;
  const hit = flowCache.get(key);
  if (hit) return hit;
  const r = await GeoTiffRaster.open(path);
  try {
    const grid = gridOfRaster(r.info, fallbackCrs);
    if (!grid.crs)
      throw new FieldcalError(
        'VALIDATION',
        `${path} has no CRS and the project has none; set the project CRS`,
        {
          file: path,
          field: 'crs',
        },
      );
    const f = decodeD8(grid, await r.readBandValues(0), 'auto', path);
    if (flowCache.size >= 2) flowCache.delete(flowCache.keys().next().value!);
    flowCache.set(key, f);
    return f;
  } finally {
    await r.close();
  }
}

/** The catchment above a gauge on its folder's flow directions, with the upstream mask on the whole grid. */
export interface GaugeCatchment {
  flowFile: string;
  flow: FlowDirections;
  catchment: Catchment;
  /** Row and column offsets of the cropped catchment grid inside the flow-direction grid. */
  rowOff: number;
  colOff: number;
}

/** Where a gauge sits in a CRS (its own CRS, else the project's, else assumed to be `crs`). */
function gaugeIn(store: ProjectStore, g: GaugeRow, crs: string): [number, number] {
  const from = g.crs ?? store.info().crs ?? crs;
  return transformer(from, crs)(g.x, g.y);
}

/**
 * Delineates the catchment above a gauge: the flow directions of its dataset's folder, the gauge
 * snapped to the cell whose drained area best matches its declared area (grid/catchment.ts).
 * Null when the folder has no flow-direction raster.
 */
export async function gaugeCatchment(store: ProjectStore, g: GaugeRow): Promise<GaugeCatchment | null> {
  const folder = gaugeFolder(store, g);
  const flowFile = await findFlowdir(folder);
  if (!flowFile) return null;
  const flow = await loadFlowdir(flowFile, g.crs ?? store.info().crs);
  const [x, y] = gaugeIn(store, g, flow.grid.crs!);
  const catchment = delineateCatchment(flow, [{ code: g.code, x, y, areaKm2: g.areaKm2 }]);
  const rowOff = Math.round((flow.grid.y0 - catchment.grid.y0) / flow.grid.dy);
  const colOff = Math.round((catchment.grid.x0 - flow.grid.x0) / flow.grid.dx);
  return { flowFile, flow, catchment, rowOff, colOff };
}

/**
 * The precipitation stack for a gauge folder: a `stack` dataset of the project whose folder is
 * named prcp (the one inside the gauge folder first), else a stack dataset holding a prcp/
 * subfolder, else the gauge folder's own prcp/ subfolder. Null when there is none.
 */
export async function findPrcp(
  store: ProjectStore,
  folder: string,
): Promise<{ path: string; dataset: StoredDataset | null } | null> {
  const stacks = store.datasets.list().filter((d) => d.kind === 'stack');
  const named = stacks.filter((d) => basename(d.sourcePath).toLowerCase() === 'prcp');
  const inFolder = named.find((d) => resolve(dirname(d.sourcePath)) === resolve(folder));
  const pick = inFolder ?? named[0];
  if (pick) return { path: pick.sourcePath, dataset: pick };
  const isDir = async (p: string) => (await stat(p).catch(() => null))?.isDirectory() ?? false;
  for (const d of stacks)
    if (await isDir(join(d.sourcePath, 'prcp'))) return { path: join(d.sourcePath, 'prcp'), dataset: d };
  if (await isDir(join(folder, 'prcp'))) return { path: join(folder, 'prcp'), dataset: null };
  return null;
}

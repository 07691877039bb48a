import { readdir, stat } from 'node:fs/promises';
import type { z } from 'zod';
import { join } from 'node:path';
import { FieldcalError, type Grid } from '../../../src-shared/ipc';
import { datasetManifestSchema, type DatasetManifest } from '../../../src-shared/types/assemble';
import { readTextFile } from '../common/safeFile';
import { delineateCatchment, type Catchment } from '../grid/catchment';
import { decodeD8 } from '../grid/flowdir';
import { readSmashGauges, seriesWindow } from '../grid/gauges';
import { buildNetwork, type RoutingNetwork } from '../physics/routing/lr';
import { readAsciiGrid } from '../rasters/asciiGrid';
import { GeoTiffRaster } from '../rasters/geotiff';
import { gridOfRaster, openFolderStack, type Stack } from '../rasters/stack';
import { isMonthlyFolder, readMonthlyTarget } from './coarseTarget';

/**
 * A target observed at a coarser step than the model's (monthly soil moisture): one field per target
 * step, compared with the simulation aggregated over the model steps each covers (issue 15).
 */
export interface CoarseTarget {
  step: 'monthly';
  /** Start of each target step (the first day of the month, 00:00 UTC). */
  dates: Date[];
  /** Target-step-major [targetSteps x cells], NaN missing. */
  values: Float64Array;
  /** For each model step, the index of the target step it falls in, or -1 (none observed). */
  bin: Int32Array;
  /** How the simulation is aggregated over a target step: states are averaged, fluxes summed. */
  rule: 'mean' | 'sum';
}

/** A gridded dataset in smash's layout, cut to the catchment of its gauges, on active cells. */
export interface SmashDataset {
  catchment: Catchment;
  net: RoutingNetwork;
  dates: Date[];
  /** The model step in seconds (86400 daily, 3600 hourly); absent = daily. */
  stepSeconds?: number;
  /** Targets at their own, coarser step (then the step-major `ET` / `SM` of the same target are absent). */
  coarse?: { ET?: CoarseTarget; SM?: CoarseTarget };
  /** Step-major [steps x cells], mm per step. */
  P: Float64Array;
  E: Float64Array;
  /** Optional stacks on the same steps and cells: air temperature (°C, temp/) and observed ET (mm per step, et/, NaN missing). */
  T?: Float64Array;
  ET?: Float64Array;
  /** Observed top-layer soil moisture (m³/m³, sm/, NaN missing). */
  SM?: Float64Array;
  descriptorNames: string[];
  /** Cell-major [cells x descriptors], standardised over the active cells. */
  descriptors: Float64Array;
  gauges: Array<{ code: string; cell: number; areaKm2: number | null; obs: Float64Array }>;
}

/** The manifest an assembled dataset carries (`datasets.assemble`). */
export const MANIFEST_FILE = 'fieldcal-dataset.json';

/** A folder's manifest file read as JSON; null when there is none; a file that is not JSON is refused, named. */
export async function readManifestJson(dir: string): Promise<{ file: string; json: unknown } | null> {
  const file = join(dir, MANIFEST_FILE);
  if (!(await stat(file).catch(() => null))?.isFile()) return null;
  try {
    return { file, json: JSON.parse(await readTextFile(file, 16 * 2 ** 20)) };
  } catch (e) {
    throw new FieldcalError('INVALID_FILE', `${file}: not JSON (${(e as Error).message})`, { file });
  }
}

/** A manifest's JSON checked against its schema; the first issue is refused naming the file and the field. */
export function checkManifest<T>(schema: z.ZodType<T>, json: unknown, file: string): T {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new FieldcalError('INVALID_FILE', `${file}: ${i.path.join('.') || 'manifest'}: ${i.message}`, {
    file,
    field: i.path.join('.'),
  });
}

/** A folder's `fieldcal-dataset.json`, checked; null when the folder has none (a plain smash layout). */
export async function readManifest(dir: string): Promise<DatasetManifest | null> {
  const m = await readManifestJson(dir);
  return m ? checkManifest(datasetManifestSchema, m.json, m.file) : null;
}

/** A flow-direction file by its name: a GeoTIFF or an ESRI ASCII grid. */
const FLOWDIR_FILE = /\.(tiff?|asc)$/i;

/**
 * The flow-direction raster of a smash-layout folder: its only top-level GeoTIFF or ESRI ASCII grid
 * (a symbolic link to a file counts).
 */
export async function findFlowdir(dir: string): Promise<string> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!FLOWDIR_FILE.test(e.name)) continue;
    if (e.isFile() || (e.isSymbolicLink() && (await stat(join(dir, e.name)).catch(() => null))?.isFile()))
      found.push(e.name);
  }
  if (found.length !== 1) {
    throw new FieldcalError(
      'VALIDATION',
      `${dir}: expected one flow-direction GeoTIFF (or .asc) at the top level, found ${found.length ? found.sort().join(', ') : 'none'}`,
      { file: dir, field: 'flowdir' },
    );
  }
  return found[0]!;
}

/** Reads a flow-direction raster (GeoTIFF or ESRI ASCII grid): its grid (with `crs` when the file has none) and raw codes. */
export async function readFlowdirRaster(
  file: string,
  crs: string | null,
): Promise<{ grid: Grid; codes: Float64Array; fileCrs: string | null }> {
  if (/\.asc$/i.test(file)) {
    const a = await readAsciiGrid(file);
    return { grid: { ...a.grid, crs: crs ?? a.grid.crs }, codes: a.values, fileCrs: a.grid.crs };
  }
  const fd = await GeoTiffRaster.open(file);
  try {
    const fileCrs = fd.info.crs.epsg !== null ? `EPSG:${fd.info.crs.epsg}` : fd.info.crs.proj4;
    return { grid: gridOfRaster(fd.info, crs ?? fileCrs), codes: await fd.readBandValues(0), fileCrs };
  } finally {
    await fd.close();
  }
}

/**
 * Row and column offsets of a catchment's grid inside a field's grid (same cell size, same lattice),
 * refused naming the field and the catchment rows/cols it leaves uncovered. A field may be any window
 * of the flow directions' extent (smaller or larger) as long as every active cell lies inside it.
 */
export function catchmentOffsets(field: Grid, c: Catchment, source: string): readonly [number, number] {
  const g = c.grid;
  const tol = 1e-6;
  if (Math.abs(field.dx - g.dx) > tol * g.dx || Math.abs(field.dy - g.dy) > tol * g.dy)
    throw new FieldcalError(
      'INCONSISTENT_DATA',
      `${source}: cell size ${field.dx} x ${field.dy} differs from the flow directions' ${g.dx} x ${g.dy}; assemble the dataset to resample it`,
      { file: source },
    );
  const fr = (field.y0 - g.y0) / g.dy;
  const fc = (g.x0 - field.x0) / g.dx;
  const r = Math.round(fr);
  const col = Math.round(fc);
  if (Math.abs(fr - r) > 1e-3 || Math.abs(fc - col) > 1e-3)
    throw new FieldcalError(
      'INCONSISTENT_DATA',
      `${source}: its cells are shifted by a fraction of a cell from the flow directions' (${(fc - col).toFixed(3)} col, ${(fr - r).toFixed(3)} row); assemble the dataset to resample it`,
      { file: source },
    );
  // the catchment's row 0 is the field's row `rowOff`
  const rowOff = -r;
  const colOff = col;
  let rMin = Infinity,
    rMax = -Infinity,
    cMin = Infinity,
    cMax = -Infinity;
  for (let i = 0; i < g.rows * g.cols; i++) {
    if (g.mask && !g.mask[i]) continue;
    const rr = Math.floor(i / g.cols) + rowOff;
    const cc = (i % g.cols) + colOff;
    if (rr < 0 || rr >= field.rows || cc < 0 || cc >= field.cols) {
      rMin = Math.min(rMin, rr);
      rMax = Math.max(rMax, rr);
      cMin = Math.min(cMin, cc);
      cMax = Math.max(cMax, cc);
    }
  }
  if (rMax >= rMin)
    throw new FieldcalError(
      'INCONSISTENT_DATA',
      `${source} does not cover the catchment: catchment cells fall on its rows ${rMin}..${rMax}, cols ${cMin}..${cMax}, outside its ${field.rows} rows x ${field.cols} cols`,
      { file: source, rows: [rMin, rMax], cols: [cMin, cMax] },
    );
  return [rowOff, colOff] as const;
}

/** Values of a field on the catchment's active cells (the catchment grid lies on the field's grid). */
function onCells(
  values: Float64Array,
  fieldCols: number,
  c: Catchment,
  rowOff: number,
  colOff: number,
): Float64Array {
  const g = c.grid;
  const out = new Float64Array(c.cells);
  let k = 0;
  for (let r = 0; r < g.rows; r++)
    for (let col = 0; col < g.cols; col++)
      if (g.mask![r * g.cols + col]) out[k++] = values[(r + rowOff) * fieldCols + col + colOff]!;
  return out;
}

/**
 * Loads a smash-layout folder (prcp/ and pet/ stacks of dated GeoTIFFs, descriptor/*.tif,
 * gauge_attributes.csv + qobs/, a D8 flow-direction GeoTIFF or ESRI ASCII grid) or an assembled
 * dataset (the same layout with a `fieldcal-dataset.json` manifest naming the flow directions, the
 * CRS and the model step) for a period: delineates the catchment of the gauges, builds the routing
 * network, and reads forcing, standardised descriptors and observed discharge on its active cells.
 * Every stack may be any window of the flow directions' extent that covers the catchment. At an
 * hourly step the period runs from `start` 00:00 to `end` 23:00. Missing forcing is refused.
 */
export async function loadSmashDataset(opts: {
  dir: string;
  /** Flow-direction file in `dir`; by default the manifest's, else the one GeoTIFF (or .asc) at the folder's top level. */
  flowdir?: string | undefined;
  start: Date;
  end: Date;
  /** CRS of files that carry none; by default the manifest's, else the flow-direction file's. */
  crs?: string | undefined;
}): Promise<SmashDataset> {
  const manifest = await readManifest(opts.dir);
  const flowFile = join(opts.dir, opts.flowdir ?? manifest?.flowdir ?? (await findFlowdir(opts.dir)));
  const fdr = await readFlowdirRaster(flowFile, opts.crs ?? manifest?.crs ?? null);
  const crs = fdr.grid.crs;
  if (!crs) {
    throw new FieldcalError(
      'VALIDATION',
      `${flowFile} has no CRS (no EPSG code or .prj); give the dataset's CRS`,
      {
        file: flowFile,
        field: 'crs',
      },
    );
  }
  const flow = decodeD8(fdr.grid, fdr.codes, 'auto', flowFile);
  const prcp = await openFolderStack(join(opts.dir, 'prcp'), { crs });
  const pet = await openFolderStack(join(opts.dir, 'pet'), { crs });
  const stepSeconds = manifest?.stepSeconds ?? (prcp.stepSeconds > 0 ? prcp.stepSeconds : 86400);
  const dayMs = 86_400_000;
  // an hourly period named by days runs to the last hour of its last day
  const end =
    stepSeconds < 86400 && opts.end.getTime() % dayMs === 0
      ? new Date(opts.end.getTime() + dayMs - stepSeconds * 1000)
      : opts.end;
  const gaugeList = await readSmashGauges(opts.dir, stepSeconds);
  // an assembled dataset holds its gauges at the cells they were snapped to when it was made
  const catchment = delineateCatchment(flow, gaugeList, manifest ? 0 : 2);
  const g = catchment.grid;
  const net = buildNetwork({ rows: g.rows, cols: g.cols, dir: catchment.dir, mask: g.mask, cellSizeM: g.dx });
  const offsets = (s: Stack) => catchmentOffsets(s.grid, catchment, s.source);
  const [pr, pc] = offsets(prcp);
  const [er, ec] = offsets(pet);
  const dates: Date[] = [];
  for (let t = opts.start.getTime(); t <= end.getTime(); t += stepSeconds * 1000) dates.push(new Date(t));
  const steps = dates.length;
  const when = (d: Date) =>
    stepSeconds < 86400 ? d.toISOString().slice(0, 16) : d.toISOString().slice(0, 10);
  const P = new Float64Array(steps * catchment.cells);
  const E = new Float64Array(steps * catchment.cells);
  const indexOf = (s: Stack) => new Map(s.steps.map((st, i) => [st.time.getTime(), i]));
  const pi = indexOf(prcp);
  const ei = indexOf(pet);
  for (let t = 0; t < steps; t++) {
    const a = pi.get(dates[t]!.getTime());
    const b = ei.get(dates[t]!.getTime());
    if (a === undefined || b === undefined) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `No forcing for ${when(dates[t]!)} (${a === undefined ? 'prcp' : 'pet'})`,
        { field: 'period' },
      );
    }
    const pv = onCells(await prcp.read(a), prcp.grid.cols, catchment, pr, pc);
    const ev = onCells(await pet.read(b), pet.grid.cols, catchment, er, ec);
    for (let c = 0; c < catchment.cells; c++) {
      if (!Number.isFinite(pv[c]!) || !Number.isFinite(ev[c]!)) {
        throw new FieldcalError(
          'INCONSISTENT_DATA',
          `Missing forcing on ${when(dates[t]!)} in a catchment cell`,
          {
            field: 'forcing',
          },
        );
      }
    }
    P.set(pv, t * catchment.cells);
    E.set(ev, t * catchment.cells);
  }
  // optional stacks: temperature (complete) and evapotranspiration (the gridded target, gaps allowed)
  const optional = async (sub: string, complete: boolean) => {
    const st = await stat(join(opts.dir, sub)).catch(() => null);
    if (!st?.isDirectory()) return undefined;
    // a target at its own coarser step (manifest `targets: { sm: 'monthly' }`) is not a step-major stack
    if (manifest && manifest.targets[sub] === 'monthly') return undefined;
    const stack = await openFolderStack(join(opts.dir, sub), { crs });
    const [r, c] = offsets(stack);
    const idx = indexOf(stack);
    const out = new Float64Array(steps * catchment.cells);
    for (let t = 0; t < steps; t++) {
      const i = idx.get(dates[t]!.getTime());
      const v =
        i === undefined
          ? new Float64Array(catchment.cells).fill(Number.NaN)
          : onCells(await stack.read(i), stack.grid.cols, catchment, r, c);
      if (complete && v.some((x) => !Number.isFinite(x)))
        throw new FieldcalError(
          'INCONSISTENT_DATA',
          `${sub} has no value on ${when(dates[t]!)} in a catchment cell`,
          { file: join(opts.dir, sub), field: sub },
        );
      out.set(v, t * catchment.cells);
    }
    return out;
  };
  const T = await optional('temp', true);
  // a monthly et/ or sm/ stack is a target at its own step (datasets/coarseTarget.ts), not a step-major one
  const monthly = async (sub: 'et' | 'sm') =>
    (await isMonthlyFolder(join(opts.dir, sub), manifest?.targets[sub] === 'monthly'))
      ? readMonthlyTarget({
          dir: join(opts.dir, sub),
          variable: sub,
          crs,
          dates,
          stepSeconds,
          onCells: (s, v) => onCells(v, s.grid.cols, catchment, ...offsets(s)),
          cells: catchment.cells,
        })
      : undefined;
  const coarseET = await monthly('et');
  const coarseSM = await monthly('sm');
  const ET = coarseET ? undefined : await optional('et', false);
  const SM = coarseSM ? undefined : await optional('sm', false);
  const names = (await readdir(join(opts.dir, 'descriptor'))).filter((f) => /\.tiff?$/i.test(f)).sort();
  const descriptors = new Float64Array(catchment.cells * names.length);
  for (const [k, name] of names.entries()) {
    const file = join(opts.dir, 'descriptor', name);
    const r = await GeoTiffRaster.open(file);
    let v: Float64Array;
    try {
      const [dr, dc] = catchmentOffsets(gridOfRaster(r.info, crs), catchment, file);
      v = onCells(await r.readBandValues(0), r.info.width, catchment, dr, dc);
    } finally {
      await r.close();
    }
    let m = 0;
    for (const x of v) m += x;
    m /= v.length;
    let sd = 0;
    for (const x of v) sd += (x - m) ** 2;
    sd = Math.sqrt(sd / v.length) || 1;
    v.forEach((x, c) => (descriptors[c * names.length + k] = (x - m) / sd));
  }
  const cellIndex = (row: number, col: number) =>
    Array.from(g.mask!.subarray(0, row * g.cols + col)).reduce((a, b) => a + b, 0);
  const gauges = catchment.gauges.map((sg) => {
    const src = gaugeList.find((x) => x.code === sg.code)!;
    return {
      code: sg.code,
      cell: cellIndex(sg.row, sg.col),
      areaKm2: sg.areaKm2,
      obs: src.series ? seriesWindow(src.series, opts.start, end) : new Float64Array(steps).fill(Number.NaN),
    };
  });
  return {
    catchment,
    net,
    dates,
    stepSeconds,
    P,
    E,
    ...(T ? { T } : {}),
    ...(ET ? { ET } : {}),
    ...(SM ? { SM } : {}),
    ...(coarseET || coarseSM
      ? { coarse: { ...(coarseET ? { ET: coarseET } : {}), ...(coarseSM ? { SM: coarseSM } : {}) } }
      : {}),
    descriptorNames: names.map((n) => n.replace(/\.tiff?$/i, '')),
    descriptors,
    gauges,
  };
}

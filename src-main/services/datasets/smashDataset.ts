import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import { delineateCatchment, type Catchment } from '../grid/catchment';
import { decodeD8 } from '../grid/flowdir';
import { readSmashGauges, seriesWindow } from '../grid/gauges';
import { buildNetwork, type RoutingNetwork } from '../physics/routing/lr';
import { GeoTiffRaster } from '../rasters/geotiff';
import { gridOfRaster, openFolderStack, type Stack } from '../rasters/stack';

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

/** The flow-direction raster of a smash-layout folder: its only top-level GeoTIFF. */
async function findFlowdir(dir: string): Promise<string> {
  const tifs = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && /\.tiff?$/i.test(e.name))
    .map((e) => e.name);
  if (tifs.length !== 1) {
    throw new FieldcalError(
      'VALIDATION',
      `${dir}: expected one flow-direction GeoTIFF at the top level, found ${tifs.length ? tifs.join(', ') : 'none'}`,
      { file: dir, field: 'flowdir' },
    );
  }
  return tifs[0]!;
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
 * gauge_attributes.csv + qobs/, a D8 flow-direction GeoTIFF) for a period: delineates the
 * catchment of the gauges, builds the routing network, and reads forcing, standardised
 * descriptors and observed discharge on its active cells. Missing forcing is refused.
 */
export async function loadSmashDataset(opts: {
  dir: string;
  /** Flow-direction GeoTIFF in `dir`; by default the one GeoTIFF at the folder's top level. */
  flowdir?: string | undefined;
  start: Date;
  end: Date;
  /** CRS of files that carry none; by default the flow-direction file's EPSG code. */
  crs?: string | undefined;
}): Promise<SmashDataset> {
  const flowFile = join(opts.dir, opts.flowdir ?? (await findFlowdir(opts.dir)));
  const fd = await GeoTiffRaster.open(flowFile);
  const crs = opts.crs ?? (fd.info.crs.epsg !== null ? `EPSG:${fd.info.crs.epsg}` : null);
  if (!crs) {
    await fd.close();
    throw new FieldcalError('VALIDATION', `${flowFile} has no EPSG code; give the dataset's CRS`, {
      file: flowFile,
      field: 'crs',
    });
  }
  const flow = decodeD8(gridOfRaster(fd.info, crs), await fd.readBandValues(0), 'auto', flowFile);
  await fd.close();
  const gaugeList = await readSmashGauges(opts.dir);
  const catchment = delineateCatchment(flow, gaugeList);
  const g = catchment.grid;
  const net = buildNetwork({ rows: g.rows, cols: g.cols, dir: catchment.dir, mask: g.mask, cellSizeM: g.dx });
  const prcp = await openFolderStack(join(opts.dir, 'prcp'), { crs });
  const pet = await openFolderStack(join(opts.dir, 'pet'), { crs });
  const offsets = (s: Stack) => {
    const r = Math.round((s.grid.y0 - g.y0) / g.dy);
    const c = Math.round((g.x0 - s.grid.x0) / g.dx);
    if (r > 0 || c < 0 || s.grid.dx !== g.dx)
      throw new FieldcalError('INCONSISTENT_DATA', `${s.source} does not cover the catchment on its grid`, {
        file: s.source,
      });
    return [-r, c] as const;
  };
  const [pr, pc] = offsets(prcp);
  const dates: Date[] = [];
  for (let t = opts.start.getTime(); t <= opts.end.getTime(); t += prcp.stepSeconds * 1000)
    dates.push(new Date(t));
  const steps = dates.length;
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
        `No forcing for ${dates[t]!.toISOString().slice(0, 10)} (${a === undefined ? 'prcp' : 'pet'})`,
        { field: 'period' },
      );
    }
    const pv = onCells(await prcp.read(a), prcp.grid.cols, catchment, pr, pc);
    const ev = onCells(await pet.read(b), pet.grid.cols, catchment, pr, pc);
    for (let c = 0; c < catchment.cells; c++) {
      if (!Number.isFinite(pv[c]!) || !Number.isFinite(ev[c]!)) {
        throw new FieldcalError(
          'INCONSISTENT_DATA',
          `Missing forcing on ${dates[t]!.toISOString().slice(0, 10)} in a catchment cell`,
          { field: 'forcing' },
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
          `${sub} has no value on ${dates[t]!.toISOString().slice(0, 10)} in a catchment cell`,
          { file: join(opts.dir, sub), field: sub },
        );
      out.set(v, t * catchment.cells);
    }
    return out;
  };
  const T = await optional('temp', true);
  const ET = await optional('et', false);
  const SM = await optional('sm', false);
  const names = (await readdir(join(opts.dir, 'descriptor'))).filter((f) => /\.tiff?$/i.test(f)).sort();
  const descriptors = new Float64Array(catchment.cells * names.length);
  for (const [k, name] of names.entries()) {
    const r = await GeoTiffRaster.open(join(opts.dir, 'descriptor', name));
    const v = onCells(await r.readBandValues(0), r.info.width, catchment, pr, pc);
    await r.close();
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
      obs: src.series
        ? seriesWindow(src.series, opts.start, opts.end)
        : new Float64Array(steps).fill(Number.NaN),
    };
  });
  return {
    catchment,
    net,
    dates,
    P,
    E,
    ...(T ? { T } : {}),
    ...(ET ? { ET } : {}),
    ...(SM ? { SM } : {}),
    descriptorNames: names.map((n) => n.replace(/\.tiff?$/i, '')),
    descriptors,
    gauges,
  };
}

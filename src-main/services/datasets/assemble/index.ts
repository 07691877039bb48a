import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FieldcalError, type Grid } from '../../../../src-shared/ipc';
import {
  STEP_SECONDS,
  assembleSpecSchema,
  datasetManifestSchema,
  type AssembleSpec,
  type AssembleSpecInput,
  type AssembledInput,
  type DatasetManifest,
  type TimeStep,
} from '../../../../src-shared/types/assemble';
import { delineateCatchment, type Catchment } from '../../grid/catchment';
import { decodeD8, type FlowDirections } from '../../grid/flowdir';
import { stepWords } from '../../grid/gauges';
import { openStackSource } from '../../rasters/open';
import { writeGeoTiff } from '../../rasters/writeGeoTiff';
import { MANIFEST_FILE, readFlowdirRaster } from '../smashDataset';
import { modelDates, toModelStep, type SteppedStack } from '../timeSteps';
import { dischargeOnSteps, readGaugeInputs, type GaugeInput } from './gauges';
import {
  convertedStack,
  mustExist,
  naming,
  planAlign,
  planStack,
  readRaster,
  refuse,
  uncovered,
  type AlignPlan,
} from './inputs';

export interface AssembleProgress {
  name: string;
  stage: string;
  done: number;
}

export interface AssembleOptions {
  /** The project file: the default output is `<project>-datasets/<name>` beside it. */
  projectFile?: string | undefined;
  onProgress?: ((p: AssembleProgress) => void) | undefined;
  cancelled?: (() => boolean) | undefined;
}

export interface AssembleResult {
  path: string;
  manifest: DatasetManifest;
  warnings: string[];
  /** Model steps written. */
  steps: number;
  /** The model grid (with the catchment mask when gauges were given). */
  grid: Grid;
}

const dayMs = 86_400_000;
const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 12);

/** Where the dataset goes: `spec.out`, else `<project>-datasets/<name>` beside the project file. */
export function outputFolder(spec: Pick<AssembleSpec, 'out' | 'name'>, projectFile?: string): string {
  if (spec.out) return resolve(spec.out);
  if (!projectFile)
    throw new FieldcalError(
      'VALIDATION',
      'out: no output folder given and no project open to put it beside',
      {
        field: 'out',
      },
    );
  const p = resolve(projectFile);
  return join(dirname(p), `${basename(p).replace(/\.[^.]+$/, '')}-datasets`, spec.name);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Leftovers of an assembly that was killed: its temporary folder (removed) and a replaced old
 * dataset set aside just before the swap (put back when the new one never arrived).
 */
export async function recover(out: string): Promise<void> {
  const parent = dirname(out);
  const base = basename(out);
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const n of names) {
    const m = new RegExp(
      `^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(assembling|replaced)-(\\d+)-[0-9a-z]+$`,
    ).exec(n);
    if (!m || alive(Number(m[2]))) continue;
    if (m[1] === 'replaced' && !(await stat(out).catch(() => null))) await rename(join(parent, n), out);
    else await rm(join(parent, n), { recursive: true, force: true });
  }
}

/**
 * Writes a dataset folder atomically: `fill` writes into a temporary folder beside `out`, which is
 * then renamed into place (an `out` already there is moved aside first and removed after); on any
 * failure the temporary folder is removed. Its names are the ones `recover` cleans after a kill.
 */
export async function writeFolderAtomically<T>(out: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const tmp = join(parent, `.${basename(out)}.assembling-${tag}`);
  await mkdir(tmp);
  try {
    const r = await fill(tmp);
    if (await stat(out).catch(() => null)) {
      const old = join(parent, `.${basename(out)}.replaced-${tag}`);
      await rename(out, old);
      await rename(tmp, out);
      await rm(old, { recursive: true, force: true });
    } else await rename(tmp, out);
    return r;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The model grid of a study area: the geometry's bounding box snapped outward to whole cells. */
function studyAreaGrid(geometry: Record<string, unknown>, crs: string, cellSize: number): Grid {
  let xmin = Infinity,
    ymin = Infinity,
    xmax = -Infinity,
    ymax = -Infinity;
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number' && typeof c[1] === 'number') {
      xmin = Math.min(xmin, c[0]);
      xmax = Math.max(xmax, c[0]);
      ymin = Math.min(ymin, c[1]);
      ymax = Math.max(ymax, c[1]);
    } else if (Array.isArray(c)) c.forEach(walk);
  };
  walk((geometry as { coordinates?: unknown }).coordinates);
  if (!(xmax > xmin && ymax > ymin)) refuse('grid.geometry', 'has no extent (no coordinates)');
  const x0 = Math.floor(xmin / cellSize) * cellSize;
  const y0 = Math.ceil(ymax / cellSize) * cellSize;
  const cols = Math.ceil((xmax - x0) / cellSize);
  const rows = Math.ceil((y0 - ymin) / cellSize);
  if (rows * cols > 50_000_000) refuse('grid.cellSize', `${cols} x ${rows} cells is too many`);
  return { crs, x0, y0, dx: cellSize, dy: cellSize, rows, cols, mask: null };
}

/** The flow directions cut to the model grid (same lattice required: D8 codes cannot be resampled). */
function flowOnGrid(flow: FlowDirections, grid: Grid, field: string): FlowDirections {
  const plan = planAlign(flow.grid, grid, 'nearest', field);
  if (plan.align !== 'same-grid' && plan.align !== 'window')
    refuse(
      field,
      `the flow directions (${flow.grid.dx} m cells at ${flow.grid.x0}, ${flow.grid.y0}) are not on the model grid's lattice (${grid.dx} m cells at ${grid.x0}, ${grid.y0}); D8 directions cannot be resampled`,
    );
  const v = plan.apply(Float64Array.from(flow.dir, (d) => (d < 0 ? Number.NaN : d)));
  return { grid, dir: Int8Array.from(v, (d) => (Number.isFinite(d) ? d : -1)), convention: flow.convention };
}

interface PlannedStack {
  role: string;
  sub: string;
  field: string;
  stepped: SteppedStack;
  plan: AlignPlan;
  input: AssembledInput;
  /** The stack's own steps (targets at a coarser step than the model's), else the model's dates. */
  own: { dates: Date[]; read: (i: number) => Promise<Float64Array> } | null;
  complete: boolean;
}

/**
 * Builds a model dataset from named inputs (issue 15). Every input is checked before anything is
 * written and a refusal names it in `details.field` (`forcing[1].source.path`, `gauges.stations`,
 * ...): paths, formats, CRS, coverage of the catchment, periods and steps, units. The model grid is
 * built (from a raster, the catchment of the gauges cut to its bounding box, or a study area), every
 * raster aligned onto it (recorded per input), units converted, forcing brought to the model step
 * (targets kept at their own step), and the dataset written in smash's layout with a
 * `fieldcal-dataset.json` manifest into a temporary folder renamed into place at the end: a killed
 * process leaves no dataset folder, or the old one intact.
 */
export async function assembleDataset(
  specInput: AssembleSpec | AssembleSpecInput,
  opts: AssembleOptions = {},
): Promise<AssembleResult> {
  const parsed = assembleSpecSchema.safeParse(specInput);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const field = i.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '')
      .replace(/\.\[/g, '[');
    throw new FieldcalError('VALIDATION', `${field || 'spec'}: ${i.message}`, { field });
  }
  const spec = parsed.data;
  const progress = (stage: string, done: number) => opts.onProgress?.({ name: spec.name, stage, done });
  const checkCancel = () => {
    if (opts.cancelled?.())
      throw new FieldcalError('CONFLICT', `Assembly of ${spec.name} cancelled`, { cancelled: true });
  };
  const warnings: string[] = [];
  const out = outputFolder(spec, opts.projectFile);
  progress('checking inputs', 0);

  // the output: refused when it exists unless overwrite, and then only a dataset this assembler wrote
  await recover(out);
  const existing = await stat(out).catch(() => null);
  if (existing) {
    if (!spec.overwrite)
      refuse('out', `${out} exists; choose another name or allow overwriting`, 'CONFLICT', { file: out });
    if (!(await stat(join(out, MANIFEST_FILE)).catch(() => null)))
      refuse(
        'out',
        `${out} exists and is not an assembled dataset (no ${MANIFEST_FILE}); it is never overwritten`,
        'CONFLICT',
        {
          file: out,
        },
      );
  }

  // period and model steps (an hourly period runs from start 00:00 to end 23:00)
  const S = STEP_SECONDS[spec.step];
  const start = new Date(`${spec.start}T00:00:00Z`);
  const end = new Date(new Date(`${spec.end}T00:00:00Z`).getTime() + dayMs - S * 1000);
  const dates = modelDates(spec.step, start, end);

  // flow directions
  await mustExist(spec.flowdir.path, 'flowdir.path');
  const fdr = await readFlowdirRaster(spec.flowdir.path, spec.flowdir.crs ?? null).catch((e: unknown) => {
    throw naming('flowdir.path', e);
  });
  const crs = fdr.grid.crs ?? spec.crs ?? null;
  if (!crs)
    refuse(
      'flowdir.crs',
      `${spec.flowdir.path} carries no CRS (no EPSG code, no .prj); give it`,
      'VALIDATION',
      {
        file: spec.flowdir.path,
      },
    );
  let flow: FlowDirections;
  try {
    flow = decodeD8({ ...fdr.grid, crs }, fdr.codes, spec.flowdir.convention, spec.flowdir.path);
  } catch (e) {
    throw naming('flowdir.path', e);
  }

  // gauges, each inside the flow directions
  let gauges: GaugeInput[] = [];
  if (spec.gauges) {
    gauges = await readGaugeInputs(spec.gauges, crs, S);
    const g = flow.grid;
    for (const s of gauges) {
      const c = Math.floor((s.x - g.x0) / g.dx);
      const r = Math.floor((g.y0 - s.y) / g.dy);
      if (r < 0 || r >= g.rows || c < 0 || c >= g.cols)
        refuse(
          s.field,
          `gauge ${s.code} at (${s.x}, ${s.y}) is outside the flow directions' grid (${g.x0}..${g.x0 + g.cols * g.dx}, ${g.y0 - g.rows * g.dy}..${g.y0})`,
          'VALIDATION',
          { gauge: s.code },
        );
    }
  }

  // the model grid
  let grid: Grid;
  let catchment: Catchment | null = null;
  const catchmentOf = (f: FlowDirections) => {
    try {
      return delineateCatchment(f, gauges);
    } catch (e) {
      throw naming(spec.gauges?.format === 'csv' ? 'gauges.stations' : 'gauges.path', e);
    }
  };
  if (spec.grid.from === 'catchment') {
    catchment = catchmentOf(flow);
    grid = catchment.grid;
  } else {
    if (spec.grid.from === 'raster') {
      const r = await readRaster(spec.grid.path, 1, crs, 'grid.path');
      grid = { ...r.grid, crs: r.grid.crs ?? crs, mask: null };
    } else {
      if (!spec.grid.geometry) refuse('grid.geometry', 'a study-area grid needs the study area geometry');
      grid = studyAreaGrid(spec.grid.geometry, spec.grid.crs, spec.grid.cellSize);
    }
    if (gauges.length) {
      catchment = catchmentOf(flow);
      // cut to the catchment: only its cells are modelled (the full raster would be written for nothing)
      const inGrid = planAlign(
        catchment.grid,
        grid,
        'nearest',
        spec.grid.from === 'raster' ? 'grid.path' : 'grid.cellSize',
      );
      if (inGrid.align !== 'same-grid' && inGrid.align !== 'window')
        refuse(
          spec.grid.from === 'raster' ? 'grid.path' : 'grid.cellSize',
          "is not on the flow directions' lattice",
        );
      // the catchment's cells (1, the rest NaN) carried onto the chosen grid: those that land on it
      const onGrid = inGrid.apply(Float64Array.from(catchment.grid.mask!, (m) => (m ? 1 : Number.NaN)));
      let n = 0;
      for (const v of onGrid) if (v === 1) n++;
      if (n < catchment.cells)
        refuse(
          spec.grid.from === 'raster' ? 'grid.path' : 'grid.geometry',
          `the model grid leaves ${catchment.cells - n} of the catchment's ${catchment.cells} cells outside`,
        );
      grid = catchment.grid;
    }
  }
  const modelFlow = flowOnGrid(flow, { ...grid, mask: null }, 'flowdir.path');
  if (catchment) {
    // the catchment on the model grid, delineated again from its own flow directions (the loader's view)
    const again = delineateCatchment(
      modelFlow,
      catchment.gauges.map((s) => ({
        code: s.code,
        x: grid.x0 + (s.col + 0.5) * grid.dx,
        y: grid.y0 - (s.row + 0.5) * grid.dy,
        areaKm2: s.areaKm2,
      })),
      0,
    );
    if (again.cells !== catchment.cells)
      throw new FieldcalError(
        'INTERNAL',
        `the catchment lost cells on the model grid (${again.cells} of ${catchment.cells})`,
      );
    for (const s of catchment.gauges)
      if (s.areaError !== null && s.areaError > 0.2)
        warnings.push(
          `gauge ${s.code}: drained area ${s.drainedKm2.toFixed(0)} km² on the flow directions vs ${s.areaKm2} km² declared`,
        );
  }
  const mask = catchment?.grid.mask ?? null;
  const inputs: AssembledInput[] = [
    {
      role: 'flowdir',
      source: spec.flowdir.path,
      format: /\.asc$/i.test(spec.flowdir.path) ? 'ascii-grid' : 'geotiff',
      unitsFrom: null,
      unitsTo: `D8 (${flow.convention} codes read; smash codes written)`,
      scale: 1,
      offset: 0,
      stepFrom: 'static',
      timeRule: 'none',
      align: planAlign(flow.grid, grid, 'nearest', 'flowdir.path').align,
    },
  ];
  checkCancel();

  // descriptors: read, aligned, covering the catchment
  const descriptors: Array<{ name: string; values: Float64Array }> = [];
  for (const [i, d] of spec.descriptors.entries()) {
    const field = `descriptors[${i}].path`;
    const r = await readRaster(d.path, d.band, spec.crs ?? null, field);
    const plan = planAlign(r.grid, grid, spec.align, field);
    const v = plan.apply(r.values);
    const miss = uncovered(v, mask);
    if (miss > 0)
      refuse(field, `${d.path} leaves ${miss} cells of the catchment without a value`, 'INCONSISTENT_DATA', {
        file: d.path,
      });
    descriptors.push({ name: d.name, values: v });
    inputs.push({
      role: `descriptor.${d.name}`,
      source: d.path,
      format: r.format,
      unitsFrom: r.units,
      unitsTo: r.units ?? 'as read',
      scale: 1,
      offset: 0,
      stepFrom: 'static',
      timeRule: 'none',
      align: plan.align,
    });
    progress(`descriptor ${d.name}`, 0.05);
  }

  // stacks: forcing at the model step, targets at their own step
  const planned: PlannedStack[] = [];
  const period = { start, end };
  const openSource = async (source: AssembleSpec['forcing'][number]['source'], field: string) => {
    await mustExist(source.path, `${field}.path`, source.format === 'folder');
    try {
      return await openStackSource(source, { crs: spec.crs ?? null, period });
    } catch (e) {
      throw naming(`${field}.path`, e);
    }
  };
  const when = (d: Date) =>
    spec.step === 'hourly' ? d.toISOString().slice(0, 16) : d.toISOString().slice(0, 10);
  for (const [i, f] of spec.forcing.entries()) {
    const field = `forcing[${i}].source`;
    const raw = await openSource(f.source, field);
    if (!raw.grid.crs)
      refuse(`${field}.path`, `${f.source.path} carries no CRS; give the dataset crs`, 'VALIDATION');
    const quantity = f.variable === 'temp' ? 'temperature' : 'flux';
    const unitsFrom = f.units ?? raw.units ?? null;
    const { stack, conversion } = convertedStack(raw, quantity, unitsFrom, `forcing[${i}].units`);
    if (!f.units && !raw.units)
      warnings.push(
        `forcing ${f.variable}: no units given or in the file; taken as ${conversion.to}${quantity === 'flux' ? ' per source step' : ''}`,
      );
    const rule = f.rule ?? (f.variable === 'temp' ? 'mean' : 'sum');
    let stepped: SteppedStack;
    try {
      stepped = toModelStep(stack, { step: spec.step, dates, rule });
    } catch (e) {
      throw naming(`${field}.path`, e);
    }
    if (stepped.missing.length) {
      const first = raw.steps[0]?.time;
      const last = raw.steps.at(-1)?.time;
      refuse(
        `${field}.path`,
        `${f.source.path} has no ${f.variable} for ${when(dates[stepped.missing[0]!]!)}${stepped.missing.length > 1 ? ` and ${stepped.missing.length - 1} more model steps` : ''} of ${spec.start} .. ${spec.end} (it holds ${first ? when(first) : '?'} .. ${last ? when(last) : '?'})`,
        'INCONSISTENT_DATA',
        { file: f.source.path, missing: stepped.missing.length },
      );
    }
    const plan = planStack(raw, grid, spec.align, `${field}.path`);
    planned.push({
      role: `forcing.${f.variable}`,
      sub: f.variable,
      field: `${field}.path`,
      stepped,
      plan,
      own: null,
      complete: true,
      input: {
        role: `forcing.${f.variable}`,
        source: f.source.path,
        format: f.source.format,
        unitsFrom: conversion.from,
        unitsTo: conversion.to,
        scale: conversion.scale,
        offset: conversion.offset,
        stepFrom: stepped.stepFrom,
        timeRule: stepped.timeRule,
        align: plan.align,
      },
    });
  }
  const targetSteps: Record<string, TimeStep> = {};
  for (const [i, t] of spec.targets.entries()) {
    const field = `targets[${i}].source`;
    const raw = await openSource(t.source, field);
    if (!raw.grid.crs)
      refuse(`${field}.path`, `${t.source.path} carries no CRS; give the dataset crs`, 'VALIDATION');
    const quantity = t.variable === 'sm' ? 'moisture' : 'flux';
    const { stack, conversion } = convertedStack(
      raw,
      quantity,
      t.units ?? raw.units ?? null,
      `targets[${i}].units`,
    );
    const plan = planStack(raw, grid, spec.align, `${field}.path`);
    const inPeriod = raw.steps.filter((s) => s.time >= start && s.time <= end);
    const monthly = raw.step === 'monthly';
    const firstMonth = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1);
    const overlapping = monthly
      ? raw.steps.filter((s) => s.time.getTime() >= firstMonth && s.time <= end)
      : inPeriod;
    if (overlapping.length === 0)
      refuse(
        `${field}.path`,
        `${t.source.path} has no ${t.variable} in ${spec.start} .. ${spec.end}`,
        'INCONSISTENT_DATA',
        {
          file: t.source.path,
        },
      );
    const base = {
      role: `target.${t.variable}`,
      source: t.source.path,
      format: t.source.format,
      unitsFrom: conversion.from,
      unitsTo: conversion.to,
      scale: conversion.scale,
      offset: conversion.offset,
      align: plan.align,
    };
    if (monthly) {
      // compared at its own step: one field per month, the simulation averaged (sm) or summed (et) over it
      targetSteps[t.variable] = 'monthly';
      const idx = raw.steps
        .map((s, k) => ({ s, k }))
        .filter(({ s }) => s.time.getTime() >= firstMonth && s.time <= end);
      planned.push({
        role: base.role,
        sub: t.variable,
        field: `${field}.path`,
        stepped: toModelStep(stack, { step: spec.step, dates: [], rule: 'mean' }),
        plan,
        own: { dates: idx.map(({ s }) => s.time), read: (k) => stack.read(idx[k]!.k) },
        complete: false,
        input: { ...base, stepFrom: 'monthly', timeRule: 'own-step' },
      });
      continue;
    }
    if ((raw.stepSeconds || S) > S)
      refuse(
        `${field}.path`,
        `${t.source.path} is at a step of ${raw.stepSeconds} s, coarser than the model's ${spec.step} step; only monthly targets are compared at their own step`,
      );
    let stepped: SteppedStack;
    try {
      stepped = toModelStep(stack, { step: spec.step, dates, rule: t.variable === 'sm' ? 'mean' : 'sum' });
    } catch (e) {
      throw naming(`${field}.path`, e);
    }
    targetSteps[t.variable] = spec.step;
    planned.push({
      role: base.role,
      sub: t.variable,
      field: `${field}.path`,
      stepped,
      plan,
      own: null,
      complete: false,
      input: { ...base, stepFrom: stepped.stepFrom, timeRule: stepped.timeRule },
    });
  }
  // forcing covers the catchment (first model step; the others are checked as they are written)
  for (const p of planned.filter((x) => x.complete)) {
    const v = p.plan.apply(await p.stepped.read(0));
    const miss = uncovered(v, mask);
    if (miss > 0)
      refuse(
        p.field,
        `${p.input.source} leaves ${miss} cells of the catchment without a value on ${when(dates[0]!)}`,
        'INCONSISTENT_DATA',
        {
          file: p.input.source,
        },
      );
    if (p.sub === 'temp' && p.input.unitsTo === '°C') {
      let max = -Infinity;
      for (const x of v) if (x > max) max = x;
      if (max > 100)
        refuse(
          p.field.replace(/\.source\.path$/, '.units'),
          `temperatures up to ${max.toFixed(1)} °C look like kelvin; give units K`,
        );
    }
  }
  // gauges' discharge on the model steps
  const qobs = gauges.map((s) => ({ s, q: dischargeOnSteps(s, spec.gauges!.units, dates, S) }));
  // a smash qobs file has a start date and no step: its values are taken at the model step, so a
  // daily file in an hourly dataset is read as hours (22 645 days from 1958 end in 1961)
  const undated = gauges.filter((s) => s.series && s.series.stepFrom === 'given' && !s.declaredStep);
  const undatedNote =
    S !== 86400 && undated.length
      ? `; ${undated.map((s) => s.code).join(', ')}: a smash qobs file has a start date only, its values are taken as ${stepWords(S)} (the model step); daily discharge needs a daily dataset, or the gauges as CSV with a date on each row`
      : '';
  if (qobs.length && qobs.every(({ q }) => !q.some(Number.isFinite))) {
    const spans = gauges
      .filter((s) => s.series)
      .map((s) => {
        const a = s.series!.start.getTime();
        const b = a + (s.series!.values.length - 1) * s.series!.stepSeconds * 1000;
        const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
        return `${s.code} ${iso(a)} .. ${iso(b)} (${stepWords(s.series!.stepSeconds)})`;
      });
    refuse(
      spec.gauges!.format === 'csv' ? 'gauges.series' : 'gauges.path',
      `no gauge has discharge in ${spec.start} .. ${spec.end}${spans.length ? ` (the series cover: ${spans.join('; ')})` : ''}${undatedNote}`,
      'INCONSISTENT_DATA',
    );
  }
  if (undatedNote) warnings.push(`gauges${undatedNote}`);
  for (const { s, q } of qobs)
    if (!q.some(Number.isFinite)) warnings.push(`gauge ${s.code}: no discharge in the period`);
  if (gauges.length)
    inputs.push({
      role: 'gauges',
      source: spec.gauges!.format === 'smash' ? spec.gauges!.path : spec.gauges!.series,
      format: spec.gauges!.format,
      unitsFrom: spec.gauges!.units,
      unitsTo: 'm3/s',
      scale: spec.gauges!.units === 'l/s' ? 1e-3 : 1,
      offset: 0,
      stepFrom: gauges.find((g) => g.series)?.series
        ? `${gauges.find((g) => g.series)!.series!.stepSeconds} s`
        : 'none',
      timeRule: gauges.some((g) => g.series && g.series.stepSeconds < S)
        ? 'mean'
        : gauges.some((g) => g.series && g.series.stepSeconds > S)
          ? 'disaggregate'
          : 'none',
      align: 'same-grid',
    });
  inputs.push(...planned.map((p) => p.input));
  checkCancel();

  const manifest = await writeFolderAtomically(out, async (tmp) => {
    const full: Grid = { ...grid, mask: null };
    const codes = Float64Array.from(modelFlow.dir, (d) => (d < 0 ? Number.NaN : d + 1));
    await writeGeoTiff({
      path: join(tmp, 'flowdir.tif'),
      grid: full,
      bands: [{ data: codes, description: 'D8 flow directions (smash codes 1..8 clockwise from north)' }],
    });
    await mkdir(join(tmp, 'descriptor'));
    for (const d of descriptors)
      await writeGeoTiff({
        path: join(tmp, 'descriptor', `${d.name}.tif`),
        grid: full,
        bands: [{ data: d.values }],
      });
    const total = planned.reduce((a, p) => a + (p.own ? p.own.dates.length : dates.length), 0) || 1;
    let written = 0;
    for (const p of planned) {
      const n = p.own ? p.own.dates.length : dates.length;
      for (let t = 0; t < n; t++) {
        checkCancel();
        const date = p.own ? p.own.dates[t]! : dates[t]!;
        const v = p.plan.apply(p.own ? await p.own.read(t) : await p.stepped.read(t));
        if (p.complete) {
          const miss = uncovered(v, mask);
          if (miss > 0)
            refuse(
              p.field,
              `${p.input.source} has no value on ${when(date)} in ${miss} cells of the catchment`,
              'INCONSISTENT_DATA',
              {
                file: p.input.source,
              },
            );
        }
        const y = String(date.getUTCFullYear());
        const m = String(date.getUTCMonth() + 1).padStart(2, '0');
        await mkdir(join(tmp, p.sub, y, m), { recursive: true });
        await writeGeoTiff({
          path: join(tmp, p.sub, y, m, `${stamp(date)}_${p.sub}.tif`),
          grid: full,
          bands: [{ data: v }],
        });
        written++;
        if (written % 10 === 0 || written === total) progress(p.role, 0.1 + (0.85 * written) / total);
      }
    }
    if (gauges.length && catchment) {
      const lines = ['code,x,y,area'];
      for (const s of catchment.gauges) {
        // at the centre of the cell it was snapped to: the loader finds the same cell without searching
        const x = grid.x0 + (s.col + 0.5) * grid.dx;
        const y = grid.y0 - (s.row + 0.5) * grid.dy;
        lines.push(`${s.code},${x},${y},${s.areaKm2 ?? ''}`);
      }
      await writeFile(join(tmp, 'gauge_attributes.csv'), `${lines.join('\n')}\n`);
      await mkdir(join(tmp, 'qobs'));
      for (const { s, q } of qobs) {
        const body = Array.from(q, (v) => (Number.isFinite(v) ? String(v) : '-99')).join('\n');
        await writeFile(join(tmp, 'qobs', `${s.code}.csv`), `${stamp(start)}\n${body}\n`);
      }
    }
    const manifest = datasetManifestSchema.parse({
      format: 'fieldcal-dataset',
      version: 1,
      name: spec.name,
      step: spec.step,
      stepSeconds: S,
      start: start.toISOString(),
      end: end.toISOString(),
      crs,
      grid: { x0: grid.x0, y0: grid.y0, dx: grid.dx, dy: grid.dy, rows: grid.rows, cols: grid.cols },
      flowdir: 'flowdir.tif',
      targets: targetSteps,
      inputs,
      createdAt: new Date().toISOString(),
      createdBy: 'fieldcal assemble',
    } satisfies DatasetManifest);
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    checkCancel();
    progress('saving', 0.97);
    return manifest;
  });
  progress('done', 1);
  return { path: out, manifest, warnings, steps: dates.length, grid };
}

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { jobSpecSchema, prototypeKeyIssues, type FieldcalError, type JobSpec } from '../../../src-shared/ipc';
import { issuePath } from '../calibration/gridded/options';
import { dailyDates, stepPeriods, utcDay } from '../calibration/gridded/periods';
import { delineateCatchment, type Catchment } from '../grid/catchment';
import { decodeD8 } from '../grid/flowdir';
import { readSmashGauges, seriesWindow, type Gauge } from '../grid/gauges';
import { cellsInside } from '../grid/studyArea';
import { readManifest } from '../datasets/smashDataset';
import { GeoTiffRaster } from '../rasters/geotiff';
import { dateFromName, gridOfRaster } from '../rasters/stack';
import { lumpedDataIssues } from './lumpedJob';
import { basinsDataIssues } from './basinsJob';
import { fieldIssue, specIssues, type Issue } from './specs';

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Everything that can be checked about a job before it runs, nothing recorded: the shared schema
 * (the spec as it crosses IPC), main's checks ({@link specIssues}: method, options, bounds, periods
 * against the dataset's dates) and the data ({@link dataIssues}). Paths are dotted as zod's.
 * Returns the spec with its options parsed when the schema accepted it.
 */
export async function checkJob(input: unknown): Promise<{ issues: Issue[]; spec: JobSpec | null }> {
  const proto = prototypeKeyIssues(input);
  if (proto.length)
    return { issues: proto.map((i) => ({ path: i.path.join('.'), message: i.message })), spec: null };
  const r = jobSpecSchema.safeParse(input);
  if (!r.success)
    return { issues: r.error.issues.map((i) => ({ path: issuePath(i), message: i.message })), spec: null };
  return checkParsedJob(r.data);
}

/** {@link checkJob} for a spec that already passed the shared schema (jobs.submit over IPC). */
export async function checkParsedJob(spec: JobSpec): Promise<{ issues: Issue[]; spec: JobSpec }> {
  const main = specIssues(spec);
  const data = await dataIssues(main.spec);
  const seen = new Set<string>();
  const issues = [...main.issues, ...data].filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  return { issues, spec: main.spec };
}

/** The days (YYYY-MM-DD) of the dated GeoTIFFs under a folder (subfolders too); null when it is no folder. */
async function datedDays(dir: string): Promise<Set<string> | null> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) return null;
  const days = new Set<string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (/\.tiff?$/i.test(e.name)) {
        const t = dateFromName(e.name);
        if (t) days.add(t.toISOString().slice(0, 10));
      }
    }
  };
  await walk(dir);
  return days;
}

/**
 * The model step of a dataset folder, from names and headers only: its manifest's step (an assembled
 * dataset), else the smallest step between the dates in prcp/'s file names, else daily.
 */
export async function modelStepOf(dir: string): Promise<number> {
  const manifest = await readManifest(dir).catch(() => null);
  if (manifest) return manifest.stepSeconds;
  const times: number[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (/\.tiff?$/i.test(e.name)) {
        const t = dateFromName(e.name);
        if (t) times.push(t.getTime());
      }
    }
  };
  await walk(join(dir, 'prcp'));
  times.sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < times.length; i++)
    if (times[i]! > times[i - 1]!) step = Math.min(step, times[i]! - times[i - 1]!);
  return step === 3_600_000 ? 3600 : 86400;
}

const range = (days: Set<string>) => {
  const sorted = [...days].sort();
  return { first: sorted[0]!, last: sorted.at(-1)! };
};

/** Catchments delineated for study-area checks, by flow file, its and the gauge file's modification times. */
const catchments = new Map<string, Catchment>();

export async function catchmentOf(
  flowFile: string,
  crs: string,
  dir: string,
  gauges: Gauge[],
): Promise<Catchment> {
  const [a, b] = await Promise.all([stat(flowFile), stat(join(dir, 'gauge_attributes.csv'))]);
  const key = `${flowFile}|${a.mtimeMs}|${b.mtimeMs}|${crs}`;
  const hit = catchments.get(key);
  if (hit) return hit;
  const fd = await GeoTiffRaster.open(flowFile);
  try {
    const grid = gridOfRaster(fd.info, crs);
    const whole: [number, number, number, number] = [0, 0, grid.cols, grid.rows];
    const delineate = async (w: [number, number, number, number]) => {
      const sub = {
        ...grid,
        x0: grid.x0 + w[0] * grid.dx,
        y0: grid.y0 - w[1] * grid.dy,
        cols: w[2] - w[0],
        rows: w[3] - w[1],
      };
      const values = w === whole ? await fd.readBandValues(0) : await fd.readWindowValues(0, w);
      return delineateCatchment(decodeD8(sub, values, 'auto', flowFile), gauges);
    };
    // a catchment of n cells lies within n cells of its outlet: with declared areas, only a window
    // around the gauges is read (national flow-direction rasters are large); the result is kept when
    // it is exact (off the window's edge, every gauge snapped to within half its declared area)
    let c: Catchment | null = null;
    const cellKm2 = (grid.dx * grid.dy) / 1e6;
    if (gauges.every((g) => g.areaKm2 !== null)) {
      const reach = Math.ceil((1.5 * Math.max(...gauges.map((g) => g.areaKm2!))) / cellKm2) + 4;
      const cols = gauges.map((g) => Math.floor((g.x - grid.x0) / grid.dx));
      const rows = gauges.map((g) => Math.floor((grid.y0 - g.y) / grid.dy));
      const w: [number, number, number, number] = [
        Math.max(0, Math.min(...cols) - reach),
        Math.max(0, Math.min(...rows) - reach),
        Math.min(grid.cols, Math.max(...cols) + reach + 1),
        Math.min(grid.rows, Math.max(...rows) + reach + 1),
      ];
      if (w[0] < w[2] && w[1] < w[3] && (w[2] - w[0]) * (w[3] - w[1]) < grid.rows * grid.cols) {
        const part = await delineate(w);
        const g = part.grid;
        const c0 = Math.round((g.x0 - grid.x0) / grid.dx);
        const r0 = Math.round((grid.y0 - g.y0) / grid.dy);
        const inside =
          (c0 > w[0] || w[0] === 0) &&
          (r0 > w[1] || w[1] === 0) &&
          (c0 + g.cols < w[2] || w[2] === grid.cols) &&
          (r0 + g.rows < w[3] || w[3] === grid.rows);
        if (inside && part.gauges.every((s) => s.areaError !== null && s.areaError < 0.5)) c = part;
      }
    }
    c ??= await delineate(whole);
    catchments.set(key, c);
    for (const k of catchments.keys()) if (catchments.size > 4) catchments.delete(k);
    return c;
  } finally {
    await fd.close();
  }
}

/**
 * What a job's dataset folder must hold for the job to run, checked cheaply (file names and
 * headers, the gauge CSVs; no forcing raster is read): the folder; prcp/ and pet/ with a file for
 * every day of dataset.start .. dataset.end; descriptor/ GeoTIFFs; the flow directions with a CRS;
 * gauge_attributes.csv; the target stack (et/ or sm/) of a gridded job with files in the period;
 * qobs/ and observations in the calibration period for each calibrated gauge of a gauge job; known
 * gauge codes; named periods inside the data; a study area holding active cells of the catchment
 * (and a calibrated gauge, for a gauge job).
 */
export async function dataIssues(spec: JobSpec): Promise<Issue[]> {
  if (spec.kind === 'lumped') return lumpedDataIssues(spec);
  if (spec.kind === 'basins') return basinsDataIssues(spec);
  if (!spec.dataset) return [];
  const ds = spec.dataset;
  const dir = ds.path;
  const st = await stat(dir).catch(() => null);
  if (!st) return [{ path: 'dataset.path', message: `${dir} does not exist` }];
  if (!st.isDirectory())
    return [
      {
        path: 'dataset.path',
        message: `${dir} is not a folder (a smash-layout dataset is a folder with prcp/, pet/, descriptor/, gauge_attributes.csv and flow directions)`,
      },
    ];
  const issues: Issue[] = [];
  const start = ds.start;
  const end = ds.end;

  // forcing: a file for every day of the period, in both stacks
  const spans: Array<{ first: string; last: string }> = [];
  for (const [sub, what] of [
    ['prcp', 'daily precipitation'],
    ['pet', 'daily potential evapotranspiration'],
  ] as const) {
    const days = await datedDays(join(dir, sub));
    if (days === null) {
      issues.push({ path: 'dataset.path', message: `${dir} has no ${sub}/ folder (${what} GeoTIFFs)` });
      continue;
    }
    if (days.size === 0) {
      issues.push({
        path: 'dataset.path',
        message: `${sub}/ holds no GeoTIFF with a date (YYYYmmdd) in its name`,
      });
      continue;
    }
    const r = range(days);
    spans.push(r);
    const missing = dailyDates(start > r.first ? start : r.first, end < r.last ? end : r.last)
      .map((d) => d.toISOString().slice(0, 10))
      .filter((d) => !days.has(d));
    if (missing.length)
      issues.push({
        path: 'dataset',
        message: `${sub}/ has no file for ${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more days` : ''} of ${start} .. ${end}`,
      });
  }
  // the days both stacks cover
  const data = spans.length
    ? {
        first: spans.map((r) => r.first).reduce((a, b) => (b > a ? b : a)),
        last: spans.map((r) => r.last).reduce((a, b) => (b < a ? b : a)),
      }
    : null;
  if (data) {
    if (start < data.first)
      issues.push({
        path: 'dataset.start',
        message: `${start} is before the forcing data (prcp/ and pet/: ${data.first} .. ${data.last})`,
      });
    if (end > data.last)
      issues.push({
        path: 'dataset.end',
        message: `${end} is after the forcing data (prcp/ and pet/: ${data.first} .. ${data.last})`,
      });
    // named periods against the data's dates (against dataset.start .. end in specIssues)
    if (spec.periods && data.first <= data.last)
      try {
        stepPeriods(spec.periods, dailyDates(data.first, data.last));
      } catch (e) {
        issues.push(fieldIssue(e, 'periods'));
      }
  }

  // descriptors
  const descriptors = await readdir(join(dir, 'descriptor')).catch(() => null);
  if (!descriptors?.some((f) => /\.tiff?$/i.test(f)))
    issues.push({
      path: 'dataset.path',
      message: `${dir} has no descriptor/ folder with GeoTIFFs (the physical descriptors of the cells)`,
    });

  // flow directions and their CRS (an assembled dataset's manifest names them)
  let manifest: Awaited<ReturnType<typeof readManifest>> = null;
  try {
    manifest = await readManifest(dir);
  } catch (e) {
    issues.push({ path: 'dataset.path', message: (e as Error).message });
  }
  let flowFile: string | null = null;
  let crs: string | null = ds.crs ?? null;
  if (ds.flowdir) {
    const f = join(dir, ds.flowdir);
    if (!(await stat(f).catch(() => null))?.isFile())
      issues.push({ path: 'dataset.flowdir', message: `${f} does not exist` });
    else flowFile = f;
  } else if (manifest) {
    // an assembled dataset names its flow directions in its manifest
    flowFile = join(dir, manifest.flowdir);
    crs = crs ?? manifest.crs;
  } else {
    const top = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && /\.tiff?$/i.test(e.name))
      .map((e) => e.name);
    if (top.length !== 1)
      issues.push({
        path: 'dataset.flowdir',
        message: `expected one flow-direction GeoTIFF at the top level of ${dir}, found ${top.length ? top.join(', ') : 'none'}; name it in dataset.flowdir`,
      });
    else flowFile = join(dir, top[0]!);
  }
  if (flowFile)
    try {
      const fd = await GeoTiffRaster.open(flowFile);
      await fd.close();
      if (!crs && fd.info.crs.epsg !== null) crs = `EPSG:${fd.info.crs.epsg}`;
      if (!crs)
        issues.push({ path: 'dataset.crs', message: `${flowFile} has no EPSG code; give the dataset's CRS` });
    } catch (e) {
      issues.push({ path: ds.flowdir ? 'dataset.flowdir' : 'dataset.path', message: (e as Error).message });
      flowFile = null;
    }

  // gauges (every dataset: the catchment is delineated above them)
  // observed discharge is read at the dataset's model step: a dated series at another step (hourly
  // discharge beside daily forcing, or the reverse) is refused here, naming its file, before any training
  let gauges: Gauge[] | null = null;
  try {
    gauges = await readSmashGauges(dir, await modelStepOf(dir));
  } catch (e) {
    const file = (e as FieldcalError).details?.file;
    issues.push({
      path: typeof file === 'string' && /qobs/.test(file) ? 'gauges' : 'dataset.path',
      message: (e as Error).message,
    });
  }

  // the gridded target's stack
  if (spec.kind === 'gridded') {
    const sub = spec.target === 'ET' ? 'et' : 'sm';
    const what =
      spec.target === 'ET' ? 'evapotranspiration (mm per step)' : 'top-layer soil moisture (m³/m³)';
    const days = await datedDays(join(dir, sub));
    if (days === null || days.size === 0)
      issues.push({
        path: 'target',
        message: `${dir} has no ${sub}/ stack for target ${spec.target}: add dated GeoTIFFs of observed ${what} under ${sub}/, or choose another target or a gauge job`,
      });
    else if (![...days].some((d) => d >= start && d <= end))
      issues.push({
        path: 'target',
        message: `${sub}/ has no file between ${start} and ${end} (it covers ${range(days).first} .. ${range(days).last})`,
      });
  }

  // gauge jobs: observed discharge at the calibrated gauges, in the calibration period
  let calibrated: string[] = [];
  if (spec.kind === 'gauges' && gauges) {
    if (!(await stat(join(dir, 'qobs')).catch(() => null))?.isDirectory())
      issues.push({
        path: 'dataset.path',
        message: `${dir} has no qobs/ folder (observed discharge per gauge)`,
      });
    const codes = gauges.map((g) => g.code);
    (spec.gauges ?? []).forEach((c, i) => {
      if (!codes.includes(c))
        issues.push({
          path: `gauges.${i}`,
          message: `gauge ${c} is not in gauge_attributes.csv (${codes.join(', ')})`,
        });
    });
    calibrated = spec.gauges ? spec.gauges.filter((c) => codes.includes(c)) : codes;
    const train = spec.periods?.find((p) => p.name === 'train');
    const t0 = train ? train.start : day(utcDay(start).getTime() + spec.warmup * DAY);
    const t1 = train ? train.end : end;
    if (t0 <= t1)
      for (const code of calibrated) {
        const g = gauges.find((x) => x.code === code)!;
        const at = spec.gauges ? `gauges.${spec.gauges.indexOf(code)}` : 'gauges';
        const obs = g.series ? seriesWindow(g.series, utcDay(t0), utcDay(t1)) : null;
        if (!g.series)
          issues.push({ path: at, message: `gauge ${code} has no qobs/${code}.csv (observed discharge)` });
        else if (!obs!.some(Number.isFinite))
          issues.push({
            path: at,
            message: `gauge ${code} has no observed discharge in the calibration period ${t0} .. ${t1}`,
          });
      }
  }

  // a study area: active cells of the catchment inside it (and a calibrated gauge, for gauge jobs)
  if (spec.studyArea && flowFile && crs && gauges?.length) {
    let c: Catchment | null = null;
    try {
      c = await catchmentOf(flowFile, crs, dir, gauges);
    } catch (e) {
      issues.push({ path: 'dataset.path', message: (e as Error).message });
    }
    if (c) {
      let keep: Uint8Array | null = null;
      try {
        keep = cellsInside(c.grid, spec.studyArea.geometry, spec.studyArea.crs);
      } catch (e) {
        issues.push({ path: 'studyArea', message: (e as Error).message });
      }
      if (keep) {
        const g = c.grid;
        if (!keep.some((v) => v))
          issues.push({
            path: 'studyArea',
            message: `the study area holds no active cell of the catchment (its ${c.cells} cells lie in ${g.x0} .. ${g.x0 + g.cols * g.dx}, ${g.y0 - g.rows * g.dy} .. ${g.y0} in ${g.crs})`,
          });
        else if (spec.kind === 'gauges') {
          const inside = c.gauges.filter((s) => calibrated.includes(s.code) && keep[s.row * g.cols + s.col]);
          if (!inside.length)
            issues.push({
              path: 'studyArea',
              message: `no calibrated gauge (${calibrated.join(', ')}) lies inside the study area`,
            });
        }
      }
    }
  }
  return issues;
}

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FieldcalError, type Hydrograph, type ServiceImpl } from '../../../src-shared/ipc';
import { fileChecksum } from '../common/checksum';
import { alignToGrid } from '../grid/align';
import { readSmashSeries } from '../grid/gauges';
import { transformer } from '../rasters/crs';
import { openFolderStack } from '../rasters/stack';
import { findPrcp, gaugeCatchment, gaugeFolder, type GaugeCatchment } from './hydrology';
import type { GaugeRow } from './repositories/gauges';
import type { ProjectSession } from './session';
import type { ProjectStore } from './store';

const DAY_MS = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * What a gauge-discharge run writes as its `discharge-json` artifact: daily dates, simulated
 * discharge per gauge code (m³/s, null = missing), its periods and its scores per gauge and period.
 */
const dischargeArtifactSchema = z.object({
  dates: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}/, 'expected YYYY-MM-DD')),
  gauges: z.record(z.string(), z.array(z.number().nullable())),
  periods: z.array(z.object({ name: z.string(), start: z.string(), end: z.string() })).default([]),
  scores: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.number().nullable()))).default({}),
});
type DischargeArtifact = z.output<typeof dischargeArtifactSchema>;

/** Reads and checks a run's discharge artifact (checksum, JSON, shape). */
async function readDischarge(a: { path: string; checksum: string | null }): Promise<DischargeArtifact> {
  const text = await readFile(a.path, 'utf8').catch((err: Error) => {
    throw new FieldcalError('NOT_FOUND', `Discharge file ${a.path} cannot be read: ${err.message}`, {
      file: a.path,
    });
  });
  if (a.checksum) {
    const { checksum } = await fileChecksum(a.path);
    if (checksum !== a.checksum)
      throw new FieldcalError('CONFLICT', `Discharge file ${a.path} changed since the run wrote it`, {
        file: a.path,
        expected: a.checksum,
        actual: checksum,
      });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FieldcalError('INVALID_FILE', `${a.path} is not JSON: ${(err as Error).message}`, {
      file: a.path,
    });
  }
  const r = dischargeArtifactSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new FieldcalError('INVALID_FILE', `${a.path}: ${i.path.join('.') || '(root)'}: ${i.message}`, {
      file: a.path,
      field: i.path.join('.'),
    });
  }
  for (const [code, v] of Object.entries(r.data.gauges))
    if (v.length !== r.data.dates.length)
      throw new FieldcalError(
        'INVALID_FILE',
        `${a.path}: gauges.${code} has ${v.length} values for ${r.data.dates.length} dates`,
        { file: a.path, field: `gauges.${code}` },
      );
  return r.data;
}

/** Position of a gauge in lon/lat (null when its CRS is unknown or cannot be transformed). */
function lonLat(g: GaugeRow, projectCrs: string | null): [number, number] | null {
  const crs = g.crs ?? projectCrs;
  if (!crs) return null;
  try {
    const [lon, lat] = transformer(crs, 'EPSG:4326')(g.x, g.y);
    return Number.isFinite(lon) && Number.isFinite(lat) ? [lon, lat] : null;
  } catch {
    return null;
  }
}

/**
 * Catchment-mean precipitation above a gauge on each date of `days` (mm per day; NaN where the
 * stack has no step): each step's field is put on the flow-direction grid of the catchment
 * (grid/align.ts, nearest cell centre on equal cells, area-weighted when the catchment cells are
 * coarser) and averaged over the catchment's cells; steps of the same day are summed.
 */
async function catchmentRainfall(
  gc: GaugeCatchment,
  prcp: { path: string; crs: string | null },
  days: { start: number; count: number },
): Promise<Float32Array<ArrayBuffer>> {
  const stack = await openFolderStack(prcp.path, { crs: prcp.crs ?? gc.flow.grid.crs });
  const grid = gc.catchment.grid;
  const mask = grid.mask!;
  const out = new Float32Array(days.count).fill(Number.NaN);
  const sums = new Float64Array(days.count);
  const seen = new Uint8Array(days.count);
  for (let i = 0; i < stack.steps.length; i++) {
    const t = stack.steps[i]!.time.getTime();
    const k = Math.floor((t - days.start) / DAY_MS);
    if (k < 0 || k >= days.count) continue;
    const { values } = alignToGrid(stack.grid, await stack.read(i), grid);
    let sum = 0;
    let n = 0;
    for (let c = 0; c < mask.length; c++) {
      if (!mask[c] || Number.isNaN(values[c]!)) continue;
      sum += values[c]!;
      n++;
    }
    if (n === 0) continue;
    sums[k]! += sum / n;
    seen[k] = 1;
  }
  for (let k = 0; k < days.count; k++) if (seen[k]) out[k] = sums[k]!;
  return out;
}

/** Simulated discharge of each asked run at a gauge, put on the observed dates. */
function simulatedAt(
  store: ProjectStore,
  code: string,
  runIds: number[] | undefined,
  days: { start: number; count: number },
): Promise<Hydrograph['simulated']> {
  const runs = (runIds ?? store.runs.list().map((r) => r.id)).map((id) => store.runs.get(id));
  const withArtifact = runs
    .map((run) => ({ run, art: store.runs.artifacts(run.id).findLast((a) => a.kind === 'discharge-json') }))
    .filter((x) => x.art !== undefined)
    // without an explicit list, the 16 latest runs that have one
    .slice(runIds ? 0 : -16);
  return Promise.all(
    withArtifact.map(async ({ run, art }) => {
      const d = await readDischarge(art!);
      const sim = d.gauges[code];
      if (!sim) return null;
      const values = new Float32Array(days.count).fill(Number.NaN);
      d.dates.forEach((date, i) => {
        const t = Date.parse(`${date.slice(0, 10)}T00:00:00Z`);
        const k = Math.round((t - days.start) / DAY_MS);
        const v = sim[i];
        if (k >= 0 && k < days.count && v !== null && v !== undefined) values[k] = v;
      });
      return {
        runId: run.id,
        name: run.name,
        values,
        periods: d.periods.map((p) => ({
          name: p.name,
          start: p.start.slice(0, 10),
          end: p.end.slice(0, 10),
        })),
        scores: d.scores[code] ?? {},
      };
    }),
  ).then((list) => list.filter((x): x is NonNullable<typeof x> => x !== null));
}

/** The gauges service: the project's gauges in lon/lat, and hydrographs at one gauge. */
export function createGaugesService(session: ProjectSession): ServiceImpl<'gauges'> {
  return {
    list: () => {
      const store = session.require('gauges.list');
      const crs = store.info().crs;
      return store.gauges.list().map((g) => {
        const ll = lonLat(g, crs);
        return {
          id: g.id,
          datasetId: g.datasetId,
          code: g.code,
          name: g.name,
          x: g.x,
          y: g.y,
          crs: g.crs ?? crs,
          lon: ll?.[0] ?? null,
          lat: ll?.[1] ?? null,
          areaKm2: g.areaKm2,
        };
      });
    },
    hydrograph: async ({ gaugeId, runIds }) => {
      const store = session.require('gauges.hydrograph');
      const g = store.gauges.get(gaugeId);
      for (const id of runIds ?? []) store.runs.get(id);
      const folder = gaugeFolder(store, g);
      const file = join(folder, 'qobs', `${g.code}.csv`);
      if (!(await stat(file).catch(() => null))?.isFile())
        throw new FieldcalError('NOT_FOUND', `No observed discharge for gauge ${g.code}: ${file} not found`, {
          file,
          gauge: g.code,
        });
      const series = await readSmashSeries(file, 86_400);
      const start = Date.UTC(
        series.start.getUTCFullYear(),
        series.start.getUTCMonth(),
        series.start.getUTCDate(),
      );
      const days = { start, count: series.values.length };
      const dates = Array.from({ length: days.count }, (_, k) => isoDay(start + k * DAY_MS));
      const observed = Float32Array.from(series.values);

      const [gc, prcp] = await Promise.all([gaugeCatchment(store, g), findPrcp(store, folder)]);
      const rainfall =
        gc && prcp
          ? await catchmentRainfall(gc, { path: prcp.path, crs: prcp.dataset?.crs ?? null }, days)
          : null;
      const simulated = await simulatedAt(store, g.code, runIds, days);
      return { gaugeId: g.id, code: g.code, dates, observed, rainfall, simulated, units: 'm3/s' };
    },
  };
}

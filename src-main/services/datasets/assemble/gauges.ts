import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import { STEP_SECONDS, type AssembleSpec } from '../../../../src-shared/types/assemble';
import { readTextFile } from '../../common/safeFile';
import { readGaugeCsv, readSmashGauges, type Gauge, type Series } from '../../grid/gauges';
import { transformer } from '../../rasters/crs';
import { mustExist, naming, refuse } from './inputs';

/** A gauge as the assembler reads it: position in the flow directions' CRS, area, discharge in `units`. */
export interface GaugeInput {
  code: string;
  x: number;
  y: number;
  areaKm2: number | null;
  series: Series | null;
  /** The field naming the file the gauge came from (for errors). */
  field: string;
  /** The series' step was declared (smash `step`): a coarser one is spread over the model steps. */
  declaredStep?: boolean;
}

/** Splits one CSV line on its separator, unquoting fields. */
const splitCsv = (line: string, sep: string) => line.split(sep).map((f) => f.trim().replace(/^"|"$/g, ''));

/**
 * Reads the gauges of the spec: a smash folder (gauge_attributes.csv + qobs/<code>.csv, one value per
 * model step as smash writes them) or a stations CSV (columns named by the user) with series in a
 * folder of `<code>.csv` or in one wide CSV (a date column, one column per code). Positions are
 * brought to `crs` (the flow directions') when the stations' CRS differs.
 */
export async function readGaugeInputs(
  g: NonNullable<AssembleSpec['gauges']>,
  crs: string,
  stepSeconds: number,
): Promise<GaugeInput[]> {
  if (g.format === 'smash') {
    await mustExist(g.path, 'gauges.path', true);
    let list: Gauge[];
    try {
      // qobs files hold no step: read at the declared one, else at the model's (smash's reading)
      list = await readSmashGauges(g.path, g.step ? STEP_SECONDS[g.step] : stepSeconds);
    } catch (e) {
      throw naming('gauges.path', e);
    }
    if (list.length === 0) refuse('gauges.path', `${g.path}/gauge_attributes.csv lists no gauge`);
    return list.map((x) => ({ ...x, field: 'gauges.path', declaredStep: g.step !== undefined }));
  }
  await mustExist(g.stations, 'gauges.stations');
  const text = await readTextFile(g.stations).catch((e: unknown) => {
    throw naming('gauges.stations', e);
  });
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const sep = [',', ';', '\t'].find((s) => lines[0]?.includes(s)) ?? ',';
  const header = splitCsv(lines[0] ?? '', sep);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0)
      refuse(
        'gauges.columns',
        `${g.stations} has no column "${name}" (columns: ${header.join(', ')})`,
        'VALIDATION',
        {
          file: g.stations,
        },
      );
    return i;
  };
  const [ci, xi, yi] = [col(g.columns.code), col(g.columns.x), col(g.columns.y)];
  const ai = header.indexOf(g.columns.area);
  const toCrs = g.crs && g.crs !== crs ? transformer(g.crs, crs) : null;
  const out: GaugeInput[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = splitCsv(lines[i]!, sep);
    const code = f[ci] ?? '';
    const x = Number(f[xi]);
    const y = Number(f[yi]);
    const area = ai >= 0 ? Number(f[ai]) : Number.NaN;
    if (!code || !Number.isFinite(x) || !Number.isFinite(y))
      throw new FieldcalError(
        'INVALID_FILE',
        `gauges.stations: ${g.stations}, line ${i + 1}: "${lines[i]}" has no code, x, y`,
        {
          field: 'gauges.stations',
          file: g.stations,
          line: i + 1,
        },
      );
    if (out.some((o) => o.code === code))
      refuse('gauges.stations', `${g.stations}, line ${i + 1}: gauge ${code} appears twice`);
    const [px, py] = toCrs ? toCrs(x, y) : [x, y];
    out.push({ code, x: px, y: py, areaKm2: area > 0 ? area : null, series: null, field: 'gauges.stations' });
  }
  if (out.length === 0) refuse('gauges.stations', `${g.stations} lists no gauge`);
  const st = await stat(g.series).catch(() => null);
  if (!st) refuse('gauges.series', `${g.series} does not exist`, 'NOT_FOUND', { file: g.series });
  const unit = g.units === 'mm' ? 'mm' : 'm3/s';
  if (st.isDirectory()) {
    const files = new Set(await readdir(g.series));
    for (const s of out) {
      const name = files.has(`${s.code}.csv`) ? `${s.code}.csv` : null;
      if (!name) continue;
      try {
        s.series = await readGaugeCsv(join(g.series, name), { unit });
      } catch (e) {
        throw naming('gauges.series', e);
      }
    }
  } else {
    for (const s of out) {
      try {
        s.series = await readGaugeCsv(g.series, { valueColumn: s.code, unit });
      } catch (e) {
        // a code without a column in the wide CSV has no observations; any other problem is the file's
        if (e instanceof FieldcalError && /no column named/.test(e.message)) continue;
        throw naming('gauges.series', e);
      }
    }
  }
  return out;
}

/** The factor from a gauge's declared units to m³/s, for values at a step of `ds` seconds. */
function toM3s(s: GaugeInput, units: 'm3/s' | 'l/s' | 'mm', ds: number): number {
  if (units === 'l/s') return 1e-3;
  if (units !== 'mm') return 1;
  if (!(s.areaKm2 && s.areaKm2 > 0))
    refuse(s.field, `gauge ${s.code}: discharge in mm needs its area in km² to become m³/s`);
  // mm over the basin in one step to m³/s: Q = mm · A[km²] · 10³ / Δt
  return (s.areaKm2! * 1e3) / ds;
}

/**
 * A gauge's discharge on the model steps `dates`, in m³/s (smash's qobs unit): converted from the
 * declared units (l/s; mm per source step over the gauge's area: Q = mm · A · 10³ / Δt), finer
 * series averaged over each model step (a rate's mean; a step missing any value is missing). A
 * coarser series is spread when its step was declared (a rate: each model step inside a source step
 * takes that step's mean, the `mean` rule of timeSteps.ts disaggregating), else refused.
 */
export function dischargeOnSteps(
  s: GaugeInput,
  units: 'm3/s' | 'l/s' | 'mm',
  dates: Date[],
  stepSeconds: number,
): Float64Array {
  const out = new Float64Array(dates.length).fill(Number.NaN);
  const series = s.series;
  if (!series) return out;
  const ds = series.stepSeconds;
  const field = s.field === 'gauges.path' ? 'gauges.path' : 'gauges.series';
  if (ds > stepSeconds + 1e-9) {
    const file = series.file ?? `gauge ${s.code}`;
    if (!s.declaredStep)
      refuse(
        field,
        `gauge ${s.code}: its discharge is at a step of ${ds} s, coarser than the model's ${stepSeconds} s`,
      );
    if (Math.abs(Math.round(ds / stepSeconds) * stepSeconds - ds) > 1e-6)
      refuse(
        field,
        `${file}: a step of ${ds} s is not a whole number of model steps (${stepSeconds} s)`,
        'VALIDATION',
        {
          file,
          gauge: s.code,
        },
      );
    const scale = toM3s(s, units, ds);
    const t0 = series.start.getTime();
    for (let t = 0; t < dates.length; t++) {
      const i = Math.floor((dates[t]!.getTime() - t0) / (ds * 1000) + 1e-9);
      const v = i >= 0 && i < series.values.length ? series.values[i]! : Number.NaN;
      if (Number.isFinite(v)) out[t] = v * scale;
    }
    return out;
  }
  const k = Math.round(stepSeconds / ds);
  if (Math.abs(k * ds - stepSeconds) > 1e-6)
    refuse(field, `gauge ${s.code}: a step of ${ds} s does not divide the model step`);
  const scale = toM3s(s, units, ds);
  const t0 = series.start.getTime();
  for (let t = 0; t < dates.length; t++) {
    const first = (dates[t]!.getTime() - t0) / (ds * 1000);
    if (!Number.isInteger(Math.round(first * 1e6) / 1e6)) continue;
    let sum = 0;
    let ok = true;
    for (let j = 0; j < k; j++) {
      const i = Math.round(first) + j;
      const v = i >= 0 && i < series.values.length ? series.values[i]! : Number.NaN;
      if (!Number.isFinite(v)) {
        ok = false;
        break;
      }
      sum += v;
    }
    if (ok) out[t] = (sum / k) * scale;
  }
  return out;
}

import { FieldcalError } from '../../../src-shared/ipc';
import { kge, nse } from '../metrics/series';
import { esc, FONT, textWidth } from './svgText';
import { dateTicks, formatTick, niceTicksLoose } from './ticks';

/** A period of the record, both ends included (whole steps): shaded on the hydrograph. */
export interface HydrographPeriod {
  name: string;
  start: Date;
  end: Date;
}

/** NSE and KGE of one simulated series over one period. */
export interface PeriodScore {
  nse: number;
  kge: number;
}

/** A simulated discharge series. */
export interface SimulatedSeries {
  name: string;
  values: ArrayLike<number>;
  colour?: string;
  dashed?: boolean;
  /**
   * Scores shown in the legend, by period name. Periods without a score here, or every period
   * when omitted, are scored from the series: NSE (Nash & Sutcliffe 1970) and KGE (Gupta et al. 2009).
   */
  scores?: Record<string, PeriodScore>;
}

export interface HydrographSpec {
  title: string;
  /** Start of each step (UTC); a step lasts until the next date (the last one as long as the median step). */
  dates: Date[];
  /** Observed discharge, NaN where missing; null when the gauge has no observations. */
  observed: ArrayLike<number> | null;
  simulated: SimulatedSeries[];
  /** Catchment rainfall per step, drawn as bars hanging from the top on an inverted axis. */
  rainfall?: ArrayLike<number> | null;
  /** Shaded periods: names with "cal"/"train" are calibration, "val"/"test" validation. */
  periods?: HydrographPeriod[];
  /** Discharge units; default m³/s. */
  units?: string;
  /** Rainfall units; default mm/d. */
  rainUnits?: string;
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Shading of a period by its name: calibration blue, validation orange, others grey. */
export function periodKind(name: string): 'calibration' | 'validation' | 'other' {
  if (/cal|train/i.test(name)) return 'calibration';
  if (/val|test|eval/i.test(name)) return 'validation';
  return 'other';
}
const SHADE = { calibration: '#e6f0fa', validation: '#fdeedd', other: '#f0f0f0' };

/** The median step between consecutive dates, in ms (one day when there is a single date). */
export function medianStep(dates: Date[]): number {
  const d: number[] = [];
  for (let i = 1; i < dates.length; i++) d.push(dates[i]!.getTime() - dates[i - 1]!.getTime());
  if (!d.length) return 86_400_000;
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}

/** Indices of the steps that start inside a period (both ends included). */
export function periodSteps(dates: Date[], p: HydrographPeriod): [number, number] {
  const a = p.start.getTime();
  const b = p.end.getTime();
  let i0 = dates.findIndex((d) => d.getTime() >= a);
  if (i0 < 0) i0 = dates.length;
  let i1 = i0;
  while (i1 < dates.length && dates[i1]!.getTime() <= b) i1++;
  return [i0, i1];
}

/** NSE (Nash & Sutcliffe 1970) and KGE (Gupta et al. 2009) of a series over steps [i0, i1). */
export function scoreOver(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  i0: number,
  i1: number,
): PeriodScore {
  const o = Array.prototype.slice.call(obs, i0, i1) as number[];
  const s = Array.prototype.slice.call(sim, i0, i1) as number[];
  return { nse: nse(o, s).value, kge: kge(o, s).value };
}

const fmtScore = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const shortName = (name: string) => {
  const k = periodKind(name);
  return k === 'calibration' ? 'cal.' : k === 'validation' ? 'val.' : name;
};

/**
 * SVG of a hydrograph: observed and simulated discharge against dates, catchment rainfall as bars
 * hanging from the top on an inverted axis, the calibration and validation periods shaded, NSE
 * (Nash & Sutcliffe 1970) and KGE (Gupta et al. 2009) per simulated series and period in the
 * legend, calendar ticks (days, months or years). Sized for 900 x 400 by default.
 */
export function hydrographSvg(h: HydrographSpec): string {
  const n = h.dates.length;
  if (n === 0)
    throw new FieldcalError('VALIDATION', `Hydrograph "${h.title}" has no dates`, { field: 'dates' });
  for (const d of h.dates)
    if (!(d instanceof Date) || !Number.isFinite(d.getTime()))
      throw new FieldcalError('VALIDATION', `Hydrograph "${h.title}" has an invalid date`, {
        field: 'dates',
      });
  const check = (name: string, v: ArrayLike<number> | null | undefined) => {
    if (v && v.length !== n)
      throw new FieldcalError(
        'VALIDATION',
        `Hydrograph "${h.title}": ${name} has ${v.length} values for ${n} dates`,
        { field: name, values: v.length, dates: n },
      );
  };
  check('observed', h.observed);
  check('rainfall', h.rainfall);
  h.simulated.forEach((s) => check(`simulated "${s.name}"`, s.values));

  const W = h.width ?? 900;
  const H = h.height ?? 400;
  const units = h.units ?? 'm³/s';
  const rainUnits = h.rainUnits ?? 'mm/d';
  const periods = (h.periods ?? []).filter((p) => p.end.getTime() >= p.start.getTime());
  const step = medianStep(h.dates);
  const t0 = h.dates[0]!.getTime();
  const t1 = h.dates[n - 1]!.getTime() + step;

  // legend entries: observed, then each simulation with its scores per period
  const sims = h.simulated.map((s, k) => ({ ...s, colour: s.colour ?? PALETTE[k % PALETTE.length]! }));
  const scored = periods.length
    ? periods
    : [{ name: 'whole record', start: h.dates[0]!, end: h.dates[n - 1]! }];
  const entries: Array<{ text: string; colour: string; dashed: boolean; cls: string }> = [];
  if (h.observed) entries.push({ text: 'observed', colour: '#111', dashed: false, cls: 'legend-observed' });
  for (const s of sims) {
    const parts = scored.map((p) => {
      const given = s.scores?.[p.name];
      const sc =
        given ??
        (h.observed ? scoreOver(h.observed, s.values, ...periodSteps(h.dates, p)) : { nse: NaN, kge: NaN });
      return `${periods.length ? `${shortName(p.name)} ` : ''}NSE ${fmtScore(sc.nse)}, KGE ${fmtScore(sc.kge)}`;
    });
    entries.push({
      text: h.observed ? `${s.name} (${parts.join('; ')})` : s.name,
      colour: s.colour,
      dashed: !!s.dashed,
      cls: 'legend-simulated',
    });
  }
  const L = 66;
  const R = h.rainfall ? 62 : 20;
  const plotW = W - L - R;
  // lay the legend out in rows under the date labels
  const rowsOf: Array<Array<{ x: number; e: (typeof entries)[number] }>> = [[]];
  let cx = 0;
  for (const e of entries) {
    const ew = 30 + textWidth(e.text, 11) + 18;
    if (cx > 0 && cx + ew > plotW) {
      rowsOf.push([]);
      cx = 0;
    }
    rowsOf[rowsOf.length - 1]!.push({ x: cx, e });
    cx += ew;
  }
  const legendH = entries.length ? rowsOf.length * 17 + 4 : 0;
  const T = 30;
  const rainH = h.rainfall ? Math.round((H - T) * 0.2) : 0;
  const gap = h.rainfall ? 8 : 0;
  const qTop = T + rainH + gap;
  const qBottom = H - 34 - legendH - 6;
  const qH = qBottom - qTop;
  const sx = (t: number) => L + ((t - t0) / (t1 - t0)) * plotW;

  // discharge axis: 0 to a nice number above the highest value (Heckbert 1990)
  let qmax = 0;
  const scan = (v: ArrayLike<number>) => {
    for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i]!) && v[i]! > qmax) qmax = v[i]!;
  };
  if (h.observed) scan(h.observed);
  for (const s of sims) scan(s.values);
  let qmin = 0;
  if (h.observed) for (let i = 0; i < n; i++) if (h.observed[i]! < qmin) qmin = h.observed[i]!;
  for (const s of sims) for (let i = 0; i < n; i++) if (s.values[i]! < qmin) qmin = s.values[i]!;
  const qt = niceTicksLoose(qmin, qmax > qmin ? qmax : qmin + 1, Math.max(3, Math.round(qH / 45)));
  const sy = (v: number) => qTop + (1 - (v - qt.lo) / (qt.hi - qt.lo)) * qH;

  const out: string[] = [];
  // period shading over both panels, labelled at the top of the discharge panel
  const shadeTop = h.rainfall ? T : qTop;
  for (const p of periods) {
    const [i0, i1] = periodSteps(h.dates, p);
    if (i1 <= i0) continue;
    const a = Math.max(t0, h.dates[i0]!.getTime());
    const b = Math.min(t1, h.dates[i1 - 1]!.getTime() + step);
    const x = sx(a);
    const wpx = sx(b) - x;
    const kind = periodKind(p.name);
    out.push(
      `<rect class="period" data-name="${esc(p.name)}" data-kind="${kind}" data-start="${a}" data-end="${b}" x="${x.toFixed(2)}" y="${shadeTop}" width="${wpx.toFixed(2)}" height="${qBottom - shadeTop}" fill="${SHADE[kind]}"/>`,
    );
    const label = p.name;
    if (textWidth(label, 10) + 6 < wpx)
      out.push(
        `<text x="${(x + 4).toFixed(1)}" y="${qTop + 12}" font-size="10" fill="#333" stroke="#fff" stroke-width="2.5" paint-order="stroke">${esc(label)}</text>`,
      );
  }
  // discharge grid and ticks
  for (const v of qt.values) {
    const y = sy(v);
    out.push(
      `<g class="qtick" data-value="${v}"><line x1="${L}" x2="${L + plotW}" y1="${y.toFixed(2)}" y2="${y.toFixed(2)}" stroke="#000" stroke-opacity="0.1"/><line x1="${L - 4}" x2="${L}" y1="${y.toFixed(2)}" y2="${y.toFixed(2)}" stroke="#333"/><text x="${L - 7}" y="${(y + 4).toFixed(2)}" font-size="11" text-anchor="end">${formatTick(v, qt.decimals)}</text></g>`,
    );
  }
  // rainfall bars from the top of their panel, on an inverted axis (0 at the top)
  if (h.rainfall) {
    let rmax = 0;
    for (let i = 0; i < n; i++)
      if (Number.isFinite(h.rainfall[i]!) && h.rainfall[i]! > rmax) rmax = h.rainfall[i]!;
    const rt = niceTicksLoose(0, rmax > 0 ? rmax : 1, 3);
    const ry = (v: number) => T + (v / rt.hi) * rainH;
    const bw = Math.max(0.6, (sx(t0 + step) - sx(t0)) * 0.85);
    const bars: string[] = [];
    for (let i = 0; i < n; i++) {
      const v = h.rainfall[i]!;
      if (!Number.isFinite(v) || v <= 0) continue;
      const x = sx(h.dates[i]!.getTime()) + (sx(t0 + step) - sx(t0) - bw) / 2;
      bars.push(
        `<rect class="rain" data-date="${h.dates[i]!.getTime()}" data-value="${v}" x="${x.toFixed(2)}" y="${T}" width="${bw.toFixed(2)}" height="${(ry(v) - T).toFixed(2)}"/>`,
      );
    }
    out.push(`<g fill="#3a78c2">${bars.join('')}</g>`);
    for (const v of rt.values) {
      const y = ry(v);
      out.push(
        `<g class="raintick" data-value="${v}"><line x1="${L + plotW}" x2="${L + plotW + 4}" y1="${y.toFixed(2)}" y2="${y.toFixed(2)}" stroke="#333"/><text x="${L + plotW + 7}" y="${(y + 4).toFixed(2)}" font-size="11">${formatTick(v, rt.decimals)}</text></g>`,
      );
    }
    out.push(
      `<rect class="plot-rain" data-max="${rt.hi}" x="${L}" y="${T}" width="${plotW}" height="${rainH}" fill="none" stroke="#999"/>`,
      `<text x="${W - 12}" y="${T + rainH / 2}" font-size="11" text-anchor="middle" transform="rotate(90 ${W - 12} ${T + rainH / 2})">${esc(`Rain (${rainUnits})`)}</text>`,
    );
  }
  // discharge lines; missing values break the line
  const line = (v: ArrayLike<number>, colour: string, width: number, dashed: boolean, cls: string) => {
    let d = '';
    let pen = false;
    for (let i = 0; i < n; i++) {
      const y = v[i]!;
      if (!Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${sx(h.dates[i]!.getTime() + step / 2).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = true;
    }
    return `<path class="${cls}" d="${d}" fill="none" stroke="${colour}" stroke-width="${width}" stroke-linejoin="round"${dashed ? ' stroke-dasharray="5,3"' : ''}/>`;
  };
  if (h.observed) out.push(line(h.observed, '#111', 1.3, false, 'observed'));
  for (const s of sims) out.push(line(s.values, s.colour, 1.2, !!s.dashed, 'simulated'));
  out.push(
    `<rect class="plot-q" data-t0="${t0}" data-t1="${t1}" x="${L}" y="${qTop}" width="${plotW}" height="${qH}" fill="none" stroke="#999"/>`,
    `<text x="16" y="${qTop + qH / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 16 ${qTop + qH / 2})">${esc(`Discharge (${units})`)}</text>`,
  );
  // calendar ticks, at most one per 75 px
  const ticks = dateTicks(t0, t1, Math.max(2, Math.floor(plotW / 75)));
  for (const tk of ticks) {
    const x = sx(tk.time);
    out.push(
      `<g class="xtick" data-time="${tk.time}"><line x1="${x.toFixed(2)}" x2="${x.toFixed(2)}" y1="${qBottom}" y2="${qBottom + 4}" stroke="#333"/><text x="${x.toFixed(2)}" y="${qBottom + 16}" font-size="11" text-anchor="middle">${esc(tk.label)}</text>${tk.year ? `<text x="${x.toFixed(2)}" y="${qBottom + 29}" font-size="11" text-anchor="middle" fill="#444">${tk.year}</text>` : ''}</g>`,
    );
  }
  // legend
  rowsOf.forEach((row, r) => {
    const y = H - legendH - 2 + r * 17 + 10;
    for (const { x, e } of row) {
      const X = L + x;
      out.push(
        `<g class="${e.cls}"><line x1="${X}" x2="${X + 24}" y1="${y - 4}" y2="${y - 4}" stroke="${e.colour}" stroke-width="2"${e.dashed ? ' stroke-dasharray="5,3"' : ''}/><text x="${X + 30}" y="${y}" font-size="11">${esc(e.text)}</text></g>`,
      );
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${L}" y="19" font-size="14" font-weight="bold">${esc(h.title)}</text>
${out.join('\n')}
</svg>`;
}

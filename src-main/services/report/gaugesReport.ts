import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError } from '../../../src-shared/ipc';
import type { Grid } from '../../../src-shared/types/grid';
import { writeFileAtomic } from '../common/atomicFile';
import { VIRIDIS } from './colormap';
import {
  hydrographSvg,
  periodKind,
  periodSteps,
  scoreOver,
  type HydrographPeriod,
  type PeriodScore,
  type SimulatedSeries,
} from './hydrograph';
import { mapSvg, type MapMarker, type OutlineGeometry } from './map';
import { svgToPng } from './svg';
import { esc } from './svgText';

/** One gauge of a gauges report. */
export interface GaugeReportEntry {
  code: string;
  /** Station name, shown beside the code. */
  name?: string;
  /** Observed discharge per date (m³/s), NaN where missing; null when not observed. */
  observed: ArrayLike<number> | null;
  /** The simulation (one series, named "simulated"), or several named series. */
  simulated: ArrayLike<number> | SimulatedSeries[];
  /** Catchment rainfall per date (mm/d); null when unknown. */
  rainfall: ArrayLike<number> | null;
  /** Position in the grid's CRS, for the maps' markers. */
  x?: number;
  y?: number;
}

/** A section a method adds to the report: heading, paragraphs and one table (cells as text or numbers). */
export interface ReportSection {
  heading: string;
  paragraphs?: string[];
  table?: { head: string[]; rows: Array<Array<string | number | null>> };
}

const cellText = (v: string | number | null) =>
  typeof v === 'number'
    ? Number.isFinite(v)
      ? String(+v.toPrecision(4))
      : 'n/a'
    : v === null
      ? 'n/a'
      : esc(v);

/** One method section as HTML, every text escaped. */
export function sectionHtml(s: ReportSection): string {
  const ps = (s.paragraphs ?? []).map((p) => `<p>${esc(p)}</p>`).join('\n');
  const table = s.table
    ? `<table><thead><tr>${s.table.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${s.table.rows
        .map(
          (r) =>
            `<tr>${r.map((v, i) => (i === 0 ? `<th>${cellText(v)}</th>` : `<td>${cellText(v)}</td>`)).join('')}</tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  return `<h2>${esc(s.heading)}</h2>\n${ps}\n${table}`;
}

export interface GaugesReportInput {
  dir: string;
  title: string;
  description: string;
  dates: Date[];
  gauges: GaugeReportEntry[];
  /** Periods (both ends included), e.g. calibration and validation; ISO dates or Date objects. */
  periods: Array<{ name: string; start: Date | string; end: Date | string }>;
  /** Scores of the (first) simulation per gauge and period; missing ones are computed from the series. */
  scores: Record<string, Record<string, PeriodScore>>;
  /** Leave-one-gauge-out scores per gauge (the gauge left out of calibration), shown as a table. */
  looScores?: Record<string, PeriodScore>;
  /** Calibrated parameter fields over the grid, one map each. */
  parameters: Array<{ name: string; values: ArrayLike<number>; units: string }>;
  grid: Grid;
  /** Outlines drawn on the maps (e.g. each gauge's catchment); default the grid mask's outline. */
  outlines?: OutlineGeometry[];
  /** A method's own sections (e.g. inverse mapping's acceptance rates and convergence): a heading, text and a table, all escaped. */
  sections?: ReportSection[];
  /** Discharge units; default m³/s. Rainfall units; default mm/d. */
  units?: string;
  rainUnits?: string;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'x';
const f2 = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(2) : 'n/a');

function toDate(v: Date | string, field: string): Date {
  const d = v instanceof Date ? v : new Date(v);
  if (!Number.isFinite(d.getTime()))
    throw new FieldcalError('VALIDATION', `${field} is not a date: ${String(v)}`, { field });
  return d;
}

const REFERENCES = [
  'Nash, J. E. and Sutcliffe, J. V. (1970). River flow forecasting through conceptual models part I: a discussion of principles. Journal of Hydrology 10(3), 282-290. doi:10.1016/0022-1694(70)90255-6',
  'Gupta, H. V., Kling, H., Yilmaz, K. K. and Martinez, G. F. (2009). Decomposition of the mean squared error and NSE performance criteria: implications for improving hydrological modelling. Journal of Hydrology 377(1-2), 80-91. doi:10.1016/j.jhydrol.2009.08.003',
  'Heckbert, P. S. (1990). Nice numbers for graph labels. In A. S. Glassner (ed.), Graphics Gems, 61-63. Academic Press.',
  'Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages. The American Statistician 50(4), 361-365.',
  'van der Walt, S. and Smith, N. (2015). viridis, the default colormap of matplotlib 2.0.',
];

const seriesOf = (g: GaugeReportEntry): SimulatedSeries[] =>
  Array.isArray(g.simulated) && typeof g.simulated[0] === 'object'
    ? (g.simulated as SimulatedSeries[])
    : [{ name: 'simulated', values: g.simulated as ArrayLike<number> }];

/**
 * Writes a report of discharge at gauges into `dir`: a hydrograph per gauge (observed and
 * simulated discharge, rainfall, shaded periods, NSE and KGE), a map per calibrated parameter with
 * the catchment outline and the gauges, the scores table (and the leave-one-gauge-out table when
 * given), metrics.json and index.html. Figures are written as SVG (vector, for publication) and
 * PNG (as shown in the page). Returns every file written.
 */
export async function writeGaugesReport(opts: GaugesReportInput): Promise<{ html: string; files: string[] }> {
  const { dates, grid } = opts;
  const n = dates.length;
  if (n === 0) throw new FieldcalError('VALIDATION', 'The gauges report has no dates', { field: 'dates' });
  dates.forEach((d, i) => toDate(d, `dates[${i}]`));
  if (!opts.gauges.length)
    throw new FieldcalError('VALIDATION', 'The gauges report has no gauge', { field: 'gauges' });
  const codes = new Set<string>();
  const slugs = new Set<string>();
  for (const g of opts.gauges) {
    if (codes.has(g.code) || slugs.has(slug(g.code)))
      throw new FieldcalError('VALIDATION', `Gauge ${g.code} is listed twice`, {
        field: 'gauges',
        code: g.code,
      });
    codes.add(g.code);
    slugs.add(slug(g.code));
    const series: Array<[string, ArrayLike<number> | null]> = [
      ['observed', g.observed],
      ['rainfall', g.rainfall],
      ...seriesOf(g).map((s): [string, ArrayLike<number>] => [`simulated "${s.name}"`, s.values]),
    ];
    for (const [what, v] of series)
      if (v && v.length !== n)
        throw new FieldcalError(
          'VALIDATION',
          `Gauge ${g.code}: ${what} has ${v.length} values for ${n} dates`,
          {
            field: 'gauges',
            code: g.code,
            series: what,
          },
        );
  }
  const periods: HydrographPeriod[] = opts.periods.map((p, i) => ({
    name: p.name,
    start: toDate(p.start, `periods[${i}].start`),
    end: toDate(p.end, `periods[${i}].end`),
  }));
  periods.forEach((p, i) => {
    if (p.end < p.start)
      throw new FieldcalError('VALIDATION', `Period ${p.name} ends before it starts`, {
        field: `periods[${i}]`,
      });
  });
  const cells = grid.rows * grid.cols;
  for (const p of opts.parameters)
    if (p.values.length !== cells)
      throw new FieldcalError(
        'VALIDATION',
        `Parameter ${p.name} has ${p.values.length} values for a ${grid.cols} x ${grid.rows} grid`,
        { field: 'parameters', parameter: p.name },
      );

  await mkdir(opts.dir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, data: Buffer | string) => {
    await writeFileAtomic(join(opts.dir, name), (tmp) => writeFile(tmp, data));
    files.push(join(opts.dir, name));
  };

  // scores of every gauge and period: as given, else computed from the first simulation
  const scores: Record<string, Record<string, PeriodScore & { computed: boolean }>> = {};
  for (const g of opts.gauges) {
    const sims = seriesOf(g);
    scores[g.code] = {};
    for (const p of periods) {
      const given = opts.scores[g.code]?.[p.name];
      scores[g.code]![p.name] = given
        ? { nse: given.nse, kge: given.kge, computed: false }
        : g.observed && sims[0]
          ? { ...scoreOver(g.observed, sims[0].values, ...periodSteps(dates, p)), computed: true }
          : { nse: Number.NaN, kge: Number.NaN, computed: true };
    }
  }

  // hydrographs
  const hydroFigures: string[] = [];
  for (const g of opts.gauges) {
    const sims = seriesOf(g).map((s, k) =>
      k === 0 ? { ...s, scores: { ...opts.scores[g.code], ...s.scores } } : s,
    );
    const label = g.name ? `${g.code} ${g.name}` : g.code;
    const svg = hydrographSvg({
      title: `${label}: discharge`,
      dates,
      observed: g.observed,
      simulated: sims,
      rainfall: g.rainfall,
      periods,
      units: opts.units ?? 'm³/s',
      rainUnits: opts.rainUnits ?? 'mm/d',
    });
    const base = `hydrograph-${slug(g.code)}`;
    await put(`${base}.svg`, svg);
    await put(`${base}.png`, svgToPng(svg));
    const caption = periods
      .map(
        (p) => `${p.name}: NSE ${f2(scores[g.code]![p.name]!.nse)}, KGE ${f2(scores[g.code]![p.name]!.kge)}`,
      )
      .join('; ');
    hydroFigures.push(
      `<figure id="gauge-${esc(slug(g.code))}"><img src="${base}.png" alt="Hydrograph at ${esc(label)}" width="900"><figcaption><b>${esc(label)}</b>${caption ? ` (${esc(caption)})` : ''}. <a href="${base}.svg">SVG</a></figcaption></figure>`,
    );
  }

  // parameter maps with outlines and gauges
  const markers: MapMarker[] = opts.gauges
    .filter((g) => Number.isFinite(g.x) && Number.isFinite(g.y))
    .map((g) => ({ x: g.x!, y: g.y!, label: g.code }));
  const gx1 = grid.x0 + grid.cols * grid.dx;
  const gy1 = grid.y0 - grid.rows * grid.dy;
  const offMap = opts.gauges
    .filter(
      (g) =>
        !(
          Number.isFinite(g.x) &&
          Number.isFinite(g.y) &&
          g.x! >= grid.x0 &&
          g.x! <= gx1 &&
          g.y! <= grid.y0 &&
          g.y! >= gy1
        ),
    )
    .map((g) => g.code);
  const mapFigures: string[] = [];
  for (const p of opts.parameters) {
    const svg = mapSvg({
      title: `Parameter ${p.name}`,
      values: p.values,
      rows: grid.rows,
      cols: grid.cols,
      mask: grid.mask,
      colormap: VIRIDIS,
      units: p.units,
      georef: grid,
      outline: opts.outlines ?? (grid.mask ? true : false),
      markers,
    });
    const base = `map-parameter-${slug(p.name)}`;
    await put(`${base}.svg`, svg);
    await put(`${base}.png`, svgToPng(svg));
    mapFigures.push(
      `<figure><img src="${base}.png" alt="Map of parameter ${esc(p.name)}"><figcaption>${esc(p.name)} (${esc(p.units)}). <a href="${base}.svg">SVG</a></figcaption></figure>`,
    );
  }

  const metrics = {
    title: opts.title,
    first: dates[0]!.toISOString(),
    last: dates[n - 1]!.toISOString(),
    periods: periods.map((p) => ({ name: p.name, start: p.start.toISOString(), end: p.end.toISOString() })),
    scores,
    looScores: opts.looScores ?? null,
  };
  await put(
    'metrics.json',
    `${JSON.stringify(metrics, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );

  const head = periods.map(
    (p) =>
      `<th colspan="2">${esc(p.name)} (${p.start.toISOString().slice(0, 10)} to ${p.end.toISOString().slice(0, 10)})</th>`,
  );
  const sub = periods.map(() => '<th>NSE</th><th>KGE</th>').join('');
  const anyComputed = Object.values(scores).some((r) => Object.values(r).some((s) => s.computed));
  const scoreRows = opts.gauges.map((g) => {
    const cells = periods
      .map((p) => {
        const s = scores[g.code]![p.name]!;
        const mark = s.computed ? '*' : '';
        return `<td>${f2(s.nse)}${mark}</td><td>${f2(s.kge)}${mark}</td>`;
      })
      .join('');
    return `<tr><th><a href="#gauge-${esc(slug(g.code))}">${esc(g.code)}</a>${g.name ? ` ${esc(g.name)}` : ''}</th>${cells}</tr>`;
  });
  const loo = opts.looScores
    ? `<h2>Leave-one-gauge-out scores</h2>
<p>Each gauge scored by a calibration that left it out: how well the calibrated parameters transfer to a gauge they were not fitted on.</p>
<table><thead><tr><th>gauge</th><th>NSE</th><th>KGE</th></tr></thead><tbody>${opts.gauges
        .map(
          (g) =>
            `<tr><th>${esc(g.code)}</th><td>${f2(opts.looScores![g.code]?.nse)}</td><td>${f2(opts.looScores![g.code]?.kge)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const kinds = periods.map((p) => periodKind(p.name));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(opts.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1100px}table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}td{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa;font-weight:600}figure{margin:12px 0}figcaption{font-size:14px;color:#444}img{max-width:100%}.eq{font-family:serif;font-size:16px}</style>
</head><body>
<h1>${esc(opts.title)}</h1>
<p>${esc(opts.description)}</p>
<p>Record: ${dates[0]!.toISOString().slice(0, 10)} to ${dates[n - 1]!.toISOString().slice(0, 10)} (${n} steps), ${opts.gauges.length} gauge${opts.gauges.length > 1 ? 's' : ''}.</p>
<h2>Scores</h2>
<table><thead><tr><th rowspan="2">gauge</th>${head.join('')}</tr><tr>${sub}</tr></thead><tbody>${scoreRows.join('')}</tbody></table>
${anyComputed ? '<p>* computed here from the series written in this report (not given by the run).</p>' : ''}
${loo}
${(opts.sections ?? []).map(sectionHtml).join('\n')}
<h2>Metrics</h2>
<p class="eq">NSE = 1 &minus; &Sigma;<sub>t</sub>(Q<sub>sim,t</sub> &minus; Q<sub>obs,t</sub>)&sup2; / &Sigma;<sub>t</sub>(Q<sub>obs,t</sub> &minus; &mu;<sub>obs</sub>)&sup2; (Nash &amp; Sutcliffe 1970)</p>
<p class="eq">KGE = 1 &minus; &radic;[(r &minus; 1)&sup2; + (&alpha; &minus; 1)&sup2; + (&beta; &minus; 1)&sup2;], &alpha; = &sigma;<sub>sim</sub>/&sigma;<sub>obs</sub>, &beta; = &mu;<sub>sim</sub>/&mu;<sub>obs</sub>, r the Pearson correlation (Gupta et al. 2009)</p>
<p>Both are computed over the steps of each period where observed and simulated values are both present; 1 is a perfect fit, NSE = 0 is the skill of the observed mean${kinds.includes('validation') ? '; the validation period was not used for calibration' : ''}.</p>
<h2>Hydrographs</h2>
<p>Observed (black) and simulated discharge; catchment rainfall as bars from the top (inverted axis); ${periods.map((p) => `${esc(p.name)} shaded ${periodKind(p.name) === 'calibration' ? 'blue' : periodKind(p.name) === 'validation' ? 'orange' : 'grey'}`).join(', ') || 'no period given'}.</p>
${hydroFigures.join('\n')}
${mapFigures.length ? `<h2>Calibrated parameters</h2>\n<p>Colours stretched to the 2nd to 98th percentiles of the active cells (Hyndman &amp; Fan 1996, definition 7), values beyond shown by the bar's triangles; colour-bar and axis ticks at round numbers (Heckbert 1990); viridis colour map (van der Walt &amp; Smith 2015). The black line is the catchment outline${markers.length ? ', red triangles the gauges' : ''}.${offMap.length ? ` Not on the maps (outside the grid): ${esc(offMap.join(', '))}.` : ''}</p>\n${mapFigures.join('\n')}` : ''}
<h2>References</h2>
<ul>${REFERENCES.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
<p><a href="metrics.json">metrics.json</a></p>
</body></html>
`;
  await put('index.html', html);
  return { html: join(opts.dir, 'index.html'), files };
}

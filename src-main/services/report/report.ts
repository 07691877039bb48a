import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomicFile';
import type { SummaryTable } from '../metrics/summary';
import { chartSvg, mapSvg, svgToPng, type ChartSpec, type MapSpec } from './svg';

/** Everything a run report shows. */
export interface ReportInput {
  title: string;
  /** One paragraph on what was compared with what. */
  description: string;
  /** Machine-readable metrics, written as metrics.json and shown as tables. */
  metrics: Record<string, unknown>;
  summary?: SummaryTable | undefined;
  /** Tables of rows (comparisons of runs), shown after the summary. */
  tables?: Array<{ title: string; columns: string[]; rows: Array<Array<string | number>> }>;
  maps: MapSpec[];
  charts: ChartSpec[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const fmt = (v: unknown) =>
  typeof v === 'number' ? (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : 'n/a') : esc(String(v));

function summaryHtml(s: SummaryTable): string {
  const rows: Array<[string, number]> = [
    ['Cells', s.cells],
    ['Cells with CC > 0.75 (%)', s.pctCcAbove075],
    ['Cells with KGE > 0.6 (%)', s.pctKgeAbove06],
    ['Cells with RMSE reduced vs default (%)', s.pctRmseReduced],
    ['Mean joint-EOF score (0 = same pattern)', s.meanEof],
    ['Mean SSIM', s.meanSsim],
  ];
  return `<table><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${fmt(v)}</td></tr>`).join('')}</tbody></table>`;
}

/**
 * Writes a run report into `dir`: metrics.json, one PNG per map and chart, and index.html that
 * shows them. Rendered in main without a browser (SVG through resvg); each file written atomically.
 */
export async function writeReport(
  dir: string,
  input: ReportInput,
): Promise<{ html: string; files: string[] }> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, data: Buffer | string) => {
    await writeFileAtomic(join(dir, name), (tmp) => writeFile(tmp, data));
    files.push(join(dir, name));
  };
  await put(
    'metrics.json',
    `${JSON.stringify({ title: input.title, ...input.metrics, summary: input.summary ?? null }, null, 2)}\n`,
  );
  const figures: string[] = [];
  for (const m of input.maps) {
    const name = `map-${slug(m.title)}.png`;
    await put(name, svgToPng(mapSvg(m)));
    figures.push(`<figure><img src="${name}" alt="${esc(m.title)}"></figure>`);
  }
  const charts: string[] = [];
  for (const c of input.charts) {
    const name = `chart-${slug(c.title)}.png`;
    await put(name, svgToPng(chartSvg(c)));
    charts.push(`<figure><img src="${name}" alt="${esc(c.title)}"></figure>`);
  }
  const scalar = Object.entries(input.metrics).filter(
    ([, v]) => typeof v === 'number' || typeof v === 'string',
  );
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328}table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}th{background:#f6f8fa;font-weight:600}figure{display:inline-block;margin:8px}img{max-width:100%}</style>
</head><body>
<h1>${esc(input.title)}</h1>
<p>${esc(input.description)}</p>
${input.summary ? `<h2>Summary (Sun et al. 2024)</h2>${summaryHtml(input.summary)}` : ''}
${(input.tables ?? [])
  .map(
    (t) =>
      `<h2>${esc(t.title)}</h2><table><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
        .map((r) => `<tr>${r.map((v) => `<td>${fmt(v)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`,
  )
  .join('\n')}
${scalar.length ? `<h2>Metrics</h2><table><tbody>${scalar.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${fmt(v)}</td></tr>`).join('')}</tbody></table>` : ''}
<h2>Maps</h2>${figures.join('\n')}
<h2>Charts</h2>${charts.join('\n')}
<p><a href="metrics.json">metrics.json</a></p>
</body></html>
`;
  await put('index.html', html);
  return { html: join(dir, 'index.html'), files };
}

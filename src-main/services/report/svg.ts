import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { appRoot } from '../paths';
import { colourAt, type Colormap } from './colormap';
import { formatG } from '../rasters/format';
import { encodePng } from './png';

const FONT = 'DejaVu Sans';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number) => formatG(Number(v.toPrecision(4)), 4);

/** Renders SVG to PNG with the bundled DejaVu Sans, so images look the same on every machine. */
export function svgToPng(svg: string): Buffer {
  const r = new Resvg(svg, {
    font: {
      fontFiles: [join(appRoot(), 'resources', 'fonts', 'DejaVuSans.ttf')],
      loadSystemFonts: false,
      defaultFontFamily: FONT,
    },
    background: 'white',
  });
  return Buffer.from(r.render().asPng());
}

/** A map of one field with a colour bar: what the report shows for parameters, metrics and differences. */
export interface MapSpec {
  title: string;
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  /** Cells outside the study area (0) are drawn transparent. */
  mask?: Uint8Array | null;
  colormap: Colormap;
  /** Colour range; default min..max of the valid values (symmetric around 0 for diverging maps). */
  range?: [number, number];
  symmetric?: boolean;
  units?: string;
}

/** Value range of a map's valid cells. */
function rangeOf(m: MapSpec): [number, number] {
  if (m.range) return m.range;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < m.values.length; i++) {
    const v = m.values[i]!;
    if (!Number.isFinite(v) || (m.mask && !m.mask[i])) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (m.symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return [-a, a];
  }
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/** SVG of a map figure: the field upsampled to whole pixels per cell, a title and a labelled colour bar. */
export function mapSvg(m: MapSpec): string {
  const px = Math.max(4, Math.min(24, Math.floor(360 / Math.max(m.rows, m.cols))));
  const w = m.cols * px;
  const h = m.rows * px;
  const [lo, hi] = rangeOf(m);
  const rgba = new Uint8Array(w * h * 4);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const i = r * m.cols + c;
      const v = m.values[i]!;
      if (!Number.isFinite(v) || (m.mask && !m.mask[i])) continue;
      const [R, G, B] = colourAt(m.colormap, (v - lo) / (hi - lo));
      for (let y = r * px; y < (r + 1) * px; y++) {
        for (let x = c * px; x < (c + 1) * px; x++) {
          const k = (y * w + x) * 4;
          rgba[k] = R;
          rgba[k + 1] = G;
          rgba[k + 2] = B;
          rgba[k + 3] = 255;
        }
      }
    }
  }
  const img = encodePng(rgba, w, h).toString('base64');
  const barX = w + 30;
  const top = 40;
  // the bar runs from the top (high values) down, so the first stop is the last anchor
  const n = m.colormap.anchors.length - 1;
  const stops = m.colormap.anchors.map(
    (_, i) => `<stop offset="${i / n}" stop-color="rgb(${m.colormap.anchors[n - i]!.join(',')})"/>`,
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => {
    const y = top + (1 - t) * h;
    return `<line x1="${barX + 16}" x2="${barX + 20}" y1="${y}" y2="${y}" stroke="#333"/><text x="${barX + 24}" y="${y + 4}" font-size="11">${esc(num(lo + t * (hi - lo)))}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${barX + 110}" height="${h + top + 20}" font-family="${FONT}">
<text x="0" y="18" font-size="14" font-weight="bold">${esc(m.title)}</text>
<rect x="0" y="${top}" width="${w}" height="${h}" fill="#f2f2f2"/>
<image x="0" y="${top}" width="${w}" height="${h}" href="data:image/png;base64,${img}"/>
<rect x="0" y="${top}" width="${w}" height="${h}" fill="none" stroke="#999"/>
<defs><linearGradient id="cb" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>
<rect x="${barX}" y="${top}" width="16" height="${h}" fill="url(#cb)" stroke="#999"/>
${ticks.join('\n')}
${m.units ? `<text x="${barX}" y="${top - 8}" font-size="11">${esc(m.units)}</text>` : ''}
</svg>`;
}

/** A line chart: hydrographs (x = dates) or FSS curves (x = window sizes). */
export interface ChartSpec {
  title: string;
  x: Array<number | Date>;
  series: Array<{ name: string; values: ArrayLike<number>; colour: string; dashed?: boolean }>;
  xLabel: string;
  yLabel: string;
  yRange?: [number, number];
}

export function chartSvg(c: ChartSpec): string {
  const W = 760;
  const H = 320;
  const L = 60;
  const R = 44;
  const T = 36;
  const B = 50;
  const xs = c.x.map((v) => (v instanceof Date ? v.getTime() : v));
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  let [ymin, ymax] = c.yRange ?? [Infinity, -Infinity];
  if (!c.yRange) {
    for (const s of c.series)
      for (let i = 0; i < s.values.length; i++)
        if (Number.isFinite(s.values[i]!)) {
          ymin = Math.min(ymin, s.values[i]!);
          ymax = Math.max(ymax, s.values[i]!);
        }
    if (!Number.isFinite(ymin)) [ymin, ymax] = [0, 1];
    if (ymin === ymax) ymax = ymin + 1;
    ymin = Math.min(ymin, 0);
  }
  const sx = (v: number) => L + ((v - xmin) / (xmax - xmin || 1)) * (W - L - R);
  const sy = (v: number) => T + (1 - (v - ymin) / (ymax - ymin)) * (H - T - B);
  const paths = c.series.map((s) => {
    let d = '';
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      const v = s.values[i]!;
      if (!Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${sx(xs[i]!).toFixed(1)},${sy(v).toFixed(1)}`;
      pen = true;
    }
    return `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.4"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/>`;
  });
  const yt = [0, 0.25, 0.5, 0.75, 1].map((t) => ymin + t * (ymax - ymin));
  const dates = c.x[0] instanceof Date;
  const xt = !dates && xs.length <= 12 ? xs : [0, 0.25, 0.5, 0.75, 1].map((t) => xmin + t * (xmax - xmin));
  const xlabel = (v: number) => (dates ? new Date(v).toISOString().slice(0, 10) : num(v));
  const legend = c.series.map(
    (s, i) =>
      `<line x1="${L + 10 + i * 190}" x2="${L + 34 + i * 190}" y1="${T - 12}" y2="${T - 12}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/><text x="${L + 40 + i * 190}" y="${T - 8}" font-size="11">${esc(s.name)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="${FONT}">
<text x="${L}" y="16" font-size="14" font-weight="bold">${esc(c.title)}</text>
${legend.join('\n')}
<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>
${yt.map((v) => `<line x1="${L}" x2="${W - R}" y1="${sy(v)}" y2="${sy(v)}" stroke="#e5e5e5"/><text x="${L - 6}" y="${sy(v) + 4}" font-size="11" text-anchor="end">${esc(num(v))}</text>`).join('\n')}
${xt.map((v) => `<text x="${sx(v)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${esc(xlabel(v))}</text>`).join('\n')}
${paths.join('\n')}
<text x="${(L + W - R) / 2}" y="${H - 10}" font-size="12" text-anchor="middle">${esc(c.xLabel)}</text>
<text x="14" y="${(T + H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">${esc(c.yLabel)}</text>
</svg>`;
}

import { Resvg } from '@resvg/resvg-js';
import { reportFontPath } from '../paths';
import { formatG } from '../rasters/format';
import { esc, FONT } from './svgText';
import { dateTicks, formatTick, niceTicksLoose } from './ticks';

export { mapSvg, mapRange, type MapSpec, type MapGeoref, type MapMarker, type OutlineGeometry } from './map';

const num = (v: number) => formatG(Number(v.toPrecision(4)), 4);

/** Renders SVG to PNG with the bundled DejaVu Sans, so images look the same on every machine. */
export function svgToPng(svg: string): Buffer {
  const r = new Resvg(svg, {
    font: {
      fontFiles: [reportFontPath()],
      loadSystemFonts: false,
      defaultFontFamily: FONT,
    },
    background: 'white',
  });
  return Buffer.from(r.render().asPng());
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
  const L = 60;
  const R = 44;
  // the legend: entries as wide as their names (about 6.5 px a character at 11 px), in rows that
  // fit the width; the plot starts below the last row
  const legendAt: Array<{ x: number; row: number }> = [];
  let lx = L + 10;
  let rows = 1;
  for (const s of c.series) {
    const w = 44 + s.name.length * 6.5 + 20;
    if (lx > L + 10 && lx + w > W - R) {
      lx = L + 10;
      rows++;
    }
    legendAt.push({ x: lx, row: rows - 1 });
    lx += w;
  }
  const T = 44 + (rows - 1) * 16;
  const H = 320 + (rows - 1) * 16;
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
  // nice ticks (Heckbert 1990); without a fixed range the axis is extended to the outer ticks
  const yTicks = niceTicksLoose(ymin, ymax, 5);
  if (!c.yRange) [ymin, ymax] = [yTicks.lo, yTicks.hi];
  const yt = yTicks.values.filter((v) => v >= ymin - 1e-12 && v <= ymax + 1e-12);
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
  const dates = c.x[0] instanceof Date;
  const dt = dates ? dateTicks(xmin, xmax, 8) : [];
  const xt = dates
    ? dt.map((d) => d.time)
    : xs.length <= 12
      ? xs
      : [0, 0.25, 0.5, 0.75, 1].map((t) => xmin + t * (xmax - xmin));
  const xlabel = (v: number, k: number) =>
    dates ? `${dt[k]!.label}${dt[k]!.year ? ` ${dt[k]!.year}` : ''}` : num(v);
  const legend = c.series.map((s, i) => {
    const { x, row } = legendAt[i]!;
    const y = 30 + row * 16;
    return `<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/><text x="${x + 30}" y="${y + 4}" font-size="11">${esc(s.name)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="${FONT}">
<text x="${L}" y="16" font-size="14" font-weight="bold">${esc(c.title)}</text>
${legend.join('\n')}
<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>
${yt.map((v) => `<line x1="${L}" x2="${W - R}" y1="${sy(v)}" y2="${sy(v)}" stroke="#e5e5e5"/><text x="${L - 6}" y="${sy(v) + 4}" font-size="11" text-anchor="end">${esc(formatTick(v, yTicks.decimals))}</text>`).join('\n')}
${xt.map((v, k) => `<text x="${sx(v)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${esc(xlabel(v, k))}</text>`).join('\n')}
${paths.join('\n')}
<text x="${(L + W - R) / 2}" y="${H - 10}" font-size="12" text-anchor="middle">${esc(c.xLabel)}</text>
<text x="14" y="${(T + H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">${esc(c.yLabel)}</text>
</svg>`;
}

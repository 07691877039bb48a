import { colourAt, VIRIDIS } from './colormap';
import { svgToPng } from './svg';
import { esc, FONT } from './svgText';

/** One square matrix panel of a heat map: each panel scaled to its own [min, max]. */
export interface HeatmapPanel {
  title: string;
  matrix: number[][];
}

/**
 * Side-by-side heat maps of square matrices over the same labelled rows and columns (basin
 * distance matrices), viridis, each panel scaled 0 → its maximum off the diagonal; SVG.
 */
export function heatmapSvg(panels: HeatmapPanel[], labels: string[], cell = 18): string {
  const n = labels.length;
  const left = 90;
  const top = 40;
  const gap = 40;
  const side = n * cell;
  const pitch = Math.max(side, 200) + gap;
  const w = left + panels.length * pitch + 10;
  const h = top + side + 80;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="${FONT}" font-size="9">`,
  ];
  panels.forEach((p, k) => {
    const x0 = left + k * pitch;
    let max = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (i !== j && Number.isFinite(p.matrix[i]![j]!)) max = Math.max(max, p.matrix[i]![j]!);
    parts.push(`<text x="${x0}" y="${top - 22}" font-size="12">${esc(p.title)}</text>`);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const v = p.matrix[i]![j]!;
        const [r, g, b] = Number.isFinite(v) ? colourAt(VIRIDIS, max > 0 ? v / max : 0) : [200, 200, 200];
        parts.push(
          `<rect x="${x0 + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${r},${g},${b})"/>`,
        );
      }
    labels.forEach((l, j) =>
      parts.push(
        `<text transform="translate(${x0 + j * cell + cell * 0.7},${top + side + 4}) rotate(90)">${esc(l)}</text>`,
      ),
    );
    if (k === 0)
      labels.forEach((l, i) =>
        parts.push(
          `<text x="${left - 4}" y="${top + i * cell + cell * 0.7}" text-anchor="end">${esc(l)}</text>`,
        ),
      );
    parts.push(`<text x="${x0}" y="${top - 8}">0 (dark) .. ${max.toPrecision(3)} (yellow)</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The heat maps as a PNG (svgToPng: the bundled font). */
export const heatmapPng = (panels: HeatmapPanel[], labels: string[]): Buffer =>
  svgToPng(heatmapSvg(panels, labels));

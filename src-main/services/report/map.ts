import type { Grid } from '../../../src-shared/types/grid';
import { maskOutline, type OutlineGeometry } from '../grid/outline';
import { colourAt, type Colormap } from './colormap';
import { describeCrs, METRES_PER_UNIT, metresPerDegreeLon } from './crsUnits';
import { encodePng } from './png';
import { esc, FONT, num4, textWidth } from './svgText';
import { formatTick, niceTicksInside, percentile } from './ticks';

export type { OutlineGeometry };

/** Where a grid lies: its outer top-left corner, positive cell sizes and CRS (src-shared Grid). */
export type MapGeoref = Pick<Grid, 'x0' | 'y0' | 'dx' | 'dy' | 'crs'>;

/** A point drawn on a map with a label, e.g. a gauge; x, y in the grid's CRS. */
export interface MapMarker {
  x: number;
  y: number;
  label: string;
}

/** A map of one field with a colour bar: what the reports show for parameters, metrics and differences. */
export interface MapSpec {
  title: string;
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  /** Cells outside the study area (0) are left blank (white), as are NaN cells. */
  mask?: Uint8Array | null;
  colormap: Colormap;
  /**
   * Colour range; default the `stretch` percentiles of the valid values (for symmetric maps
   * ±max(|p_lo|, |p_hi|)). Values beyond the range take the end colours; the bar shows triangles.
   */
  range?: [number, number];
  symmetric?: boolean;
  /** Percentiles (0..100) of the default colour range; default [2, 98]; [0, 100] is min..max. */
  stretch?: [number, number];
  units?: string;
  /**
   * Where the grid lies. With it the map has axes in the CRS's units (km for metric CRSs, degrees
   * for geographic ones), a scale bar and a north note, and markers are placed by coordinates.
   * Without it, coordinates are cell units: x = column, y = row, from the top-left corner.
   */
  georef?: MapGeoref | null;
  /**
   * Catchment outlines: true = the boundary of `mask`, traced along cell edges; or polygons in the
   * grid's CRS (e.g. each gauge's catchment).
   */
  outline?: boolean | OutlineGeometry[];
  /** Gauges or other points, drawn as triangles with their labels. */
  markers?: MapMarker[];
}

/** Colour range of a map: its `range`, else the stretch percentiles of its valid cells. */
export function mapRange(m: MapSpec): [number, number] {
  if (m.range) return m.range;
  const keep = (i: number) => !m.mask || m.mask[i] !== 0;
  const [pa, pb] = m.stretch ?? [2, 98];
  let lo = percentile(m.values, pa, keep);
  let hi = percentile(m.values, pb, keep);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (m.symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return [-a, a];
  }
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

interface Frame {
  /** Left and top of the map image in the SVG, and its size in px. */
  left: number;
  top: number;
  w: number;
  h: number;
  /** Map coordinates (x, y) to SVG px. */
  px: (x: number, y: number) => [number, number];
}

/** SVG path (evenodd) of outline polygons, in px. */
function outlinePath(geoms: OutlineGeometry[], f: Frame): string {
  let d = '';
  for (const g of geoms) {
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    for (const poly of polys)
      for (const ring of poly) {
        ring.forEach(([x, y], i) => {
          const [X, Y] = f.px(x, y);
          d += `${i ? 'L' : 'M'}${+X.toFixed(2)},${+Y.toFixed(2)}`;
        });
        d += 'Z';
      }
  }
  return d;
}

type Box = [number, number, number, number]; // x0, y0, x1, y1
const overlaps = (a: Box, b: Box) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

/**
 * SVG of a map figure: the field with whole pixels per cell (blank where inactive or NaN), a
 * title, a colour bar with nice-number ticks (Heckbert 1990) and units; with a georeference, axes
 * in the CRS's units, a scale bar, a north note and the CRS's name; optional outlines and markers.
 */
export function mapSvg(m: MapSpec): string {
  const { rows, cols } = m;
  const geo = m.georef ?? null;
  // without a georeference: cell units, x = column to the right, y = row downwards
  const g = geo ?? { x0: 0, y0: 0, dx: 1, dy: -1, crs: null };
  const crs = describeCrs(geo?.crs);
  const latC = geo ? geo.y0 - (rows * geo.dy) / 2 : 0;
  // cell shape on the page: square map units, or ground distances for geographic grids
  const cellW = Math.abs(g.dx) * (geo && crs.unit === 'deg' ? Math.cos((latC * Math.PI) / 180) : 1);
  const cellH = Math.abs(g.dy);
  const target = 420;
  const s = target / Math.max(cols * cellW, rows * cellH);
  let pxW = Math.max(1, Math.round(s * cellW));
  let pxH = Math.max(1, Math.round(s * cellH));
  if (Math.abs(cellW - cellH) < 1e-9 * Math.max(cellW, cellH)) {
    pxW = pxH = Math.max(1, Math.min(24, Math.floor(target / Math.max(rows, cols))));
  }
  const w = cols * pxW;
  const h = rows * pxH;
  const [lo, hi] = mapRange(m);
  const valid = (i: number) => Number.isFinite(m.values[i]!) && !(m.mask && !m.mask[i]);
  let below = false;
  let above = false;
  const rgba = new Uint8Array(w * h * 4);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (!valid(i)) continue;
      const v = m.values[i]!;
      if (v < lo) below = true;
      if (v > hi) above = true;
      const [R, G, B] = colourAt(m.colormap, (v - lo) / (hi - lo));
      for (let y = r * pxH; y < (r + 1) * pxH; y++) {
        for (let x = c * pxW; x < (c + 1) * pxW; x++) {
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

  // axes: ticks in display units (km for metric CRSs wider than 2 km)
  const xmin = g.x0;
  const xmax = g.x0 + cols * g.dx;
  const ymax = g.y0;
  const ymin = g.y0 - rows * g.dy;
  const linear = crs.unit === 'm' || crs.unit === 'ft' || crs.unit === 'us-ft';
  const km = crs.unit === 'm' && Math.max(xmax - xmin, ymax - ymin) >= 2000;
  const disp = km ? 1000 : 1;
  const unitName = km
    ? 'km'
    : crs.unit === 'm'
      ? 'm'
      : crs.unit === 'deg'
        ? '°'
        : crs.unit === 'unknown'
          ? 'map units'
          : crs.unit;
  const xTicks = geo ? niceTicksInside(xmin / disp, xmax / disp, Math.max(3, Math.round(w / 90)), 2) : null;
  const yTicks = geo ? niceTicksInside(ymin / disp, ymax / disp, Math.max(3, Math.round(h / 60)), 2) : null;
  const yLabels = yTicks ? yTicks.values.map((v) => formatTick(v, yTicks.decimals)) : [];
  const yLabelW = Math.max(0, ...yLabels.map((t) => textWidth(t, 11)));
  const left = geo ? Math.ceil(8 + 16 + 6 + yLabelW + 6) : 10;
  // room for the title (baseline 20) above the colour bar's units label and its triangle
  const top = 56;
  const f: Frame = {
    left,
    top,
    w,
    h,
    px: (x, y) => [left + ((x - g.x0) / g.dx) * pxW, top + ((g.y0 - y) / g.dy) * pxH],
  };

  const parts: string[] = [];
  const id = `m${Math.abs(hashString(m.title)) % 1e9}`;
  parts.push(
    `<image x="${left}" y="${top}" width="${w}" height="${h}" href="data:image/png;base64,${img}"/>`,
  );
  // outlines and markers, clipped to the map
  parts.push(
    `<defs><clipPath id="${id}-clip"><rect x="${left}" y="${top}" width="${w}" height="${h}"/></clipPath></defs>`,
  );
  const outlines: OutlineGeometry[] = [];
  if (m.outline === true && m.mask) {
    try {
      outlines.push(maskOutline({ ...g, rows, cols, mask: m.mask }, m.mask));
    } catch {
      // an empty mask has no outline to draw
    }
  } else if (Array.isArray(m.outline)) outlines.push(...m.outline);
  if (outlines.length) {
    parts.push(
      `<path class="outline" d="${outlinePath(outlines, f)}" fill="none" fill-rule="evenodd" stroke="#111" stroke-width="1.4" stroke-linejoin="round" clip-path="url(#${id}-clip)"/>`,
    );
  }
  parts.push(`<rect x="${left}" y="${top}" width="${w}" height="${h}" fill="none" stroke="#666"/>`);

  const taken: Box[] = [];
  const markerSvg: string[] = [];
  for (const mk of m.markers ?? []) {
    if (!Number.isFinite(mk.x) || !Number.isFinite(mk.y)) continue;
    const [X, Y] = f.px(mk.x, mk.y);
    if (X < left || X > left + w || Y < top || Y > top + h) continue;
    taken.push([X - 5, Y - 5, X + 5, Y + 5]);
    markerSvg.push(
      `<path class="marker" data-label="${esc(mk.label)}" d="M${X.toFixed(1)},${(Y - 5).toFixed(1)}l4.5,8h-9z" fill="#e41a1c" stroke="#fff" stroke-width="1"/>`,
    );
  }
  // labels: right, left, above or below the marker, the first place that overlaps nothing
  (m.markers ?? []).forEach((mk) => {
    if (!Number.isFinite(mk.x) || !Number.isFinite(mk.y)) return;
    const [X, Y] = f.px(mk.x, mk.y);
    if (X < left || X > left + w || Y < top || Y > top + h) return;
    const tw = textWidth(mk.label, 10);
    const cands: Array<{ box: Box; x: number; y: number; anchor: string }> = [
      { box: [X + 7, Y - 8, X + 7 + tw, Y + 4], x: X + 7, y: Y + 3, anchor: 'start' },
      { box: [X - 7 - tw, Y - 8, X - 7, Y + 4], x: X - 7, y: Y + 3, anchor: 'end' },
      { box: [X - tw / 2, Y - 19, X + tw / 2, Y - 7], x: X, y: Y - 9, anchor: 'middle' },
      { box: [X - tw / 2, Y + 6, X + tw / 2, Y + 18], x: X, y: Y + 15, anchor: 'middle' },
    ];
    const inside = (b: Box) => b[0] >= left && b[2] <= left + w && b[1] >= top && b[3] <= top + h;
    const pick =
      cands.find((c) => inside(c.box) && !taken.some((t) => overlaps(t, c.box))) ??
      cands.find((c) => inside(c.box)) ??
      cands[0]!;
    taken.push(pick.box);
    markerSvg.push(
      `<text class="marker-label" x="${pick.x.toFixed(1)}" y="${pick.y.toFixed(1)}" font-size="10" text-anchor="${pick.anchor}" stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">${esc(mk.label)}</text>`,
    );
  });
  parts.push(...markerSvg);

  let bottom = top + h;
  let right = left + w;
  if (geo && xTicks && yTicks) {
    for (const v of xTicks.values) {
      const X = f.px(v * disp, ymin)[0];
      parts.push(
        `<g class="xtick" data-value="${v}"><line x1="${X.toFixed(1)}" x2="${X.toFixed(1)}" y1="${top + h}" y2="${top + h + 4}" stroke="#333"/><text x="${X.toFixed(1)}" y="${top + h + 15}" font-size="11" text-anchor="middle">${formatTick(v, xTicks.decimals)}</text></g>`,
      );
    }
    yTicks.values.forEach((v, k) => {
      const Y = f.px(xmin, v * disp)[1];
      parts.push(
        `<g class="ytick" data-value="${v}"><line x1="${left - 4}" x2="${left}" y1="${Y.toFixed(1)}" y2="${Y.toFixed(1)}" stroke="#333"/><text x="${left - 6}" y="${(Y + 4).toFixed(1)}" font-size="11" text-anchor="end">${yLabels[k]}</text></g>`,
      );
    });
    const xTitle =
      crs.unit === 'deg'
        ? 'Longitude (°)'
        : crs.unit === 'unknown'
          ? `x (${unitName})`
          : `Easting (${unitName})`;
    const yTitle =
      crs.unit === 'deg'
        ? 'Latitude (°)'
        : crs.unit === 'unknown'
          ? `y (${unitName})`
          : `Northing (${unitName})`;
    parts.push(
      `<text x="${left + w / 2}" y="${top + h + 31}" font-size="11" text-anchor="middle">${esc(xTitle)}</text>`,
      `<text x="14" y="${top + h / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${top + h / 2})">${esc(yTitle)}</text>`,
    );
    bottom = top + h + 36;
    const xLast = xTicks.values.length ? xTicks.values[xTicks.values.length - 1]! : 0;
    right = Math.max(right, f.px(xLast * disp, 0)[0] + textWidth(formatTick(xLast, xTicks.decimals), 11) / 2);

    // scale bar: the largest 1-2-5 length up to a quarter of the map's width
    const perPx =
      crs.unit === 'deg'
        ? (g.dx * metresPerDegreeLon(latC)) / pxW
        : linear
          ? (g.dx * METRES_PER_UNIT[crs.unit as 'm' | 'ft' | 'us-ft']) / pxW
          : g.dx / pxW; // map units
    const want = (w / 4) * perPx;
    const p10 = 10 ** Math.floor(Math.log10(want));
    const len = [5, 2, 1].map((k) => k * p10).find((v) => v <= want) ?? p10;
    const lenPx = len / perPx;
    const metric = crs.unit !== 'unknown';
    const label = metric
      ? len >= 1000
        ? `${num4(len / 1000)} km`
        : `${num4(len)} m`
      : `${num4(len)} map units`;
    const sy = bottom + 16;
    const sx = left;
    parts.push(
      `<g class="scalebar" data-length="${len}" data-length-unit="${metric ? 'm' : 'map units'}" data-px="${lenPx.toFixed(3)}">` +
        `<rect x="${sx}" y="${sy}" width="${(lenPx / 2).toFixed(2)}" height="5" fill="#222" stroke="#222"/>` +
        `<rect x="${(sx + lenPx / 2).toFixed(2)}" y="${sy}" width="${(lenPx / 2).toFixed(2)}" height="5" fill="#fff" stroke="#222"/>` +
        `<text x="${sx}" y="${sy - 3}" font-size="10" text-anchor="middle">0</text>` +
        `<text x="${(sx + lenPx).toFixed(2)}" y="${sy - 3}" font-size="10" text-anchor="middle">${esc(label)}</text></g>`,
    );
    // north: the grid's y axis points up (true north only on a geographic grid)
    const nx = sx + lenPx + textWidth(label, 10) / 2 + 24;
    const northNote =
      crs.unit === 'deg'
        ? `North up; scale true at ${num4(Math.abs(latC))}° ${latC >= 0 ? 'N' : 'S'}`
        : 'Grid north up';
    parts.push(
      `<g class="north"><path d="M${nx},${sy + 6}l5,-16l5,16l-5,-4z" fill="#222"/><text x="${nx + 5}" y="${sy + 18}" font-size="9" text-anchor="middle">N</text>` +
        `<text x="${nx + 16}" y="${sy + 5}" font-size="10">${esc(northNote)}</text></g>`,
    );
    right = Math.max(right, nx + 16 + textWidth(northNote, 10));
    const crsLine = crs.code
      ? `CRS ${crs.code}${crs.name ? ` (${crs.name})` : ''}`.slice(0, 90)
      : 'CRS unknown: coordinates in the file’s units';
    parts.push(
      `<text class="crs" x="${sx}" y="${sy + 30}" font-size="10" fill="#444">${esc(crsLine)}</text>`,
    );
    right = Math.max(right, sx + textWidth(crsLine, 10));
    bottom = sy + 36;
  } else {
    bottom = top + h + 6;
  }

  // colour bar: high values at the top; triangles when values fall beyond the range
  const barX = Math.ceil(left + w + 26);
  const n = m.colormap.anchors.length - 1;
  const stops = m.colormap.anchors.map(
    (_, i) => `<stop offset="${i / n}" stop-color="rgb(${m.colormap.anchors[n - i]!.join(',')})"/>`,
  );
  const ticks = niceTicksInside(lo, hi, Math.max(3, Math.min(6, Math.round(h / 55))), 2);
  const tickSvg = ticks.values.map((v) => {
    const y = top + (1 - (v - lo) / (hi - lo)) * h;
    const t = formatTick(v, ticks.decimals);
    return `<g class="cbar-tick" data-value="${v}"><line x1="${barX + 16}" x2="${barX + 20}" y1="${y.toFixed(2)}" y2="${y.toFixed(2)}" stroke="#333"/><text x="${barX + 23}" y="${(y + 4).toFixed(2)}" font-size="11">${t}</text></g>`;
  });
  const tickW = Math.max(0, ...ticks.values.map((v) => textWidth(formatTick(v, ticks.decimals), 11)));
  const rgb = (a: readonly [number, number, number]) => `rgb(${a.join(',')})`;
  const tri = [
    above
      ? `<path class="cbar-extend-high" d="M${barX},${top - 2}h16l-8,-10z" fill="${rgb(m.colormap.anchors[n]!)}" stroke="#999"/>`
      : '',
    below
      ? `<path class="cbar-extend-low" d="M${barX},${top + h + 2}h16l-8,10z" fill="${rgb(m.colormap.anchors[0]!)}" stroke="#999"/>`
      : '',
  ];
  const unitsLabel = m.units ?? '';
  const [sa, sb] = m.stretch ?? [2, 98];
  const stretchNote = m.range ? '' : m.symmetric ? `±max(|P${sa}|, |P${sb}|)` : `P${sa}–P${sb}`;
  parts.push(
    `<defs><linearGradient id="${id}-cb" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>`,
    `<rect class="colourbar" data-lo="${lo}" data-hi="${hi}" x="${barX}" y="${top}" width="16" height="${h}" fill="url(#${id}-cb)" stroke="#999"/>`,
    ...tri,
    ...tickSvg,
    unitsLabel
      ? `<text class="cbar-units" x="${barX}" y="${top - (above ? 16 : 8)}" font-size="11">${esc(unitsLabel)}</text>`
      : '',
    stretchNote
      ? `<text x="${barX}" y="${top + h + (below ? 24 : 14)}" font-size="9" fill="#555">${esc(stretchNote)}</text>`
      : '',
  );
  const barRight = Math.max(
    barX + 23 + tickW,
    barX + textWidth(unitsLabel, 11),
    barX + textWidth(stretchNote, 9),
  );
  bottom = Math.max(bottom, top + h + (below ? 30 : 20));
  const width = Math.ceil(Math.max(barRight, right, 8 + textWidth(m.title, 14)) + 10);
  const height = Math.ceil(bottom + 6);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">
<rect width="${width}" height="${height}" fill="#fff"/>
<text x="8" y="20" font-size="14" font-weight="bold">${esc(m.title)}</text>
${parts.filter(Boolean).join('\n')}
</svg>`;
}

/** A small deterministic hash (Java's String.hashCode), for ids unique to a figure. */
function hashString(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Colour maps for rasters drawn as values, and rounded legend ticks.
 *
 * viridis, magma, cividis: 32 stops sampled evenly (index round(i·255/31)) from matplotlib's published
 * 256-entry lookup tables, `lib/matplotlib/_cm_listed.py` (van der Walt & Smith 2015; cividis: Nuñez,
 * Anderton & Renslow 2018, PLOS ONE 13(7) e0199239), quantised to 8 bits.
 * rdbu: ColorBrewer RdBu, 11 classes; precip: ColorBrewer YlGnBu, 9 classes (Brewer, colorbrewer2.org).
 */

export const COLORMAP_NAMES = ['viridis', 'cividis', 'magma', 'rdbu', 'precip'] as const;
export type ColormapName = (typeof COLORMAP_NAMES)[number];

const LUTS: Record<ColormapName, readonly string[]> = {
  viridis: [
    '#440154',
    '#470d60',
    '#48186a',
    '#482475',
    '#472e7c',
    '#453882',
    '#424186',
    '#3e4c8a',
    '#3a548c',
    '#365d8d',
    '#32658e',
    '#2e6d8e',
    '#2b758e',
    '#287d8e',
    '#25848e',
    '#228c8d',
    '#1f948c',
    '#1e9c89',
    '#20a386',
    '#25ab82',
    '#2eb37c',
    '#3aba76',
    '#48c16e',
    '#58c765',
    '#69cd5b',
    '#7fd34e',
    '#93d741',
    '#a8db34',
    '#bddf26',
    '#d5e21a',
    '#eae51a',
    '#fde725',
  ],
  cividis: [
    '#00224e',
    '#00285b',
    '#002e6a',
    '#083370',
    '#1c396f',
    '#293f6e',
    '#33446d',
    '#3d4a6c',
    '#45506c',
    '#4d556c',
    '#555b6d',
    '#5c616e',
    '#646770',
    '#6b6d72',
    '#727274',
    '#787877',
    '#807f78',
    '#888578',
    '#908b78',
    '#979177',
    '#a09875',
    '#a89e73',
    '#b0a571',
    '#b9ab6d',
    '#c1b26a',
    '#cbb965',
    '#d3c05f',
    '#dcc859',
    '#e5cf52',
    '#efd748',
    '#f8df3c',
    '#fee838',
  ],
  magma: [
    '#000004',
    '#030312',
    '#0a0822',
    '#140e36',
    '#1e1149',
    '#2a115c',
    '#38106c',
    '#471078',
    '#54137d',
    '#601880',
    '#6d1d81',
    '#792282',
    '#882781',
    '#942c80',
    '#a1307e',
    '#ae347b',
    '#bd3977',
    '#ca3e72',
    '#d6456c',
    '#e24d66',
    '#ec5860',
    '#f3655c',
    '#f8745c',
    '#fb835f',
    '#fd9266',
    '#fea36f',
    '#feb27a',
    '#fec185',
    '#fecf92',
    '#fde0a1',
    '#fceeb0',
    '#fcfdbf',
  ],
  rdbu: [
    '#67001f',
    '#b2182b',
    '#d6604d',
    '#f4a582',
    '#fddbc7',
    '#f7f7f7',
    '#d1e5f0',
    '#92c5de',
    '#4393c3',
    '#2166ac',
    '#053061',
  ],
  precip: ['#ffffd9', '#edf8b1', '#c7e9b4', '#7fcdbb', '#41b6c4', '#1d91c0', '#225ea8', '#253494', '#081d58'],
};

export type Rgb = [number, number, number];

function parseHex(h: string): Rgb {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** True when `name` is a known colour map. */
export function isColormap(name: unknown): name is ColormapName {
  return typeof name === 'string' && (COLORMAP_NAMES as readonly string[]).includes(name);
}

/** The stops of a colour map, evenly spaced over [0, 1]. Unknown names give viridis. */
export function colormapStops(name: string | undefined): Rgb[] {
  return (LUTS[isColormap(name) ? name : 'viridis'] ?? LUTS.viridis).map(parseHex);
}

/** The colour at `t` in [0, 1] (clamped; NaN gives the first stop), linearly interpolated between stops. */
export function sampleColormap(name: string | undefined, t: number): Rgb {
  const stops = colormapStops(name);
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const f = x * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(f));
  const a = stops[i]!;
  const b = stops[i + 1]!;
  const w = f - i;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * w)) as Rgb;
}

/**
 * An OpenLayers style expression mapping `value` linearly onto the colour map between the style
 * variables `min` and `max` (max > min; a restyle only updates variables):
 * `['interpolate', ['linear'], t, ...]` with t = (value − min) / (max − min), clamped to [0, 1].
 */
export function colorExpression(name: string | undefined, value: unknown = ['band', 1]): unknown[] {
  const stops = colormapStops(name);
  // max > min always (displayRange widens a degenerate range), so the division is defined
  const t = ['clamp', ['/', ['-', value, ['var', 'min']], ['-', ['var', 'max'], ['var', 'min']]], 0, 1];
  const out: unknown[] = ['interpolate', ['linear'], t];
  stops.forEach((c, i) => out.push(i / (stops.length - 1), [...c, 1]));
  return out;
}

/**
 * RGBA bytes of `data` coloured like the WebGL path (`colorExpression`): t = (value − min) /
 * (max − min) clamped to [0, 1], linear between the colour map's evenly spaced stops, rounded to
 * 8 bits; log10 of the value when `range.log`. NaN (nodata, inactive) and, under log, values ≤ 0
 * are transparent.
 */
export function colourize(
  data: Float32Array,
  range: { min: number; max: number; log: boolean },
  colormap: string | undefined,
): Uint8ClampedArray<ArrayBuffer> {
  const stops = colormapStops(colormap);
  const last = stops.length - 1;
  // per interval k: the start colour and its change to the next stop (+0.5: `| 0` then rounds)
  const r0 = new Float64Array(last);
  const g0 = new Float64Array(last);
  const b0 = new Float64Array(last);
  const dr = new Float64Array(last);
  const dg = new Float64Array(last);
  const db = new Float64Array(last);
  for (let k = 0; k < last; k++) {
    const [ar, ag, ab] = stops[k]!;
    const [br, bg, bb] = stops[k + 1]!;
    r0[k] = ar + 0.5;
    g0[k] = ag + 0.5;
    b0[k] = ab + 0.5;
    dr[k] = br - ar;
    dg[k] = bg - ag;
    db[k] = bb - ab;
  }
  const out = new Uint8ClampedArray(data.length * 4);
  // one 32-bit store per cell: bytes R, G, B, A in memory order on little-endian machines
  const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const px = new Uint32Array(out.buffer);
  const min = range.min;
  const scale = last / (range.max - range.min); // max > min: displayRange widens a degenerate range
  const log = range.log;
  for (let i = 0; i < data.length; i++) {
    let v = data[i]!;
    if (log) v = v > 0 ? Math.log10(v) : NaN;
    if (v !== v) continue; // transparent (the buffer starts at 0)
    // f = t·last with t = (v − min) / (max − min) clamped to [0, 1]
    let f = (v - min) * scale;
    f = f > 0 ? (f < last ? f : last) : 0;
    const k = f >= last ? last - 1 : f | 0;
    const w = f - k;
    const r = (r0[k]! + dr[k]! * w) | 0;
    const g = (g0[k]! + dg[k]! * w) | 0;
    const b = (b0[k]! + db[k]! * w) | 0;
    px[i] = little
      ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0
      : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
  }
  return out;
}

/**
 * Heckbert's "nice number": a number close to x of the form {1, 2, 5, 10}·10^k, rounded or the
 * ceiling (P. Heckbert, "Nice numbers for graph labels", Graphics Gems, Academic Press 1990, pp. 61–63).
 */
export function niceNumber(x: number, round: boolean): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/**
 * Rounded ticks inside [min, max] for about `count` ticks, spaced by a Heckbert nice step (loose
 * labelling, then kept to the range so the ticks sit on a colour bar spanning exactly min..max).
 * Returns [] for a non-finite range and [min] when min == max. Values carry no float noise
 * (0.30000000000000004 is returned as 0.3).
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min > max) [min, max] = [max, min];
  if (min === max) return [min];
  const n = Math.max(2, Math.floor(count));
  const range = niceNumber(max - min, false);
  const step = niceNumber(range / (n - 1), true);
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const eps = step * 1e-9;
  const out: number[] = [];
  for (let v = Math.ceil((min - eps) / step) * step; v <= max + eps; v += step) {
    out.push(Number(v.toFixed(Math.min(20, decimals))));
    if (out.length > 1000) break;
  }
  return out;
}

/** Decimals to print the ticks of `niceTicks` with. */
export function tickDecimals(ticks: number[]): number {
  if (ticks.length < 2) return ticks[0] !== undefined && !Number.isInteger(ticks[0]) ? 2 : 0;
  const step = Math.abs(ticks[1]! - ticks[0]!);
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** A tick label: fixed decimals for ordinary magnitudes, exponent form for very large or small ones. */
export function formatTick(v: number, decimals: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(1);
  return v.toFixed(Math.min(decimals, 10));
}

import type { LayerStyle, RasterView } from '../../../../src-shared/ipc';

/** The value range a layer's colours span, in drawn units (log10 of the values when `log`). */
export interface DisplayRange {
  min: number;
  max: number;
  log: boolean;
}

/** Smallest positive value of the data (for a log range whose low end is zero or negative). */
function smallestPositive(data: Float32Array): number | null {
  let m = Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v > 0 && v < m) m = v;
  }
  return Number.isFinite(m) ? m : null;
}

/**
 * The range of a layer's colour ramp: the 2–98 % percentiles of the raster's valid values
 * (`percentile`, the default), its min and max (`minmax`), or the style's min/max (`manual`).
 * A degenerate range (max ≤ min, e.g. a dry day of rain) widens to [min, min + 1] so colours stay
 * defined; with `log` both ends are log10 of positive values.
 */
export function displayRange(view: Pick<RasterView, 'stats' | 'data'>, style: LayerStyle): DisplayRange {
  const log = style.log === true;
  const s = view.stats;
  let lo: number | null;
  let hi: number | null;
  const mode = style.range ?? 'percentile';
  if (mode === 'manual' && style.min !== undefined && style.max !== undefined) {
    lo = style.min;
    hi = style.max;
  } else if (mode === 'minmax') {
    lo = s.min;
    hi = s.max;
  } else {
    lo = s.p2;
    hi = s.p98;
    if (lo !== null && hi !== null && hi <= lo) {
      lo = s.min;
      hi = s.max;
    }
  }
  if (lo === null || hi === null) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) [lo, hi] = [hi, lo];
  // a diverging map is centred on zero (differences, changes): the stretch is symmetric
  if (style.colormap === 'rdbu' && mode !== 'manual' && !log) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { min: -m, max: m, log };
  }
  if (log) {
    const floor = smallestPositive(view.data) ?? 1;
    const l = Math.log10(lo > 0 ? lo : Math.min(floor, hi > 0 ? hi : floor));
    const h = Math.log10(hi > 0 ? hi : floor);
    return h > l ? { min: l, max: h, log } : { min: l, max: l + 1, log };
  }
  return hi > lo ? { min: lo, max: hi, log } : { min: lo, max: lo + 1, log };
}

/** How a raster view is laid out in square tile pixels (cells that are not square are resampled). */
export interface TileLayout {
  /** Size of the raster in square pixels of side `resolution`. */
  width: number;
  height: number;
  resolution: number;
  /** Source columns (rows) per square pixel. */
  colStep: number;
  rowStep: number;
}

/** Square-pixel layout of a view: its cells when square, else nearest resampling at the finer side. */
export function tileLayout(view: Pick<RasterView, 'width' | 'height' | 'extent'>): TileLayout {
  const [x0, y0, x1, y1] = view.extent;
  const rx = (x1 - x0) / view.width;
  const ry = (y1 - y0) / view.height;
  if (Math.abs(rx - ry) <= 1e-9 * Math.max(rx, ry)) {
    return { width: view.width, height: view.height, resolution: rx, colStep: 1, rowStep: 1 };
  }
  // at most 4096 square pixels a side
  const r = Math.max(Math.min(rx, ry), Math.max(x1 - x0, y1 - y0) / 4096);
  const width = Math.max(1, Math.round((x1 - x0) / r));
  const height = Math.max(1, Math.round((y1 - y0) / r));
  return { width, height, resolution: r, colStep: view.width / width, rowStep: view.height / height };
}

/**
 * One tile of `size` × `size` square pixels, 2 bands interleaved: the value (log10 when `log`) and
 * an alpha of 1, or 0 where the value is NaN (nodata, inactive), not positive under `log`, or
 * outside the raster; tile (tx, ty) counts from the raster's top-left corner.
 */
export function sliceTile(
  data: Float32Array,
  dataWidth: number,
  layout: TileLayout,
  size: number,
  tx: number,
  ty: number,
  log: boolean,
): Float32Array {
  const out = new Float32Array(size * size * 2);
  const c0 = tx * size;
  const r0 = ty * size;
  const cols = Math.min(size, layout.width - c0);
  const rows = Math.min(size, layout.height - r0);
  const square = layout.colStep === 1 && layout.rowStep === 1;
  for (let r = 0; r < rows; r++) {
    const sr = square
      ? r0 + r
      : Math.min(Math.floor((r0 + r + 0.5) * layout.rowStep), data.length / dataWidth - 1);
    const rowAt = sr * dataWidth;
    let o = r * size * 2;
    for (let c = 0; c < cols; c++, o += 2) {
      const sc = square ? c0 + c : Math.min(Math.floor((c0 + c + 0.5) * layout.colStep), dataWidth - 1);
      let v = data[rowAt + sc]!;
      if (log) v = v > 0 ? Math.log10(v) : NaN;
      if (v === v) {
        out[o] = v;
        out[o + 1] = 1;
      }
    }
  }
  return out;
}

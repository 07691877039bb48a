import { describe, expect, it } from 'vitest';
import {
  COLORMAP_NAMES,
  colorExpression,
  colormapStops,
  formatTick,
  niceNumber,
  niceTicks,
  sampleColormap,
  tickDecimals,
} from '../../../src-renderer/src/lib/map/colormaps';
import { displayRange, sliceTile, tileLayout } from '../../../src-renderer/src/lib/map/rasterData';

describe('colour maps', () => {
  it("start and end on matplotlib's and ColorBrewer's published colours", () => {
    // matplotlib _cm_listed.py: viridis[0] = (0.267004, 0.004874, 0.329415), viridis[255] = (0.993248, 0.906157, 0.143936)
    expect(colormapStops('viridis')[0]).toEqual([0x44, 0x01, 0x54]);
    expect(colormapStops('viridis').at(-1)).toEqual([253, 231, 37]);
    // cividis[0] = (0, 0.135112, 0.304751) → (0, 34, 78); cividis[255] = (0.995737, 0.909344, 0.217772) → (254, 232, 56)
    expect(colormapStops('cividis')[0]).toEqual([0, 34, 78]);
    expect(colormapStops('cividis').at(-1)).toEqual([254, 232, 56]);
    // magma[255] = (0.987053, 0.991438, 0.749504) → (252, 253, 191)
    expect(colormapStops('magma').at(-1)).toEqual([252, 253, 191]);
    expect(colormapStops('rdbu')).toHaveLength(11);
    expect(colormapStops('rdbu')[5]).toEqual([247, 247, 247]);
    expect(colormapStops('precip')[0]).toEqual([255, 255, 217]);
    expect(colormapStops('precip').at(-1)).toEqual([8, 29, 88]);
  });

  it('perceptual maps get lighter monotonically (luminance never drops between stops)', () => {
    // Rec. 709 relative luminance weights
    const lum = ([r, g, b]: number[]) => 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    for (const name of ['viridis', 'magma', 'cividis', 'precip'] as const) {
      const l = colormapStops(name).map(lum);
      const ordered = name === 'precip' ? l.map((x) => -x) : l;
      for (let i = 1; i < ordered.length; i++)
        expect(ordered[i]!).toBeGreaterThanOrEqual(ordered[i - 1]! - 1);
    }
  });

  it('samples by linear interpolation and clamps', () => {
    expect(sampleColormap('viridis', -3)).toEqual([0x44, 0x01, 0x54]);
    expect(sampleColormap('viridis', 7)).toEqual([253, 231, 37]);
    expect(sampleColormap('rdbu', 0.5)).toEqual([247, 247, 247]);
    // midway between rdbu stops 0 (103,0,31) and 1 (178,24,43)
    expect(sampleColormap('rdbu', 0.05)).toEqual([141, 12, 37]);
    expect(sampleColormap('nope', 0)).toEqual(sampleColormap('viridis', 0));
  });

  it('builds an OpenLayers interpolate expression over the min/max style variables', () => {
    for (const name of COLORMAP_NAMES) {
      const e = colorExpression(name);
      expect(e[0]).toBe('interpolate');
      const n = colormapStops(name).length;
      expect(e.length).toBe(3 + 2 * n);
      expect(e[3]).toBe(0);
      expect(e.at(-2)).toBe(1);
      expect(JSON.stringify(e[2])).toContain('["var","min"]');
      expect(JSON.stringify(e[2])).toContain('["var","max"]');
    }
  });
});

describe('niceTicks (Heckbert)', () => {
  it('picks 1, 2, 5 × 10^k numbers', () => {
    expect(niceNumber(0.73, true)).toBe(1);
    expect(niceNumber(0.63, true)).toBe(0.5);
    expect(niceNumber(0.73, false)).toBe(1);
    expect(niceNumber(27, true)).toBe(20);
    expect(niceNumber(27, false)).toBe(50);
    expect(niceNumber(4500, true)).toBe(5000);
  });

  it('gives rounded ticks inside the range', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.13, 0.97, 5)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(-1.2, 3.7, 5)).toEqual([-1, 0, 1, 2, 3]);
    expect(niceTicks(1013.2, 1016.9, 4)).toEqual([1014, 1016]);
    expect(niceTicks(0.1, 0.3, 3)).toEqual([0.1, 0.2, 0.3]);
    expect(niceTicks(0.0012, 0.0049, 4)).toEqual([0.002, 0.004]);
    expect(niceTicks(0.0012, 0.0049, 6)).toEqual([0.002, 0.003, 0.004]);
  });

  it('handles reversed, empty and non-finite ranges', () => {
    expect(niceTicks(100, 0, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(Number.NaN, 3)).toEqual([]);
    expect(niceTicks(0, Infinity)).toEqual([]);
  });

  it('formats ticks with the decimals of their step', () => {
    const t = niceTicks(0.13, 0.97, 5);
    expect(tickDecimals(t)).toBe(1);
    expect(t.map((v) => formatTick(v, tickDecimals(t)))).toEqual(['0.2', '0.4', '0.6', '0.8']);
    expect(tickDecimals(niceTicks(0, 100, 5))).toBe(0);
    expect(formatTick(2.5e7, 0)).toBe('2.5e+7');
  });
});

const stats = { count: 4, min: 0, max: 100, mean: 40, p2: 2, p98: 90 };

describe('raster display range', () => {
  const data = new Float32Array([0, 10, 100, NaN]);
  it('uses the 2–98 % percentiles by default, min/max or manual on request', () => {
    expect(displayRange({ stats, data }, {})).toEqual({ min: 2, max: 90, log: false });
    expect(displayRange({ stats, data }, { range: 'minmax' })).toEqual({ min: 0, max: 100, log: false });
    expect(displayRange({ stats, data }, { range: 'manual', min: 5, max: 7 })).toEqual({
      min: 5,
      max: 7,
      log: false,
    });
  });
  it('widens a degenerate range and logs positive ends', () => {
    const dry = { ...stats, min: 0, max: 0, p2: 0, p98: 0 };
    expect(displayRange({ stats: dry, data: new Float32Array(4) }, {})).toEqual({
      min: 0,
      max: 1,
      log: false,
    });
    // log10(10) = 1 (smallest positive value stands in for 0), log10(100) = 2
    expect(displayRange({ stats, data }, { range: 'minmax', log: true })).toEqual({
      min: 1,
      max: 2,
      log: true,
    });
  });
});

describe('tiles sliced from a raster view', () => {
  it('keeps values, marks NaN and outside cells transparent, logs on request', () => {
    // 3 x 2 raster, 2 x 2 tiles
    const data = new Float32Array([1, 2, NaN, 10, 100, 1000]);
    const layout = tileLayout({ width: 3, height: 2, extent: [0, 0, 30, 20] });
    expect(layout).toMatchObject({ width: 3, height: 2, resolution: 10 });
    expect(Array.from(sliceTile(data, 3, layout, 2, 0, 0, false))).toEqual([1, 1, 2, 1, 10, 1, 100, 1]);
    // right tile: NaN then outside, 1000 then outside
    expect(Array.from(sliceTile(data, 3, layout, 2, 1, 0, false))).toEqual([0, 0, 0, 0, 1000, 1, 0, 0]);
    expect(Array.from(sliceTile(data, 3, layout, 2, 0, 0, true))).toEqual(
      [0, 1, Math.log10(2), 1, 1, 1, 2, 1].map(Math.fround),
    );
  });
  it('resamples cells that are not square onto square pixels', () => {
    // 2 x 1 raster of 10 x 20 cells → 2 x 2 square pixels of 10, each source row drawn twice
    const layout = tileLayout({ width: 2, height: 1, extent: [0, 0, 20, 20] });
    expect(layout).toMatchObject({ width: 2, height: 2, resolution: 10 });
    expect(Array.from(sliceTile(new Float32Array([5, 6]), 2, layout, 2, 0, 0, false))).toEqual([
      5, 1, 6, 1, 5, 1, 6, 1,
    ]);
  });
});

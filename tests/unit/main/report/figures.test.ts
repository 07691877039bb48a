import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Grid } from '../../../../src-shared/types/grid';
import { FieldcalError } from '../../../../src-shared/ipc';
import { mapSvg, svgToPng } from '../../../../src-main/services/report/svg';
import { hydrographSvg } from '../../../../src-main/services/report/hydrograph';
import { writeGaugesReport } from '../../../../src-main/services/report/gaugesReport';
import { writeGriddedReport } from '../../../../src-main/services/report/gridReport';
import { niceNum, niceTicksInside, dateTicks } from '../../../../src-main/services/report/ticks';
import { RDBU, VIRIDIS } from '../../../../src-main/services/report/colormap';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gridOfRaster, openFolderStack } from '../../../../src-main/services/rasters/stack';
import { decodeD8 } from '../../../../src-main/services/grid/flowdir';
import { delineateCatchment } from '../../../../src-main/services/grid/catchment';
import { readSmashGauges, seriesWindow } from '../../../../src-main/services/grid/gauges';

const LEZ = 'resources/sample-data/lez';
const PNG_DIR = '/tmp/fieldcal-figures';

// ---- small SVG readers (regular expressions over the markup the figures write) ----

/** Attributes of every element `<tag ... class="cls" ...>`. */
function elements(svg: string, tag: string, cls: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  const re = new RegExp(`<${tag}\\s[^>]*class="${cls}"[^>]*>`, 'g');
  for (const m of svg.matchAll(re)) {
    const attrs: Record<string, string> = {};
    for (const a of m[0].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    out.push(attrs);
  }
  return out;
}
const one = (svg: string, tag: string, cls: string) => {
  const e = elements(svg, tag, cls);
  expect(e.length).toBe(1);
  return e[0]!;
};
const numAttr = (e: Record<string, string>, k: string) => {
  expect(e[k], `attribute ${k}`).toBeDefined();
  return Number(e[k]);
};

/** numpy.percentile (linear) written out again here, independently of the report's code. */
function npPercentile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  const h = (v.length - 1) * (p / 100);
  const f = Math.floor(h);
  return f + 1 < v.length ? v[f]! + (h - f) * (v[f + 1]! - v[f]!) : v[f]!;
}

/** A mantissa of 1, 2 or 5 (times a power of ten). */
function isNiceStep(d: number): boolean {
  const e = Math.floor(Math.log10(d) + 1e-12);
  const m = d / 10 ** e;
  return [1, 2, 5, 10].some((k) => Math.abs(m - k) < 1e-9);
}

/** Checks ticks: at least 2, evenly spaced by a 1-2-5 step, every value a multiple of it, inside [lo, hi]. */
function expectNiceTicks(values: number[], lo: number, hi: number) {
  expect(values.length).toBeGreaterThanOrEqual(2);
  const step = values[1]! - values[0]!;
  expect(isNiceStep(step)).toBe(true);
  for (let i = 0; i < values.length; i++) {
    expect(values[i]!).toBeGreaterThanOrEqual(lo - 1e-9 * Math.abs(step));
    expect(values[i]!).toBeLessThanOrEqual(hi + 1e-9 * Math.abs(step));
    const k = values[i]! / step;
    expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-6);
    if (i) expect(values[i]! - values[i - 1]!).toBeCloseTo(step, 9);
  }
}

/** Rings of an SVG path made of M/L/Z commands. */
function rings(d: string): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  for (const m of d.matchAll(/([MLZ])([^MLZ]*)/g)) {
    if (m[1] === 'M') out.push([]);
    if (m[1] === 'Z') continue;
    const [x, y] = m[2]!.split(',').map(Number);
    out[out.length - 1]!.push([x!, y!]);
  }
  return out;
}
/** Even-odd point-in-polygon over every ring (the path's fill-rule). */
function insideEvenOdd(x: number, y: number, rs: Array<Array<[number, number]>>): boolean {
  let odd = false;
  for (const ring of rs)
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd;
    }
  return odd;
}

/** A seeded generator (mulberry32), so the synthetic fields are the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** NSE (Nash & Sutcliffe 1970) written out here over pairs with both values. */
function nseRef(o: ArrayLike<number>, s: ArrayLike<number>): number {
  const p: Array<[number, number]> = [];
  for (let i = 0; i < o.length; i++)
    if (Number.isFinite(o[i]!) && Number.isFinite(s[i]!)) p.push([o[i]!, s[i]!]);
  const mo = p.reduce((t, [a]) => t + a, 0) / p.length;
  const num = p.reduce((t, [a, b]) => t + (b - a) ** 2, 0);
  const den = p.reduce((t, [a]) => t + (a - mo) ** 2, 0);
  return 1 - num / den;
}

// a 1 km grid in Lambert-93 with an irregular mask: a blob, a hole, a diagonal-only neighbour and an island
const ROWS = 12;
const COLS = 18;
function testGrid(): Grid {
  const mask = new Uint8Array(ROWS * COLS);
  for (let r = 0; r < ROWS; r++)
    for (let c = 0; c < COLS; c++) mask[r * COLS + c] = (r - 5.5) ** 2 / 20 + (c - 8) ** 2 / 40 < 1 ? 1 : 0;
  mask[5 * COLS + 8] = 0; // a hole
  mask[6 * COLS + 8] = 0;
  mask[0 * COLS + 17] = 1; // an island in the corner
  mask[1 * COLS + 16] = 1; // touching it only diagonally
  return { crs: 'EPSG:2154', x0: 760_000, y0: 6_300_000, dx: 1000, dy: 1000, rows: ROWS, cols: COLS, mask };
}

describe('nice numbers (Heckbert 1990)', () => {
  it('rounds to 1, 2, 5 times a power of ten and keeps ticks inside the range', () => {
    expect([0.7, 1.4, 2.9, 6.9, 7.2].map((x) => niceNum(x, true))).toEqual([1, 1, 2, 5, 10]);
    expect([niceNum(1.01, false), niceNum(2.5, false), niceNum(6, false)]).toEqual([2, 5, 10]);
    const t = niceTicksInside(0.1234, 0.9876, 5);
    expect(t.values).toEqual([0.2, 0.4, 0.6, 0.8]);
    const u = niceTicksInside(6_271.3, 6_288.9, 5);
    expectNiceTicks(u.values, 6_271.3, 6_288.9);
    // 0.1 + 0.2 prints as 0.3: values are rounded to the step's decimals
    expect(niceTicksInside(0.05, 0.35, 4).values).toContain(0.3);
  });

  it('dates: month ticks on the 1st, the year written where it changes', () => {
    const t0 = Date.UTC(2012, 7, 1);
    const t1 = Date.UTC(2013, 7, 1);
    const ticks = dateTicks(t0, t1, 10);
    for (const tk of ticks) expect(new Date(tk.time).getUTCDate()).toBe(1);
    expect(ticks.map((t) => t.label)).toEqual(['Sep', 'Nov', 'Jan', 'Mar', 'May', 'Jul']);
    expect(ticks.filter((t) => t.year).map((t) => t.year)).toEqual(['2012', '2013']);
    expect(dateTicks(Date.UTC(2000, 0, 1), Date.UTC(2020, 0, 1), 10).map((t) => t.label)).toEqual([
      '2000',
      '2005',
      '2010',
      '2015',
      '2020',
    ]);
  });
});

describe('map figure', () => {
  const grid = testGrid();
  const rand = rng(7);
  const values = Float64Array.from({ length: ROWS * COLS }, (_, i) =>
    i % 23 === 0 ? Number.NaN : 50 + 100 * rand() ** 2 + (i % COLS),
  );
  values[3 * COLS + 6] = 10_000; // an outlier the 98 % stretch leaves out
  const svg = mapSvg({
    title: 'Parameter test',
    values,
    rows: ROWS,
    cols: COLS,
    mask: grid.mask,
    colormap: VIRIDIS,
    units: 'mm',
    georef: grid,
    outline: true,
    markers: [
      { x: 768_500, y: 6_294_500, label: 'G1' },
      { x: 769_500, y: 6_294_500, label: 'G2' },
      { x: 900_000, y: 6_294_500, label: 'outside' },
    ],
  });
  const valid = Array.from(values).filter((v, i) => Number.isFinite(v) && grid.mask![i] === 1);

  it('stretches the colour bar to the 2 % and 98 % percentiles of the active cells', () => {
    const bar = one(svg, 'rect', 'colourbar');
    expect(numAttr(bar, 'data-lo')).toBeCloseTo(npPercentile(valid, 2), 10);
    expect(numAttr(bar, 'data-hi')).toBeCloseTo(npPercentile(valid, 98), 10);
    // values beyond the range: triangles at both ends (the outlier above, the low tail below)
    expect(elements(svg, 'path', 'cbar-extend-high')).toHaveLength(1);
    expect(elements(svg, 'path', 'cbar-extend-low')).toHaveLength(1);
  });

  it('puts nice-number ticks inside the colour range and the grid extent (in km)', () => {
    const bar = one(svg, 'rect', 'colourbar');
    const lo = Number(bar['data-lo']);
    const hi = Number(bar['data-hi']);
    const cb = elements(svg, 'g', 'cbar-tick').map((e) => Number(e['data-value']));
    expectNiceTicks(cb, lo, hi);
    // each tick's label is its value printed without float noise
    for (const m of svg.matchAll(/class="cbar-tick" data-value="([^"]+)">.*?<text[^>]*>([^<]+)<\/text>/g))
      expect(Number(m[2])).toBe(Number(m[1]));
    const xt = elements(svg, 'g', 'xtick').map((e) => Number(e['data-value']));
    expectNiceTicks(xt, 760, 778);
    const yt = elements(svg, 'g', 'ytick').map((e) => Number(e['data-value']));
    expectNiceTicks(yt, 6288, 6300);
    expect(svg).toContain('Easting (km)');
    expect(svg).toContain('Northing (km)');
    expect(svg).toContain('EPSG:2154 (RGF93 v1 / Lambert-93)');
    expect(svg).toContain('Grid north up');
  });

  it('draws a scale bar whose length in map units matches its label', () => {
    const img = svg.match(/<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/)!;
    const metresPerPx = (COLS * 1000) / Number(img[3]);
    const sb = one(svg, 'g', 'scalebar');
    const lenPx = numAttr(sb, 'data-px');
    const label = svg.match(/class="scalebar"[\s\S]*?<\/g>/)![0].match(/>([\d.]+) km</)!;
    expect(lenPx * metresPerPx).toBeCloseTo(Number(label[1]) * 1000, 6);
    // the drawn segments add up to the same length
    const rects = [...svg.match(/class="scalebar"[\s\S]*?<\/g>/)![0].matchAll(/width="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(rects[0]! + rects[1]!).toBeCloseTo(lenPx, 1);
    // a quarter of the width or less, and more than a tenth of it
    expect(lenPx).toBeLessThanOrEqual(Number(img[3]) / 4 + 1e-9);
    expect(lenPx).toBeGreaterThan(Number(img[3]) / 10);
  });

  it('traces the catchment outline along cell edges: exactly the masked cells are inside', () => {
    const img = svg
      .match(/<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/)!
      .slice(1)
      .map(Number);
    const [ix, iy, iw, ih] = img as [number, number, number, number];
    const rs = rings(one(svg, 'path', 'outline').d!);
    expect(rs.length).toBeGreaterThanOrEqual(3); // the outer ring, the hole and the island(s)
    let inside = 0;
    let wrong = 0;
    for (let r = 0; r < ROWS; r++)
      for (let c = 0; c < COLS; c++) {
        const x = ix + ((c + 0.5) * iw) / COLS;
        const y = iy + ((r + 0.5) * ih) / ROWS;
        const inn = insideEvenOdd(x, y, rs);
        if (inn) inside++;
        if (inn !== (grid.mask![r * COLS + c] === 1)) wrong++;
      }
    const maskSum = grid.mask!.reduce((t, v) => t + v, 0);
    expect(inside).toBe(maskSum);
    expect(wrong).toBe(0);
    // every vertex lies on a cell corner
    for (const ring of rs)
      for (const [x, y] of ring) {
        const c = ((x - ix) * COLS) / iw;
        const r = ((y - iy) * ROWS) / ih;
        expect(Math.abs(c - Math.round(c))).toBeLessThan(1e-6);
        expect(Math.abs(r - Math.round(r))).toBeLessThan(1e-6);
      }
  });

  it('places gauges inside the extent with their labels, skips those outside', () => {
    const marks = elements(svg, 'path', 'marker').map((e) => e['data-label']);
    expect(marks).toEqual(['G1', 'G2']);
    const labels = [...svg.matchAll(/class="marker-label"[^>]*>([^<]+)</g)].map((m) => m[1]);
    expect(labels).toEqual(['G1', 'G2']);
  });

  it('leaves inactive and NaN cells blank and uses a symmetric range for differences', () => {
    const diff = mapSvg({
      title: 'Difference',
      values: values.map((v) => v - 100),
      rows: ROWS,
      cols: COLS,
      mask: grid.mask,
      colormap: RDBU,
      symmetric: true,
    });
    const bar = one(diff, 'rect', 'colourbar');
    const d = valid.map((v) => v - 100);
    const a = Math.max(Math.abs(npPercentile(d, 2)), Math.abs(npPercentile(d, 98)));
    expect(numAttr(bar, 'data-lo')).toBeCloseTo(-a, 9);
    expect(numAttr(bar, 'data-hi')).toBeCloseTo(a, 9);
    expect(elements(diff, 'g', 'cbar-tick').map((e) => Number(e['data-value']))).toContain(0);
    // no axes without a georeference; the embedded raster is transparent outside the mask
    expect(elements(diff, 'g', 'xtick')).toHaveLength(0);
    expect(diff).not.toContain('#f2f2f2');
  });

  it('writes degrees for a geographic grid', () => {
    const g = mapSvg({
      title: 'Lon/lat',
      values: Float64Array.from({ length: 20 * 30 }, (_, i) => i),
      rows: 20,
      cols: 30,
      colormap: VIRIDIS,
      georef: { x0: 3.5, y0: 44.0, dx: 0.02, dy: 0.02, crs: 'EPSG:4326' },
    });
    expect(g).toContain('Longitude (°)');
    expect(g).toContain('Latitude (°)');
    expectNiceTicks(
      elements(g, 'g', 'xtick').map((e) => Number(e['data-value'])),
      3.5,
      4.1,
    );
    expectNiceTicks(
      elements(g, 'g', 'ytick').map((e) => Number(e['data-value'])),
      43.6,
      44.0,
    );
    // the scale bar in metres uses the length of a degree of longitude at the mid latitude (43.8° N)
    const sb = one(g, 'g', 'scalebar');
    const img = g.match(/<image x="[\d.]+" y="[\d.]+" width="([\d.]+)"/)!;
    const mPerDeg = ((Math.PI * 6_371_008.8) / 180) * Math.cos((43.8 * Math.PI) / 180);
    const metres = numAttr(sb, 'data-px') * ((30 * 0.02 * mPerDeg) / Number(img[1]));
    expect(Math.abs(metres / numAttr(sb, 'data-length') - 1)).toBeLessThan(1e-5);
    expect(g).toContain('scale true at 43.8° N');
  });
});

describe('hydrograph figure', () => {
  const n = 400;
  const dates = Array.from({ length: n }, (_, i) => new Date(Date.UTC(2012, 7, 1) + i * 86_400_000));
  const rand = rng(3);
  const rain = Array.from({ length: n }, () => (rand() < 0.2 ? 40 * rand() : 0));
  const obs = new Float64Array(n);
  let s = 2;
  for (let i = 0; i < n; i++) obs[i] = s = 0.85 * s + 0.4 * rain[i]! + 0.3;
  obs[50] = Number.NaN;
  const sim = obs.map((v, i) => (Number.isFinite(v) ? v * 0.9 + Math.sin(i / 9) : 3));
  const cal = { name: 'calibration', start: dates[0]!, end: dates[199]! };
  const val = { name: 'validation', start: dates[200]!, end: dates[n - 1]! };
  const svg = hydrographSvg({
    title: 'Test gauge',
    dates,
    observed: obs,
    simulated: [{ name: 'model', values: sim }],
    rainfall: rain,
    periods: [cal, val],
  });

  it('hangs rainfall bars from the top of the plot on an inverted axis', () => {
    const panel = one(svg, 'rect', 'plot-rain');
    const top = numAttr(panel, 'y');
    const height = numAttr(panel, 'height');
    const max = numAttr(panel, 'data-max');
    const bars = elements(svg, 'rect', 'rain');
    expect(bars.length).toBe(rain.filter((v) => v > 0).length);
    for (const b of bars) {
      expect(numAttr(b, 'y')).toBe(top);
      expect(numAttr(b, 'height')).toBeCloseTo((numAttr(b, 'data-value') / max) * height, 1);
    }
    expect(max).toBeGreaterThanOrEqual(Math.max(...rain));
    // the rain axis reads 0 at the top
    const ticks = elements(svg, 'g', 'raintick').map((e) => Number(e['data-value']));
    expect(ticks[0]).toBe(0);
  });

  it('shades the calibration and validation periods over their dates', () => {
    const plot = one(svg, 'rect', 'plot-q');
    const px = (t: number) =>
      numAttr(plot, 'x') +
      ((t - numAttr(plot, 'data-t0')) / (numAttr(plot, 'data-t1') - numAttr(plot, 'data-t0'))) *
        numAttr(plot, 'width');
    const day = 86_400_000;
    const shades = elements(svg, 'rect', 'period');
    expect(shades.map((e) => e['data-kind'])).toEqual(['calibration', 'validation']);
    const c = shades[0]!;
    expect(numAttr(c, 'x')).toBeCloseTo(px(cal.start.getTime()), 1);
    expect(numAttr(c, 'x') + numAttr(c, 'width')).toBeCloseTo(px(cal.end.getTime() + day), 1);
    const v = shades[1]!;
    expect(numAttr(v, 'x')).toBeCloseTo(px(val.start.getTime()), 1);
    expect(numAttr(v, 'x') + numAttr(v, 'width')).toBeCloseTo(numAttr(plot, 'x') + numAttr(plot, 'width'), 1);
    // the plot starts at the first date
    expect(numAttr(plot, 'data-t0')).toBe(dates[0]!.getTime());
  });

  it('names NSE and KGE per period in the legend, and nice discharge ticks above the data', () => {
    const legend = svg.match(/class="legend-simulated"[\s\S]*?<text[^>]*>([^<]+)</)![1]!;
    const nCal = nseRef(obs.subarray(0, 200), sim.subarray(0, 200));
    const nVal = nseRef(obs.subarray(200), sim.subarray(200));
    expect(legend).toContain(`cal. NSE ${nCal.toFixed(2)}`);
    expect(legend).toContain(`val. NSE ${nVal.toFixed(2)}`);
    expect(legend).toMatch(/cal\. NSE -?[\d.]+, KGE -?[\d.]+; val\. NSE/);
    const qt = elements(svg, 'g', 'qtick').map((e) => Number(e['data-value']));
    const qmax = Math.max(...Array.from(obs).filter(Number.isFinite), ...sim);
    expectNiceTicks(qt, 0, qt[qt.length - 1]!);
    expect(qt[0]).toBe(0);
    expect(qt[qt.length - 1]!).toBeGreaterThanOrEqual(qmax);
    // month ticks on the 1st at midnight UTC
    const xt = elements(svg, 'g', 'xtick').map((e) => new Date(Number(e['data-time'])));
    expect(xt.length).toBeGreaterThanOrEqual(4);
    for (const d of xt) expect([d.getUTCDate(), d.getUTCHours()]).toEqual([1, 0]);
  });

  it('refuses series that do not match the dates', () => {
    expect(() =>
      hydrographSvg({ title: 'bad', dates, observed: obs.subarray(1), simulated: [] }),
    ).toThrowError(FieldcalError);
  });
});

describe('figures on the Lez sample data', () => {
  it('renders a map and a hydrograph to PNG, and writes a gauges report', async () => {
    const pet = await openFolderStack(join(LEZ, 'pet'), { crs: 'EPSG:2154' });
    const { rows, cols } = pet.grid;
    const fd = await GeoTiffRaster.open(join(LEZ, 'France_flwdir.tif'));
    const flow = decodeD8(gridOfRaster(fd.info), await fd.readBandValues(0));
    await fd.close();
    const gauges = await readSmashGauges(LEZ);
    const catchment = delineateCatchment(
      flow,
      gauges.filter((g) => g.code === 'Y3204040'),
    );
    const mask = new Uint8Array(rows * cols);
    for (let r = 0; r < catchment.grid.rows; r++)
      for (let c = 0; c < catchment.grid.cols; c++)
        mask[r * cols + c] = catchment.grid.mask![r * catchment.grid.cols + c]!;
    const grid: Grid = { ...pet.grid, mask };
    const descriptor = async (name: string) => {
      const r = await GeoTiffRaster.open(join(LEZ, 'descriptor', `${name}.tif`));
      const v = await r.readBandValues(0);
      await r.close();
      return Float64Array.from(v);
    };
    const sws = await descriptor('soil_water_storage');
    const slope = await descriptor('slope');

    // one year of daily data: catchment-mean rainfall, observed discharge, persistence as the "simulation"
    const prcp = await openFolderStack(join(LEZ, 'prcp'), { crs: 'EPSG:2154' });
    const first = prcp.steps.findIndex((s) => s.time.getTime() === Date.UTC(2012, 7, 1));
    expect(first).toBeGreaterThanOrEqual(0);
    const days = 365;
    const dates = prcp.steps.slice(first, first + days).map((s) => s.time);
    const rainfall = new Float64Array(days);
    for (let t = 0; t < days; t++) {
      const f = await prcp.read(first + t);
      let sum = 0;
      let k = 0;
      for (let i = 0; i < f.length; i++)
        if (mask[i] && Number.isFinite(f[i]!)) {
          sum += f[i]!;
          k++;
        }
      rainfall[t] = sum / k;
    }
    const seriesOf = (code: string) => {
      const g = gauges.find((x) => x.code === code)!;
      const q = seriesWindow(g.series!, dates[0]!, dates[days - 1]!);
      const prev = seriesWindow(g.series!, new Date(dates[0]!.getTime() - 86_400_000), dates[days - 2]!);
      return { g, q, prev };
    };
    const main = seriesOf('Y3204040');
    expect(main.q.length).toBe(days);

    mkdirSync(PNG_DIR, { recursive: true });
    const map = mapSvg({
      title: 'Soil water storage, Lez catchment at Y3204040',
      values: sws,
      rows,
      cols,
      mask,
      colormap: VIRIDIS,
      units: 'mm',
      georef: grid,
      outline: true,
      markers: gauges.map((g) => ({ x: g.x, y: g.y, label: g.code })),
    });
    writeFileSync(join(PNG_DIR, 'map.svg'), map);
    writeFileSync(join(PNG_DIR, 'map.png'), svgToPng(map));
    // gauges inside the grid's extent are drawn; the outlet Y3204040 lies 873 m south of the forcing grid
    const inExtent = gauges.filter(
      (g) =>
        g.x >= grid.x0 &&
        g.x <= grid.x0 + cols * grid.dx &&
        g.y <= grid.y0 &&
        g.y >= grid.y0 - rows * grid.dy,
    );
    expect(inExtent.map((g) => g.code).sort()).toEqual(['Y3204010', 'Y3204030']);
    expect(
      elements(map, 'path', 'marker')
        .map((e) => e['data-label'])
        .sort(),
    ).toEqual(inExtent.map((g) => g.code).sort());
    const hyd = hydrographSvg({
      title: 'Y3204040 Le Lez à Montferrier-sur-Lez',
      dates,
      observed: main.q,
      simulated: [{ name: 'persistence (previous day)', values: main.prev }],
      rainfall,
      periods: [
        { name: 'calibration', start: dates[0]!, end: new Date(Date.UTC(2013, 0, 31)) },
        { name: 'validation', start: new Date(Date.UTC(2013, 1, 1)), end: dates[days - 1]! },
      ],
    });
    writeFileSync(join(PNG_DIR, 'hydrograph.svg'), hyd);
    writeFileSync(join(PNG_DIR, 'hydrograph.png'), svgToPng(hyd));
    expect(readFileSync(join(PNG_DIR, 'hydrograph.png')).subarray(1, 4).toString()).toBe('PNG');

    // the gauges report
    const OUT = 'test-results/report-lez-gauges';
    rmSync(OUT, { recursive: true, force: true });
    const codes = ['Y3204040', 'Y3204030', 'Y3204010'];
    const periods = [
      { name: 'calibration', start: '2012-08-01', end: '2013-01-31' },
      { name: 'validation', start: '2013-02-01', end: '2013-07-31' },
    ];
    const given = { nse: 0.8123, kge: 0.7456 };
    const r = await writeGaugesReport({
      dir: OUT,
      title: 'Lez: persistence at three gauges',
      description: 'Observed discharge against the previous day’s discharge (persistence), a baseline.',
      dates,
      gauges: codes.map((code) => {
        const s = seriesOf(code);
        return {
          code,
          observed: s.q,
          simulated: s.prev,
          rainfall: code === 'Y3204040' ? rainfall : null,
          x: s.g.x,
          y: s.g.y,
        };
      }),
      periods,
      scores: { Y3204040: { calibration: given } },
      looScores: { Y3204040: { nse: 0.5, kge: 0.6 }, Y3204030: { nse: 0.41, kge: 0.52 } },
      parameters: [
        { name: 'soil_water_storage', values: sws, units: 'mm' },
        { name: 'slope', values: slope, units: '°' },
      ],
      grid,
    });
    const expected = [
      ...codes.flatMap((c) => [`hydrograph-${c.toLowerCase()}.svg`, `hydrograph-${c.toLowerCase()}.png`]),
      'map-parameter-soil-water-storage.svg',
      'map-parameter-soil-water-storage.png',
      'map-parameter-slope.svg',
      'map-parameter-slope.png',
      'metrics.json',
      'index.html',
    ];
    expect(r.files.map((f) => f.split('/').pop()).sort()).toEqual([...expected].sort());
    for (const f of r.files) expect(existsSync(f)).toBe(true);
    for (const f of r.files.filter((x) => x.endsWith('.png')))
      expect(readFileSync(f).subarray(1, 4).toString()).toBe('PNG');
    const html = readFileSync(r.html, 'utf8');
    // each gauge named with its scores: the given ones as given, the others computed (NSE by hand here)
    const row = (code: string) =>
      html.match(new RegExp(`<tr><th><a href="#gauge-${code.toLowerCase()}">${code}</a>.*?</tr>`))![0];
    expect(row('Y3204040')).toContain('<td>0.81</td><td>0.75</td>');
    for (const code of codes) {
      const s = seriesOf(code);
      const i1 = dates.findIndex((d) => d.getTime() === Date.UTC(2013, 1, 1));
      expect(row(code)).toContain(`<td>${nseRef(s.q.subarray(i1), s.prev.subarray(i1)).toFixed(2)}*</td>`);
      expect(html).toContain(`<b>${code}</b>`);
    }
    expect(html).toContain('Leave-one-gauge-out');
    expect(html).toContain('<td>0.41</td><td>0.52</td>');
    expect(html).toContain('Nash &amp; Sutcliffe 1970');
    expect(html).toContain('Gupta et al. 2009');
    for (const f of expected.filter((x) => x.endsWith('.png'))) expect(html).toContain(`src="${f}"`);
    const metrics = JSON.parse(readFileSync(join(OUT, 'metrics.json'), 'utf8')) as {
      scores: Record<string, Record<string, { nse: number; computed: boolean }>>;
    };
    expect(metrics.scores.Y3204040!.calibration).toEqual({ nse: 0.8123, kge: 0.7456, computed: false });
    // the parameter maps carry the catchment outline and the three gauges
    const pmap = readFileSync(join(OUT, 'map-parameter-slope.svg'), 'utf8');
    expect(elements(pmap, 'path', 'outline')).toHaveLength(1);
    expect(elements(pmap, 'path', 'marker')).toHaveLength(2);
    expect(html).toContain('Not on the maps (outside the grid): Y3204040');

    // mismatched series are refused with the gauge named
    await expect(
      writeGaugesReport({
        dir: `${OUT}-bad`,
        title: 'bad',
        description: '',
        dates,
        gauges: [{ code: 'X', observed: main.q.subarray(1), simulated: main.prev, rainfall: null }],
        periods,
        scores: {},
        parameters: [],
        grid,
      }),
    ).rejects.toThrow(/Gauge X: observed has 364 values for 365 dates/);
  }, 60_000);

  it('keeps writeGriddedReport working with a georeferenced grid', async () => {
    const grid = testGrid();
    const steps = 5;
    const cells = ROWS * COLS;
    const obs = Float64Array.from({ length: steps * cells }, (_, i) => 1 + (i % 17) + Math.floor(i / cells));
    const sim = obs.map((v, i) => v + 0.2 * Math.sin(i));
    const OUT = 'test-results/report-georef-grid';
    rmSync(OUT, { recursive: true, force: true });
    const r = await writeGriddedReport({
      dir: OUT,
      title: 'georef',
      description: 'synthetic',
      obs,
      sim,
      simDefault: obs.map((v) => v + 1),
      dates: Array.from({ length: steps }, (_, t) => new Date(Date.UTC(2020, 0, 1 + t))),
      grid,
      units: 'mm',
      mapSteps: [2],
      gauges: [{ x: 768_500, y: 6_294_500, label: 'G1' }],
    });
    expect(r.files.filter((f) => f.endsWith('.png'))).toHaveLength(6 + 3 + 2);
  }, 60_000);
});

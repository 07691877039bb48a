import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobSpecSchema, type GaugesJobSpec, type Grid } from '../../src-shared/ipc';
import type { AssembleSpecInput, DatasetManifest } from '../../src-shared/types/assemble';
import { assembleDataset, type AssembleResult } from '../../src-main/services/datasets/assemble';
import { loadSmashDataset } from '../../src-main/services/datasets/smashDataset';
import { runGaugesJob } from '../../src-main/services/jobs/gaugesJob';
import type { MethodContext } from '../../src-main/services/calibration/method';
import { methodOptions, runMethod } from '../../src-main/services/calibration/registry';
import { griddedProblemFromDataset } from '../../src-main/services/calibration/gridded/fromDataset';
import { defaultFields, fullParams } from '../../src-main/services/calibration/gridded/problem';
import { LocalSimulator } from '../../src-main/services/calibration/gridded/simulator';
import { defaultSimulation, evaluateFields } from '../../src-main/services/calibration/gridded/evaluate';
import { readSmashGauges } from '../../src-main/services/grid/gauges';
import { transformer } from '../../src-main/services/rasters/crs';
import { writeGeoTiff } from '../../src-main/services/rasters/writeGeoTiff';
import { hasGdal } from '../helpers/gdal';
import { LEZ, gdalCells, hasScipy, lezStack, writeNetcdf } from '../helpers/assemble';
import { tempDir } from '../helpers/tmp';

/**
 * Issue 15's "Must show" matrix: inputs in the formats other people's data come in, each written by
 * this test from the Lez's own forcing (so a calibration on the result is meaningful), assembled onto
 * the catchment's model grid, its values checked against GDAL's reading of the same source cells
 * (converted by the scale/offset and time rule the manifest records), and a short calibration run end
 * to end on the assembled dataset (HDA-PR through the gauge job; a monthly soil-moisture target
 * through a gridded method). ESRI ASCII flow directions and forcing windows are covered in more
 * detail by tests/unit/main/datasets/assembleInputs.test.ts; here they take one row of the matrix.
 */
const START = '2012-09-01';
const END = '2012-11-30';
const L93 = 'EPSG:2154';
const LAEA = '+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +units=m +no_defs';
const DESCRIPTORS = ['drainage_density', 'karst', 'slope', 'soil_water_storage', 'urban', 'woodland'];
const FILL = -9999;

let tmp: ReturnType<typeof tempDir>;
const f = (n: string) => join(tmp.dir, n);
let P: Awaited<ReturnType<typeof lezStack>>;
let E: Awaited<ReturnType<typeof lezStack>>;
const ymd = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');

/** The base spec: Lez descriptors, France's flow directions and the Lez gauges; forcing named per case. */
const spec = (over: Partial<AssembleSpecInput>): AssembleSpecInput => ({
  name: 'case',
  out: f(`out-${Math.random().toString(36).slice(2)}`),
  start: START,
  end: END,
  crs: L93,
  forcing: [
    { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') } },
    { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') } },
  ],
  descriptors: DESCRIPTORS.map((n) => ({ name: n, path: join(LEZ, 'descriptor', `${n}.tif`) })),
  flowdir: { path: join(LEZ, 'France_flwdir.tif') },
  gauges: { format: 'smash', path: LEZ },
  ...over,
});

/** Active cells of an assembled dataset: (row, col) on the model grid and the centre's coordinates. */
function activeCells(grid: Grid): Array<{ i: number; row: number; col: number; x: number; y: number }> {
  const out: Array<{ i: number; row: number; col: number; x: number; y: number }> = [];
  for (let i = 0; i < grid.rows * grid.cols; i++)
    if (grid.mask![i])
      out.push({
        i,
        row: Math.floor(i / grid.cols),
        col: i % grid.cols,
        x: grid.x0 + ((i % grid.cols) + 0.5) * grid.dx,
        y: grid.y0 - (Math.floor(i / grid.cols) + 0.5) * grid.dy,
      });
  return out;
}

/** An assembled step (a GeoTIFF of the output) at the active cells, as GDAL reads it. */
function assembledAt(r: AssembleResult, sub: string, date: Date, hour = 0): number[] {
  const d = ymd(date);
  const file = join(
    r.path,
    sub,
    d.slice(0, 4),
    d.slice(4, 6),
    `${d}${String(hour).padStart(2, '0')}00_${sub}.tif`,
  );
  return gdalCells(
    file,
    activeCells(r.grid).map((c) => [c.col, c.row]),
  );
}

const inputOf = (m: DatasetManifest, role: string) => m.inputs.find((i) => i.role === role)!;

/** `a` equals `b` cell by cell to single precision (both sides went through Float32 files). */
function expectClose(a: number[], b: number[], what: string) {
  expect(a.length, what).toBe(b.length);
  a.forEach((v, k) => {
    expect(Number.isFinite(v), `${what} cell ${k}`).toBe(true);
    expect(Math.abs(v - b[k]!), `${what} cell ${k}: ${v} vs ${b[k]}`).toBeLessThanOrEqual(
      1e-6 * Math.max(1, Math.abs(b[k]!)),
    );
  });
}

/**
 * HDA-PR (a few iterations) through the gauge job on an assembled dataset: the job's own loader,
 * the learned fields written and read back by GDAL, NSE finite, the objective below its start.
 */
async function gaugeJob(dir: string, start: string, end: string, warmup: number) {
  const out = join(dir, '..', `${dir.split('/').at(-1)}-run`);
  const job = jobSpecSchema.parse({
    kind: 'gauges',
    method: 'hda-pr',
    dataset: { path: dir, start, end },
    warmup,
    seed: 1,
    options: { iterations: 8, hidden: [], learningRate: 0.01 },
  }) as GaugesJobSpec;
  const objectives: number[] = [];
  const ctx = {
    compute: {} as MethodContext['compute'],
    progress: (p: { objective: number }) => objectives.push(p.objective),
    cancelled: () => false,
  } as MethodContext;
  const r = await runGaugesJob(job, 1, out, ctx, () => undefined);
  const nse = r.metrics.filter((m) => m.metric === 'nse' && m.period === 'train');
  expect(nse.length).toBeGreaterThan(0);
  for (const m of nse) expect(Number.isFinite(m.value), `NSE ${m.target}`).toBe(true);
  expect(objectives.length).toBe(8);
  expect(objectives.at(-1)!).toBeLessThan(objectives[0]!);
  const x1 = r.artifacts.find((a) => a.path.endsWith('X1.tif'))!;
  expect(existsSync(x1.path)).toBe(true);
  const info = JSON.parse(execFileSync('gdalinfo', ['-json', '-stats', x1.path], { encoding: 'utf8' }));
  expect(Number(info.bands[0].metadata[''].STATISTICS_VALID_PERCENT)).toBeGreaterThan(0);
  return r;
}

beforeAll(async () => {
  tmp = tempDir('fieldcal-assemble-formats-');
  P = await lezStack('prcp', START, END);
  E = await lezStack('pet', START, END);
}, 60_000);
afterAll(() => tmp?.cleanup());

const ready = hasGdal && hasScipy;

describe.skipIf(!ready)('(a) unnamed NetCDF dimensions + (d) a non-CF time axis', () => {
  let r: AssembleResult;
  beforeAll(async () => {
    const g = P.grid;
    const T = P.dates.length;
    // (a) prcp on dim0/dim1/dim2 with coordinate variables that carry no attribute at all
    writeNetcdf(f('unnamed.nc'), { dim0: T, dim1: g.rows, dim2: g.cols }, [
      {
        name: 'dim0',
        type: 'f8',
        dims: ['dim0'],
        data: P.dates.map((_, k) => k),
        attrs: { units: `days since ${START}` },
      },
      {
        name: 'dim1',
        type: 'f8',
        dims: ['dim1'],
        data: Array.from({ length: g.rows }, (_, r) => g.y0 - (r + 0.5) * g.dy),
      },
      {
        name: 'dim2',
        type: 'f8',
        dims: ['dim2'],
        data: Array.from({ length: g.cols }, (_, c) => g.x0 + (c + 0.5) * g.dx),
      },
      {
        name: 'rain',
        type: 'f4',
        dims: ['dim0', 'dim1', 'dim2'],
        data: P.values.flatMap((v) => Array.from(v, (x) => (Number.isFinite(x) ? x : FILL))),
        attrs: { _FillValue: FILL },
      },
    ]);
    // (d) pet with time:units "day" (no reference date), y increasing (south row first), metres
    writeNetcdf(f('nocf.nc'), { time: T, y: g.rows, x: g.cols }, [
      { name: 'time', type: 'f8', dims: ['time'], data: E.dates.map((_, k) => k), attrs: { units: 'day' } },
      {
        name: 'y',
        type: 'f8',
        dims: ['y'],
        data: Array.from({ length: g.rows }, (_, r) => g.y0 - (g.rows - r - 0.5) * g.dy),
        attrs: { standard_name: 'projection_y_coordinate', units: 'm' },
      },
      {
        name: 'x',
        type: 'f8',
        dims: ['x'],
        data: Array.from({ length: g.cols }, (_, c) => g.x0 + (c + 0.5) * g.dx),
        attrs: { standard_name: 'projection_x_coordinate', units: 'm' },
      },
      {
        name: 'etp',
        type: 'f4',
        dims: ['time', 'y', 'x'],
        // rows written south first
        data: E.values.flatMap((v) =>
          Array.from({ length: g.rows * g.cols }, (_, k) => {
            const x = v[(g.rows - 1 - Math.floor(k / g.cols)) * g.cols + (k % g.cols)]!;
            return Number.isFinite(x) ? x : FILL;
          }),
        ),
        attrs: { units: 'mm', _FillValue: FILL },
      },
    ]);
    r = await assembleDataset(
      spec({
        forcing: [
          {
            variable: 'prcp',
            source: {
              format: 'netcdf',
              path: f('unnamed.nc'),
              variable: 'rain',
              dims: { time: 0, y: 1, x: 2 },
              crs: L93,
            },
            units: 'mm',
          },
          {
            variable: 'pet',
            source: {
              format: 'netcdf',
              path: f('nocf.nc'),
              variable: 'etp',
              crs: L93,
              time: { start: START, step: 'daily' },
            },
          },
        ],
      }),
    );
  }, 120_000);

  it("assembles values equal to GDAL's reading of the same cells", () => {
    expect(inputOf(r.manifest, 'forcing.prcp')).toMatchObject({
      format: 'netcdf',
      align: 'window',
      timeRule: 'none',
      scale: 1,
    });
    expect(inputOf(r.manifest, 'forcing.pet')).toMatchObject({
      format: 'netcdf',
      align: 'window',
      unitsFrom: 'mm',
    });
    const cells = activeCells(r.grid);
    for (const k of [0, 17, 45, 90]) {
      const date = P.dates[k]!;
      // unnamed.nc: GDAL cannot georeference axes without attributes; its pixel/line in the file's row
      // order (GDAL_NETCDF_BOTTOMUP=NO), at the Lez window's cell holding each model cell centre
      const pr = gdalCells(
        `NETCDF:"${f('unnamed.nc')}":rain`,
        cells.map((c) => [Math.floor((c.x - P.grid.x0) / 1000), Math.floor((P.grid.y0 - c.y) / 1000)]),
        { band: k + 1, config: { GDAL_NETCDF_BOTTOMUP: 'NO' } },
      );
      // nocf.nc: GDAL georeferences it from its 1-D axes: the cell holding each model cell centre
      const pe = gdalCells(
        `NETCDF:"${f('nocf.nc')}":etp`,
        cells.map((c) => [c.x, c.y]),
        { band: k + 1, geoloc: true },
      );
      expectClose(assembledAt(r, 'prcp', date), pr, `prcp ${ymd(date)}`);
      expectClose(assembledAt(r, 'pet', date), pe, `pet ${ymd(date)}`);
    }
  }, 60_000);

  it('calibrates (HDA-PR through the gauge job) end to end', async () => {
    await gaugeJob(r.path, START, END, 30);
  }, 120_000);
});

/** Index of the Lez window cell holding a point (EPSG:2154), clamped to the window's edge. */
const windowCell = (g: Grid, x: number, y: number) => {
  const c = Math.min(g.cols - 1, Math.max(0, Math.floor((x - g.x0) / g.dx)));
  const r = Math.min(g.rows - 1, Math.max(0, Math.floor((g.y0 - y) / g.dy)));
  return r * g.cols + c;
};

describe.skipIf(!ready)('(b) 2-D latitude/longitude (curvilinear) + (e) day-of-year PET files', () => {
  let r: AssembleResult;
  let rows = 0;
  let cols = 0;
  beforeAll(async () => {
    // (b) the Lez prcp on a sheared lon/lat mesh (about 500 m; each row drifts east, each column
    // south, so that no regular lon/lat grid holds it), rows from south to north, given only as 2-D
    // latitude/longitude: each mesh point takes the Lez cell holding it
    const g = P.grid;
    const toGeo = transformer(L93, 'EPSG:4326');
    const toL93 = transformer('EPSG:4326', L93);
    const corners = [
      toGeo(g.x0, g.y0),
      toGeo(g.x0 + g.cols * g.dx, g.y0),
      toGeo(g.x0, g.y0 - g.rows * g.dy),
      toGeo(g.x0 + g.cols * g.dx, g.y0 - g.rows * g.dy),
    ];
    const lon0 = Math.min(...corners.map((p) => p[0])) - 0.05;
    const lon1 = Math.max(...corners.map((p) => p[0])) + 0.01;
    const lat0 = Math.min(...corners.map((p) => p[1])) - 0.01;
    const lat1 = Math.max(...corners.map((p) => p[1])) + 0.05;
    cols = Math.ceil((lon1 - lon0) / 0.006);
    rows = Math.ceil((lat1 - lat0) / 0.0045);
    const lat: number[] = [];
    const lon: number[] = [];
    const cell: number[] = [];
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        const lo = lon0 + j * 0.006 + i * 0.0005;
        const la = lat0 + i * 0.0045 - j * 0.0005;
        lat.push(la);
        lon.push(lo);
        cell.push(windowCell(g, ...toL93(lo, la)));
      }
    writeNetcdf(f('curvi.nc'), { time: P.dates.length, y: rows, x: cols }, [
      {
        name: 'time',
        type: 'f8',
        dims: ['time'],
        data: P.dates.map((_, k) => k * 24),
        attrs: { units: `hours since ${START} 00:00`, calendar: 'standard' },
      },
      {
        name: 'lat',
        type: 'f8',
        dims: ['y', 'x'],
        data: lat,
        attrs: { units: 'degrees_north', standard_name: 'latitude' },
      },
      {
        name: 'lon',
        type: 'f8',
        dims: ['y', 'x'],
        data: lon,
        attrs: { units: 'degrees_east', standard_name: 'longitude' },
      },
      {
        name: 'pr',
        type: 'f4',
        dims: ['time', 'y', 'x'],
        data: P.values.flatMap((v) => cell.map((k) => v[k]!)),
        attrs: { units: 'mm', coordinates: 'lat lon' },
      },
    ]);
    // (e) one PET file per calendar day, MMDD_pet.tif, from the Lez's year (no 29 February: 28 February's)
    const year = await lezStack('pet', '2012-08-01', '2013-07-31');
    mkdirSync(f('doy'));
    for (const [k, d] of year.dates.entries())
      await writeGeoTiff({
        path: f(`doy/${ymd(d).slice(4)}_pet.tif`),
        grid: year.grid,
        bands: [{ data: year.values[k]! }],
      });
    r = await assembleDataset(
      spec({
        forcing: [
          { variable: 'prcp', source: { format: 'netcdf', path: f('curvi.nc'), variable: 'pr' } },
          {
            variable: 'pet',
            source: { format: 'folder', path: f('doy'), layout: 'day-of-year' },
            units: 'mm',
          },
        ],
      }),
    );
  }, 120_000);

  it('records the curvilinear alignment and the climatology', () => {
    expect(inputOf(r.manifest, 'forcing.prcp')).toMatchObject({
      format: 'netcdf',
      align: 'curvilinear',
      timeRule: 'none',
    });
    expect(inputOf(r.manifest, 'forcing.pet')).toMatchObject({ align: 'window', timeRule: 'climatology' });
    expect(inputOf(r.manifest, 'forcing.pet').stepFrom).toMatch(/day-of-year/);
  });

  it("prcp equals the nearest source cell as GDAL reads it; pet the MMDD file's value", () => {
    const cells = activeCells(r.grid);
    // GDAL's own reading of the mesh (its row order, whatever it is), projected to the model CRS
    const gdalArray = (v: string) =>
      execFileSync('gdal_translate', ['-q', '-of', 'XYZ', `NETCDF:"${f('curvi.nc')}":${v}`, '/vsistdout/'], {
        encoding: 'utf8',
        env: { ...process.env, GDAL_PAM_ENABLED: 'NO' },
      })
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.trim().split(/\s+/)[2]));
    const la = gdalArray('lat');
    const lo = gdalArray('lon');
    expect(la).toHaveLength(rows * cols);
    const toL93 = transformer('EPSG:4326', L93);
    const pts = la.map((_, k) => toL93(lo[k]!, la[k]!));
    const nearest = cells.map((c) => {
      let best = -1;
      let bd = Infinity;
      pts.forEach(([x, y], k) => {
        const d = Math.hypot(x - c.x, y - c.y);
        if (d < bd) [bd, best] = [d, k];
      });
      return [best % cols, Math.floor(best / cols)] as const;
    });
    for (const k of [0, 33, 90]) {
      const date = P.dates[k]!;
      expectClose(
        assembledAt(r, 'prcp', date),
        gdalCells(`NETCDF:"${f('curvi.nc')}":pr`, nearest, { band: k + 1 }),
        `prcp ${ymd(date)}`,
      );
      const doy = f(`doy/${ymd(date).slice(4)}_pet.tif`);
      expectClose(
        assembledAt(r, 'pet', date),
        gdalCells(
          doy,
          cells.map((c) => [c.x, c.y]),
          { geoloc: true },
        ),
        `pet ${ymd(date)}`,
      );
    }
  }, 60_000);

  it('calibrates (HDA-PR through the gauge job) end to end', async () => {
    await gaugeJob(r.path, START, END, 30);
  }, 120_000);
});

describe.skipIf(!ready)(
  '(c) a Lambert azimuthal equal-area grid_mapping, precipitation flux in kg m-2 s-1',
  () => {
    let r: AssembleResult;
    beforeAll(async () => {
      // 1 km LAEA (EPSG:3035's parameters, CF attributes only) covering the Lez, y increasing
      const g = P.grid;
      const toLaea = transformer(L93, LAEA);
      const toL93 = transformer(LAEA, L93);
      const cs = [
        toLaea(g.x0, g.y0),
        toLaea(g.x0 + g.cols * g.dx, g.y0),
        toLaea(g.x0, g.y0 - g.rows * g.dy),
        toLaea(g.x0 + g.cols * g.dx, g.y0 - g.rows * g.dy),
      ];
      const x0 = Math.floor(Math.min(...cs.map((p) => p[0])) / 1000) * 1000 - 2000;
      const y0 = Math.floor(Math.min(...cs.map((p) => p[1])) / 1000) * 1000 - 2000;
      const cols = Math.ceil((Math.max(...cs.map((p) => p[0])) - x0) / 1000) + 2;
      const rows = Math.ceil((Math.max(...cs.map((p) => p[1])) - y0) / 1000) + 2;
      const xs = Array.from({ length: cols }, (_, c) => x0 + (c + 0.5) * 1000);
      const ys = Array.from({ length: rows }, (_, r) => y0 + (r + 0.5) * 1000);
      const cell = ys.flatMap((y) => xs.map((x) => windowCell(g, ...toL93(x, y))));
      writeNetcdf(f('laea.nc'), { time: P.dates.length, y: rows, x: cols }, [
        {
          name: 'time',
          type: 'f8',
          dims: ['time'],
          data: P.dates.map((_, k) => k),
          attrs: { units: `days since ${START}`, axis: 'T' },
        },
        {
          name: 'x',
          type: 'f8',
          dims: ['x'],
          data: xs,
          attrs: { standard_name: 'projection_x_coordinate', units: 'm' },
        },
        {
          name: 'y',
          type: 'f8',
          dims: ['y'],
          data: ys,
          attrs: { standard_name: 'projection_y_coordinate', units: 'm' },
        },
        {
          name: 'laea',
          type: 'i4',
          dims: [],
          attrs: {
            grid_mapping_name: 'lambert_azimuthal_equal_area',
            latitude_of_projection_origin: 52,
            longitude_of_projection_origin: 10,
            false_easting: 4321000,
            false_northing: 3210000,
            semi_major_axis: 6378137,
            inverse_flattening: 298.257222101,
          },
        },
        {
          name: 'pr',
          type: 'f4',
          dims: ['time', 'y', 'x'],
          // mm per day as a flux (CF precipitation_flux): mm / 86400 s
          data: P.values.flatMap((v) => cell.map((k) => v[k]! / 86400)),
          attrs: { units: 'kg m-2 s-1', grid_mapping: 'laea', standard_name: 'precipitation_flux' },
        },
      ]);
      r = await assembleDataset(
        spec({
          forcing: [
            { variable: 'prcp', source: { format: 'netcdf', path: f('laea.nc'), variable: 'pr' } },
            { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') } },
          ],
        }),
      );
    }, 120_000);

    it("is aligned through its CRS (nearest, same cell area), the flux converted: values equal GDAL's reading × the recorded scale", () => {
      const rec = inputOf(r.manifest, 'forcing.prcp');
      expect(rec).toMatchObject({ align: 'nearest', unitsFrom: 'kg m-2 s-1', offset: 0 });
      // kg m-2 s-1 = mm/s, over the source's daily step
      expect(rec.scale).toBe(86400);
      const cells = activeCells(r.grid);
      for (const k of [0, 45, 90]) {
        const date = P.dates[k]!;
        // GDAL transforms each model cell centre from EPSG:2154 into the file's LAEA and reads the cell holding it
        const g = gdalCells(
          `NETCDF:"${f('laea.nc')}":pr`,
          cells.map((c) => [c.x, c.y]),
          { band: k + 1, srs: L93 },
        );
        expectClose(
          assembledAt(r, 'prcp', date),
          g.map((v) => v * rec.scale + rec.offset),
          `prcp ${ymd(date)}`,
        );
      }
    }, 60_000);

    it('calibrates (HDA-PR through the gauge job) end to end', async () => {
      await gaugeJob(r.path, START, END, 30);
    }, 120_000);
  },
);

describe.skipIf(!ready)(
  '(f) ESRI ASCII flow directions + (g) a forcing window smaller than the flow directions',
  () => {
    let r: AssembleResult;
    const asc = () => f('flwdir.asc');
    beforeAll(async () => {
      // a 30 x 40 km window of France's flow directions as an ESRI ASCII grid (+ .prj) by GDAL; the Lez
      // forcing is a 14 x 27 window inside it
      execFileSync('gdal_translate', [
        '-q',
        '-of',
        'AAIGrid',
        '-projwin',
        '755000',
        '6310000',
        '785000',
        '6270000',
        join(LEZ, 'France_flwdir.tif'),
        asc(),
      ]);
      r = await assembleDataset(spec({ flowdir: { path: asc() } }));
    }, 120_000);

    it("cuts both to the catchment: flow directions and forcing equal GDAL's reading at the same coordinates", () => {
      expect(inputOf(r.manifest, 'flowdir')).toMatchObject({ format: 'ascii-grid', align: 'window' });
      expect(inputOf(r.manifest, 'forcing.prcp')).toMatchObject({ align: 'window' });
      const cells = activeCells(r.grid);
      const at = cells.map((c) => [c.x, c.y] as const);
      // France's codes are smash's (1..8): written as read
      expectClose(
        gdalCells(
          join(r.path, 'flowdir.tif'),
          cells.map((c) => [c.col, c.row]),
        ),
        gdalCells(asc(), at, { geoloc: true }),
        'flowdir',
      );
      for (const k of [0, 60]) {
        const d = ymd(P.dates[k]!);
        const src = join(LEZ, 'prcp', d.slice(0, 4), d.slice(4, 6), `${d}0000_PT.tif`);
        expectClose(assembledAt(r, 'prcp', P.dates[k]!), gdalCells(src, at, { geoloc: true }), `prcp ${d}`);
      }
    }, 60_000);

    it('calibrates (HDA-PR through the gauge job) end to end', async () => {
      await gaugeJob(r.path, START, END, 30);
    }, 120_000);
  },
);

describe.skipIf(!ready)(
  '(h) an hourly dataset: daily forcing disaggregated by the assembler, hourly discharge CSVs',
  () => {
    let r: AssembleResult;
    const hourly: Record<string, number[]> = {};
    const H0 = '2012-10-01';
    const H1 = '2012-10-31';
    beforeAll(async () => {
      // a stations table and one `date,q` CSV per gauge at an hourly step (the Lez's daily discharge on each hour)
      const gauges = await readSmashGauges(LEZ, 86400);
      const attrs = readFileSync(join(LEZ, 'gauge_attributes.csv'), 'utf8').trim().split('\n').slice(1);
      writeFileSync(
        f('stations.csv'),
        `id;X;Y;km2\n${attrs.map((l) => l.split(',').join(';')).join('\n')}\n`,
      );
      mkdirSync(f('hourly'));
      const t0 = Date.UTC(2012, 9, 1);
      for (const g of gauges) {
        const s = g.series!;
        const rows = ['date,q'];
        hourly[g.code] = [];
        for (let h = 0; h < 31 * 24; h++) {
          const t = t0 + h * 3_600_000;
          const v = s.values[Math.floor((t - s.start.getTime()) / 86_400_000)]!;
          const q = Number.isFinite(v) && v >= 0 ? v : Number.NaN;
          hourly[g.code]!.push(q);
          const iso = new Date(t).toISOString();
          rows.push(`${iso.slice(0, 10)} ${iso.slice(11, 16)},${Number.isFinite(q) ? q : ''}`);
        }
        writeFileSync(f(`hourly/${g.code}.csv`), `${rows.join('\n')}\n`);
      }
      r = await assembleDataset(
        spec({
          step: 'hourly',
          start: H0,
          end: H1,
          gauges: {
            format: 'csv',
            stations: f('stations.csv'),
            columns: { code: 'id', x: 'X', y: 'Y', area: 'km2' },
            series: f('hourly'),
          },
        }),
      );
    }, 120_000);

    it('writes every hour: prcp and pet are the daily files spread evenly (sum rule), discharge as given', () => {
      expect(r.manifest).toMatchObject({ step: 'hourly', stepSeconds: 3600 });
      expect(inputOf(r.manifest, 'forcing.prcp')).toMatchObject({
        stepFrom: 'daily',
        timeRule: 'disaggregate',
      });
      expect(r.steps).toBe(31 * 24);
      const cells = activeCells(r.grid);
      const at = cells.map((c) => [c.x, c.y] as const);
      for (const [day, hour] of [
        [0, 0],
        [9, 13],
        [30, 23],
      ] as const) {
        const date = new Date(Date.UTC(2012, 9, 1 + day));
        const d = ymd(date);
        for (const [sub, tag] of [
          ['prcp', 'PT'],
          ['pet', 'ETP'],
        ] as const) {
          const src = join(LEZ, sub, d.slice(0, 4), d.slice(4, 6), `${d}0000_${tag}.tif`);
          // a daily sum spread evenly over 24 hours
          expectClose(
            assembledAt(r, sub, date, hour),
            gdalCells(src, at, { geoloc: true }).map((v) => v / 24),
            `${sub} ${d} ${hour}h`,
          );
        }
      }
      for (const [code, q] of Object.entries(hourly)) {
        const lines = readFileSync(join(r.path, 'qobs', `${code}.csv`), 'utf8')
          .trim()
          .split('\n');
        expect(lines[0]).toBe('201210010000');
        const got = lines.slice(1).map(Number);
        expect(got).toHaveLength(q.length);
        got.forEach((v, h) =>
          Number.isFinite(q[h]!) ? expect(v).toBeCloseTo(q[h]!, 9) : expect(v).toBe(-99),
        );
      }
    }, 60_000);

    it('calibrates (HDA-PR through the gauge job, an hourly model) end to end', async () => {
      const out = await gaugeJob(r.path, H0, H1, 7 * 24);
      expect(out.info).toMatchObject({ steps: 31 * 24, cells: 171 });
    }, 300_000);
  },
);

describe.skipIf(!ready)('(i) monthly soil moisture (a multi-band GeoTIFF in %) as a gridded target', () => {
  let r: AssembleResult;
  const M0 = '2012-08-01';
  const M1 = '2013-01-31';
  beforeAll(async () => {
    const g = P.grid;
    // six months, one band each (no dates in the file: the time axis is given), a field per month in %
    const bands = Array.from({ length: 6 }, (_, k) => ({
      data: Float64Array.from(
        { length: g.rows * g.cols },
        (_, i) => 18 + 8 * Math.sin(i / 9 + k / 2) + 1.5 * k,
      ),
    }));
    await writeGeoTiff({ path: f('sm_monthly.tif'), grid: g, bands });
    r = await assembleDataset(
      spec({
        start: M0,
        end: M1,
        targets: [
          {
            variable: 'sm',
            source: { format: 'multiband', path: f('sm_monthly.tif'), time: { start: M0, step: 'monthly' } },
            units: '%',
          },
        ],
      }),
    );
  }, 120_000);

  it("keeps it monthly: one field per month equal to GDAL's reading × 0.01 (% to m³/m³)", () => {
    expect(r.manifest.targets).toEqual({ sm: 'monthly' });
    const rec = inputOf(r.manifest, 'target.sm');
    expect(rec).toMatchObject({
      timeRule: 'own-step',
      stepFrom: 'monthly',
      unitsFrom: '%',
      scale: 0.01,
      offset: 0,
    });
    const cells = activeCells(r.grid);
    for (let k = 0; k < 6; k++) {
      const date = new Date(Date.UTC(2012, 7 + k, 1));
      const g = gdalCells(
        f('sm_monthly.tif'),
        cells.map((c) => [c.x, c.y]),
        { band: k + 1, geoloc: true },
      );
      expectClose(
        assembledAt(r, 'sm', date),
        g.map((v) => v * rec.scale + rec.offset),
        `sm ${ymd(date)}`,
      );
    }
  }, 60_000);

  it('calibrates against monthly means (gradient, a few iterations): the objective falls, metrics finite', async () => {
    const ds = await loadSmashDataset({
      dir: r.path,
      start: new Date(`${M0}T00:00:00Z`),
      end: new Date(`${M1}T00:00:00Z`),
    });
    expect(ds.coarse?.SM?.dates).toHaveLength(6);
    // warm-up August, training September .. December, test January
    const pr = griddedProblemFromDataset(ds, { warmup: 31, train: 122, valid: 0, test: 31 }, ['b'], {}, 'SM');
    const sim = new LocalSimulator(pr);
    const [t0, t1] = pr.periods.train;
    const before = sim.lossGrad(fullParams(pr, defaultFields(pr)), 'cell-mse', t0, t1).f;
    const objectives: number[] = [];
    const res = await runMethod(
      'gridded',
      'gradient',
      pr,
      methodOptions('gradient', 'gridded', { objective: 'cell-mse', iterations: 4 }),
      1,
      {
        compute: {} as MethodContext['compute'],
        progress: (p) => objectives.push(p.objective),
        cancelled: () => false,
        sim,
      },
    );
    const after = sim.lossGrad(fullParams(pr, res.fields), 'cell-mse', t0, t1).f;
    expect(Number.isFinite(before)).toBe(true);
    expect(after).toBeLessThan(before);
    expect(objectives.length).toBeGreaterThan(0);
    const ev = evaluateFields(pr, sim, res.fields, defaultSimulation(pr, sim));
    expect(Number.isFinite(ev.periods.train.spatialRmse)).toBe(true);
    // per-cell KGE over the four training months (one test month gives no correlation)
    expect(Number.isFinite(ev.periods.train.medianCellKge)).toBe(true);
    expect(Number.isFinite(ev.periods.test.spatialRmse)).toBe(true);
    // the calibrated field, written and read back by GDAL
    const out = f('sm-b.tif');
    const full = new Float64Array(pr.rows * pr.cols).fill(-9999);
    let c = 0;
    pr.mask.forEach((m, i) => m && (full[i] = res.fields[0]![c++]!));
    await writeGeoTiff({
      path: out,
      grid: { ...ds.catchment.grid, mask: null },
      nodata: -9999,
      bands: [{ data: full }],
    });
    const first = activeCells(ds.catchment.grid)[0]!;
    expect(gdalCells(out, [[first.col, first.row]])[0]).toBeCloseTo(res.fields[0]![0]!, 5);
  }, 300_000);
});

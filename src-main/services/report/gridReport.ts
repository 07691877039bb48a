import { cellMaps, rmseChange, stepRmse } from '../metrics/maps';
import { summaryTable, type GridShape } from '../metrics/summary';
import { RDBU, VIRIDIS } from './colormap';
import type { ChartSpec, MapGeoref, MapMarker, MapSpec, OutlineGeometry } from './svg';
import { writeReport } from './report';

const PCT_COLOURS: Record<string, string> = {
  '50': '#1b9e77',
  '75': '#d95f02',
  '90': '#7570b3',
  '95': '#e7298a',
};

/** Time mean of each cell of a step-major field. */
function timeMean(a: ArrayLike<number>, steps: number, cells: number): Float64Array {
  const out = new Float64Array(cells);
  for (let c = 0; c < cells; c++) {
    let t = 0;
    let n = 0;
    for (let s = 0; s < steps; s++) {
      const v = a[s * cells + c]!;
      if (Number.isFinite(v)) {
        t += v;
        n++;
      }
    }
    out[c] = n ? t / n : Number.NaN;
  }
  return out;
}

/**
 * The evaluation report of a gridded simulation against observations and a default-parameter
 * simulation: the summary table, per-cell RMSE / CC / KGE and relative RMSE change maps,
 * observed / simulated / difference maps for chosen steps, spatial RMSE over time, FSS curves, and
 * optional hydrographs.
 */
export async function writeGriddedReport(opts: {
  dir: string;
  title: string;
  description: string;
  obs: ArrayLike<number>;
  sim: ArrayLike<number>;
  simDefault: ArrayLike<number>;
  dates: Date[];
  /**
   * The grid's shape and mask; with x0, y0, dx, dy (and crs) as in src-shared's Grid, the maps get
   * axes in the CRS's units, a scale bar and a north note.
   */
  grid: GridShape & Partial<MapGeoref>;
  units: string;
  mapSteps: number[];
  /** Calibrated parameter fields, one map each (Sun et al. 2024, Fig. 6). */
  parameters?: Array<{ name: string; values: ArrayLike<number>; units: string }>;
  hydrographs?: Array<{ title: string; obs: ArrayLike<number>; sim: ArrayLike<number>; units: string }>;
  /** Gauges drawn on every map, in the grid's CRS (cell units, x = column, y = row, without x0..dy). */
  gauges?: MapMarker[];
  /** Outlines drawn on every map, in the grid's CRS; default the mask's outline when there is a mask. */
  outlines?: OutlineGeometry[];
}) {
  const { grid, dates } = opts;
  const steps = dates.length;
  const cells = grid.rows * grid.cols;
  const summary = summaryTable({ obs: opts.obs, sim: opts.sim, simDefault: opts.simDefault, steps, grid });
  const cal = cellMaps(opts.obs, opts.sim, steps, cells, grid.mask);
  const def = cellMaps(opts.obs, opts.simDefault, steps, cells, grid.mask);
  const georef: MapGeoref | null = [grid.x0, grid.y0, grid.dx, grid.dy].every(
    (v) => typeof v === 'number' && Number.isFinite(v),
  )
    ? { x0: grid.x0!, y0: grid.y0!, dx: grid.dx!, dy: grid.dy!, crs: grid.crs ?? null }
    : null;
  const base = {
    rows: grid.rows,
    cols: grid.cols,
    mask: grid.mask,
    georef,
    outline: opts.outlines ?? !!grid.mask,
    ...(opts.gauges ? { markers: opts.gauges } : {}),
  };
  const maps: MapSpec[] = [
    {
      ...base,
      title: 'Observed, time mean',
      values: timeMean(opts.obs, steps, cells),
      colormap: VIRIDIS,
      units: opts.units,
    },
    {
      ...base,
      title: 'Simulated, time mean',
      values: timeMean(opts.sim, steps, cells),
      colormap: VIRIDIS,
      units: opts.units,
    },
    { ...base, title: 'RMSE per cell', values: cal.rmse, colormap: VIRIDIS, units: opts.units },
    { ...base, title: 'CC per cell', values: cal.cc, colormap: VIRIDIS, range: [-1, 1] },
    {
      ...base,
      title: 'KGE per cell',
      values: cal.kge,
      colormap: VIRIDIS,
      range: [Math.min(-0.41, ...Array.from(cal.kge).filter(Number.isFinite)), 1],
    },
    {
      ...base,
      title: 'Relative RMSE change vs default',
      values: rmseChange(def.rmse, cal.rmse),
      colormap: RDBU,
      symmetric: true,
    },
  ];
  for (const p of opts.parameters ?? []) {
    maps.push({ ...base, title: `Parameter ${p.name}`, values: p.values, colormap: VIRIDIS, units: p.units });
  }
  for (const t of opts.mapSteps) {
    const day = dates[t]!.toISOString().slice(0, 10);
    const o = Float64Array.from({ length: cells }, (_, c) => opts.obs[t * cells + c]!);
    const s = Float64Array.from({ length: cells }, (_, c) => opts.sim[t * cells + c]!);
    const lo = Math.min(...[...o, ...s].filter(Number.isFinite));
    const hi = Math.max(...[...o, ...s].filter(Number.isFinite));
    maps.push(
      { ...base, title: `Observed ${day}`, values: o, colormap: VIRIDIS, range: [lo, hi], units: opts.units },
      {
        ...base,
        title: `Simulated ${day}`,
        values: s,
        colormap: VIRIDIS,
        range: [lo, hi],
        units: opts.units,
      },
      {
        ...base,
        title: `Simulated - observed ${day}`,
        values: s.map((v, i) => v - o[i]!),
        colormap: RDBU,
        symmetric: true,
        units: opts.units,
      },
    );
  }
  const charts: ChartSpec[] = [
    {
      title: 'Spatial RMSE at each step',
      x: dates,
      series: [
        {
          name: 'simulation',
          values: stepRmse(opts.obs, opts.sim, steps, cells, grid.mask),
          colour: '#1f6feb',
        },
        {
          name: 'default parameters',
          values: stepRmse(opts.obs, opts.simDefault, steps, cells, grid.mask),
          colour: '#888',
          dashed: true,
        },
      ],
      xLabel: 'date',
      yLabel: `RMSE (${opts.units})`,
    },
    {
      title: 'FSS by window size (thresholds at each field’s percentile)',
      x: summary.fss['50']!.map((f) => f.scale),
      series: Object.entries(summary.fss).map(([p, v]) => ({
        name: `${p}th percentile`,
        values: v.map((f) => f.fss),
        colour: PCT_COLOURS[p] ?? '#333',
      })),
      xLabel: 'window size (cells)',
      yLabel: 'FSS',
      yRange: [0, 1],
    },
    ...(opts.hydrographs ?? []).map((h) => ({
      title: h.title,
      x: dates,
      series: [
        { name: 'observed', values: h.obs, colour: '#222' },
        { name: 'simulated', values: h.sim, colour: '#1f6feb' },
      ],
      xLabel: 'date',
      yLabel: h.units,
    })),
  ];
  return {
    summary,
    ...(await writeReport(opts.dir, {
      title: opts.title,
      description: opts.description,
      metrics: {
        steps,
        cells: summary.cells,
        first: dates[0]!.toISOString(),
        last: dates[steps - 1]!.toISOString(),
      },
      summary,
      maps,
      charts,
    })),
  };
}

import type { Grid } from '../../../../src-shared/ipc';
import { cellMaps, rmseChange } from '../../metrics/maps';
import { exportFields } from '../../rasters/writeGeoTiff';

/**
 * The per-cell metric maps of a gridded run over one period, as GeoTIFFs the map can draw: RMSE, CC
 * and KGE of the calibrated simulation against the observed field, and the relative RMSE change
 * against the default-parameter run (Sun et al. 2024, eq. 7). Series are step-major over the full
 * grid (steps x rows*cols), NaN outside the mask.
 */
export async function writeMetricRasters(opts: {
  dir: string;
  grid: Grid;
  obs: Float64Array;
  sim: Float64Array;
  simDefault: Float64Array;
  steps: number;
  units: string;
  period: string;
}): Promise<Array<{ path: string }>> {
  const cells = opts.grid.rows * opts.grid.cols;
  const cal = cellMaps(opts.obs, opts.sim, opts.steps, cells, opts.grid.mask);
  const def = cellMaps(opts.obs, opts.simDefault, opts.steps, cells, opts.grid.mask);
  const clean = (a: Float64Array) => Float64Array.from(a, (v) => (Number.isFinite(v) ? v : -9999));
  return exportFields({
    dir: opts.dir,
    grid: opts.grid,
    nodata: -9999,
    layout: 'per-field',
    fields: [
      { name: `metric_rmse_${opts.period}`, data: clean(cal.rmse), units: opts.units },
      { name: `metric_cc_${opts.period}`, data: clean(cal.cc), units: '1' },
      { name: `metric_kge_${opts.period}`, data: clean(cal.kge), units: '1' },
      { name: `metric_rmse_change_${opts.period}`, data: clean(rmseChange(def.rmse, cal.rmse)), units: '1' },
    ],
  });
}

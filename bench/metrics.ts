import { summaryTable } from '../src-main/services/metrics/summary';
import { cellMaps } from '../src-main/services/metrics/maps';
import { eofScores } from '../src-main/services/metrics/eof';
import { machine } from './stats';

/** A smooth random field sequence (step-major) and a perturbed copy, reproducible from a seed. */
function fields(rows: number, cols: number, steps: number, seed: number) {
  let s = seed;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const cells = rows * cols;
  const obs = new Float64Array(steps * cells);
  const sim = new Float64Array(steps * cells);
  const def = new Float64Array(steps * cells);
  for (let t = 0; t < steps; t++) {
    const phase = rand() * 6.28;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = t * cells + r * cols + c;
        obs[i] = 2 + Math.sin(r / 5 + phase) + Math.cos(c / 7 - phase) + 0.3 * rand();
        sim[i] = obs[i]! * 0.9 + 0.2 * rand();
        def[i] = 2.5;
      }
    }
  }
  return { obs, sim, def };
}

function timed<T>(fn: () => T): { ms: number; result: T } {
  const t = performance.now();
  const result = fn();
  return { ms: +(performance.now() - t).toFixed(1), result };
}

/** All metrics on the GAN-PO domain (24 x 17 = 408 cells x 365 days) and on 256 x 256 x 365. */
export async function metricsBench(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { machine: machine() };
  for (const [rows, cols, label] of [
    [17, 24, 'paper_408_cells_x_365'],
    [256, 256, 'grid_256x256_x_365'],
  ] as const) {
    const steps = 365;
    const { obs, sim, def } = fields(rows, cols, steps, 7);
    const cells = rows * cols;
    const maps = timed(() => cellMaps(obs, sim, steps, cells));
    const eof = timed(() => eofScores(obs, sim, steps, cells));
    const all = timed(() =>
      summaryTable({ obs, sim, simDefault: def, steps, grid: { rows, cols, mask: null } }),
    );
    out[label] = {
      cells,
      steps,
      per_cell_maps_ms: maps.ms,
      joint_eof_ms: eof.ms,
      summary_table_all_metrics_ms: all.ms,
      note: 'summary = per-cell CC/KGE/RMSE for calibrated and default, joint EOF, SSIM and FSS (4 percentiles x 5 windows) at every step',
      mean_eof: +all.result.meanEof.toFixed(5),
    };
  }
  return out;
}

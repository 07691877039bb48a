import { gr4WithGradient } from '../src-main/services/physics/gr4/adjoint';
import { gr4Step, initialState, unitHydrographs } from '../src-main/services/physics/gr4/forward';
import { readBasinObs } from '../tests/helpers/airgr';
import { machine } from './stats';

/**
 * GR4J cell-steps per second, forward and forward + adjoint, on the GAN-PO paper's domain
 * (24 x 17 cells x 730 days) and on 256 x 256 x 365, with real L0123001 forcing shifted per cell.
 * vic3l and routing are not built yet (see issue 4's note), so only gr4 is measured.
 */
export async function modelBench(): Promise<Record<string, unknown>> {
  const d = readBasinObs();
  const base = d.dates.indexOf('1990-01-01');
  const out: Record<string, unknown> = { machine: machine(), structure: 'gr4', threads: 1 };
  for (const [cols, rows, steps, label] of [
    [24, 17, 730, 'paper_24x17_x_730'],
    [256, 256, 365, 'grid_256x256_x_365'],
  ] as const) {
    const cells = cols * rows;
    const p = { X1: 257.2, X2: 1.01, X3: 88.2, X4: 2.21 };
    const { uh1, uh2 } = unitHydrographs(p.X4);
    const buf = new Float64Array(4);
    const P = d.P.subarray(base, base + steps + 400);
    const E = d.E.subarray(base, base + steps + 400);
    let t0 = performance.now();
    let checksum = 0;
    for (let c = 0; c < cells; c++) {
      const s = initialState(p.X1, p.X3);
      const off = c % 400;
      for (let t = 0; t < steps; t++) {
        gr4Step(p, uh1, uh2, P[off + t]!, E[off + t]!, s, buf);
        checksum += buf[0]!;
      }
    }
    const fwd = (performance.now() - t0) / 1000;
    const cellsForAdjoint = Math.min(cells, 2000);
    const gQ = new Float64Array(steps).fill(1);
    t0 = performance.now();
    for (let c = 0; c < cellsForAdjoint; c++) {
      const off = c % 400;
      gr4WithGradient(
        p,
        P.subarray(off, off + steps),
        E.subarray(off, off + steps),
        initialState(p.X1, p.X3),
        gQ,
      );
    }
    const both = ((performance.now() - t0) / 1000) * (cells / cellsForAdjoint);
    out[label] = {
      cells,
      steps,
      forward_cell_steps_per_s: Math.round((cells * steps) / fwd),
      forward_plus_adjoint_cell_steps_per_s: Math.round((cells * steps) / both),
      adjoint_over_forward_time: +(both / fwd).toFixed(2),
      adjoint_cells_timed: cellsForAdjoint,
      tape_bytes_per_cell: steps * 4 * 8,
      mean_q: +(checksum / (cells * steps)).toFixed(4),
    };
  }
  out.peak_rss_mb = Math.round(process.memoryUsage().rss / 2 ** 20);
  return out;
}

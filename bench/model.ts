import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gr4WithGradient } from '../src-main/services/physics/gr4/adjoint';
import { gr4Step, initialState, unitHydrographs } from '../src-main/services/physics/gr4/forward';
import { runVic3l, vic3lWithGradient } from '../src-main/services/physics/vic3l';
import { readBasinObs } from '../tests/helpers/airgr';
import { machine, shiftedVic3lCase } from './stats';

const SIZES = [
  [24, 17, 730, 'paper_24x17_x_730'],
  [256, 256, 365, 'grid_256x256_x_365'],
] as const;

/** GR4J: per-cell kernel (airGR-exact step), tape of 4 numbers per step for the adjoint. */
function gr4Bench(d: ReturnType<typeof readBasinObs>, base: number) {
  const out: Record<string, unknown> = {};
  for (const [cols, rows, steps, label] of SIZES) {
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
  return out;
}

/** vic3l: all cells per step (step-major), Float32 forcing and outputs, real forcing shifted per cell. */
function vic3lBench(d: ReturnType<typeof readBasinObs>, base: number) {
  const out: Record<string, unknown> = {};
  for (const [cols, rows, steps, label] of SIZES) {
    const cells = cols * rows;
    const { forcing, params } = shiftedVic3lCase(d, base, cells, steps, 400);
    const { P, PET, T } = forcing;
    // warm the JIT on the first 30 steps so the timing is the steady state, not compilation
    const warm = (a: Float32Array) => a.subarray(0, 30 * cells);
    runVic3l(params, { P: warm(P), PET: warm(PET), T: warm(T) }, 30, {
      precision: 'float32',
      outputs: ['ET'],
    });
    let t0 = performance.now();
    const run = runVic3l(params, forcing, steps, { precision: 'float32', outputs: ['ET'] });
    const fwd = (performance.now() - t0) / 1000;
    const et = run.outputs.ET!;
    t0 = performance.now();
    const g = vic3lWithGradient(
      params,
      forcing,
      steps,
      {
        backward(_t, _o, gv) {
          gv.ET.fill(1);
        },
      },
      { precision: 'float32' },
    );
    const both = (performance.now() - t0) / 1000;
    out[label] = {
      cells,
      steps,
      forward_cell_steps_per_s: Math.round((cells * steps) / fwd),
      forward_plus_adjoint_cell_steps_per_s: Math.round((cells * steps) / both),
      adjoint_over_forward_time: +(both / fwd).toFixed(2),
      checkpoint_segments: g.segments,
      mean_et: +(Array.from(et).reduce((a, b) => a + b, 0) / et.length).toFixed(4),
    };
  }
  // the memory bound: 10 years x 10,000 cells, forward + gradient, in its own process
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL('./vic3lMemory.ts', import.meta.url))],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  out.ten_years_10000_cells =
    child.status === 0
      ? JSON.parse(child.stdout)
      : { error: child.stderr.slice(-2000) || `exit ${child.status}` };
  return out;
}

/**
 * Cell-steps per second, forward and forward + adjoint, on the GAN-PO paper's domain (24 x 17
 * cells x 730 days) and on 256 x 256 x 365, one core, for gr4 and vic3l; and the peak memory of
 * a 10-year daily vic3l gradient over 10,000 cells.
 */
export async function modelBench(): Promise<Record<string, unknown>> {
  const d = readBasinObs();
  const base = d.dates.indexOf('1986-01-01');
  return {
    machine: machine(),
    threads: 1,
    gr4: gr4Bench(d, base),
    vic3l: vic3lBench(d, base),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

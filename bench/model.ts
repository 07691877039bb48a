import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  gr4CellsAdjoint,
  gr4CellsForward,
  nativePhysics,
  setPhysicsThreads,
  type Gr4CellsParams,
} from '../src-main/services/physics/native';
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
        // Σ ET: the cotangents read no output, so the tape keeps the states alone
        reads: [],
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
  const load = loadavg()[0];
  // the JavaScript kernels (the reference), forced even where the addon is built
  const before = process.env.FIELDCAL_NATIVE_PHYSICS;
  process.env.FIELDCAL_NATIVE_PHYSICS = '0';
  let js: Record<string, unknown>;
  try {
    js = { threads: 1, gr4: gr4Bench(d, base), vic3l: vic3lBench(d, base) };
  } finally {
    if (before === undefined) delete process.env.FIELDCAL_NATIVE_PHYSICS;
    else process.env.FIELDCAL_NATIVE_PHYSICS = before;
  }
  const native = nativePhysics();
  return {
    machine: { ...machine(), ...cpu(), native_kernels: native?.physicsInfo() ?? null },
    load_average_1min_at_start: +load!.toFixed(2),
    note: 'cell_steps_per_s is wall clock; *_cpu_time divides the work by this process CPU time per thread (the rate on idle cores when other work shares the machine, as the load average shows); scaling_2_threads is wall clock and means little under load',
    js,
    native: native ? nativeBench(d, base) : { skipped: 'native addon not built (npm run build:native)' },
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** CPU model and the SIMD instruction sets it offers (/proc/cpuinfo). */
function cpu(): Record<string, unknown> {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    const flags = (field('flags') ?? '').split(/\s+/);
    return {
      cpu_model: field('model name') ?? null,
      cpu_logical_cores: (info.match(/^processor\s*:/gm) ?? []).length,
      instruction_sets: [
        'sse4_2',
        'avx',
        'avx2',
        'fma',
        'avx512f',
        'avx512dq',
        'avx512vl',
        'avx512_vnni',
      ].filter((f) => flags.includes(f)),
    };
  } catch {
    return { cpu_model: null };
  }
}

/** Wall and CPU seconds of `f`. */
function timed(f: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const u = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (u.user + u.system) / 1e6 };
}

/**
 * The median of `n` timed runs by wall time (with that run's CPU time): one run of a second or two
 * moved by up to 40 % between repetitions on this shared machine (session 11: vic3l's forward +
 * adjoint over forward 2.6-3.7 in single runs).
 */
function timedMedian(f: () => void, n = 3): { wall: number; cpu: number } {
  const runs = Array.from({ length: n }, () => timed(f)).sort((a, b) => a.wall - b.wall);
  return runs[n >> 1]!;
}

const rate = (work: number, s: number) => Math.round(work / s);

/**
 * The native kernels (native/src/physics.cc) on the same cases as the JavaScript ones: gr4 per cell
 * (all cells in one call) and vic3l through runVic3l / vic3lWithGradient, forward and forward +
 * adjoint, on 1 and 2 threads; each time the median of three runs.
 */
function nativeBench(d: ReturnType<typeof readBasinObs>, base: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const gr4: Record<string, unknown> = {};
  const vic: Record<string, unknown> = {};
  // warm the JIT on the JavaScript around the vic3l kernels (validation, the loss's callbacks, the
  // reverse pass's chunk loop) on a small case, as the JavaScript bench warms its forward: the timed
  // calls are the steady state, not compilation
  const wv = shiftedVic3lCase(d, base, 64, 60, 400);
  for (let i = 0; i < 3; i++) {
    runVic3l(wv.params, wv.forcing, 60, { precision: 'float32', outputs: ['ET'] });
    vic3lWithGradient(
      wv.params,
      wv.forcing,
      60,
      { reads: [], backward: (_t, _o, gv) => gv.ET.fill(1) },
      { precision: 'float32' },
    );
  }
  for (const [cols, rows, steps, label] of SIZES) {
    const cells = cols * rows;
    const work = cells * steps;
    const { forcing, params } = shiftedVic3lCase(d, base, cells, steps, 400);
    const gp: Gr4CellsParams = {
      X1: new Float64Array(cells).fill(257.2),
      X2: new Float64Array(cells).fill(1.01),
      X3: new Float64Array(cells).fill(88.2),
      X4: new Float64Array(cells).fill(2.21),
    };
    const state = () => ({
      S: gp.X1.map((x) => 0.3 * x),
      R: gp.X3.map((x) => 0.5 * x),
      uh1: new Float64Array(cells * 20),
      uh2: new Float64Array(cells * 40),
    });
    const Q = new Float64Array(work);
    const gQ = new Float64Array(work).fill(1);
    const g: Record<string, unknown> = { cells, steps };
    const v: Record<string, unknown> = { cells, steps };
    for (const threads of [1, 2]) {
      setPhysicsThreads(threads);
      const f = timedMedian(() =>
        gr4CellsForward(
          nativePhysics()!,
          forcing.P,
          forcing.PET,
          cells,
          steps,
          gp,
          25.62890625,
          20,
          state(),
          { Q },
        ),
      );
      const b = timedMedian(() =>
        gr4CellsAdjoint(
          nativePhysics()!,
          forcing.P,
          forcing.PET,
          cells,
          steps,
          gp,
          25.62890625,
          20,
          state(),
          gQ,
        ),
      );
      let mq = 0;
      for (let i = 0; i < work; i++) mq += Q[i]!;
      g[`threads_${threads}`] = {
        forward_cell_steps_per_s: rate(work, f.wall),
        forward_cell_steps_per_s_cpu_time: rate(work, f.cpu / threads),
        forward_plus_adjoint_cell_steps_per_s: rate(work, b.wall),
        forward_plus_adjoint_over_forward_time: +(b.wall / f.wall).toFixed(2),
        forward_plus_adjoint_over_forward_cpu_time: +(b.cpu / f.cpu).toFixed(2),
        mean_q: +(mq / work).toFixed(4),
      };
      const vf = timedMedian(() =>
        runVic3l(params, forcing, steps, { precision: 'float32', outputs: ['ET'] }),
      );
      // two losses: Σ ET, whose cotangents read no output (GAN-PO's op and the routed discharge
      // losses are of this kind: the tape keeps the 4 states), and ½ Σ ET², whose cotangents read ET
      // (the gridded calibrations' target losses: the tape keeps ET too)
      const vb = timedMedian(() =>
        vic3lWithGradient(
          params,
          forcing,
          steps,
          {
            reads: [],
            backward(_t, _o, gv) {
              gv.ET.fill(1);
            },
          },
          { precision: 'float32' },
        ),
      );
      const vbEt = timedMedian(() =>
        vic3lWithGradient(
          params,
          forcing,
          steps,
          {
            reads: ['ET'],
            backward(_t, o, gv) {
              gv.ET.set(o.ET);
            },
          },
          { precision: 'float32' },
        ),
      );
      v[`threads_${threads}`] = {
        forward_cell_steps_per_s: rate(work, vf.wall),
        forward_cell_steps_per_s_cpu_time: rate(work, vf.cpu / threads),
        forward_plus_adjoint_cell_steps_per_s: rate(work, vb.wall),
        forward_plus_adjoint_over_forward_time: +(vb.wall / vf.wall).toFixed(2),
        forward_plus_adjoint_over_forward_cpu_time: +(vb.cpu / vf.cpu).toFixed(2),
        loss_reading_et_forward_plus_adjoint_over_forward_time: +(vbEt.wall / vf.wall).toFixed(2),
      };
    }
    const speedup = (x: Record<string, unknown>, key: string) =>
      +(
        ((x.threads_2 as Record<string, number>)[key]! /
          (x.threads_1 as Record<string, number>)[key]!) as number
      ).toFixed(2);
    g.scaling_2_threads_forward = speedup(g, 'forward_cell_steps_per_s');
    g.scaling_2_threads_forward_plus_adjoint = speedup(g, 'forward_plus_adjoint_cell_steps_per_s');
    v.scaling_2_threads_forward = speedup(v, 'forward_cell_steps_per_s');
    v.scaling_2_threads_forward_plus_adjoint = speedup(v, 'forward_plus_adjoint_cell_steps_per_s');
    gr4[label] = g;
    vic[label] = v;
  }
  setPhysicsThreads(1);
  out.gr4 = gr4;
  out.vic3l = vic;
  out.targets = {
    gr4_forward_1_thread: 25e6,
    vic3l_forward_1_thread: 10e6,
    forward_plus_adjoint_over_forward: 3,
  };
  return out;
}

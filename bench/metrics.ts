import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summaryTable } from '../src-main/services/metrics/summary';
import { cellMaps } from '../src-main/services/metrics/maps';
import { eofAnomalies, eofScores } from '../src-main/services/metrics/eof';
import { gram, gramEngine } from '../src-main/services/metrics/gram';
import { symmetricEigen } from '../src-main/services/metrics/linalg';
import { metricsEngines } from '../src-main/services/metrics/native';
import { getTf, initCompute, nativeThreads } from '../src-main/services/compute';
import { loadAddon } from '../src-main/services/compute/cpuNative';
import { machine } from './stats';
import { peerSetup } from './peers';

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

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

function transpose(a: Float64Array, rows: number, n: number): Float64Array {
  const at = new Float64Array(n * rows);
  for (let t = 0; t < rows; t++) for (let j = 0; j < n; j++) at[j * rows + t] = a[t * n + j]!;
  return at;
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;

/**
 * The Gram product of the EOF matrix on the cpu-native backend's oneDNN matmul, which is float32
 * only (native/src/matmul.cc): its time, and its error against the float64 product we use.
 */
async function float32Gram(a: Float64Array, rows: number, n: number, g64: Float64Array) {
  const native = loadAddon();
  if (!native.addon) return { unavailable: native.reason };
  await initCompute();
  const tf = getTf();
  if (!tf.findBackend('cpu-native')) return { unavailable: 'cpu-native backend not registered' };
  await tf.setBackend('cpu-native');
  const x = tf.tensor2d(Float32Array.from(a), [rows, n]);
  const run = () => {
    const t = performance.now();
    const g = tf.matMul(x, x, false, true);
    const v = g.dataSync();
    const ms = performance.now() - t;
    g.dispose();
    return { ms, v };
  };
  run();
  const { ms, v } = run();
  x.dispose();
  let err = 0;
  let scale = 0;
  for (let i = 0; i < g64.length; i++) {
    err = Math.max(err, Math.abs(v[i]! - g64[i]!));
    scale = Math.max(scale, Math.abs(g64[i]!));
  }
  return {
    engine: 'oneDNN matmul f32 (cpu-native)',
    ms: +ms.toFixed(1),
    max_abs_error_relative_to_max_entry: +(err / scale).toExponential(2),
    note: 'float32 accumulation: far outside the 1e-9 of the metrics reference vectors, so the float64 product is used',
  };
}

/** numpy's joint EOF on the same fields in the same run, set up at its best on this CPU (bench/peers.ts). */
function numpyEof(obs: Float64Array, sim: Float64Array, steps: number, cells: number, threads: number) {
  const setup = peerSetup({ threads, packages: ['python3-numpy'] });
  const dir = mkdtempSync(join(tmpdir(), 'fieldcal-eof-'));
  try {
    const o = join(dir, 'obs.f64');
    const s = join(dir, 'sim.f64');
    writeFileSync(o, new Uint8Array(obs.buffer, obs.byteOffset, obs.byteLength));
    writeFileSync(s, new Uint8Array(sim.buffer, sim.byteOffset, sim.byteLength));
    const script = fileURLToPath(new URL('./reference_numpy_eof.py', import.meta.url));
    const py = spawnSync(setup.python, [script, o, s, String(steps), String(cells), '--repeat', '2'], {
      encoding: 'utf8',
      env: setup.env,
      timeout: 600_000,
      maxBuffer: 1 << 24,
    });
    if (py.status !== 0)
      return {
        unavailable: (py.stderr || py.error?.message || '').trim().split('\n').slice(-2).join(' '),
        set_up: setup.report,
      };
    return {
      ...(JSON.parse(py.stdout.trim().split('\n').pop()!) as Record<string, unknown>),
      set_up: setup.report,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * All metrics on the GAN-PO domain (24 x 17 = 408 cells x 365 days) and on 256 x 256 x 365, the
 * joint EOF twice (the first call starts the Gram product's threads) beside numpy's on the same
 * fields, and the float32 oneDNN Gram product for comparison.
 */
export async function metricsBench(): Promise<Record<string, unknown>> {
  const threads = nativeThreads();
  const out: Record<string, unknown> = {
    machine: machine(),
    threads,
    gram_engine: gramEngine(),
    metrics_engines: metricsEngines(),
  };
  for (const [rows, cols, label] of [
    [17, 24, 'paper_408_cells_x_365'],
    [256, 256, 'grid_256x256_x_365'],
  ] as const) {
    const steps = 365;
    const { obs, sim, def } = fields(rows, cols, steps, 7);
    const cells = rows * cols;
    const maps = timed(() => cellMaps(obs, sim, steps, cells));
    const eof1 = timed(() => eofScores(obs, sim, steps, cells));
    const eof2 = timed(() => eofScores(obs, sim, steps, cells));
    const prep = timed(() => eofAnomalies(obs, sim, steps, cells));
    const g64 = timed(() => gram(prep.result.a, 2 * steps, prep.result.n));
    const gJs = cells <= 4096 ? timed(() => gram(prep.result.a, 2 * steps, prep.result.n, 'js')).ms : null;
    // the eigenproblem of the Gram matrix the EOF decomposes (the smaller one), LAPACK and JavaScript
    const side = Math.min(2 * steps, prep.result.n);
    const small =
      side === 2 * steps
        ? g64.result
        : gram(transpose(prep.result.a, 2 * steps, prep.result.n), side, 2 * steps);
    const eig = timed(() => symmetricEigen(small, side));
    const eigJs = timed(() => symmetricEigen(small, side, 'js'));
    // the whole joint EOF on the JavaScript/WebAssembly path in the same run (FIELDCAL_METRICS=js)
    const before = process.env.FIELDCAL_METRICS;
    process.env.FIELDCAL_METRICS = 'js';
    const eofJs = timed(() => eofScores(obs, sim, steps, cells));
    if (before === undefined) delete process.env.FIELDCAL_METRICS;
    else process.env.FIELDCAL_METRICS = before;
    const all = timed(() =>
      summaryTable({ obs, sim, simDefault: def, steps, grid: { rows, cols, mask: null } }),
    );
    const ours = Math.min(eof1.ms, eof2.ms);
    const numpy = numpyEof(obs, sim, steps, cells, threads) as {
      best?: { joint_eof_ms: number; gram_ms: number };
      mean_eof?: number;
    };
    out[label] = {
      cells,
      steps,
      per_cell_maps_ms: maps.ms,
      joint_eof_ms: { first: eof1.ms, second: eof2.ms },
      joint_eof_parts_ms: {
        anomalies: prep.ms,
        gram_f64: g64.ms,
        ...(gJs !== null ? { gram_f64_js_scalar: gJs } : {}),
        [`eigen_${side}x${side}`]: eig.ms,
        [`eigen_${side}x${side}_js_tql2`]: eigJs.ms,
      },
      joint_eof_js_path_ms: eofJs.ms,
      max_abs_diff_eof_native_vs_js: +maxAbsDiff(eof2.result, eofJs.result).toExponential(2),
      gram_f32_onednn: await float32Gram(prep.result.a, 2 * steps, prep.result.n, g64.result),
      summary_table_all_metrics_ms: all.ms,
      note: 'summary = per-cell CC/KGE/RMSE for calibrated and default, joint EOF, SSIM and FSS (4 percentiles x 5 windows) at every step',
      mean_eof: +all.result.meanEof.toFixed(9),
      mean_eof_direct: +mean(eof2.result).toFixed(9),
      numpy,
      ratio_joint_eof_ours_over_numpy: numpy.best ? +(ours / numpy.best.joint_eof_ms).toFixed(2) : null,
    };
  }
  return out;
}

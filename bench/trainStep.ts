import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type * as TfModule from '@tensorflow/tfjs';
import { getTf, initCompute, nativeThreads } from '../src-main/services/compute';
import { poolOf } from '../src-main/services/compute/bufferPool';
import { loadAddon } from '../src-main/services/compute/cpuNative';
import { fusedAdam } from '../src-main/services/compute/fusedAdam';
import {
  dcganDiscriminator,
  ganStep,
  GAN_SIZES as S,
  lstmStep,
  lstmSurrogate,
  unetGenerator,
} from '../src-main/services/calibration/nets/ganPo';
import { machine, median } from './stats';
import { peerSetup } from './peers';

type Tf = typeof TfModule;

function time(tf: Tf, steps: number, warmup: number, step: () => void) {
  for (let i = 0; i < warmup; i++) step();
  // optimizer slots exist after the warm-up: anything beyond them would be a leak
  const before = tf.memory().numTensors;
  const t: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    step();
    t.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return {
    ms_per_step_median: +median(t).toFixed(2),
    ms_per_step_min: +Math.min(...t).toFixed(2),
    // the process's CPU time (all threads) per step: on a shared machine it moves less than wall time
    cpu_ms_per_step_median: +median(cpu).toFixed(2),
    load_average: loadavg().map((v) => +v.toFixed(2)),
    steps,
    tensors_leaked: tf.memory().numTensors - before,
  };
}

function gan(tf: Tf, steps: number, warmup: number) {
  const g = unetGenerator(tf);
  const d = dcganDiscriminator(tf);
  const opt = { g: fusedAdam(tf, 1e-4, 0.5, 0.999), d: fusedAdam(tf, 1e-4, 0.5, 0.999) };
  const data = {
    attrs: tf.randomNormal([1, S.H, S.W, S.CA]),
    forcing: tf.randomNormal([32, S.H, S.W, S.CF]),
    obs: tf.randomNormal([32, S.H, S.W, 1]),
  };
  const r = time(tf, steps, warmup, () => ganStep(tf, g, d, opt, data));
  const params = { generator_params: g.countParams(), discriminator_params: d.countParams() };
  tf.dispose(Object.values(data));
  g.dispose();
  d.dispose();
  return { ...r, ...params };
}

function lstm(tf: Tf, steps: number, warmup: number) {
  const m = lstmSurrogate(tf);
  const opt = fusedAdam(tf, 1e-3);
  const x = tf.randomNormal([400, 30, 14]);
  const y = tf.randomNormal([400, 1]);
  const r = time(tf, steps, warmup, () => lstmStep(tf, m, opt, x, y));
  tf.dispose([x, y]);
  m.dispose();
  return { ...r, hidden: 128, sequence: 30, batch: 400 };
}

/**
 * `npm run bench -- train-step`: the two training steps of ../shared/bench/reference_torch.py (copied
 * as bench/reference_torch.py) on every available backend, and PyTorch's own timing in the same run
 * when /usr/bin/python3 has torch, set up at its best first (bench/peers.ts: OpenBLAS, its core type,
 * passive OpenMP waiting; its BLAS, kernel and threads printed beside its times); prints ours / PyTorch per step. tfjs's JavaScript `cpu` backend
 * runs the LSTM step; its GAN step (~124 s, issue 7) only with FIELDCAL_BENCH_JS_GAN=1. Adam is the
 * fused one-kernel-per-variable update (compute/fusedAdam.ts), as PyTorch's Adam fuses its update.
 * Runs with 64 MB semi-spaces (package.json's bench script), as the job workers that train
 * (jobs/workerEntry.ts JOB_WORKER_YOUNG_MB).
 */
export async function trainStepBench(): Promise<Record<string, unknown>> {
  // the same OpenMP waiting as the peer's (set before the addon loads libgomp, which reads it then):
  // spinning OpenMP threads on a shared 2-core machine cost the oneDNN steps up to 10x
  process.env.OMP_WAIT_POLICY ??= 'passive';
  const threads = nativeThreads();
  const status = await initCompute();
  const tf = getTf();
  const out: Record<string, unknown> = {
    machine: machine(),
    threads,
    omp_wait_policy: process.env.OMP_WAIT_POLICY,
    backend_default: status.backend,
  };
  const native = loadAddon();
  const results: Record<string, Record<string, unknown>> = {};
  if (native.addon && tf.findBackend('cpu-native')) {
    await tf.setBackend('cpu-native');
    results['cpu-native'] = {
      engine: native.addon.info(),
      'gan-step': gan(tf, 7, 2),
      'lstm-step': lstm(tf, 7, 2),
    };
    const pool = poolOf(tf.backend());
    if (pool)
      results['cpu-native'].buffer_pool = {
        hits: pool.hits,
        misses: pool.misses,
        kept_mb: +(pool.pooledBytes / 2 ** 20).toFixed(1),
      };
  } else results['cpu-native'] = { unavailable: native.reason };
  await tf.setBackend('cpu');
  results.cpu = {
    'lstm-step': lstm(tf, 2, 1),
    'gan-step': process.env.FIELDCAL_BENCH_JS_GAN
      ? gan(tf, 1, 0)
      : 'skipped (about 124 s per step; FIELDCAL_BENCH_JS_GAN=1 runs it)',
  };
  out.tfjs = results;
  // PyTorch in the same run, same threads
  const script = fileURLToPath(new URL('./reference_torch.py', import.meta.url));
  // PyTorch at its best on this CPU: OpenBLAS, its kernel family, passive OpenMP waiting (bench/peers.ts)
  const setup = peerSetup({ threads, packages: ['python3-torch'] });
  const py = spawnSync(setup.python, [script, 'all', '--threads', String(threads), '--steps', '7'], {
    encoding: 'utf8',
    env: setup.env,
    timeout: 600_000,
  });
  out.pytorch_set_up = setup.report;
  if (py.status === 0) {
    const torch = Object.fromEntries(
      py.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { bench: string; ms_per_step_median: number })
        .map((r) => [r.bench, r]),
    );
    out.pytorch = torch;
    const n = results['cpu-native'] as Record<string, { ms_per_step_median?: number }>;
    out.ratio_cpu_native_over_pytorch = Object.fromEntries(
      ['gan-step', 'lstm-step'].map((b) => [
        b,
        n[b]?.ms_per_step_median && torch[b]
          ? +(n[b].ms_per_step_median / torch[b].ms_per_step_median).toFixed(2)
          : null,
      ]),
    );
  } else
    out.pytorch = { unavailable: (py.stderr || py.error?.message || '').split('\n').slice(-3).join(' ') };
  return out;
}

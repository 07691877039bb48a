import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fullParams } from '../src-main/services/calibration/gridded/problem';
import { makeTwin } from '../src-main/services/calibration/twin/generate';
import { ModelPool } from '../src-main/services/jobs/modelPool';
import { VIC3L } from '../src-main/services/physics/vic3l';
import { generateEnsemble } from '../src-main/services/surrogate/ensemble';
import {
  SAMPLERS,
  type ModelRun,
  type Sampler,
  type SurrogateProblem,
} from '../src-main/services/surrogate/types';
import { machine } from './stats';

/** SHA-256 (16 hex digits) of arrays' values as Float64. */
const checksum = (...arrays: ArrayLike<number>[]) => {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(Float64Array.from(a).buffer));
  return h.digest('hex').slice(0, 16);
};

/**
 * The GAN-PO paper's perturbed-parameter ensemble on its twin (Sun, Pan & Duan 2024: 400 vic3l
 * runs x 408 cells x 1,095 days, 2009-2011 after the 2008 warm-up), generated through the model
 * pool: model runs per second, total time, bytes on disk, peak RSS. FIELDCAL_BENCH_MEMBERS (default
 * 400), FIELDCAL_BENCH_THREADS (2), FIELDCAL_BENCH_SAMPLER (uniform-cell, the paper's) and
 * FIELDCAL_BENCH_OUT (default: a temporary folder, removed after) change it.
 */
export async function ensembleBench(): Promise<Record<string, unknown>> {
  const env = process.env;
  const members = Number(env.FIELDCAL_BENCH_MEMBERS ?? 400);
  const threads = Number(env.FIELDCAL_BENCH_THREADS ?? 2);
  const sampler = (env.FIELDCAL_BENCH_SAMPLER ?? 'uniform-cell') as Sampler;
  if (!SAMPLERS.includes(sampler))
    throw new Error(`FIELDCAL_BENCH_SAMPLER must be one of ${SAMPLERS.join(', ')}`);
  const twin = makeTwin({ layout: 'paper' });
  const pr = twin.problem;
  // the ensemble's window: the paper's training and test years (2009-2011) after the 2008 warm-up
  const t0 = pr.periods.train[0];
  const t1 = pr.periods.test[1];
  const n = pr.cells;
  const steps = t1 - t0;
  const forcing = { P: pr.forcing.P.subarray(t0 * n, t1 * n), PET: pr.forcing.PET.subarray(t0 * n, t1 * n) };
  const problem: SurrogateProblem = {
    rows: pr.rows,
    cols: pr.cols,
    mask: pr.mask,
    cells: n,
    steps,
    forcing,
    parameters: [...pr.calibrated],
    lower: pr.lower,
    upper: pr.upper,
    target: pr.target.name,
    modelKey: `vic3l:${createHash('sha256').update(JSON.stringify(VIC3L)).digest('hex').slice(0, 16)}:warmup-${t0}`,
    dataKey: checksum(pr.mask, pr.forcing.P.subarray(0, t1 * n), pr.forcing.PET.subarray(0, t1 * n)),
  };
  const ownDir = !env.FIELDCAL_BENCH_OUT;
  const parent = env.FIELDCAL_BENCH_OUT ?? mkdtempSync(join(tmpdir(), 'fieldcal-bench-ensemble-'));
  const pool = await ModelPool.create(pr, threads);
  let runs = 0;
  let modelSeconds = 0;
  // the pool runs from step 0 (warm-up included) and the ensemble keeps the window
  const run: ModelRun = (fields) => {
    const a = performance.now();
    const out = pool.run(fullParams(pr, fields), t1).subarray(t0 * n, t1 * n);
    modelSeconds += (performance.now() - a) / 1000;
    runs++;
    return out;
  };
  try {
    const start = performance.now();
    const ens = await generateEnsemble(
      problem,
      {
        members,
        sampler,
        seed: 1,
        split: {
          train: Math.floor(members / 2),
          valid: Math.floor(members / 4),
          test: members - Math.floor(members / 2) - Math.floor(members / 4),
        },
      },
      run,
      { dir: parent },
    );
    const seconds = (performance.now() - start) / 1000;
    const files = readdirSync(ens.dir).map((f) => statSync(join(ens.dir, f)));
    // asked again: the stored ensemble, no model run
    const runsBefore = runs;
    const r0 = performance.now();
    const again = await generateEnsemble(problem, ens.manifest.spec, run, { dir: parent });
    const reuseSeconds = (performance.now() - r0) / 1000;
    // one member's whole target, one bounded read
    const m0 = performance.now();
    const target = again.target(members - 1, 0, steps);
    const readMemberMs = performance.now() - m0;
    let sum = 0;
    for (const v of target) sum += v;
    return {
      machine: machine(),
      ensemble: { members, cells: n, steps, parameters: problem.parameters, sampler, threads: pool.threads },
      runs,
      total_seconds: +seconds.toFixed(2),
      runs_per_s: +(runs / seconds).toFixed(2),
      model_seconds: +modelSeconds.toFixed(2),
      model_runs_per_s: +(runs / modelSeconds).toFixed(2),
      model_warmup_steps_per_run: t0,
      store_seconds: +(seconds - modelSeconds).toFixed(2),
      within_10_minutes: seconds <= 600,
      bytes: files.reduce((a, s) => a + s.size, 0),
      bytes_allocated_on_disk: files.reduce((a, s) => a + s.blocks * 512, 0),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      reuse: { runs: runs - runsBefore, seconds: +reuseSeconds.toFixed(3) },
      read_one_member_ms: +readMemberMs.toFixed(1),
      last_member_mean_et_mm_per_day: +(sum / target.length).toFixed(4),
    };
  } finally {
    pool.close();
    if (ownDir) rmSync(parent, { recursive: true, force: true });
  }
}

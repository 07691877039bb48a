import type * as TfModule from '@tensorflow/tfjs';
import { runVic3l, VIC3L_CONSTANTS, VIC3L_PARAMS } from '../../../physics/vic3l';
import { vic3lOp } from '../../../physics/vic3l/op';
import { targetOutput, type GriddedProblem } from '../../gridded/problem';
import type { ParamFields } from '../../gridded/simulator';

/**
 * Every cell's state at the start of each step [0, steps) of the last full pass: soil moisture
 * as a fraction of each layer's capacity (so it stays valid when the layer depths change) and
 * snow water (mm), step-major [steps x cells].
 */
export interface StateCache {
  steps: number;
  f1: Float64Array;
  f2: Float64Array;
  f3: Float64Array;
  swe: Float64Array;
}

const mmPerM = 1000 * VIC3L_CONSTANTS.porosity;

/**
 * One full forward run from the first step to `tEnd` with the given parameters: the target output
 * (scaled, step-major) and the states at the start of every step before `tCache`.
 */
export function fullPass(
  pr: GriddedProblem,
  params: ParamFields,
  tEnd: number,
  tCache: number,
): { target: Float64Array; cache: StateCache } {
  const { output, scale } = targetOutput(pr.target.name);
  const n = pr.cells;
  const cut = (a: ArrayLike<number>) => (a as Float64Array).subarray(0, tEnd * n);
  const { outputs } = runVic3l(
    params,
    { P: cut(pr.forcing.P), PET: cut(pr.forcing.PET), T: pr.forcing.T && cut(pr.forcing.T) },
    tEnd,
    { dt: pr.dt, outputs: [...new Set([output, 'W1', 'W2', 'W3', 'SWE'] as const)] },
  );
  const o = outputs[output]!;
  const target = scale === 1 ? Float64Array.from(o) : Float64Array.from(o, (v) => v * scale);
  const steps = Math.min(tCache, tEnd);
  const cache: StateCache = {
    steps,
    f1: new Float64Array(steps * n),
    f2: new Float64Array(steps * n),
    f3: new Float64Array(steps * n),
    swe: new Float64Array(steps * n),
  };
  // step 0 starts from vic3l's default: half of each layer's capacity, no snow
  cache.f1.fill(0.5, 0, n);
  cache.f2.fill(0.5, 0, n);
  cache.f3.fill(0.5, 0, n);
  const cap = [
    () => VIC3L_CONSTANTS.d1 * mmPerM,
    (c: number) => params.d2[c]! * mmPerM,
    (c: number) => params.d3[c]! * mmPerM,
  ];
  for (let t = 1; t < steps; t++)
    for (let c = 0; c < n; c++) {
      const i = (t - 1) * n + c;
      cache.f1[t * n + c] = outputs.W1![i]! / cap[0]!(c);
      cache.f2[t * n + c] = outputs.W2![i]! / cap[1]!(c);
      cache.f3[t * n + c] = outputs.W3![i]! / cap[2]!(c);
      cache.swe[t * n + c] = outputs.SWE![i]!;
    }
  return { target, cache };
}

/** The states at the start of step `a` for parameters whose layer depths are `d2`, `d3` (mm). */
export function statesAt(cache: StateCache, a: number, d2: ArrayLike<number>, d3: ArrayLike<number>) {
  const n = d2.length;
  const at = (f: Float64Array, c: number) => Math.min(1, Math.max(0, f[a * n + c]!));
  return {
    W1: Float64Array.from({ length: n }, (_, c) => at(cache.f1, c) * VIC3L_CONSTANTS.d1 * mmPerM),
    W2: Float64Array.from({ length: n }, (_, c) => at(cache.f2, c) * d2[c]! * mmPerM),
    W3: Float64Array.from({ length: n }, (_, c) => at(cache.f3, c) * d3[c]! * mmPerM),
    SWE: cache.swe.slice(a * n, (a + 1) * n),
  };
}

/** The problem's forcing over steps [a, e) (views, no copy). */
function forcingSlice(pr: GriddedProblem, a: number, e: number) {
  const n = pr.cells;
  const cut = (x: ArrayLike<number>) => (x as Float64Array).subarray(a * n, e * n);
  return { P: cut(pr.forcing.P), PET: cut(pr.forcing.PET), T: pr.forcing.T && cut(pr.forcing.T) };
}

/** Initial states of vic3l in mm (Vic3lOptions.initial). */
type States = { W1: Float64Array; W2: Float64Array; W3: Float64Array; SWE: Float64Array };

/** How h() simulates a batch: the whole sequence, or a window started from the cached states. */
export type BatchDesign = { kind: 'full' } | { kind: 'window'; window: number };

/**
 * h() for a batch of days [s, e) (Fieldcal's design; see index.ts), the target of steps [s, e)
 * returned [e - s, cells] and differentiable through the model's exact adjoint. 'full': vic3l from
 * the first step and its own initial states to e, so the gradient follows every state back to the
 * start. 'window': from a = max(0, s - window), started from the last full pass's states at a
 * (moisture re-scaled to the current layer depths), held fixed in the gradient. `reuse`: the op's
 * output and start states are kept there at the first call and not computed again at the next one
 * (the same parameters: the discriminator's step, then the generator's).
 */
export function batchTarget(
  tf: typeof TfModule,
  pr: GriddedProblem,
  full: TfModule.Tensor2D,
  cache: StateCache,
  s: number,
  e: number,
  design: BatchDesign,
  reuse?: { value?: Float32Array; initial?: States },
): TfModule.Tensor2D {
  const { output, scale } = targetOutput(pr.target.name);
  const a = design.kind === 'full' ? 0 : Math.max(0, s - design.window);
  let initial = reuse?.initial;
  if (!initial && a > 0) {
    const v = full.dataSync();
    const k = VIC3L_PARAMS.length;
    const col = (j: number) => Float64Array.from({ length: pr.cells }, (_, c) => v[c * k + j]!);
    initial = statesAt(cache, a, col(VIC3L_PARAMS.indexOf('d2')), col(VIC3L_PARAMS.indexOf('d3')));
  }
  const y = vic3lOp(full, forcingSlice(pr, a, e), e - a, output, {
    dt: pr.dt,
    ...(initial ? { initial } : {}),
    warmup: s - a,
    value: reuse?.value,
  });
  if (reuse && !reuse.value) {
    reuse.value = (y.dataSync() as Float32Array).slice();
    reuse.initial = initial;
  }
  return scale === 1 ? y : tf.tidy(() => tf.mul(y, scale) as TfModule.Tensor2D);
}

/**
 * What the batch design costs in accuracy: the RMSE between h() of each block (started from
 * `stale` states, those of the previous full pass) and the exact full-sequence run `exact` with the
 * same parameters, over the blocks' steps, and that RMSE relative to the mean exact target.
 */
export function blockError(
  pr: GriddedProblem,
  params: ParamFields,
  stale: StateCache,
  exact: Float64Array,
  blocks: Array<[number, number]>,
  window: number,
): { rmse: number; relative: number } {
  const { output, scale } = targetOutput(pr.target.name);
  const n = pr.cells;
  let se = 0;
  let sum = 0;
  let count = 0;
  for (const [s, e] of blocks) {
    const a = Math.max(0, s - window);
    const { outputs } = runVic3l(params, forcingSlice(pr, a, e), e - a, {
      dt: pr.dt,
      outputs: [output],
      initial: statesAt(stale, a, params.d2, params.d3),
    });
    const o = outputs[output]!;
    for (let t = s; t < e; t++)
      for (let c = 0; c < n; c++) {
        const x = exact[t * n + c]!;
        se += (o[(t - a) * n + c]! * scale - x) ** 2;
        sum += x;
        count++;
      }
  }
  const rmse = Math.sqrt(se / Math.max(count, 1));
  return { rmse, relative: rmse / Math.max(Math.abs(sum / Math.max(count, 1)), 1e-12) };
}

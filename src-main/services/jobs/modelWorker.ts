import { parentPort } from 'node:worker_threads';
import { lossTarget } from '../calibration/gridded/coarse';
import { TargetLoss } from '../calibration/gridded/objectives';
import { runVic3l, vic3lWithGradient, VIC3L_PARAMS, type Vic3lParamName } from '../physics/vic3l';
import { CTRL, type ModelWorkerData } from './modelPool';

/** A model worker's loop: waits for a command, runs its block of cells, reports done. */
export function modelWorkerLoop(d: ModelWorkerData): void {
  const ctrl = new Int32Array(d.shared.ctrl);
  const n = d.cells;
  const m = d.c1 - d.c0;
  const steps = d.steps;
  // this worker's cells of the forcing and target, step-major [steps x m]
  const take = (sab: SharedArrayBuffer, rows = steps) => {
    const all = new Float64Array(sab);
    const v = new Float64Array(rows * m);
    for (let t = 0; t < rows; t++) v.set(all.subarray(t * n + d.c0, t * n + d.c1), t * m);
    return v;
  };
  const P = take(d.shared.P);
  const PET = take(d.shared.PET);
  const T = d.shared.T ? take(d.shared.T) : undefined;
  const obs = take(d.shared.obs);
  // a coarse target: this block's values by target step, compared with the aggregated output
  const coarse =
    d.coarse && d.shared.bins && d.shared.values
      ? lossTarget(
          {
            bins: new Int32Array(d.shared.bins),
            values: take(d.shared.values, d.coarse.targetSteps),
            rule: d.coarse.rule,
          },
          m,
        )
      : null;
  // partial sums per slot: model steps, or target steps for a coarse target
  const slots = Math.max(steps, d.coarse?.targetSteps ?? 0);
  const params = new Float64Array(d.shared.params);
  const out = new Float64Array(d.shared.out);
  const grad = new Float64Array(d.shared.grad);
  const partial = new Float64Array(d.shared.partial);
  const value = new Float64Array(d.shared.value);
  const list = new Int32Array(d.shared.cells);
  /** Replaces a block's per-slot sums (slots from `off`) by the domain totals, at the barrier. */
  const reduceFrom = (off: number) => (sse: Float64Array, count: Float64Array) => {
    // publish this block's per-step sums, wait for every block, then use the domain totals
    const base = d.index * slots * 2;
    for (let k = 0; k < sse.length; k++) {
      partial[base + 2 * (off + k)] = sse[k]!;
      partial[base + 2 * (off + k) + 1] = count[k]!;
    }
    barrier(ctrl, d.workers);
    for (let k = 0; k < sse.length; k++) {
      let s = 0;
      let c = 0;
      for (let w = 0; w < d.workers; w++) {
        s += partial[w * slots * 2 + 2 * (off + k)]!;
        c += partial[w * slots * 2 + 2 * (off + k) + 1]!;
      }
      sse[k] = s;
      count[k] = c;
    }
  };
  /**
   * Window command: the listed cells of this block run from step s0 (initial stores) to t1, loss
   * on [t0, t1) with the domain's sums; a block with none of them still meets the barrier.
   */
  const windowStep = (t0: number, t1: number) => {
    const s0 = Atomics.load(ctrl, CTRL.s0);
    const count = Atomics.load(ctrl, CTRL.count);
    const sel: number[] = [];
    for (let i = 0; i < count; i++) {
      const c = list[i]!;
      if (c >= d.c0 && c < d.c1) sel.push(c - d.c0);
    }
    const mb = sel.length;
    const len = t1 - s0;
    const kind = Atomics.load(ctrl, CTRL.kind) === 1 ? 'cell-mse' : 'spatial-rmse';
    const loss = new TargetLoss(
      kind,
      d.output,
      t0 - s0,
      len,
      (t, i) => obs[(s0 + t) * m + sel[i]!]!,
      mb,
      reduceFrom(t0),
      d.scale,
    );
    if (mb === 0) loss.afterForward();
    else {
      const sub = (a: Float64Array) => {
        const v = new Float64Array(len * mb);
        for (let t = 0; t < len; t++) for (let i = 0; i < mb; i++) v[t * mb + i] = a[(s0 + t) * m + sel[i]!]!;
        return v;
      };
      const p = {} as Record<Vic3lParamName, Float64Array>;
      VIC3L_PARAMS.forEach((name, k) => (p[name] = Float64Array.from(sel, (i) => params[k * n + d.c0 + i]!)));
      const { gradient } = vic3lWithGradient(p, { P: sub(P), PET: sub(PET), T: T && sub(T) }, len, loss, {
        dt: d.dt,
      });
      VIC3L_PARAMS.forEach((name, k) => sel.forEach((i, j) => (grad[k * n + d.c0 + i] = gradient[name][j]!)));
    }
    if (d.index === 0) value[0] = loss.value;
  };
  let seq = Atomics.load(ctrl, CTRL.seq);
  parentPort?.postMessage({ ready: true });
  for (;;) {
    Atomics.wait(ctrl, CTRL.seq, seq);
    seq = Atomics.load(ctrl, CTRL.seq);
    const cmd = Atomics.load(ctrl, CTRL.cmd);
    if (cmd === 3) return;
    try {
      const t0 = Atomics.load(ctrl, CTRL.t0);
      const t1 = Atomics.load(ctrl, CTRL.t1);
      const p = {} as Record<Vic3lParamName, Float64Array>;
      VIC3L_PARAMS.forEach((name, k) => (p[name] = params.slice(k * n + d.c0, k * n + d.c1)));
      const forcing = { P: P.subarray(0, t1 * m), PET: PET.subarray(0, t1 * m), T: T?.subarray(0, t1 * m) };
      if (cmd === 4) {
        windowStep(t0, t1);
      } else if (cmd === 1) {
        const y = runVic3l(p, forcing, t1, { dt: d.dt, outputs: [d.output] }).outputs[d.output]!;
        for (let t = 0; t < t1; t++)
          for (let i = 0; i < m; i++) out[t * n + d.c0 + i] = d.scale * y[t * m + i]!;
      } else {
        const kind = Atomics.load(ctrl, CTRL.kind) === 1 ? 'cell-mse' : 'spatial-rmse';
        const off = coarse ? 0 : t0;
        const loss = new TargetLoss(
          kind,
          d.output,
          t0,
          t1,
          coarse ? coarse.obs : (t, c) => obs[t * m + c]!,
          m,
          reduceFrom(off),
          d.scale,
          coarse?.bins,
        );
        const { gradient } = vic3lWithGradient(p, forcing, t1, loss, { dt: d.dt });
        VIC3L_PARAMS.forEach((name, k) => grad.set(gradient[name], k * n + d.c0));
        if (d.index === 0) value[0] = loss.value;
      }
    } catch (err) {
      Atomics.store(ctrl, CTRL.failed, 1);
      parentPort?.postMessage({ error: (err as Error).message });
    }
    Atomics.add(ctrl, CTRL.done, 1);
    Atomics.notify(ctrl, CTRL.done);
  }
}

/** A reusable barrier over the arrival counter and a generation number. */
function barrier(ctrl: Int32Array, parties: number): void {
  const gen = Atomics.load(ctrl, CTRL.generation);
  if (Atomics.add(ctrl, CTRL.arrived, 1) + 1 === parties) {
    Atomics.store(ctrl, CTRL.arrived, 0);
    Atomics.add(ctrl, CTRL.generation, 1);
    Atomics.notify(ctrl, CTRL.generation);
  } else {
    while (Atomics.load(ctrl, CTRL.generation) === gen) Atomics.wait(ctrl, CTRL.generation, gen, 1000);
  }
}

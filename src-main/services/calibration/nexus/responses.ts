import type * as TfModule from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUCKET_K, BUCKET_PROCESSES, runBucket, type BucketOptions } from '../../physics/bucket';
import { chartSvg, svgToPng } from '../../report/svg';
import { standardInputs, type NexusForcing, type NexusStats } from './model';

type Tf = typeof TfModule;

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const NAMES = BUCKET_PROCESSES.map((p) => p.name);

/** The learned response functions of one basin (Liu & Hsu 2026: extracted, not prescribed). */
export interface ResponseFunctions {
  /** Partial dependence on rainfall intensity: mean fraction per process at probe days set to each P. */
  rainfall: { P: number[]; fraction: Record<string, number[]>; probes: number };
  /** Each flux's effective rate (flux / water available to it) by decile of its store. */
  storage: Record<string, { store: string; level: number[]; rate: number[] }>;
  /** Discharge response per mm of a rainfall pulse, in a dry and a wet state, with and without the nexus' reaction. */
  impulse: {
    pulse: number;
    horizon: number;
    dry: { step: number; soil: number; full: number[]; fixedFractions: number[] };
    wet: { step: number; soil: number; full: number[]; fixedFractions: number[] };
    /** Centroid lag (steps) and share of the pulse out at the outlet within the horizon. */
    summary: Record<'dry' | 'wet', { centroid: number; volume: number; peakLag: number }>;
  };
}

function fractionsOf(
  tf: Tf,
  net: TfModule.LayersModel,
  f: NexusForcing,
  st: NexusStats,
  batch: Float32Array[],
) {
  const T = f.P.length;
  const n = st.inputs.length;
  const x = new Float32Array(batch.length * T * n);
  batch.forEach((b, i) => x.set(b, i * T * n));
  const y = tf.tidy(() => net.predict(tf.tensor3d(x, [batch.length, T, n])) as TfModule.Tensor);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

const summary = (r: number[]) => {
  let s = 0;
  let m = 0;
  let pk = 0;
  r.forEach((v, k) => {
    s += v;
    m += k * v;
    if (v > r[pk]!) pk = k;
  });
  return { centroid: s > 0 ? m / s : Number.NaN, volume: s, peakLag: pk };
};

/**
 * Extracts the response functions of a trained nexus over a forcing sequence whose first `from`
 * steps are warm-up: (1) partial dependence of each fraction on rainfall intensity (P set to a
 * grid value on probe days every 20 steps, everything else as observed, the mean over the probes;
 * Friedman 2001); (2) effective rate flux / available water against the level of the store it
 * drains; (3) impulse responses: the discharge change per mm after a pulse added on the driest and
 * the wettest day (soil store), with the nexus reacting to the pulse (`full`, the learned memory)
 * and with the fractions frozen (`fixedFractions`, the bucket structure alone).
 */
export function extractResponses(
  tf: Tf,
  net: TfModule.LayersModel,
  f: NexusForcing,
  st: NexusStats,
  bucket: BucketOptions,
  from: number,
  opts: { pulse?: number; horizon?: number; grid?: number } = {},
): ResponseFunctions {
  const T = f.P.length;
  const horizon = Math.min(opts.horizon ?? 60, Math.max(5, T - from - 1));
  const pulse = opts.pulse ?? 10;
  const base = standardInputs(f, st);
  const fr0 = fractionsOf(tf, net, f, st, [base]);
  const run0 = runBucket(f.P, fr0, 1, T, bucket);
  // (1) partial dependence on P
  const sorted = Array.from(f.P.subarray(from)).sort((a, b) => a - b);
  const pHi = Math.max(1, sorted[Math.floor(0.995 * (sorted.length - 1))]!);
  const G = opts.grid ?? 11;
  const grid = Array.from({ length: G }, (_, i) => (pHi * i) / (G - 1));
  const probes: number[] = [];
  for (let t = from; t < T; t += 20) probes.push(t);
  const variants = grid.map((v) => {
    const x = base.slice();
    for (const t of probes) x[t * st.inputs.length] = (v - st.mean[0]!) / st.std[0]!;
    return x;
  });
  const frs = fractionsOf(tf, net, f, st, variants);
  const fraction: Record<string, number[]> = Object.fromEntries(NAMES.map((n) => [n, [] as number[]]));
  grid.forEach((_, g) => {
    NAMES.forEach((n, k) => {
      let s = 0;
      for (const t of probes) s += frs[(g * T + t) * BUCKET_K + k]!;
      fraction[n]!.push(s / Math.max(1, probes.length));
    });
  });
  // (2) effective rates by store level
  const prev = (a: Float64Array, t: number) => (t > 0 ? a[t - 1]! : 0);
  const avail: Record<string, { store: string; at: (t: number) => number; level: (t: number) => number }> = {
    canopyEvaporation: { store: 'C', at: (t) => prev(run0.C, t) + run0.I[t]!, level: (t) => prev(run0.C, t) },
    transpiration: { store: 'S', at: (t) => prev(run0.S, t) + run0.F[t]!, level: (t) => prev(run0.S, t) },
    recharge: {
      store: 'S',
      at: (t) => prev(run0.S, t) + run0.F[t]! - run0.Es[t]!,
      level: (t) => prev(run0.S, t),
    },
    baseflow: { store: 'G', at: (t) => prev(run0.G, t) + run0.R[t]!, level: (t) => prev(run0.G, t) },
    routing: {
      store: 'X',
      at: (t) => prev(run0.X, t) + run0.Rs[t]! + run0.B[t]!,
      level: (t) => prev(run0.X, t),
    },
  };
  const flux: Record<string, Float64Array> = {
    canopyEvaporation: run0.Ec,
    transpiration: run0.Es,
    recharge: run0.R,
    baseflow: run0.B,
    routing: run0.Q,
  };
  const storage: ResponseFunctions['storage'] = {};
  for (const [name, a] of Object.entries(avail)) {
    const rows: Array<[number, number]> = [];
    for (let t = from; t < T; t++) {
      const w = a.at(t);
      if (w > 1e-9) rows.push([a.level(t), flux[name]![t]! / w]);
    }
    rows.sort((p, q) => p[0] - q[0]);
    const level: number[] = [];
    const rate: number[] = [];
    for (let d = 0; d < 10 && rows.length >= 10; d++) {
      const part = rows.slice(Math.floor((d * rows.length) / 10), Math.floor(((d + 1) * rows.length) / 10));
      level.push(part.reduce((s, r) => s + r[0], 0) / part.length);
      rate.push(part.reduce((s, r) => s + r[1], 0) / part.length);
    }
    storage[name] = { store: a.store, level, rate };
  }
  // (3) impulse responses in the driest and wettest state (days with room for the horizon)
  let dry = -1;
  let wet = -1;
  for (let t = Math.max(from, 1); t < T - horizon; t++) {
    const s = run0.S[t - 1]!;
    if (dry < 0 || s < run0.S[dry - 1]!) dry = t;
    if (wet < 0 || s > run0.S[wet - 1]!) wet = t;
  }
  const impulseAt = (t0: number) => {
    const P1 = Float64Array.from(f.P);
    P1[t0]! += pulse;
    const x1 = base.slice();
    x1[t0 * st.inputs.length] = (P1[t0]! - st.mean[0]!) / st.std[0]!;
    const fr1 = fractionsOf(tf, net, f, st, [x1]);
    const full = runBucket(P1, fr1, 1, T, bucket).Q;
    const fixed = runBucket(P1, fr0, 1, T, bucket).Q;
    const resp = (q: Float64Array) =>
      Array.from({ length: horizon }, (_, k) => (q[t0 + k]! - run0.Q[t0 + k]!) / pulse);
    return { step: t0, soil: run0.S[t0 - 1]!, full: resp(full), fixedFractions: resp(fixed) };
  };
  const d = impulseAt(dry);
  const w = impulseAt(wet);
  return {
    rainfall: { P: grid, fraction, probes: probes.length },
    storage,
    impulse: { pulse, horizon, dry: d, wet: w, summary: { dry: summary(d.full), wet: summary(w.full) } },
  };
}

/** The response functions as PNG figures (four charts) in `dir`; returns the files written. */
export async function writeResponseFigures(
  dir: string,
  r: ResponseFunctions,
  basin: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, svg: string) => {
    const p = join(dir, name);
    await writeFile(p, svgToPng(svg));
    files.push(p);
  };
  for (const [k, group] of [
    ['surface', NAMES.slice(0, 4)],
    ['subsurface', NAMES.slice(4)],
  ] as const)
    await put(
      `response-rainfall-${k}.png`,
      chartSvg({
        title: `${basin}: learned fraction vs rainfall intensity (partial dependence, ${r.rainfall.probes} probe days)`,
        x: r.rainfall.P,
        series: group.map((n, i) => ({ name: n, values: r.rainfall.fraction[n]!, colour: COLOURS[i]! })),
        xLabel: 'P on the probe day (mm/d)',
        yLabel: 'fraction (-)',
        yRange: [0, 1],
      }),
    );
  const st = Object.entries(r.storage).slice(0, 4);
  await put(
    'response-storage.png',
    chartSvg({
      title: `${basin}: effective rate vs store level (deciles; stores C, S, S, G)`,
      x: Array.from({ length: 10 }, (_, i) => 5 + 10 * i),
      series: st.map(([n, v], i) => ({ name: `${n} (${v.store})`, values: v.rate, colour: COLOURS[i]! })),
      xLabel: 'store level percentile',
      yLabel: 'flux / available water (-)',
      yRange: [0, 1],
    }),
  );
  const im = r.impulse;
  await put(
    'response-impulse.png',
    chartSvg({
      title: `${basin}: Q response per mm of a ${im.pulse} mm pulse (dry S=${im.dry.soil.toFixed(0)}, wet S=${im.wet.soil.toFixed(0)} mm)`,
      x: Array.from({ length: im.horizon }, (_, k) => k),
      series: [
        { name: 'dry', values: im.dry.full, colour: COLOURS[1]! },
        { name: 'dry, frozen fractions', values: im.dry.fixedFractions, colour: COLOURS[1]!, dashed: true },
        { name: 'wet', values: im.wet.full, colour: COLOURS[0]! },
        { name: 'wet, frozen fractions', values: im.wet.fixedFractions, colour: COLOURS[0]!, dashed: true },
      ],
      xLabel: 'days after the pulse',
      yLabel: 'ΔQ per mm of pulse (1/d)',
    }),
  );
  return files;
}

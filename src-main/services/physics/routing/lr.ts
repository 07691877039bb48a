import { FieldcalError } from '../../../../src-shared/ipc';
import { D8_OFFSETS } from '../../grid/flowdir';
import type { ParameterSpec } from '../structure';
import { asFloat, nativePhysics } from '../native';

/** The routing parameter of `lr`, with smash's default and bounds. */
export const LLR: ParameterSpec = {
  name: 'llr',
  unit: 'min',
  description: 'linear routing reservoir time constant',
  default: 120,
  bounds: [1e-6, 1000],
  source: 'smash 1.x lr routing module (default and bounds of llr)',
};

/** The flow network of the active cells of a model grid, in upstream-to-downstream order. */
export interface RoutingNetwork {
  cells: number;
  /** Cell indices (0..cells-1 over active cells) in topological order, headwaters first. */
  order: Int32Array;
  /** Downstream active cell of each cell, or -1 where flow leaves the study area. */
  down: Int32Array;
  /** Cell area in m². */
  areaM2: number;
  /** Upstream neighbours of cell c: up[upStart[c] .. upStart[c + 1]). */
  upStart: Int32Array;
  up: Int32Array;
}

/**
 * Builds the network from D8 directions (index 0..7, -1 none) on a rows x cols grid with a mask.
 * Cells are numbered in row-major order over the active cells.
 */
export function buildNetwork(opts: {
  rows: number;
  cols: number;
  dir: Int8Array;
  mask: Uint8Array | null;
  cellSizeM: number;
}): RoutingNetwork {
  const { rows, cols, dir, mask } = opts;
  const id = new Int32Array(rows * cols).fill(-1);
  let cells = 0;
  for (let i = 0; i < rows * cols; i++) if (!mask || mask[i]) id[i] = cells++;
  const down = new Int32Array(cells).fill(-1);
  const indeg = new Int32Array(cells);
  for (let i = 0; i < rows * cols; i++) {
    const c = id[i]!;
    if (c < 0 || dir[i]! < 0) continue;
    const [dr, dc] = D8_OFFSETS[dir[i]!]!;
    const r = Math.floor(i / cols) + dr;
    const k = (i % cols) + dc;
    if (r < 0 || r >= rows || k < 0 || k >= cols) continue;
    const d = id[r * cols + k]!;
    if (d >= 0) {
      down[c] = d;
      indeg[d]!++;
    }
  }
  const order = new Int32Array(cells);
  let head = 0;
  let tail = 0;
  for (let c = 0; c < cells; c++) if (indeg[c] === 0) order[tail++] = c;
  while (head < tail) {
    const c = order[head++]!;
    const d = down[c]!;
    if (d >= 0 && --indeg[d]! === 0) order[tail++] = d;
  }
  if (tail < cells)
    throw new FieldcalError('INVALID_FILE', `The flow network has loops (${cells - tail} cells)`, {
      cellsInLoops: cells - tail,
    });
  const upStart = new Int32Array(cells + 1);
  for (let c = 0; c < cells; c++) if (down[c]! >= 0) upStart[down[c]! + 1]!++;
  for (let c = 0; c < cells; c++) upStart[c + 1]! += upStart[c]!;
  const fill = upStart.slice(0, cells);
  const up = new Int32Array(upStart[cells]!);
  for (let c = 0; c < cells; c++) if (down[c]! >= 0) up[fill[down[c]!]!++] = c;
  return { cells, order, down, areaM2: opts.cellSizeM * opts.cellSizeM, upStart, up };
}

/**
 * Outflow fraction of a linear reservoir over one step of dt seconds: 1 - exp(-dt / (60 llr)), llr
 * in minutes, so any model step (3600 hourly, 86400 daily) drains consistently (smash
 * fcore/operator/md_routing_operator.f90, linear_routing: hlr·exp(-dt/(llr·60)), qup·dt/1e-3 A).
 */
const drain = (llr: number, dt: number) => 1 - Math.exp(-dt / (60 * llr));

/**
 * Routes cell runoff (mm per step, step-major [steps x cells]) down the network with smash's `lr`
 * scheme: each cell's inflow from upstream (m³/s turned into mm over the cell) passes through a
 * linear reservoir of time constant llr (minutes); the cell's own runoff joins its outflow
 * directly. Returns discharge (m³/s) at every cell and step; `h` (mm) is the reservoir state,
 * updated in place. Volume is conserved: inflow = outflow + storage change.
 */
export function routeLr(
  net: RoutingNetwork,
  runoff: ArrayLike<number>,
  steps: number,
  llr: ArrayLike<number>,
  dt: number,
  h: Float64Array,
): Float64Array {
  const n = net.cells;
  if (runoff.length !== steps * n || llr.length !== n || h.length !== n) {
    throw new FieldcalError('VALIDATION', `routing needs runoff [${steps} x ${n}], llr [${n}] and h [${n}]`, {
      field: 'runoff',
    });
  }
  for (let c = 0; c < n; c++) {
    if (!(llr[c]! > 0))
      throw new FieldcalError('VALIDATION', `llr of cell ${c} must be positive (got ${llr[c]})`, {
        field: 'llr',
        cell: c,
      });
  }
  const mmToM3s = (net.areaM2 * 1e-3) / dt;
  const a = Float64Array.from({ length: n }, (_, c) => drain(llr[c]!, dt));
  const q = new Float64Array(steps * n);
  const native = nativePhysics();
  if (native) {
    // the same loop in C++ (native/src/physics.cc)
    const e = Float64Array.from({ length: n }, (_, c) => Math.exp(-dt / (60 * llr[c]!)));
    native.lrRoute(
      net.order,
      net.down,
      net.upStart,
      net.up,
      n,
      steps,
      asFloat(runoff),
      a,
      e,
      Float64Array.from(llr),
      dt,
      mmToM3s,
      h,
      q,
      null,
      null,
      null,
    );
    return q;
  }
  const qup = new Float64Array(n);
  for (let t = 0; t < steps; t++) {
    qup.fill(0);
    const base = t * n;
    for (const c of net.order) {
      const htmp = h[c]! + qup[c]! / mmToM3s;
      const qrout = htmp * a[c]!;
      h[c] = htmp - qrout;
      const qc = (qrout + runoff[base + c]!) * mmToM3s;
      q[base + c] = qc;
      const d = net.down[c]!;
      if (d >= 0) qup[d]! += qc;
    }
  }
  return q;
}

/**
 * Exact adjoint of {@link routeLr} for L = Σ gQ·Q: gradients with respect to the runoff of every
 * cell and step, llr and the initial reservoir levels. Keeps the reservoir levels of every step
 * (cells x steps numbers) and walks back downstream-first.
 */
export function routeLrWithGradient(
  net: RoutingNetwork,
  runoff: ArrayLike<number>,
  steps: number,
  llr: ArrayLike<number>,
  dt: number,
  h0: Float64Array,
  gQOrLoss: ArrayLike<number> | ((q: Float64Array) => ArrayLike<number>),
) {
  const n = net.cells;
  const native = nativePhysics();
  if (native) return nativeRouteGradient(net, runoff, steps, llr, dt, h0, gQOrLoss);
  const hTape = new Float64Array(steps * n);
  const h = Float64Array.from(h0);
  // forward, recording the level before each step
  const mmToM3s = (net.areaM2 * 1e-3) / dt;
  const a = Float64Array.from({ length: n }, (_, c) => drain(llr[c]!, dt));
  const q = new Float64Array(steps * n);
  const qup = new Float64Array(steps * n);
  for (let t = 0; t < steps; t++) {
    const base = t * n;
    hTape.set(h, base);
    for (const c of net.order) {
      const htmp = h[c]! + qup[base + c]! / mmToM3s;
      const qrout = htmp * a[c]!;
      h[c] = htmp - qrout;
      const qc = (qrout + runoff[base + c]!) * mmToM3s;
      q[base + c] = qc;
      const d = net.down[c]!;
      if (d >= 0) qup[base + d]! += qc;
    }
  }
  const gQ = typeof gQOrLoss === 'function' ? gQOrLoss(q) : gQOrLoss;
  const gRunoff = new Float64Array(steps * n);
  const gLlr = new Float64Array(n);
  let gh = new Float64Array(n); // adjoint of the level after the step
  const gq = new Float64Array(n);
  for (let t = steps - 1; t >= 0; t--) {
    const base = t * n;
    for (let c = 0; c < n; c++) gq[c] = gQ[base + c]!;
    const ghPrev = new Float64Array(n);
    for (let k = n - 1; k >= 0; k--) {
      const c = net.order[k]!;
      // q_c feeds the downstream cell's inflow (already processed: downstream comes later in order)
      const gqc = gq[c]!;
      gRunoff[base + c] = gqc * mmToM3s;
      const gqrout = gqc * mmToM3s;
      const htmp = hTape[base + c]! + qup[base + c]! / mmToM3s;
      const ghtmp = gqrout * a[c]! + gh[c]! * (1 - a[c]!);
      const ga = gqrout * htmp - gh[c]! * htmp;
      const e = Math.exp(-dt / (60 * llr[c]!));
      gLlr[c]! += (ga * (-e * dt)) / (60 * llr[c]! * llr[c]!);
      ghPrev[c] = ghtmp;
      // inflow from each upstream cell u: qup_c = Σ q_u, entering htmp as qup_c / mmToM3s
      const gqup = ghtmp / mmToM3s;
      upstreamAdd(net, c, gqup, gq);
    }
    gh = ghPrev;
  }
  return { q, gradient: { runoff: gRunoff, llr: gLlr, h0: gh } };
}

/** {@link routeLrWithGradient} on the native kernels (native/src/physics.cc). */
function nativeRouteGradient(
  net: RoutingNetwork,
  runoff: ArrayLike<number>,
  steps: number,
  llr: ArrayLike<number>,
  dt: number,
  h0: Float64Array,
  gQOrLoss: ArrayLike<number> | ((q: Float64Array) => ArrayLike<number>),
) {
  const native = nativePhysics()!;
  const n = net.cells;
  if (runoff.length !== steps * n || llr.length !== n || h0.length !== n) {
    throw new FieldcalError('VALIDATION', `routing needs runoff [${steps} x ${n}], llr [${n}] and h [${n}]`, {
      field: 'runoff',
    });
  }
  const mmToM3s = (net.areaM2 * 1e-3) / dt;
  const a = Float64Array.from({ length: n }, (_, c) => drain(llr[c]!, dt));
  const e = Float64Array.from({ length: n }, (_, c) => Math.exp(-dt / (60 * llr[c]!)));
  const r = asFloat(runoff);
  const l = Float64Array.from(llr);
  const q = new Float64Array(steps * n);
  /** One native routing from h: forward only, or forward and reverse with gQ (gradients written to g). */
  const route = (
    h: Float64Array,
    gQ: Float64Array | null,
    g: { runoff: Float64Array; llr: Float64Array } | null,
  ) =>
    native.lrRoute(
      net.order,
      net.down,
      net.upStart,
      net.up,
      n,
      steps,
      r,
      a,
      e,
      l,
      dt,
      mmToM3s,
      h,
      q,
      gQ,
      g?.runoff ?? null,
      g?.llr ?? null,
    );
  let gQ: ArrayLike<number>;
  if (typeof gQOrLoss === 'function') {
    // the loss needs the discharge first: one forward routing (cheap beside the runoff model)
    route(Float64Array.from(h0), null, null);
    gQ = gQOrLoss(q);
  } else gQ = gQOrLoss;
  const gh = Float64Array.from(h0);
  const gRunoff = new Float64Array(steps * n);
  const gLlr = new Float64Array(n);
  route(gh, Float64Array.from(gQ), { runoff: gRunoff, llr: gLlr });
  return { q, gradient: { runoff: gRunoff, llr: gLlr, h0: gh } };
}

/** Adds `g` to the adjoint of the discharge of every cell draining directly into `c`. */
function upstreamAdd(net: RoutingNetwork, c: number, g: number, gq: Float64Array): void {
  for (let k = net.upStart[c]!; k < net.upStart[c + 1]!; k++) gq[net.up[k]!]! += g;
}

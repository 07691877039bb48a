/**
 * Gram matrix G = A Aᵀ of a row-major rows x n float64 matrix, in double precision.
 *
 * The native tfjs backend's matrix product (oneDNN, native/src/matmul.cc) is float32 only, and
 * oneDNN has no f64 matmul on CPUs: its product of the z-scored EOF maps is off by ~1e-6 relative,
 * far outside the metrics' 1e-9 reference vectors (tests/fixtures/metrics/reference-vectors.json).
 * So the product stays in float64 here: OpenBLAS's dsyrk through the addon (native/src/linalg.cc,
 * see ./native.ts) where it is present, else a WebAssembly SIMD kernel (f64x2, a 3 x 4 register block
 * over cache-sized column panels, the GotoBLAS blocking of Goto & van de Geijn 2008; row blocks
 * split in lanes over worker threads) when the runtime validates it, else the same blocking in
 * scalar JavaScript. Both sum each entry in panel order, so they agree to rounding (~1e-16
 * relative), not bit for bit.
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { nativeLinalg, metricsEngines } from './native';

/** Column-panel width (doubles): 6 rows x 4 KB stay in L1 while the panel of all rows sits in L2. */
const PANEL = 512;

/** Register block of the kernel: P rows of A against Q rows, P x Q f64x2 accumulators. */
const P = 3;
const Q = 4;

/**
 * Bytes of the WebAssembly module: an imported shared memory and kern(x_0..x_P-1, y_0..y_Q-1, len, out),
 * which writes the P x Q dot products of rows x_p and y_q over `len` bytes to out (row-major).
 */
function kernelModule(): Uint8Array {
  const I32 = 0x7f;
  const V128 = 0x7b;
  const uleb = (v: number): number[] => {
    const out: number[] = [];
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v) b |= 0x80;
      out.push(b);
    } while (v);
    return out;
  };
  const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
  const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
  const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const get = (i: number) => [0x20, ...uleb(i)];
  const set = (i: number) => [0x21, ...uleb(i)];
  const simd = (op: number) => [0xfd, ...uleb(op)];
  // locals: params (P + Q pointers, len, out), then j, the accumulators, the x vectors, one y
  const LEN = P + Q;
  const OUT = LEN + 1;
  const J = OUT + 1;
  const ACC = J + 1;
  const X = ACC + P * Q;
  const Y = X + P;
  const load = (ptr: number) => [...get(ptr), ...get(J), 0x6a, ...simd(0x00), 3, 0]; // v128.load align 8
  const body: number[] = [0x03, 0x40]; // loop
  for (let p = 0; p < P; p++) body.push(...load(p), ...set(X + p));
  for (let q = 0; q < Q; q++) {
    body.push(...load(P + q), ...set(Y));
    for (let p = 0; p < P; p++) {
      const acc = ACC + p * Q + q;
      // acc += x_p * y  (f64x2.mul 0xf2, f64x2.add 0xf0)
      body.push(...get(acc), ...get(X + p), ...get(Y), ...simd(0xf2), ...simd(0xf0), ...set(acc));
    }
  }
  body.push(...get(J), 0x41, 16, 0x6a, 0x22, ...uleb(J)); // j += 16 (local.tee)
  body.push(...get(LEN), 0x49, 0x0d, 0, 0x0b); // br_if j < len; end loop
  for (let m = 0; m < P * Q; m++) {
    // out[m] = lane 0 + lane 1 (f64x2.extract_lane 0x21, f64.add 0xa0, f64.store 0x39)
    body.push(...get(OUT), ...get(ACC + m), ...simd(0x21), 0, ...get(ACC + m), ...simd(0x21), 1, 0xa0);
    body.push(0x39, 3, ...uleb(8 * m));
  }
  body.push(0x0b);
  const fn = [
    ...vec([
      [1, I32],
      [P * Q + P + 1, V128],
    ]),
    ...body,
  ];
  const params = Array.from({ length: P + Q + 2 }, () => [I32]);
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec(params), 0x00]])),
    // import env.mem: a shared memory (limits flag 3), 1 to 65536 pages
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x03, 1, ...uleb(65536)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...str('kern'), 0x00, 0]])),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

/** What one lane of the product needs; offsets count doubles in the WebAssembly memory. */
interface Job {
  rows: number;
  stride: number;
  lanes: number;
  zero: number;
  outAt: number;
  gAt: number;
}

/**
 * One lane of G: the row blocks i = lane, lane + lanes, ... of P rows against every block of Q rows
 * from the diagonal on, panel by panel. Each entry of G belongs to one lane and is summed in panel
 * order, so G is the same whatever the number of threads. Self-contained (no outer names): the
 * worker threads run its source.
 */
function runLane(
  kern: (...args: number[]) => void,
  mem: Float64Array,
  lane: number,
  job: { rows: number; stride: number; lanes: number; zero: number; outAt: number; gAt: number },
  P: number,
  Q: number,
  PANEL: number,
): void {
  const rows = job.rows;
  const stride = job.stride;
  const out = job.outAt + lane * P * Q;
  const ptr = new Array(P + Q + 2).fill(0);
  ptr[P + Q + 1] = out * 8;
  for (let jb = 0; jb < stride; jb += PANEL) {
    ptr[P + Q] = (Math.min(stride, jb + PANEL) - jb) * 8;
    for (let i = lane * P; i < rows; i += job.lanes * P) {
      for (let p = 0; p < P; p++) ptr[p] = ((i + p < rows ? (i + p) * stride : job.zero) + jb) * 8;
      for (let c = i - (i % Q); c < rows; c += Q) {
        for (let q = 0; q < Q; q++) ptr[P + q] = ((c + q < rows ? (c + q) * stride : job.zero) + jb) * 8;
        kern(ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], ptr[7], ptr[8]);
        for (let p = 0; p < P && i + p < rows; p++)
          for (let q = 0; q < Q && c + q < rows; q++)
            if (c + q >= i + p) mem[job.gAt + (i + p) * rows + c + q]! += mem[out + p * Q + q]!;
      }
    }
  }
}

/** Control words shared with the worker threads (Int32 indexes). */
const GEN = 0; // job generation: workers wake when it changes
const NEXT = 1; // next lane to claim
const BUSY = 2; // threads inside a lane
const JOB = 4; // rows, stride, lanes, zero, outAt, gAt

/** Source of a worker thread: waits for a job, claims lanes until none is left, forever. */
const WORKER_SRC = `
const { workerData } = require('node:worker_threads');
const { memory, module, ctl, P, Q, PANEL } = workerData;
const kern = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.kern;
const runLane = ${runLane.toString()};
let gen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, gen);
  gen = Atomics.load(ctl, ${GEN});
  for (;;) {
    Atomics.add(ctl, ${BUSY}, 1);
    const job = { rows: ctl[${JOB}], stride: ctl[${JOB + 1}], lanes: ctl[${JOB + 2}], zero: ctl[${JOB + 3}], outAt: ctl[${JOB + 4}], gAt: ctl[${JOB + 5}] };
    const lane = Atomics.add(ctl, ${NEXT}, 1);
    if (lane < job.lanes) runLane(kern, new Float64Array(memory.buffer), lane, job, P, Q, PANEL);
    Atomics.sub(ctl, ${BUSY}, 1);
    Atomics.notify(ctl, ${BUSY});
    if (lane >= job.lanes) break;
  }
}
`;

/** The part of the WebAssembly API used here (the Node typings of this project do not declare it). */
interface WasmMemory {
  buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface Kernel {
  memory: WasmMemory;
  module: object;
  kern: (...args: number[]) => void;
  ctl: Int32Array;
  workers: Worker[];
}

let cached: Kernel | null | undefined;

/** Threads for the product: FIELDCAL_THREADS as the native backend reads it, else every core. */
function threads(): number {
  const n = Number(process.env.FIELDCAL_THREADS);
  return Number.isInteger(n) && n > 0 ? n : availableParallelism();
}

/** The SIMD kernel on a shared memory, or null where WebAssembly SIMD is unavailable (FIELDCAL_GRAM=js forces null). */
function kernel(): Kernel | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.FIELDCAL_GRAM === 'js' || !wasm) return cached;
  try {
    const bytes = kernelModule();
    if (!wasm.validate(bytes)) return cached;
    const module = new wasm.Module(bytes);
    const memory = new wasm.Memory({ initial: 1, maximum: 65536, shared: true });
    const inst = new wasm.Instance(module, { env: { mem: memory } });
    const ctl = new Int32Array(new SharedArrayBuffer(64));
    cached = { memory, module, kern: inst.exports.kern as Kernel['kern'], ctl, workers: [] };
  } catch {
    cached = null;
  }
  return cached;
}

/** Starts the worker threads once (threads() - 1 of them); a failure leaves the main thread alone. */
function startWorkers(k: Kernel): void {
  const want = threads() - 1;
  while (k.workers.length < want) {
    try {
      const w = new Worker(WORKER_SRC, {
        eval: true,
        workerData: { memory: k.memory, module: k.module, ctl: k.ctl, P, Q, PANEL },
      });
      w.unref();
      // a worker that fails to start leaves its lanes to the main thread
      w.on('error', () => undefined);
      k.workers.push(w);
    } catch {
      return;
    }
  }
}

/** Drops the kernel, its memory and its threads; the next product starts afresh. */
function release(k: Kernel): void {
  for (const w of k.workers) void w.terminate();
  k.workers.length = 0;
  if (cached === k) cached = undefined;
}

/** Which implementation {@link gram} uses in this process. */
export function gramEngine(): string {
  if (process.env.FIELDCAL_GRAM !== 'js' && nativeLinalg()) return `dsyrk, ${metricsEngines().linalg}`;
  const k = kernel();
  return k ? `wasm-simd-f64x2 ${P}x${Q}, ${threads()} thread(s)` : 'js-scalar';
}

/**
 * G = A Aᵀ (rows x rows, both triangles filled) of the row-major rows x n matrix `a`. `engine`
 * picks the implementation (default: OpenBLAS through the addon, else the SIMD kernel where
 * available, threaded for large products; FIELDCAL_GRAM=js forces the scalar one); the
 * WebAssembly memory limit (4 GiB) sends larger matrices to the JavaScript one.
 */
export function gram(
  a: Float64Array,
  rows: number,
  n: number,
  engine: 'auto' | 'wasm' | 'js' = 'auto',
): Float64Array {
  if (a.length !== rows * n) throw new RangeError('gram: a must hold rows x n values');
  const blas = engine === 'auto' && process.env.FIELDCAL_GRAM !== 'js' ? nativeLinalg() : null;
  // LAPACK/BLAS take 32-bit sizes: G's side up to 46340 (46340² < 2³¹)
  if (blas && rows > 0 && n > 0 && rows <= 46340 && n < 2 ** 31) {
    const g = new Float64Array(rows * rows);
    blas.gramF64(a, rows, n, g);
    return g;
  }
  const k = engine !== 'js' ? kernel() : null;
  const stride = n + (n & 1);
  const doubles = (rows + 1) * stride + rows * rows + 64 * P * Q;
  const g = k && doubles * 8 < 2 ** 32 - 2 ** 20 ? gramWasm(k, a, rows, n, stride) : gramJs(a, rows, n);
  // a WebAssembly memory never shrinks: after a large product, let it (and its threads) go
  if (k && k.memory.buffer.byteLength > 2 ** 26) release(k);
  for (let i = 0; i < rows; i++) for (let j = 0; j < i; j++) g[i * rows + j] = g[j * rows + i]!;
  return g;
}

function gramWasm(k: Kernel, a: Float64Array, rows: number, n: number, stride: number): Float64Array {
  // the matrix (rows padded with a zero row), G, then each lane's P x Q output
  const zero = rows * stride;
  const gAt = zero + stride;
  const outAt = gAt + rows * rows;
  const big = rows * rows * n > 2e7;
  if (big) startWorkers(k);
  const lanes = big ? Math.max(1, k.workers.length + 1) : 1;
  const need = (outAt + lanes * P * Q) * 8;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  const mem = new Float64Array(k.memory.buffer);
  for (let r = 0; r < rows; r++) {
    mem.set(a.subarray(r * n, (r + 1) * n), r * stride);
    if (stride > n) mem[r * stride + n] = 0;
  }
  mem.fill(0, zero, outAt);
  const job: Job = { rows, stride, lanes, zero, outAt, gAt };
  const ctl = k.ctl;
  if (lanes > 1) {
    // no claim succeeds while the job is written; then wake the workers
    Atomics.store(ctl, NEXT, 1 << 30);
    [rows, stride, lanes, zero, outAt, gAt].forEach((v, i) => Atomics.store(ctl, JOB + i, v));
    Atomics.store(ctl, NEXT, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    // the main thread claims lanes too, so the product finishes even if no worker ever starts
    for (let lane = Atomics.add(ctl, NEXT, 1); lane < lanes; lane = Atomics.add(ctl, NEXT, 1))
      runLane(k.kern, mem, lane, job, P, Q, PANEL);
    for (let b = Atomics.load(ctl, BUSY); b > 0; b = Atomics.load(ctl, BUSY)) Atomics.wait(ctl, BUSY, b, 50);
  } else runLane(k.kern, mem, 0, job, P, Q, PANEL);
  return mem.slice(gAt, gAt + rows * rows);
}

/** The same blocking in scalar JavaScript (the fallback). */
function gramJs(a: Float64Array, rows: number, n: number): Float64Array {
  const g = new Float64Array(rows * rows);
  const last = rows - 1;
  for (let jb = 0; jb < n; jb += PANEL) {
    const je = Math.min(n, jb + PANEL);
    for (let i = 0; i < rows; i += 2) {
      const i0 = i * n;
      const i1 = Math.min(i + 1, last) * n;
      for (let c = i & ~3; c < rows; c += 4) {
        const k0 = c * n;
        const k1 = Math.min(c + 1, last) * n;
        const k2 = Math.min(c + 2, last) * n;
        const k3 = Math.min(c + 3, last) * n;
        let s00 = 0;
        let s01 = 0;
        let s02 = 0;
        let s03 = 0;
        let s10 = 0;
        let s11 = 0;
        let s12 = 0;
        let s13 = 0;
        for (let j = jb; j < je; j++) {
          const x0 = a[i0 + j]!;
          const x1 = a[i1 + j]!;
          const y0 = a[k0 + j]!;
          const y1 = a[k1 + j]!;
          const y2 = a[k2 + j]!;
          const y3 = a[k3 + j]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
        }
        const s = [s00, s01, s02, s03, s10, s11, s12, s13];
        for (let p = 0; p < 2 && i + p < rows; p++)
          for (let q = 0; q < 4 && c + q < rows; q++)
            if (c + q >= i + p) g[(i + p) * rows + c + q]! += s[p * 4 + q]!;
      }
    }
  }
  return g;
}

// Runs the native addon's cached oneDNN primitives from threads other than the one that built them
// (tests/unit/main/compute/nativeThreads.test.ts): a job worker thread builds a primitive and exits,
// then the main thread and two concurrent threads execute it. Prints one JSON line with the largest
// relative error against a double-precision reference in JavaScript. Usage: node nativeThreads.mjs ADDON [REPEATS]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { values } from './lcg.mjs';

const path = isMainThread ? resolve(process.argv[2]) : workerData.path;
const addon = createRequire(import.meta.url)(path);

// a 3 x 3 convolution, stride 1, padding 1 (NHWC, HWIO), and a matrix product
const [N, H, W, CI, CO, KH, KW] = [8, 12, 12, 8, 16, 3, 3];
const x = values(N * H * W * CI, 1);
const dy = values(N * H * W * CO, 2);
const [M, K, P] = [64, 512, 64];
const a = values(M * K, 3);
const b = values(K * P, 4);

/** The filter gradient (conv mode 2) and the product, from the addon. */
function native() {
  const dw = new Float32Array(KH * KW * CI * CO);
  addon.conv(2, x, [N, H, W, CI], dw, [KH, KW, CI, CO], dy, [N, H, W, CO], [1, 1, 1, 1, 1, 1, 1, 1]);
  const c = new Float32Array(M * P);
  addon.matmul(a, [1, M, K], b, [1, K, P], false, false, c);
  return { dw, c };
}

/** The same in double precision: dw[kh,kw,ci,co] = sum over n,h,w of x[n,h+kh-1,w+kw-1,ci] dy[n,h,w,co]. */
function reference() {
  const dw = new Float64Array(KH * KW * CI * CO);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++) {
            const ih = h + kh - 1;
            const iw = w + kw - 1;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            for (let ci = 0; ci < CI; ci++) {
              const xv = x[((n * H + ih) * W + iw) * CI + ci];
              const o = ((kh * KW + kw) * CI + ci) * CO;
              const d = ((n * H + h) * W + w) * CO;
              for (let co = 0; co < CO; co++) dw[o + co] += xv * dy[d + co];
            }
          }
  const c = new Float64Array(M * P);
  for (let i = 0; i < M; i++)
    for (let k = 0; k < K; k++) {
      const av = a[i * K + k];
      for (let j = 0; j < P; j++) c[i * P + j] += av * b[k * P + j];
    }
  return { dw, c };
}

/** The largest |got - want| / (1 + |want|) over both results. */
function error(got, want) {
  let e = 0;
  for (const k of ['dw', 'c'])
    for (let i = 0; i < want[k].length; i++)
      e = Math.max(e, Math.abs(got[k][i] - want[k][i]) / (1 + Math.abs(want[k][i])));
  return e;
}

function inThread(repeats) {
  return new Promise((resolve, reject) => {
    const t = new Worker(new URL(import.meta.url), { workerData: { path, repeats } });
    let got;
    t.on('message', (m) => (got = m));
    t.on('error', reject);
    t.on('exit', (code) => (code === 0 ? resolve(got) : reject(new Error(`thread exited with ${code}`))));
  });
}

if (!isMainThread) {
  let worst = 0;
  const want = reference();
  for (let r = 0; r < workerData.repeats; r++) worst = Math.max(worst, error(native(), want));
  parentPort.postMessage(worst);
} else {
  const want = reference();
  // 1. a thread builds the primitives (the cache is process-wide) and exits
  const built = await inThread(1);
  // 2. the main thread executes them
  const main = error(native(), want);
  // 3. two threads execute them at the same time
  const repeats = Number(process.argv[3] ?? 300);
  const both = await Promise.all([inThread(repeats), inThread(repeats)]);
  console.log(JSON.stringify({ built, main, concurrent: Math.max(...both) }));
}

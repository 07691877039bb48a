// Runs the addon's LSTM forward and backward (batch 400, 30 steps, 14 inputs, 128 units, one
// thread) REPEATS times while signals arrive (tests/unit/main/compute/nativeSignals.test.ts: the
// parent runs this under `node --cpu-prof`, whose SIGPROF interrupts the main thread about once a
// millisecond). Prints one JSON line: a checksum of every output and whether all were finite.
// Usage: node --cpu-prof nativeSignals.mjs ADDON [REPEATS]
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { values as lcg } from './lcg.mjs';

const addon = createRequire(import.meta.url)(resolve(process.argv[2]));
const repeats = Number(process.argv[3] ?? 20);
addon.setThreads?.(1);

/** Deterministic values in [-0.5, 0.5). */
const values = (n, seed) => lcg(n, seed).map((v) => v / 2);

const [B, T, I, H] = [400, 30, 14, 128];
const K = Math.ceil((H + I + 1) / 16) * 16;
const W = values(I * 4 * H, 1);
const U = values(H * 4 * H, 2);
const bias = values(4 * H, 3);
const x = values(B * T * I, 4);
const dy = values(B * H, 5);
let sum = 0;
let finite = true;
for (let r = 0; r < repeats; r++) {
  const A = new Float32Array(T * B * K);
  const Cs = new Float32Array(B * T * H);
  const G = new Float32Array(B * T * 5 * H);
  const Y = new Float32Array(B * H);
  addon.lstmForward(x, [B, T, I, H, 0], W, U, bias, A, Cs, G, Y);
  const dx = new Float32Array(B * T * I);
  const dW = new Float32Array(I * 4 * H);
  const dU = new Float32Array(H * 4 * H);
  const db = new Float32Array(4 * H);
  addon.lstmBackward([B, T, I, H, 0, 1], W, U, A, Cs, G, dy, dx, dW, dU, db);
  for (const a of [Y, dx, dW, dU, db])
    for (const v of a) {
      if (!Number.isFinite(v)) finite = false;
      sum += v;
    }
}
process.stdout.write(`${JSON.stringify({ sum, finite })}\n`);

// Loads the addon only in worker threads (never in this main thread), as the job host's children
// do (tests/unit/main/compute/nativeUnload.test.ts). First one worker loads it, sets its threads
// and exits; then ROUNDS times two workers run an OpenMP-parallel kernel and exit together. Prints
// one JSON line: whether the addon, oneDNN and libgomp were still mapped after the first worker's
// exit and at the end, and the kernel's output sums. Before the addon was linked with -z nodelete,
// Node's dlclose at a worker's exit unmapped all three, and in a local sweep with 2 children at once
// (about one run in ten) a worker still inside libgomp at its exit (its thread destructor) was left
// running in unmapped code: SIGSEGV.
// Usage: node addonWorkers.mjs ADDON [ROUNDS]
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const addonPath = resolve(process.argv[2]);
const rounds = Number(process.argv[3] ?? 20);
const load = `
const { workerData, parentPort } = require('node:worker_threads');
const addon = require(workerData.addonPath);
addon.setThreads(2);
`;
// an LSTM forward of batch 64 x 128 units: its gates run in an OpenMP parallel loop (B H > 4096)
const lstm = `${load}
const [B, T, I, H] = [64, 2, 4, 128];
const K = Math.ceil((H + I + 1) / 16) * 16;
const f = (n) => new Float32Array(n).map((_, i) => Math.sin(i) / 4);
const Y = new Float32Array(B * H);
addon.lstmForward(f(B * T * I), [B, T, I, H, 0], f(I * 4 * H), f(H * 4 * H), f(4 * H),
  new Float32Array(T * B * K), new Float32Array(B * T * H), new Float32Array(B * T * 5 * H), Y);
parentPort.postMessage(Y.reduce((a, b) => a + b, 0));
`;
const sums = new Set();
const run = (body) =>
  new Promise((done, fail) => {
    const w = new Worker(body, { eval: true, workerData: { addonPath } });
    w.on('message', (s) => sums.add(s));
    w.on('error', fail);
    w.on('exit', done);
  });
const mapped = () => {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  return { addon: maps.includes(addonPath), dnnl: /libdnnl/.test(maps), gomp: /libgomp/.test(maps) };
};
await run(load);
const first = mapped();
for (let r = 0; r < rounds; r++) await Promise.all([run(lstm), run(lstm)]);
console.log(JSON.stringify({ first, end: mapped(), rounds, sums: [...sums] }));

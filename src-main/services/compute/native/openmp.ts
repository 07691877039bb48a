import { isMainThread } from 'node:worker_threads';

/**
 * Makes the native addon's OpenMP threads wait passively (`OMP_WAIT_POLICY=passive`) unless the user
 * chose a policy or a spin count. Spinning threads on a machine shared with other jobs cost the small
 * oneDNN kernels 5-10x (issue 19, session 7: an inverse-network step took 77-145 ms of CPU spinning
 * and 21-24 ms passive at load 6-16; on an idle machine the Lez network phase took 19.8 s spinning
 * and 23.8 s passive), and PyTorch is compared with passive waiting too (bench/peers.ts). libgomp
 * reads it once, when the addon loads it, so every entry point calls this before any addon loads;
 * only the main thread's `process.env` is the process's environment (a worker thread's is a copy).
 */
export function preferPassiveOpenMp(env: NodeJS.ProcessEnv = process.env): void {
  if (!isMainThread) return;
  if (env.OMP_WAIT_POLICY === undefined && env.GOMP_SPINCOUNT === undefined) env.OMP_WAIT_POLICY = 'passive';
}

import { availableParallelism } from 'node:os';
import type * as TfModule from '@tensorflow/tfjs';
import { loadAddon, registerCpuNative } from './cpuNative';
import { registerJsLstm } from './jsLstm';

/**
 * Backends in the order they are tried. `cpu-native` is tfjs's CPU backend with convolutions and
 * matrix products on oneDNN (native/); `cpu` (tfjs's JavaScript kernels) always loads.
 */
export const BACKEND_LADDER = ['tensorflow-gpu', 'tensorflow', 'cpu-native', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_LADDER)[number];

export interface ComputeStatus {
  backend: string;
  threads: number;
  tfjsVersion: string;
  tried: Array<{ backend: string; ok: boolean; reason: string | null }>;
}

type Tf = typeof TfModule;
let state: { tf: Tf; status: ComputeStatus } | null = null;
let pending: Promise<{ tf: Tf; status: ComputeStatus }> | null = null;

/** Reads the backend asked for by FIELDCAL_BACKEND, refusing unknown names. */
export function requestedBackend(env: NodeJS.ProcessEnv = process.env): BackendChoice | null {
  const v = env.FIELDCAL_BACKEND?.trim();
  if (!v) return null;
  if ((BACKEND_LADDER as readonly string[]).includes(v)) return v as BackendChoice;
  throw new Error(`FIELDCAL_BACKEND=${v} is not one of ${BACKEND_LADDER.join(', ')}`);
}

/** Threads of the native kernels: FIELDCAL_THREADS, else one per core. */
export function nativeThreads(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.FIELDCAL_THREADS);
  return Number.isInteger(n) && n > 0 ? n : availableParallelism();
}

async function tryNative(pkg: string): Promise<string | null> {
  try {
    await import(/* @vite-ignore */ pkg);
    return null;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return `${pkg} is not installed`;
    return ((err as Error).message ?? String(err)).split('\n')[0] ?? 'failed to load';
  }
}

async function init(prefer: BackendChoice | null): Promise<{ tf: Tf; status: ComputeStatus }> {
  const tf = await import('@tensorflow/tfjs');
  // production mode: no debug checks, and no console advice about installing tfjs-node
  tf.env().set('PROD', true);
  registerJsLstm(tf);
  const tried: ComputeStatus['tried'] = [];
  const ladder = prefer ? BACKEND_LADDER.slice(BACKEND_LADDER.indexOf(prefer)) : BACKEND_LADDER;
  for (const choice of ladder) {
    if (choice === 'cpu') {
      await tf.setBackend('cpu');
      tried.push({ backend: 'cpu', ok: true, reason: null });
      break;
    }
    if (choice === 'cpu-native') {
      const { addon, reason } = loadAddon();
      if (addon) {
        registerCpuNative(tf, addon, nativeThreads());
        if (await tf.setBackend('cpu-native')) {
          tried.push({ backend: 'cpu-native', ok: true, reason: null });
          break;
        }
      }
      tried.push({ backend: 'cpu-native', ok: false, reason: reason ?? 'backend did not initialise' });
      continue;
    }
    const reason = await tryNative(
      choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node',
    );
    if (reason === null && (await tf.setBackend('tensorflow'))) {
      tried.push({ backend: choice, ok: true, reason: null });
      break;
    }
    tried.push({ backend: choice, ok: false, reason: reason ?? 'backend did not initialise' });
  }
  await tf.ready();
  const backend = tf.getBackend();
  // tfjs's JavaScript kernels run on the calling thread only; oneDNN on its OpenMP threads.
  const threads = backend === 'cpu' ? 1 : backend === 'cpu-native' ? nativeThreads() : availableParallelism();
  return { tf, status: { backend, threads, tfjsVersion: tf.version.tfjs, tried } };
}

/**
 * Picks the compute backend once per process (explicit FIELDCAL_BACKEND first, then the ladder) and
 * returns its status. Later calls return the same result.
 */
export async function initCompute(): Promise<ComputeStatus> {
  if (state) return state.status;
  pending ??= init(requestedBackend());
  state = await pending;
  return state.status;
}

/** The one `tf` of the process, after {@link initCompute}. */
export function getTf(): Tf {
  if (!state) throw new Error('compute not initialised: await initCompute() first');
  return state.tf;
}

/** What a method gets of compute: the process's `tf`, the active backend and its threads. */
export interface ComputeHandle {
  tf: Tf;
  backend: string;
  threads: number;
}

/** Initialises compute once (see {@link initCompute}) and returns the handle methods use. */
export async function computeHandle(): Promise<ComputeHandle> {
  const status = await initCompute();
  return { tf: getTf(), backend: status.backend, threads: status.threads };
}

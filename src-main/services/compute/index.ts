import { availableParallelism } from 'node:os';
import type * as TfModule from '@tensorflow/tfjs';

/** Backends in the order they are tried. `cpu` (tfjs's JavaScript kernels) always loads. */
export const BACKEND_LADDER = ['tensorflow-gpu', 'tensorflow', 'cpu'] as const;
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
  const tried: ComputeStatus['tried'] = [];
  const ladder = prefer ? BACKEND_LADDER.slice(BACKEND_LADDER.indexOf(prefer)) : BACKEND_LADDER;
  for (const choice of ladder) {
    if (choice === 'cpu') {
      await tf.setBackend('cpu');
      tried.push({ backend: 'cpu', ok: true, reason: null });
      break;
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
  // tfjs's JavaScript kernels run on the calling thread only.
  const threads = backend === 'cpu' ? 1 : availableParallelism();
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

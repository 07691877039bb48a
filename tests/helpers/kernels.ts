import type * as TfModule from '@tensorflow/tfjs';

/**
 * Whether tfjs runs on its JavaScript kernels (backend 'cpu': FIELDCAL_BACKEND=cpu, or the native
 * addon absent). Network tests that train take a narrower network there: the same properties at a
 * size the JavaScript convolutions finish in seconds, not the minutes the reference width takes.
 */
export const onJsKernels = (tf: typeof TfModule): boolean => tf.getBackend() === 'cpu';

/**
 * {@link onJsKernels} for the jobs and CLI runs a test starts: they pick their backend as this
 * process does (the same FIELDCAL_BACKEND, the same addon), so this process's pick is theirs.
 */
export async function jobsOnJsKernels(): Promise<boolean> {
  const { computeHandle } = await import('../../src-main/services/compute');
  return onJsKernels((await computeHandle()).tf);
}

/** GAN-PO's width option for a test's runs: the reference on native kernels, an eighth on JavaScript. */
export const ganWidth = (js: boolean): { filters?: number } => (js ? { filters: 4 } : {});

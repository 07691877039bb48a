import type * as TfModule from '@tensorflow/tfjs';

/**
 * Whether tfjs runs on its JavaScript kernels (backend 'cpu': FIELDCAL_BACKEND=cpu, or the native
 * addon absent). Network tests that train take a narrower network there: the same properties at a
 * size the JavaScript convolutions finish in seconds, not the minutes the reference width takes.
 */
export const onJsKernels = (tf: typeof TfModule): boolean => tf.getBackend() === 'cpu';

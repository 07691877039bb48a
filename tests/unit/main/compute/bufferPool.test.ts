import { beforeAll, describe, expect, it } from 'vitest';
import type * as TfModule from '@tensorflow/tfjs';
import { getTf, initCompute } from '../../../../src-main/services/compute';
import { BufferPool, poolOf } from '../../../../src-main/services/compute/bufferPool';
import { loadAddon, registerCpuNative } from '../../../../src-main/services/compute/cpuNative';

type Tf = typeof TfModule;
let tf: Tf;
const native = loadAddon();

beforeAll(async () => {
  await initCompute();
  tf = getTf();
  if (native.addon && !tf.findBackend('cpu-native')) registerCpuNative(tf, native.addon, 2);
});

describe('buffer pool', () => {
  it('recycles only arrays it made, of the same length, up to its cap', () => {
    const pool = new BufferPool(3 * 4 * 5000);
    const a = pool.take(5000);
    pool.stored(a);
    pool.released(a);
    expect(pool.take(5000)).toBe(a);
    expect(pool.take(5001)).not.toBe(a);
    // small arrays and foreign arrays are never kept
    const small = pool.take(10);
    pool.stored(small);
    pool.released(small);
    expect(pool.take(10)).not.toBe(small);
    const foreign = new Float32Array(5000);
    pool.stored(foreign);
    pool.released(foreign);
    expect(pool.pooledBytes).toBe(0);
    // cap: three arrays of 5000 fit, the fourth is dropped
    const four = [0, 1, 2, 3].map(() => pool.take(5000));
    four.forEach((x) => (pool.stored(x), pool.released(x)));
    expect(pool.pooledBytes).toBe(3 * 4 * 5000);
  });

  it('never recycles an array read out, shared by two tensors, or viewed by a slice', () => {
    const pool = new BufferPool(2 ** 30);
    const read = pool.take(8192);
    pool.stored(read);
    pool.escape(read);
    pool.released(read);
    const shared = pool.take(8192);
    pool.stored(shared);
    pool.stored(shared);
    pool.released(shared);
    const viewed = pool.take(8192);
    pool.stored(viewed);
    pool.stored(viewed.subarray(0, 100));
    pool.released(viewed);
    expect(pool.pooledBytes).toBe(0);
  });

  it.skipIf(!native.addon)(
    'on cpu-native: kernel outputs are recycled, and data read out or sliced keeps its values',
    () => {
      tf.setBackend('cpu-native');
      const pool = poolOf(tf.backend())!;
      expect(pool).not.toBeNull();
      const a = tf.randomNormal([64, 128], 0, 1, 'float32', 1);
      const b = tf.randomNormal([64, 128], 0, 1, 'float32', 2);
      // a native output, disposed, is handed out again for the next output of its size
      const before = pool.hits;
      for (let i = 0; i < 5; i++) tf.add(a, b).dispose();
      expect(pool.hits - before).toBeGreaterThanOrEqual(4);
      // read out: the array the caller holds is never reused
      const s = tf.add(a, b);
      const held = s.dataSync();
      const copy = Array.from(held);
      s.dispose();
      const others = [0, 1, 2].map(() => tf.mul(a, b));
      expect(Array.from(held)).toEqual(copy);
      // a simple slice is a view into its input's array: the input's array is never reused
      const t = tf.sub(a, b);
      const head = tf.slice(t, [0, 0], [2, 128]);
      const expected = tf.tidy(() => Array.from(tf.sub(a, b).slice([0, 0], [2, 128]).dataSync()));
      t.dispose();
      const more = [0, 1, 2].map(() => tf.div(a, b));
      expect(Array.from(head.dataSync())).toEqual(expected);
      tf.dispose([a, b, head, ...others, ...more]);
    },
  );
});

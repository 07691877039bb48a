import type * as TfModule from '@tensorflow/tfjs';

/** Arrays shorter than this are not pooled (cheap to allocate; a pool of them costs more than it saves). */
const MIN_POOLED = 4096;

/**
 * Float32Arrays for kernel outputs, recycled when their tensor is disposed. A training step
 * allocates the same shapes every time; fresh ArrayBuffers each cost zeroing and first-touch page
 * faults, and their external memory drives V8 into full (mark-compact) collections, together
 * ~15 % of a GAN step. Only arrays the pool made are recycled, and never one that could still be
 * seen elsewhere: one read out of the backend (dataSync, data, bufferSync), one a second tensor holds,
 * or one whose memory a view (a tfjs subarray slice) shares. Arrays it hands out are not zeroed:
 * only for outputs a kernel writes in full.
 */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  /** arrays made here and not escaped */
  private readonly owned = new WeakSet<Float32Array>();
  /** the owned array of each owned buffer, to spot views into it */
  private readonly byBuffer = new WeakMap<ArrayBufferLike, Float32Array>();
  /** arrays a tensor's data currently holds */
  private readonly live = new WeakSet<Float32Array>();
  private bytes = 0;
  /** takes of poolable size served from the pool, and those that had to allocate */
  hits = 0;
  misses = 0;

  constructor(readonly capBytes: number) {}

  /** An array of length n: a recycled one when there is one, else a new (zeroed) one. */
  take(n: number): Float32Array {
    const list = this.free.get(n);
    const a = list?.pop();
    if (a) {
      this.bytes -= a.byteLength;
      this.hits++;
      return a;
    }
    const b = new Float32Array(n);
    if (n >= MIN_POOLED) {
      this.misses++;
      this.owned.add(b);
      this.byBuffer.set(b.buffer, b);
    }
    return b;
  }

  /** The backend stores `values` as a tensor's data. */
  stored(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const owner = this.byBuffer.get(values.buffer);
    if (owner && owner !== values) this.escape(owner); // a view into a pooled array
    if (this.live.has(values)) this.escape(values); // two tensors on one array
    this.live.add(values);
  }

  /** `values` left the backend (read out): never recycle it. */
  escape(values: unknown): void {
    if (values instanceof Float32Array) this.owned.delete(values);
  }

  /** The tensor holding `values` is gone: keep the array for reuse when it is ours and unseen. */
  released(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    this.live.delete(values);
    if (!this.owned.has(values) || this.bytes + values.byteLength > this.capBytes) return;
    let list = this.free.get(values.length);
    if (!list) this.free.set(values.length, (list = []));
    list.push(values);
    this.bytes += values.byteLength;
  }

  get pooledBytes(): number {
    return this.bytes;
  }
}

type DataId = object;
interface CpuBackendLike {
  data: { get(id: DataId): { values: unknown } | undefined; has(id: DataId): boolean };
  write(values: unknown, shape: number[], dtype: string): DataId;
  move(dataId: DataId, values: unknown, shape: number[], dtype: string, refCount: number): void;
  readSync(dataId: DataId): unknown;
  disposeData(dataId: DataId, force?: boolean): boolean;
}

/** The pool of a backend made by {@link pooledBackendClass}, if it is one. */
export function poolOf(backend: unknown): BufferPool | null {
  return (backend as { pool?: BufferPool }).pool ?? null;
}

/**
 * An output array of length n that the kernel writes in full: recycled from the backend's pool when
 * it has one, else new.
 */
export function outputArray(backend: unknown, n: number): Float32Array {
  return poolOf(backend)?.take(n) ?? new Float32Array(n);
}

/**
 * tfjs's CPU backend class with a {@link BufferPool}: data stored, read out and disposed is reported
 * to the pool, which recycles kernel outputs made by `pool.take`.
 */
export function pooledBackendClass(
  Base: new () => TfModule.KernelBackend,
  capBytes: number,
): new () => TfModule.KernelBackend {
  const B = Base as unknown as new () => CpuBackendLike;
  class PooledCpuBackend extends B {
    readonly pool = new BufferPool(capBytes);

    override write(values: unknown, shape: number[], dtype: string): DataId {
      this.pool.stored(values);
      return super.write(values, shape, dtype);
    }

    override move(dataId: DataId, values: unknown, shape: number[], dtype: string, refCount: number): void {
      this.pool.stored(values);
      super.move(dataId, values, shape, dtype, refCount);
    }

    override readSync(dataId: DataId): unknown {
      this.pool.escape(this.data.get(dataId)?.values);
      return super.readSync(dataId);
    }

    override disposeData(dataId: DataId, force = false): boolean {
      const values = this.data.get(dataId)?.values;
      const gone = super.disposeData(dataId, force);
      if (gone && values !== undefined && !this.data.has(dataId)) this.pool.released(values);
      return gone;
    }
  }
  return PooledCpuBackend as unknown as new () => TfModule.KernelBackend;
}

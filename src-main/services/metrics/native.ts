import { availableParallelism } from 'node:os';
import { loadAddon } from '../compute/native/addon';

/**
 * The metrics' kernels in the native addon: float64 BLAS/LAPACK on Debian's OpenBLAS
 * (native/src/linalg.cc: cblas_dsyrk, cblas_dgemm, LAPACK dsyevd, OpenBLAS opened at first use with
 * OPENBLAS_CORETYPE set from the CPU's instruction sets), the EOF anomalies threaded over maps
 * (linalg.cc) and the per-step SSIM/FSS of the summary threaded across steps (native/src/fields.cc).
 * The JavaScript code stays the reference and the fallback: without the addon, without OpenBLAS, or with FIELDCAL_METRICS=js (read on every call,
 * so a test can switch), every metric runs in JavaScript.
 */
export interface MetricsAddon {
  linalgLoad(threads: number): string;
  gramF64(a: Float64Array, rows: number, n: number, g: Float64Array): void;
  gemmF64(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float64Array,
    b: Float64Array,
    c: Float64Array,
  ): void;
  symEigF64(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): void;
  eofAnomalies(
    obs: Float64Array,
    sim: Float64Array,
    steps: number,
    cells: number,
    idx: Int32Array,
    a: Float64Array,
  ): void;
  stepSpatial(
    obs: Float64Array,
    sim: Float64Array,
    steps: number,
    rows: number,
    cols: number,
    mask: Uint8Array | null,
    weights: Float64Array,
    win: number,
    percentiles: Float64Array,
    scales: Float64Array,
    ssimOut: Float64Array,
    fssOut: Float64Array,
  ): void;
}

interface Loaded {
  addon: MetricsAddon | null;
  /** OpenBLAS's description (library, core type, threads), or null without it. */
  blas: string | null;
  reason: string | null;
}

let loaded: Loaded | undefined;

/** Threads for OpenBLAS: FIELDCAL_THREADS as the native backend reads it, else every core. */
function threads(): number {
  const n = Number(process.env.FIELDCAL_THREADS);
  return Number.isInteger(n) && n > 0 ? n : availableParallelism();
}

function load(): Loaded {
  if (loaded) return loaded;
  const { addon, reason } = loadAddon();
  const a = addon as unknown as Partial<MetricsAddon> | null;
  if (
    !a ||
    typeof a.linalgLoad !== 'function' ||
    typeof a.stepSpatial !== 'function' ||
    typeof a.eofAnomalies !== 'function'
  ) {
    loaded = { addon: null, blas: null, reason: reason ?? 'the native addon predates the metrics kernels' };
    return loaded;
  }
  try {
    loaded = { addon: a as MetricsAddon, blas: a.linalgLoad(threads()), reason: null };
  } catch (err) {
    // the addon is there but OpenBLAS is not: the SSIM/FSS kernels still serve
    loaded = { addon: a as MetricsAddon, blas: null, reason: (err as Error).message };
  }
  return loaded;
}

/** The addon's BLAS/LAPACK entry points, or null (no addon, no OpenBLAS, or FIELDCAL_METRICS=js). */
export function nativeLinalg(): MetricsAddon | null {
  if (process.env.FIELDCAL_METRICS === 'js') return null;
  const l = load();
  return l.blas ? l.addon : null;
}

/** The addon's own kernels (per-step SSIM/FSS, EOF anomalies), or null (no addon or FIELDCAL_METRICS=js). */
export function nativeKernels(): MetricsAddon | null {
  if (process.env.FIELDCAL_METRICS === 'js') return null;
  return load().addon;
}

/** What the metrics run on in this process, for benches and `fieldcal info`. */
export function metricsEngines(): { linalg: string; fields: string } {
  const l = load();
  const js = process.env.FIELDCAL_METRICS === 'js';
  return {
    linalg: !js && l.blas ? l.blas : `JavaScript (${js ? 'FIELDCAL_METRICS=js' : l.reason})`,
    fields: !js && l.addon ? 'native, OpenMP across steps' : 'JavaScript, one thread',
  };
}

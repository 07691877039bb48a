import { VIC3L, type Vic3lParams } from '../src-main/services/physics/vic3l';
import { cpuInfo } from './peers';

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` `n` times and returns per-run milliseconds. */
export async function timeRuns(n: number, fn: () => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** Machine facts printed with every benchmark: Node, platform, the CPU model and its SIMD instruction sets. */
export function machine(): Record<string, unknown> {
  const cpu = cpuInfo();
  return {
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    cpu: cpu.model,
    isa: cpu.isa,
    cores: cpu.cores,
  };
}

/**
 * Step-major Float32 forcing for `cells` cells: the airGR L0123001 series from `base`, shifted by
 * (cell mod `spread`) days per cell so cells differ; and vic3l's default parameters per cell.
 */
export function shiftedVic3lCase(
  d: { P: Float64Array; E: Float64Array; T: Float64Array },
  base: number,
  cells: number,
  steps: number,
  spread: number,
) {
  const P = new Float32Array(cells * steps);
  const PET = new Float32Array(cells * steps);
  const T = new Float32Array(cells * steps);
  for (let t = 0; t < steps; t++) {
    for (let c = 0; c < cells; c++) {
      const k = base + t + (c % spread);
      P[t * cells + c] = d.P[k]!;
      PET[t * cells + c] = d.E[k]!;
      T[t * cells + c] = d.T[k]!;
    }
  }
  const params = Object.fromEntries(
    VIC3L.parameters.map((p) => [p.name, new Float64Array(cells).fill(p.default)]),
  ) as unknown as Vic3lParams;
  return { forcing: { P, PET, T }, params };
}

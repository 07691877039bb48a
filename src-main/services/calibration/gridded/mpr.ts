/**
 * MPR-style transfer functions (Samaniego et al. 2010, WRR 46): each distributed parameter is a
 * function of the cell's (standardised) descriptors with global coefficients a0, a1..ad:
 * - `linear`: p = lo + (hi - lo) · clamp(a0 + Σ aj dj, 0, 1), a0 in [0, 1], aj in [-0.5, 0.5];
 * - `sigmoid`: p = lo + (hi - lo) · σ(a0 + Σ aj dj), a0 in [-4, 4], aj in [-2, 2] (bounded by construction);
 * - `uniform`: one value per parameter, p = lo + (hi - lo) · a0, a0 in [0, 1].
 * Coefficient ranges are chosen so that ±2 standard deviations of a descriptor can span the range.
 */
export type TransferKind = 'linear' | 'sigmoid' | 'uniform';

/** What the transfer functions read of a problem: the calibrated parameters' bounds and the descriptors. */
export interface MprSpace {
  cells: number;
  descriptorNames: readonly string[];
  descriptors: Float64Array;
  calibrated: readonly string[];
  lower: readonly number[];
  upper: readonly number[];
}

export function coefficientsPerParameter(pr: MprSpace, kind: TransferKind): number {
  return kind === 'uniform' ? 1 : 1 + pr.descriptorNames.length;
}

/** Bounds of the coefficient vector searched by SCE-UA ([parameters x coefficients], row-major). */
export function coefficientBounds(pr: MprSpace, kind: TransferKind): { lower: number[]; upper: number[] } {
  const m = coefficientsPerParameter(pr, kind);
  const lower: number[] = [];
  const upper: number[] = [];
  for (let k = 0; k < pr.calibrated.length; k++) {
    for (let j = 0; j < m; j++) {
      if (kind === 'sigmoid') {
        lower.push(j === 0 ? -4 : -2);
        upper.push(j === 0 ? 4 : 2);
      } else {
        lower.push(j === 0 ? 0 : -0.5);
        upper.push(j === 0 ? 1 : 0.5);
      }
    }
  }
  return { lower, upper };
}

/** Parameter fields [calibrated][cells] from a coefficient vector. */
export function applyTransfer(pr: MprSpace, kind: TransferKind, coef: ArrayLike<number>): Float64Array[] {
  const nd = pr.descriptorNames.length;
  const m = coefficientsPerParameter(pr, kind);
  return pr.calibrated.map((_, k) => {
    const lo = pr.lower[k]!;
    const span = pr.upper[k]! - lo;
    const a = (j: number) => coef[k * m + j]!;
    return Float64Array.from({ length: pr.cells }, (_, c) => {
      if (kind === 'uniform') return lo + span * a(0);
      let z = a(0);
      for (let j = 0; j < nd; j++) z += a(j + 1) * pr.descriptors[c * nd + j]!;
      const u = kind === 'sigmoid' ? 1 / (1 + Math.exp(-z)) : Math.min(1, Math.max(0, z));
      return lo + span * u;
    });
  });
}

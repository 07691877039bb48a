import type { GriddedProblem } from '../../gridded/problem';

/**
 * The grid as the networks see it: rows x cols padded to H x W (multiples of 8, the U-Net's three
 * stride-2 levels), active cells at `pos` (row-major position in the padded image). Inactive and
 * padded positions hold 0 in every image and are masked out of every loss.
 */
export interface ImageLayout {
  H: number;
  W: number;
  cells: number;
  /** Padded image position of each active cell. */
  pos: Int32Array;
  /** For each padded position: its active cell, or `cells` (a zero column) when it has none. */
  cellAt: Int32Array;
}

export function imageLayout(pr: GriddedProblem): ImageLayout {
  const H = Math.ceil(pr.rows / 8) * 8;
  const W = Math.ceil(pr.cols / 8) * 8;
  const pos = new Int32Array(pr.cells);
  const cellAt = new Int32Array(H * W).fill(pr.cells);
  let c = 0;
  for (let r = 0; r < pr.rows; r++)
    for (let q = 0; q < pr.cols; q++)
      if (pr.mask[r * pr.cols + q]) {
        pos[c] = r * W + q;
        cellAt[r * W + q] = c;
        c++;
      }
  return { H, W, cells: pr.cells, pos, cellAt };
}

/** The standardised descriptors as one H x W x descriptors image (channels last). */
export function descriptorImage(pr: GriddedProblem, L: ImageLayout): Float32Array {
  const nd = pr.descriptorNames.length;
  const img = new Float32Array(L.H * L.W * nd);
  for (let c = 0; c < pr.cells; c++)
    for (let j = 0; j < nd; j++) img[L.pos[c]! * nd + j] = pr.descriptors[c * nd + j]!;
  return img;
}

/** Mean and standard deviation of a step-major series over steps [t0, t1), finite values only. */
export function moments(a: ArrayLike<number>, cells: number, t0: number, t1: number) {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let i = t0 * cells; i < t1 * cells; i++) {
    const v = a[i]!;
    if (!Number.isFinite(v)) continue;
    s += v;
    s2 += v * v;
    n++;
  }
  const mean = n ? s / n : 0;
  return { mean, sd: Math.sqrt(Math.max(s2 / Math.max(n, 1) - mean * mean, 0)) || 1 };
}

/**
 * The discriminator's inputs for days [t0, t1): each day's forcing fields (P, PET and T when
 * given), standardised over the training period, channels last [days x H x W x vars]; the observed
 * target standardised [days x H x W] and its mask (1 where observed at an active cell).
 */
export function dayImages(
  pr: GriddedProblem,
  L: ImageLayout,
  t0: number,
  t1: number,
  train: [number, number],
) {
  const vars = [pr.forcing.P, pr.forcing.PET, ...(pr.forcing.T ? [pr.forcing.T] : [])];
  const stats = vars.map((a) => moments(a, pr.cells, train[0], train[1]));
  const target = moments(pr.target.obs, pr.cells, train[0], train[1]);
  const days = t1 - t0;
  const px = L.H * L.W;
  const forcing = new Float32Array(days * px * vars.length);
  const obs = new Float32Array(days * px);
  const mask = new Float32Array(days * px);
  for (let d = 0; d < days; d++)
    for (let c = 0; c < pr.cells; c++) {
      const at = d * px + L.pos[c]!;
      const i = (t0 + d) * pr.cells + c;
      vars.forEach((a, k) => (forcing[at * vars.length + k] = (a[i]! - stats[k]!.mean) / stats[k]!.sd));
      const o = pr.target.obs[i]!;
      if (Number.isFinite(o)) {
        obs[at] = (o - target.mean) / target.sd;
        mask[at] = 1;
      }
    }
  return { forcing, vars: vars.length, obs, mask, target };
}

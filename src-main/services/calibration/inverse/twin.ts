import { mulberry32 } from '../../common/random';
import { runCnLr, type CnLrParams } from '../../physics/cnlr';
import { buildNetwork } from '../../physics/routing/lr';
import { CN_GAUGE_BOUNDS, type GaugeProblem } from '../gauges/problem';
import { buildSpace, fieldsOf } from './space';

/**
 * A synthetic twin for inverse mapping: a rows x cols grid draining south, then east along the
 * bottom row to the outlet (bottom-right), 1 km cells, daily steps; seeded rainfall (wet days
 * with probability 0.3, skewed depths) and a seasonal PET; two standardised descriptors,
 * `ndvi` and `slope`, smooth in space; true fields made by the search space itself (MPR sigmoid
 * CN and Ks with CN falling as NDVI rises, scalars Smax, kg, llr), so the truth can be found.
 * Gauges at the outlet and mid-way along the bottom row; their discharge is the true run's.
 */
export function makeCnTwin(o: { rows: number; cols: number; steps: number; warmup: number; seed: number }): {
  pb: GaugeProblem;
  truth: CnLrParams;
  truthX: number[];
} {
  const { rows, cols, steps } = o;
  const rand = mulberry32(o.seed >>> 0);
  const dir = new Int8Array(rows * cols);
  // D8_OFFSETS (grid/flowdir.ts): 4 south, 2 east
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) dir[r * cols + c] = r < rows - 1 ? 4 : c < cols - 1 ? 2 : -1;
  const net = buildNetwork({ rows, cols, dir, mask: null, cellSizeM: 1000 });
  const n = net.cells;
  // descriptors: NDVI rising to the north-east, slope rising to the west, with noise; standardised
  const raw = [
    Float64Array.from(
      { length: n },
      (_, i) => (cols - 1 - (i % cols)) / cols + Math.floor(i / cols) / rows + 0.3 * rand(),
    ),
    Float64Array.from({ length: n }, (_, i) => 1 - (i % cols) / cols + 0.5 * rand()),
  ].map((v) => {
    const m = v.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / n);
    return v.map((x) => (x - m) / sd);
  });
  const descriptors = new Float64Array(n * 2);
  for (let c = 0; c < n; c++) {
    descriptors[c * 2] = raw[0]![c]!;
    descriptors[c * 2 + 1] = raw[1]![c]!;
  }
  const P = new Float64Array(steps * n);
  const E = new Float64Array(steps * n);
  for (let t = 0; t < steps; t++) {
    const wet = rand() < 0.3;
    const storm = wet ? 25 * rand() ** 2 * (1 + rand()) : 0;
    const pet = 2.5 + 2 * Math.sin((2 * Math.PI * t) / 365);
    for (let c = 0; c < n; c++) {
      P[t * n + c] = storm * (0.8 + 0.4 * rand());
      E[t * n + c] = pet;
    }
  }
  const bottom = (rows - 1) * cols;
  const base: GaugeProblem = {
    net,
    steps,
    dt: 86400,
    P,
    E,
    descriptors,
    nDescriptors: 2,
    descriptorNames: ['ndvi', 'slope'],
    gauges: [
      { code: 'outlet', cell: bottom + cols - 1, obs: new Float64Array(steps) },
      { code: 'mid', cell: bottom + Math.floor((cols - 1) / 2), obs: new Float64Array(steps) },
    ],
    lower: [...CN_GAUGE_BOUNDS.lower],
    upper: [...CN_GAUGE_BOUNDS.upper],
    warmup: o.warmup,
    structure: 'cn-lr',
  };
  // x: CN (a0, a_ndvi, a_slope), Ks (a0, a_ndvi, a_slope), then Smax, kg, llr in [0, 1] of their bounds
  const truthX = [0.6, -1.2, 0.3, -1.5, 0.8, -0.6, 0.6, 0.1, 0.2];
  const truth = fieldsOf(buildSpace(base, ['CN', 'Ks']), truthX);
  const q = runCnLr(net, truth, P, E, steps, 86400);
  for (const g of base.gauges) for (let t = 0; t < steps; t++) g.obs[t] = q[t * n + g.cell]!;
  return { pb: base, truth, truthX };
}

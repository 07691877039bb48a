import { FieldcalError } from '../../../../../src-shared/ipc';
import { gr4LrWithGradient, runGr4Lr, type Gr4LrParams } from '../../../physics/gr4lr';
import { buildMlp, mlpBackward, mlpForward, type Mlp } from '../../nets/mlp';
import { Adam } from '../../optim/adam';
import { checkGaugeProblem, gaugeParameterNames, gaugeScores, type GaugeProblem } from '../../gauges/problem';

export interface HdaPrOptions {
  /** Hidden layer sizes: [] is the multi-linear mapping (sigmoid of a linear combination, as smash's), [16, 16] the ANN. */
  hidden: number[];
  iterations: number;
  learningRate: number;
  seed: number;
  /** Steps at the start left out of the objective (the model spins up there). */
  warmup: number;
  /** True once the user cancelled: training stops after the current iteration, keeping the best iterate. */
  cancelled?: () => boolean;
}

/** Maps descriptors to per-cell parameters through the network and the bounds. */
export function mapParameters(net: Mlp, pb: GaugeProblem) {
  const cells = pb.net.cells;
  const { out, acts } = mlpForward(net, pb.descriptors, cells);
  // X1..X4, llr (and CTG, Kf with snow: gaugeParameterNames)
  const names = gaugeParameterNames(pb);
  const K = names.length;
  const cols = names.map((_, k) =>
    Float64Array.from(
      { length: cells },
      (_, c) => pb.lower[k]! + (pb.upper[k]! - pb.lower[k]!) * out[c * K + k]!,
    ),
  );
  const params: Gr4LrParams = { X1: cols[0]!, X2: cols[1]!, X3: cols[2]!, X4: cols[3]!, llr: cols[4]! };
  if (K > 5) {
    params.CTG = cols[5]!;
    params.Kf = cols[6]!;
  }
  return { params, acts };
}

/**
 * HDA-PR (Huynh et al.): an ANN maps each cell's physical descriptors to its parameters; it is
 * trained with Adam through the differentiable model and routing, the gradient of the multi-gauge
 * objective J = mean over gauges of (1 - NSE) coming from the model's exact adjoint.
 */
export function trainHdaPr(
  pb: GaugeProblem,
  opts: HdaPrOptions,
  onIteration?: (it: number, j: number) => void,
) {
  const cells = pb.net.cells;
  if (pb.descriptors.length !== cells * pb.nDescriptors)
    throw new FieldcalError('VALIDATION', 'descriptors must be [cells x descriptors]', {
      field: 'descriptors',
    });
  if (pb.gauges.length === 0)
    throw new FieldcalError('VALIDATION', 'HDA-PR needs at least one gauge', { field: 'gauges' });
  // one observation per model step, checked before any training (an hourly run once trained for
  // minutes on daily-read discharge and crashed scoring it: obs has 61 values, sim 1441)
  checkGaugeProblem(pb);
  const dens = pb.gauges.map((g) => {
    const o = g.obs.subarray(opts.warmup);
    let m = 0;
    let n = 0;
    for (const v of o)
      if (Number.isFinite(v)) {
        m += v;
        n++;
      }
    m /= n;
    let d = 0;
    for (const v of o) if (Number.isFinite(v)) d += (v - m) ** 2;
    return d;
  });
  const K = gaugeParameterNames(pb).length;
  const mlp = buildMlp([pb.nDescriptors, ...opts.hidden, K], opts.seed);
  const adam = new Adam([...mlp.weights, ...mlp.biases], opts.learningRate);
  const history: number[] = [];
  let best = {
    j: Infinity,
    weights: mlp.weights.map((w) => Float64Array.from(w)),
    biases: mlp.biases.map((b) => Float64Array.from(b)),
  };
  for (let it = 0; it < opts.iterations; it++) {
    const { params, acts } = mapParameters(mlp, pb);
    let j = 0;
    // one forward run: the objective and dJ/dQ come from the discharge of the gradient run itself
    const { gradient } = gr4LrWithGradient(
      pb.net,
      params,
      pb.P,
      pb.E,
      pb.steps,
      pb.dt,
      (q) => {
        const gQ = new Float64Array(pb.steps * cells);
        pb.gauges.forEach((g, k) => {
          let num = 0;
          for (let t = opts.warmup; t < pb.steps; t++) {
            const o = g.obs[t]!;
            if (!Number.isFinite(o)) continue;
            const e = q[t * cells + g.cell]! - o;
            num += e * e;
            gQ[t * cells + g.cell]! += (2 * e) / dens[k]! / pb.gauges.length;
          }
          j += num / dens[k]! / pb.gauges.length;
        });
        return gQ;
      },
      pb.snow,
    );
    history.push(j);
    onIteration?.(it, j);
    if (j < best.j)
      best = {
        j,
        weights: mlp.weights.map((w) => Float64Array.from(w)),
        biases: mlp.biases.map((b) => Float64Array.from(b)),
      };
    // dJ/d(sigmoid output) = dJ/dparam x (upper - lower)
    const gOut = new Float64Array(cells * K);
    gaugeParameterNames(pb).forEach((name, k) => {
      const g = gradient[name as keyof typeof gradient]!;
      for (let c = 0; c < cells; c++) gOut[c * K + k] = g[c]! * (pb.upper[k]! - pb.lower[k]!);
    });
    const { gw, gb } = mlpBackward(mlp, acts, gOut, cells);
    adam.step([...mlp.weights, ...mlp.biases], [...gw, ...gb]);
    if (opts.cancelled?.()) break;
  }
  // keep the best iterate
  best.weights.forEach((w, l) => mlp.weights[l]!.set(w));
  best.biases.forEach((b, l) => mlp.biases[l]!.set(b));
  const { params } = mapParameters(mlp, pb);
  const q = runGr4Lr(pb.net, params, pb.P, pb.E, pb.steps, pb.dt, pb.snow);
  return { mlp, params, q, history, objective: best.j, scores: gaugeScores(pb, q, opts.warmup) };
}

/**
 * Spatial validation: for each gauge, the mapping is trained on the other gauges only and scored
 * at the held-out one (leave-one-gauge-out), which tests transfer to ungauged places.
 */
export function leaveOneGaugeOut(pb: GaugeProblem, opts: HdaPrOptions) {
  return pb.gauges.map((held) => {
    const r = trainHdaPr({ ...pb, gauges: pb.gauges.filter((g) => g !== held) }, opts);
    const [score] = gaugeScores({ ...pb, gauges: [held] }, r.q, opts.warmup);
    return { ...score!, trainedOn: pb.gauges.filter((g) => g !== held).map((g) => g.code) };
  });
}

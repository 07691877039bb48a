import { FieldcalError } from '../../../../../src-shared/ipc';
import { runCnLr, CN_LR_PARAMETERS, type CnLrParams } from '../../../physics/cnlr';
import { cc } from '../../../metrics/series';
import { makeSampler } from '../../../surrogate/samplers';
import { gaugeScores, type GaugeProblem } from '../../gauges/problem';
import {
  eliteOf,
  fitGaussian,
  iterationRecord,
  sampleGaussian,
  smooth,
  type CemIteration,
  type Gaussian,
} from '../../inverse/cem';
import { InverseNet, type EpochRecord, type InverseNetState } from '../../inverse/network';
import { CandidatePool, poolThreads } from '../../inverse/pool';
import { buildSpace, evalSetup, fieldsOf, type EvalSetup, type Evaluated } from '../../inverse/space';
import { runner, type GaugeResult, type MethodContext, type MethodDefinition } from '../../method';
import { inverseMappingOptions, type InverseMappingOptions } from './options';

/** A candidate as a checkpoint keeps it (its flows are simulated again on resume when the network needs them). */
type Kept = Omit<Evaluated, 'flows' | 'x'> & { x: number[] };

interface State {
  iteration: number;
  phase: 'candidates' | 'cem' | 'network';
  sobol: Kept[];
  cem: { g: Gaussian | null; records: CemIteration[]; points: Kept[] };
  /** The network's training state after its last epoch (phase 'network'). */
  network?: InverseNetState;
}

const keep = (e: Evaluated): Kept => {
  const { flows: _f, x, ...rest } = e;
  return { ...rest, x: Array.from(x) };
};

/** Acceptance of the filters over a set of candidates. */
function acceptance(pts: readonly Pick<Evaluated, 'budyko' | 'vegetation' | 'plausible'>[]) {
  const n = Math.max(1, pts.length);
  return {
    candidates: pts.length,
    budyko: pts.filter((p) => p.budyko).length / n,
    vegetation: pts.filter((p) => p.vegetation).length / n,
    both: pts.filter((p) => p.plausible).length / n,
  };
}

/** Scaled fields [cells x parameters] of a point: (p - lower) / (upper - lower) per parameter, cell-major. */
function scaledTargets(pb: GaugeProblem, f: CnLrParams): Float32Array {
  const n = pb.net.cells;
  const K = CN_LR_PARAMETERS.length;
  const out = new Float32Array(n * K);
  CN_LR_PARAMETERS.forEach((name, k) => {
    const lo = pb.lower[k]!;
    const span = pb.upper[k]! - lo;
    for (let c = 0; c < n; c++) out[c * K + k] = (f[name][c]! - lo) / span;
  });
  return out;
}

/** Fields from scaled network outputs, within the bounds. */
function fieldsFromScaled(pb: GaugeProblem, u: Float32Array): CnLrParams {
  const n = pb.net.cells;
  const K = CN_LR_PARAMETERS.length;
  const out: Record<string, Float64Array> = {};
  CN_LR_PARAMETERS.forEach((name, k) => {
    const lo = pb.lower[k]!;
    const span = pb.upper[k]! - lo;
    out[name] = Float64Array.from(
      { length: n },
      (_, c) => lo + span * Math.min(1, Math.max(0, u[c * K + k]!)),
    );
  });
  return out as unknown as CnLrParams;
}

/** Timings of each phase, seconds. */
export interface InversePhaseTimes {
  candidates: number;
  filters: number;
  cem: number;
  network: number;
}

/**
 * Simulation-based inverse mapping (Choi, Lee & Kim, EGU 2026) on a cn-lr gauge problem:
 * 1. candidates: scrambled Sobol points (surrogate/samplers.ts) of the MPR coefficients and
 *    per-parameter scalars (inverse/space.ts), each simulated on the train period;
 * 2. filters: the Budyko and vegetation-CN checks (inverse/filters.ts), acceptance recorded;
 * 3. CEM (inverse/cem.ts), started from the Sobol elite: elite = plausible and best mean NSE;
 * 4. the inverse network (inverse/network.ts) trained on every plausible (flows, fields) pair,
 *    early-stopped on held-out pairs, then applied to the observed flows: its fields are the result.
 * Candidates run on a pool of `ctx.threads` worker threads (inverse/pool.ts; 1, or no
 * ctx.startWorker: this thread), whole candidates per thread, results in candidate order: the same numbers on any count.
 * Checkpoints after every block of 64 candidates, every CEM iteration and every network epoch (its
 * weights, Adam's state, generator and best-so-far); a resumed run simulates the plausible pairs
 * again (deterministic) instead of storing their series, and ends where an uninterrupted one does.
 */
export async function inverseMapping(
  pb: GaugeProblem,
  o: InverseMappingOptions,
  seed: number,
  ctx: MethodContext,
): Promise<GaugeResult> {
  if (!pb.gauges.length)
    throw new FieldcalError('VALIDATION', 'inverse mapping needs at least one gauge', { field: 'gauges' });
  const space = buildSpace(pb, o.mprParameters);
  const setup: EvalSetup = evalSetup(pb, space, o.filters);
  const dims = space.lower.length;
  const times: InversePhaseTimes = { candidates: 0, filters: 0, cem: 0, network: 0 };
  const resumed = ctx.resume as State | undefined;
  // a checkpoint went through JSON: -Infinity and NaN came back as null
  const num = (v: unknown, missing: number) => (typeof v === 'number' ? v : missing);
  const revive = (k: Kept): Kept => ({
    ...k,
    score: num(k.score, Number.NEGATIVE_INFINITY),
    nse: k.nse.map((v) => num(v, Number.NaN)),
  });
  const state: State =
    resumed && typeof resumed === 'object' && Array.isArray(resumed.sobol)
      ? {
          ...resumed,
          sobol: resumed.sobol.map(revive),
          cem: {
            ...resumed.cem,
            points: resumed.cem.points.map(revive),
            records: resumed.cem.records.map((r) => ({ ...r, best: num(r.best, Number.NEGATIVE_INFINITY) })),
          },
        }
      : { iteration: 0, phase: 'candidates', sobol: [], cem: { g: null, records: [], points: [] } };
  const flows = new Map<Kept | Evaluated, Float32Array>();
  const save = () => ctx.checkpoint?.({ ...state, iteration: ++state.iteration });
  // the job's threads (0: one per core); without ctx.startWorker (outside jobs) this thread
  const pool = await CandidatePool.create(
    setup,
    o.mprParameters,
    poolThreads(ctx.threads, !!ctx.startWorker),
    ctx.startWorker,
  );
  try {
    return await search();
  } finally {
    pool.close();
  }

  async function search(): Promise<GaugeResult> {
    // 1. Sobol candidates, in blocks of 64 (a checkpoint after each)
    let t = performance.now();
    if (state.phase === 'candidates') {
      const sampler = makeSampler({
        sampler: 'sobol',
        seed,
        members: o.candidates,
        cells: 1,
        lower: space.lower,
        upper: space.upper,
      });
      // blocks end at multiples of 64 (a resumed run's first block completes the interrupted one)
      while (state.sobol.length < o.candidates && !ctx.cancelled()) {
        const m0 = state.sobol.length;
        const m1 = Math.min(o.candidates, (Math.floor(m0 / 64) + 1) * 64);
        const xs = Array.from({ length: m1 - m0 }, (_, i) => sampler(m0 + i).map((f) => f[0]!));
        for (const e of await pool.evaluate(xs)) {
          const k = keep(e);
          state.sobol.push(k);
          if (e.plausible) flows.set(k, e.flows);
        }
        const best = Math.max(...state.sobol.filter((p) => p.plausible).map((p) => p.score));
        ctx.progress({ phase: 'candidates', iteration: m1, total: o.candidates, objective: 1 - best });
        save();
      }
      // a cancelled search stays in its phase: a resume completes it
      if (state.sobol.length === o.candidates) state.phase = 'cem';
    }
    times.candidates = (performance.now() - t) / 1000;

    // 2. the filters' acceptance over the Sobol candidates
    t = performance.now();
    const sobolAcceptance = acceptance(state.sobol);
    ctx.progress({
      phase: 'filters',
      iteration: 1,
      total: 1,
      objective: 1 - sobolAcceptance.both,
      losses: sobolAcceptance,
    });
    times.filters = (performance.now() - t) / 1000;

    // 3. CEM from the Sobol elite
    t = performance.now();
    const minSigma = space.lower.map((lo, j) => 0.01 * (space.upper[j]! - lo));
    let g: Gaussian = state.cem.g ?? fitGaussian(eliteOf(state.sobol, o.cem.eliteFraction), minSigma);
    let best = Math.max(
      Number.NEGATIVE_INFINITY,
      ...state.sobol.filter((p) => p.plausible).map((p) => p.score),
    );
    for (const r of state.cem.records) best = Math.max(best, r.best);
    for (let k = state.cem.records.length; k < o.cem.iterations && !ctx.cancelled(); k++) {
      const xs = sampleGaussian(g, o.cem.samples, space.lower, space.upper, seed, k);
      const pts = await pool.evaluate(xs);
      const elite = eliteOf(pts, o.cem.eliteFraction);
      g = smooth(g, fitGaussian(elite, minSigma), o.cem.smoothing);
      const rec = iterationRecord(k + 1, pts, elite, g, space.lower, space.upper, best);
      best = rec.best;
      state.cem.records.push(rec);
      for (const e of pts) {
        if (!e.plausible) continue;
        const kk = keep(e);
        state.cem.points.push(kk);
        flows.set(kk, e.flows);
      }
      state.cem.g = g;
      ctx.progress({
        phase: 'cem',
        iteration: k + 1,
        total: o.cem.iterations,
        objective: 1 - rec.eliteMean,
        losses: {
          acceptance: rec.acceptance,
          gamma: rec.gamma,
          best: rec.best,
          sigmaRelative: rec.sigmaRelative,
        },
      });
      save();
    }
    if (state.phase === 'cem' && state.cem.records.length >= o.cem.iterations) state.phase = 'network';
    times.cem = (performance.now() - t) / 1000;

    // 4. the network on every plausible pair
    t = performance.now();
    const plausible = [...state.sobol.filter((p) => p.plausible), ...state.cem.points];
    if (plausible.length < 4)
      throw new FieldcalError(
        'VALIDATION',
        `only ${plausible.length} candidates passed the filters (Budyko ${(100 * sobolAcceptance.budyko).toFixed(1)} %, vegetation-CN ${(100 * sobolAcceptance.vegetation).toFixed(1)} % of ${state.sobol.length}): widen options.filters or raise options.candidates`,
        { field: 'options.filters', acceptance: sobolAcceptance },
      );
    // the series of pairs met before a resume, simulated again (on the pool; the same numbers)
    const missing = plausible.filter((p) => !flows.has(p));
    (await pool.evaluate(missing.map((p) => p.x))).forEach((e, i) => flows.set(missing[i]!, e.flows));
    pool.close();
    const pairs = {
      gauges: pb.gauges.length,
      steps: pb.steps - pb.warmup,
      cells: pb.net.cells,
      parameters: CN_LR_PARAMETERS.length,
      flows: plausible.map((p) => flows.get(p)!),
      targets: plausible.map((p) => scaledTargets(pb, fieldsOf(space, p.x))),
    };
    const net = new InverseNet(ctx.compute.tf, pairs, pb.descriptors, pb.nDescriptors, {
      ...o.network,
      seed,
    });
    let result: GaugeResult;
    try {
      const split = net.train(
        pairs,
        (e: EpochRecord) =>
          ctx.progress({
            phase: 'network',
            iteration: e.epoch,
            total: o.network.epochs,
            objective: e.valid,
            valid: e.valid,
            losses: { train: e.train },
          }),
        ctx.cancelled,
        {
          resume: state.network,
          // only a complete search's network is checkpointed (a cancelled one resumes its search)
          checkpoint: (s) => {
            if (state.phase !== 'network') return;
            state.network = s;
            save();
          },
        },
      );
      // network validation on the held-out simulated pairs: scaled RMSE per parameter, CN's correlation with the truth
      const held = net.predict(split.valid.map((i) => pairs.flows[i]!));
      const K = CN_LR_PARAMETERS.length;
      const rmse = CN_LR_PARAMETERS.map((_, k) => {
        let s = 0;
        let n = 0;
        held.forEach((u, b) => {
          const y = pairs.targets[split.valid[b]!]!;
          for (let c = 0; c < pairs.cells; c++) {
            s += (u[c * K + k]! - y[c * K + k]!) ** 2;
            n++;
          }
        });
        return Math.sqrt(s / n);
      });
      const fieldCorr = o.mprParameters.map((name) => {
        const k = CN_LR_PARAMETERS.indexOf(name);
        const rs = held
          .map((u, b) => {
            const y = pairs.targets[split.valid[b]!]!;
            // Pearson across cells (metrics cc: NaN for a constant field)
            return cc(
              Float64Array.from({ length: pairs.cells }, (_, c) => u[c * K + k]!),
              Float64Array.from({ length: pairs.cells }, (_, c) => y[c * K + k]!),
            ).value;
          })
          .filter(Number.isFinite);
        return [name, rs.reduce((a, v) => a + v, 0) / Math.max(1, rs.length)] as const;
      });
      // applied to the observed flows of the scored steps
      const obs = new Float32Array(pairs.gauges * pairs.steps);
      pb.gauges.forEach((gg, i) => obs.set(gg.obs.subarray(pb.warmup), i * pairs.steps));
      const fields = fieldsFromScaled(pb, net.predict([obs])[0]!);
      const q = runCnLr(pb.net, fields, pb.P, pb.E, pb.steps, pb.dt);
      const scores = gaugeScores(pb, q, pb.warmup);
      // the best plausible candidate the search met (the CEM's answer without the network), for comparison
      const bestCand = [...plausible].sort((a, b) => b.score - a.score)[0]!;
      times.network = (performance.now() - t) / 1000;
      result = {
        parameters: Object.fromEntries(CN_LR_PARAMETERS.map((n) => [n, fields[n]])),
        scores,
        info: {
          structure: 'cn-lr',
          dims,
          mprParameters: o.mprParameters,
          acceptance: { sobol: sobolAcceptance, cem: state.cem.records.map((r) => r.acceptance) },
          cem: state.cem.records,
          network: {
            pairs: plausible.length,
            held: split.valid.length,
            epochs: net.history.length,
            bestEpoch: net.bestEpoch,
            validLoss: net.bestValid,
            scaledRmse: Object.fromEntries(CN_LR_PARAMETERS.map((n, k) => [n, rmse[k]])),
            fieldCorrelation: Object.fromEntries(fieldCorr),
            history: net.history,
          },
          bestCandidate: { score: bestCand.score, nse: bestCand.nse, x: bestCand.x },
          seconds: times,
          reportSections: [
            {
              heading: 'Inverse mapping: physical filters',
              paragraphs: [
                `${state.sobol.length} scrambled Sobol candidates over ${dims} coefficients (MPR sigmoid fields for ${o.mprParameters.join(', ') || 'none'}, one value per basin for the others), each run on the train period. Budyko: simulated ET/P within Fu's curve for ω in [${o.filters.budyko.omegaMin}, ${o.filters.budyko.omegaMax}] ± ${o.filters.budyko.tolerance} (Fu 1981; Zhang et al. 2004). Vegetation-CN: Spearman's ρ between the vegetation descriptor (${o.filters.vegetation.descriptor}) and CN below ${o.filters.vegetation.maxCorrelation}.`,
              ],
              table: {
                head: ['candidates', 'Budyko accepted', 'vegetation-CN accepted', 'both'],
                rows: [
                  [
                    `Sobol (${sobolAcceptance.candidates})`,
                    sobolAcceptance.budyko,
                    sobolAcceptance.vegetation,
                    sobolAcceptance.both,
                  ],
                ],
              },
            },
            {
              heading: 'Inverse mapping: Cross-Entropy convergence',
              paragraphs: [
                `Elite: the best ${o.cem.eliteFraction} of the plausible samples by mean train NSE at the gauges; smoothing α = ${o.cem.smoothing} (Rubinstein & Kroese 2004). γ is the worst elite score.`,
              ],
              table: {
                head: ['iteration', 'samples', 'acceptance', 'γ', 'elite mean NSE', 'best NSE', 'σ / range'],
                rows: state.cem.records.map((c) => [
                  c.iteration,
                  c.samples,
                  c.acceptance,
                  c.gamma,
                  c.eliteMean,
                  c.best,
                  c.sigmaRelative,
                ]),
              },
            },
            {
              heading: 'Inverse mapping: network validation',
              paragraphs: [
                `${plausible.length} plausible simulated pairs, ${split.valid.length} held out; ${net.history.length} epochs, best held-out loss ${net.bestValid.toPrecision(3)} at epoch ${net.bestEpoch}. RMSE in units of each parameter's range on the held-out pairs; correlation of the predicted and true fields across cells.`,
              ],
              table: {
                head: ['parameter', 'held-out RMSE (range units)', 'held-out field correlation'],
                rows: CN_LR_PARAMETERS.map((n, k) => [
                  n,
                  rmse[k]!,
                  fieldCorr.find(([f]) => f === n)?.[1] ?? null,
                ]),
              },
            },
          ],
        },
      };
    } finally {
      net.dispose();
    }
    return result;
  }
}

export const inverseMappingMethod: MethodDefinition = {
  description:
    'Simulation-based inverse mapping (Choi, Lee & Kim 2026): Sobol candidates of the CN model, Budyko and vegetation-CN filters, Cross-Entropy refinement, a network from gauge flows to parameter fields (cn-lr)',
  resumable: true,
  problems: { gauges: runner({ options: inverseMappingOptions, run: inverseMapping }) },
};

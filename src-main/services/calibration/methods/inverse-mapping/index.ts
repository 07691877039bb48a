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
  /** The network's training state after its last epoch (phase 'network'), of the member being trained. */
  network?: InverseNetState;
  /** Ensemble members trained to the end: their best weights and summary. */
  members?: Array<{ weights: number[][]; epochs: number; bestEpoch: number; validLoss: number }>;
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
 * 4. the inverse network (inverse/network.ts) trained on simulated (flows, parameters) pairs (the
 *    plausible candidates, plus `network.extraPairs` drawn from the final CEM distribution around
 *    the elite; or every candidate), its output the point of the search space (the fields follow by
 *    the transfer functions) or per-cell fields, training flows with log-normal observation noise,
 *    early-stopped on held-out pairs, `network.ensemble` members averaged, then applied to the
 *    observed flows: its fields are the result, or, with `selection: 'better-on-train'`, the best
 *    plausible candidate's when that one simulates the training period better (info.selection and
 *    the report show both).
 * A search cancelled before the network ends cleanly with the best candidate met (cancelledResult).
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
  // only the series a training pair can use are kept (every candidate's would grow with options.candidates)
  const pairable = (k: Kept) => k.plausible || o.network.pairs === 'all';
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

  /**
   * A search cancelled before the network: the best candidate met (plausible first, then by mean
   * train NSE; the centre of the box when none was simulated), with no network. The job ends as
   * cancelled with these fields; a resume from the last checkpoint completes the search.
   */
  function cancelledResult(met: Kept[], sobolAcceptance: ReturnType<typeof acceptance>): GaugeResult {
    const pick = eliteOf(met, 0)[0];
    const x = pick ? pick.x : space.lower.map((lo, j) => (lo + space.upper[j]!) / 2);
    const fields = fieldsOf(space, x);
    const q = runCnLr(pb.net, fields, pb.P, pb.E, pb.steps, pb.dt);
    const what = pick
      ? `the best of the ${met.length} candidates simulated (${pick.plausible ? 'plausible' : 'none passed the filters'}, mean train NSE ${pick.score.toFixed(3)})`
      : 'the centre of the search box (no candidate was simulated)';
    return {
      parameters: Object.fromEntries(CN_LR_PARAMETERS.map((n) => [n, fields[n]])),
      scores: gaugeScores(pb, q, pb.warmup),
      info: {
        structure: 'cn-lr',
        dims,
        mprParameters: o.mprParameters,
        cancelledIn: state.phase,
        candidates: met.length,
        acceptance: { sobol: sobolAcceptance, cem: state.cem.records.map((r) => r.acceptance) },
        cem: state.cem.records,
        network: null,
        bestCandidate: pick
          ? { score: pick.score, nse: pick.nse, x: pick.x, plausible: pick.plausible }
          : null,
        seconds: times,
        reportSections: [
          {
            heading: 'Inverse mapping: cancelled',
            paragraphs: [
              `Cancelled in the ${state.phase} phase, before the network was trained: the fields are ${what}. Resuming the run from its last checkpoint completes the search.`,
            ],
          },
        ],
      },
    };
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
          if (pairable(k)) flows.set(k, e.flows);
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
      // every sample is kept (the network may train on all of them: options.network.pairs)
      for (const e of pts) {
        const kk = keep(e);
        state.cem.points.push(kk);
        if (pairable(kk)) flows.set(kk, e.flows);
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

    // 4. the network on the simulated pairs
    t = performance.now();
    const met = [...state.sobol, ...state.cem.points];
    const plausible = met.filter((p) => p.plausible);
    // the best plausible candidate the search met (the CEM's answer without the network), for comparison
    const bestCand = [...plausible].sort((a, b) => b.score - a.score)[0];
    // a cancelled search ends cleanly with the best candidate met (a resume completes the search)
    if (state.phase !== 'network' && ctx.cancelled()) return cancelledResult(met, sobolAcceptance);
    if (plausible.length < 4)
      throw new FieldcalError(
        'VALIDATION',
        `only ${plausible.length} candidates passed the filters (Budyko ${(100 * sobolAcceptance.budyko).toFixed(1)} %, vegetation-CN ${(100 * sobolAcceptance.vegetation).toFixed(1)} % of ${state.sobol.length}): widen options.filters or raise options.candidates`,
        { field: 'options.filters', acceptance: sobolAcceptance },
      );
    // extra pairs drawn around the elite: samples of the final CEM distribution, seeded as a next
    // iteration would be (a resumed run draws and simulates the same ones again)
    const extra: Kept[] = [];
    if (o.network.extraPairs > 0) {
      const gFinal = state.cem.g ?? fitGaussian(eliteOf(state.sobol, o.cem.eliteFraction), minSigma);
      const xs = sampleGaussian(
        gFinal,
        o.network.extraPairs,
        space.lower,
        space.upper,
        seed,
        o.cem.iterations,
      );
      for (const e of await pool.evaluate(xs)) {
        const k = keep(e);
        extra.push(k);
        if (pairable(k)) flows.set(k, e.flows);
      }
    }
    // the training pairs: the plausible candidates (the paper), or every candidate with finite flows
    const pool2 = [...met, ...extra];
    const used =
      o.network.pairs === 'all'
        ? pool2.filter((p) => Number.isFinite(p.score))
        : pool2.filter((p) => p.plausible);
    // the series of pairs met before a resume, simulated again (on the pool; the same numbers)
    const missing = used.filter((p) => !flows.has(p));
    (await pool.evaluate(missing.map((p) => p.x))).forEach((e, i) => flows.set(missing[i]!, e.flows));
    pool.close();
    const coef = o.network.output === 'coefficients';
    const span = space.upper.map((u, j) => u - space.lower[j]!);
    const pairs = {
      gauges: pb.gauges.length,
      steps: pb.steps - pb.warmup,
      cells: coef ? 1 : pb.net.cells,
      parameters: coef ? dims : CN_LR_PARAMETERS.length,
      flows: used.map((p) => flows.get(p)!),
      targets: used.map((p) =>
        coef
          ? Float32Array.from(p.x, (v, j) => (v - space.lower[j]!) / span[j]!)
          : scaledTargets(pb, fieldsOf(space, p.x)),
      ),
    };
    /** Fields of a network output: the point of the space (coefficients) or the scaled fields, within the bounds. */
    const toFields = (u: Float32Array): CnLrParams =>
      coef
        ? fieldsOf(
            space,
            Float64Array.from(u, (v, j) => space.lower[j]! + span[j]! * Math.min(1, Math.max(0, v))),
          )
        : fieldsFromScaled(pb, u);
    const { output: _o, pairs: _p, extraPairs: _e, ensemble: members, ...netOptions } = o.network;
    const nets: InverseNet[] = [];
    const newNet = (m: number) => {
      const net = new InverseNet(
        ctx.compute.tf,
        pairs,
        coef ? new Float64Array(0) : pb.descriptors,
        coef ? 0 : pb.nDescriptors,
        { ...netOptions, seed: seed + m, splitSeed: seed },
      );
      nets.push(net);
      return net;
    };
    let result: GaugeResult;
    try {
      // members trained before a resume come back from their weights (their split is the shared one)
      let split = { valid: [] as number[], train: [] as number[] };
      state.members ??= [];
      for (const [m, w] of state.members.entries()) split = newNet(m).restore(pairs, w.weights);
      for (let m = state.members.length; m < members; m++) {
        const net = newNet(m);
        split = net.train(
          pairs,
          (e: EpochRecord) =>
            ctx.progress({
              phase: 'network',
              iteration: m * o.network.epochs + e.epoch,
              total: members * o.network.epochs,
              objective: e.valid,
              valid: e.valid,
              losses: { train: e.train, member: m + 1 },
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
        // a cancelled member is used as it stands; its checkpoint (not a finished member) stays for a resume
        if (ctx.cancelled()) break;
        state.members.push({
          weights: net.weights(),
          epochs: net.history.length,
          bestEpoch: net.bestEpoch,
          validLoss: net.bestValid,
        });
        state.network = undefined;
        if (m + 1 < members && state.phase === 'network') save();
      }
      /** The ensemble's output: the members' mean in the network's output space. */
      const predict = (series: ReadonlyArray<ArrayLike<number>>): Float32Array[] => {
        const outs = nets.map((n) => n.predict(series));
        return series.map((_, b) =>
          Float32Array.from(outs[0]![b]!, (_, j) => outs.reduce((a, o) => a + o[b]![j]!, 0) / outs.length),
        );
      };
      // network validation on the held-out simulated pairs, in the field space: scaled RMSE per
      // parameter, and the correlation across cells of each MPR field with the pair's own
      const held = predict(split.valid.map((i) => pairs.flows[i]!)).map((u) =>
        scaledTargets(pb, toFields(u)),
      );
      const heldTruth = split.valid.map((i) => scaledTargets(pb, fieldsOf(space, used[i]!.x)));
      const K = CN_LR_PARAMETERS.length;
      const cells = pb.net.cells;
      const rmse = CN_LR_PARAMETERS.map((_, k) => {
        let s = 0;
        let n = 0;
        held.forEach((u, b) => {
          const y = heldTruth[b]!;
          for (let c = 0; c < cells; c++) {
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
            const y = heldTruth[b]!;
            // Pearson across cells (metrics cc: NaN for a constant field)
            return cc(
              Float64Array.from({ length: cells }, (_, c) => u[c * K + k]!),
              Float64Array.from({ length: cells }, (_, c) => y[c * K + k]!),
            ).value;
          })
          .filter(Number.isFinite);
        return [name, rs.reduce((a, v) => a + v, 0) / Math.max(1, rs.length)] as const;
      });
      // applied to the observed flows of the scored steps
      const obs = new Float32Array(pairs.gauges * pairs.steps);
      pb.gauges.forEach((gg, i) => obs.set(gg.obs.subarray(pb.warmup), i * pairs.steps));
      const netOut = predict([obs])[0]!;
      const netFields = toFields(netOut);
      const netScores = gaugeScores(pb, runCnLr(pb.net, netFields, pb.P, pb.E, pb.steps, pb.dt), pb.warmup);
      // options.selection: the network's fields, or the best plausible candidate's when it simulates
      // the TRAINING period better (mean NSE over the gauges, the CEM's score); never the test period
      // as the search scores a candidate (space.ts evaluate): the mean over every gauge, -Infinity when one is not finite
      const meanNse = (sc: ReadonlyArray<{ nse: number }>) => {
        const m = sc.reduce((a, x) => a + x.nse, 0) / sc.length;
        return Number.isFinite(m) ? m : Number.NEGATIVE_INFINITY;
      };
      const candFields = bestCand ? fieldsOf(space, bestCand.x) : null;
      const candScores = candFields
        ? gaugeScores(pb, runCnLr(pb.net, candFields, pb.P, pb.E, pb.steps, pb.dt), pb.warmup)
        : null;
      const useCandidate =
        o.selection === 'better-on-train' && candScores !== null && meanNse(candScores) > meanNse(netScores);
      const fields = useCandidate ? candFields! : netFields;
      const scores = useCandidate ? candScores : netScores;
      const selection = {
        rule: o.selection,
        chosen: useCandidate ? ('candidate' as const) : ('network' as const),
        network: {
          trainNse: netScores.map((x) => x.nse),
          mean: meanNse(netScores),
          // the network's point of the search space (coefficients output): its fields by fieldsOf
          x: coef
            ? Array.from(netOut, (v, j) => space.lower[j]! + span[j]! * Math.min(1, Math.max(0, v)))
            : null,
        },
        candidate: candScores ? { trainNse: candScores.map((x) => x.nse), mean: meanNse(candScores) } : null,
      };
      const lead = nets[0]!;
      // the first member's summary (from the checkpoint when it was trained before a resume)
      const first = state.members[0] ?? {
        epochs: lead.history.length,
        bestEpoch: lead.bestEpoch,
        validLoss: lead.bestValid,
      };
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
            output: o.network.output,
            pairsFrom: o.network.pairs,
            noise: o.network.noise,
            pairs: used.length,
            extraPairs: extra.length,
            plausiblePairs: plausible.length + extra.filter((p) => p.plausible).length,
            held: split.valid.length,
            members: nets.length,
            epochs: first.epochs,
            bestEpoch: first.bestEpoch,
            validLoss: first.validLoss,
            memberValidLoss: state.members.map((m) => m.validLoss),
            scaledRmse: Object.fromEntries(CN_LR_PARAMETERS.map((n, k) => [n, rmse[k]])),
            fieldCorrelation: Object.fromEntries(fieldCorr),
            history: lead.history,
          },
          bestCandidate: bestCand ? { score: bestCand.score, nse: bestCand.nse, x: bestCand.x } : null,
          selection,
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
                `${used.length} simulated pairs (${o.network.pairs === 'all' ? `every candidate, ${plausible.length} plausible` : 'the plausible candidates'}), ${split.valid.length} held out; output: ${coef ? `the ${dims} coefficients of the search space (fields by the transfer functions)` : 'one value per cell and parameter'}; training flows with ${o.network.noise} log-normal observation noise; ${nets.length} member${nets.length > 1 ? 's averaged' : ''}; the first trained ${first.epochs} epochs, best held-out loss ${first.validLoss.toPrecision(3)} at epoch ${first.bestEpoch}. RMSE in units of each parameter's range on the held-out pairs; correlation of the predicted and true fields across cells.`,
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
            {
              heading: 'Inverse mapping: selection',
              paragraphs: [
                `Rule: ${o.selection === 'better-on-train' ? "the network's fields unless the best plausible candidate of the search simulates the training period better (mean NSE over the gauges); the test period plays no part" : "the network's fields (the paper)"}. Chosen: ${useCandidate ? 'the best plausible candidate' : "the network's fields"}. Both, on the training period:`,
              ],
              table: {
                head: ['fields', ...pb.gauges.map((gg) => `train NSE ${gg.code}`), 'mean', 'chosen'],
                rows: [
                  ['network', ...netScores.map((x) => x.nse), meanNse(netScores), useCandidate ? '' : 'yes'],
                  ...(candScores
                    ? [
                        [
                          'best plausible candidate',
                          ...candScores.map((x) => x.nse),
                          meanNse(candScores),
                          useCandidate ? 'yes' : '',
                        ],
                      ]
                    : []),
                ],
              },
            },
          ],
        },
      };
    } finally {
      nets.forEach((n) => n.dispose());
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

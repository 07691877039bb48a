import { beforeAll, describe, expect, it } from 'vitest';
import { computeHandle, type ComputeHandle } from '../../../../src-main/services/compute';
import { methodOptions, runMethod } from '../../../../src-main/services/calibration/registry';
import { makeCnTwin } from '../../../../src-main/services/calibration/inverse/twin';
import {
  buildSpace,
  evalSetup,
  evaluate,
  fieldsOf,
} from '../../../../src-main/services/calibration/inverse/space';
import { runCnLr } from '../../../../src-main/services/physics/cnlr';
import { gaugeScores } from '../../../../src-main/services/calibration/gauges/problem';
import { filterOptionsSchema } from '../../../../src-main/services/calibration/inverse/filters';
import {
  eliteOf,
  fitGaussian,
  sampleGaussian,
  smooth,
} from '../../../../src-main/services/calibration/inverse/cem';
import type { InverseMappingOptions } from '../../../../src-main/services/calibration/methods/inverse-mapping/options';
import type { MethodProgress } from '../../../../src-main/services/calibration/method';

let compute: ComputeHandle;
beforeAll(async () => {
  compute = await computeHandle();
});

const twin = makeCnTwin({ rows: 4, cols: 5, steps: 240, warmup: 60, seed: 7 });
const options = methodOptions('inverse-mapping', 'gauges', {
  candidates: 64,
  filters: { vegetation: { descriptor: 'ndvi' } },
  cem: { iterations: 2, samples: 32 },
  network: { epochs: 15, patience: 5, filters: 4, latent: 8, hidden: 8, batch: 16, extraPairs: 8 },
});

describe('inverse mapping pieces', () => {
  it('the twin truth lies in the space, passes both filters and scores NSE 1', () => {
    const space = buildSpace(twin.pb, ['CN', 'Ks']);
    expect(space.lower).toHaveLength(9);
    const s = evalSetup(twin.pb, space, filterOptionsSchema.parse({ vegetation: { descriptor: 'ndvi' } }));
    const e = evaluate(s, twin.truthX);
    expect(e.nse[0]).toBeCloseTo(1, 12);
    expect(e.nse[1]).toBeCloseTo(1, 12);
    expect(e.rho).toBeLessThan(-0.5);
    expect(e.plausible).toBe(true);
    // CN rising with NDVI (the sign of its NDVI coefficient flipped) is refused by the vegetation filter
    const flipped = twin.truthX.slice();
    flipped[1] = 1.2;
    expect(evaluate(s, flipped).vegetation).toBe(false);
  });

  it('CEM concentrates on the maximum of a known function', () => {
    const lower = [-5, -5];
    const upper = [5, 5];
    const target = [1.5, -2];
    let g = { mu: [0, 0], sigma: [3, 3] };
    for (let k = 0; k < 30; k++) {
      const pts = sampleGaussian(g, 100, lower, upper, 3, k).map((x) => ({
        x,
        score: -((x[0]! - target[0]!) ** 2) - (x[1]! - target[1]!) ** 2,
        plausible: x[0]! > 0, // the filter: only the right half-plane
      }));
      g = smooth(g, fitGaussian(eliteOf(pts, 0.1), [1e-3, 1e-3]), 0.7);
    }
    expect(g.mu[0]).toBeCloseTo(1.5, 1);
    expect(g.mu[1]).toBeCloseTo(-2, 1);
    expect(Math.max(...g.sigma)).toBeLessThan(0.05);
  });
});

describe('inverse-mapping method on a tiny CN twin', () => {
  it('runs every phase, records acceptance, CEM convergence and network validation, and resumes to the same search', async () => {
    const states: unknown[] = [];
    const phases = new Set<string>();
    const ctx = {
      compute,
      cancelled: () => false,
      progress: (p: MethodProgress) => phases.add(p.phase ?? ''),
      checkpoint: (s: unknown) => states.push(JSON.parse(JSON.stringify(s))),
    };
    const r = await runMethod('gauges', 'inverse-mapping', twin.pb, options, 11, ctx);
    expect([...phases]).toEqual(['candidates', 'filters', 'cem', 'network']);
    const info = r.info as {
      acceptance: { sobol: { candidates: number; budyko: number; vegetation: number; both: number } };
      cem: Array<{ iteration: number; acceptance: number; best: number; sigmaRelative: number }>;
      network: { epochs: number; validLoss: number; pairs: number };
      bestCandidate: { score: number };
    };
    expect(info.acceptance.sobol.candidates).toBe(64);
    expect(info.acceptance.sobol.both).toBeGreaterThan(0);
    expect(info.acceptance.sobol.both).toBeLessThanOrEqual(
      Math.min(info.acceptance.sobol.budyko, info.acceptance.sobol.vegetation),
    );
    expect(info.cem.map((c) => c.iteration)).toEqual([1, 2]);
    expect(info.cem[1]!.best).toBeGreaterThanOrEqual(info.cem[0]!.best);
    expect(info.cem[1]!.sigmaRelative).toBeLessThan(0.5);
    expect(info.network.epochs).toBeGreaterThan(0);
    expect(Number.isFinite(info.network.validLoss)).toBe(true);
    for (const [k, name] of ['CN', 'Ks', 'Smax', 'kg', 'llr'].entries()) {
      const v = r.parameters[name]!;
      expect(v).toHaveLength(twin.pb.net.cells);
      for (const x of v) {
        expect(x).toBeGreaterThanOrEqual(twin.pb.lower[k]!);
        expect(x).toBeLessThanOrEqual(twin.pb.upper[k]!);
      }
    }
    expect(r.scores.map((s) => s.code)).toEqual(['outlet', 'mid']);
    for (const s of r.scores) expect(Number.isFinite(s.nse)).toBe(true);
    // resume from the checkpoint after the Sobol candidates: the CEM and its best candidate are the same
    const afterSobol = states.find((s) => (s as { phase: string; sobol: unknown[] }).sobol.length === 64);
    expect(afterSobol).toBeDefined();
    const r2 = await runMethod('gauges', 'inverse-mapping', twin.pb, options, 11, {
      ...ctx,
      resume: afterSobol,
    });
    const info2 = r2.info as typeof info;
    expect(info2.cem).toEqual(info.cem);
    expect(info2.bestCandidate.score).toBe(info.bestCandidate.score);
    expect(info2.network.pairs).toBe(info.network.pairs);
  }, 120_000);

  it('refuses a gr4-lr problem and an unknown vegetation descriptor, naming the field', async () => {
    const ctx = { compute, cancelled: () => false, progress: () => undefined };
    await expect(
      runMethod('gauges', 'inverse-mapping', { ...twin.pb, structure: undefined }, options, 1, ctx),
    ).rejects.toThrow(/cn-lr structure/);
    const o2 = methodOptions('inverse-mapping', 'gauges', {
      filters: { vegetation: { descriptor: 'woodland' } },
    });
    await expect(runMethod('gauges', 'inverse-mapping', twin.pb, o2, 1, ctx)).rejects.toThrow(
      /no descriptor woodland/,
    );
  });
});

describe('inverse mapping cancelled before the network', () => {
  const small = methodOptions('inverse-mapping', 'gauges', {
    candidates: 128,
    filters: { vegetation: { descriptor: 'ndvi' } },
    cem: { iterations: 2, samples: 32 },
    network: { epochs: 3, filters: 4, latent: 8, hidden: 8, extraPairs: 8 },
  });
  const space = buildSpace(twin.pb, ['CN', 'Ks']);
  const runOf = (x: ArrayLike<number>) => {
    const f = fieldsOf(space, x);
    return {
      f,
      scores: gaugeScores(
        twin.pb,
        runCnLr(twin.pb.net, f, twin.pb.P, twin.pb.E, twin.pb.steps, twin.pb.dt),
        twin.pb.warmup,
      ),
    };
  };

  it('ends cleanly with the centre of the box when cancelled before any candidate (no VALIDATION error)', async () => {
    const r = await runMethod('gauges', 'inverse-mapping', twin.pb, small, 4, {
      compute,
      cancelled: () => true,
      progress: () => undefined,
    });
    const info = r.info as {
      cancelledIn: string;
      candidates: number;
      network: unknown;
      bestCandidate: unknown;
    };
    expect(info).toMatchObject({
      cancelledIn: 'candidates',
      candidates: 0,
      network: null,
      bestCandidate: null,
    });
    const centre = runOf(space.lower.map((lo, j) => (lo + space.upper[j]!) / 2));
    expect(Array.from(r.parameters.CN!)).toEqual(Array.from(centre.f.CN));
    expect(r.scores.map((s) => s.nse)).toEqual(centre.scores.map((s) => s.nse));
  });

  it('cancelled after the first block of 64 returns the best candidate met, and a resume completes the search', async () => {
    let last: unknown;
    const r = await runMethod('gauges', 'inverse-mapping', twin.pb, small, 4, {
      compute,
      cancelled: () => last !== undefined,
      progress: () => undefined,
      checkpoint: (s) => (last = JSON.parse(JSON.stringify(s))),
    });
    const info = r.info as {
      cancelledIn: string;
      candidates: number;
      bestCandidate: { x: number[]; score: number; plausible: boolean };
    };
    expect(info.cancelledIn).toBe('candidates');
    expect(info.candidates).toBe(64);
    // its fields are the best candidate's, and the scores its simulation's (mean NSE = its score)
    const best = runOf(info.bestCandidate.x);
    expect(Array.from(r.parameters.Ks!)).toEqual(Array.from(best.f.Ks));
    const mean = r.scores.reduce((a, s) => a + s.nse, 0) / r.scores.length;
    expect(mean).toBeCloseTo(info.bestCandidate.score, 10);
    expect(info.bestCandidate.score).toBeGreaterThan(-1);
    const saved = last as { phase: string; sobol: unknown[] };
    expect(saved.phase).toBe('candidates');
    expect(saved.sobol).toHaveLength(64);
    const phases: string[] = [];
    const done = await runMethod('gauges', 'inverse-mapping', twin.pb, small, 4, {
      compute,
      cancelled: () => false,
      resume: saved,
      progress: (p) => {
        if (p.phase && phases[phases.length - 1] !== p.phase) phases.push(p.phase);
      },
    });
    expect(phases).toEqual(['candidates', 'filters', 'cem', 'network']);
    const di = done.info as { cancelledIn?: string; acceptance: { sobol: { candidates: number } } };
    expect(di.cancelledIn).toBeUndefined();
    expect(di.acceptance.sobol.candidates).toBe(128);
  }, 30_000);

  it('an ensemble of 2 resumed after its first member ends with the same fields as an uninterrupted run', async () => {
    const o = methodOptions('inverse-mapping', 'gauges', {
      candidates: 64,
      filters: { vegetation: { descriptor: 'ndvi' } },
      cem: { iterations: 1, samples: 16 },
      network: { epochs: 2, filters: 4, latent: 8, hidden: 8, extraPairs: 8, ensemble: 2 },
    });
    const states: Array<{ members?: unknown[]; network?: unknown }> = [];
    const ctx = { compute, cancelled: () => false, progress: () => undefined };
    const whole = await runMethod('gauges', 'inverse-mapping', twin.pb, o, 6, {
      ...ctx,
      checkpoint: (s) => states.push(JSON.parse(JSON.stringify(s))),
    });
    expect((whole.info as { network: { members: number } }).network.members).toBe(2);
    const afterFirst = states.find((s) => s.members?.length === 1 && !s.network);
    expect(afterFirst).toBeDefined();
    const resumed = await runMethod('gauges', 'inverse-mapping', twin.pb, o, 6, {
      ...ctx,
      resume: afterFirst,
    });
    expect(Array.from(resumed.parameters.CN!)).toEqual(Array.from(whole.parameters.CN!));
    // and the mean of two members is not the first member alone: the second one counts
    const one = await runMethod(
      'gauges',
      'inverse-mapping',
      twin.pb,
      { ...(o as InverseMappingOptions), network: { ...(o as InverseMappingOptions).network, ensemble: 1 } },
      6,
      ctx,
    );
    expect(Array.from(one.parameters.CN!)).not.toEqual(Array.from(whole.parameters.CN!));
  }, 120_000);

  it("selection 'better-on-train' keeps the network's fields unless the best candidate simulates the train period better, and reports both", async () => {
    const base = {
      candidates: 64,
      filters: { vegetation: { descriptor: 'ndvi' } },
      cem: { iterations: 1, samples: 16 },
      network: { epochs: 2, filters: 4, latent: 8, hidden: 8, extraPairs: 8 },
    };
    type Side = { trainNse: number[]; mean: number; x?: number[] | null };
    type Info = {
      selection: { rule: string; chosen: string; network: Side; candidate: Side | null };
      bestCandidate: { x: number[]; score: number };
      reportSections: Array<{ heading: string; table?: { rows: unknown[][] } }>;
    };
    const ctx = { compute, cancelled: () => false, progress: () => undefined };
    const run = (selection: string) =>
      runMethod(
        'gauges',
        'inverse-mapping',
        twin.pb,
        methodOptions('inverse-mapping', 'gauges', { ...base, selection }),
        8,
        ctx,
      );
    const byNet = await run('network');
    const bySel = await run('better-on-train');
    const a = (byNet.info as Info).selection;
    const b = (bySel.info as Info).selection;
    // the rule does not change the network: the same point, train NSE and mean both ways
    expect(b.network).toEqual(a.network);
    expect(a.chosen).toBe('network');
    // the network's point of the space gives the fields and train NSE it reports
    const nf = runOf(a.network.x!);
    expect(Array.from(byNet.parameters.CN!)).toEqual(Array.from(nf.f.CN));
    expect(a.network.trainNse).toEqual(nf.scores.map((x) => x.nse));
    // the candidate's train NSE is the search's own score of it (mean NSE over the gauges)
    const best = (bySel.info as Info).bestCandidate;
    expect(b.candidate!.mean).toBeCloseTo(best.score, 10);
    const candidateWins = b.candidate!.mean > b.network.mean;
    // a network of 2 epochs is far from the search's best: the rule must switch here
    expect(candidateWins).toBe(true);
    expect(b.chosen).toBe('candidate');
    const cf = runOf(best.x);
    expect(Array.from(bySel.parameters.Ks!)).toEqual(Array.from(cf.f.Ks));
    expect(bySel.scores.map((x) => x.nse)).toEqual(cf.scores.map((x) => x.nse));
    // both ways in the report: the network's row and the candidate's
    const sec = (bySel.info as Info).reportSections.find((x) => x.heading === 'Inverse mapping: selection');
    expect(sec?.table?.rows.map((r) => r[0])).toEqual(['network', 'best plausible candidate']);
    expect(sec?.table?.rows[1]!.at(-1)).toBe('yes');
  }, 120_000);
});

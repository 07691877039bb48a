import { describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import { mulberry32 } from '../../../../src-main/services/common/random';
import { filterOptionsSchema } from '../../../../src-main/services/calibration/inverse/filters';
import { CandidatePool } from '../../../../src-main/services/calibration/inverse/pool';
import { buildSpace, evalSetup, evaluate } from '../../../../src-main/services/calibration/inverse/space';
import { makeCnTwin } from '../../../../src-main/services/calibration/inverse/twin';
import { startWorker } from '../../../../src-main/services/jobs/workerEntry';

/**
 * The candidate pool of inverse mapping: two worker threads give bit for bit what the calling
 * thread gives, in candidate order; a candidate that throws rejects with a typed error naming it
 * and every worker thread exits.
 */
const twin = makeCnTwin({ rows: 4, cols: 5, steps: 240, warmup: 60, seed: 7 });
const mpr = ['CN', 'Ks'];
const space = buildSpace(twin.pb, mpr);
const setup = evalSetup(twin.pb, space, filterOptionsSchema.parse({ vegetation: { descriptor: 'ndvi' } }));
const rand = mulberry32(19);
const xs = Array.from({ length: 37 }, () => space.lower.map((lo, j) => lo + rand() * (space.upper[j]! - lo)));
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('candidate pool (inverse mapping)', () => {
  it('2 threads give bit-identical results to 1 thread, in candidate order', async () => {
    const one = await CandidatePool.create(setup, mpr, 1, startWorker);
    expect(one.threads).toBe(1);
    const two = await CandidatePool.create(setup, mpr, 2, startWorker);
    expect(two.threads).toBe(2);
    try {
      const a = await one.evaluate(xs);
      const b = await two.evaluate(xs);
      expect(b).toHaveLength(xs.length);
      b.forEach((e, i) => {
        const r = a[i]!;
        expect(Array.from(e.x)).toEqual(xs[i]);
        expect(e.nse).toEqual(r.nse);
        expect(Object.is(e.score, r.score)).toBe(true);
        expect(Object.is(e.etOverP, r.etOverP)).toBe(true);
        expect(Object.is(e.rho, r.rho)).toBe(true);
        expect([e.budyko, e.vegetation, e.plausible]).toEqual([r.budyko, r.vegetation, r.plausible]);
        expect(bytes(e.flows).equals(bytes(r.flows))).toBe(true);
      });
      // and they are what evaluate gives on this thread (the pool adds nothing of its own)
      const direct = evaluate(setup, xs[5]!);
      expect(bytes(b[5]!.flows).equals(bytes(direct.flows))).toBe(true);
      // some candidates pass the filters and some do not: the comparison covers both
      expect(new Set(b.map((e) => e.plausible)).size).toBe(2);
      // the truth scores NSE 1 on the pool too
      const [t] = await two.evaluate([twin.truthX]);
      expect(t!.nse[0]).toBeCloseTo(1, 12);
    } finally {
      one.close();
      two.close();
    }
    await two.exited;
  }, 60_000);

  it('a candidate that throws rejects with a typed error naming it, and the pool shuts down', async () => {
    const pool = await CandidatePool.create(setup, mpr, 2, startWorker);
    const bad = xs.slice(0, 12).map((x) => x.slice());
    bad[9]![0] = Number.NaN; // CN's first MPR coefficient: a NaN CN field
    const err = await pool.evaluate(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldcalError);
    expect((err as FieldcalError).code).toBe('VALIDATION');
    expect((err as FieldcalError).message).toMatch(/^candidate 9: cell \d+: CN = NaN/);
    expect((err as FieldcalError).details).toMatchObject({ candidate: 9, parameter: 'CN' });
    expect(pool.closed).toBe(true);
    // every worker thread exits (no hanging threads), and the pool refuses more work
    await pool.exited;
    await expect(pool.evaluate(xs.slice(0, 2))).rejects.toThrow(/candidate 9/);
    // on the calling thread the same candidate gives the same error
    const local = await CandidatePool.create(setup, mpr, 1);
    await expect(local.evaluate(bad)).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { candidate: 9 },
    });
  }, 60_000);
});

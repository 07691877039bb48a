import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { tempDir } from '../../../helpers/tmp';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('run progress (jobs.history)', () => {
  it('stores points in order, non-finite objectives as null and non-finite losses left out', () => {
    const s = ProjectStore.create({ path: join(tmp.dir, 'a.fieldcal') });
    const r = s.runs.create({ name: 'r', method: 'ann', options: {}, seed: 1 });
    s.runs.addProgress(r.id, { iteration: 0, phase: 'preparing', objective: Number.NaN, losses: {} });
    s.runs.addProgress(r.id, {
      iteration: 1,
      phase: 'calibrating',
      objective: 0.5,
      losses: { valid: 0.7, bad: Number.POSITIVE_INFINITY },
    });
    s.runs.addProgress(r.id, {
      iteration: 2,
      phase: 'calibrating',
      objective: Number.NEGATIVE_INFINITY,
      losses: { valid: Number.NaN },
    });
    const h = s.runs.history(r.id);
    expect(h.map((p) => [p.iteration, p.phase, p.objective, p.losses])).toEqual([
      [0, 'preparing', null, {}],
      [1, 'calibrating', 0.5, { valid: 0.7 }],
      [2, 'calibrating', null, {}],
    ]);
    expect(Date.parse(h[0]!.at)).not.toBeNaN();
    // an unknown run
    expect(() => s.runs.history(99)).toThrow(FieldcalError);
    try {
      s.runs.history(99);
    } catch (e) {
      expect((e as FieldcalError).code).toBe('NOT_FOUND');
    }
    s.close();
  });

  it('keeps at most the cap per run, thinned evenly over the whole run, the last point always kept', () => {
    const s = ProjectStore.create({ path: join(tmp.dir, 'b.fieldcal') });
    const r = s.runs.create({ name: 'r', method: 'ann', options: {}, seed: 1 });
    const other = s.runs.create({ name: 'o', method: 'ann', options: {}, seed: 1 });
    s.runs.addProgress(other.id, { iteration: 7, phase: 'calibrating', objective: 1, losses: {} });
    for (let i = 1; i <= 1000; i++)
      s.runs.addProgress(r.id, { iteration: i, phase: 'calibrating', objective: 1 / i, losses: {} }, 100);
    const its = s.runs.history(r.id).map((p) => p.iteration);
    expect(its.length).toBeLessThanOrEqual(100);
    expect(its.length).toBeGreaterThan(50);
    expect(its.at(-1)).toBe(1000);
    expect(its[0]).toBe(1);
    // evenly: every gap between kept points is the same, the last one (to the newest point) at most that
    const gaps = its.slice(1).map((v, k) => v - its[k]!);
    expect(new Set(gaps.slice(0, -1)).size).toBe(1);
    expect(gaps.at(-1)).toBeLessThanOrEqual(gaps[0]!);
    expect(gaps[0]).toBe(16);
    // points span the whole run, not only its end
    expect(its.filter((v) => v <= 500).length).toBeGreaterThan(20);
    // other runs are untouched
    expect(s.runs.history(other.id).map((p) => p.iteration)).toEqual([7]);
    s.close();
  });
});

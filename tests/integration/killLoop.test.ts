import { describe, expect, it } from 'vitest';
import { killFuzz } from '../../fuzz/kill';

// `npm run fuzz -- kill N` runs the same loop at any count (20 kills in the check); here a
// modest count covers one kill in each of a run, a resume and an export.
describe('SIGKILL at random moments across a run, a resume and an export', () => {
  it('leaves the project intact, without orphan temporary files, and resumes to the uninterrupted result', async () => {
    const r = (await killFuzz(6, 7)) as unknown as {
      problems: unknown[];
      crashes: number;
      hangs: number;
      killed: { run: number; resume: number; export: number };
      finishedBeforeKill: number;
      resumedRuns: number;
      sameAsUninterrupted: number;
    };
    expect(r.problems).toEqual([]);
    expect(r.crashes).toBe(0);
    expect(r.hangs).toBe(0);
    // every kill landed (a child finishing first would test nothing)
    expect(r.killed.run + r.killed.resume + r.killed.export + r.finishedBeforeKill).toBe(6);
    expect(r.killed.run).toBeGreaterThanOrEqual(1);
    expect(r.killed.resume + r.killed.export).toBeGreaterThanOrEqual(2);
    // each run started in the loop ends succeeded, identical to the uninterrupted one
    expect(r.resumedRuns).toBe(2);
    expect(r.sameAsUninterrupted).toBe(2);
  });
});

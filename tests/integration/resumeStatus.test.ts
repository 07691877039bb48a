import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../../src-shared/ipc';
import { AppEvents } from '../../src-main/services/events';
import { JobHost } from '../../src-main/services/jobs/host';
import { parseJobSpec } from '../../src-main/services/jobs/specs';
import { ProjectStore } from '../../src-main/services/project/store';

/**
 * jobs.resume's answer and the status events around it. The renderer applies each `jobs.onStatus`
 * event as it arrives, then writes the record `resume` returns over the row: that record must be
 * the run as it is once resumed (running, or queued behind another job), never the stale
 * `interrupted` one, or the row shows "interrupted" while the job runs.
 */
const dir = mkdtempSync(join(tmpdir(), 'fieldcal-resume-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const job = {
  kind: 'twin',
  method: 'ann',
  twin: { rows: 6, cols: 8, seed: 2, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
  threads: 1,
  options: { iterations: 4, validEvery: 2 },
};

describe('resuming interrupted runs', () => {
  it('returns the current record (running, or queued behind another job) and the status events end in succeeded', async () => {
    const path = join(dir, 'p.fieldcal');
    // three runs left by a process that died: two running, one still queued
    const first = ProjectStore.create({ path });
    const spec = parseJobSpec(job);
    const ids = ['a', 'b', 'c'].map((name) => {
      const r = first.runs.create({ name, method: 'ann', options: {}, seed: spec.seed });
      first.runs.setOptions(r.id, { spec, outDir: join(dir, `run-${name}`) });
      if (name !== 'c') first.runs.setStatus(r.id, 'running');
      return r.id;
    });
    first.close();
    const store = ProjectStore.open({ path });
    // reopened: every run the dead process held (running or queued) is interrupted, and resumable
    expect(ids.map((id) => store.runs.get(id).status)).toEqual(['interrupted', 'interrupted', 'interrupted']);
    expect(store.runs.get(ids[2]!).error).toMatch(/queued/);

    const events = new AppEvents();
    const seen: RunRecord[] = [];
    events.onAny((k, p) => {
      if (k === 'jobs.onStatus') seen.push(p as RunRecord);
    });
    const host = new JobHost(store, events);
    try {
      // what the renderer ends with: the events received during the call, then the answer on top
      const shown = (id: number, answer: RunRecord) => {
        const during = seen.filter((r) => r.id === id);
        return { lastEvent: during.at(-1)?.status, answer: answer.status };
      };
      const a = host.resume(ids[0]!);
      expect(a.status).toBe('running');
      expect(shown(ids[0]!, a)).toEqual({ lastEvent: 'running', answer: 'running' });
      // one job at a time: the next resumed run waits in the queue, and says so
      const b = host.resume(ids[1]!);
      expect(b.status).toBe('queued');
      expect(store.runs.get(ids[1]!).status).toBe('queued');
      expect(shown(ids[1]!, b)).toEqual({ lastEvent: 'queued', answer: 'queued' });
      // a queued run is not resumed twice
      expect(() => host.resume(ids[1]!)).toThrow(/only interrupted runs resume/);

      expect((await host.wait(ids[0]!)).status).toBe('succeeded');
      expect((await host.wait(ids[1]!)).status).toBe('succeeded');
      for (const id of ids.slice(0, 2))
        expect(seen.filter((r) => r.id === id).map((r) => r.status)).toEqual([
          'queued',
          'running',
          'succeeded',
        ]);
      // both ran to their end: their checkpoints reached the last iteration
      for (const id of ids.slice(0, 2)) expect(store.runs.checkpoint(id)!.iteration).toBe(4);
      // the third stays interrupted until someone resumes it
      expect(store.runs.get(ids[2]!).status).toBe('interrupted');
    } finally {
      await host.close();
      store.close();
    }
  });
});

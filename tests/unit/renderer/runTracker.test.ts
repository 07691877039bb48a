import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src-shared/ipc';
import { mergeRunList, RunTracker, upsertRun } from '../../../src-renderer/src/lib/stores/runTracker';
import { CommandStack } from '../../../src-renderer/src/lib/stores/commandStack';

const run = (id: number, status: RunRecord['status']): RunRecord => ({
  id,
  name: `run ${id}`,
  method: 'hda-pr',
  options: {},
  status,
  seed: 1,
  studyAreaId: null,
  createdAt: '2025-01-01T00:00:00Z',
  startedAt: null,
  finishedAt: null,
  error: null,
});

describe('runs shown in the renderer', () => {
  it('keeps a status event that arrived during a call over the call’s older reply', () => {
    const t = new RunTracker();
    // Resume: the call starts, main emits 'running', then the reply (made while queued) arrives
    const token = t.begin();
    t.event(7);
    expect(t.fresh(token, 7)).toBe(false);
    expect(t.fresh(token, 8)).toBe(true);
    const shown = [run(7, 'running'), run(8, 'succeeded')];
    const reply = [run(7, 'interrupted'), run(8, 'succeeded'), run(9, 'queued')];
    expect(mergeRunList(shown, reply, t, token).map((r) => [r.id, r.status])).toEqual([
      [7, 'running'],
      [8, 'succeeded'],
      [9, 'queued'],
    ]);
    // a reply with no event in between replaces what is shown
    const later = t.begin();
    expect(mergeRunList(shown, [run(7, 'succeeded')], t, later).map((r) => r.status)).toEqual(['succeeded']);
  });

  it('keeps a run that an event added during a list call the reply did not have', () => {
    const t = new RunTracker();
    const token = t.begin();
    t.event(3);
    expect(mergeRunList([run(3, 'queued')], [], t, token).map((r) => r.id)).toEqual([3]);
    expect(upsertRun([run(1, 'failed')], run(3, 'queued')).map((r) => r.id)).toEqual([1, 3]);
    expect(upsertRun([run(1, 'failed')], run(1, 'queued'))[0]!.status).toBe('queued');
  });
});

describe('the study-area edit stack', () => {
  it('undoes and redoes in order, and a new command drops the redo branch', () => {
    let shape: number[] = [];
    const s = new CommandStack();
    const add = (v: number) => ({
      label: `add ${v}`,
      do: () => (shape = [...shape, v]),
      undo: () => (shape = shape.slice(0, -1)),
    });
    s.run(add(1));
    s.run(add(2));
    expect(shape).toEqual([1, 2]);
    expect(s.undo()).toBe(true);
    expect(shape).toEqual([1]);
    expect(s.redoLabel).toBe('add 2');
    expect(s.redo()).toBe(true);
    expect(shape).toEqual([1, 2]);
    s.undo();
    s.run(add(3));
    expect(shape).toEqual([1, 3]);
    expect(s.canRedo).toBe(false);
    s.undo();
    s.undo();
    expect(shape).toEqual([]);
    expect(s.undo()).toBe(false);
  });
});

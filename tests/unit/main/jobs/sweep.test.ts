import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import { sweepSpecSchema, type SweepSpecInput } from '../../../../src-shared/types/sweep';
import {
  SweepCoordinator,
  expandSweep,
  keyMetrics,
  pickWinner,
  redactUrl,
  sweepRecord,
} from '../../../../src-main/services/jobs/sweep';
import type {
  SweepChildEvent,
  SweepChildTask,
  SweepExecutor,
} from '../../../../src-main/services/jobs/sweepExecutor';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { tempDir } from '../../../helpers/tmp';

const twin = {
  kind: 'twin',
  method: 'gradient',
  options: { iterations: 2 },
  twin: { rows: 4, cols: 5, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
};
const sweep = (s: Partial<SweepSpecInput>) => sweepSpecSchema.parse({ name: 's', base: twin, ...s });

/** The typed error a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<FieldcalError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FieldcalError);
  return e as FieldcalError;
}
const paths = (e: FieldcalError) => (e.details!.issues as Array<{ path: string }>).map((i) => i.path);

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('sweep expansion', () => {
  it('crosses the grid (last key fastest) with the seeds, each child a deep copy with its values set', async () => {
    const spec = sweep({
      grid: { 'options.iterations': [2, 3, 4], 'twin.noise': [0.01, 0.1] },
      seeds: [7, 8],
    });
    const kids = await expandSweep(spec);
    expect(kids).toHaveLength(12);
    expect(kids.map((k) => [k.values['options.iterations'], k.values['twin.noise'], k.seed])).toEqual([
      [2, 0.01, 7],
      [2, 0.01, 8],
      [2, 0.1, 7],
      [2, 0.1, 8],
      [3, 0.01, 7],
      [3, 0.01, 8],
      [3, 0.1, 7],
      [3, 0.1, 8],
      [4, 0.01, 7],
      [4, 0.01, 8],
      [4, 0.1, 7],
      [4, 0.1, 8],
    ]);
    const k5 = kids[5]!.input as {
      options: { iterations: number };
      twin: { noise: number; rows: number };
      seed: number;
    };
    expect(k5.options.iterations).toBe(3);
    expect(k5.twin.noise).toBe(0.01);
    expect(k5.twin.rows).toBe(4);
    expect(k5.seed).toBe(8);
    // the base is untouched and no two children share an object
    expect(spec.base).toEqual(twin);
    expect(kids[0]!.input.twin).not.toBe(kids[1]!.input.twin);
    expect(kids.map((k) => k.index)).toEqual([...Array(12).keys()]);
  });

  it("makes a child once when values that do not matter to it differ: exact physics and a surrogate's settings", async () => {
    const spec = sweep({
      base: { kind: 'twin', method: 'gan-po', options: { epochs: 4, pretrainEpochs: 1 }, twin: twin.twin },
      grid: { 'options.physics': ['exact', 'lstm'], 'options.surrogate.epochs': [5, 10] },
      seeds: [1, 2],
    });
    const kids = await expandSweep(spec);
    // 2 x 2 x 2 combinations; the exact ones differ only in surrogate.epochs: 2 + 4 children
    expect(kids.map((k) => [k.index, k.values, k.seed])).toEqual([
      [0, { 'options.physics': 'exact' }, 1],
      [1, { 'options.physics': 'exact' }, 2],
      [2, { 'options.physics': 'lstm', 'options.surrogate.epochs': 5 }, 1],
      [3, { 'options.physics': 'lstm', 'options.surrogate.epochs': 5 }, 2],
      [4, { 'options.physics': 'lstm', 'options.surrogate.epochs': 10 }, 1],
      [5, { 'options.physics': 'lstm', 'options.surrogate.epochs': 10 }, 2],
    ]);
    // the exact child carries no surrogate setting (the base had none), the others theirs
    expect(kids[0]!.input.options).toEqual({ epochs: 4, pretrainEpochs: 1, physics: 'exact' });
    expect(kids[4]!.input.options).toMatchObject({ physics: 'lstm', surrogate: { epochs: 10 } });
    // a setting the base gives is put back as the base's, not dropped
    const withBase = await expandSweep(
      sweep({
        base: {
          kind: 'twin',
          method: 'gan-po',
          options: { epochs: 4, pretrainEpochs: 1, surrogate: { epochs: 7 } },
          twin: twin.twin,
        },
        grid: { 'options.physics': ['exact', 'arnet'], 'options.surrogate.epochs': [5, 10] },
      }),
    );
    expect(withBase).toHaveLength(3);
    expect(withBase[0]!.input.options).toMatchObject({ physics: 'exact', surrogate: { epochs: 7 } });
    // an axis that matters to no child is refused at its key
    const idle = await refusal(
      expandSweep(
        sweep({
          base: {
            kind: 'twin',
            method: 'gan-po',
            options: { epochs: 4, pretrainEpochs: 1 },
            twin: twin.twin,
          },
          grid: { 'options.surrogate.epochs': [5, 10] },
        }),
      ),
    );
    expect(paths(idle)).toEqual(['grid.options.surrogate.epochs']);
    expect(idle.message).toContain('grid.options.surrogate.epochs: matters only with physics lstm or arnet');
    // a key below a settings object that does not matter (CLI configs may name one), and a seed
    // listed twice: the exact child made once per seed position, as the form counts
    const deep = await expandSweep(
      sweep({
        base: {
          kind: 'twin',
          method: 'gan-po',
          options: {
            epochs: 4,
            pretrainEpochs: 1,
            surrogate: { split: { train: 200, valid: 100, test: 100 } },
          },
          twin: twin.twin,
        },
        grid: { 'options.physics': ['exact', 'lstm'], 'options.surrogate.split.train': [200, 250] },
        seeds: [1, 1],
      }),
    );
    expect(deep.map((k) => Object.keys(k.values).length)).toEqual([1, 1, 2, 2, 2, 2]);
    expect(deep[1]!.input.options).toMatchObject({ surrogate: { split: { train: 200 } } });
    // values that all matter are never merged, even when two children are the same run
    const same = await expandSweep(sweep({ grid: { 'options.iterations': [2, 3] }, seeds: [1, 1] }));
    expect(same).toHaveLength(4);
  });

  it('lists a folder’s files matching the pattern, sorted, as each child’s dataset.path', async () => {
    const dir = join(tmp.dir, 'basins');
    mkdirSync(dir);
    for (const f of ['B2.csv', 'A1.csv', 'notes.txt', 'C3.CSV']) writeFileSync(join(dir, f), 'x');
    mkdirSync(join(dir, 'sub.csv'));
    const kids = await expandSweep(
      sweep({ base: { kind: 'lumped', method: 'sce-ua' }, datasets: { folder: dir } }),
    );
    expect(kids.map((k) => k.dataset)).toEqual([join(dir, 'A1.csv'), join(dir, 'B2.csv')]);
    expect((kids[1]!.input.dataset as { path: string }).path).toBe(join(dir, 'B2.csv'));
    // a list is taken as given, crossed with the seeds (datasets outermost)
    const list = await expandSweep(sweep({ datasets: ['/x/b.csv', '/x/a.csv'], seeds: [1, 2] }));
    expect(list.map((k) => [k.dataset, k.seed])).toEqual([
      ['/x/b.csv', 1],
      ['/x/b.csv', 2],
      ['/x/a.csv', 1],
      ['/x/a.csv', 2],
    ]);
  });

  it('refuses a folder matching nothing, a missing folder and a grid path through a non-object', async () => {
    const dir = join(tmp.dir, 'empty');
    mkdirSync(dir);
    expect(paths(await refusal(expandSweep(sweep({ datasets: { folder: dir } }))))).toEqual([
      'datasets.pattern',
    ]);
    expect(paths(await refusal(expandSweep(sweep({ datasets: { folder: join(dir, 'no') } }))))).toEqual([
      'datasets.folder',
    ]);
    expect(paths(await refusal(expandSweep(sweep({ grid: { 'method.x': [1] } }))))).toEqual([
      'grid.method.x',
    ]);
  });
});

/** An executor answering every child at once: a result (valid NSE from `nseOf`), twice, or an error. */
class FakeExecutor implements SweepExecutor {
  readonly where = 'fake-worker-pool';
  private readonly listeners = new Set<(e: SweepChildEvent) => void>();
  readonly submitted: SweepChildTask[] = [];
  constructor(
    private readonly nseOf: (i: number) => number | null,
    private readonly periods = ['valid', 'train'],
    private readonly silent = false,
  ) {}
  async submit(children: SweepChildTask[]): Promise<void> {
    this.submitted.push(...children);
    await Promise.resolve();
    if (this.silent) return;
    for (const c of children) {
      this.emit({ type: 'started', key: c.key, worker: `w${c.index % 2}` });
      const v = this.nseOf(c.index);
      if (v === null) {
        this.emit({
          type: 'error',
          key: c.key,
          worker: 'w1',
          error: { code: 'VALIDATION', message: 'bad option' },
        });
        continue;
      }
      const result = (value: number) => ({
        type: 'result' as const,
        key: c.key,
        worker: `w${c.index % 2}`,
        result: {
          cancelled: false,
          metrics: this.periods.flatMap((period) => [
            { period, target: 'A', metric: 'nse', value: value - 0.1 },
            { period, target: 'B', metric: 'nse', value: value + 0.1 },
          ]),
          artifacts: [{ kind: 'result', path: join(c.outDir, 'result.json'), sizeBytes: 1, checksum: 'x' }],
          seconds: 1,
        },
      });
      this.emit(result(v));
      // delivered again (a retried job): ignored, whatever it says
      this.emit(result(v + 5));
    }
  }
  private emit(e: SweepChildEvent) {
    for (const l of this.listeners) l(e);
  }
  onEvent(l: (e: SweepChildEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  pending = () => Promise.resolve([]);
  cancel = () => Promise.resolve();
  close = () => Promise.resolve();
}

describe('sweep coordinator', () => {
  it('refuses a sweep whose child is invalid before recording anything, naming children[i].<path>', async () => {
    const store = ProjectStore.create({ path: join(tmp.dir, 'p.fieldcal') });
    try {
      const c = new SweepCoordinator(store, new FakeExecutor(() => 0.5), {
        outDir: (id) => join(tmp.dir, `r${id}`),
      });
      const e = await refusal(c.start(sweep({ grid: { 'options.iterations': [2, 0], 'twin.bogus': [1] } })));
      expect(e.code).toBe('VALIDATION');
      // the schema refuses first: every child holds the unknown key
      expect(paths(e)).toEqual(['children[0].twin.bogus', 'children[1].twin.bogus']);
      const e2 = await refusal(c.start(sweep({ grid: { 'options.iterations': [2, 0] } })));
      expect(paths(e2)).toEqual([expect.stringMatching(/^children\[1\]\.(options\.)?iterations$/)]);
      expect(store.runs.list()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('records each child once, a failed child with its error, the parent, the winner and the report', async () => {
    const store = ProjectStore.create({ path: join(tmp.dir, 'p.fieldcal') });
    try {
      const nses = [0.5, 0.9, null, 0.7];
      const out = (id: number) => join(tmp.dir, `run-${id}`);
      const c = new SweepCoordinator(store, new FakeExecutor((i) => nses[i]!), { outDir: out });
      const s = await c.start(sweep({ seeds: [1, 2, 3, 4], queue: 'redis://:s3cret@127.0.0.1:6390/0' }));
      expect(s.record.children).toBe(4);
      const rec = await s.done;
      expect(rec.status).toBe('succeeded');
      expect(rec.done).toBe(4);
      expect(rec.rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'failed', 'succeeded']);
      expect(rec.rows[2]!.error).toBe('VALIDATION: bad option');
      // the mean over targets A and B of the first delivery (the second, +5, was ignored)
      expect(rec.rows.map((r) => r.metrics['valid.nse'])).toEqual(
        [0.5, 0.9, undefined, 0.7].map((v) => (v === undefined ? undefined : expect.closeTo(v, 12))),
      );
      expect(rec.winner).toBe(1);
      expect(rec.rows.map((r) => r.worker)).toEqual(['w0', 'w1', 'w1', 'w1']);
      for (const r of rec.rows)
        expect(store.runs.artifacts(r.runId!).length).toBe(r.status === 'succeeded' ? 1 : 0);
      const parent = store.runs.get(s.id);
      expect(parent.method).toBe('sweep');
      expect(parent.error).toMatch(/1 of 4 children failed: #2/);
      // the queue's password is never recorded
      expect(JSON.stringify(parent.options)).not.toContain('s3cret');
      expect(rec.queue).toBe('fake-worker-pool');
      const children = store.runs.sweepChildren(s.id);
      expect(children.map((k) => k.run.seed)).toEqual([1, 2, 3, 4]);
      const csv = readFileSync(join(out(s.id), 'sweep.csv'), 'utf8')
        .trim()
        .split('\n');
      expect(csv).toHaveLength(5);
      expect(csv[0]).toMatch(
        /^index,run_id,seed,dataset,status,train\.nse,valid\.nse,seconds,worker,winner,error$/,
      );
      expect(csv[2]!.split(',')[9]).toBe('1');
      const json = JSON.parse(readFileSync(join(out(s.id), 'sweep.json'), 'utf8')) as { winner: number };
      expect(json.winner).toBe(1);
      expect(sweepRecord(store, s.id).winner).toBe(1);
    } finally {
      store.close();
    }
  });

  it('falls back to the training period when no child has the validation metric, and says so', async () => {
    const store = ProjectStore.create({ path: join(tmp.dir, 'p.fieldcal') });
    try {
      const c = new SweepCoordinator(store, new FakeExecutor((i) => [0.3, 0.2, 0.8][i]!, ['train']), {
        outDir: (id) => join(tmp.dir, `run-${id}`),
      });
      const s = await c.start(sweep({ seeds: [1, 2, 3] }));
      const rec = await s.done;
      expect(rec.winner).toBe(2);
      expect(rec.select.period).toBe('train');
      expect(sweepRecord(store, s.id).note).toMatch(/no validation period/);
      // min mode picks the lowest
      const rows = rec.rows.map((r) => ({ index: r.index, status: r.status, select: r.metrics }));
      expect(pickWinner(rows, { metric: 'nse', period: 'train', mode: 'min' }).winner).toBe(1);
    } finally {
      store.close();
    }
  });
});

describe('a coordinator restarted mid-sweep', () => {
  it('re-attaches: children finished meanwhile recorded, the others resumed from their checkpoints, each once', async () => {
    const path = join(tmp.dir, 'p.fieldcal');
    const out = (id: number) => join(tmp.dir, `run-${id}`);
    let store = ProjectStore.create({ path });
    const first = new FakeExecutor(() => 0.5, ['valid'], true);
    const s = await new SweepCoordinator(store, first, { outDir: out }).start(sweep({ seeds: [1, 2, 3, 4] }));
    expect(first.submitted.map((t) => t.index)).toEqual([0, 1, 2, 3]);
    const [c0, c1] = store.runs.sweepChildren(s.id).map((c) => c.run.id);
    // meanwhile the job host finished child 0 and checkpointed child 1, then the process died
    store.runs.setStatus(c0!, 'running');
    store.runs.addMetrics(c0!, [{ period: 'valid', target: 'ET', metric: 'nse', value: 0.99 }]);
    store.runs.setStatus(c0!, 'succeeded');
    store.runs.setStatus(c1!, 'running');
    store.runs.saveCheckpoint(c1!, 7, { iteration: 7, x: [1, 2] });
    store.close();
    store = ProjectStore.open({ path });
    try {
      expect(store.runs.get(s.id).status).toBe('interrupted');
      const again = new FakeExecutor((i) => [0, 0.6, 0.7, 0.8][i]!, ['valid']);
      const re = await new SweepCoordinator(store, again, { outDir: out }).attach(s.id);
      const rec = await re.done;
      // child 0 is not run again; child 1 resumes from its checkpoint
      expect(again.submitted.map((t) => t.index)).toEqual([1, 2, 3]);
      expect(again.submitted[0]!.resume).toEqual({ iteration: 7, x: [1, 2] });
      expect(again.submitted[1]!.resume).toBeUndefined();
      expect(rec.status).toBe('succeeded');
      expect(rec.rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      expect(rec.rows.map((r) => r.metrics['valid.nse'])).toEqual(
        [0.99, 0.6, 0.7, 0.8].map((v) => expect.closeTo(v, 12)),
      );
      expect(rec.winner).toBe(0);
      expect(store.runs.sweepChildren(s.id).every((c) => c.recorded)).toBe(true);
      // a finished sweep has nothing to re-attach to
      const e = await refusal(new SweepCoordinator(store, again, { outDir: out }).attach(s.id));
      expect(e.code).toBe('CONFLICT');
    } finally {
      store.close();
    }
  });
});

describe('helpers', () => {
  it('averages metrics over targets, ignoring missing values', () => {
    expect(
      keyMetrics([
        { period: 'train', target: 'a', metric: 'nse', value: 0.5 },
        { period: 'train', target: 'b', metric: 'nse', value: 0.7 },
        { period: 'train', target: 'c', metric: 'nse', value: Number.NaN },
        { period: 'test', target: 'a', metric: 'kge', value: Number.NaN },
      ]),
    ).toEqual({ 'train.nse': expect.closeTo(0.6, 12), 'test.kge': null });
  });
  it('redacts a queue URL’s password', () => {
    expect(redactUrl('redis://:pw@127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0');
    expect(redactUrl('redis://user:pw@host:6379')).toBe('redis://user@host:6379');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
  });
});

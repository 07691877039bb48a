import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FieldcalError, jobSpecSchema } from '../../../../src-shared/ipc';
import { dispatch } from '../../../../src-main/ipc/dispatch';
import { memoryIssues, parseJobSpec } from '../../../../src-main/services/jobs/specs';
import { checkJob } from '../../../../src-main/services/jobs/preflight';
import { testServices } from '../../../helpers/services';
import { fileSha256 } from '../../../helpers/tmp';

let world: ReturnType<typeof testServices>;
beforeEach(() => {
  world = testServices('server');
});
afterEach(() => world.cleanup());

function caught(fn: () => unknown): FieldcalError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FieldcalError);
    return err as FieldcalError;
  }
  throw new Error('expected a FieldcalError');
}

describe('prototype keys are refused, not dropped', () => {
  // JSON.parse makes `__proto__` an own key, as a job file or a socket frame would
  const withProto = () =>
    JSON.parse(
      '{"kind":"twin","method":"ann","options":{"__proto__":{"iterations":1},"iterations":3},"twin":{"rows":6,"cols":8}}',
    ) as unknown;

  it('names the path of `__proto__` in a job spec read from a file', () => {
    // what zod alone does: the key disappears and the spec passes
    const zodOnly = jobSpecSchema.safeParse(withProto());
    expect(zodOnly.success && zodOnly.data.options).toEqual({ iterations: 3 });

    const e = caught(() => parseJobSpec(withProto(), 'job.json'));
    expect(e.code).toBe('VALIDATION');
    expect(e.message).toBe('job.json: options.__proto__: the key "__proto__" is refused (prototype key)');
    expect(e.details).toMatchObject({ field: 'options.__proto__' });
  });

  it('refuses `constructor` and `prototype` deep in a spec, each with its path (jobs.check)', async () => {
    const spec = JSON.parse(
      '{"kind":"twin","method":"ann","studyArea":{"geometry":{"type":"Polygon","coordinates":[],"prototype":1}},"options":{"a":{"constructor":{}}}}',
    ) as unknown;
    const r = await checkJob(spec);
    expect(r.spec).toBeNull();
    expect(r.issues.map((i) => i.path)).toEqual(['studyArea.geometry.prototype', 'options.a.constructor']);
  });

  it("places a method option's or a period's refusal at its field with the reason alone (jobs.check), and names both in a refusal", async () => {
    const spec = { kind: 'twin', method: 'gan-po', options: { epochs: 10 } };
    const r = await checkJob(spec);
    expect(r.issues).toEqual([
      {
        path: 'options.pretrainEpochs',
        message:
          "must be below epochs (10): after 20 epochs of pre-training the discriminator would never join (ablation 'l1-only' trains without it); 1 keeps the defaults' share (20 of 200 epochs)",
      },
    ]);
    expect(caught(() => parseJobSpec(spec)).message).toMatch(
      /^job: options\.pretrainEpochs: must be below epochs \(10\)/,
    );
    // a named period past a dataset's data: its entry's field, the reason alone
    const dataset = { path: 'x', start: '2009-01-01', end: '2012-12-31' };
    const periods = [
      { name: 'train', start: '2009-01-01', end: '2010-12-31' },
      { name: 'test', start: '2012-06-01', end: '2013-01-31' },
    ];
    const late = await checkJob({ kind: 'gridded', method: 'ann', dataset, periods });
    expect(late.issues).toContainEqual({
      path: 'periods.1.end',
      message: 'test ends 2013-01-31, after the data (2009-01-01 .. 2012-12-31)',
    });
    expect(caught(() => parseJobSpec({ kind: 'gridded', method: 'ann', dataset, periods })).message).toMatch(
      /periods\.1\.end: test ends 2013-01-31/,
    );
  });

  it('refuses prototype keys in any call over IPC before the schema drops them', async () => {
    const r = await dispatch(world.services.impls, 'jobs', 'submit', { spec: withProto() });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('VALIDATION');
    expect(r.error.message).toContain('spec.options.__proto__');
    // a loose schema elsewhere (a study area's GeoJSON), which zod would pass without the key
    const area = await dispatch(
      world.services.impls,
      'studyAreas',
      'save',
      JSON.parse(
        '{"name":"a","crs":"EPSG:4326","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]],"__proto__":{"x":1}}}',
      ),
    );
    expect(area.ok).toBe(false);
    if (!area.ok) {
      expect(area.error.code).toBe('VALIDATION');
      expect(area.error.message).toContain('geometry.__proto__');
    }
  });
});

describe('paths in the IPC schemas', () => {
  it('refuses a NUL byte in project.create, leaving the SQLite file it would have named untouched', async () => {
    const other = join(world.dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);');
    db.close();
    const before = fileSha256(other);
    const r = await dispatch(world.services.impls, 'project', 'create', { path: `${other}\u0000.fieldcal` });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('VALIDATION');
    expect(r.error.message).toContain('path: a path may not hold a NUL byte');
    expect(fileSha256(other)).toBe(before);
    expect(new Database(other, { readonly: true }).pragma('application_id', { simple: true })).toBe(0);
  });

  it('refuses a NUL byte in every path argument', async () => {
    const cases: Array<[string, string, Record<string, unknown>, string]> = [
      ['project', 'open', { path: '/tmp/a.fieldcal\u0000' }, 'path: a path may not hold a NUL byte'],
      ['datasets', 'import', { path: '/tmp/a\u0000b' }, 'path: a path may not hold a NUL byte'],
      ['datasets', 'importFolder', { path: '/tmp/\u0000' }, 'path: a path may not hold a NUL byte'],
      [
        'export',
        'copyArtifact',
        { id: 1, destination: '/tmp/out.tif\u0000.sh' },
        'destination: a path may not hold a NUL byte',
      ],
      [
        'export',
        'writeFields',
        { runId: 1, artifactIds: [1], folder: '/tmp/\u0000x', layout: 'per-field' },
        'folder: a path may not hold a NUL byte',
      ],
    ];
    for (const [s, m, arg, msg] of cases) {
      const r = await dispatch(world.services.impls, s, m, arg);
      expect(r.ok, `${s}.${m}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('VALIDATION');
        expect(r.error.message).toContain(msg);
      }
    }
  });
});

describe('a job too large for the machine is refused at submit', () => {
  it('refuses a 1000 × 1000 × 200-year twin with its size, before anything runs', async () => {
    const spec = {
      kind: 'twin',
      method: 'ann',
      twin: { rows: 1000, cols: 1000, years: { warmup: 50, train: 50, valid: 50, test: 50 } },
    };
    const e = caught(() => parseJobSpec(spec));
    expect(e.code).toBe('VALIDATION');
    // 10^6 cells × 73 000 days = 7.3e10 values in each of six Float64 fields: 48 bytes × 7.3e10 = 3.504e12 bytes = 3263.4 GiB
    expect(e.message).toBe(
      'job: twin: 1000 × 1000 cells × 73000 days is 7.30e+10 values per field, beyond the 5.37e+8 one array can hold (about 3263.4 GiB in all); use fewer cells or years',
    );
    // over IPC: refused by jobs.submit before a run is recorded (a project is open)
    const path = join(world.dir, 'p.fieldcal');
    await dispatch(world.services.impls, 'project', 'create', { path });
    const r = await dispatch(world.services.impls, 'jobs', 'submit', { spec });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('beyond the 5.37e+8 one array can hold');
    const list = await dispatch(world.services.impls, 'jobs', 'list', {});
    expect(list).toEqual({ ok: true, value: [] });
  });

  it('estimates 48 bytes per cell-day against a share of the memory', () => {
    const spec = jobSpecSchema.parse({
      kind: 'twin',
      method: 'ann',
      twin: { rows: 200, cols: 200, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
    });
    // 40 000 cells × 1460 days × 6 fields × 8 bytes = 2 803 200 000 bytes = 2.6 GiB
    expect(memoryIssues(spec, 4 * 2 ** 30)).toEqual([
      {
        path: 'twin',
        message:
          "200 × 200 cells × 1460 days needs about 2.6 GiB for its 6 forcing and target fields, more than 50 % of this machine's 4.0 GiB; use fewer cells or years",
      },
    ]);
    expect(memoryIssues(spec, 8 * 2 ** 30)).toEqual([]);
    // the default twin passes on any machine
    expect(memoryIssues(jobSpecSchema.parse({ kind: 'twin', method: 'ann' }), 2 ** 30)).toEqual([]);
  });
});

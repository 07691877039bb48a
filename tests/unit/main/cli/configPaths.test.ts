// Issue 16 (left item): relative paths in a `--config` job file are taken from the file's folder, as
// `fieldcal sweep --config` and `fieldcal assemble --config` take them, and a job whose dataset is
// missing is refused before anything is recorded (it failed at run time as INTERNAL: ENOENT).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfigPaths } from '../../../../src-main/cli/configPaths';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('resolveConfigPaths', () => {
  it("resolves the named relative paths against the config file's folder and nothing else", () => {
    const raw = {
      dataset: { path: 'lez', flowdir: '/abs/flow.tif', start: '2012-08-01' },
      hypsometry: { path: '../h/hypsometry.csv', basin: 'lez' },
      options: { path: 'not a path field' },
    };
    const out = resolveConfigPaths(raw, '/data/configs/job.json', [
      'dataset.path',
      'dataset.flowdir',
      'hypsometry.path',
      'missing.path',
    ]);
    expect(out).toEqual({
      dataset: { path: '/data/configs/lez', flowdir: '/abs/flow.tif', start: '2012-08-01' },
      hypsometry: { path: '/data/h/hypsometry.csv', basin: 'lez' },
      options: { path: 'not a path field' },
    });
    // a copy: the parsed file is left as it was
    expect(raw.dataset.path).toBe('lez');
  });

  it('leaves what is not a path string for the schema to refuse', () => {
    const raw = { dataset: { path: 42 }, hypsometry: 'x.csv' };
    expect(resolveConfigPaths(raw, 'job.json', ['dataset.path', 'hypsometry.path'])).toEqual(raw);
    expect(resolveConfigPaths(null, 'job.json', ['dataset.path'])).toBeNull();
    expect(resolveConfigPaths([1], 'job.json', ['dataset.path'])).toEqual([1]);
    expect(resolveConfigPaths({ dataset: { path: '' } }, 'job.json', ['dataset.path'])).toEqual({
      dataset: { path: '' },
    });
  });
});

describe('fieldcal twin --config', () => {
  it("takes a relative dataset path from the config's folder and refuses a missing one before recording", () => {
    const cfgDir = join(tmp.dir, 'configs');
    mkdirSync(cfgDir);
    const cfg = join(cfgDir, 'job.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        dataset: { path: 'no-such-lez', start: '2012-08-01', end: '2012-08-31' },
        options: { iterations: 1 },
      }),
    );
    const out = join(tmp.dir, 'tw');
    const r = runCli(['twin', '--method', 'ann', '--config', cfg, '--out', out, '--json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`dataset.path: ${join(cfgDir, 'no-such-lez')} does not exist`);
    expect(r.stderr).toContain('[VALIDATION]');
    expect(existsSync(join(out, 'runs.fieldcal'))).toBe(false);
  });
});

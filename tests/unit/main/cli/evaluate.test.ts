import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';

describe('fieldcal evaluate', () => {
  it('writes the report for two stacks; a perfect simulation scores perfectly and --json stays clean', () => {
    const tmp = tempDir();
    const out = join(tmp.dir, 'report');
    const r = runCli([
      'evaluate',
      '--obs',
      'tests/fixtures/netcdf/prcp_nc3.nc',
      '--sim',
      'tests/fixtures/netcdf/prcp_nc3.nc',
      '--out',
      out,
      '--json',
    ]);
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout) as {
      report: string;
      summary: { cells: number; meanEof: number; pctRmseReduced: number; meanSsim: number };
    };
    expect(res.summary.cells).toBe(20);
    expect(res.summary.meanEof).toBeLessThan(1e-12);
    expect(res.summary.meanSsim).toBeCloseTo(1, 12);
    expect(existsSync(res.report)).toBe(true);
    const bad = runCli([
      'evaluate',
      '--obs',
      'tests/fixtures/netcdf/prcp_nc3.nc',
      '--sim',
      'tests/fixtures/netcdf/tas_nc4.nc',
      '--out',
      out,
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('is not on the grid of --obs');
    tmp.cleanup();
  });
});

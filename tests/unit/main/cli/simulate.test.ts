import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';

const BASIN = 'tests/fixtures/airgr-L0123001/L0123001_BasinObs.csv';
const AIRGR = { X1: 257.237556, X2: 1.012237, X3: 88.234673, X4: 2.207958 };

describe('fieldcal simulate', () => {
  it("reproduces airGR's published NSE and KGE on L0123001 with airGR's calibrated parameters", () => {
    const tmp = tempDir();
    const cfg = join(tmp.dir, 'run.json');
    writeFileSync(
      cfg,
      JSON.stringify({ period: { warmupStart: '1989-01-01', start: '1990-01-01', end: '1999-12-31' } }),
    );
    const r = runCli([
      'simulate',
      '--dataset',
      BASIN,
      '--params',
      JSON.stringify(AIRGR),
      '--config',
      cfg,
      '--out',
      tmp.dir,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { metrics: { simulation: { nse: number; kge: number } } };
    expect(out.metrics.simulation.nse).toBeCloseTo(0.7988, 3);
    expect(out.metrics.simulation.kge).toBeCloseTo(0.7854, 3);
    const csv = readFileSync(join(tmp.dir, 'simulation.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('date,Q_obs_mm,Q_sim_mm');
    expect(csv).toHaveLength(1 + 3652);
    expect(csv[1]!.startsWith('1990-01-01,')).toBe(true);
    tmp.cleanup();
  });

  it('refuses a missing parameter and a period outside the data, naming the field', () => {
    const tmp = tempDir();
    const ok = join(tmp.dir, 'ok.json');
    writeFileSync(ok, JSON.stringify({ period: { start: '1990-01-01', end: '1990-12-31' } }));
    const r = runCli([
      'simulate',
      '--dataset',
      BASIN,
      '--params',
      '{"X1": 300, "X2": 0, "X3": 80}',
      '--config',
      ok,
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/parameter X4 must be a number/);
    const cfg = join(tmp.dir, 'run.json');
    writeFileSync(cfg, JSON.stringify({ period: { start: '1950-01-01', end: '1960-12-31' } }));
    const r2 = runCli(['simulate', '--dataset', BASIN, '--params', JSON.stringify(AIRGR), '--config', cfg]);
    expect(r2.stderr).toMatch(/outside the data/);
    tmp.cleanup();
  });
});

describe('fieldcal twin, export', () => {
  it('records the run in a project and exports its parameter GeoTIFFs and report, checksums verified', () => {
    const tmp = tempDir();
    const cfg = join(tmp.dir, 'job.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        threads: 1,
        twin: { rows: 6, cols: 8, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
        options: { iterations: 4, validEvery: 2 },
      }),
    );
    const t = runCli(['twin', '--method', 'ann', '--config', cfg, '--out', join(tmp.dir, 'tw'), '--json']);
    expect(t.status, t.stderr).toBe(0);
    const res = JSON.parse(t.stdout) as { project: string; run: { id: number; status: string } };
    expect(res.run.status).toBe('succeeded');
    // GDAL reads the outputs as written: the twin grid's geotransform, one simulated band per day
    const runDir = join(tmp.dir, 'tw', `run-${res.run.id}`);
    const g = spawnSync('gdalinfo', ['-json', join(runDir, 'd2.tif')], { encoding: 'utf8' });
    expect(g.status, g.stderr).toBe(0);
    expect(g.stderr).not.toMatch(/Warning/);
    expect((JSON.parse(g.stdout) as { geoTransform: number[] }).geoTransform).toEqual([
      112, 0.25, 0, 36.5, 0, -0.25,
    ]);
    const sim = JSON.parse(
      spawnSync('gdalinfo', ['-json', join(runDir, 'simulated_ET.tif')], { encoding: 'utf8' }).stdout,
    ) as { bands: Array<{ description: string }> };
    expect(sim.bands).toHaveLength(4 * 365);
    expect(sim.bands[0]!.description).toBe('2001-01-01');
    const e = runCli([
      'export',
      '--project',
      res.project,
      '--run',
      String(res.run.id),
      '--out',
      join(tmp.dir, 'exp'),
      '--json',
    ]);
    expect(e.status, e.stderr).toBe(0);
    const files = (JSON.parse(e.stdout) as { files: string[] }).files;
    for (const name of ['b', 'Ds', 'Dsmax', 'Ws', 'd2', 'd3', 'expt'])
      expect(files).toContain(join(tmp.dir, 'exp', `${name}.tif`));
    expect(existsSync(join(tmp.dir, 'exp', 'report', 'index.html'))).toBe(true);
    // a file changed after the run is refused
    const d2 = join(tmp.dir, 'tw', `run-${res.run.id}`, 'd2.tif');
    const before = createHash('sha256').update(readFileSync(d2)).digest('hex');
    writeFileSync(d2, 'tampered');
    const bad = runCli([
      'export',
      '--project',
      res.project,
      '--run',
      String(res.run.id),
      '--out',
      join(tmp.dir, 'exp2'),
    ]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/changed since the run wrote it/);
    expect(before).toHaveLength(64);
    tmp.cleanup();
  });
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../../../src-shared/types/sweep';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';

const FIX = resolve('tests/fixtures/camels-fr');
let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('fieldcal sweep', () => {
  it(
    'runs a lumped sweep over two basins of a folder, records it in the project and prints the record',
    { timeout: 120_000 },
    () => {
      const config = join(tmp.dir, 'sweep.json');
      writeFileSync(
        config,
        JSON.stringify({
          name: 'two basins',
          base: {
            kind: 'lumped',
            method: 'gradient',
            dataset: { path: 'x', columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd' } },
            period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2002-12-31' },
          },
          datasets: { folder: FIX, pattern: 'X0*.csv' },
        }),
      );
      const project = join(tmp.dir, 'p.fieldcal');
      const r = runCli(['sweep', '--config', config, '--project', project, '--concurrency', '2', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const rec = JSON.parse(r.stdout) as SweepRecord & { note: string };
      expect(rec.status).toBe('succeeded');
      expect(rec.rows.map((x) => x.dataset)).toEqual([
        join(FIX, 'X031001001.csv'),
        join(FIX, 'X045401001.csv'),
      ]);
      expect(rec.select.period).toBe('train');
      expect(rec.note).toMatch(/no validation period/);
      const nse = rec.rows.map((x) => x.metrics['train.nse']!);
      expect(rec.winner).toBe(nse.indexOf(Math.max(...nse)));
      // NSE ≤ 1 by its definition (Nash & Sutcliffe 1970), and a calibration beats the mean flow (0)
      for (const v of nse) expect(v).toBeGreaterThan(0);
      for (const v of nse) expect(v).toBeLessThanOrEqual(1);
      const csv = join(tmp.dir, 'p-runs', `run-${rec.id}`, 'sweep.csv');
      expect(readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(3);
      const store = ProjectStore.open({ path: project, role: 'recorder' });
      try {
        expect(store.runs.list().map((x) => x.method)).toEqual(['sweep', 'gradient', 'gradient']);
      } finally {
        store.close();
      }
    },
  );

  it('refuses a config with an unknown key or a child that cannot run, naming the field; nothing is recorded', () => {
    const config = join(tmp.dir, 'sweep.json');
    writeFileSync(config, JSON.stringify({ name: 'x', base: {}, colour: 'red' }));
    const project = join(tmp.dir, 'p.fieldcal');
    let r = runCli(['sweep', '--config', config, '--project', project]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/colour/);
    expect(existsSync(project)).toBe(false);
    writeFileSync(
      config,
      JSON.stringify({
        name: 'x',
        base: {
          kind: 'lumped',
          method: 'dpl',
          dataset: { path: 'nowhere.csv' },
          period: { start: '2001-01-01', end: '2001-12-31' },
        },
      }),
    );
    r = runCli(['sweep', '--config', config, '--project', project]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/children\[0\]\.method/);
    expect(r.stderr).toMatch(/children\[0\]\.dataset\.path: .*nowhere\.csv does not exist/);
    r = runCli(['sweep', '--project', project]);
    expect(r.stderr).toMatch(/either --config .* or --attach/);
  });
});

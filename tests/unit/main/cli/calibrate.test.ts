import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunConfig } from '../../../../src-main/services/calibration/lumped/config';
import { GR4J } from '../../../../src-main/services/physics/gr4/structure';
import { CONFIG_PARAMETERS } from '../../../../src-main/services/calibration/lumped/config';
import { LLR } from '../../../../src-main/services/physics/routing/lr';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';
import { ProjectStore } from '../../../../src-main/services/project/store';

const BASIN = 'tests/fixtures/airgr-L0123001/L0123001_BasinObs.csv';
const PERIOD = { warmupStart: '1989-01-01', start: '1990-01-01', end: '1999-12-31' };

function withConfig(cfg: unknown, args: string[]) {
  const tmp = tempDir();
  const file = join(tmp.dir, 'run.json');
  writeFileSync(file, JSON.stringify(cfg));
  const r = runCli(['calibrate', '--config', file, ...args]);
  tmp.cleanup();
  return r;
}

describe('fieldcal calibrate and the run config', () => {
  it("the config names exactly the structures' parameters", () => {
    expect([...CONFIG_PARAMETERS]).toEqual([...GR4J.parameters.map((p) => p.name), LLR.name]);
  });

  it('fills defaults and refuses unknown keys, reversed bounds and reversed periods, naming the field', () => {
    expect(
      parseRunConfig({ method: 'sce-ua', period: { start: '1990-01-01', end: '1990-12-31' } }),
    ).toMatchObject({ seed: 1, bounds: {}, structure: 'gr4' });
    expect(() => parseRunConfig({ method: 'sce-ua', period: PERIOD, typo: 1 })).toThrow(/typo/);
    expect(() => parseRunConfig({ method: 'sce-ua', period: { ...PERIOD, extra: 1 } })).toThrow(/period/);
    expect(() =>
      parseRunConfig({ method: 'sce-ua', period: PERIOD, bounds: { X1: { lower: 500, upper: 100 } } }),
    ).toThrow(/bounds\.X1: bounds reversed/);
    expect(() =>
      parseRunConfig({ method: 'sce-ua', period: PERIOD, bounds: { X9: { lower: 0, upper: 1 } } }),
    ).toThrow(/bounds/);
    expect(() =>
      parseRunConfig({ method: 'sce-ua', period: { start: '1999-01-01', end: '1990-01-01' } }),
    ).toThrow(/period\.end: end is before start/);
    expect(() => parseRunConfig({ method: 'annealing', period: PERIOD })).toThrow(/method/);
  });

  it('refuses a period outside the data and a gauge not in the catchment before any work', () => {
    const early = withConfig({ method: 'gradient', period: { ...PERIOD, warmupStart: '1970-01-01' } }, [
      '--dataset',
      BASIN,
    ]);
    expect(early.status).toBe(1);
    expect(early.stderr).toContain('outside the data');
    const gauge = withConfig(
      { method: 'hda-pr', period: { start: '2012-08-01', end: '2013-07-31' }, gauges: ['X0000000'] },
      ['--dataset', 'resources/sample-data/lez'],
    );
    expect(gauge.status).toBe(1);
    expect(gauge.stderr).toContain('gauge X0000000 is not in the dataset');
  });

  it('calibrates GR4J on the airGR basin with sce-ua and gradient, printing clean JSON', () => {
    for (const method of ['sce-ua', 'gradient']) {
      const r = withConfig({ period: PERIOD }, ['--dataset', BASIN, '--method', method, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const res = JSON.parse(r.stdout) as {
        metrics: { calibration: { nse: number } };
        config: { method: string };
      };
      expect(res.config.method).toBe(method);
      expect(res.metrics.calibration.nse).toBeGreaterThanOrEqual(0.7988);
    }
  });

  it('records the run in a project with its config, seed, metrics and result file', () => {
    const tmp = tempDir();
    const project = join(tmp.dir, 'runs.fieldcal');
    const r = withConfig({ period: PERIOD, seed: 5 }, [
      '--dataset',
      BASIN,
      '--method',
      'gradient',
      '--project',
      project,
      '--out',
      join(tmp.dir, 'out'),
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const store = ProjectStore.open({ path: project });
    const [run] = store.runs.list();
    expect(run).toMatchObject({ method: 'gradient', status: 'succeeded', seed: 5 });
    const d = store.runs.detail(run!.id);
    expect(d.metrics.find((m) => m.metric === 'nse')!.value).toBeGreaterThanOrEqual(0.7988);
    expect(d.artifacts.map((a) => a.kind)).toEqual(['result']);
    expect((d.options as { config: { period: unknown } }).config.period).toEqual(PERIOD);
    store.close();
    tmp.cleanup();
  });
});

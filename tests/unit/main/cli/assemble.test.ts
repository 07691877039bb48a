// Issue 15: `fieldcal assemble --config` on the Lez named part by part, and a refusal naming its input.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';

const LEZ = resolve('resources/sample-data/lez');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const config = (over: Record<string, unknown> = {}) => ({
  name: 'lez-cli',
  start: '2012-08-01',
  end: '2012-08-10',
  crs: 'EPSG:2154',
  forcing: [
    { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') }, units: 'mm' },
    { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') }, units: 'mm/day' },
  ],
  descriptors: [{ name: 'slope', path: join(LEZ, 'descriptor', 'slope.tif') }],
  flowdir: { path: join(LEZ, 'France_flwdir.tif') },
  gauges: { format: 'smash', path: LEZ },
  ...over,
});

it('assembles from a config, prints what was done to each input and writes the manifest', () => {
  const cfg = join(tmp.dir, 'assemble.json');
  writeFileSync(cfg, JSON.stringify(config()));
  const out = join(tmp.dir, 'lez-cli');
  const r = runCli(['assemble', '--config', cfg, '--out', out]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain(`Assembled lez-cli: ${out}`);
  expect(r.stdout).toMatch(/10 daily steps/);
  expect(r.stdout).toMatch(/forcing\.prcp: window onto the grid; mm, as read; daily/);
  expect(r.stdout).toMatch(/forcing\.pet: window onto the grid; mm\/day -> mm \(x 1\); daily/);
  const m = JSON.parse(readFileSync(join(out, 'fieldcal-dataset.json'), 'utf8')) as {
    step: string;
    start: string;
    end: string;
    inputs: Array<{ role: string }>;
  };
  expect(m.step).toBe('daily');
  expect(m.inputs.map((i) => i.role)).toEqual(
    expect.arrayContaining(['forcing.prcp', 'forcing.pet', 'flowdir']),
  );
});

it('refuses units that are not a flux, naming the input, and writes nothing', () => {
  const cfg = join(tmp.dir, 'bad.json');
  const c = config({ name: 'lez-bad' });
  (c.forcing as Array<Record<string, unknown>>)[1]!.units = 'K';
  writeFileSync(cfg, JSON.stringify(c));
  const out = join(tmp.dir, 'lez-bad');
  const r = runCli(['assemble', '--config', cfg, '--out', out]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/forcing\[1\]/);
  expect(existsSync(out)).toBe(false);
});

it('--project records the dataset, its layers and gauges like the IPC does', async () => {
  const { ProjectStore } = await import('../../../../src-main/services/project/store');
  const project = join(tmp.dir, 'p.fieldcal');
  ProjectStore.create({ path: project, name: 'p' }).close();
  const cfg = join(tmp.dir, 'assemble-p.json');
  writeFileSync(cfg, JSON.stringify(config({ name: 'lez-p' })));
  const r = runCli(['assemble', '--config', cfg, '--project', project]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/recorded in .* as dataset \d+/);
  const store = ProjectStore.open({ path: project });
  try {
    expect(store.datasets.list().map((d) => [d.name, d.kind])).toEqual(
      expect.arrayContaining([
        ['lez-p', 'model'],
        ['lez-p · prcp', 'stack'],
        ['lez-p · pet', 'stack'],
        ['lez-p · slope', 'raster'],
        ['lez-p · gauges', 'gauges'],
      ]),
    );
    expect(
      store.layers
        .list()
        .map((l) => l.name)
        .sort(),
    ).toEqual(['lez-p · pet', 'lez-p · prcp', 'lez-p · slope']);
    expect(
      store.gauges
        .list()
        .map((g) => g.code)
        .sort(),
    ).toEqual(['Y3204010', 'Y3204030', 'Y3204040']);
  } finally {
    store.close();
  }
});

it('assembles a lumped dataset from a config of kind lumped (paths relative to it), one line per basin', () => {
  const dir = join(tmp.dir, 'lumped');
  mkdirSync(dir);
  copyFileSync(resolve('tests/fixtures/camels-fr/V123521001.csv'), join(dir, 'V123521001.csv'));
  const cfg = join(dir, 'lumped.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      kind: 'lumped',
      name: 'ire-cli',
      out: 'ire',
      basins: [
        {
          path: 'V123521001.csv',
          columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qls', units: { Q: 'l/s' }, areaKm2: 25.38 },
        },
      ],
    }),
  );
  const r = runCli(['assemble', '--config', cfg]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain(`Assembled ire-cli (lumped, 1 basin, daily): ${join(dir, 'ire')}`);
  // l/s to mm per day over 25.38 km²: x 1e-3 · 86400 / (25.38 · 1e3)
  const scale = (1e-3 * 86400) / (25.38 * 1e3);
  expect(r.stdout).toContain(
    `V123521001: 7305 rows 1999-01-01 .. 2018-12-31; P Ptot (mm); PET Evap (mm); Q Qls l/s -> mm (x ${scale})`,
  );
  expect(existsSync(join(dir, 'ire', 'V123521001.csv'))).toBe(true);
  // `fieldcal calibrate` names the dataset's folder: a lumped run with no column mapping
  const run = join(dir, 'run.json');
  writeFileSync(
    run,
    JSON.stringify({
      method: 'sce-ua',
      period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2002-12-31' },
      options: { restarts: 1 },
    }),
  );
  const c = runCli([
    'calibrate',
    '--dataset',
    join(dir, 'ire'),
    '--config',
    run,
    '--out',
    join(dir, 'run'),
    '--json',
  ]);
  expect(c.status, c.stderr).toBe(0);
  expect(c.stdout).toMatch(/"nse"/i);
}, 120_000);

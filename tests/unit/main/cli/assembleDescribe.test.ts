// Issue 15: `fieldcal assemble` says what was done to each input in plain words; a descriptor
// without units is copied as read (once said "taken as as read").
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';

const LEZ = resolve('resources/sample-data/lez');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

it('a descriptor without units reads "values as read", never "as as read"', () => {
  const cfg = join(tmp.dir, 'assemble.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      name: 'lez-words',
      start: '2012-08-01',
      end: '2012-08-02',
      crs: 'EPSG:2154',
      forcing: [
        { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') }, units: 'mm' },
        { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') } },
      ],
      descriptors: [{ name: 'slope', path: join(LEZ, 'descriptor', 'slope.tif') }],
      flowdir: { path: join(LEZ, 'France_flwdir.tif') },
      gauges: { format: 'smash', path: LEZ },
    }),
  );
  const r = runCli(['assemble', '--config', cfg, '--out', join(tmp.dir, 'out')]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(
    /descriptor\.slope: window onto the grid; no units given or in the file: values as read; static/,
  );
  // a forcing without units is taken in the model's unit, and a warning says so
  expect(r.stdout).toMatch(
    /warning: forcing pet: no units given or in the file; taken as mm per source step/,
  );
  expect(r.stdout).not.toMatch(/as as read/);
}, 60_000);

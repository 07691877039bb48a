import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';

/**
 * `fieldcal kgssl` on the repo's CAMELS-FR fixture (3 real basins, tests/fixtures/camels-fr/PROVENANCE.md)
 * as a recorded `basins` job in a worker thread: embeddings CSV, the distance heat map, metrics per
 * basin; bad periods refused naming the field before anything runs.
 */
const FIX = resolve('tests/fixtures/camels-fr');
const dir = mkdtempSync(join(tmpdir(), 'kgssl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fieldcal kgssl (basins job)', () => {
  it('runs on a basin folder and writes embeddings.csv, distances.png and per-basin test NSE', () => {
    const options = {
      epochs: 2,
      batchesPerEpoch: 2,
      window: 40,
      spinup: 20,
      hidden: 8,
      zDim: 3,
      folds: 3,
      weights: { regression: 0 },
      attributeBaseline: false,
      transfer: { enabled: false },
    };
    const r = runCli([
      'kgssl',
      '--basins',
      FIX,
      '--train',
      '1999-01-01..2008-12-31',
      '--test',
      '2009-01-01..2018-12-31',
      '--options',
      JSON.stringify(options),
      '--out',
      dir,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      run: { id: number; status: string };
      info: { reconstruction: { nse: Record<string, number> }; distances: { embedding: number[][] } };
    };
    expect(out.run.status).toBe('succeeded');
    expect(Object.keys(out.info.reconstruction.nse)).toEqual(['V123521001', 'X031001001', 'X045401001']);
    const run = join(dir, `run-${out.run.id}`);
    const csv = readFileSync(join(run, 'embeddings.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('basin,z1,z2,z3');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['V123521001', 'X031001001', 'X045401001']);
    // the distance matrix is symmetric with a zero diagonal
    const m = out.info.distances.embedding;
    for (let i = 0; i < 3; i++) {
      expect(m[i]![i]).toBe(0);
      for (let j = 0; j < 3; j++) expect(m[i]![j]).toBe(m[j]![i]);
    }
    expect(readFileSync(join(run, 'distances.png')).subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);

  it('refuses overlapping periods, naming the field', () => {
    const a = runCli([
      'kgssl',
      '--basins',
      FIX,
      '--train',
      '1999-01-01..2008-12-31',
      '--test',
      '2005-01-01..2010-12-31',
      '--out',
      dir,
    ]);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/test: the test period overlaps the train period/);
  }, 30_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { openApp, type E2eApp } from '../helpers/e2e';

/**
 * Many basins learned together from the Calibrate panel (issue 20, KGSSL): the repo's CAMELS-FR
 * fixture (3 real basins, tests/fixtures/camels-fr/PROVENANCE.md) as a basin folder, main's issues
 * at their fields (a missing attribute table, overlapping periods), a small KGSSL run with GR4J
 * transfer, its live progress, and the run detail's per-basin table, heat map and embeddings equal
 * to what the run wrote (result.json, embeddings.csv).
 */
const SHOTS = 'test-results/e2e/basins';
const FIX = resolve('tests/fixtures/camels-fr');
const CODES = ['V123521001', 'X031001001', 'X045401001'];
let app: E2eApp;
let tmp: E2eApp['tmp'];
let page: Page;
let problems: string[];

beforeAll(async () => {
  app = await openApp('fieldcal-e2e-basins-', SHOTS);
  ({ tmp, page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

function findFiles(dir: string, name: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name === name)
    .map((e) => join(e.parentPath, e.name));
}

const issuesAt = (key: string) => page.getByTestId(`basins-issue-${key}`).allTextContents();
const fmt = (v: number, digits: number) => String(Number(v.toPrecision(digits)));

describe('a basin folder learned with KGSSL from the Calibrate panel', () => {
  it('shows the form and main issues at their fields', async () => {
    await page.getByTestId('project-path').fill(join(tmp.dir, 'basins.fieldcal'));
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('basins');
    await page.getByTestId('calib-basins').check();
    await page.getByTestId('basins-section').waitFor();
    expect(await page.getByTestId('basins-method').inputValue()).toBe('kgssl');
    expect(await issuesAt('path')).toEqual(['give the folder of basin CSVs']);

    await page.getByTestId('basins-path').fill(FIX);
    await page.getByTestId('basins-train-start').fill('1999-01-01');
    await page.getByTestId('basins-train-end').fill('2008-12-31');
    // overlapping periods: the schema's refinement, at the test period
    await page.getByTestId('basins-test-start').fill('2005-01-01');
    await page.getByTestId('basins-test-end').fill('2018-12-31');
    expect(await issuesAt('test.end')).toEqual(['the test period overlaps the train period']);
    await page.getByTestId('basins-test-start').fill('2009-01-01');

    // an attribute table that is not there: only main knows, and says so at the field
    await page.getByTestId('basins-attributes').fill(join(tmp.dir, 'nowhere.csv'));
    await expect
      .poll(async () => (await issuesAt('attributes')).join(' | '), { timeout: 20_000 })
      .toMatch(/nowhere\.csv does not exist/);
    expect(await page.getByTestId('basins-submit').isDisabled()).toBe(true);
    // a bad option is marked at its field
    await page.getByTestId('basins-opt-zDim').fill('2.5');
    expect(await issuesAt('options.zDim')).toEqual(['embedding size is a whole number']);
    await page.screenshot({ path: join(SHOTS, 'basins-issues.png') });
    await page.getByTestId('basins-attributes').fill('');
  });

  it('runs KGSSL with live progress and shows per-basin NSE, imputation, distances and embeddings', async () => {
    const opts: Record<string, string> = {
      zDim: '3',
      epochs: '4',
      batchesPerEpoch: '2',
      window: '40',
      folds: '3',
      wRegression: '0',
    };
    for (const [k, v] of Object.entries(opts)) await page.getByTestId(`basins-opt-${k}`).fill(v);
    await page.getByTestId('basins-opt-baseline').uncheck();
    await expect
      .poll(() => page.getByTestId('basins-state').textContent(), { timeout: 30_000 })
      .toBe('ready');
    await page.screenshot({ path: join(SHOTS, 'basins-form-ready.png') });
    await page.getByTestId('basins-submit').click();
    // live progress below the Run button (phase, epoch / epochs) while it runs
    await expect
      .poll(() => page.getByTestId('basins-progress').textContent(), { timeout: 60_000 })
      .toMatch(
        /^\s*Run #1: (running · (calibrating|imputation fold \d|transfer) \d+ \/ \d+ · objective [-\d.e]+|succeeded)/,
      );
    await page.screenshot({ path: join(SHOTS, 'basins-running.png') });
    await expect
      .poll(() => page.getByTestId('run-status').first().textContent(), { timeout: 240_000 })
      .toBe('succeeded');

    await page.getByTestId('run-item').first().click();
    await page.getByTestId('basins-detail').waitFor();
    const files = findFiles(tmp.dir, 'result.json');
    expect(files).toHaveLength(1);
    const result = JSON.parse(readFileSync(files[0]!, 'utf8')) as {
      attributes: { names: string[]; values: Array<Array<{ value: number | null }>> };
      embeddings: { codes: string[]; z: number[][] };
      info: {
        reconstruction: { nse: Record<string, number> };
        imputation: { values: Record<string, number[]>; correlation: Record<string, { r: number | null }> };
        distances: { correlation: number };
        transfer: { median: Record<string, number> };
      };
    };
    expect(result.embeddings.codes).toEqual(CODES);

    // per basin: test NSE, and the first attribute known and imputed with the basin left out
    const rows = page.getByTestId('basins-row');
    await expect.poll(() => rows.count()).toBe(3);
    const attr = result.attributes.names[0]!;
    for (let k = 0; k < 3; k++) {
      const cells = await rows.nth(k).locator('th, td').allTextContents();
      expect(cells[0]).toBe(CODES[k]);
      expect(cells[1]).toBe(fmt(result.info.reconstruction.nse[CODES[k]!]!, 3));
      const known = result.attributes.values[k]![0]!.value;
      const imputed = result.info.imputation.values[CODES[k]!]![0]!;
      expect(cells[2]).toBe(known === null ? '—' : fmt(known, 4));
      expect(cells[3]).toBe(imputed === null ? '—' : fmt(imputed, 4));
    }
    expect(
      await page.getByTestId('basins-detail-attribute').locator('option').first().textContent(),
    ).toContain(attr);
    expect(await page.getByTestId('basins-distance-r').textContent()).toBe(
      fmt(result.info.distances.correlation, 3),
    );
    expect(await page.getByTestId('basins-transfer').textContent()).toContain(
      `embedding neighbours ${fmt(result.info.transfer.median.embedding!, 3)}`,
    );

    // the heat map: two 3 × 3 matrices drawn, each diagonal at its smallest distance (0: viridis' dark end)
    const px = await page.getByTestId('basins-heatmap').evaluate((c: HTMLCanvasElement) => {
      const g = c.getContext('2d')!;
      const cell = (c.width - 24) / 6;
      const green = (x: number) => g.getImageData(x, cell / 2, 1, 1).data[1]!;
      return [green(cell / 2), green(3 * cell + 24 + cell / 2), green(cell * 1.5)];
    });
    // viridis' dark end is rgb(68, 1, 84); an off-diagonal cell is lighter
    expect(px[0]).toBeLessThan(10);
    expect(px[1]).toBeLessThan(10);
    expect(px[2]).toBeGreaterThan(px[0]!);

    // the embeddings table is embeddings.csv
    const csv = readFileSync(join(files[0]!, '..', 'embeddings.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe('basin,z1,z2,z3');
    const emb = page.getByTestId('basins-embeddings').locator('tbody tr');
    for (let k = 0; k < 3; k++) {
      const cells = await emb.nth(k).locator('th, td').allTextContents();
      const [code, ...z] = csv[k + 1]!.split(',');
      expect(cells[0]).toBe(code);
      expect(cells.slice(1)).toEqual(z.map((v) => fmt(Number(v), 3)));
    }
    expect(await page.getByTestId('basins-embeddings-file').textContent()).toContain('embeddings.csv');

    await page.screenshot({ path: join(SHOTS, 'basins-run-detail.png') });
    await page.getByTestId('basins-heatmap').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'basins-heatmap.png') });
    expect(problems).toEqual([]);
  });
});

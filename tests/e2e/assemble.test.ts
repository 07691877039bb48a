import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { hasGdal } from '../helpers/gdal';
import { openApp, type E2eApp } from '../helpers/e2e';

/**
 * The dataset assembler's dialog (issue 15) as a user drives it at 1280 x 800: the Lez given as its
 * parts (six descriptors, the prcp and pet folders, the flow-direction GeoTIFF, the gauges folder),
 * each probed as it is added and its role guessed; a wrong input refused by main next to its row;
 * then the assembly with its progress, the new model dataset listed and taken by the Calibrate panel.
 * Screenshots in test-results/e2e/assemble.
 */
const SHOTS = 'test-results/e2e/assemble';
const LEZ = resolve('resources/sample-data/lez');
const DESCRIPTORS = ['slope', 'drainage_density', 'karst', 'woodland', 'urban', 'soil_water_storage'];
let app: E2eApp;
let tmp: E2eApp['tmp'];
let page: Page;
let problems: string[];
let shot = 0;

async function snap(name: string): Promise<void> {
  shot++;
  await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`) });
}

const dialog = () => page.getByTestId('assemble-dialog');
const row = (i: number): Locator => dialog().getByTestId(`asm-row-${i}`);

/** Adds paths through the add box and waits for every probe to answer. */
async function addPaths(paths: string[]): Promise<void> {
  await dialog().getByTestId('asm-add-paths').fill(paths.join('\n'));
  await dialog().getByTestId('asm-add').click();
  await expect
    .poll(() => dialog().getByTestId('asm-found').filter({ hasText: 'probing' }).count(), { timeout: 60_000 })
    .toBe(0);
}

/** Whether an element lies inside the 1280 x 800 window (no scrolling needed to see it). */
async function inView(l: Locator): Promise<boolean> {
  const b = await l.boundingBox();
  return !!b && b.y >= 0 && b.y + b.height <= 800 && b.x >= 0 && b.x + b.width <= 1280;
}

beforeAll(async () => {
  app = await openApp('fieldcal-e2e-asm-', SHOTS);
  ({ tmp, page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

describe.runIf(hasGdal)('assembling a dataset from its parts in Chromium', () => {
  it('probes each part of the Lez as it is added and guesses what it is', async () => {
    await page.getByTestId('project-path').fill(join(tmp.dir, 'lez.fieldcal'));
    await page.getByTestId('project-crs').fill('EPSG:2154');
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('lez');
    await page.getByTestId('assemble-open').click();
    await dialog().waitFor();
    await snap('empty');

    await addPaths([
      ...DESCRIPTORS.map((d) => join(LEZ, 'descriptor', `${d}.tif`)),
      join(LEZ, 'prcp'),
      join(LEZ, 'pet'),
      join(LEZ, 'France_flwdir.tif'),
      LEZ,
    ]);
    expect(await dialog().getByTestId('asm-path').count()).toBe(10);
    const roles = await dialog()
      .getByTestId('asm-role')
      .evaluateAll((els) => els.map((e) => (e as HTMLSelectElement).value));
    // the Lez folder holds no dated rasters: it may be guessed as the gauges or left to the user
    expect(roles.slice(0, 9)).toEqual([...DESCRIPTORS.map(() => 'descriptor'), 'prcp', 'pet', 'flowdir']);
    await row(9).getByTestId('asm-role').selectOption('gauges-smash');
    // each descriptor is named after its file; the folders were read as dated daily stacks
    expect(await row(0).getByTestId('asm-desc-name').inputValue()).toBe('slope');
    expect(await row(6).getByTestId('asm-found').textContent()).toMatch(/365 daily steps 2012-08-01/);
    expect(await row(6).getByTestId('asm-layout').inputValue()).toBe('dated');
    expect(await row(8).getByTestId('asm-found').textContent()).toContain('EPSG:2154');

    // the descriptors and prcp rasters carry no CRS: the dialog says so and offers the project's
    await expect
      .poll(() => dialog().getByTestId('asm-crs-hint').textContent())
      .toContain('7 inputs carry no CRS');
    await dialog().getByTestId('asm-crs-project').click();
    expect(await dialog().getByTestId('asm-dataset-crs').inputValue()).toBe('EPSG:2154');
    expect(await dialog().getByTestId('asm-crs-hint').count()).toBe(0);
    await dialog().getByTestId('asm-name').fill('Lez assembled');
    await dialog().getByTestId('asm-start').fill('2012-08-01');
    await dialog().getByTestId('asm-end').fill('2013-07-31');
    await expect.poll(() => dialog().getByTestId('asm-state').textContent()).toBe('10 inputs · ready');
    expect(await dialog().getByTestId('asm-run').isEnabled()).toBe(true);
    await snap('lez-parts');
  }, 120_000);

  it('shows a refusal next to the input it concerns, and lets it be fixed', async () => {
    const missing = join(tmp.dir, 'nowhere', 'tas.nc');
    await addPaths([missing]);
    // the probe already says the file is not there
    await expect.poll(() => row(10).getByTestId('asm-row-issue').count()).toBeGreaterThan(0);
    expect(await row(10).getByTestId('asm-row-issue').first().textContent()).toContain('nowhere');
    // the form itself blocks until the input is named
    expect(await row(10).getByTestId('asm-row-issue').allTextContents()).toContain('say what this input is');
    expect(await dialog().getByTestId('asm-run').isEnabled()).toBe(false);
    await row(10).getByTestId('asm-role').selectOption('temp');
    await expect.poll(() => dialog().getByTestId('asm-run').isEnabled()).toBe(true);
    // main refuses naming the input: the message shows on that row, the others stay clean
    await dialog().getByTestId('asm-run').click();
    await expect
      .poll(() => row(10).getByTestId('asm-row-issue').count(), { timeout: 60_000 })
      .toBeGreaterThan(1);
    const texts = await row(10).getByTestId('asm-row-issue').allTextContents();
    expect(texts.some((t) => t.includes('tas.nc'))).toBe(true);
    for (let i = 0; i < 10; i++) expect(await row(i).getByTestId('asm-row-issue').count()).toBe(0);
    expect(await inView(row(10).getByTestId('asm-row-issue').last())).toBe(true);
    expect(await inView(dialog().getByTestId('asm-run'))).toBe(true);
    await snap('refused');
    // fixed by removing the input
    await row(10).getByTestId('asm-remove').click();
    await expect.poll(() => dialog().getByTestId('asm-state').textContent()).toBe('10 inputs · ready');
    expect(await dialog().getByTestId('asm-row-issue').count()).toBe(0);
  }, 120_000);

  it('assembles the Lez with a progress bar, lists it and hands it to Calibrate', async () => {
    await dialog().getByTestId('asm-run').click();
    await dialog().getByTestId('asm-progress').waitFor();
    expect(await inView(dialog().getByTestId('asm-progress'))).toBe(true);
    await snap('assembling');
    await dialog().getByTestId('asm-done').waitFor({ timeout: 300_000 });
    const doneText = (await dialog().getByTestId('asm-done').textContent()) ?? '';
    expect(doneText).toContain('Lez assembled');
    expect(await dialog().getByTestId('asm-issues').count()).toBe(0);
    expect(
      await dialog()
        .locator('progress')
        .evaluate((e) => (e as HTMLProgressElement).value),
    ).toBe(1);
    await snap('assembled');

    // what main wrote: the manifest names every input and the period asked for
    const folder = (await dialog().getByTestId('asm-done-path').textContent()) ?? '';
    const manifest = JSON.parse(readFileSync(join(folder, 'fieldcal-dataset.json'), 'utf8')) as {
      name: string;
      step: string;
      start: string;
      end: string;
      crs: string;
      grid: { x0: number; y0: number; dx: number; dy: number; rows: number; cols: number };
      inputs: Array<{ role: string; source: string }>;
    };
    expect([manifest.name, manifest.step, manifest.start.slice(0, 10), manifest.end.slice(0, 10)]).toEqual([
      'Lez assembled',
      'daily',
      '2012-08-01',
      '2013-07-31',
    ]);
    const sources = manifest.inputs.map((i) => i.source);
    for (const d of DESCRIPTORS) expect(sources).toContain(join(LEZ, 'descriptor', `${d}.tif`));
    for (const p of ['prcp', 'pet', 'France_flwdir.tif']) expect(sources).toContain(join(LEZ, p));
    expect(manifest.crs).toBe('EPSG:2154');
    // the assembled rain of the wettest day (29 Sep 2012, up to 63 mm) is GDAL's reading of the source
    // at the same cell centres (same 1 km grid, a window of it: no resampling)
    const day = (root: string, name: string) => join(root, 'prcp', '2012', '09', name);
    const assembled = day(folder, '201209290000_prcp.tif');
    const source = day(LEZ, '201209290000_PT.tif');
    const at = (file: string, x: number, y: number) =>
      Number(
        execFileSync('gdallocationinfo', ['-valonly', '-geoloc', file, String(x), String(y)], {
          encoding: 'utf8',
        }),
      );
    const g = manifest.grid;
    let wet = 0;
    for (const r of [1, Math.floor(g.rows / 2), g.rows - 2])
      for (const c of [1, Math.floor(g.cols / 2), g.cols - 2]) {
        const x = g.x0 + (c + 0.5) * g.dx;
        const y = g.y0 - (r + 0.5) * Math.abs(g.dy);
        const v = at(assembled, x, y);
        expect(v).toBeCloseTo(at(source, x, y), 4);
        if (v > 40) wet++;
      }
    expect(wet).toBeGreaterThan(4);

    // listed as a model dataset of the project, and taken by the Calibrate panel
    await dialog().getByTestId('asm-use').click();
    await expect.poll(() => dialog().count()).toBe(0);
    const listed = page.getByTestId('model-datasets').locator('li');
    await expect.poll(() => listed.count()).toBe(1);
    expect(await listed.first().textContent()).toContain('Lez assembled');
    await expect.poll(() => page.getByTestId('calib-folder').inputValue()).toBe(folder);
    expect(await page.getByTestId('calib-gauges').isChecked()).toBe(true);
    expect(await page.getByTestId('calib-start').inputValue()).toBe('2012-08-01');
    // jobs.check finds nothing to refuse in the assembled folder
    await expect.poll(() => page.getByTestId('calib-state').textContent(), { timeout: 30_000 }).toBe('ready');
    await page.getByTestId('calibrate-panel').scrollIntoViewIfNeeded();
    await snap('calibrate');
    expect(problems).toEqual([]);
  }, 360_000);

  it("assembles a lumped basin CSV, its columns mapped with the lumped section's mapping", async () => {
    const csv = resolve('tests/fixtures/camels-fr/V123521001.csv');
    await page.getByTestId('assemble-open').click();
    await dialog().waitFor();
    await dialog().getByTestId('asm-kind-lumped').check();
    await dialog().getByTestId('asm-lumped-name').fill('Ire lumped');
    await dialog().getByTestId('asm-lumped-add-paths').fill(csv);
    await dialog().getByTestId('asm-lumped-add').click();
    const b = dialog().getByTestId('asm-lumped-row-0');
    // CAMELS-FR's headers are recognised: Qmmd (mm) before Qls (a flow, which needs the area)
    await expect.poll(() => b.getByTestId('asm-lumped-col-Q').inputValue(), { timeout: 30_000 }).toBe('Qmmd');
    expect(await b.getByTestId('asm-lumped-col-P').inputValue()).toBe('Ptot');
    expect(await b.getByTestId('asm-lumped-col-T').inputValue()).toBe('Temp');
    // discharge as a flow asks for the area, and the form blocks until it is given
    await b.getByTestId('asm-lumped-col-Q').selectOption('Qls');
    expect(await b.getByTestId('asm-lumped-unit-Q').inputValue()).toBe('l/s');
    await expect.poll(() => b.getByTestId('asm-lumped-issue-area').count()).toBe(1);
    expect(await dialog().getByTestId('asm-lumped-run').isEnabled()).toBe(false);
    await b.getByTestId('asm-lumped-area').fill('25.38');
    await expect.poll(() => dialog().getByTestId('asm-lumped-state').textContent()).toBe('1 basin · ready');
    await snap('lumped');
    await dialog().getByTestId('asm-lumped-run').click();
    await dialog().getByTestId('asm-lumped-done').waitFor({ timeout: 60_000 });
    const folder = (await dialog().getByTestId('asm-lumped-done-path').textContent()) ?? '';
    const m = JSON.parse(readFileSync(join(folder, 'fieldcal-dataset.json'), 'utf8')) as {
      format: string;
      basins: Array<{ code: string; rows: number; conversions: Array<{ role: string; scale: number }> }>;
    };
    expect(m.format).toBe('fieldcal-lumped-dataset');
    expect(m.basins[0]).toMatchObject({ code: 'V123521001', rows: 7305 });
    // l/s over 25.38 km² to mm per day
    expect(m.basins[0]!.conversions.find((c) => c.role === 'Q')!.scale).toBeCloseTo(86.4 / 25380, 12);
    await expect
      .poll(() => dialog().getByTestId('asm-lumped-state').textContent())
      .toBe('assembled: name it in a lumped or basins run');
    await snap('lumped-assembled');
    expect(problems).toEqual([]);
  }, 120_000);
});

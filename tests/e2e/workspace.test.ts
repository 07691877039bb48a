import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { gdalinfoJson, hasGdal } from '../helpers/gdal';
import { openApp, type E2eApp } from '../helpers/e2e';
import { compareWithBaseline } from '../helpers/visual';

/**
 * The GIS workspace as a user drives it (issue 14's walk-through): a new project, the Lez imported,
 * rasters coloured with legends, the time slider, identify, a catchment as study area, HDA-PR on
 * discharge from the Calibrate panel with its live loss curve, its fields on the map, a hydrograph,
 * two runs compared and the export dialog. A screenshot per step is kept in test-results/e2e/workspace.
 */
const SHOTS = 'test-results/e2e/workspace';
const LEZ = resolve('resources/sample-data/lez');
const gdalEnv = { ...process.env, GDAL_PAM_ENABLED: 'NO' };
let app: E2eApp;
let tmp: E2eApp['tmp'];
let page: Page;
let problems: string[];
let shot = 0;

async function snap(name: string, target: Page | Locator = page): Promise<Buffer> {
  shot++;
  return target.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`) });
}

/** Imports a path with the layers panel's import box and waits for the box to clear. */
async function importPath(path: string): Promise<void> {
  await page.getByTestId('import-path').fill(path);
  await page.getByTestId('import').click();
  await expect.poll(() => page.getByTestId('import-path').inputValue(), { timeout: 60_000 }).toBe('');
  expect(await page.getByTestId('error').count()).toBe(0);
}

/**
 * A screenshot of a stable view for the visual regression: the pointer moved off the map (its
 * readout changes), then shots until two in a row are identical (tiles and charts settled), compared
 * with the committed baseline: under 1.5 % of the pixels may differ beyond pixelmatch's colour
 * threshold (anti-aliasing, a last digit), a real change (colour map, layout, missing layer) does not pass.
 */
async function expectLooksLikeBaseline(name: string, target: Locator): Promise<void> {
  await page.mouse.move(5, 790);
  let prev = await target.screenshot();
  for (let i = 0; i < 10; i++) {
    await page.waitForTimeout(300);
    const next = await target.screenshot();
    if (next.equals(prev)) break;
    prev = next;
  }
  const r = compareWithBaseline(name, prev, { outDir: SHOTS });
  expect(r.diffRatio, `${name}: ${r.diffPixels} pixels differ (${r.diffPath ?? ''})`).toBeLessThan(0.015);
}

/** The layer row whose name is `name`. */
async function layerRowOf(name: string): Promise<{ row: Locator }> {
  const row = page
    .getByTestId('layers')
    .locator('li')
    .filter({ has: page.locator('label.name', { hasText: new RegExp(`^\\s*${name}\\s*$`) }) });
  await expect.poll(() => row.count()).toBe(1);
  return { row };
}

/** Shows only the named layers (unticks the others). */
async function onlyVisible(names: string[]): Promise<void> {
  const all = page.getByTestId('layers').locator('li');
  for (let i = 0; i < (await all.count()); i++) {
    const li = all.nth(i);
    const text = (await li.textContent()) ?? '';
    const box = li.locator('input[type="checkbox"]').first();
    const want = names.some((n) => text.includes(n));
    if ((await box.isChecked()) !== want) await box.click();
  }
}

/** Pixels of the map canvas area that are strongly coloured (not the grey background or the graticule). */
async function colouredShare(): Promise<number> {
  const png = await page.getByTestId('map').screenshot();
  const { PNG } = await import('pngjs');
  const img = PNG.sync.read(png);
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const [r, g, b] = [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
  }
  return n / (img.width * img.height);
}

beforeAll(async () => {
  app = await openApp('fieldcal-e2e-ws-', SHOTS);
  ({ tmp, page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

describe.runIf(hasGdal)('the GIS workspace in Chromium, as a user drives it', () => {
  it('new project, then the Lez imported: descriptors in one step, prcp, pet and gauges', async () => {
    await page.getByTestId('project-path').fill(join(tmp.dir, 'lez.fieldcal'));
    await page.getByTestId('project-crs').fill('EPSG:2154');
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('lez');
    await snap('project');
    await page.getByTestId('import-folder-path').fill(join(LEZ, 'descriptor'));
    await page.getByTestId('import-folder').click();
    await expect.poll(() => page.getByTestId('layers').locator('li').count(), { timeout: 30_000 }).toBe(6);
    for (const p of ['prcp', 'pet']) await importPath(join(LEZ, p));
    await importPath(LEZ);
    await expect.poll(() => page.getByTestId('gauges-panel').locator('li').count()).toBe(3);
    await snap('imported');
  }, 180_000);

  it('draws slope in colour with its legend (units, rounded ticks)', async () => {
    await onlyVisible(['slope']);
    await expect.poll(() => page.getByTestId('legend-item').count(), { timeout: 20_000 }).toBe(1);
    const legend = page.getByTestId('legend-item').first();
    expect(await legend.textContent()).toContain('slope');
    await expect.poll(colouredShare, { timeout: 20_000 }).toBeGreaterThan(0.02);
    await snap('slope');
    // a stable view: the map zoomed to the layer, slope coloured with its legend
    const { row } = await layerRowOf('slope');
    await row.getByRole('button', { name: 'Zoom' }).click();
    await expectLooksLikeBaseline('slope-with-legend', page.locator('.map-area'));
  }, 60_000);

  it('moves the prcp time slider to 2012-10-20', async () => {
    await onlyVisible(['slope', 'prcp']);
    await page.getByTestId('time-slider').waitFor({ timeout: 20_000 });
    // 2012-10-20 is step 80 from 2012-08-01
    await page.getByTestId('time-slider').fill('80');
    await expect
      .poll(() => page.getByTestId('time-date').textContent(), { timeout: 20_000 })
      .toBe('2012-10-20');
    await expect
      .poll(() => page.getByTestId('legend').textContent(), { timeout: 20_000 })
      .toContain('2012-10-20');
    await snap('prcp-2012-10-20');
  }, 60_000);

  it('identifies a cell: its value in every visible layer and the prcp time series', async () => {
    const box = (await page.getByTestId('map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.getByTestId('identify-value').count(), { timeout: 20_000 }).toBe(2);
    const prcp = page.locator('[data-testid="identify-value"][data-name="prcp"]');
    expect(await prcp.textContent()).toContain('2012-10-20');
    await page.getByTestId('identify-chart').locator('canvas').first().waitFor();
    await snap('identify');
  }, 60_000);

  it('values on the map are the file values: identify on ten random cells equals gdallocationinfo', async () => {
    await onlyVisible(['slope']);
    await page.getByTestId('identify-clear').click();
    const box = (await page.getByTestId('map').boundingBox())!;
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    let checked = 0;
    for (let k = 0; k < 40 && checked < 10; k++) {
      await page.mouse.click(
        box.x + box.width * (0.3 + 0.4 * rnd()),
        box.y + box.height * (0.3 + 0.4 * rnd()),
      );
      await expect.poll(() => page.getByTestId('identify-cell').count(), { timeout: 20_000 }).toBe(1);
      const cell = page.getByTestId('identify-cell').first();
      const [x, y, crs] = await Promise.all(
        ['data-x', 'data-y', 'data-crs'].map((a) => cell.getAttribute(a)),
      );
      const v = await cell.locator('[data-testid="identify-value"]').first().getAttribute('data-value');
      const gdal = execFileSync(
        'gdallocationinfo',
        ['-valonly', '-l_srs', crs!, '-geoloc', join(LEZ, 'descriptor/slope.tif'), x!, y!],
        { encoding: 'utf8', env: gdalEnv },
      ).trim();
      await page.getByTestId('identify-clear').click();
      if (gdal === '' || v === '' || Number(gdal) === -99) continue; // outside the raster or nodata
      expect(Number(v)).toBeCloseTo(Number(gdal), 4);
      checked++;
    }
    expect(checked).toBe(10);
  }, 120_000);

  it('reorders layers by drag, keeps style and view, and restores them when the project is reopened', async () => {
    const names = async () =>
      (await page.getByTestId('layers').locator('label.name').allTextContents()).map((t) => t.trim());
    const before = await names();
    const { row: slope } = await layerRowOf('slope');
    const { row: top } = await layerRowOf(before[0]!);
    await slope.locator('[data-testid^="layer-drag-"]').dragTo(top);
    await expect.poll(async () => (await names())[0]).toBe('slope');
    // a style: cividis, manual range 0 .. 1
    await slope.getByRole('button', { name: 'Style' }).click();
    const id = (await slope.getAttribute('data-testid'))!.replace('layer-', '');
    await page.getByTestId(`layer-colormap-${id}`).selectOption('cividis');
    await page.getByTestId(`layer-range-${id}`).selectOption('manual');
    await page.getByTestId(`layer-min-${id}`).fill('0');
    await page.getByTestId(`layer-max-${id}`).fill('1');
    await page.getByTestId(`layer-max-${id}`).blur();
    await slope.getByRole('button', { name: 'Style' }).click();
    await page.waitForTimeout(1500); // the view and styles are saved debounced
    const order = await names();
    // the project-CRS coordinates under the map centre: the saved view
    const box = (await page.getByTestId('map').boundingBox())!;
    const readCentre = async () => {
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      return (await page.getByTestId('position-crs').textContent())!.match(/-?\d+(\.\d+)?/g)!.map(Number);
    };
    const centre = await readCentre();
    await page.getByRole('button', { name: 'Close project' }).click();
    await page.getByTestId('project-path').fill(join(tmp.dir, 'lez.fieldcal'));
    await page.getByTestId('project-open').click();
    await expect
      .poll(() => page.getByTestId('layers').locator('li').count(), { timeout: 20_000 })
      .toBe(order.length);
    expect(await names()).toEqual(order);
    const { row } = await layerRowOf('slope');
    expect(await row.locator('input[type="checkbox"]').first().isChecked()).toBe(true);
    await row.getByRole('button', { name: 'Style' }).click();
    expect(await page.getByTestId(`layer-colormap-${id}`).inputValue()).toBe('cividis');
    expect(await page.getByTestId(`layer-max-${id}`).inputValue()).toBe('1');
    await row.getByRole('button', { name: 'Style' }).click();
    const again = await readCentre();
    expect(Math.abs(again[again.length - 2]! - centre[centre.length - 2]!)).toBeLessThan(100);
    expect(Math.abs(again[again.length - 1]! - centre[centre.length - 1]!)).toBeLessThan(100);
    await snap('reopened');
  }, 90_000);

  it('draws a rectangle study area, undoes and redoes it, saves it and deletes it', async () => {
    await page.getByTestId('area-draw-box').click();
    const box = (await page.getByTestId('map').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.45, { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('area-save').isEnabled()).toBe(true);
    await snap('box-drawn');
    await page.getByTestId('area-undo').click({ timeout: 5000 });
    await snap('box-undone');
    // nothing drawn any more: no draft to save
    await expect.poll(() => page.getByTestId('area-save').count()).toBe(0);
    await page.getByTestId('area-redo').click({ timeout: 5000 });
    await snap('box-redone');
    await expect.poll(() => page.getByTestId('area-save').count()).toBe(1);
    await expect.poll(() => page.getByTestId('area-save').isEnabled()).toBe(true);
    await page.getByTestId('area-name').fill('box A', { timeout: 5000 });
    await page.getByTestId('area-save').click({ timeout: 5000 });
    const list = page.getByTestId('study-areas-panel').locator('li');
    await expect.poll(() => list.count(), { timeout: 20_000 }).toBe(1);
    expect(await list.first().textContent()).toContain('box A');
    // its area on the sphere: a rectangle of about 10 % x 15 % of the map view, several km²
    expect(await list.first().textContent()).toMatch(/\d+(\.\d+)? km²/);
    await snap('drawn-area');
    page.once('dialog', (d) => void d.accept());
    const id = (await list.first().getAttribute('data-testid'))!.replace('study-area-', '');
    await page.getByTestId(`study-area-delete-${id}`).click();
    await expect.poll(() => list.count(), { timeout: 20_000 }).toBe(0);
  }, 60_000);

  it('delineates the catchment above Y3204040 and draws it as the study area', async () => {
    await page.getByTestId('catchment-Y3204040').click();
    await expect
      .poll(() => page.getByTestId('study-areas-panel').locator('li').count(), { timeout: 30_000 })
      .toBe(1);
    expect(await page.getByTestId('study-areas-panel').textContent()).toMatch(/Y3204040/);
    await snap('catchment');
  }, 60_000);

  it('starts HDA-PR on discharge from the Calibrate panel and shows its live loss curve', async () => {
    await page.getByTestId('calib-gauges').check();
    await expect.poll(() => page.getByTestId('calib-method').inputValue()).toBe('hda-pr');
    await page.getByTestId('calib-opt-iterations').fill('40');
    // split sample: calibrate on 2012-08-01 .. 2013-03-31, validate on 2013-04-01 .. 2013-07-31
    await page.getByTestId('calib-valid-from').fill('2013-04-01');
    await expect
      .poll(() => page.getByTestId('calib-state').textContent(), { timeout: 20_000 })
      .toMatch(/ready|no issue/i);
    await page.getByTestId('calib-submit').click();
    await page.getByTestId('loss-curve').first().waitFor({ timeout: 30_000 });
    await snap('hda-pr-running');
    await expect
      .poll(() => page.getByTestId('run-status').first().textContent(), { timeout: 180_000 })
      .toBe('succeeded');
    await page.getByTestId('loss-curve').first().locator('canvas').first().waitFor();
    await snap('hda-pr-done');
  }, 240_000);

  it("puts the run's parameter fields on the map", async () => {
    await page.getByTestId('run-item').first().click();
    await page.getByTestId('run-show-params').click();
    await expect.poll(() => page.getByTestId('legend').textContent(), { timeout: 20_000 }).toMatch(/X1/);
    await snap('parameters');
  }, 60_000);

  it('shows the hydrograph at Y3204010 with observed and simulated discharge and scores', async () => {
    await page.getByTestId('gauge-row-Y3204010').locator('button').first().click();
    await page.getByTestId('hydrograph').waitFor({ timeout: 30_000 });
    await expect
      .poll(() => page.getByTestId('hydrograph-scores').textContent(), { timeout: 30_000 })
      .toMatch(/NSE/);
    await snap('hydrograph');
    await expectLooksLikeBaseline('hydrograph-Y3204010', page.getByTestId('hydrograph'));
  }, 60_000);

  it('runs a second HDA-PR and compares it with the first', async () => {
    await page.getByTestId('calib-seed').fill('2');
    await page.getByTestId('calib-submit').click();
    await expect.poll(() => page.getByTestId('run-item').count(), { timeout: 30_000 }).toBe(2);
    await expect
      .poll(() => page.getByTestId('run-status').nth(1).textContent(), { timeout: 180_000 })
      .toBe('succeeded');
    for (const tid of await page
      .locator('[data-testid^="run-compare-"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid'))))
      if (tid && /run-compare-\d+$/.test(tid)) await page.getByTestId(tid).check();
    await page.getByTestId('run-compare-open').click();
    await page.getByTestId('compare-view').waitFor();
    await expect.poll(() => page.getByTestId('compare-metrics').textContent()).toMatch(/nse/i);
    await snap('compare');
    await expectLooksLikeBaseline('compare-runs', page.getByTestId('compare-view'));
    await page.getByTestId('compare-close').click();
  }, 240_000);

  it('exports the fields from the dialog; gdalinfo reads CRS, nodata and units', async () => {
    await page.getByTestId('run-item').first().click();
    await page.getByTestId('run-export').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.waitFor();
    const out = join(tmp.dir, 'exported');
    mkdirSync(out);
    await page.getByTestId('export-folder').fill(out);
    await page.getByTestId('export-layout-per-field').check();
    await snap('export-dialog');
    await page.getByTestId('export-write').click();
    await expect
      .poll(() => page.getByTestId('export-written').textContent(), { timeout: 30_000 })
      .toMatch(/X1/);
    const files = readdirSync(out).filter((f) => f.endsWith('.tif'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const info = gdalinfoJson(join(out, f));
      expect(info.coordinateSystem?.wkt).toContain('Lambert-93');
      expect(info.bands[0]!.noDataValue).toBe(-9999);
      expect((info.bands[0] as { unit?: string }).unit ?? '').not.toBe('');
    }
    await snap('exported');
    expect(problems).toEqual([]);
  }, 60_000);
});

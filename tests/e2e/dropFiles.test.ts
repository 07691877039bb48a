// Issue 14: native file dialogs and drag-and-drop, as the browser bridge shows them. `fieldcal serve` has no
// dialogs (dialogs.capabilities says so), so no "Browse…" button is shown; a drop on the map shows its
// target, imports a GeoJSON study area (read from the file's contents) and, for rasters, explains that a
// browser cannot see a dropped file's path, with a typed error per item.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { startServe } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

const SHOTS = 'test-results/e2e/drop';
let tmp: ReturnType<typeof tempDir>;
let server: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;

/** A polygon around the Lez at Lavalette, in lon/lat (RFC 7946). */
const AREA = {
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      properties: { name: 'Lez' },
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [3.75, 43.62],
            [3.92, 43.62],
            [3.92, 43.8],
            [3.75, 43.8],
            [3.75, 43.62],
          ],
        ],
      },
    },
  ],
};

/** Fires a drag event with a DataTransfer holding these files on the map's drop zone. */
async function dragFiles(
  type: 'dragenter' | 'dragover' | 'dragleave' | 'drop',
  files: Array<{ name: string; text: string }>,
): Promise<void> {
  await page.evaluate(
    ({ type, files }) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(new File([f.text], f.name));
      const zone = document.querySelector('[data-testid="drop-zone"]')!;
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { type, files },
  );
}

beforeAll(async () => {
  if (!existsSync('out/renderer/index.html')) throw new Error('run `npm run build` before the e2e tests');
  mkdirSync(SHOTS, { recursive: true });
  tmp = tempDir('fieldcal-e2e-drop-');
  ({ url, server } = await startServe(tmp.dir));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.locator('[data-loaded="true"]').waitFor();
});

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  tmp?.cleanup();
});

describe('file dialogs and drops in the browser bridge', () => {
  it('shows no Browse button: main says the bridge has no dialogs', async () => {
    await expect.poll(() => page.getByTestId('project-path').count()).toBe(1);
    expect(await page.getByTestId('project-path-browse').count()).toBe(0);
    await page.getByTestId('project-path').fill(join(tmp.dir, 'drop.fieldcal'));
    await page.getByTestId('project-crs').fill('EPSG:2154');
    await page.getByTestId('project-create').click();
    await page.getByTestId('project-name').waitFor();
    // the inputs are there, their Browse buttons are not
    await page.getByTestId('import-path').waitFor();
    expect(await page.getByTestId('import-folder-path').count()).toBe(1);
    await page.getByTestId('assemble-open').click();
    await page.getByTestId('asm-add-paths').waitFor();
    expect(await page.locator('[data-testid$="-browse"], [data-testid$="-browse-folder"]').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Browse…|Files…|Folders…/ }).count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, '01-assemble-no-browse.png') });
    await page.getByTestId('asm-close').click();
  });

  it('shows a drop target while files are dragged over the map, and hides it when they leave', async () => {
    await dragFiles('dragenter', [{ name: 'slope.tif', text: 'x' }]);
    const target = page.getByTestId('drop-target');
    await target.waitFor();
    expect(await target.textContent()).toContain('Drop to import');
    expect(await target.textContent()).toMatch(/In the browser only GeoJSON study areas import by drop/);
    await page.screenshot({ path: join(SHOTS, '02-drop-target.png') });
    await dragFiles('dragleave', [{ name: 'slope.tif', text: 'x' }]);
    await expect.poll(() => target.count()).toBe(0);
  });

  it('imports a dropped GeoJSON as a study area and explains what it cannot import, item by item', async () => {
    await dragFiles('dragenter', [{ name: 'slope.tif', text: 'x' }]);
    await dragFiles('drop', [
      { name: 'slope.tif', text: 'II*\u0000' },
      { name: 'lez-area.geojson', text: JSON.stringify(AREA) },
      { name: 'basin.shp', text: 'x' },
      { name: 'broken.geojson', text: '{"type": "Feature"' },
    ]);
    const results = page.getByTestId('drop-result');
    await expect.poll(() => results.count(), { timeout: 15_000 }).toBe(4);
    await expect.poll(() => page.getByTestId('drop-report').textContent()).toContain('Dropped on the map');
    const rows = await results.evaluateAll((els) =>
      els.map((e) => ({
        ok: e.getAttribute('data-ok'),
        code: e.getAttribute('data-code'),
        text: e.textContent ?? '',
      })),
    );
    expect(rows.map((r) => [r.ok, r.code])).toEqual([
      ['false', 'UNAVAILABLE'],
      ['true', ''],
      ['false', 'UNSUPPORTED_FORMAT'],
      ['false', 'INVALID_FILE'],
    ]);
    expect(rows[0]!.text).toMatch(/slope\.tif.*cannot see where a dropped file lives.*Type its path/s);
    expect(rows[1]!.text).toContain('saved as the study area lez-area (EPSG:4326)');
    expect(rows[2]!.text).toContain('ogr2ogr -f GeoJSON');
    expect(rows[3]!.text).toContain('not JSON');
    // the area is in the project, listed and selected; the drop target is gone
    await expect
      .poll(() => page.locator('[data-testid^="study-area-"]').filter({ hasText: 'lez-area' }).count())
      .toBe(1);
    expect(await page.getByTestId('drop-target').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, '03-drop-report.png') });
    await page.getByTestId('drop-report-close').click();
    expect(await page.getByTestId('drop-report').count()).toBe(0);
  });
});

describe('Browse buttons where main has dialogs (the bridge socket answers dialogs.* as the desktop app would)', () => {
  it('shows Browse beside the path inputs and fills the input with the chosen path, which then imports', async () => {
    const slope = resolve('resources/sample-data/lez/descriptor/slope.tif');
    const asked: unknown[] = [];
    const desk = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // only dialogs.* is answered here; every other frame goes to the real `fieldcal serve`
    await desk.routeWebSocket(/\/api$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((msg) => {
        const f =
          typeof msg === 'string'
            ? (JSON.parse(msg) as { id: number; service: string; method: string; payload: unknown })
            : null;
        if (f?.service !== 'dialogs') return server.send(msg);
        asked.push(f.payload);
        const value =
          f.method === 'capabilities' ? { open: true, reason: null } : { canceled: false, paths: [slope] };
        ws.send(JSON.stringify({ id: f.id, ok: true, value }));
      });
    });
    // as the preload would: the real path of a dropped file (Electron's webUtils), here by its name
    await desk.addInitScript(
      (paths: Record<string, string>) => {
        (window as unknown as { fieldcalFiles: unknown }).fieldcalFiles = {
          pathForFile: (f: File) => paths[f.name] ?? null,
        };
      },
      { 'karst.tif': resolve('resources/sample-data/lez/descriptor/karst.tif') },
    );
    await desk.goto(url);
    await desk.locator('[data-loaded="true"]').waitFor();
    // the project made above is open in main
    await desk.getByTestId('import-path-browse').waitFor();
    expect(await desk.getByTestId('import-path-browse').textContent()).toBe('Browse…');
    expect(await desk.getByTestId('import-path-browse-folder').count()).toBe(1);
    expect(await desk.getByTestId('import-folder-browse').count()).toBe(1);
    await desk.getByTestId('import-path-browse').click();
    await expect.poll(() => desk.getByTestId('import-path').inputValue()).toBe(slope);
    expect(asked.at(-1)).toEqual({
      title: 'Choose a GeoTIFF or NetCDF to import',
      kind: 'file',
      filters: [
        { name: 'Rasters (GeoTIFF, NetCDF)', extensions: ['tif', 'tiff', 'nc', 'nc4'] },
        { name: 'All files', extensions: ['*'] },
      ],
      multi: false,
    });
    await desk.screenshot({ path: join(SHOTS, '04-browse-layers.png') });
    await desk.getByTestId('import').click();
    await expect.poll(() => desk.getByTestId('layers').textContent(), { timeout: 20_000 }).toContain('slope');
    await desk.getByTestId('assemble-open').click();
    await desk.getByTestId('asm-add-browse').waitFor();
    await desk.getByTestId('asm-add-browse').click();
    await expect.poll(() => desk.getByTestId('asm-path').count()).toBe(1);
    expect(await desk.getByTestId('asm-path').inputValue()).toBe(slope);
    await desk.screenshot({ path: join(SHOTS, '05-browse-assemble.png') });
    await desk.getByTestId('asm-close').click();

    // a raster dropped with its path (as in the desktop app) becomes a layer; one without a path is refused
    await desk.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'karst.tif'));
      dt.items.add(new File(['x'], 'elsewhere.tif'));
      const zone = document.querySelector('[data-testid="drop-zone"]')!;
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const results = desk.getByTestId('drop-result');
    await expect.poll(() => results.count(), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => desk.getByTestId('drop-report').textContent()).toContain('Dropped on the map');
    expect(await results.nth(0).getAttribute('data-ok')).toBe('true');
    expect(await results.nth(0).textContent()).toContain('imported as the layer karst (raster)');
    expect(await results.nth(1).getAttribute('data-code')).toBe('UNAVAILABLE');
    await expect.poll(() => desk.getByTestId('layers').textContent()).toContain('karst');
    await desk.screenshot({ path: join(SHOTS, '06-drop-desktop-raster.png') });
    await desk.close();
  });
});

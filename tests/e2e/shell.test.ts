import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { tempDir } from '../helpers/tmp';

const SHOTS = 'test-results/e2e';
let tmp: ReturnType<typeof tempDir>;
let server: ChildProcess;
let url: string;
let browser: Browser;

/** Starts the README's server command (the built `fieldcal serve`) and reads the URL it prints. */
function startServe(): Promise<string> {
  server = spawn(process.execPath, ['bin/fieldcal.mjs', 'serve', '--port', '0', '--json'], {
    env: { ...process.env, FIELDCAL_USER_DATA: tmp.dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    server.once('exit', (code) => reject(new Error(`fieldcal serve exited with ${code}: ${out}`)));
  });
}

/** Opens the app and collects console errors, page errors and CSP violations. */
async function openApp(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(url);
  // the shell has loaded info, the open project and its content from main
  await page.locator('[data-loaded="true"]').waitFor();
  return { page, problems };
}

beforeAll(async () => {
  if (!existsSync('out/renderer/index.html')) throw new Error('run `npm run build` before the e2e tests');
  mkdirSync(SHOTS, { recursive: true });
  tmp = tempDir('fieldcal-e2e-');
  url = await startServe();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  tmp?.cleanup();
});

describe('the app shell in Chromium through `fieldcal serve`', () => {
  it('prints a loopback URL with a token', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('shows the map, layers panel and a status bar fed live from main', async () => {
    const { page, problems } = await openApp();
    await expect.poll(() => page.getByTestId('status-backend').textContent()).toContain('cpu');
    expect(await page.getByTestId('status-project').textContent()).toContain('none open');
    expect(await page.locator('.ol-viewport canvas').count()).toBeGreaterThan(0);
    const mapBox = await page.getByTestId('map').boundingBox();
    expect(mapBox!.width).toBeGreaterThan(900);
    expect(mapBox!.height).toBeGreaterThan(600);
    await page.screenshot({ path: join(SHOTS, 'shell-start.png') });

    // Create a project through the UI: the call goes over the WebSocket to the project service.
    const path = join(tmp.dir, 'e2e.fieldcal');
    await page.getByTestId('project-path').fill(path);
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('status-project').textContent()).toContain(path);
    expect(await page.getByTestId('project-name').textContent()).toBe('e2e');
    expect(await page.getByTestId('layers-empty').isVisible()).toBe(true);
    expect(existsSync(path)).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'shell-project.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('imports a raster and a stack through the UI and outlines them on the map', async () => {
    const { page, problems } = await openApp();
    await expect.poll(() => page.getByTestId('status-backend').textContent()).toContain('cpu');
    if (await page.getByRole('button', { name: 'Close project' }).isVisible()) {
      await page.getByRole('button', { name: 'Close project' }).click();
    }
    await page.getByTestId('project-path').fill(join(tmp.dir, 'lez.fieldcal'));
    await page.getByTestId('project-crs').fill('EPSG:2154');
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('lez');
    for (const p of ['resources/sample-data/lez/descriptor/slope.tif', 'resources/sample-data/lez/prcp']) {
      await page.getByTestId('import-path').fill(resolve(p));
      await page.getByTestId('import').click();
      // a 365-file stack takes a while on a loaded machine
      await expect.poll(() => page.getByTestId('import-path').inputValue(), { timeout: 30_000 }).toBe('');
    }
    const items = page.getByTestId('layers').locator('li');
    await expect.poll(() => items.count()).toBe(2);
    // the layers panel lists the top layer first: the stack imported last is on top
    expect(await items.nth(1).textContent()).toContain('raster · EPSG:2154 · 14 x 27');
    expect(await items.nth(0).textContent()).toContain(
      'stack · EPSG:2154 · 14 x 27 · 365 steps from 2012-08-01',
    );
    // the map zoomed to the Lez: the pointer readout over the map centre is near 3.9 E, 43.7 N
    const box = (await page.getByTestId('map').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const [lon, lat] = (await page.locator('.position').textContent())!.split(',').map(Number) as [
      number,
      number,
    ];
    expect(Math.abs(lon - 3.9)).toBeLessThan(0.15);
    expect(Math.abs(lat - 43.72)).toBeLessThan(0.15);
    await page.screenshot({ path: join(SHOTS, 'shell-import.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('lists a run recorded by `fieldcal evaluate --project` and shows its report', async () => {
    const { page, problems } = await openApp();
    await expect.poll(() => page.getByTestId('status-backend').textContent()).toContain('cpu');
    if (await page.getByRole('button', { name: 'Close project' }).isVisible()) {
      await page.getByRole('button', { name: 'Close project' }).click();
    }
    const project = join(tmp.dir, 'eval.fieldcal');
    await page.getByTestId('project-path').fill(project);
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('eval');
    // the CLI records an evaluation run in the same project file while the server has it open
    const cli = spawnSync(
      process.execPath,
      [
        'bin/fieldcal.mjs',
        'evaluate',
        '--obs',
        'resources/sample-data/lez/pet',
        '--sim',
        'resources/sample-data/lez/pet',
        '--out',
        join(tmp.dir, 'eval-report'),
        '--units',
        'mm/day',
        '--project',
        project,
        '--json',
      ],
      { encoding: 'utf8' },
    );
    expect(cli.status, cli.stderr).toBe(0);
    await page.getByRole('button', { name: 'Close project' }).click();
    await page.getByTestId('project-path').fill(project);
    await page.getByTestId('project-open').click();
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(1);
    expect(await page.getByTestId('run-item').textContent()).toContain('succeeded');
    await page.getByTestId('run-item').click();
    await expect.poll(() => page.getByTestId('run-metrics').textContent()).toContain('mean_ssim');
    const report = page.frameLocator('[data-testid="run-report"]');
    await expect.poll(() => report.locator('h1').textContent()).toContain('Evaluation of');
    // every image of the report loaded through the bridge's artifact route
    await expect
      .poll(() =>
        report
          .locator('img')
          .evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length),
      )
      .toBe(await report.locator('img').count());
    await page.screenshot({ path: join(SHOTS, 'run-report.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('runs a calibration from the Calibrate panel: live progress, result, refusal and cancel', async () => {
    const { page, problems } = await openApp();
    await expect.poll(() => page.getByTestId('status-backend').textContent()).toContain('cpu');
    if (await page.getByRole('button', { name: 'Close project' }).isVisible()) {
      await page.getByRole('button', { name: 'Close project' }).click();
    }
    await page.getByTestId('project-path').fill(join(tmp.dir, 'calib.fieldcal'));
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('calib');
    // the methods come from main's registry
    expect(await page.getByTestId('calib-method').locator('option').allTextContents()).toEqual([
      'sce-ua',
      'gradient',
      'ann',
      'dpl',
      'gan-po',
    ]);
    // the options form comes from the method's JSON Schema: bad values are refused next to their field
    await page.getByTestId('calib-method').selectOption('ann');
    expect(await page.getByTestId('calib-opt-iterations').inputValue()).toBe('150');
    await page.getByTestId('calib-opt-hidden').fill('[16,');
    await expect
      .poll(() => page.getByTestId('calib-opt-error-hidden').textContent())
      .toContain('not valid JSON');
    await page.getByTestId('calib-opt-hidden').fill('[16, 16]');
    await page.getByTestId('calib-opt-iterations').fill('0');
    await expect
      .poll(() => page.getByTestId('calib-opt-error-iterations').textContent())
      .toBe('must be at least 1');
    expect(await page.getByTestId('calib-submit').isDisabled()).toBe(true);
    // what only main knows (jobs.check) shows next to its field, and Run waits until it is fixed
    await page.getByTestId('calib-opt-iterations').fill('20');
    await page.getByTestId('calib-rows').fill('2');
    await expect.poll(() => page.getByTestId('calib-issue-twin.rows').textContent()).toMatch(/>=\s*4/);
    expect(await page.getByTestId('calib-submit').isDisabled()).toBe(true);
    expect(await page.getByTestId('run-item').count()).toBe(0);
    // a small twin with the ANN runs to the end and its evaluation shows
    await page.getByTestId('calib-rows').fill('6');
    await page.getByTestId('calib-cols').fill('6');
    await page.getByTestId('calib-opt-validEvery').fill('5');
    await expect.poll(() => page.getByTestId('calib-state').textContent()).toBe('ready');
    await page.getByTestId('calib-submit').click();
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(1);
    await expect
      .poll(() => page.getByTestId('run-status').first().textContent(), { timeout: 60_000 })
      .toBe('succeeded');
    await page.getByTestId('run-item').first().click();
    await expect.poll(() => page.getByTestId('run-metrics').textContent()).toContain('spatialRmse');
    // its loss curve: one point per recorded iteration
    await expect
      .poll(async () => Number(await page.getByTestId('loss-curve').first().getAttribute('data-points')))
      .toBeGreaterThan(0);
    await page.getByTestId('run-close').click();
    // a long dPL run streams its progress, and Cancel stops it at the next iteration
    await page.getByTestId('calib-method').selectOption('dpl');
    // the surrogate settings are a folded section of their own fields, checked as the others, shown
    // only when h() is a surrogate, with only that network's settings
    const surrogate = page.getByTestId('calib-opt-group-surrogate');
    const members = page.getByTestId('calib-opt-surrogate.members');
    await expect.poll(() => page.getByTestId('calib-opt-physics').inputValue()).toBe('exact');
    await expect.poll(() => surrogate.count()).toBe(0);
    await expect.poll(() => page.getByTestId('calib-opt-updateEvery').count()).toBe(0);
    await page.getByTestId('calib-opt-physics').selectOption('lstm');
    await expect.poll(() => surrogate.count()).toBe(1);
    expect(await surrogate.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    expect(await members.isVisible()).toBe(false);
    await surrogate.locator('summary').click();
    expect(await members.inputValue()).toBe('400');
    await expect.poll(() => page.getByTestId('calib-opt-surrogate.hidden').count()).toBe(1);
    await expect.poll(() => page.getByTestId('calib-opt-surrogate.features').count()).toBe(0);
    await members.fill('2');
    await expect
      .poll(() => page.getByTestId('calib-opt-error-surrogate.members').textContent())
      .toBe('must be at least 3');
    await expect
      .poll(() => page.getByTestId('calib-state').textContent())
      .toBe('fix the options marked in red');
    await page.screenshot({ path: join(SHOTS, 'calibrate-surrogate-settings.png') });
    // back to the exact model: the surrogate's settings go, and so does their error
    await page.getByTestId('calib-opt-physics').selectOption('exact');
    await expect.poll(() => surrogate.count()).toBe(0);
    await expect.poll(() => page.getByTestId('calib-state').textContent()).toBe('ready');
    await page.getByTestId('calib-opt-epochs').fill('1000');
    await expect.poll(() => page.getByTestId('calib-state').textContent()).toBe('ready');
    await page.getByTestId('calib-submit').click();
    await expect.poll(() => page.getByTestId('run-item').count()).toBe(2);
    await expect
      .poll(() => page.getByTestId('run-progress').textContent(), { timeout: 60_000 })
      .toMatch(/\d+ \/ \d+/);
    // progress and Cancel are always in the top bar too
    await expect.poll(() => page.getByTestId('jobs-bar').textContent()).toMatch(/#2 dpl/);
    await page.screenshot({ path: join(SHOTS, 'calibrate-progress.png') });
    await page.getByTestId('job-cancel-2').click();
    await expect
      .poll(() => page.getByTestId('run-status').nth(1).textContent(), { timeout: 60_000 })
      .toBe('cancelled');
    expect(await page.getByTestId('run-progress').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);

  it('shows the typed error when the user opens a file that is not a project', async () => {
    const { page } = await openApp();
    await expect.poll(() => page.getByTestId('status-backend').textContent()).toContain('cpu');
    // The server keeps the project from the previous test open; close it first.
    if (await page.getByRole('button', { name: 'Close project' }).isVisible()) {
      await page.getByRole('button', { name: 'Close project' }).click();
    }
    const bogus = join(tmp.dir, 'notes.fieldcal');
    writeFileSync(bogus, 'just some notes, not a database\n'.repeat(10));
    await page.getByTestId('project-path').fill(bogus);
    await page.getByTestId('project-open').click();
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('PROJECT_NOT_SQLITE');
    expect(await page.getByTestId('error').textContent()).toContain(bogus);
    await page.screenshot({ path: join(SHOTS, 'shell-error.png') });
    await page.close();
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { writeGeoTiff } from '../src-main/services/rasters/writeGeoTiff';
import { launchChromium } from '../tests/helpers/browser';
import { tempDir } from '../tests/helpers/tmp';
import { machine, median } from './stats';

/** A smooth field with structure at several scales (so the percentile stretch has work to do). */
function field(rows: number, cols: number, phase: number): Float32Array {
  const a = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++)
      a[r * cols + c] =
        10 + 5 * Math.sin((r + phase) / 37) * Math.cos(c / 53) + 2 * Math.sin((r * c) / 9000 + phase);
  return a;
}

/** Starts the built `fieldcal serve` on a free port and returns its URL. */
function serve(userData: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['bin/fieldcal.mjs', 'serve', '--port', '0', '--json'], {
    env: { ...process.env, FIELDCAL_USER_DATA: userData },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n'))
        resolve({ url: (JSON.parse(out.split('\n')[0]!) as { url: string }).url, proc });
    });
    proc.once('exit', (code) => reject(new Error(`fieldcal serve exited with ${code}`)));
  });
}

/** Milliseconds from `since` to the renderer's next `fieldcal:raster-frame` mark (a frame drawn with new data). */
async function nextFrame(page: Page, since: number, timeoutMs = 30_000): Promise<number> {
  const handle = await page.waitForFunction(
    (t0) => {
      const m = performance.getEntriesByName('fieldcal:raster-frame').filter((e) => e.startTime >= t0);
      return m.length ? m[m.length - 1]!.startTime - t0 : null;
    },
    since,
    { timeout: timeoutMs, polling: 'raf' },
  );
  return (await handle.jsonValue()) as number;
}

/**
 * `npm run bench -- ui`: in Chromium through `fieldcal serve`, the time from clicking Import on a
 * 1000 x 1000 Float32 GeoTIFF to its first coloured frame (target <= 1 s), and per time-slider step on
 * a 256 x 256 x 365 stack (target <= 100 ms), from the renderer's own performance marks.
 */
export async function uiBench(): Promise<Record<string, unknown>> {
  if (!existsSync('out/renderer/index.html')) throw new Error('run `npm run build` first');
  const tmp = tempDir('fieldcal-bench-ui-');
  const grid = (n: number) => ({
    crs: 'EPSG:2154',
    x0: 700_000,
    y0: 6_300_000,
    dx: 100,
    dy: 100,
    rows: n,
    cols: n,
    mask: null,
  });
  const big = join(tmp.dir, 'big.tif');
  await writeGeoTiff({ path: big, grid: grid(1000), bands: [{ data: field(1000, 1000, 0), units: 'mm' }] });
  const stackDir = join(tmp.dir, 'stack');
  for (let d = 0; d < 365; d++) {
    const date = new Date(Date.UTC(2020, 0, 1 + d));
    const ymd = date.toISOString().slice(0, 10).replaceAll('-', '');
    const dir = join(stackDir, ymd.slice(0, 4), ymd.slice(4, 6));
    mkdirSync(dir, { recursive: true });
    await writeGeoTiff({
      path: join(dir, `${ymd}0000_X.tif`),
      grid: grid(256),
      bands: [{ data: field(256, 256, d) }],
    });
  }
  const { url, proc } = await serve(tmp.dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    await page.locator('[data-loaded="true"]').waitFor();
    await page.getByTestId('project-path').fill(join(tmp.dir, 'bench.fieldcal'));
    await page.getByTestId('project-crs').fill('EPSG:2154');
    await page.getByTestId('project-create').click();
    await page.getByTestId('layers-empty').waitFor();

    // import -> first coloured frame, 1000 x 1000 Float32
    await page.getByTestId('import-path').fill(big);
    const t0 = await page.evaluate(() => performance.now());
    await page.getByTestId('import').click();
    const firstFrameMs = await nextFrame(page, t0);

    // the stack: import, then step the slider
    await page.getByTestId('import-path').fill(stackDir);
    await page.getByTestId('import').click();
    await page.getByTestId('time-slider').waitFor({ timeout: 60_000 });
    await nextFrame(page, 0);
    const steps: number[] = [];
    const reads: number[] = [];
    const stepOnce = async () => {
      // clicked inside the page, so the time excludes the automation's own round trips
      const t = await page.evaluate(() => {
        const t0 = performance.now();
        document.querySelector<HTMLButtonElement>('[data-testid="time-next"]')!.click();
        return t0;
      });
      const ms = await nextFrame(page, t);
      reads.push(
        await page.evaluate((t0) => {
          const m = performance.getEntriesByName('fieldcal:raster-read').filter((e) => e.startTime >= t0);
          return m.length ? m[m.length - 1]!.startTime - t0 : -1;
        }, t),
      );
      return ms;
    };
    for (let i = 0; i < 30; i++) steps.push(await stepOnce());
    // the stack alone on the map (the big raster hidden): what one layer's step costs
    const bigRow = page.getByTestId('layers').locator('li').filter({ hasText: 'big' });
    await bigRow.locator('input[type="checkbox"]').first().click();
    const alone: number[] = [];
    for (let i = 0; i < 15; i++) alone.push(await stepOnce());
    // what draws WebGL in this browser: a software rasteriser makes the renderer draw rasters on a 2D canvas
    const webglRenderer = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const info = gl?.getExtension('WEBGL_debug_renderer_info');
      const name = gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'none';
      gl?.getExtension('WEBGL_lose_context')?.loseContext();
      return name;
    });
    return {
      machine: machine(),
      raster: '1000 x 1000 Float32 GeoTIFF (DEFLATE)',
      import_to_first_coloured_frame_ms: Math.round(firstFrameMs),
      stack: '256 x 256 x 365 daily GeoTIFFs',
      slider_step_ms_median: Math.round(median(steps)),
      slider_step_ms_max: Math.round(Math.max(...steps)),
      slider_steps_measured: steps.length,
      slider_step_read_returned_ms_median: Math.round(median(reads.slice(0, steps.length))),
      slider_step_stack_alone_ms_median: Math.round(median(alone)),
      webgl_renderer: webglRenderer,
      targets: { import_to_first_coloured_frame_ms: 1000, slider_step_ms: 100 },
      note: 'times from a click inside the page to the renderer mark fieldcal:raster-frame (the first postrender of the raster layer after new data was loaded into it); read_returned is when rasters.read answered in the page. Where WebGL is a software rasteriser (SwiftShader, llvmpipe: no GPU) rasters are drawn on a 2D canvas (lib/map/rasterCanvas.ts), since there each WebGL frame cost 250-400 ms of CPU; elsewhere on WebGL tiles',
    };
  } finally {
    await browser.close();
    proc.kill('SIGTERM');
    tmp.cleanup();
  }
}

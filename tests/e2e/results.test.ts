import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openApp, type E2eApp } from '../helpers/e2e';

/**
 * A gridded run's results on the map: a small twin calibrated from the panel, then its simulated
 * target stepped with the time slider, observed − simulated on the slider's day, the metric maps and
 * the true fields, each checked against the values the run wrote (identify reads the files).
 */
const SHOTS = 'test-results/e2e/results';
let app: E2eApp;
let tmp: E2eApp['tmp'];
let page: Page;
let problems: string[];

beforeAll(async () => {
  app = await openApp('fieldcal-e2e-res-', SHOTS);
  ({ tmp, page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

/** The identify rows of the first picked cell, by layer name. */
async function identified(): Promise<Record<string, number | null>> {
  const rows = page.getByTestId('identify-cell').first().locator('[data-testid="identify-value"]');
  const out: Record<string, number | null> = {};
  for (let i = 0; i < (await rows.count()); i++) {
    const r = rows.nth(i);
    const v = await r.getAttribute('data-value');
    out[(await r.getAttribute('data-name'))!] = v === '' || v === null ? null : Number(v);
  }
  return out;
}

describe("a gridded run's results on the map", () => {
  it('calibrates a 6 x 6 twin with the ANN from the panel', async () => {
    await page.getByTestId('project-path').fill(join(tmp.dir, 'twin.fieldcal'));
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('twin');
    await page.getByTestId('calib-twin').check();
    await page.getByTestId('calib-rows').fill('6');
    await page.getByTestId('calib-cols').fill('6');
    await page.getByTestId('calib-method').selectOption('ann');
    await page.getByTestId('calib-opt-iterations').fill('20');
    await expect.poll(() => page.getByTestId('calib-submit').isEnabled(), { timeout: 20_000 }).toBe(true);
    await page.getByTestId('calib-submit').click();
    await expect
      .poll(() => page.getByTestId('run-status').first().textContent(), { timeout: 120_000 })
      .toBe('succeeded');
    await page.getByTestId('run-item').first().click();
    await page.getByTestId('run-detail').waitFor();
  }, 180_000);

  it('steps the simulated target with the time slider and shows observed − simulated on that day', async () => {
    await page.getByTestId('run-show-simulated').click();
    await page.getByTestId('time-slider').waitFor({ timeout: 20_000 });
    await page.getByTestId('run-show-residuals').click();
    await page.getByRole('button', { name: 'observed_ET' }).click();
    await expect.poll(() => page.getByTestId('legend-item').count(), { timeout: 20_000 }).toBe(3);
    // the slider keeps the run's three stacks on one day
    for (let k = 0; k < 3; k++) await page.getByTestId('time-next').click();
    const day = (await page.getByTestId('time-date').textContent())!;
    await expect
      .poll(async () => (await page.getByTestId('legend-date').allTextContents()).map((t) => t.trim()), {
        timeout: 20_000,
      })
      .toEqual([day, day, day]);
    await page.getByTestId('run-close').click();
    // the map went to the run's grid: its centre is a cell of the twin
    const box = (await page.getByTestId('map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.getByTestId('identify-value').count(), { timeout: 20_000 }).toBe(3);
    const v = await identified();
    const get = (pattern: RegExp) => Object.entries(v).find(([k]) => pattern.test(k))?.[1] ?? null;
    const obs = get(/observed_ET$/);
    const sim = get(/simulated_ET$/);
    const diff = get(/observed − simulated/);
    expect(obs).not.toBeNull();
    expect(sim).not.toBeNull();
    // identify reads the files: the difference layer is the observed minus the simulated value of that day
    expect(diff!).toBeCloseTo(obs! - sim!, 5);
    await page.screenshot({ path: join(SHOTS, 'obs-minus-sim.png') });
  }, 90_000);

  it('shows the metric maps and the true fields', async () => {
    await page.getByTestId('run-item').first().click();
    await page.getByTestId('run-show-metrics').click();
    await expect.poll(() => page.getByTestId('legend').textContent(), { timeout: 20_000 }).toMatch(/metric_/);
    await page.getByTestId('run-show-truth').click();
    await expect.poll(() => page.getByTestId('legend').textContent(), { timeout: 20_000 }).toMatch(/truth_/);
    await page.screenshot({ path: join(SHOTS, 'metrics-truth.png') });
    expect(problems).toEqual([]);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openApp, type E2eApp } from '../helpers/e2e';

/**
 * A sweep from the Calibrate panel (issue 18): a 4 x 4 twin calibrated with `gradient` (2 iterations)
 * over both objectives x 2 seeds = 4 children; the sweep view follows the children to the end and its
 * table names the winner, which must be the best row by the selection rule and match the child's own
 * recorded metric (its run detail). Screenshots at 1280 x 800 in test-results/e2e/sweep.
 */
const SHOTS = 'test-results/e2e/sweep';
let app: E2eApp;
let tmp: E2eApp['tmp'];
let page: Page;
let problems: string[];

beforeAll(async () => {
  app = await openApp('fieldcal-e2e-sweep-', SHOTS);
  ({ tmp, page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

/** The text of every cell of a column of the sweep table, in the rows' order on screen. */
const column = (key: string) =>
  page.getByTestId('sweep-table').locator(`td[data-col="${key}"]`).allTextContents();

describe('a sweep from the Calibrate panel', () => {
  it('builds a 4-child sweep of a small twin and checks it inline', async () => {
    await page.getByTestId('project-path').fill(join(tmp.dir, 'sweep.fieldcal'));
    await page.getByTestId('project-create').click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('sweep');
    await page.getByTestId('calib-twin').check();
    await page.getByTestId('calib-rows').fill('4');
    await page.getByTestId('calib-cols').fill('4');
    await page.getByTestId('calib-method').selectOption('gradient');
    await page.getByTestId('calib-opt-iterations').fill('2');
    await page.getByTestId('calib-mode-sweep').check();
    await expect.poll(() => page.getByTestId('sweep-count').textContent()).toMatch(/^1 child/);
    // an enum is offered with all its choices
    await page.getByTestId('sweep-add').selectOption('objective');
    expect(await page.getByTestId('sweep-values-objective').inputValue()).toBe('spatial-rmse, cell-mse');
    // a value out of the option's bounds is refused next to it, and nothing can be sent
    await page.getByTestId('sweep-add').selectOption('iterations');
    await page.getByTestId('sweep-values-iterations').fill('2, 0');
    await expect
      .poll(() => page.getByTestId('sweep-issue-grid.options.iterations').textContent())
      .toBe('0: must be at least 1');
    expect(await page.getByTestId('sweep-start').isDisabled()).toBe(true);
    await page.getByTestId('sweep-remove-iterations').click();
    await page.getByTestId('sweep-seeds').fill('1, 2');
    await page.getByTestId('sweep-concurrency').fill('2');
    await expect.poll(() => page.getByTestId('sweep-count').textContent()).toMatch(/^4 children · best max/);
    await expect.poll(() => page.getByTestId('sweep-start').isEnabled(), { timeout: 20_000 }).toBe(true);
    // main refuses a child it would not run (no such dataset): the issue shows next to the datasets list
    await page.getByTestId('sweep-datasets').fill(join(tmp.dir, 'no-such-folder'));
    await page.getByTestId('sweep-start').click();
    await expect
      .poll(() => page.getByTestId('sweep-issue-datasets').first().textContent(), { timeout: 20_000 })
      .toMatch(/^child 1: /);
    expect(await page.getByTestId('sweep-view').count()).toBe(0);
    // editing the list clears main's issue
    await page.getByTestId('sweep-datasets').fill('');
    await expect.poll(() => page.getByTestId('sweep-issue-datasets').count()).toBe(0);
    await expect.poll(() => page.getByTestId('sweep-count').textContent()).toMatch(/^4 children/);
    await page.getByTestId('calibrate-panel').screenshot({ path: join(SHOTS, '01-panel.png') });
  }, 60_000);

  it('starts it and follows the 4 children to a table with a winner', async () => {
    await page.getByTestId('sweep-start').click();
    await page.getByTestId('sweep-view').waitFor();
    await expect.poll(() => page.getByTestId('sweep-row').count(), { timeout: 20_000 }).toBe(4);
    await page.screenshot({ path: join(SHOTS, '02-started.png') });
    await expect
      .poll(() => page.getByTestId('sweep-done').textContent(), { timeout: 240_000 })
      .toBe('4 / 4 done');
    await expect
      .poll(() => page.getByTestId('sweep-row').evaluateAll((rs) => rs.map((r) => r.dataset.status)), {
        timeout: 20_000,
      })
      .toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    await expect.poll(() => page.getByTestId('sweep-winner').count(), { timeout: 20_000 }).toBe(1);
    expect(await column('status')).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    // the grid as asked: both objectives, each with both seeds
    const objectives = await column('value:options.objective');
    const seeds = await column('seed');
    expect(objectives.map((o, i) => `${o}/${seeds[i]}`).sort()).toEqual([
      'cell-mse/1',
      'cell-mse/2',
      'spatial-rmse/1',
      'spatial-rmse/2',
    ]);
    await page.screenshot({ path: join(SHOTS, '03-done.png') });
  }, 300_000);

  it('highlights the best row by the selection rule, and sorts by it', async () => {
    const key = 'metric:valid.medianCellKge';
    const values = (await column(key)).map(Number);
    expect(values.every(Number.isFinite)).toBe(true);
    const winner = page.locator('[data-testid="sweep-row"][data-winner="true"]');
    expect(await winner.count()).toBe(1);
    expect(Number(await winner.locator(`td[data-col="${key}"]`).textContent())).toBe(Math.max(...values));
    // sorting by the selection metric puts the winner first (best first for a maximised metric)
    await page.getByTestId(`sweep-sort-${key}`).click();
    const sorted = (await column(key)).map(Number);
    expect(sorted).toEqual([...values].sort((a, b) => b - a));
    expect(await page.getByTestId('sweep-row').first().getAttribute('data-winner')).toBe('true');
    await page.getByTestId(`sweep-sort-${key}`).click();
    expect((await column(key)).map(Number)).toEqual([...values].sort((a, b) => a - b));
    await page.screenshot({ path: join(SHOTS, '04-sorted.png') });
  }, 60_000);

  it("opens the winner's run detail with the same metric, and the sweep again from the runs list", async () => {
    const key = 'metric:valid.medianCellKge';
    const winner = page.locator('[data-testid="sweep-row"][data-winner="true"]');
    const shown = Number(await winner.locator(`td[data-col="${key}"]`).textContent());
    await winner.click();
    await page.getByTestId('run-detail').waitFor();
    const row = page
      .getByTestId('run-metrics')
      .locator('tr')
      .filter({ has: page.locator('th', { hasText: /^medianCellKge$/ }) })
      .filter({ has: page.locator('td', { hasText: /^valid$/ }) });
    await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(1);
    const recorded = Number(await row.locator('td').last().textContent());
    expect(recorded).toBeCloseTo(shown, 3);
    await page.screenshot({ path: join(SHOTS, '05-child.png') });
    await page.getByTestId('run-close').click();
    await page.getByTestId('sweep-close').click();
    expect(await page.getByTestId('sweep-view').count()).toBe(0);
    // the parent run is listed as method sweep and opens the view
    const parent = page.getByTestId('run-item').filter({ hasText: /sweep/ });
    await expect.poll(() => parent.count()).toBe(1);
    await parent.click();
    await expect.poll(() => page.getByTestId('sweep-row').count(), { timeout: 20_000 }).toBe(4);
    expect(problems).toEqual([]);
  }, 60_000);
});

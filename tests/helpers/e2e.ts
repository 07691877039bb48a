import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { startServe } from './serve';
import { tempDir } from './tmp';

/** The app as an e2e test drives it: `fieldcal serve` on a temporary user folder, Chromium at 1280 × 800. */
export interface E2eApp {
  tmp: ReturnType<typeof tempDir>;
  url: string;
  server: ChildProcess;
  browser: Browser;
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  problems: string[];
  close(): Promise<void>;
}

/**
 * Starts the built app (`npm run build` first) on a fresh temporary folder named by `prefix`, opens it
 * in Chromium at 1280 × 800 once it has loaded, and creates `shots` for the test's screenshots.
 */
export async function openApp(prefix: string, shots: string): Promise<E2eApp> {
  if (!existsSync('out/renderer/index.html')) throw new Error('run `npm run build` before the e2e tests');
  mkdirSync(shots, { recursive: true });
  const tmp = tempDir(prefix);
  const { url, server } = await startServe(tmp.dir);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(url);
  await page.locator('[data-loaded="true"]').waitFor();
  return {
    tmp,
    url,
    server,
    browser,
    page,
    problems,
    close: async () => {
      await browser.close();
      server.kill('SIGTERM');
      tmp.cleanup();
    },
  };
}

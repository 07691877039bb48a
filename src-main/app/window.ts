import { app, BrowserWindow } from 'electron';
import { join } from 'node:path';
import { APP_ENTRY_URL, APP_ORIGIN, isSameOrigin } from './security';

/** The dev server's URL in `electron-vite dev`; never honoured by a packaged app. */
function devServerUrl(): string | null {
  const dev = process.env.ELECTRON_RENDERER_URL;
  return dev && !app.isPackaged ? dev : null;
}

/** URL of the renderer: the dev server in `electron-vite dev`, `app://fieldcal/index.html` otherwise. */
export function rendererUrl(): string {
  return devServerUrl() ?? APP_ENTRY_URL;
}

/** The renderer's origin: `app://fieldcal`, or the dev server's. */
export function appOrigin(): string {
  const dev = devServerUrl();
  return dev ? new URL(dev).origin : APP_ORIGIN;
}

/** The built renderer served by the `app://` protocol (out/renderer, beside out/main). */
export function rendererRoot(): string {
  return join(import.meta.dirname, '../renderer');
}

/** True when a frame belongs to the app's own page (same origin as {@link rendererUrl}). */
export function isAppUrl(url: string): boolean {
  return isSameOrigin(url, appOrigin());
}

/**
 * The main window: isolated, sandboxed renderer with no Node access. Navigation, new windows and
 * permissions are guarded for every web contents by `guards.ts` (installed before any exists).
 */
export function createMainWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'Fieldcal',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(rendererUrl());
  return win;
}

import { BrowserWindow, shell, type WebContents } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** URL of the renderer: the dev server in `electron-vite dev`, the built file otherwise. */
export function rendererUrl(): string {
  const dev = process.env.ELECTRON_RENDERER_URL;
  return dev ?? pathToFileURL(join(import.meta.dirname, '../renderer/index.html')).href;
}

/** True when a frame belongs to the app's own page (same origin as {@link rendererUrl}). */
export function isAppUrl(url: string): boolean {
  const app = new URL(rendererUrl());
  try {
    const u = new URL(url);
    return app.protocol === 'file:'
      ? u.protocol === 'file:' && u.pathname === app.pathname
      : u.origin === app.origin;
  } catch {
    return false;
  }
}

/** Refuses navigation away from the app and new windows; http(s) links open in the system browser. */
function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!isAppUrl(url)) e.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

/** The main window: isolated, sandboxed renderer with no Node access. */
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
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  });
  lockDown(win.webContents);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(rendererUrl());
  return win;
}

import { app, BrowserWindow, dialog, shell, type Session, type WebContents } from 'electron';
import { externalDecision, navigationAllowed, permissionAllowed } from './security';

/**
 * Opens `url` in the system browser only as `externalDecision` allows (checklist 15): an
 * allowlisted https origin directly, another https URL after the user confirms it, nothing else.
 */
export async function openExternalSafely(url: string, from: WebContents | null): Promise<boolean> {
  const decision = externalDecision(url);
  if (decision === 'deny') return false;
  const href = new URL(url).href;
  if (decision === 'confirm') {
    const win = from ? BrowserWindow.fromWebContents(from) : null;
    const opts = {
      type: 'question' as const,
      buttons: ['Cancel', 'Open in browser'],
      defaultId: 0,
      cancelId: 0,
      message: 'Open this link in your web browser?',
      detail: href,
    };
    const r = await (win ? dialog.showMessageBox(win, opts) : dialog.showMessageBox(opts));
    if (r.response !== 1) return false;
  }
  await shell.openExternal(href);
  return true;
}

/**
 * Guards one web contents (checklist 13 and 14): no frame navigates off the app's origin (the
 * report frame may also show run artifacts), no redirect leaves it, no window opens (an allowed
 * link goes to the system browser instead) and no <webview> attaches.
 */
export function guardContents(contents: WebContents, appOrigin: string): void {
  contents.on('will-navigate', (e) => {
    if (!navigationAllowed(e.url, appOrigin, true)) e.preventDefault();
  });
  contents.on('will-frame-navigate', (e) => {
    if (!navigationAllowed(e.url, appOrigin, e.isMainFrame)) e.preventDefault();
  });
  contents.on('will-redirect', (e) => {
    if (!navigationAllowed(e.url, appOrigin, e.isMainFrame)) e.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    openExternalSafely(url, contents).catch((err: Error) => console.error(`open external: ${err.message}`));
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

/** Guards every web contents the app will ever create, the main window's included; call before ready. */
export function installWebContentsGuards(appOrigin: string): void {
  app.on('web-contents-created', (_e, contents) => guardContents(contents, appOrigin));
}

/**
 * Grants a page nothing it does not need (checklist 5): permission checks and requests answer from
 * `permissionAllowed`, device access (HID, USB, serial) is refused and downloads are cancelled (the
 * app writes files from main, through its own dialogs).
 */
export function installSessionGuards(ses: Session, appOrigin: string): void {
  ses.setPermissionCheckHandler((_wc, permission, requestingOrigin) =>
    permissionAllowed(permission, requestingOrigin, appOrigin),
  );
  ses.setPermissionRequestHandler((wc, permission, callback, details) => {
    callback(permissionAllowed(permission, details.requestingUrl || wc.getURL(), appOrigin));
  });
  ses.setDevicePermissionHandler(() => false);
  ses.on('will-download', (e) => e.preventDefault());
}

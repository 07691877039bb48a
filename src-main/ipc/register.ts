import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { contractMethods, eventChannel, invokeChannel, type ServiceImpls } from '../../src-shared/ipc';
import type { AppEvents } from '../services/events';
import { dispatch } from './dispatch';

/**
 * Registers every contract method on ipcMain. Calls from frames other than the app's own page are
 * refused before validation; the rest go through {@link dispatch}.
 */
export function registerIpcHandlers(opts: {
  ipcMain: IpcMain;
  impls: ServiceImpls;
  isTrustedSender: (e: IpcMainInvokeEvent) => boolean;
}): void {
  for (const { service, method } of contractMethods()) {
    opts.ipcMain.handle(invokeChannel(service, method), (e, payload: unknown) => {
      if (!opts.isTrustedSender(e)) {
        return {
          ok: false,
          error: { code: 'UNAUTHORIZED', message: 'Call from an untrusted frame refused' },
        };
      }
      return dispatch(opts.impls, service, method, payload);
    });
  }
}

/** Forwards every contract event to a window's renderer. Returns the unsubscribe function. */
export function forwardEvents(events: AppEvents, target: WebContents): () => void {
  return events.onAny((key, payload) => {
    if (!target.isDestroyed()) target.send(eventChannel(key), payload);
  });
}

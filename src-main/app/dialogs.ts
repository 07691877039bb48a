import { BrowserWindow, dialog, type OpenDialogOptions } from 'electron';
import {
  FieldcalError,
  openDialogInputSchema,
  type OpenDialogResult,
  type ServiceImpl,
} from '../../src-shared/ipc';

/** An absolute path without NUL, as the contract's path arguments require (`filePath` in contract.ts). */
const ABSOLUTE = /^(\/|[A-Za-z]:[\\/]|\\\\)/;

/** The `showOpenDialog` options for a validated request: a file or a folder, one or several, filters for files. */
export function openDialogOptions(input: unknown): OpenDialogOptions {
  const parsed = openDialogInputSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: i.path.map(String).join('.') || '(argument)',
      message: i.message,
    }));
    throw new FieldcalError(
      'VALIDATION',
      `Invalid argument for dialogs.open: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { service: 'dialogs', method: 'open', issues },
    );
  }
  const { title, kind, filters, multi } = parsed.data;
  const properties: NonNullable<OpenDialogOptions['properties']> = [
    kind === 'folder' ? 'openDirectory' : 'openFile',
    'dontAddToRecent',
  ];
  if (multi) properties.push('multiSelections');
  return {
    title,
    properties,
    ...(kind === 'file' && filters?.length ? { filters: filters.map((f) => ({ ...f })) } : {}),
  };
}

/**
 * The `dialogs` service of the desktop app: `dialog.showOpenDialog` on the focused window. The request
 * is validated here again (dispatch validated it already; this keeps the handler safe on its own), one
 * dialog is open at a time (a renderer cannot stack dialogs), and every failure is a typed error:
 * VALIDATION for a bad request, CONFLICT while a dialog is open, UNAVAILABLE without a focused window,
 * IO when the dialog itself fails. The chosen paths come back only when all are absolute.
 */
export function createElectronDialogs(): ServiceImpl<'dialogs'> {
  let open = false;
  return {
    capabilities: () => ({ open: true, reason: null }),
    async open(arg): Promise<OpenDialogResult> {
      const options = openDialogOptions(arg);
      if (open)
        throw new FieldcalError('CONFLICT', 'A file dialog is already open', { feature: 'dialogs.open' });
      const win = BrowserWindow.getFocusedWindow();
      if (!win || win.isDestroyed())
        throw new FieldcalError('UNAVAILABLE', 'No Fieldcal window has the focus to show the dialog on', {
          feature: 'dialogs.open',
        });
      open = true;
      let r: Awaited<ReturnType<typeof dialog.showOpenDialog>>;
      try {
        r = await dialog.showOpenDialog(win, options);
      } catch (err) {
        throw new FieldcalError('IO', `The file dialog failed: ${(err as Error).message}`, {
          feature: 'dialogs.open',
        });
      } finally {
        open = false;
      }
      if (r.canceled || r.filePaths.length === 0) return { canceled: true, paths: [] };
      const bad = r.filePaths.find((p) => !ABSOLUTE.test(p) || p.includes('\u0000') || p.length > 4096);
      if (bad !== undefined)
        throw new FieldcalError(
          'IO',
          `The file dialog answered a path Fieldcal cannot use: ${JSON.stringify(bad)}`,
          {
            feature: 'dialogs.open',
          },
        );
      return { canceled: false, paths: [...r.filePaths] };
    },
  };
}

import { BrowserWindow, dialog, Menu, type MenuItemConstructorOptions } from 'electron';
import type { ServiceContainer } from '../services';

const FILTERS = [{ name: 'Fieldcal project', extensions: ['fieldcal'] }];

async function showError(win: BrowserWindow | null, err: unknown): Promise<void> {
  const message = err instanceof Error ? err.message : String(err);
  if (win) await dialog.showMessageBox(win, { type: 'error', message: 'Fieldcal', detail: message });
}

/** The application menu: File (New/Open project, Import..., Quit), Edit, View, Help. */
export function installMenu(services: ServiceContainer): void {
  const focused = () => BrowserWindow.getFocusedWindow();
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      {
        label: 'New Project...',
        accelerator: 'CmdOrCtrl+N',
        click: async () => {
          const win = focused();
          const r = await (win
            ? dialog.showSaveDialog(win, { filters: FILTERS })
            : dialog.showSaveDialog({ filters: FILTERS }));
          if (r.canceled || !r.filePath) return;
          try {
            services.session.create(r.filePath.endsWith('.fieldcal') ? r.filePath : `${r.filePath}.fieldcal`);
          } catch (err) {
            await showError(win, err);
          }
        },
      },
      {
        label: 'Open Project...',
        accelerator: 'CmdOrCtrl+O',
        click: async () => {
          const win = focused();
          const opts = { filters: FILTERS, properties: ['openFile' as const] };
          const r = await (win ? dialog.showOpenDialog(win, opts) : dialog.showOpenDialog(opts));
          if (r.canceled || !r.filePaths[0]) return;
          try {
            services.session.open(r.filePaths[0]);
          } catch (err) {
            await showError(win, err);
          }
        },
      },
      { type: 'separator' },
      {
        label: 'Import...',
        accelerator: 'CmdOrCtrl+I',
        click: async () => {
          const win = focused();
          await showError(
            win,
            new Error(
              'Import of rasters, stacks and gauges arrives with the geodata reader; no file was changed.',
            ),
          );
        },
      },
      { type: 'separator' },
      { role: 'quit' },
    ],
  };
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([file, { role: 'editMenu' }, { role: 'viewMenu' }, { role: 'windowMenu' }]),
  );
}

import { app, BrowserWindow, ipcMain, session as electronSession } from 'electron';
import { join } from 'node:path';
import { version } from '../package.json';
import { createMainWindow, isAppUrl } from './app/window';
import { installMenu } from './app/menu';
import { handleArtifactProtocol, registerArtifactScheme } from './app/artifactProtocol';
import { forwardEvents, registerIpcHandlers } from './ipc/register';
import { createServices } from './services';
import { loadMethodModules } from './services/calibration/registry';

registerArtifactScheme();

// One running instance owns the project files; a second launch focuses the first.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const win = BrowserWindow.getAllWindows()[0];
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });

  void app.whenReady().then(async () => {
    // methods added as plugins (FIELDCAL_METHOD_MODULES); a broken one is reported, not fatal
    await loadMethodModules().catch((err: Error) => console.error(`method modules: ${err.message}`));
    const resources = app.isPackaged ? process.resourcesPath : join(app.getAppPath(), 'resources');
    const services = createServices({
      mode: 'electron',
      version,
      paths: { userData: app.getPath('userData'), resources, sampleData: join(resources, 'sample-data') },
    });
    // Nothing is granted to web content: no camera, geolocation, notifications ...
    electronSession.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
    registerIpcHandlers({
      ipcMain,
      impls: services.impls,
      isTrustedSender: (e) => e.senderFrame !== null && isAppUrl(e.senderFrame.url),
    });
    handleArtifactProtocol(services.artifactFile);
    installMenu(services);
    const win = createMainWindow();
    const stop = forwardEvents(services.events, win.webContents);
    win.on('closed', stop);
    app.on('window-all-closed', () => {
      services.dispose();
      app.quit();
    });
  });
}

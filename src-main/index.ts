import { app, BrowserWindow, ipcMain, session as electronSession } from 'electron';
import { join } from 'node:path';
import { version } from '../package.json';
import { appOrigin, createMainWindow, isAppUrl, rendererRoot } from './app/window';
import { installMenu } from './app/menu';
import { handleArtifactProtocol } from './app/artifactProtocol';
import { handleAppProtocol, registerSchemes } from './app/appProtocol';
import { installSessionGuards, installWebContentsGuards } from './app/guards';
import { createElectronDialogs } from './app/dialogs';
import { forwardEvents, registerIpcHandlers } from './ipc/register';
import { createServices } from './services';
import { loadMethodModules } from './services/calibration/registry';
import { preferPassiveOpenMp } from './services/compute/native/openmp';

// Before any job thread loads the native addon (libgomp reads its wait policy then).
preferPassiveOpenMp();

// Before ready: the app:// and fieldcal-artifact:// schemes, and the guard on every web contents.
registerSchemes();
installWebContentsGuards(appOrigin());

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
      dialogs: createElectronDialogs(),
    });
    // Nothing is granted to web content: no camera, geolocation, notifications, devices, downloads ...
    installSessionGuards(electronSession.defaultSession, appOrigin());
    registerIpcHandlers({
      ipcMain,
      impls: services.impls,
      isTrustedSender: (e) => e.senderFrame !== null && isAppUrl(e.senderFrame.url),
    });
    handleAppProtocol(rendererRoot());
    handleArtifactProtocol(services.artifactFile, appOrigin());
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

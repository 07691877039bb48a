// electron-builder afterPack hook (electron-builder.json): flips the Electron fuses of the packaged
// binary before it is signed, per the Electron security checklist ("Electron fuses") and the
// @electron/fuses README. CommonJS so electron-builder can require() it from this "type": "module" package.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS hook for electron-builder */
'use strict';
const path = require('node:path');

/**
 * The fuse settings, by @electron/fuses' FuseV1Options index (0..7). Fuses a newer Electron adds
 * beyond these keep their default.
 */
const FUSE_SETTINGS = Object.freeze({
  RunAsNode: false, // ELECTRON_RUN_AS_NODE ignored: the binary is not a general Node runtime
  EnableCookieEncryption: true, // cookie store encrypted with the OS keychain
  EnableNodeOptionsEnvironmentVariable: false, // NODE_OPTIONS ignored
  EnableNodeCliInspectArguments: false, // --inspect, --inspect-brk ... ignored
  EnableEmbeddedAsarIntegrityValidation: true, // app.asar checked against the hash embedded at packaging
  OnlyLoadAppFromAsar: true, // the app is loaded from app.asar only, never from a folder beside it
  LoadBrowserProcessSpecificV8Snapshot: false, // one V8 snapshot, as shipped
  GrantFileProtocolExtraPrivileges: false, // file:// gets no more than in a browser (renderer is on app://)
});

/** `FUSE_SETTINGS` as the config object `flipFuses` takes. */
function fuseConfig(fuses, platform, arch) {
  const config = { version: fuses.FuseVersion.V1 };
  for (const [name, value] of Object.entries(FUSE_SETTINGS)) {
    const index = fuses.FuseV1Options[name];
    if (typeof index !== 'number') throw new Error(`@electron/fuses has no fuse named ${name}`);
    config[index] = value;
  }
  // Flipping bytes breaks the ad-hoc signature of an arm64 macOS build; electron-builder's Arch.arm64 is 3.
  config.resetAdHocDarwinSignature = platform === 'darwin' && arch === 3;
  return config;
}

/** The Electron binary (or .app bundle) electron-builder produced in `context.appOutDir`. */
function electronBinaryPath(context) {
  const { appOutDir, electronPlatformName: platform, packager } = context;
  const product = packager.appInfo.productFilename;
  if (platform === 'darwin' || platform === 'mas') return path.join(appOutDir, `${product}.app`);
  if (platform === 'win32') return path.join(appOutDir, `${product}.exe`);
  return path.join(appOutDir, packager.executableName || product);
}

async function afterPack(context) {
  const fuses = await import('@electron/fuses');
  const target = electronBinaryPath(context);
  const config = fuseConfig(fuses, context.electronPlatformName, context.arch);
  const sentinels = await fuses.flipFuses(target, config);
  if (!(sentinels >= 1)) throw new Error(`fuses: no fuse wire found in ${target}`);
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.FUSE_SETTINGS = FUSE_SETTINGS;
module.exports.fuseConfig = fuseConfig;
module.exports.electronBinaryPath = electronBinaryPath;

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the app keeps user data and finds its bundled resources (reported by appInfo.get). */
export interface AppPaths {
  userData: string;
  resources: string;
  sampleData: string;
}

/** Root of the installed app: the folder holding package.json (two levels above out/main). */
export function appRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'resources'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/**
 * The path native code must read for a bundled file. In a packaged app the sources sit in
 * `resources/app.asar`, which only Electron's patched `fs` can read; electron-builder's `asarUnpack`
 * (electron-builder.json: `resources/fonts/**`) copies such files to `app.asar.unpacked` beside it
 * (Electron docs, "ASAR Archives": native code cannot read inside an archive). Outside an archive
 * the path is returned as it is.
 */
export function unpackedPath(path: string): string {
  return path.replace(/([\\/])app\.asar(?=[\\/])/, '$1app.asar.unpacked');
}

/** The bundled report font, at a path the native renderer (resvg) can open, packaged or not. */
export function reportFontPath(root: string = appRoot()): string {
  return unpackedPath(join(root, 'resources', 'fonts', 'DejaVuSans.ttf'));
}

/** Where the built renderer lives (out/renderer, or FIELDCAL_RENDERER_DIR for a development build elsewhere), for the bridge's static server. */
export function rendererDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FIELDCAL_RENDERER_DIR ? resolve(env.FIELDCAL_RENDERER_DIR) : join(appRoot(), 'out', 'renderer');
}

/** Paths outside Electron: XDG data home for user data, the app's resources folder for samples. */
export function defaultPaths(env: NodeJS.ProcessEnv = process.env): AppPaths {
  const resources = join(appRoot(), 'resources');
  const dataHome = env.XDG_DATA_HOME ? resolve(env.XDG_DATA_HOME) : join(homedir(), '.local', 'share');
  return {
    userData: env.FIELDCAL_USER_DATA ? resolve(env.FIELDCAL_USER_DATA) : join(dataHome, 'fieldcal'),
    resources,
    sampleData: join(resources, 'sample-data'),
  };
}

import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type { AppInfo, ServiceImpl } from '../../../src-shared/ipc';
import { initCompute } from '../compute';
import { LATEST_SCHEMA_VERSION } from '../project/migrations';
import type { ProjectSession } from '../project/session';
import type { AppPaths } from '../paths';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

function sqliteVersion(): string {
  const Db = require('better-sqlite3') as typeof Database;
  const db = new Db(':memory:');
  try {
    return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

/** The app-info service: versions, compute backend, schema version and paths, all read live. */
export function createAppInfoService(opts: {
  mode: AppInfo['mode'];
  version: string;
  paths: AppPaths;
  session: ProjectSession;
}): ServiceImpl<'appInfo'> {
  return {
    async get() {
      const compute = await initCompute();
      return {
        name: 'Fieldcal',
        version: opts.version,
        mode: opts.mode,
        versions: {
          node: process.versions.node,
          electron: process.versions.electron ?? null,
          electronPackage: packageVersion('electron'),
          tfjs: compute.tfjsVersion,
          sqlite: sqliteVersion(),
        },
        compute: { backend: compute.backend, threads: compute.threads, tried: compute.tried },
        project: { schemaVersion: LATEST_SCHEMA_VERSION, path: opts.session.current?.path ?? null },
        paths: opts.paths,
      };
    },
  };
}

import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FieldcalError, type ServiceImpl } from '../../../src-shared/ipc';
import type { ProjectSession } from './session';

/** The project service: create, open, close and describe the project file. */
export function createProjectService(session: ProjectSession): ServiceImpl<'project'> {
  return {
    create: ({ path, name }) => session.create(path, name),
    open: ({ path }) => session.open(path),
    close: () => ({ closed: session.close() }),
    current: () => session.current?.info() ?? null,
  };
}

/** The datasets service over the project's datasets and layers tables. */
export function createDatasetsService(session: ProjectSession): ServiceImpl<'datasets'> {
  return {
    list: () => session.require('datasets.list').datasets.list(),
    get: ({ id }) => session.require('datasets.get').datasets.get(id),
    remove: ({ id }) => {
      const removed = session.require('datasets.remove').datasets.remove(id);
      if (removed) session.changed();
      return { removed };
    },
    layers: () => session.require('datasets.layers').layers.list(),
    setLayer: ({ id, visible, opacity }) =>
      session.require('datasets.setLayer').layers.update(id, { visible, opacity }),
  };
}

/** The jobs service: runs recorded in the project, with their metrics and artifacts. */
export function createJobsService(session: ProjectSession): ServiceImpl<'jobs'> {
  return {
    list: ({ status }) => session.require('jobs.list').runs.list(status),
    get: ({ id }) => session.require('jobs.get').runs.detail(id),
  };
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * Copies a file atomically: into a temporary file beside the destination, flushed to disk, then
 * renamed over it, so a reader never sees a half-written file and a killed process leaves only the
 * temporary file behind (removed on failure).
 */
export async function copyFileAtomic(src: string, dest: string, overwrite: boolean): Promise<number> {
  if (!overwrite) {
    const exists = await fsp.access(dest, constants.F_OK).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new FieldcalError('CONFLICT', `${dest} exists; pass overwrite to replace it`, { path: dest });
  }
  const tmp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.copyFile(src, tmp);
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, dest);
    return (await fsp.stat(dest)).size;
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    if (err instanceof FieldcalError) throw err;
    throw new FieldcalError('IO', `Cannot write ${dest}: ${(err as Error).message}`, {
      path: dest,
      source: src,
    });
  }
}

/** The export service: run artifacts listed and copied out, checked against their stored checksum. */
export function createExportService(session: ProjectSession): ServiceImpl<'export'> {
  return {
    artifacts: ({ runId }) => {
      const store = session.require('export.artifacts');
      store.runs.get(runId);
      return store.runs.artifacts(runId);
    },
    copyArtifact: async ({ id, destination, overwrite }) => {
      const a = session.require('export.copyArtifact').runs.artifact(id);
      if (a.checksum) {
        const actual = await sha256File(a.path).catch((err: Error) => {
          throw new FieldcalError('NOT_FOUND', `Artifact file ${a.path} cannot be read: ${err.message}`, {
            path: a.path,
          });
        });
        if (actual !== a.checksum) {
          throw new FieldcalError('CONFLICT', `Artifact file ${a.path} changed since the run wrote it`, {
            path: a.path,
            expected: a.checksum,
            actual,
          });
        }
      }
      const bytes = await copyFileAtomic(a.path, destination, overwrite ?? false);
      return { path: destination, bytes };
    },
  };
}

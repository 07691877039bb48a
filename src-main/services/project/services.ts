import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { FieldcalError, type ServiceImpl } from '../../../src-shared/ipc';
import type { ProjectSession } from './session';
import { copyFileAtomic } from '../common/atomicFile';

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

import { basename } from 'node:path';
import { FieldcalError, type DatasetRecord, type ServiceImpl } from '../../../src-shared/ipc';
import { describeSource, fingerprint, quickStatus } from '../datasets/importer';
import { fileChecksum } from '../common/checksum';
import { proj4ForEpsg } from '../rasters/crs';
import type { StoredDataset } from './repositories/datasets';
import type { ProjectSession } from './session';
import { copyFileAtomic } from '../common/atomicFile';

/** The project service: create, open, close and describe the project file. */
export function createProjectService(session: ProjectSession): ServiceImpl<'project'> {
  return {
    create: ({ path, name, crs }) => session.create(path, name, crs),
    setCrs: ({ crs }) => {
      const store = session.require('project.setCrs');
      proj4ForEpsg(Number(crs.slice(5)));
      store.setCrs(crs);
      session.changed();
      return store.info();
    },
    open: ({ path }) => session.open(path),
    close: () => ({ closed: session.close() }),
    current: () => session.current?.info() ?? null,
  };
}

const withStatus = async (d: StoredDataset): Promise<DatasetRecord> => ({
  ...d,
  status: await quickStatus(d.sourcePath, d.sizeBytes),
});

/**
 * The datasets service: imports local files into the project (recording source, kind, CRS, grid,
 * time range, size and checksum), lists them with a check that each source is still there and
 * unchanged, and verifies a source against its checksum.
 */
export function createDatasetsService(session: ProjectSession): ServiceImpl<'datasets'> {
  return {
    list: async () => Promise.all(session.require('datasets.list').datasets.list().map(withStatus)),
    get: ({ id }) => withStatus(session.require('datasets.get').datasets.get(id)),
    import: async ({ path, name, kind, variable }) => {
      const store = session.require('datasets.import');
      const { dataset, gauges } = await describeSource({
        path,
        name,
        kind,
        variable,
        projectCrs: store.info().crs,
      });
      const rec = store.transaction(() => {
        const d = store.datasets.add(dataset);
        for (const g of gauges) {
          store.gauges.add({
            datasetId: d.id,
            code: g.code,
            name: null,
            x: g.x,
            y: g.y,
            crs: dataset.crs,
            areaKm2: g.areaKm2,
            cellRow: null,
            cellCol: null,
          });
        }
        store.layers.add({ datasetId: d.id, name: d.name });
        return d;
      });
      session.changed();
      return { ...rec, status: 'ok' as const };
    },
    verify: async ({ id }) => {
      const d = session.require('datasets.verify').datasets.get(id);
      const fp = await fingerprint(d.sourcePath).catch(() => null);
      if (!fp)
        return {
          id,
          status: 'missing' as const,
          detail: `${d.sourcePath} is no longer there (moved or deleted)`,
        };
      if (fp.checksum !== d.checksum) {
        return {
          id,
          status: 'changed' as const,
          detail: `${d.sourcePath} changed since it was imported (${d.sizeBytes} -> ${fp.sizeBytes} bytes); re-import it to use the new content`,
        };
      }
      return { id, status: 'ok' as const, detail: `${d.sourcePath} matches its checksum` };
    },
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

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  return (await fileChecksum(path)).checksum;
}

/**
 * The file behind `/artifacts/run/<runId>/<name>`: only a file recorded as an artifact of that run
 * is served, never an arbitrary path. Used by the bridge and Electron's artifact protocol.
 */
export function artifactFile(session: ProjectSession, runId: number, name: string): string | null {
  const store = session.current;
  if (!store || !Number.isInteger(runId) || runId <= 0) return null;
  try {
    return store.runs.artifacts(runId).find((a) => basename(a.path) === name)?.path ?? null;
  } catch {
    return null;
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

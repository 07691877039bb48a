import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, sep } from 'node:path';
import {
  FieldcalError,
  mapViewStateSchema,
  type DatasetRecord,
  type ServiceImpl,
} from '../../../src-shared/ipc';
import { describeSource, fingerprint, quickStatus, type NewDatasetRecord } from '../datasets/importer';
import { assembleDataset } from '../datasets/assemble';
import { recordAssembled, recordAssembledLumped } from './assembled';
import { assembleLumpedDataset } from '../datasets/assemble/lumped';
import { staticRasters } from './staticRasters';
import { probeSource } from '../datasets/assemble/probe';
import type { AppEvents } from '../events';
import { runFields, writeRunFields } from './fieldExport';
import { fileChecksum, sha256 } from '../common/checksum';
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
    getView: () => {
      const text = session.require('project.getView').getMeta(MAP_VIEW_KEY);
      if (text === null) return null;
      try {
        const v = mapViewStateSchema.safeParse(JSON.parse(text));
        return v.success ? v.data : null;
      } catch {
        // a damaged value is as good as none: the map opens on the data instead
        return null;
      }
    },
    setView: ({ view }) => {
      session.require('project.setView').setMeta(MAP_VIEW_KEY, JSON.stringify(view));
      return view;
    },
  };
}

/**
 * The quick status of a source, shared by calls within a second of each other: a list walks every
 * file of every folder dataset (a year of daily rasters is 365 stats), and the map asks for it often.
 */
const STATUS_TTL_MS = 1000;
const statusMemo = new Map<string, { at: number; status: Promise<DatasetRecord['status']> }>();
function cachedStatus(path: string, sizeBytes: number | null): Promise<DatasetRecord['status']> {
  const key = `${path}\u0000${sizeBytes}`;
  const now = Date.now();
  const hit = statusMemo.get(key);
  if (hit && now - hit.at < STATUS_TTL_MS) return hit.status;
  if (statusMemo.size > 1000) statusMemo.clear();
  const status = quickStatus(path, sizeBytes);
  statusMemo.set(key, { at: now, status });
  return status;
}

const withStatus = async (d: StoredDataset): Promise<DatasetRecord> => ({
  ...d,
  status: await cachedStatus(d.sourcePath, d.sizeBytes),
});

/**
 * The datasets service: imports local files into the project (recording source, kind, CRS, grid,
 * time range, size and checksum), lists them with a check that each source is still there and
 * unchanged, and verifies a source against its checksum.
 */
export function createDatasetsService(session: ProjectSession, events?: AppEvents): ServiceImpl<'datasets'> {
  return {
    probe: ({ path }) => probeSource(path),
    /**
     * Assembles a model dataset (`assembleDataset`: every input checked before anything is written),
     * by default into `<project>-datasets/<name>` beside the project file, and records it (kind
     * `model`, the folder as its source, with its size and checksum). A study area named by id is
     * taken from the project.
     */
    assemble: async ({ spec }) => {
      const store = session.require('datasets.assemble');
      let grid = spec.grid;
      if (grid.from === 'study-area' && !grid.geometry) {
        if (grid.studyAreaId === undefined)
          throw new FieldcalError('VALIDATION', 'grid.studyAreaId: name a study area or give its geometry', {
            field: 'grid.studyAreaId',
          });
        const area = store.studyAreas.get(grid.studyAreaId);
        grid = { ...grid, geometry: area.geometry as { type: string } };
      }
      const r = await assembleDataset(
        { ...spec, grid },
        {
          projectFile: store.path,
          onProgress: (p) => events?.emit('datasets.onAssembleProgress', p),
        },
      );
      const { rec, warnings } = await recordAssembled(store, r, spec.name);
      session.changed();
      return { dataset: { ...rec, status: 'ok' as const }, manifest: r.manifest, path: r.path, warnings };
    },
    /** A lumped dataset from basin CSVs (`assembleLumpedDataset`), recorded as kind `lumped`. */
    assembleLumped: async ({ spec }) => {
      const store = session.require('datasets.assembleLumped');
      const r = await assembleLumpedDataset(spec, {
        projectFile: store.path,
        onProgress: (p) => events?.emit('datasets.onAssembleProgress', p),
      });
      const rec = await recordAssembledLumped(store, r);
      session.changed();
      return {
        dataset: { ...rec, status: 'ok' as const },
        manifest: r.manifest,
        path: r.path,
        warnings: r.warnings,
      };
    },
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
    importFolder: async ({ path }) => {
      const store = session.require('datasets.importFolder');
      const files = await staticRasters(path);
      const projectCrs = store.info().crs;
      const described: NewDatasetRecord[] = [];
      for (const file of files) {
        const { dataset } = await describeSource({ path: file, kind: 'raster', projectCrs }).catch(
          (err: unknown) => {
            const e = err instanceof FieldcalError ? err : null;
            throw new FieldcalError(
              e?.code ?? 'INVALID_FILE',
              `${file} cannot be imported (nothing from ${path} was recorded): ${(err as Error).message}`,
              { ...(e?.details ?? {}), file },
            );
          },
        );
        described.push(dataset);
      }
      const recs = store.transaction(() =>
        described.map((dataset) => {
          const d = store.datasets.add(dataset);
          store.layers.add({ datasetId: d.id, name: d.name });
          return d;
        }),
      );
      session.changed();
      return recs.map((r) => ({ ...r, status: 'ok' as const }));
    },
    layers: () => session.require('datasets.layers').layers.list(),
    setLayer: ({ id, visible, opacity, name, style }) => {
      if (style?.range === 'manual') {
        if (style.min === undefined || style.max === undefined)
          throw new FieldcalError('VALIDATION', 'style.min: a manual range needs min and max', {
            field: style.min === undefined ? 'style.min' : 'style.max',
          });
        if (!(style.max > style.min))
          throw new FieldcalError('VALIDATION', `style.max: ${style.max} is not above min ${style.min}`, {
            field: 'style.max',
          });
      }
      if (style?.log && style.range === 'manual' && style.min! <= 0)
        throw new FieldcalError('VALIDATION', 'style.min: a log scale needs a positive minimum', {
          field: 'style.min',
        });
      const rec = session.require('datasets.setLayer').layers.update(id, { visible, opacity, name, style });
      return rec;
    },
    reorderLayers: ({ ids }) => {
      const layers = session.require('datasets.reorderLayers').layers.reorder(ids);
      session.changed();
      return layers;
    },
    removeLayer: ({ id }) => {
      const removed = session.require('datasets.removeLayer').layers.remove(id);
      if (removed) session.changed();
      return { removed };
    },
  };
}

/** Project meta key of the saved map view. */
const MAP_VIEW_KEY = 'map_view';

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  return (await fileChecksum(path)).checksum;
}

/**
 * The file behind `/artifacts/run/<runId>/<name>`: only a regular file recorded as an artifact of that
 * run AND lying (symbolic links resolved) inside the run's output folder, the job's recorded `outDir`
 * named `run-<runId>`, is served; a crafted row pointing elsewhere is refused. Used by the bridge and
 * Electron's artifact protocol.
 */
export function artifactFile(session: ProjectSession, runId: number, name: string): string | null {
  const store = session.current;
  if (!store || !Number.isInteger(runId) || runId <= 0) return null;
  try {
    const artifact = store.runs.artifacts(runId).find((a) => basename(a.path) === name);
    if (!artifact) return null;
    const real = realpathSync(artifact.path);
    const st = statSync(real);
    if (!st.isFile()) return null;
    const outDir = (store.runs.get(runId).options as { outDir?: unknown }).outDir;
    if (typeof outDir === 'string' && isAbsolute(outDir) && basename(outDir) === `run-${runId}`)
      return real.startsWith(realpathSync(outDir) + sep) ? real : null;
    // a run recorded by the CLI writes where --out said: served only when the file is exactly the one
    // the run recorded (its SHA-256), so a crafted row cannot read a file whose content it does not know
    if (!artifact.checksum || st.size > 64 * 2 ** 20) return null;
    const sum = sha256(readFileSync(real));
    return sum === artifact.checksum ? real : null;
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
      const store = session.require('export.copyArtifact');
      const a = store.runs.artifact(id);
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
      // recorded while it runs: a kill mid-copy leaves a temporary file the next open removes
      const bytes = await store.trackWrite(destination, () =>
        copyFileAtomic(a.path, destination, overwrite ?? false),
      );
      return { path: destination, bytes };
    },
    fields: ({ runId }) => runFields(session.require('export.fields'), runId),
    writeFields: async ({ runId, artifactIds, folder, layout, overwrite }) => {
      const store = session.require('export.writeFields');
      // the destination folder is recorded (as a file in it) while the fields are written
      const files = await store.trackWrite(join(folder, `run-${runId}-fields.tif`), () =>
        writeRunFields(store, { runId, artifactIds, folder, layout, overwrite: overwrite ?? false }),
      );
      return { files };
    },
  };
}

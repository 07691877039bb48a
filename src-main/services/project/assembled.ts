import { stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import type { DatasetRecord } from '../../../src-shared/ipc';
import type { AssembleResult } from '../datasets/assemble';
import type { LumpedAssembleResult } from '../datasets/assemble/lumped';
import { describeSource, fingerprint, type NewDatasetRecord } from '../datasets/importer';
import type { Gauge } from '../grid/gauges';
import { staticRasters } from './staticRasters';
import type { ProjectStore } from './store';

/**
 * Records an assembled dataset folder in the project (the `datasets.assemble` service and `fieldcal
 * assemble --project` alike): the `model` dataset itself (size and checksum of the folder), and as
 * any import would, its stacks and descriptors with a layer each and its gauges in the gauge list.
 * One transaction; a dataset assembled again into the same folder replaces its records.
 */
export async function recordAssembled(
  store: ProjectStore,
  r: AssembleResult,
  name: string,
): Promise<{ rec: Omit<DatasetRecord, 'status'>; warnings: string[] }> {
  const fp = await fingerprint(r.path);
  const m = r.manifest;
  // what the dataset holds goes on the map like any import: its stacks, descriptors and gauges
  const parts = await assembledParts(r.path, m.crs, name, store.info().crs);
  const warnings = [...r.warnings];
  const rec = store.transaction(() => {
    // a dataset assembled again into the same folder replaces its record and its parts
    for (const d of store.datasets.list())
      if (d.sourcePath === r.path || d.sourcePath.startsWith(`${r.path}${sep}`)) store.datasets.remove(d.id);
    const known = new Map(store.gauges.list().map((g) => [g.code, g]));
    for (const part of parts) {
      const clash = part.gauges.filter((g) => known.has(g.code));
      if (clash.length) {
        warnings.push(
          `gauges ${clash.map((g) => g.code).join(', ')} are already in the project (from another dataset): listed once, from that dataset`,
        );
      }
      const d = store.datasets.add(part.dataset);
      for (const g of part.gauges.filter((x) => !known.has(x.code)))
        store.gauges.add({
          datasetId: d.id,
          code: g.code,
          name: null,
          x: g.x,
          y: g.y,
          crs: part.dataset.crs,
          areaKm2: g.areaKm2,
          cellRow: null,
          cellCol: null,
        });
      if (part.layer) store.layers.add({ datasetId: d.id, name: d.name });
    }
    return store.datasets.add({
      name: name,
      kind: 'model',
      sourcePath: r.path,
      crs: m.crs,
      grid: { ...m.grid, crs: m.crs, step: m.step, targets: m.targets },
      timeStart: m.start,
      timeEnd: m.end,
      steps: r.steps,
      sizeBytes: fp.sizeBytes,
      checksum: fp.checksum,
    });
  });
  return { rec, warnings };
}

/**
 * The parts of an assembled dataset folder as the importer describes them, to record beside it: each
 * variable stack (prcp, pet, temp, et, sm) and descriptor with a map layer named `<dataset> · <part>`,
 * and the folder's gauges (a gauges dataset, no layer of its own: gauges are drawn from the list).
 */
async function assembledParts(
  dir: string,
  crs: string,
  name: string,
  projectCrs: string | null,
): Promise<Array<{ dataset: NewDatasetRecord; gauges: Gauge[]; layer: boolean }>> {
  const out: Array<{ dataset: NewDatasetRecord; gauges: Gauge[]; layer: boolean }> = [];
  const isDir = async (p: string) => (await stat(p).catch(() => null))?.isDirectory() ?? false;
  for (const v of ['prcp', 'pet', 'temp', 'et', 'sm']) {
    if (!(await isDir(join(dir, v)))) continue;
    const { dataset } = await describeSource({
      path: join(dir, v),
      kind: 'stack',
      name: `${name} · ${v}`,
      projectCrs: crs,
    });
    out.push({ dataset, gauges: [], layer: true });
  }
  if (await isDir(join(dir, 'descriptor')))
    for (const file of await staticRasters(join(dir, 'descriptor'))) {
      const part = basename(file).replace(/\.tiff?$/i, '');
      const { dataset } = await describeSource({
        path: file,
        kind: 'raster',
        name: `${name} · ${part}`,
        projectCrs: crs,
      });
      out.push({ dataset, gauges: [], layer: true });
    }
  if ((await stat(join(dir, 'gauge_attributes.csv')).catch(() => null))?.isFile()) {
    const { dataset, gauges } = await describeSource({
      path: dir,
      kind: 'gauges',
      name: `${name} · gauges`,
      projectCrs: projectCrs ?? crs,
    });
    out.push({ dataset, gauges, layer: false });
  }
  return out;
}

/**
 * Records a lumped dataset folder (`datasets.assembleLumped`, `fieldcal assemble` of kind lumped) in
 * the project: kind `lumped`, the folder as its source with its size and checksum, its step, basins
 * and span. A dataset assembled again into the same folder replaces its record.
 */
export async function recordAssembledLumped(
  store: ProjectStore,
  r: LumpedAssembleResult,
): Promise<Omit<DatasetRecord, 'status'>> {
  const fp = await fingerprint(r.path);
  const m = r.manifest;
  return store.transaction(() => {
    for (const d of store.datasets.list())
      if (d.sourcePath === r.path || d.sourcePath.startsWith(`${r.path}${sep}`)) store.datasets.remove(d.id);
    return store.datasets.add({
      name: m.name,
      kind: 'lumped',
      sourcePath: r.path,
      crs: null,
      grid: { step: m.step, basins: m.basins.map((b) => b.code) },
      timeStart: m.start,
      timeEnd: m.end,
      steps: Math.max(...m.basins.map((b) => b.rows)),
      sizeBytes: fp.sizeBytes,
      checksum: fp.checksum,
    });
  });
}

import { constants, promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import { FieldcalError, type ArtifactRecord, type ExportableField, type Grid } from '../../../src-shared/ipc';
import { fileChecksum } from '../common/checksum';
import { STRUCTURES, ROUTING } from '../physics/registry';
import { GeoTiffRaster } from '../rasters/geotiff';
import { gridOfRaster } from '../rasters/stack';
import { writeGeoTiff, type BandToWrite } from '../rasters/writeGeoTiff';
import type { ProjectStore } from './store';

/** Artifact kinds that hold fields on the run's grid. */
export const FIELD_KINDS = ['parameter-geotiff', 'simulation-geotiff'] as const;

/** Units of the simulated targets of gridded jobs (as `targetOutput` in calibration/gridded/problem.ts). */
const TARGET_UNITS: Record<string, string> = { ET: 'mm/d', SM: 'm³/m³' };

const fieldName = (a: ArtifactRecord) => basename(a.path).replace(/\.tiff?$/i, '');

/** The model structures a run used, from its stored spec: gauge jobs run gr4 + lr, the others vic3l. */
function structuresOf(options: Record<string, unknown>): string[] {
  const spec = options.spec as { kind?: string; structure?: string } | undefined;
  return spec?.kind === 'gauges' ? ['gr4', 'vic3l'] : ['vic3l', 'gr4'];
}

/**
 * Units of a field: what the GeoTIFF says (GDAL unit type), else the parameter tables of the run's
 * model structures (physics/registry.ts; `truth_<name>` as `<name>`), else the simulated target.
 */
function unitsOf(
  name: string,
  kind: string,
  fileUnits: string | null,
  options: Record<string, unknown>,
): string | null {
  if (fileUnits) return fileUnits;
  if (kind === 'simulation-geotiff') {
    const target = /^simulated_(.+)$/.exec(name)?.[1];
    return target ? (TARGET_UNITS[target] ?? null) : null;
  }
  const param = name.replace(/^truth_/, '');
  for (const s of structuresOf(options)) {
    const p = STRUCTURES[s]?.parameters.find((x) => x.name === param);
    if (p) return p.unit;
  }
  for (const specs of Object.values(ROUTING)) {
    const p = specs.find((x) => x.name === param);
    if (p) return p.unit;
  }
  return null;
}

/** Refuses an artifact whose file is gone or changed since the run wrote it (as copyArtifact). */
async function checkArtifact(a: ArtifactRecord): Promise<void> {
  const actual = await fileChecksum(a.path).catch((err: Error) => {
    throw new FieldcalError('NOT_FOUND', `Artifact file ${a.path} cannot be read: ${err.message}`, {
      path: a.path,
    });
  });
  if (a.checksum && actual.checksum !== a.checksum)
    throw new FieldcalError('CONFLICT', `Artifact file ${a.path} changed since the run wrote it`, {
      path: a.path,
      expected: a.checksum,
      actual: actual.checksum,
    });
}

/** The run's field artifacts (parameter and simulated GeoTIFFs) with names, units and band counts. */
export async function runFields(store: ProjectStore, runId: number): Promise<ExportableField[]> {
  const run = store.runs.get(runId);
  const out: ExportableField[] = [];
  for (const a of store.runs.artifacts(runId)) {
    if (!(FIELD_KINDS as readonly string[]).includes(a.kind)) continue;
    const r = await GeoTiffRaster.open(a.path);
    await r.close();
    const name = fieldName(a);
    out.push({
      artifactId: a.id,
      name,
      kind: a.kind,
      units: unitsOf(name, a.kind, r.info.unitTypes[0] ?? null, run.options),
      bands: r.info.bands,
    });
  }
  return out;
}

interface LoadedField {
  artifact: ArtifactRecord;
  name: string;
  grid: Grid;
  nodata: number | null;
  bands: BandToWrite[];
}

const sameGrid = (a: Grid, b: Grid) =>
  a.rows === b.rows &&
  a.cols === b.cols &&
  a.crs === b.crs &&
  Math.abs(a.x0 - b.x0) <= 1e-6 * a.dx &&
  Math.abs(a.y0 - b.y0) <= 1e-6 * a.dy &&
  Math.abs(a.dx - b.dx) <= 1e-9 * a.dx &&
  Math.abs(a.dy - b.dy) <= 1e-9 * a.dy;

/**
 * Writes chosen fields of a run into a folder: one GeoTIFF per field (`<name>.tif`) or one
 * multi-band file (`run-<id>-fields.tif`, a band per field, or per band of a multi-band field,
 * described by the field's name). Every file carries the grid's CRS (EPSG GeoKeys, the project's
 * CRS when the artifact had none), nodata and each band's units; each is written atomically, and
 * an existing file is refused (CONFLICT naming it) before anything is written unless `overwrite`.
 */
export async function writeRunFields(
  store: ProjectStore,
  opts: {
    runId: number;
    artifactIds: number[];
    folder: string;
    layout: 'per-field' | 'multiband';
    overwrite: boolean;
  },
): Promise<Array<{ path: string; bytes: number }>> {
  const run = store.runs.get(opts.runId);
  const projectCrs = store.info().crs;
  const seen = new Set<number>();
  const artifacts = opts.artifactIds.map((id, i) => {
    if (seen.has(id))
      throw new FieldcalError('VALIDATION', `artifactIds[${i}]: artifact ${id} is listed twice`, {
        field: 'artifactIds',
        id,
      });
    seen.add(id);
    const a = store.runs.artifact(id);
    if (a.runId !== run.id)
      throw new FieldcalError(
        'VALIDATION',
        `artifactIds[${i}]: artifact ${id} belongs to run ${a.runId}, not run ${run.id}`,
        {
          field: 'artifactIds',
          id,
        },
      );
    if (!(FIELD_KINDS as readonly string[]).includes(a.kind))
      throw new FieldcalError(
        'VALIDATION',
        `artifactIds[${i}]: artifact ${id} is a ${a.kind}, not a field GeoTIFF`,
        {
          field: 'artifactIds',
          id,
        },
      );
    return a;
  });
  const st = await fsp.stat(opts.folder).catch(() => null);
  if (!st?.isDirectory())
    throw new FieldcalError('NOT_FOUND', `${opts.folder} is not a folder`, {
      path: opts.folder,
      field: 'folder',
    });

  const fields: LoadedField[] = [];
  for (const a of artifacts) {
    await checkArtifact(a);
    const r = await GeoTiffRaster.open(a.path);
    try {
      const name = fieldName(a);
      const grid = gridOfRaster(r.info, projectCrs);
      const bands: BandToWrite[] = [];
      for (let b = 0; b < r.info.bands; b++) {
        const desc = r.info.descriptions[b];
        bands.push({
          data: await r.readBandValues(b),
          description: r.info.bands === 1 ? name : `${name} ${desc ?? `band ${b + 1}`}`,
          units: unitsOf(name, a.kind, r.info.unitTypes[b] ?? null, run.options) ?? undefined,
        });
      }
      fields.push({ artifact: a, name, grid, nodata: r.info.nodata, bands });
    } finally {
      await r.close();
    }
  }

  const nodataOf = (f: LoadedField) => (f.nodata !== null && Number.isFinite(f.nodata) ? f.nodata : -9999);
  const files: Array<{ path: string; grid: Grid; nodata: number; bands: BandToWrite[] }> =
    opts.layout === 'per-field'
      ? fields.map((f) => ({
          path: join(opts.folder, `${f.name}.tif`),
          grid: f.grid,
          nodata: nodataOf(f),
          bands: f.bands,
        }))
      : [
          {
            path: join(opts.folder, `run-${run.id}-fields.tif`),
            grid: fields[0]!.grid,
            nodata: nodataOf(fields[0]!),
            bands: fields.flatMap((f) => f.bands),
          },
        ];
  if (opts.layout === 'multiband') {
    for (const f of fields.slice(1))
      if (!sameGrid(f.grid, fields[0]!.grid))
        throw new FieldcalError(
          'VALIDATION',
          `${f.name} is on another grid than ${fields[0]!.name}; export them per field`,
          { field: 'artifactIds', id: f.artifact.id },
        );
  }
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.path))
      throw new FieldcalError('VALIDATION', `Two fields would both be written to ${f.path}`, {
        field: 'artifactIds',
        path: f.path,
      });
    names.add(f.path);
    if (!opts.overwrite) {
      const exists = await fsp.access(f.path, constants.F_OK).then(
        () => true,
        () => false,
      );
      if (exists)
        throw new FieldcalError('CONFLICT', `${f.path} exists; pass overwrite to replace it`, {
          path: f.path,
        });
    }
  }
  const written: Array<{ path: string; bytes: number }> = [];
  for (const f of files) {
    const w = await writeGeoTiff({
      path: f.path,
      grid: f.grid,
      bands: f.bands,
      nodata: f.nodata,
      overwrite: opts.overwrite,
    });
    written.push({ path: w.path, bytes: w.bytes });
  }
  return written;
}

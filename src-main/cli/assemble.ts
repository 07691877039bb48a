import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FieldcalError, type AssembledInput, type LumpedManifest } from '../../src-shared/ipc';
import { assembleDataset } from '../services/datasets/assemble';
import { assembleLumpedDataset } from '../services/datasets/assemble/lumped';
import { recordAssembled, recordAssembledLumped } from '../services/project/assembled';
import { ProjectStore } from '../services/project/store';
import { progressBar } from './progress';

/** Keys of the assembler's spec that hold paths (resolved against the config file's folder). */
const PATH_KEYS = new Set(['path', 'stations', 'series', 'out']);

/** Resolves every relative path of a spec against `base`, in place. */
export function resolveSpecPaths(v: unknown, base: string): unknown {
  if (Array.isArray(v)) return v.map((x) => resolveSpecPaths(x, base));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] =
        PATH_KEYS.has(k) && typeof x === 'string' && !isAbsolute(x)
          ? resolve(base, x)
          : resolveSpecPaths(x, base);
    }
    return out;
  }
  return v;
}

/**
 * `fieldcal assemble --config assemble.json [--out DIR] [--project P]`: builds a model dataset from
 * the inputs named in the config (the `datasets.assemble` spec; relative paths from the config's
 * folder), with a progress bar, and records it in the project when one is given (by default the
 * dataset goes to `<project>-datasets/<name>` beside it). Refusals name the input and exit 1.
 */
export function addAssembleCommand(program: Command): void {
  program
    .command('assemble')
    .description(
      'assemble a model dataset from named inputs (forcing, descriptors, flow directions, gauges, targets), or with "kind": "lumped" a lumped dataset from basin CSVs',
    )
    .requiredOption('--config <file>', 'the assembly spec (JSON)')
    .option('--out <dir>', "output folder (default: the config's out, else <project>-datasets/<name>)")
    .option('--project <file>', 'record the dataset in this project')
    .option('--overwrite', 'replace a dataset assembled before at the same place')
    .option('--json', 'print the result as JSON')
    .action(
      async (o: { config: string; out?: string; project?: string; overwrite?: boolean; json?: boolean }) => {
        const text = await readFile(o.config, 'utf8').catch(() => null);
        if (text === null)
          throw new FieldcalError('NOT_FOUND', `${o.config} not found`, { file: o.config, field: 'config' });
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch (e) {
          throw new FieldcalError('VALIDATION', `${o.config} is not JSON: ${(e as Error).message}`, {
            field: 'config',
          });
        }
        const spec = resolveSpecPaths(raw, dirname(resolve(o.config))) as Record<string, unknown>;
        if (o.out) spec.out = resolve(o.out);
        if (o.overwrite) spec.overwrite = true;
        // the project opens first: a bad project file fails before any work
        const store = o.project ? ProjectStore.open({ path: resolve(o.project), role: 'recorder' }) : null;
        if (spec.kind === 'lumped') {
          try {
            await assembleLumped(spec, store, o.json === true);
          } finally {
            store?.close();
          }
          return;
        }
        try {
          const bar = progressBar('assemble', 100, { json: o.json });
          let stage = '';
          const r = await assembleDataset(spec as Parameters<typeof assembleDataset>[0], {
            projectFile: store?.path,
            onProgress: (p) => {
              bar.update(Math.round(p.done * 100));
              if (p.stage !== stage && !o.json && !process.stderr.isTTY) process.stderr.write(`${p.stage}\n`);
              stage = p.stage;
            },
          });
          bar.stop();
          let datasetId: number | null = null;
          const warnings = [...r.warnings];
          if (store) {
            const recorded = await recordAssembled(store, r, r.manifest.name);
            datasetId = recorded.rec.id;
            warnings.splice(0, warnings.length, ...recorded.warnings);
          }
          if (o.json) {
            process.stdout.write(
              `${JSON.stringify({ path: r.path, datasetId, manifest: r.manifest, warnings }, null, 2)}\n`,
            );
          } else {
            process.stdout.write(
              [
                `Assembled ${r.manifest.name}: ${r.path}`,
                `  ${r.steps} ${r.manifest.step} steps ${r.manifest.start} .. ${r.manifest.end}; grid ${r.grid.cols} x ${r.grid.rows} at ${r.grid.dx} (${r.manifest.crs})`,
                ...r.manifest.inputs.map((i) => `  ${i.role}: ${describeInput(i)}`),
                ...warnings.map((w) => `  warning: ${w}`),
                ...(datasetId !== null ? [`  recorded in ${store!.path} as dataset ${datasetId}`] : []),
              ].join('\n') + '\n',
            );
          }
        } finally {
          store?.close();
        }
      },
    );
}

/** `fieldcal assemble` of a lumped spec (`kind: "lumped"`): basin CSVs to a lumped dataset, one line per basin. */
async function assembleLumped(spec: Record<string, unknown>, store: ProjectStore | null, json: boolean) {
  const r = await assembleLumpedDataset(spec as Parameters<typeof assembleLumpedDataset>[0], {
    projectFile: store?.path,
  });
  const datasetId = store ? (await recordAssembledLumped(store, r)).id : null;
  const m = r.manifest;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ path: r.path, datasetId, manifest: m, warnings: r.warnings }, null, 2)}\n`,
    );
    return;
  }
  const conv = (c: LumpedManifest['basins'][number]['conversions'][number]) =>
    c.scale === 1 && c.offset === 0
      ? `${c.role} ${c.column} (${c.unitsTo})`
      : `${c.role} ${c.column} ${c.unitsFrom} -> ${c.unitsTo} (x ${c.scale}${c.offset ? ` ${c.offset > 0 ? '+' : '-'} ${Math.abs(c.offset)}` : ''})`;
  process.stdout.write(
    [
      `Assembled ${m.name} (lumped, ${m.basins.length} basin${m.basins.length > 1 ? 's' : ''}, ${m.step}): ${r.path}`,
      ...m.basins.map(
        (b) =>
          `  ${b.code}: ${b.rows} rows ${b.first} .. ${b.last}; ${b.conversions.map(conv).join('; ')}${b.hypsometry ? '; hypsometry' : ''}`,
      ),
      ...r.warnings.map((w) => `  warning: ${w}`),
      ...(datasetId !== null ? [`  recorded in ${store!.path} as dataset ${datasetId}`] : []),
    ].join('\n') + '\n',
  );
}

/** One line per input: how it reached the grid, its units and its step, saying only what applies. */
function describeInput(i: AssembledInput): string {
  const parts: string[] = [];
  if (i.role !== 'gauges')
    parts.push(i.align === 'same-grid' ? 'on the model grid' : `${i.align} onto the grid`);
  if (i.role === 'flowdir') parts.push(i.unitsTo);
  // a descriptor without units is copied as read (its unitsTo is 'as read'): say so once
  else if (i.unitsFrom === null)
    parts.push(
      i.unitsTo === 'as read'
        ? 'no units given or in the file: values as read'
        : `no units given or in the file: taken as ${i.unitsTo}`,
    );
  else if (i.unitsFrom === i.unitsTo && i.scale === 1 && i.offset === 0) parts.push(`${i.unitsTo}, as read`);
  else
    parts.push(
      `${i.unitsFrom} -> ${i.unitsTo} (x ${i.scale}${i.offset ? ` ${i.offset > 0 ? '+' : '-'} ${Math.abs(i.offset)}` : ''})`,
    );
  if (i.role !== 'flowdir')
    parts.push(
      i.stepFrom === 'static'
        ? 'static'
        : i.timeRule === 'none'
          ? `${i.stepFrom}`
          : `${i.stepFrom}, ${i.timeRule}`,
    );
  return parts.join('; ');
}

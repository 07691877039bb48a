import type { Command } from 'commander';
import { resolve } from 'node:path';
import { FieldcalError } from '../../src-shared/ipc';
import { methodNames } from '../services/calibration/registry';
import { runJobCli } from './twin';

/** `YYYY-MM-DD..YYYY-MM-DD` as a period, refused with the option named. */
function range(text: string, option: string): { start: string; end: string } {
  const m = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(text.trim());
  if (!m)
    throw new FieldcalError('VALIDATION', `${option}: "${text}" is not START..END (YYYY-MM-DD..YYYY-MM-DD)`, {
      field: option,
    });
  return { start: m[1]!, end: m[2]! };
}

/**
 * `fieldcal kgssl --basins DIR --train A..B --test C..D [--attributes FILE] [--options JSON]`: a
 * `basins` job (issue 20) run in a worker thread with progress and checkpoints, recorded in a
 * project (`fieldcal resume` continues it); embeddings.csv, distances.png, report.html and
 * result.json in the run's folder.
 */
export function addKgsslCommand(program: Command): void {
  program
    .command('kgssl')
    .description(
      'learn basin embeddings (KGSSL) from a folder of basin CSVs: reconstruction NSE, attribute imputation, distances, GR4J parameter transfer',
    )
    .requiredOption(
      '--basins <dir>',
      'folder of basin CSVs (or CAMELS-FR layout: ts/, catchments.csv, hypsometry.csv)',
    )
    .requiredOption('--train <range>', 'train period START..END (YYYY-MM-DD..YYYY-MM-DD)')
    .requiredOption('--test <range>', 'test period START..END, not overlapping the train period')
    .option(
      '--attributes <file>',
      'attribute table: one row per basin, a code column then numeric attributes',
    )
    .option(
      '--method <name>',
      `a method for multi-basin datasets (${methodNames('basins').join(' | ')})`,
      'kgssl',
    )
    .option('--options <json>', "the method's options as JSON (strict)")
    .option('--seed <n>', 'random seed', (v) => Number(v), 1)
    .option('--out <dir>', 'output folder', 'fieldcal-kgssl')
    .option(
      '--project <file>',
      'project file recording the run (created if missing; default <out>/runs.fieldcal)',
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .action(
      async (o: {
        basins: string;
        train: string;
        test: string;
        attributes?: string;
        method: string;
        options?: string;
        seed: number;
        out: string;
        project?: string;
        json?: boolean;
      }) => {
        const started = performance.now();
        let options: unknown = {};
        if (o.options)
          try {
            options = JSON.parse(o.options);
          } catch (e) {
            throw new FieldcalError('VALIDATION', `--options: ${(e as Error).message}`, { field: 'options' });
          }
        await runJobCli(
          {
            kind: 'basins',
            method: o.method,
            options,
            seed: o.seed,
            dataset: {
              path: resolve(o.basins),
              ...(o.attributes ? { attributes: resolve(o.attributes) } : {}),
            },
            train: range(o.train, 'train'),
            test: range(o.test, 'test'),
          },
          resolve(o.out),
          o.project,
          !!o.json,
          started,
        );
      },
    );
}

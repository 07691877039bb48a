import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { FieldcalError, prototypeKeyIssues } from '../../src-shared/ipc';
import { gridPathsOf, sweepSpecSchema, type SweepRecord, type SweepSpec } from '../../src-shared/types/sweep';
import { issuePath } from '../services/calibration/gridded/options';
import { LocalSweepExecutor } from '../services/jobs/localSweepExecutor';
import { QueueSweepExecutor } from '../services/jobs/queue';
import { runsDir } from '../services/jobs/service';
import { SweepCoordinator, sweepRecord } from '../services/jobs/sweep';
import type { SweepExecutor } from '../services/jobs/sweepExecutor';
import { openOrCreateProject } from './twin';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('an integer 1..64');
  return n;
};

const positiveId = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a run id');
  return n;
};

/**
 * The sweep config of `--config`, with `--queue` / `--concurrency` over it; relative paths (datasets,
 * the base spec's dataset and hypsometry) are taken from the config file's folder. Refused with a
 * VALIDATION error naming every field.
 */
export async function readSweepConfig(
  file: string,
  over: { queue?: string | undefined; concurrency?: number | undefined },
): Promise<SweepSpec> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new FieldcalError('VALIDATION', `${file} is not readable JSON: ${(err as Error).message}`, {
      file,
    });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new FieldcalError('VALIDATION', `${file}: expected a JSON object (a sweep spec)`, { file });
  if (over.queue !== undefined) raw.queue = over.queue;
  if (over.concurrency !== undefined) raw.concurrency = over.concurrency;
  const issues = prototypeKeyIssues(raw).map((i) => ({ path: i.path.join('.'), message: i.message }));
  const r = sweepSpecSchema.safeParse(raw);
  if (!r.success) issues.push(...r.error.issues.map((i) => ({ path: issuePath(i), message: i.message })));
  if (issues.length || !r.success)
    throw new FieldcalError(
      'VALIDATION',
      `${file}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      {
        issues,
        field: issues[0]?.path,
        file,
      },
    );
  const spec = r.data;
  const at = dirname(resolve(file));
  const abs = (p: string) => resolve(at, p);
  if (Array.isArray(spec.datasets)) spec.datasets = spec.datasets.map(abs);
  else if (spec.datasets) spec.datasets = { ...spec.datasets, folder: abs(spec.datasets.folder) };
  const ds = spec.base.dataset as Record<string, unknown> | undefined;
  if (ds && typeof ds === 'object') {
    const copy: Record<string, unknown> = { ...ds };
    if (typeof copy.path === 'string') copy.path = abs(copy.path);
    const h = copy.hypsometry as Record<string, unknown> | undefined;
    if (h && typeof h === 'object' && typeof h.path === 'string')
      copy.hypsometry = { ...h, path: abs(h.path) };
    spec.base = { ...spec.base, dataset: copy };
  }
  return spec;
}

const fmt = (v: unknown) =>
  v === null || v === undefined
    ? ''
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toFixed(4)
      : String(v);

/** The sweep's table as text: one row per child, the winner marked with `*`. */
export function formatSweepTable(rec: SweepRecord, note: string | null): string {
  const grid = gridPathsOf(rec.rows);
  const metrics = [...new Set(rec.rows.flatMap((r) => Object.keys(r.metrics)))].sort();
  const head = [
    '',
    'index',
    'run',
    ...grid,
    'seed',
    'dataset',
    'status',
    ...metrics,
    'seconds',
    'worker',
    'error',
  ];
  const rows = rec.rows.map((r) => [
    rec.winner === r.index ? '*' : '',
    String(r.index),
    fmt(r.runId),
    ...grid.map((k) => fmt(r.values[k])),
    String(r.seed),
    r.dataset ? basename(r.dataset) : '',
    r.status,
    ...metrics.map((k) => fmt(r.metrics[k])),
    r.seconds === null ? '' : r.seconds.toFixed(1),
    r.worker ?? '',
    (r.error ?? '').slice(0, 80),
  ]);
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, k) => c.padEnd(w[k]!))
      .join('  ')
      .trimEnd();
  const winner = rec.rows.find((r) => r.index === rec.winner);
  return [
    `sweep ${rec.id} "${rec.name}": ${rec.status}, ${rec.done}/${rec.children} children${rec.queue ? ` on ${rec.queue}` : ''}`,
    line(head),
    ...rows.map(line),
    winner
      ? `winner (* , ${rec.select.mode} ${rec.select.period}.${rec.select.metric}): child ${winner.index}, run ${winner.runId}`
      : `no winner (no succeeded child has ${rec.select.period}.${rec.select.metric})`,
    ...(note ? [`note: ${note}`] : []),
  ].join('\n');
}

/** `fieldcal sweep --config sweep.json --project P [--queue URL] [--concurrency N] [--json]`. */
export function addSweepCommand(program: Command): void {
  program
    .command('sweep')
    .description(
      'run a sweep: a base job spec over a grid of option values, seeds and datasets (e.g. every basin CSV of a folder), recorded in a project as a parent run with one child run per combination; prints the table and the winner',
    )
    .option(
      '--config <file>',
      'sweep JSON {"name", "base": job spec, "grid": {"options.x": [..]}, "seeds": [..], "datasets": [..] | {"folder", "pattern"}, "select", "concurrency"}; relative paths are from its folder',
    )
    .requiredOption(
      '--project <file>',
      'project recording the sweep (created if missing; this process owns it while the sweep runs)',
    )
    .option(
      '--queue <url>',
      'redis://:password@host:port[/db]: children go on a BullMQ queue for `fieldcal worker`s',
    )
    .option('--concurrency <n>', 'children running at once on this machine (local)', positiveInt)
    .option(
      '--attach <id>',
      're-attach to sweep ID of the project whose coordinator stopped (children finished meanwhile are recorded, the others resume from their checkpoints; a queue sweep needs --queue again)',
      positiveId,
    )
    .option('--json', 'print the sweep record as one JSON object on stdout')
    .action(
      async (o: {
        config?: string;
        attach?: number;
        project: string;
        queue?: string;
        concurrency?: number;
        json?: boolean;
      }) => {
        if (!o.config === (o.attach === undefined))
          throw new FieldcalError(
            'VALIDATION',
            'give either --config (a new sweep) or --attach ID (a stopped one)',
            {
              field: 'config',
            },
          );
        if (o.attach !== undefined && !existsSync(resolve(o.project)))
          throw new FieldcalError('NOT_FOUND', `${o.project} not found`, {
            file: o.project,
            field: 'project',
          });
        const spec = o.config
          ? await readSweepConfig(o.config, { queue: o.queue, concurrency: o.concurrency })
          : null;
        // the coordinating process writes the project: it opens it as its owner (refused while another
        // live process owns it, project/lease.ts)
        const store = openOrCreateProject(resolve(o.project), 'owner');
        let executor: SweepExecutor | null = null;
        const bars =
          !o.json && process.stderr.isTTY
            ? new MultiBar(
                {
                  format: '{label} [{bar}] {value}/{total}',
                  stream: process.stderr,
                  hideCursor: true,
                  clearOnComplete: true,
                },
                Presets.shades_classic,
              )
            : null;
        try {
          const stored =
            o.attach !== undefined ? (store.runs.sweep(o.attach).spec as Partial<SweepSpec>) : null;
          const queue = spec ? spec.queue : o.queue;
          if (stored?.queue && !o.queue)
            throw new FieldcalError(
              'VALIDATION',
              `sweep ${o.attach} ran on ${stored.queue}: give --queue with its password`,
              { field: 'queue' },
            );
          executor = queue
            ? await QueueSweepExecutor.connect(queue, {
                namespace: createHash('sha256').update(store.path).digest('hex').slice(0, 12),
              })
            : new LocalSweepExecutor(
                store,
                undefined,
                o.concurrency ?? spec?.concurrency ?? stored?.concurrency ?? 1,
              );
          const coordinator = new SweepCoordinator(store, executor, { outDir: (id) => runsDir(store, id) });
          const children = new Map<number, SingleBar>();
          let overall: SingleBar | null = null;
          let done = 0;
          coordinator.onChild((e) => {
            if (!bars) {
              if (e.type === 'result' || e.type === 'error')
                process.stderr.write(
                  `child ${e.index} ${e.type === 'result' ? 'finished' : `failed: ${e.error.message.slice(0, 200)}`}\n`,
                );
              return;
            }
            if (e.type === 'progress' && e.progress.total > 0) {
              let b = children.get(e.index);
              if (!b) {
                b = bars.create(e.progress.total, 0, { label: `child ${e.index}`.padEnd(12) });
                children.set(e.index, b);
              }
              b.setTotal(e.progress.total);
              b.update(Math.min(e.progress.iteration, e.progress.total));
            } else if (e.type === 'result' || e.type === 'error') {
              const b = children.get(e.index);
              if (b) bars.remove(b);
              children.delete(e.index);
              overall?.update(++done);
            }
          });
          const started = spec ? await coordinator.start(spec) : await coordinator.attach(o.attach!);
          process.stderr.write(
            `sweep ${started.id}: ${started.record.children} children (${started.record.done} done) in ${store.path} (${executor.where})\n`,
          );
          done = started.record.done;
          overall = bars?.create(started.record.children, done, { label: 'children'.padEnd(12) }) ?? null;
          const stop = () => void started.cancel();
          process.once('SIGINT', stop);
          let rec: SweepRecord;
          try {
            rec = await started.done;
          } finally {
            process.off('SIGINT', stop);
            bars?.stop();
          }
          const { note } = sweepRecord(store, rec.id);
          process.stdout.write(
            o.json ? `${JSON.stringify({ ...rec, note })}\n` : `${formatSweepTable(rec, note)}\n`,
          );
          if (rec.status !== 'succeeded') process.exitCode = 1;
        } finally {
          bars?.stop();
          await executor?.close();
          store.close();
        }
      },
    );
}

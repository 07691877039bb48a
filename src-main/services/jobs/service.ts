import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { FieldcalError, type RunDetail, type ServiceImpl } from '../../../src-shared/ipc';
import type { AppEvents } from '../events';
import type { ProjectSession } from '../project/session';
import type { ProjectStore } from '../project/store';
import { kindsOf, methodNames, methodOf, methodOptions, methodOptionsSchema } from '../calibration/registry';
import { JobHost } from './host';
import { checkJob, checkParsedJob } from './preflight';
import { refuse } from './specs';
import { createHash } from 'node:crypto';
import { LocalSweepExecutor } from './localSweepExecutor';
import { QueueSweepExecutor } from './queue';
import { SweepCoordinator, sweepRecord, type StartedSweep } from './sweep';
import type { SweepExecutor } from './sweepExecutor';

/** Where a project's run outputs go: `<project>-runs/run-<id>` next to the project file. */
export const runsDir = (store: ProjectStore, runId: number) =>
  join(dirname(store.path), `${basename(store.path, extname(store.path))}-runs`, `run-${runId}`);

/**
 * The jobs service: runs recorded in the open project, and the job engine that runs them (one
 * host per open project; closing or switching the project stops its jobs, whose runs are then
 * interrupted and resumable).
 */
export function createJobsService(session: ProjectSession, events: AppEvents) {
  let host: JobHost | null = null;
  /** Sweeps running in this process: their executors close with the project. */
  const sweeps = new Map<number, { started: StartedSweep; executor: SweepExecutor; store: ProjectStore }>();
  const closeSweeps = async (except?: ProjectStore) => {
    for (const [id, s] of sweeps)
      if (s.store !== except) {
        sweeps.delete(id);
        await s.executor.close().catch(() => undefined);
      }
  };
  let hostStore: ProjectStore | null = null;
  const hostFor = (what: string): { host: JobHost; store: ProjectStore } => {
    const store = session.require(what);
    if (hostStore !== store || !host) {
      void host?.close();
      host = new JobHost(store, events);
      hostStore = store;
    }
    return { host, store };
  };
  /** Keeps a running sweep until its end, then closes its executor and tells the project's listeners. */
  const follow = (started: StartedSweep, executor: SweepExecutor, store: ProjectStore) => {
    sweeps.set(started.id, { started, executor, store });
    void started.done
      .catch((e: unknown) => process.emitWarning(`sweep ${started.id}: ${(e as Error).message}`))
      .finally(() => {
        if (sweeps.get(started.id)?.executor === executor) sweeps.delete(started.id);
        void executor.close();
        if (session.current === store) session.changed();
      });
    session.changed();
  };
  const impl: ServiceImpl<'jobs'> = {
    list: ({ status }) => session.require('jobs.list').runs.list(status),
    get: async ({ id }) => {
      const d = session.require('jobs.get').runs.detail(id);
      const parameters = await lumpedParameters(d);
      if (parameters) return { ...d, parameters };
      const basins = await basinsSummary(d);
      return basins ? { ...d, basins } : d;
    },
    submit: async ({ spec }) => {
      session.require('jobs.submit');
      // everything jobs.check finds refuses the job before its run is recorded
      const checked = await checkParsedJob(spec);
      if (checked.issues.length) throw refuse('job', checked.issues);
      const { host: h, store } = hostFor('jobs.submit');
      const run = h.submitParsed(checked.spec, { outDir: (id) => runsDir(store, id) });
      session.changed();
      return run;
    },
    check: async ({ spec }) => ({ issues: (await checkJob(spec)).issues }),
    sweep: async ({ spec }) => {
      const store = session.require('jobs.sweep');
      // sweeps of a project closed meanwhile stop with it (their runs are interrupted, resumable)
      await closeSweeps(store);
      const executor: SweepExecutor = spec.queue
        ? await QueueSweepExecutor.connect(spec.queue, {
            // child keys are unique within one project: keep this project's apart on a shared Redis
            namespace: createHash('sha256').update(store.path).digest('hex').slice(0, 12),
          })
        : new LocalSweepExecutor(store, events, spec.concurrency);
      const coordinator = new SweepCoordinator(store, executor, {
        outDir: (id) => runsDir(store, id),
        events,
      });
      let started: StartedSweep;
      try {
        started = await coordinator.start(spec);
      } catch (e) {
        await executor.close();
        throw e;
      }
      follow(started, executor, store);
      return started.record;
    },
    sweepGet: ({ id }) => {
      const { note: _n, ...rec } = sweepRecord(session.require('jobs.sweepGet'), id);
      return rec;
    },
    sweeps: () => {
      const store = session.require('jobs.sweeps');
      return store.runs.sweepIds().map((id) => {
        const { note: _n, ...rec } = sweepRecord(store, id);
        return rec;
      });
    },
    history: ({ id }) => session.require('jobs.history').runs.history(id),
    cancel: async ({ id }) => {
      // a sweep's parent cancels its children not yet recorded
      const sw = sweeps.get(id);
      if (sw) {
        await sw.started.cancel();
        return { cancelled: true };
      }
      return { cancelled: hostFor('jobs.cancel').host.cancel(id) };
    },
    resume: async ({ id }) => {
      const store = session.require('jobs.resume');
      if (!store.runs.sweepIds().includes(id)) return hostFor('jobs.resume').host.resume(id);
      // a sweep's parent: the coordinator re-attaches (children finished meanwhile recorded, the
      // others resumed from their checkpoints); a queue's password is never stored, so a queue
      // sweep re-attaches from the CLI (`fieldcal sweep --attach ID --queue URL`)
      const spec = store.runs.sweep(id).spec as { queue?: string; concurrency?: number };
      if (spec.queue)
        throw new FieldcalError(
          'VALIDATION',
          `sweep ${id} ran on the queue ${spec.queue}: re-attach with fieldcal sweep --project ${store.path} --attach ${id} --queue <url with its password>`,
          { id, field: 'queue' },
        );
      if (sweeps.has(id))
        throw new FieldcalError('CONFLICT', `sweep ${id} is running in this process`, { id });
      const executor = new LocalSweepExecutor(store, events, spec.concurrency ?? 1);
      const coordinator = new SweepCoordinator(store, executor, { outDir: (r) => runsDir(store, r), events });
      let started: StartedSweep;
      try {
        started = await coordinator.attach(id);
      } catch (e) {
        await executor.close();
        throw e;
      }
      follow(started, executor, store);
      return store.runs.get(id);
    },
    methods: () =>
      methodNames().map((name) => {
        const def = methodOf(name);
        const kinds = kindsOf(name);
        const options = Object.fromEntries(
          kinds.map((k) => [
            k,
            {
              defaults: methodOptions(name, k, {}),
              schema: methodOptionsSchema(name, k),
            },
          ]),
        );
        return {
          name,
          description: def.description,
          resumable: def.resumable,
          problems: kinds,
          defaults: methodOptions(name, kinds.includes('gridded') ? 'gridded' : kinds[0]!, {}),
          options,
        };
      }),
  };
  return {
    impl,
    close: async () => {
      await closeSweeps();
      await host?.close();
    },
  };
}

/**
 * A lumped run's calibrated parameters from its result.json (jobs/lumpedJob.ts writes them), so every
 * client shows them without fetching the file; null for other runs or when the file is gone or odd.
 */
async function lumpedParameters(d: RunDetail): Promise<Record<string, number> | null> {
  if ((d.options as { spec?: { kind?: unknown } }).spec?.kind !== 'lumped') return null;
  const a = d.artifacts.find((x) => x.kind === 'result' && x.path.endsWith('.json'));
  if (!a || (a.sizeBytes ?? 0) > 1_000_000) return null;
  try {
    const p = (JSON.parse(await readFile(a.path, 'utf8')) as { parameters?: unknown }).parameters;
    if (!p || typeof p !== 'object' || Array.isArray(p)) return null;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(p)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    return Object.keys(out).length ? out : null;
  } catch {
    return null;
  }
}

const finiteOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A basins (KGSSL) run's results per basin from its result.json (jobs/basinsJob.ts writes it): test
 * NSE, observed and imputed attributes, distance matrices and embeddings, so the run detail shows
 * them without fetching the file; null for other runs or when the file is gone or odd.
 */
async function basinsSummary(d: RunDetail): Promise<RunDetail['basins'] | null> {
  if ((d.options as { spec?: { kind?: unknown } }).spec?.kind !== 'basins') return null;
  const a = d.artifacts.find((x) => x.kind === 'result' && x.path.endsWith('.json'));
  if (!a || (a.sizeBytes ?? 0) > 20_000_000) return null;
  try {
    const r = JSON.parse(await readFile(a.path, 'utf8')) as {
      attributes?: { names?: string[]; values?: Array<Array<{ value?: unknown } | null>> };
      embeddings?: { codes?: string[]; z?: number[][] };
      info?: {
        reconstruction?: { nse?: Record<string, unknown> };
        imputation?: { correlation?: Record<string, { r?: unknown }>; values?: Record<string, unknown[]> };
        distances?: { embedding?: unknown[][]; attributes?: unknown[][]; correlation?: unknown };
        transfer?: { median?: Record<string, unknown> };
      };
    };
    const codes = r.embeddings?.codes;
    const z = r.embeddings?.z;
    if (!Array.isArray(codes) || !Array.isArray(z) || z.length !== codes.length) return null;
    const names = Array.isArray(r.attributes?.names) ? r.attributes.names.map(String) : [];
    const info = r.info ?? {};
    const imputedRows = info.imputation?.values ?? {};
    const matrix = (m: unknown[][] | undefined) =>
      Array.isArray(m) ? m.map((row) => (Array.isArray(row) ? row.map(finiteOrNull) : [])) : [];
    const transfer = info.transfer?.median;
    return {
      codes: codes.map(String),
      testNse: codes.map((c) => finiteOrNull(info.reconstruction?.nse?.[c])),
      attributes: names,
      observed: codes.map((_, k) => names.map((_, j) => finiteOrNull(r.attributes?.values?.[k]?.[j]?.value))),
      imputed: codes.map((c) => names.map((_, j) => finiteOrNull(imputedRows[c]?.[j]))),
      correlation: names.map((n) => finiteOrNull(info.imputation?.correlation?.[n]?.r)),
      distances: {
        embedding: matrix(info.distances?.embedding),
        attributes: matrix(info.distances?.attributes),
        correlation: finiteOrNull(info.distances?.correlation),
      },
      embeddings: z.map((row) => (Array.isArray(row) ? row.map(finiteOrNull) : [])),
      ...(transfer && typeof transfer === 'object'
        ? { transfer: Object.fromEntries(Object.entries(transfer).map(([k, v]) => [k, finiteOrNull(v)])) }
        : {}),
    };
  } catch {
    return null;
  }
}

import { basename, dirname, extname, join } from 'node:path';
import type { ServiceImpl } from '../../../src-shared/ipc';
import type { AppEvents } from '../events';
import type { ProjectSession } from '../project/session';
import type { ProjectStore } from '../project/store';
import { z } from 'zod';
import { kindsOf, methodNames, methodOf, methodOptions } from '../calibration/registry';
import { JobHost } from './host';
import { checkJob, checkParsedJob } from './preflight';
import { refuse } from './specs';

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
  const impl: ServiceImpl<'jobs'> = {
    list: ({ status }) => session.require('jobs.list').runs.list(status),
    get: ({ id }) => session.require('jobs.get').runs.detail(id),
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
    history: ({ id }) => session.require('jobs.history').runs.history(id),
    cancel: ({ id }) => ({ cancelled: hostFor('jobs.cancel').host.cancel(id) }),
    resume: ({ id }) => hostFor('jobs.resume').host.resume(id),
    methods: () =>
      methodNames().map((name) => {
        const def = methodOf(name);
        const kinds = kindsOf(name);
        const options = Object.fromEntries(
          kinds.map((k) => [
            k,
            {
              defaults: methodOptions(name, k, {}),
              // the form's schema: what a caller may write (defaults optional), zod 4's JSON Schema
              schema: z.toJSONSchema(def.problems[k]!.options, {
                io: 'input',
                unrepresentable: 'any',
              }) as Record<string, unknown>,
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
  return { impl, close: async () => host?.close() };
}

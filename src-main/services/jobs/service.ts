import { basename, dirname, extname, join } from 'node:path';
import type { ServiceImpl } from '../../../src-shared/ipc';
import type { AppEvents } from '../events';
import type { ProjectSession } from '../project/session';
import type { ProjectStore } from '../project/store';
import { kindsOf, methodNames, methodOf, methodOptions } from '../calibration/registry';
import { JobHost } from './host';

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
    submit: ({ spec }) => {
      const { host: h, store } = hostFor('jobs.submit');
      const run = h.submitParsed(spec, { outDir: (id) => runsDir(store, id) });
      session.changed();
      return run;
    },
    cancel: ({ id }) => ({ cancelled: hostFor('jobs.cancel').host.cancel(id) }),
    resume: ({ id }) => hostFor('jobs.resume').host.resume(id),
    methods: () =>
      methodNames('gridded').map((name) => ({
        name,
        description: methodOf(name).description,
        resumable: methodOf(name).resumable,
        problems: kindsOf(name),
        defaults: methodOptions(name, 'gridded', {}),
      })),
  };
  return { impl, close: async () => host?.close() };
}

import type { AppInfo, ServiceImpl, ServiceImpls } from '../../src-shared/ipc';
import { createAppInfoService } from './app-info';
import { AppEvents } from './events';
import {
  artifactFile,
  createDatasetsService,
  createExportService,
  createProjectService,
} from './project/services';
import { ProjectSession } from './project/session';
import { createGaugesService } from './project/gauges';
import { createStudyAreasService } from './project/studyAreas';
import { createJobsService } from './jobs/service';
import { createRastersService } from './rasters/service';
import { createUnavailableDialogs } from './app-info/dialogs';
import type { AppPaths } from './paths';

export interface ServiceContainer {
  impls: ServiceImpls;
  events: AppEvents;
  session: ProjectSession;
  /** A file recorded as an artifact of that run in the open project, or null (see project/services). */
  artifactFile: (runId: number, name: string) => string | null;
  dispose(): void;
}

/** Builds every service once; Electron, the bridge and the CLI each call this at start-up. */
export function createServices(opts: {
  mode: AppInfo['mode'];
  version: string;
  paths: AppPaths;
  /** Native file dialogs, given by the shell that has them (Electron); otherwise `open` answers UNAVAILABLE. */
  dialogs?: ServiceImpl<'dialogs'>;
}): ServiceContainer {
  const events = new AppEvents();
  const session = new ProjectSession(events);
  const jobs = createJobsService(session, events);
  const impls: ServiceImpls = {
    appInfo: createAppInfoService({ ...opts, session }),
    project: createProjectService(session),
    datasets: createDatasetsService(session, events),
    jobs: jobs.impl,
    export: createExportService(session),
    gauges: createGaugesService(session),
    studyAreas: createStudyAreasService(session),
    rasters: createRastersService(session),
    dialogs: opts.dialogs ?? createUnavailableDialogs(opts.mode),
  };
  return {
    impls,
    events,
    session,
    artifactFile: (runId, name) => artifactFile(session, runId, name),
    dispose: () => {
      void jobs.close();
      session.close();
    },
  };
}

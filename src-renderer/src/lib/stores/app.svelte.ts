import type {
  JobSpecInput,
  AppInfo,
  CalibrationMethod,
  DatasetRecord,
  JobProgress,
  LayerRecord,
  ProjectInfo,
  RunDetail,
  RunRecord,
} from '../../../../src-shared/ipc';
import { api, errorMessage, transport } from '../api';

/** App-wide state fed from main: info, the open project, its datasets and layers. */
export class AppState {
  info = $state<AppInfo | null>(null);
  project = $state<ProjectInfo | null>(null);
  datasets = $state.raw<DatasetRecord[]>([]);
  layers = $state.raw<LayerRecord[]>([]);
  runs = $state.raw<RunRecord[]>([]);
  /** The gridded calibration methods a job may name. */
  methods = $state.raw<CalibrationMethod[]>([]);
  /** The latest progress of each running job, by run id. */
  progress = $state.raw<Record<number, JobProgress>>({});
  /** The run whose details (metrics, report) are shown. */
  selectedRun = $state.raw<RunDetail | null>(null);
  error = $state<string | null>(null);
  busy = $state(false);
  /** True once the first load from main has finished (tests and the UI wait for it). */
  loaded = $state(false);
  readonly transport = transport;

  constructor() {
    api.project.onChanged(({ project }) => {
      this.project = project;
      void this.refreshProjectContent();
    });
    api.jobs.onProgress((p) => {
      this.progress = { ...this.progress, [p.runId]: p };
    });
    api.jobs.onStatus((run) => {
      const known = this.runs.some((r) => r.id === run.id);
      this.runs = known ? this.runs.map((r) => (r.id === run.id ? run : r)) : [...this.runs, run];
      if (run.status !== 'running' && run.status !== 'queued') {
        const { [run.id]: _done, ...rest } = this.progress;
        this.progress = rest;
        // a finished run's metrics and report are now recorded
        if (this.selectedRun?.id === run.id) void this.selectRun(run.id);
      }
    });
  }

  /** Loads everything the shell shows. */
  async load(): Promise<void> {
    await this.guard(async () => {
      this.info = await api.appInfo.get({});
      this.methods = await api.jobs.methods({});
      this.project = await api.project.current({});
      await this.refreshProjectContent();
    });
    this.loaded = true;
  }

  async createProject(path: string, crs?: string): Promise<void> {
    await this.guard(async () => {
      this.project = await api.project.create(crs ? { path, crs } : { path });
    });
  }

  /** Imports a local file or folder (raster, stack, NetCDF, gauge folder) into the project. */
  async importDataset(path: string): Promise<void> {
    await this.guard(async () => {
      await api.datasets.import({ path });
      await this.refreshProjectContent();
    });
  }

  async openProject(path: string): Promise<void> {
    await this.guard(async () => {
      this.project = await api.project.open({ path });
    });
  }

  async closeProject(): Promise<void> {
    await this.guard(async () => {
      await api.project.close({});
      this.project = null;
    });
  }

  async setLayerVisible(id: number, visible: boolean): Promise<void> {
    await this.guard(async () => {
      const updated = await api.datasets.setLayer({ id, visible });
      this.layers = this.layers.map((l) => (l.id === id ? updated : l));
    });
  }

  /** Queues a calibration job; the main process validates the spec in full (typed errors name the field). */
  async submitJob(spec: JobSpecInput): Promise<boolean> {
    let ok = false;
    await this.guard(async () => {
      const run = await api.jobs.submit({ spec });
      this.runs = [...this.runs.filter((r) => r.id !== run.id), run];
      ok = true;
    });
    return ok;
  }

  /** Asks a running job to stop at its next iteration boundary. */
  async cancelJob(id: number): Promise<void> {
    await this.guard(async () => {
      await api.jobs.cancel({ id });
    });
  }

  /** Resumes an interrupted run from its last checkpoint. */
  async resumeJob(id: number): Promise<void> {
    await this.guard(async () => {
      const run = await api.jobs.resume({ id });
      this.runs = this.runs.map((r) => (r.id === id ? run : r));
    });
  }

  async selectRun(id: number | null): Promise<void> {
    if (id === null) {
      this.selectedRun = null;
      return;
    }
    await this.guard(async () => {
      this.selectedRun = await api.jobs.get({ id });
    });
  }

  private async refreshProjectContent(): Promise<void> {
    if (!this.project) {
      this.datasets = [];
      this.layers = [];
      this.runs = [];
      this.selectedRun = null;
      return;
    }
    this.datasets = await api.datasets.list({});
    this.layers = await api.datasets.layers({});
    this.runs = await api.jobs.list({});
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      await fn();
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = false;
    }
  }
}

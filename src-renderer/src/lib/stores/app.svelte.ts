import type {
  AppInfo,
  DatasetRecord,
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
  }

  /** Loads everything the shell shows. */
  async load(): Promise<void> {
    await this.guard(async () => {
      this.info = await api.appInfo.get({});
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

import type { AppInfo, DatasetRecord, LayerRecord, ProjectInfo } from '../../../../src-shared/ipc';
import { api, errorMessage, transport } from '../api';

/** App-wide state fed from main: info, the open project, its datasets and layers. */
export class AppState {
  info = $state<AppInfo | null>(null);
  project = $state<ProjectInfo | null>(null);
  datasets = $state.raw<DatasetRecord[]>([]);
  layers = $state.raw<LayerRecord[]>([]);
  error = $state<string | null>(null);
  busy = $state(false);
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

  private async refreshProjectContent(): Promise<void> {
    if (!this.project) {
      this.datasets = [];
      this.layers = [];
      return;
    }
    this.datasets = await api.datasets.list({});
    this.layers = await api.datasets.layers({});
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

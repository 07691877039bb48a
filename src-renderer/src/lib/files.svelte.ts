import type { DialogFilter, FieldcalFiles } from '../../../src-shared/ipc';
import { api, errorMessage, transport } from './api';

declare global {
  interface Window {
    /** Set by the Electron preload: the real path of a dropped file. Absent in a browser. */
    fieldcalFiles?: FieldcalFiles;
  }
}

/**
 * What this shell can do with local files: native open dialogs (main's `dialogs.capabilities`: the
 * desktop app has them, the browser bridge not) and the paths of dropped files (the preload's
 * `fieldcalFiles`). Browse buttons show only when `canBrowse`.
 */
class FileAccess {
  canBrowse = $state(false);
  /** Why there are no dialogs (main's words), shown where a drop cannot be imported. */
  reason = $state<string | null>(null);
  #loaded: Promise<void> | null = null;

  /** Asks main once; a failure leaves the buttons hidden (typing paths still works). */
  load(): Promise<void> {
    this.#loaded ??= api.dialogs.capabilities({}).then(
      (c) => {
        this.canBrowse = c.open;
        this.reason = c.reason;
      },
      (err: unknown) => {
        this.canBrowse = false;
        this.reason = errorMessage(err);
      },
    );
    return this.#loaded;
  }

  /** The chosen paths, or null when cancelled. Errors reject with main's typed error. */
  async browse(opts: {
    title: string;
    kind: 'file' | 'folder';
    filters?: DialogFilter[];
    multi?: boolean;
  }): Promise<string[] | null> {
    const r = await api.dialogs.open(opts);
    return r.canceled ? null : r.paths;
  }

  /** The path on disk of a dropped file (desktop app), or null (browser, or a file not on disk). */
  pathOf(file: File): string | null {
    return window.fieldcalFiles?.pathForFile(file) ?? null;
  }

  /** True in the browser bridge, where drops cannot give paths. */
  get browser(): boolean {
    return transport === 'websocket' || !window.fieldcalFiles;
  }
}

export const fileAccess = new FileAccess();

/** File-type filters the Browse buttons use. */
export const FILTERS = {
  raster: { name: 'Rasters (GeoTIFF, NetCDF)', extensions: ['tif', 'tiff', 'nc', 'nc4'] },
  input: {
    name: 'Inputs (GeoTIFF, NetCDF, ASCII grid, CSV)',
    extensions: ['tif', 'tiff', 'nc', 'nc4', 'asc', 'csv'],
  },
  csv: { name: 'CSV', extensions: ['csv'] },
  project: { name: 'Fieldcal project', extensions: ['fieldcal'] },
  all: { name: 'All files', extensions: ['*'] },
} satisfies Record<string, DialogFilter>;

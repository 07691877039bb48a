import { FieldcalError, type ProjectInfo } from '../../../src-shared/ipc';
import type { AppEvents } from '../events';
import { ProjectStore } from './store';

/** Holds the one open project of a process and announces changes as `project.onChanged`. */
export class ProjectSession {
  private store: ProjectStore | null = null;

  constructor(private readonly events: AppEvents) {}

  get current(): ProjectStore | null {
    return this.store;
  }

  /** The open project, or a NO_PROJECT error naming what needed it. */
  require(what: string): ProjectStore {
    if (!this.store)
      throw new FieldcalError('NO_PROJECT', `Open or create a project first (${what})`, { what });
    return this.store;
  }

  create(path: string, name?: string, crs?: string): ProjectInfo {
    const next = ProjectStore.create({ path, name, crs });
    return this.replace(next);
  }

  open(path: string): ProjectInfo {
    const next = ProjectStore.open({ path });
    return this.replace(next);
  }

  close(): boolean {
    if (!this.store) return false;
    this.store.close();
    this.store = null;
    this.events.emit('project.onChanged', { project: null });
    return true;
  }

  /** Tells listeners that the open project's content changed. */
  changed(): void {
    this.events.emit('project.onChanged', { project: this.store?.info() ?? null });
  }

  private replace(next: ProjectStore): ProjectInfo {
    this.store?.close();
    this.store = next;
    const info = next.info();
    this.events.emit('project.onChanged', { project: info });
    return info;
  }
}

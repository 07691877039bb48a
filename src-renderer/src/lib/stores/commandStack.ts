/**
 * An undo/redo stack of commands. Each command knows how to do and undo itself; `run` does one
 * and clears what could be redone, as editors do.
 */
export interface Command {
  /** Shown in the tooltip of Undo / Redo. */
  readonly label: string;
  do(): void;
  undo(): void;
}

export class CommandStack {
  private done: Command[] = [];
  private undone: Command[] = [];
  private listeners = new Set<() => void>();

  constructor(private readonly limit = 200) {}

  /** Runs a command and records it. */
  run(cmd: Command): void {
    cmd.do();
    this.record(cmd);
  }

  /** Records a command whose effect already happened (e.g. a vertex drag the map did itself). */
  record(cmd: Command): void {
    this.done.push(cmd);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
    this.notify();
  }

  undo(): boolean {
    const cmd = this.done.pop();
    if (!cmd) return false;
    cmd.undo();
    this.undone.push(cmd);
    this.notify();
    return true;
  }

  redo(): boolean {
    const cmd = this.undone.pop();
    if (!cmd) return false;
    cmd.do();
    this.done.push(cmd);
    this.notify();
    return true;
  }

  clear(): void {
    this.done = [];
    this.undone = [];
    this.notify();
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }
  get canRedo(): boolean {
    return this.undone.length > 0;
  }
  get undoLabel(): string | null {
    return this.done.at(-1)?.label ?? null;
  }
  get redoLabel(): string | null {
    return this.undone.at(-1)?.label ?? null;
  }

  /** Calls `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}

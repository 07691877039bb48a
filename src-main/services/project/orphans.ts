import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { ProjectStore } from './store';

/** The name `common/atomicFile.ts` gives its temporary files: `.<name>.<12 hex>.tmp`. */
const ATOMIC_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** How deep below a folder temporary files are looked for (`<project>-runs/run-7/report/…`). */
const MAX_DEPTH = 4;

/** A folder to clean; only run folders are searched below (an artifact's folder may be anyone's). */
export interface TempDir {
  dir: string;
  recurse: boolean;
}

/**
 * Folders where a dead writer of this project may have left temporary files: the runs folder
 * (`<project>-runs`, jobs/service.ts `runsDir`), every run's output folder, the folders of its
 * recorded artifacts, and the folders of writes recorded in `pending_writes` (export destinations).
 */
export function tempDirsOf(store: ProjectStore): TempDir[] {
  const dirs = new Map<string, boolean>();
  const add = (dir: string, recurse: boolean) => dirs.set(dir, recurse || (dirs.get(dir) ?? false));
  const p = store.path;
  add(join(dirname(p), `${basename(p, extname(p))}-runs`), true);
  const options = store.db.prepare('SELECT options_json FROM runs').pluck().all() as string[];
  for (const o of options) {
    try {
      const outDir = (JSON.parse(o) as { outDir?: unknown }).outDir;
      if (typeof outDir === 'string' && outDir.startsWith('/')) add(outDir, true);
    } catch {
      // a damaged options column names no folder
    }
  }
  for (const a of store.db.prepare('SELECT path FROM artifacts').pluck().all() as string[])
    if (a.startsWith('/')) add(dirname(a), false);
  for (const w of store.db.prepare('SELECT path FROM pending_writes').pluck().all() as string[])
    if (w.startsWith('/')) add(dirname(w), false);
  return [...dirs].map(([dir, recurse]) => ({ dir, recurse }));
}

/**
 * Removes the atomic-write temporary files (`.<name>.<hex>.tmp`) in each folder, and below it down
 * to {@link MAX_DEPTH} levels when it is a run folder, never following links. Returns the paths removed; folders that are
 * missing or unreadable are skipped.
 */
export function removeOrphanTemps(dirs: readonly TempDir[]): string[] {
  const removed: string[] = [];
  const seen = new Set<string>();
  const walk = (dir: string, depth: number) => {
    const key = `${dir}\u0000${depth}`;
    if (seen.has(key)) return;
    seen.add(key);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isFile() && ATOMIC_TEMP.test(e.name)) {
        try {
          rmSync(full, { force: true });
          removed.push(full);
        } catch {
          // left for the next open
        }
      } else if (e.isDirectory() && depth < MAX_DEPTH) walk(full, depth + 1);
    }
  };
  for (const d of dirs) walk(d.dir, d.recurse ? 0 : MAX_DEPTH);
  return removed;
}

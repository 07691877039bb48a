import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import type { ProjectStore } from './store';

/** The name `common/atomicFile.ts` gives its temporary files: `.<name>.<12 hex>.tmp`. */
const ATOMIC_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** How deep below a folder temporary files are looked for (`<project>-runs/run-7/report/…`). */
const MAX_DEPTH = 4;

/** A folder to clean; only run folders are searched below (an artifact's folder may be anyone's). */
export interface TempDir {
  dir: string;
  recurse: boolean;
  /** Folders below it that are left alone (their writers live outside the project's lease). */
  skip?: readonly string[];
}

/**
 * Folders where a dead writer of this project may have left temporary files: the runs folder
 * (`<project>-runs`, jobs/service.ts `runsDir`), every run's output folder, the folders of its
 * recorded artifacts, and the folders of writes recorded in `pending_writes` (export destinations).
 * The folders of queue-sweep children not finished are skipped, with everything below them:
 * `fieldcal worker` processes write there (the child's outDir is shared with them) without holding
 * the project's lease, so a temporary file in one may be a write in flight, even with no other
 * writer of the project alive (a coordinator re-attaching after a kill). Measured: the re-attached
 * coordinator's open removed a live worker's `.Ws.tif.<hex>.tmp` before its rename, failing the
 * child (tests/integration/sweepQueueRestart).
 */
export function tempDirsOf(store: ProjectStore): TempDir[] {
  const dirs = new Map<string, boolean>();
  const add = (dir: string, recurse: boolean) => dirs.set(dir, recurse || (dirs.get(dir) ?? false));
  const p = store.path;
  add(join(dirname(p), `${basename(p, extname(p))}-runs`), true);
  // every run's output folder, except those of unfinished queue-sweep children (see above)
  const skip: string[] = [];
  const runs = store.db
    .prepare(
      `SELECT r.options_json AS options,
              s.queue IS NOT NULL AND r.status IN ('queued', 'running', 'interrupted') AS remote
         FROM runs r
         LEFT JOIN sweep_children c ON c.run_id = r.id
         LEFT JOIN sweeps s ON s.run_id = c.sweep_id`,
    )
    .all() as Array<{ options: string; remote: number | null }>;
  for (const r of runs) {
    try {
      const outDir = (JSON.parse(r.options) as { outDir?: unknown }).outDir;
      if (typeof outDir === 'string' && outDir.startsWith('/'))
        if (r.remote) skip.push(resolve(outDir));
        else add(outDir, true);
    } catch {
      // a damaged options column names no folder
    }
  }
  for (const a of store.db.prepare('SELECT path FROM artifacts').pluck().all() as string[])
    if (a.startsWith('/')) add(dirname(a), false);
  for (const w of store.db.prepare('SELECT path FROM pending_writes').pluck().all() as string[])
    if (w.startsWith('/')) add(dirname(w), false);
  for (const d of [...dirs.keys()]) if (within(d, skip)) dirs.delete(d);
  return [...dirs].map(([dir, recurse]) => ({ dir, recurse, skip }));
}

/** Whether `dir` is one of `folders` or below one (absolute folders). */
function within(dir: string, folders: readonly string[]): boolean {
  const d = resolve(dir);
  return folders.some((f) => d === f || d.startsWith(f + sep));
}

/**
 * Removes the atomic-write temporary files (`.<name>.<hex>.tmp`) in each folder, and below it down
 * to {@link MAX_DEPTH} levels when it is a run folder, never following links nor entering a folder
 * of `skip`. Returns the paths removed; folders that are
 * missing or unreadable are skipped.
 */
export function removeOrphanTemps(dirs: readonly TempDir[]): string[] {
  const removed: string[] = [];
  const seen = new Set<string>();
  const skip = dirs.flatMap((d) => d.skip ?? []);
  const walk = (dir: string, depth: number) => {
    if (within(dir, skip)) return;
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

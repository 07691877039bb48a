import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { removeOrphanTemps, tempDirsOf, type TempDir } from './orphans';
import {
  describeWriter,
  leaseTiming,
  ProjectLease,
  writerAlive,
  writerInfo,
  type LeaseTiming,
  type WriterInfo,
  type WriterRole,
} from './lease';
import { FieldcalError, type ProjectInfo } from '../../../src-shared/ipc';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations';
import { DatasetsRepo } from './repositories/datasets';
import { LayersRepo } from './repositories/layers';
import { RunsRepo } from './repositories/runs';
import { GaugesRepo } from './repositories/gauges';
import { StudyAreasRepo } from './repositories/studyAreas';

/** `PRAGMA application_id` of Fieldcal projects: ASCII "FCAL". Other SQLite files are refused. */
export const FIELDCAL_APP_ID = 0x4643414c;
const SQLITE_HEADER = 'SQLite format 3\u0000';

export interface OpenProjectOptions {
  /** Path of the project file (by convention `*.fieldcal`). */
  path: string;
  /**
   * `owner` (default): the one process that runs jobs in the project; refused while another
   * process's owner lease is alive. `recorder`: a CLI command that only appends its own run, allowed
   * beside a live owner.
   */
  role?: WriterRole | undefined;
  /** Lease lifetime and heartbeat (tests shorten them); see {@link leaseTiming}. */
  lease?: Partial<LeaseTiming> | undefined;
}

export interface CreateProjectOptions extends OpenProjectOptions {
  /** Display name; defaults to the file name without extension. */
  name?: string | undefined;
  /** CRS for files that carry none, `EPSG:n`. */
  crs?: string | undefined;
}

/**
 * One open project file. All writes go through {@link ProjectStore.transaction} or a repository
 * method that uses it, so a killed process leaves either the whole change or none of it.
 */
export class ProjectStore {
  readonly path: string;
  readonly db: Database.Database;
  readonly datasets: DatasetsRepo;
  readonly layers: LayersRepo;
  readonly runs: RunsRepo;
  readonly gauges: GaugesRepo;
  readonly studyAreas: StudyAreasRepo;
  /** This process's row in `project_writers` (heartbeat while open, deleted on close). */
  readonly lease: ProjectLease;
  /** Temporary files of dead writers removed when this store opened. */
  orphansRemoved: string[] = [];

  private constructor(path: string, db: Database.Database, role: WriterRole, timing: LeaseTiming) {
    this.path = path;
    this.db = db;
    this.lease = new ProjectLease(db, role, timing);
    const tx = <T>(fn: () => T): T => this.transaction(fn);
    this.datasets = new DatasetsRepo(db, tx);
    this.layers = new LayersRepo(db, tx);
    this.runs = new RunsRepo(db, tx);
    this.gauges = new GaugesRepo(db, tx);
    this.studyAreas = new StudyAreasRepo(db, tx);
    this.runs.ownerId = this.lease.ownerId;
  }

  /** Creates a new project file; refuses to overwrite an existing file. */
  static create({ path, name, crs, lease }: CreateProjectOptions): ProjectStore {
    checkPath(path);
    if (existsSync(path)) {
      throw new FieldcalError(
        'CONFLICT',
        `A file already exists at ${path}; open it or choose another name`,
        {
          path,
        },
      );
    }
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      throw new FieldcalError('IO', `Cannot create project ${path}: ${(err as Error).message}`, { path });
    }
    configure(db);
    db.pragma(`application_id = ${FIELDCAL_APP_ID}`);
    const store = new ProjectStore(path, db, 'owner', leaseTiming(lease));
    store.migrate();
    store.transaction(() => {
      const put = db.prepare('INSERT INTO project_meta (key, value) VALUES (?, ?)');
      put.run('name', name ?? basename(path).replace(/\.[^.]+$/, ''));
      put.run('created_at', new Date().toISOString());
      if (crs) put.run('crs', crs);
      store.lease.acquire(path);
    });
    store.lease.start();
    return store;
  }

  /**
   * Opens an existing project. The file is checked read-only first: a non-SQLite file, a corrupt
   * database, a SQLite file that is not a Fieldcal project, or one written by a newer Fieldcal is
   * refused before anything is written to it.
   */
  static open({ path, role = 'owner', lease }: OpenProjectOptions): ProjectStore {
    checkPath(path);
    preflight(path);
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: true });
    } catch (err) {
      throw new FieldcalError('IO', `Cannot open project ${path}: ${(err as Error).message}`, { path });
    }
    configure(db);
    const store = new ProjectStore(path, db, role, leaseTiming(lease));
    let orphanDirs: TempDir[] = [];
    try {
      store.migrate();
      store.transaction(() => {
        store.lease.acquire(path);
        if (role !== 'owner') return;
        // A run still marked running whose writer is dead was cut off by a crash or kill: say so
        // instead of pretending it goes on. Runs of live writers (a CLI recorder) are left alone.
        const live = store.lease.writers().map((w) => w.owner_id);
        store.runs.markInterrupted(live);
        // temporary files are cleaned only when no other writer could be writing one right now
        if (store.lease.others().length === 0) {
          orphanDirs = tempDirsOf(store);
          db.prepare('DELETE FROM pending_writes').run();
        }
      });
    } catch (err) {
      store.lease.release();
      db.close();
      throw err;
    }
    store.orphansRemoved = removeOrphanTemps(orphanDirs);
    store.lease.start();
    return store;
  }

  /**
   * The live writer of another process that queued or runs this run, or null when it has none (or
   * it is this store): such a run must not be resumed or changed here.
   */
  liveRunOwner(runId: number): WriterInfo | null {
    const owner = this.runs.ownerOf(runId);
    if (!owner || owner === this.lease.ownerId) return null;
    const row = this.lease.writers().find((w) => w.owner_id === owner);
    return row && writerAlive(row) ? writerInfo(row) : null;
  }

  /** CONFLICT naming the live writer when {@link liveRunOwner} has one. */
  refuseIfOwnedElsewhere(runId: number, what: string): void {
    const w = this.liveRunOwner(runId);
    if (w)
      throw new FieldcalError(
        'CONFLICT',
        `run ${runId} belongs to a live Fieldcal process (${describeWriter(w)}); ${what} it there or wait until it ends`,
        { id: runId, reason: 'owned', owner: w },
      );
  }

  /**
   * Runs `write` (a file written atomically outside the runs folder, e.g. an export destination)
   * with its path recorded in `pending_writes`, so its temporary sibling is removed on the next
   * open if this process dies during the write.
   */
  async trackWrite<T>(dest: string, write: () => Promise<T>): Promise<T> {
    this.transaction(() =>
      this.db
        .prepare(
          'INSERT INTO pending_writes (path, owner_id, at) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET owner_id = excluded.owner_id, at = excluded.at',
        )
        .run(dest, this.lease.ownerId, new Date().toISOString()),
    );
    try {
      return await write();
    } finally {
      if (this.db.open)
        this.transaction(() =>
          this.db
            .prepare('DELETE FROM pending_writes WHERE path = ? AND owner_id = ?')
            .run(dest, this.lease.ownerId),
        );
    }
  }

  /** Runs `fn` in one IMMEDIATE transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** The schema version stored in the file. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Summary shown by the UI. */
  info(): ProjectInfo {
    const meta = new Map(
      (
        this.db.prepare('SELECT key, value FROM project_meta').all() as Array<{ key: string; value: string }>
      ).map((r) => [r.key, r.value]),
    );
    const count = (table: string) =>
      (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      path: this.path,
      name: meta.get('name') ?? basename(this.path),
      schemaVersion: this.schemaVersion,
      createdAt: meta.get('created_at') ?? '',
      crs: meta.get('crs') ?? null,
      counts: {
        datasets: count('datasets'),
        layers: count('layers'),
        gauges: count('gauges'),
        studyAreas: count('study_areas'),
        runs: count('runs'),
      },
    };
  }

  /** Sets the project CRS (used for files without one). */
  setCrs(crs: string): void {
    this.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO project_meta (key, value) VALUES ('crs', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run(crs);
    });
  }

  /** A value of `project_meta`, or null when unset. */
  getMeta(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM project_meta WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row?.value ?? null;
  }

  /** Sets a value of `project_meta` in one transaction. */
  setMeta(key: string, value: string): void {
    this.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        )
        .run(key, value);
    });
  }

  /** Releases the lease (the project is free for another process at once) and closes the file. */
  close(): void {
    this.lease.release();
    if (this.db.open) this.db.close();
  }

  private migrate(): void {
    const current = this.schemaVersion;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      this.transaction(() => {
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      });
    }
  }
}

function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // FULL: a committed transaction survives a power cut as well as a killed process.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
}

/** A project path must be non-empty and hold no NUL byte (SQLite would cut the name there). */
function checkPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\u0000'))
    throw new FieldcalError(
      'VALIDATION',
      `Project path ${JSON.stringify(path)} is empty or holds a NUL byte`,
      {
        path,
        field: 'path',
      },
    );
}

/** Read-only checks before a project is opened for writing. Throws a typed error naming the file. */
function preflight(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new FieldcalError('IO', `${path} is not a file`, { path });
    size = st.size;
  } catch (err) {
    if (err instanceof FieldcalError) throw err;
    throw new FieldcalError('NOT_FOUND', `Project file not found: ${path}`, { path });
  }
  const header = Buffer.alloc(16);
  if (size >= 16) {
    const fd = openSync(path, 'r');
    try {
      readSync(fd, header, 0, 16, 0);
    } finally {
      closeSync(fd);
    }
  }
  if (size < 100 || header.toString('latin1') !== SQLITE_HEADER) {
    throw new FieldcalError(
      'PROJECT_NOT_SQLITE',
      `${path} is not a Fieldcal project (not an SQLite database)`,
      {
        path,
        size,
      },
    );
  }
  let ro: Database.Database | undefined;
  try {
    ro = new Database(path, { readonly: true, fileMustExist: true });
    const appId = ro.pragma('application_id', { simple: true }) as number;
    const version = ro.pragma('user_version', { simple: true }) as number;
    const check = ro.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') {
      throw new FieldcalError('PROJECT_CORRUPT', `${path} is damaged: ${check}`, { path, check });
    }
    if (appId !== FIELDCAL_APP_ID) {
      throw new FieldcalError(
        'PROJECT_NOT_FIELDCAL',
        `${path} is an SQLite database but not a Fieldcal project (application_id ${appId})`,
        { path, applicationId: appId },
      );
    }
    if (version > LATEST_SCHEMA_VERSION) {
      throw new FieldcalError(
        'PROJECT_NEWER_SCHEMA',
        `${path} was written by a newer Fieldcal (schema ${version}; this version reads up to ${LATEST_SCHEMA_VERSION})`,
        { path, schemaVersion: version, supported: LATEST_SCHEMA_VERSION },
      );
    }
  } catch (err) {
    if (err instanceof FieldcalError) throw err;
    throw new FieldcalError(
      'PROJECT_CORRUPT',
      `${path} cannot be read as a project: ${(err as Error).message}`,
      {
        path,
        sqliteCode: (err as { code?: string }).code ?? null,
      },
    );
  } finally {
    ro?.close();
  }
}

import m001 from './001_initial.sql?raw';
import m002 from './002_checkpoints.sql?raw';
import m003 from './003_workspace.sql?raw';
import m004 from './004_lease.sql?raw';
import m005 from './005_model_datasets.sql?raw';
import m006 from './006_sweeps.sql?raw';

/** One schema step. `version` is what `PRAGMA user_version` holds after it has run. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration in order; add one file and one line here to change the schema. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '001_initial', sql: m001 },
  { version: 2, name: '002_checkpoints', sql: m002 },
  { version: 3, name: '003_workspace', sql: m003 },
  { version: 4, name: '004_lease', sql: m004 },
  { version: 5, name: '005_model_datasets', sql: m005 },
  { version: 6, name: '006_sweeps', sql: m006 },
];

/** The schema version this build writes. Files with a higher version are refused, never downgraded. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

// Child process for the one-writer tests: opens a project as `owner` or `recorder`, records a run
// left running, leaves an atomic-write temporary file in the run's folder (as a writer killed
// mid-write would), prints `ready <runId>` and holds the project (heartbeat on) until killed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { ProjectStore } from '../../src-main/services/project/store';

const [path, role] = process.argv.slice(2) as [string, 'owner' | 'recorder'];
const store = ProjectStore.open({ path, role });
const run = store.runs.create({ name: `held by ${process.pid}`, method: 'ann', options: {}, seed: 1 });
store.runs.setStatus(run.id, 'running');
const runDir = join(dirname(path), `${basename(path, extname(path))}-runs`, `run-${run.id}`);
mkdirSync(runDir, { recursive: true });
writeFileSync(join(runDir, '.params.tif.0123456789ab.tmp'), 'half a file');
process.stdout.write(`ready ${run.id}\n`);
// the lease's heartbeat timer is unref'd: keep the process (and so the heartbeat) alive
setInterval(() => undefined, 1000);

// Child of the SIGKILL fuzzer (fuzz/kill.ts): one piece of work on a project, to be killed at a
// random moment. `run`: a small twin job; `resume`: every interrupted run resumed; `export`: every
// artifact of the succeeded runs copied out (through the export service) a few times over.
// Prints `started` once the project is open and the work begun, `done` when it has finished.
import { basename, join } from 'node:path';
import { AppEvents } from '../src-main/services/events';
import { JobHost } from '../src-main/services/jobs/host';
import { runsDir } from '../src-main/services/jobs/service';
import { createExportService } from '../src-main/services/project/services';
import { ProjectSession } from '../src-main/services/project/session';

export const KILL_JOB = {
  kind: 'twin',
  method: 'ann',
  seed: 3,
  threads: 1,
  twin: { rows: 6, cols: 8, seed: 2, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
  options: { iterations: 12, validEvery: 3 },
};

async function main(): Promise<void> {
  const [mode, path, exportDir] = process.argv.slice(2) as ['run' | 'resume' | 'export', string, string];
  const session = new ProjectSession(new AppEvents());
  const store = session.open(path) && session.require('kill child');
  if (mode === 'export') {
    const exp = createExportService(session);
    const runs = store.runs.list('succeeded');
    process.stdout.write('started\n');
    for (let round = 0; round < 5; round++)
      for (const r of runs)
        for (const a of store.runs.artifacts(r.id))
          await exp.copyArtifact({
            id: a.id,
            destination: join(exportDir, basename(a.path)),
            overwrite: true,
          });
  } else {
    const host = new JobHost(store);
    const ids =
      mode === 'resume'
        ? store.runs.list('interrupted').map((r) => host.resume(r.id).id)
        : [host.submit(KILL_JOB, { outDir: (id) => runsDir(store, id) }).id];
    process.stdout.write('started\n');
    for (const id of ids) await host.wait(id);
    await host.close();
  }
  session.close();
  process.stdout.write('done\n');
}

await main();

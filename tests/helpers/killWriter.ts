// Child process for the crash test: commits rows one transaction at a time, then starts a large
// transaction and waits to be killed in the middle of it. Prints progress lines on stdout.
import { ProjectStore } from '../../src-main/services/project/store';

const [path, committedArg] = process.argv.slice(2);
const committed = Number(committedArg);
const store = ProjectStore.open({ path: path! });
for (let i = 0; i < committed; i++) {
  const run = store.runs.create({ name: `committed-${i}`, method: 'sce-ua', options: { i }, seed: i });
  store.runs.addMetrics(run.id, [{ period: 'train', target: 'Q', metric: 'nse', value: i / 100 }]);
}
process.stdout.write(`committed ${committed}\n`);
store.transaction(() => {
  // ~10 MB: more than the page cache, so uncommitted pages spill into the WAL before the kill.
  const pad = 'x'.repeat(2000);
  for (let i = 0; i < 5000; i++) {
    store.runs.create({ name: `uncommitted-${i}`, method: 'dpl', options: { i, pad }, seed: i });
  }
  process.stdout.write('in transaction\n');
  // Block inside the open transaction until the parent kills us.
  const until = Date.now() + 60_000;
  const buf = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < until) Atomics.wait(buf, 0, 0, 100);
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../src-main/server/server';
import { createServices } from '../src-main/services';
import { tempDir } from '../tests/helpers/tmp';
import { call, connect } from '../tests/helpers/wsClient';
import { dispatch } from '../src-main/ipc/dispatch';
import { machine, median, timeRuns } from './stats';

/** Round trips through the handler layer and the WebSocket bridge, and project write throughput. */
export async function ipcBench(): Promise<Record<string, unknown>> {
  const tmp = tempDir('fieldcal-bench-');
  const web = join(tmp.dir, 'web');
  mkdirSync(web);
  writeFileSync(join(web, 'index.html'), '<html><head></head></html>');
  const services = createServices({
    mode: 'server',
    version: 'bench',
    paths: { userData: tmp.dir, resources: tmp.dir, sampleData: tmp.dir },
  });
  services.session.create(join(tmp.dir, 'bench.fieldcal'));
  const store = services.session.require('bench');
  const server = await startServer({
    impls: services.impls,
    events: services.events,
    rendererDir: web,
    port: 0,
  });
  const ws = await connect(server.port, { token: server.token });
  try {
    const n = 2000;
    const direct = await timeRuns(n, () => dispatch(services.impls, 'project', 'current', {}));
    const socket = await timeRuns(n, () => call(ws, 'project', 'current', {}));
    const runs = 500;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const r = store.runs.create({ name: `r${i}`, method: 'sce-ua', options: { i }, seed: i });
      store.runs.addMetrics(r.id, [
        { period: 'train', target: 'Q', metric: 'nse', value: 0.8 },
        { period: 'train', target: 'Q', metric: 'kge', value: 0.7 },
      ]);
    }
    const writeMs = performance.now() - t0;
    return {
      machine: machine(),
      dispatch_median_us: +(median(direct) * 1000).toFixed(1),
      websocket_roundtrip_median_us: +(median(socket) * 1000).toFixed(1),
      calls: n,
      project_transactions_per_s: Math.round((2 * runs) / (writeMs / 1000)),
      note: 'transactions are synchronous=FULL (fsync per commit) in WAL mode',
    };
  } finally {
    ws.close();
    await server.close();
    services.dispose();
    tmp.cleanup();
  }
}

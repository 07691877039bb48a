// Child-process entry: `fieldcal serve`'s bridge on a fresh user-data folder, printing
// {"port", "token"} as one JSON line. Run by tests/helpers/bridgeProcess.ts, so a crash of the bridge
// is seen as this process exiting, not as the test runner dying.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../src-main/server/server';
import { createServices } from '../../src-main/services';

const userData = process.env.FIELDCAL_USER_DATA;
if (!userData) throw new Error('FIELDCAL_USER_DATA is not set');
const web = join(userData, 'renderer');
mkdirSync(web, { recursive: true });
writeFileSync(join(web, 'index.html'), '<html><head><title>t</title></head><body></body></html>');
const services = createServices({
  mode: 'server',
  version: 'test',
  paths: { userData, resources: userData, sampleData: userData },
});
const server = await startServer({
  impls: services.impls,
  events: services.events,
  rendererDir: web,
  port: 0,
  artifactFile: services.artifactFile,
});
process.stdout.write(`${JSON.stringify({ port: server.port, token: server.token })}\n`);

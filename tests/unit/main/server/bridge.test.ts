import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import type WebSocket from 'ws';
import { contractMethods } from '../../../../src-shared/ipc';
import { startServer, type RunningServer } from '../../../../src-main/server/server';
import { isLoopback } from '../../../../src-main/server/auth';
import { createServices, type ServiceContainer } from '../../../../src-main/services';
import { artifactFile } from '../../../../src-main/services/project/services';
import { allInvalidCalls, validArgs } from '../../../helpers/samples';
import { tempDir } from '../../../helpers/tmp';
import { call, callRaw, connect, parseFrame } from '../../../helpers/wsClient';

let tmp: ReturnType<typeof tempDir>;
let services: ServiceContainer;
let server: RunningServer;
let ws: WebSocket;

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = tempDir();
  const web = join(tmp.dir, 'renderer');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<html><head><title>t</title></head><body></body></html>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmp.dir, 'secret.txt'), 'secret');
  services = createServices({
    mode: 'server',
    version: 't',
    paths: { userData: tmp.dir, resources: tmp.dir, sampleData: tmp.dir },
  });
  server = await startServer({
    impls: services.impls,
    events: services.events,
    rendererDir: web,
    port: 0,
    artifactFile: (runId, name) => artifactFile(services.session, runId, name),
  });
  ws = await connect(server.port, { token: server.token });
});
afterAll(async () => {
  ws.close();
  await server.close();
  services.dispose();
  tmp.cleanup();
});

describe('WebSocket bridge security', () => {
  it('binds to loopback by default and prints a tokened loopback URL', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(isLoopback(server.host)).toBe(true);
    expect(server.url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{43}$`),
    );
  });

  it('refuses a socket without the token, with a wrong token, from another origin or Host', async () => {
    await expect(connect(server.port)).rejects.toThrow('refused 401');
    await expect(connect(server.port, { token: 'x'.repeat(43) })).rejects.toThrow('refused 401');
    await expect(
      connect(server.port, { token: server.token, origin: 'http://evil.example' }),
    ).rejects.toThrow('refused 403');
    await expect(connect(server.port, { token: server.token, host: 'evil.example' })).rejects.toThrow(
      'refused 421',
    );
    const ok = await connect(server.port, { token: server.token, origin: `http://127.0.0.1:${server.port}` });
    ok.close();
  });

  it('serves the page only with the token, injecting it into index.html', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/assets/app.js')).status).toBe(401);
    const page = await get(`/?token=${server.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`<meta name="fieldcal-token" content="${server.token}">`);
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    expect((await get('/assets/app.js', { cookie })).status).toBe(200);
    expect((await get('/../secret.txt', { cookie })).status).not.toBe(200);
    expect((await get('/assets%2f..%2f..%2fsecret.txt', { cookie })).status).toBe(403);
    expect((await get('/', { cookie, host: 'evil.example' })).status).toBe(421);
  });
});

describe('run artifacts over the bridge', () => {
  it('serves only files recorded as artifacts of the run, behind the token, as script-free pages', async () => {
    services.session.create(join(tmp.dir, 'artifacts.fieldcal'));
    const store = services.session.require('test');
    const run = store.runs.create({ name: 'r', method: 'evaluate', options: {}, seed: 0 });
    const outDir = join(tmp.dir, 'artifacts-runs', `run-${run.id}`);
    mkdirSync(outDir, { recursive: true });
    store.runs.setOptions(run.id, { outDir });
    const report = join(outDir, 'index.html');
    writeFileSync(report, '<h1>report</h1>');
    store.runs.addArtifact({ runId: run.id, kind: 'report', path: report, sizeBytes: 15, checksum: null });
    const cookie = String((await get(`/?token=${server.token}`)).headers['set-cookie']).split(';')[0]!;
    expect((await get(`/artifacts/run/${run.id}/index.html`)).status).toBe(401);
    const ok = await get(`/artifacts/run/${run.id}/index.html`, { cookie });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('<h1>report</h1>');
    expect(String(ok.headers['content-security-policy'])).toContain("default-src 'none'");
    expect((await get(`/artifacts/run/${run.id}/secret.txt`, { cookie })).status).toBe(404);
    expect((await get(`/artifacts/run/${run.id}/..%2F..%2Fsecret.txt`, { cookie })).status).toBe(404);
    expect((await get(`/artifacts/run/999/index.html`, { cookie })).status).toBe(404);
    services.session.close();
  });

  it('refuses a crafted artifact row pointing outside its run folder (issue 16)', async () => {
    services.session.create(join(tmp.dir, 'crafted.fieldcal'));
    const store = services.session.require('test');
    const run = store.runs.create({ name: 'r', method: 'evaluate', options: {}, seed: 0 });
    const outDir = join(tmp.dir, 'crafted-runs', `run-${run.id}`);
    mkdirSync(outDir, { recursive: true });
    store.runs.setOptions(run.id, { outDir });
    writeFileSync(join(outDir, 'inside.html'), '<p>inside</p>');
    symlinkSync(join(tmp.dir, 'secret.txt'), join(outDir, 'link.txt'));
    const other = store.runs.create({ name: 'o', method: 'evaluate', options: {}, seed: 0 });
    const otherDir = join(tmp.dir, 'crafted-runs', `run-${other.id}`);
    mkdirSync(otherDir, { recursive: true });
    writeFileSync(join(otherDir, 'other.html'), '<p>other run</p>');
    const add = (runId: number, path: string) =>
      store.runs.addArtifact({ runId, kind: 'report', path, sizeBytes: 1, checksum: null });
    add(run.id, join(tmp.dir, 'secret.txt')); // outside any run folder
    add(run.id, join(outDir, 'link.txt')); // a link inside, to a file outside
    add(run.id, join(otherDir, 'other.html')); // another run's folder
    add(run.id, join(outDir, 'inside.html'));
    const cookie = String((await get(`/?token=${server.token}`)).headers['set-cookie']).split(';')[0]!;
    const status = async (name: string) => (await get(`/artifacts/run/${run.id}/${name}`, { cookie })).status;
    expect(await status('inside.html')).toBe(200);
    expect(await status('secret.txt')).toBe(404);
    expect(await status('link.txt')).toBe(404);
    expect(await status('other.html')).toBe(404);
    // a run whose recorded folder is not named for it (crafted `outDir: "/"`) serves nothing
    store.runs.setOptions(run.id, { outDir: tmp.dir });
    expect(await status('inside.html')).toBe(404);
    expect(await status('secret.txt')).toBe(404);
    services.session.close();
  });
});

describe('contract validation through the WebSocket bridge', () => {
  it.each(allInvalidCalls())(
    '$service.$method refuses $label with VALIDATION',
    async ({ service, method, payload }) => {
      const r = await call(ws, service, method, payload);
      expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    },
  );

  it('refuses malformed frames and unknown methods with typed errors', async () => {
    expect(
      await callRaw(ws, { id: 5, service: 'project', method: 'current', payload: {}, extra: 1 }, 5),
    ).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION' },
    });
    expect(await callRaw(ws, 'not json', -1)).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect(await call(ws, 'project', 'drop', {})).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
  });

  it('answers every method and pushes events to the socket', async () => {
    const events: unknown[] = [];
    ws.on('message', (d, isBinary) => {
      const m = parseFrame(d, isBinary) as { event?: string };
      if (m.event) events.push(m);
    });
    const path = join(tmp.dir, 'bridge.fieldcal');
    const created = await call(ws, 'project', 'create', { path, name: 'Bridge' });
    expect(created).toMatchObject({ ok: true, value: { name: 'Bridge', path } });
    await expect.poll(() => events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ event: 'project.onChanged', payload: { project: { path } } });
    const info = await call(ws, 'appInfo', 'get', {});
    expect(info).toMatchObject({ ok: true, value: { mode: 'server', project: { path } } });
    // every method is reachable over the socket: it answers, never UNKNOWN_METHOD
    for (const { service, method } of contractMethods()) {
      const sample = {
        ...(validArgs as Record<string, Record<string, Record<string, unknown>>>)[service]![method]!,
      };
      if ('path' in sample) sample.path = join(tmp.dir, `${method}.fieldcal`);
      if ('destination' in sample) sample.destination = join(tmp.dir, 'out.bin');
      const r = await call(ws, service, method, sample);
      // the bridge has no native dialogs: dialogs.open answers UNAVAILABLE (issue 14)
      const allowed = service === 'dialogs' ? ['UNAVAILABLE'] : ['NOT_FOUND', 'NO_PROJECT', 'CONFLICT'];
      if (!r.ok) expect(allowed).toContain(r.error.code);
    }
  });
});

describe('typed arrays over the bridge', () => {
  it('sends a rasters.read reply as a binary frame that decodes to a Float32Array; plain replies stay JSON text', async () => {
    await call(ws, 'project', 'create', {
      path: join(tmp.dir, 'binary.fieldcal'),
      name: 'Binary',
      crs: 'EPSG:2154',
    });
    const imported = await call(ws, 'datasets', 'import', {
      path: resolve('resources/sample-data/lez/descriptor/slope.tif'),
      kind: 'raster',
    });
    expect(imported.ok).toBe(true);
    const datasetId = (imported as { value: { id: number } }).value.id;
    const frames: Array<{ isBinary: boolean; data: WebSocket.RawData }> = [];
    const listener = (data: WebSocket.RawData, isBinary: boolean) => frames.push({ data, isBinary });
    ws.on('message', listener);
    try {
      const r = await call(ws, 'rasters', 'read', { source: { datasetId } });
      expect(r.ok).toBe(true);
      const view = (
        r as { value: { data: Float32Array; width: number; height: number; stats: { count: number } } }
      ).value;
      expect(view.data).toBeInstanceOf(Float32Array);
      expect(view.data.length).toBe(14 * 27);
      expect([view.width, view.height, view.stats.count]).toEqual([14, 27, 378]);
      const binary = frames.filter((f) => f.isBinary);
      expect(binary).toHaveLength(1);
      const decoded = parseFrame(binary[0]!.data, true) as {
        id: number;
        ok: boolean;
        value: { data: Float32Array };
      };
      expect(decoded.ok).toBe(true);
      expect(Array.from(decoded.value.data)).toEqual(Array.from(view.data));
      // the header carries no number list: the values are only in the binary part
      const raw = binary[0]!.data as Buffer;
      const header = raw.subarray(4, 4 + raw.readUInt32LE(0)).toString('utf8');
      expect(header).toContain('"$typed":"Float32Array"');
      expect(header.length).toBeLessThan(2000);
      frames.length = 0;
      expect(await call(ws, 'rasters', 'crs', { crs: 'EPSG:2154' })).toMatchObject({ ok: true });
      const missing = await call(ws, 'rasters', 'read', { source: { datasetId: 999 } });
      expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      expect(frames.map((f) => f.isBinary)).toEqual([false, false]);
    } finally {
      ws.off('message', listener);
    }
  });
});

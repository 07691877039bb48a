import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { decodeFrame } from '../src-shared/ipc/binary';
import { TOKEN_PROTOCOL_PREFIX, WS_PATH } from '../src-shared/ipc';
import { startBridgeProcess } from '../tests/helpers/bridgeProcess';
import { normalCall } from '../tests/helpers/fuzz/socketFuzz';
import { tempDir } from '../tests/helpers/tmp';
import { rng } from '../tests/helpers/fuzz/socketInputs';
import type { FuzzReport } from './registry';

/** The bundled Lez (smash layout), imported into the project under load. */
const LEZ = resolve('resources/sample-data/lez');

type Outcome = 'ok' | 'typedError' | 'untyped' | 'dropped';

interface Client {
  ws: WebSocket;
  next: number;
  pending: Map<number, { at: number; done: (o: Outcome, ms: number, code?: string) => void }>;
}

/** Opens an authenticated socket on the bridge. */
function connect(port: number, token: string): Promise<Client> {
  return new Promise((resolveClient, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, [`${TOKEN_PROTOCOL_PREFIX}${token}`]);
    const c: Client = { ws, next: 1, pending: new Map() };
    ws.binaryType = 'arraybuffer';
    ws.on('message', (d: ArrayBuffer | Buffer | string, isBinary: boolean) => {
      const m = (isBinary ? decodeFrame(d as ArrayBuffer) : JSON.parse(String(d))) as {
        id?: number;
        ok?: boolean;
        error?: { code?: string };
      };
      const p = m.id !== undefined ? c.pending.get(m.id) : undefined;
      if (!p) return; // events
      c.pending.delete(m.id!);
      const code = typeof m.error?.code === 'string' ? m.error.code : undefined;
      p.done(m.ok ? 'ok' : code ? 'typedError' : 'untyped', performance.now() - p.at, code);
    });
    ws.on('close', () => {
      for (const p of c.pending.values()) p.done('dropped', performance.now() - p.at);
      c.pending.clear();
    });
    ws.once('open', () => resolveClient(c));
    ws.once('error', reject);
  });
}

/** One call on a socket, answered or dropped within `timeoutMs` (a hang otherwise). */
function call(
  c: Client,
  service: string,
  method: string,
  payload: unknown,
  timeoutMs = 60_000,
): Promise<{ outcome: Outcome | 'hang'; ms: number; code?: string | undefined }> {
  return new Promise((done) => {
    const id = c.next++;
    const timer = setTimeout(() => {
      c.pending.delete(id);
      done({ outcome: 'hang', ms: timeoutMs });
    }, timeoutMs);
    c.pending.set(id, {
      at: performance.now(),
      done: (outcome, ms, code) => {
        clearTimeout(timer);
        done({ outcome, ms, code });
      },
    });
    c.ws.send(JSON.stringify({ id, service, method, payload }));
  });
}

/** A call whose value is needed (set-up): the raw reply frame. */
function request<T>(c: Client, service: string, method: string, payload: unknown): Promise<T> {
  return new Promise((done, fail) => {
    const id = c.next++;
    const onMessage = (d: ArrayBuffer | Buffer | string, isBinary: boolean) => {
      const m = (isBinary ? decodeFrame(d as ArrayBuffer) : JSON.parse(String(d))) as {
        id?: number;
        ok?: boolean;
        value?: T;
        error?: unknown;
      };
      if (m.id !== id) return;
      c.ws.off('message', onMessage);
      if (m.ok) done(m.value as T);
      else fail(new Error(`${service}.${method}: ${JSON.stringify(m.error)}`));
    };
    c.ws.on('message', onMessage);
    c.ws.send(JSON.stringify({ id, service, method, payload }));
  });
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 10) / 10;
};

/**
 * Load soak of `fieldcal serve` (issue 16): a project with the Lez imported, then `count` calls
 * spread over 32 concurrent sockets — reads of rasters (binary frames), identify, series, lists,
 * job checks, invalid payloads, unknown methods — while sockets are dropped mid-call and reopened.
 * Reports outcomes, latency quantiles, peak RSS, whether a normal call still answers afterwards and
 * the project's SQLite integrity check once the server stopped.
 */
export async function loadSoak(count: number, seed: number): Promise<FuzzReport> {
  const tmp = tempDir('fieldcal-load-');
  const bridge = await startBridgeProcess(tmp.dir);
  const rand = rng(seed);
  const projectPath = join(tmp.dir, 'load.fieldcal');
  const outcomes: Record<string, number> = { ok: 0, typedError: 0, untyped: 0, dropped: 0, hang: 0 };
  const latency: Record<string, number[]> = {};
  let dropsForced = 0;
  /** Typed errors by method and code: each must be one the call was meant to provoke. */
  const errors: Record<string, number> = {};
  try {
    const setup = await connect(bridge.port, bridge.token);
    await request(setup, 'project', 'create', { path: projectPath, name: 'load', crs: 'EPSG:2154' });
    const slope = await request<{ id: number }>(setup, 'datasets', 'import', {
      path: join(LEZ, 'descriptor', 'slope.tif'),
    });
    const prcp = await request<{ id: number }>(setup, 'datasets', 'import', { path: join(LEZ, 'prcp') });
    const grid = (await request<{
      grid: { x0: number; y0: number; dx: number; dy: number; rows: number; cols: number };
    }>(setup, 'datasets', 'get', { id: slope.id }))!.grid;
    setup.ws.close();
    const point = () => ({
      x: grid.x0 + (0.05 + 0.9 * rand()) * grid.cols * grid.dx,
      y: grid.y0 - (0.05 + 0.9 * rand()) * grid.rows * grid.dy,
      crs: 'EPSG:2154',
    });
    // the mix of calls: [weight, service, method, payload]
    const mix: Array<[number, string, string, () => unknown]> = [
      [3, 'appInfo', 'get', () => ({})],
      [3, 'datasets', 'list', () => ({})],
      [2, 'datasets', 'layers', () => ({})],
      [4, 'rasters', 'read', () => ({ source: { datasetId: slope.id }, maxSize: 256 })],
      [
        4,
        'rasters',
        'read',
        () => ({ source: { datasetId: prcp.id, step: Math.floor(rand() * 300) }, maxSize: 64 }),
      ],
      [
        3,
        'rasters',
        'identify',
        () => ({ point: point(), sources: [{ datasetId: slope.id }, { datasetId: prcp.id, step: 3 }] }),
      ],
      [1, 'rasters', 'series', () => ({ source: { datasetId: prcp.id }, point: point() })],
      [2, 'jobs', 'list', () => ({})],
      [2, 'jobs', 'check', () => ({ spec: { kind: 'gauges', method: 'hda-pr', dataset: { path: LEZ } } })],
      [2, 'jobs', 'get', () => ({ id: 999_999 })], // NOT_FOUND
      [2, 'datasets', 'import', () => ({ path: 'relative/path.tif' })], // refused by the schema
      [1, 'rasters', 'read', () => ({ source: { datasetId: prcp.id, step: 10_000 } })], // out of range
      [1, 'nope', 'nothing', () => ({})], // unknown service
      [1, 'project', 'setView', () => ({ view: { __proto__: { x: 1 } } })],
    ];
    const total = mix.reduce((a, m) => a + m[0], 0);
    const pick = () => {
      let r = rand() * total;
      for (const m of mix) if ((r -= m[0]) < 0) return m;
      return mix[0]!;
    };
    const sockets = 32;
    let issued = 0;
    const worker = async () => {
      let c = await connect(bridge.port, bridge.token);
      while (issued < count) {
        issued++;
        const [, service, method, payload] = pick();
        // one call in 50 drops its socket right after sending: the server must not mind
        const drop = rand() < 0.02;
        const p = call(c, service, method, payload());
        if (drop) {
          dropsForced++;
          c.ws.terminate();
        }
        const r = await p;
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
        if (r.code)
          errors[`${service}.${method} ${r.code}`] = (errors[`${service}.${method} ${r.code}`] ?? 0) + 1;
        if (r.outcome === 'ok' || r.outcome === 'typedError')
          (latency[`${service}.${method}`] ??= []).push(r.ms);
        if (drop || c.ws.readyState !== WebSocket.OPEN) c = await connect(bridge.port, bridge.token);
      }
      c.ws.close();
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: sockets }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const after = await normalCall(bridge.port, bridge.token);
    const crashed = bridge.exit();
    const peakRssMB = bridge.peakRssMB();
    await bridge.stop();
    // the project database after the soak and a SIGTERM: SQLite's own check
    let integrity = 'missing';
    if (existsSync(projectPath)) {
      const db = new Database(projectPath, { readonly: true });
      integrity = String(db.pragma('integrity_check', { simple: true }));
      db.close();
    }
    const all = Object.values(latency).flat();
    return {
      inputs: issued,
      sockets,
      seconds: Math.round(seconds * 10) / 10,
      callsPerSecond: Math.round(issued / seconds),
      ...outcomes,
      socketsDroppedMidCall: dropsForced,
      typedErrors: errors,
      crashes: crashed ? 1 : 0,
      hangs: outcomes.hang ?? 0,
      peakRssMB,
      latencyMs: { p50: quantile(all, 0.5), p95: quantile(all, 0.95), p99: quantile(all, 0.99) },
      latencyByMethodP95: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, quantile(v, 0.95)])),
      normalCallAfter: after,
      projectIntegrity: integrity,
      gitCommit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
    };
  } finally {
    await bridge.stop();
    tmp.cleanup();
  }
}

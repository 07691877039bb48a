import { promises as fsp } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  requestFrameSchema,
  TOKEN_PROTOCOL_PREFIX,
  WS_PATH,
  type CallResult,
  type ServiceImpls,
} from '../../src-shared/ipc';
import { containsTypedArray, encodeFrame } from '../../src-shared/ipc/binary';
import { dispatch } from '../ipc/dispatch';
import type { AppEvents } from '../services/events';
import { admit, newToken, readCookie, tokenMatches, type AdmitResult } from './auth';

export interface ServeOptions {
  impls: ServiceImpls;
  events: AppEvents;
  /** Folder of the built renderer (index.html and assets). */
  rendererDir: string;
  /** Interface to bind; 127.0.0.1 unless the user named another one. */
  host?: string | undefined;
  /** Port; 0 picks a free one. */
  port?: number | undefined;
  /** Fixed token (tests); a random one per launch otherwise. */
  token?: string | undefined;
  /** Resolves `/artifacts/run/<runId>/<name>` to a run's recorded artifact file, or null. */
  artifactFile?: ((runId: number, name: string) => string | null) | undefined;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const COOKIE = 'fieldcal_token';
const STATUS_LINE = {
  400: '400 Bad Request',
  403: '403 Forbidden',
  421: '421 Misdirected Request',
} as const;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; frame-src 'self'; " +
  "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const REPORT_CSP =
  "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'";

/**
 * The headless bridge: serves the built renderer over HTTP and the contract over a WebSocket, both
 * behind a per-launch token. Binds to loopback unless told otherwise.
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? newToken();
  const allowedHosts = new Set(['localhost', '127.0.0.1', '::1', host.toLowerCase()]);

  let port = 0; // known once listening; no request is accepted before
  // Host, Origin and path of every request and upgrade, checked before anything else reads them.
  const check = (req: IncomingMessage): AdmitResult =>
    admit(
      { host: req.headers.host, origin: req.headers.origin, url: req.url },
      { boundHost: host, port, allowedHosts },
    );

  const http = createServer((req, res) => {
    handleHttp(req, res).catch((err: Error) => {
      if (res.headersSent) res.destroy();
      else send(res, 500, 'text/plain', `internal error: ${err.message}`);
    });
  });
  // A server error after listening (or a client's malformed HTTP) never ends the process.
  http.on('error', (err) => process.stderr.write(`fieldcal serve: server error: ${err.message}\n`));
  http.on('clientError', (_err, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const adm = check(req);
    if (!adm.ok) return send(res, adm.status, 'text/plain', adm.reason);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'method not allowed');
    const viaQuery = tokenMatches(token, adm.target.query.get('token'));
    const viaCookie = tokenMatches(token, readCookie(req.headers.cookie, COOKIE));
    if (!viaQuery && !viaCookie) {
      return send(
        res,
        401,
        'text/plain',
        'Fieldcal: open the URL printed by `fieldcal serve`; it carries the access token.',
      );
    }
    if (viaQuery) res.setHeader('Set-Cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    let rel = adm.target.path;
    const art = /^\/artifacts\/run\/(\d+)\/([^/\\]+)$/.exec(rel);
    if (art) {
      const file = opts.artifactFile?.(Number(art[1]), art[2]!) ?? null;
      if (!file) return send(res, 404, 'text/plain', 'no such artifact');
      const data = await fsp.readFile(file).catch(() => null);
      if (!data) return send(res, 404, 'text/plain', 'artifact file missing');
      // reports are static pages: no scripts, framed by the app only
      res.setHeader('Content-Security-Policy', REPORT_CSP);
      return send(
        res,
        200,
        MIME[extname(file)] ?? 'application/octet-stream',
        data,
        req.method === 'HEAD',
        false,
      );
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(opts.rendererDir, rel));
    if (!file.startsWith(normalize(opts.rendererDir) + sep)) return send(res, 403, 'text/plain', 'forbidden');
    let body: Buffer;
    try {
      body = await fsp.readFile(file);
    } catch {
      return send(res, 404, 'text/plain', 'not found');
    }
    if (rel === '/index.html') {
      // The page learns the token from a meta tag; it never appears in a script the page did not ship.
      const meta = `<meta name="fieldcal-token" content="${token}">`;
      body = Buffer.from(body.toString('utf8').replace('</head>', `${meta}</head>`));
      res.setHeader('Cache-Control', 'no-store');
    }
    send(res, 200, MIME[extname(file)] ?? 'application/octet-stream', body, req.method === 'HEAD');
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    handleProtocols: (protocols) => {
      for (const p of protocols) if (p.startsWith(TOKEN_PROTOCOL_PREFIX)) return p;
      return false;
    },
  });

  wss.on('error', (err) => process.stderr.write(`fieldcal serve: socket server error: ${err.message}\n`));

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A peer that resets mid-handshake must not end the process (http drops its own listener on upgrade).
    socket.on('error', () => socket.destroy());
    const refuse = (status: string) => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const adm = check(req);
    if (!adm.ok) return refuse(STATUS_LINE[adm.status]);
    if (adm.target.path !== WS_PATH) return refuse('404 Not Found');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    const given = offered
      .find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))
      ?.slice(TOKEN_PROTOCOL_PREFIX.length);
    if (!tokenMatches(token, given)) return refuse('401 Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Protocol errors (oversized frame: 1009, invalid UTF-8: 1007, RSV bits or an unmasked frame:
      // 1002) close this socket with that code; without a listener ws would throw and end the process.
      ws.on('error', () => undefined);
      wss.emit('connection', ws, req);
    });
  });

  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data, isBinary) => {
      onMessage(ws, isBinary ? null : data.toString()).catch((err: Error) =>
        reply(ws, -1, { ok: false, error: { code: 'INTERNAL', message: err.message } }),
      );
    });
  });

  async function onMessage(ws: WebSocket, text: string | null): Promise<void> {
    let frame: unknown;
    try {
      frame = text === null ? null : JSON.parse(text);
    } catch {
      frame = null;
    }
    const req = requestFrameSchema.safeParse(frame);
    if (!req.success) {
      const id = typeof (frame as { id?: unknown })?.id === 'number' ? (frame as { id: number }).id : -1;
      return reply(ws, id, {
        ok: false,
        error: {
          code: 'VALIDATION',
          message: 'Malformed request frame: expected {id, service, method, payload}',
          details: { issues: req.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
        },
      });
    }
    const { id, service, method, payload } = req.data;
    reply(ws, id, await dispatch(opts.impls, service, method, payload));
  }

  const unsubscribe = opts.events.onAny((key, payload) => {
    const msg = JSON.stringify({ event: key, payload });
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(msg);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const addr = http.address() as AddressInfo;
  port = addr.port;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${urlHost}:${addr.port}/?token=${token}`,
    host: addr.address,
    port: addr.port,
    token,
    close: async () => {
      unsubscribe();
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Sends a reply: a binary frame (src-shared/ipc/binary.ts) when it carries typed arrays, JSON text otherwise. */
function reply(ws: WebSocket, id: number, result: CallResult): void {
  if (ws.readyState !== ws.OPEN) return;
  const frame = { id, ...result };
  try {
    if (result.ok && containsTypedArray(result.value)) ws.send(encodeFrame(frame), { binary: true });
    else ws.send(JSON.stringify(frame));
  } catch (err) {
    // a reply that cannot be encoded is answered as a typed error, never thrown into the socket's loop
    const error = { code: 'INTERNAL', message: `reply could not be encoded: ${(err as Error).message}` };
    ws.send(JSON.stringify({ id, ok: false, error }));
  }
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headOnly = false,
  appCsp = true,
): void {
  res.writeHead(status, {
    'Content-Type': type,
    ...(appCsp ? { 'Content-Security-Policy': CSP } : {}),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
  res.end(headOnly ? undefined : body);
}

import WebSocket from 'ws';
import { TOKEN_PROTOCOL_PREFIX, WS_PATH, type CallResult } from '../../src-shared/ipc';
import { decodeFrame } from '../../src-shared/ipc/binary';

/** A server frame as an object: binary frames decoded, text frames parsed as JSON. */
export function parseFrame(data: WebSocket.RawData, isBinary: boolean): unknown {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  return isBinary ? decodeFrame(buf) : JSON.parse(buf.toString());
}

/** Opens a socket to the bridge; resolves with it or rejects with the HTTP status of the refusal. */
export function connect(
  port: number,
  opts: { token?: string; origin?: string; host?: string } = {},
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const protocols = opts.token === undefined ? [] : [`${TOKEN_PROTOCOL_PREFIX}${opts.token}`];
    const headers: Record<string, string> = {};
    if (opts.host) headers.host = opts.host;
    const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, protocols, {
      headers,
      ...(opts.origin ? { origin: opts.origin } : {}),
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', (err) => reject(err));
  });
}

/** Sends a raw frame and waits for the reply with the same id. */
export function callRaw(ws: WebSocket, frame: unknown, id: number): Promise<CallResult & { id: number }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
      const msg = parseFrame(data, isBinary) as CallResult & { id?: number };
      if (msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg as CallResult & { id: number });
      }
    };
    ws.on('message', onMessage);
    ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  });
}

let nextId = 1;
/** Calls one contract method over the socket. */
export function call(ws: WebSocket, service: string, method: string, payload: unknown): Promise<CallResult> {
  const id = nextId++;
  return callRaw(ws, { id, service, method, payload }, id);
}

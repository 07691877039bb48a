import {
  buildClient,
  TOKEN_PROTOCOL_PREFIX,
  WS_PATH,
  type CallResult,
  type EventKey,
  type FieldcalApi,
  type SerializedError,
} from '../../../src-shared/ipc';
import { decodeFrame } from '../../../src-shared/ipc/binary';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a browser driven through `fieldcal serve`. */
    api?: FieldcalApi;
  }
}

/** How the renderer reaches main: `electron` (preload) or `websocket` (the headless bridge). */
export type Transport = 'electron' | 'websocket';

/** The WebSocket transport: one socket, calls matched to replies by id, events fanned out. */
function createWsApi(): FieldcalApi {
  const token = document.querySelector<HTMLMetaElement>('meta[name="fieldcal-token"]')?.content ?? '';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}${WS_PATH}`, [`${TOKEN_PROTOCOL_PREFIX}${token}`]);
  // Replies that carry typed arrays (raster views, series) come as binary frames (src-shared/ipc/binary.ts).
  ws.binaryType = 'arraybuffer';
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('close', () => reject(disconnected()), { once: true });
  });
  const pending = new Map<number, (r: CallResult) => void>();
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  let nextId = 1;

  ws.addEventListener('message', (ev) => {
    type Frame = ({ id: number } & CallResult) | { event: string; payload: unknown };
    let frame: Frame;
    try {
      frame = (ev.data instanceof ArrayBuffer ? decodeFrame(ev.data) : JSON.parse(String(ev.data))) as Frame;
    } catch (err) {
      console.error('Fieldcal: unreadable frame from the bridge', err);
      return;
    }
    if ('event' in frame) {
      for (const l of listeners.get(frame.event) ?? []) l(frame.payload);
    } else {
      pending.get(frame.id)?.(frame);
      pending.delete(frame.id);
    }
  });
  ws.addEventListener('close', () => {
    for (const resolve of pending.values()) resolve({ ok: false, error: disconnected() });
    pending.clear();
  });

  return buildClient({
    async call(service, method, payload) {
      await opened;
      const id = nextId++;
      return new Promise<CallResult>((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, service, method, payload }));
      });
    },
    subscribe(key: EventKey, listener) {
      const set = listeners.get(key) ?? new Set();
      set.add(listener);
      listeners.set(key, set);
      return () => set.delete(listener);
    },
  });
}

function disconnected(): SerializedError {
  return { code: 'IO', message: 'Connection to Fieldcal lost; restart `fieldcal serve` and reload the page' };
}

/** The one place that knows which transport the renderer uses. */
export const transport: Transport = window.api ? 'electron' : 'websocket';
export const api: FieldcalApi = window.api ?? createWsApi();

/** A readable message for anything a call rejected with. */
export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err && typeof err.message === 'string') {
    const code = 'code' in err && typeof err.code === 'string' ? ` [${err.code}]` : '';
    return `${err.message}${code}`;
  }
  return String(err);
}

/** URL of a file recorded as an artifact of a run (a report page and its images), for this transport. */
export function artifactUrl(runId: number, name: string): string {
  return transport === 'electron'
    ? `fieldcal-artifact://run/${runId}/${encodeURIComponent(name)}`
    : `/artifacts/run/${runId}/${encodeURIComponent(name)}`;
}

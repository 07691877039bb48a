import { contract, events, type EventKey, type FieldcalApi, type Unsubscribe } from './contract';
import type { SerializedError } from './errors';
import type { CallResult } from './wire';

/** What a client needs from its transport (Electron IPC or the WebSocket). */
export interface ClientTransport {
  call(service: string, method: string, arg: unknown): Promise<CallResult>;
  subscribe(key: EventKey, listener: (payload: unknown) => void): Unsubscribe;
}

/**
 * Builds the client API from the contract: one async function per method, one `onX` subscriber per
 * event. Failed calls reject with the plain {@link SerializedError} (plain so it survives
 * Electron's contextBridge). The preload and the WebSocket client both use this, so neither lists
 * the methods a second time.
 */
export function buildClient(transport: ClientTransport): FieldcalApi {
  const api: Record<string, Record<string, unknown>> = {};
  for (const [service, methods] of Object.entries(contract)) {
    const svc: Record<string, unknown> = {};
    for (const name of Object.keys(methods)) {
      svc[name] = async (arg: unknown) => {
        const r = await transport.call(service, name, arg);
        if (r.ok) return r.value;
        throw r.error satisfies SerializedError;
      };
    }
    const evs = (events as Record<string, Record<string, unknown>>)[service];
    for (const name of Object.keys(evs ?? {})) {
      svc[name] = (listener: (payload: unknown) => void) =>
        transport.subscribe(`${service}.${name}` as EventKey, listener);
    }
    api[service] = svc;
  }
  return api as unknown as FieldcalApi;
}
